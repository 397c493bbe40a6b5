//! Native steps for what a YAML step cannot say well: checks across interfaces, choosing a SKU
//! to order, and the token lifetime across runs. Each names the requirements it judges.

use std::path::PathBuf;
use std::sync::Arc;

use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use super::Shared;
use super::execute::{Abort, Captures, call_checked, record_check_run};
use super::results::Rows;
use crate::checks::{self, CheckRun, Finding, Status};
use crate::client::TokenUse;
use crate::report::events::Event;
use crate::scenario::model::BuiltinStep;
use crate::scenario::template::{self, Scope};

/// Runs one builtin step; what it captures comes back under the builtin's own name.
pub(crate) async fn run(
    shared: &Arc<Shared>,
    step: &BuiltinStep,
    vars: &Scope<'_>,
    rows: &mut Rows<'_>,
) -> Result<Captures, Abort> {
    let args = match template::render(&Value::Object(step.args.clone()), vars)? {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    let mut captured = Captures::new();
    match step.builtin.as_str() {
        "pick_order_sku" => pick_order_sku(shared, &args, &mut captured)?,
        "catalogue_consistency" => catalogue_consistency(shared, &args, rows),
        "offer_prices" => offer_prices(shared, &args, rows).await?,
        "saved_token_lifetime" => saved_token_lifetime(shared, rows).await?,
        "concurrent_preorders" => concurrent_preorders(shared, &args, rows).await?,
        other => return Err(Abort(format!("unknown builtin {other:?}"))),
    }
    Ok(captured)
}

fn finding(check: &str, requirement: &str, message: String) -> Finding {
    Finding {
        check: check.into(),
        requirement: requirement.into(),
        message,
        pointer: None,
        expected: None,
        actual: None,
    }
}

fn exact_number(d: Decimal) -> Value {
    serde_json::from_str(&d.to_string()).unwrap_or(Value::Null)
}

/// A quantity no supplier has in stock for one SKU in one county.
const BEYOND_ANY_STOCK: i64 = 99_999;

/// Chooses an on-shelf SKU with stock and a known price for the order scenarios, and captures
/// `pick_order_sku.sku`, `.price` (exact) and `.stock`.
fn pick_order_sku(
    shared: &Shared,
    args: &Map<String, Value>,
    local: &mut Map<String, Value>,
) -> Result<(), Abort> {
    let min_stock = args.get("min_stock").and_then(Value::as_i64).unwrap_or(10);
    // Scenarios that change a SKU's stock take another candidate than the others.
    let index = args.get("index").and_then(Value::as_u64).unwrap_or(0) as usize;
    // Read under the lock, never copied: the pooled SKUs may number a million.
    let Ok(knowledge) = shared.knowledge.lock() else {
        return Err(Abort("internal error: knowledge unavailable".into()));
    };
    let allowed = &shared.config.test_data.order_skus;
    let candidates: Vec<&String> = if allowed.is_empty() {
        knowledge.prices.keys().collect()
    } else {
        allowed.iter().collect()
    };
    let chosen = candidates
        .into_iter()
        .filter(|sku| {
            knowledge.shelf.get(*sku) == Some(&1)
                && knowledge.stock.get(*sku).is_some_and(|n| *n >= min_stock)
                && knowledge.prices.contains_key(*sku)
                && knowledge.detail_ok.get(*sku) != Some(&false)
        })
        .nth(index);
    let Some(sku) = chosen else {
        return Err(Abort(format!(
            "没有可下单的商品 no SKU to order: none of the sampled SKUs is on shelf with stock ≥ {min_stock} and a known price{}",
            if allowed.is_empty() {
                ""
            } else {
                " (among test_data.order_skus)"
            }
        )));
    };
    let (price, _) = knowledge.prices[sku];
    let stock = knowledge.stock.get(sku).copied().unwrap_or(0);
    // Totals are computed here, exactly: a template cannot multiply.
    // Supplier numbers: checked, never a panic on an absurd stock or price.
    // Beyond the stock shown, and beyond any plausible real stock: a supplier may show a capped
    // number ("50+") and rightly accept 51.
    let Some(beyond) = stock.checked_add(1).map(|n| n.max(BEYOND_ANY_STOCK)) else {
        return Err(Abort(format!(
            "库存数值异常 stock of {sku} is out of range: {stock}"
        )));
    };
    let Some(beyond_total) = price.checked_mul(Decimal::from(beyond)) else {
        return Err(Abort(format!(
            "订单金额溢出 the total for {beyond} × {price} is out of range"
        )));
    };
    local.insert(
        "pick_order_sku".into(),
        json!({
            "sku": sku,
            "price": exact_number(price),
            "stock": stock,
            "beyond_stock": beyond,
            "beyond_stock_total": exact_number(beyond_total),
            // One fen off: the smallest wrong price a supplier must still refuse.
            "price_plus_cent": exact_number(price + Decimal::new(1, 2)),
        }),
    );
    Ok(())
}

/// X-SKU-HAS-DATA, X-ONSHELF-SELLABLE and X-NEW-IN-POOL over what the catalogue scenario saw.
fn catalogue_consistency(shared: &Shared, args: &Map<String, Value>, rows: &mut Rows<'_>) {
    let Ok(k) = shared.knowledge.lock() else {
        return;
    };
    let sampled: Vec<&String> = args
        .get("skus")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|s| k.pooled_skus.get_key_value(s).map(|(sku, _)| sku))
        .collect();

    let mut has_data = CheckRun {
        check: "sku-has-data".into(),
        requirements: vec!["X-SKU-HAS-DATA".into()],
        findings: vec![],
    };
    let mut sellable = CheckRun {
        check: "onshelf-sellable".into(),
        requirements: vec!["X-ONSHELF-SELLABLE".into()],
        findings: vec![],
    };
    for sku in &sampled {
        let mut missing = Vec::new();
        if !k.detail_answered.contains(*sku) {
            missing.push("详情 detail");
        }
        if !k.prices.contains_key(*sku) {
            missing.push("价格 price");
        }
        if !k.shelf.contains_key(*sku) {
            missing.push("上下架 shelf state");
        }
        if k.images.get(*sku).copied().unwrap_or(0) == 0 {
            missing.push("图片 images");
        }
        if !missing.is_empty() {
            has_data.findings.push(finding(
                "sku-has-data",
                "X-SKU-HAS-DATA",
                format!(
                    "商品池中的 SKU {sku} 缺少数据 pooled SKU {sku} lacks: {}",
                    missing.join(", ")
                ),
            ));
        }
        if k.shelf.get(*sku) == Some(&1) {
            let detail_complete = k.detail_ok.get(*sku) == Some(&true);
            let price_ok = k
                .prices
                .get(*sku)
                .is_some_and(|(p, m)| *p > Decimal::ZERO && p <= m);
            if !detail_complete || !price_ok {
                sellable.findings.push(finding(
                    "onshelf-sellable",
                    "X-ONSHELF-SELLABLE",
                    format!(
                        "上架商品 {sku} 不可售 on-shelf SKU {sku} is not sellable: {}{}",
                        if detail_complete {
                            ""
                        } else {
                            "detail incomplete or refused; "
                        },
                        if price_ok { "" } else { "no valid price pair" }
                    ),
                ));
            }
        }
    }
    let mut new_in_pool = CheckRun {
        check: "new-in-pool".into(),
        requirements: vec!["X-NEW-IN-POOL".into()],
        findings: vec![],
    };
    // SKU-LIST: each pool lists its own SKUs, and a new SKU is in the pool its feed names.
    let mut own_pool = CheckRun {
        check: "pool-membership".into(),
        requirements: vec!["SKU-LIST".into()],
        findings: vec![],
    };
    let pools: Vec<&str> = args
        .get("pools")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let all_listed = !pools.is_empty() && pools.iter().all(|p| k.pools_listed.contains_key(*p));
    if all_listed {
        for sku in k
            .new_skus
            .keys()
            .filter(|s| !k.pooled_skus.contains_key(*s))
        {
            new_in_pool.findings.push(finding(
                "new-in-pool",
                "X-NEW-IN-POOL",
                format!("新增 SKU {sku} 不在任何商品池中 new SKU {sku} is in no pool of 2.4"),
            ));
        }
        for (sku, pool) in &k.new_skus {
            if let Some(listed_in) = k.pooled_skus.get(sku)
                && !pool.is_empty()
                && pool != listed_in
                && k.pools_listed
                    .get(pool)
                    .is_some_and(|(count, _, _)| *count > 0)
            {
                own_pool.findings.push(finding(
                    "pool-membership",
                    "SKU-LIST",
                    format!("新增 SKU {sku} 的品目池 {pool} 未列出它（列在 {listed_in}） new SKU {sku} belongs to pool {pool} by the feed, but that pool does not list it (pool {listed_in} does)"),
                ));
            }
        }
        let shapes: Vec<_> = k
            .pools_listed
            .values()
            .filter(|(count, _, _)| *count > 0)
            .collect();
        if shapes.len() >= 2 && shapes.windows(2).all(|w| w[0] == w[1]) {
            own_pool.findings.push(finding(
                "pool-membership",
                "SKU-LIST",
                format!("{} 个品目池返回同样的 SKU 列表 all {} pools answer the same SKU list: the pool id is ignored", shapes.len(), shapes.len()),
            ));
        }
    }
    // An empty feed may be honest (nothing new), but then it proves nothing.
    if k.new_skus.is_empty() {
        rows.note(
            Status::Skip,
            "NEW-SKUS",
            "新增商品接口返回空列表 the new-SKU feed is empty: nothing to judge".into(),
        );
    }
    if k.changed_skus == 0 {
        rows.note(
            Status::Skip,
            "CHANGED-SKUS",
            "修改商品接口返回空列表 the changed-SKU feed is empty: nothing to judge".into(),
        );
    }
    for run in [has_data, sellable] {
        record_runs(rows, &run, sampled.is_empty());
    }
    record_runs(rows, &new_in_pool, !all_listed || k.new_skus.is_empty());
    record_runs(rows, &own_pool, !all_listed);
}

fn record_runs(rows: &mut Rows<'_>, run: &CheckRun, nothing_to_judge: bool) {
    if nothing_to_judge {
        for requirement in &run.requirements {
            rows.note(
                Status::Skip,
                requirement,
                format!("{}: 没有可判断的数据 nothing to judge", run.check),
            );
        }
        return;
    }
    for requirement in &run.requirements {
        if run.findings.is_empty() {
            rows.pass(&run.check, requirement, None, None, "ok");
        }
    }
    for f in &run.findings {
        rows.finding(f, None, None);
    }
}

/// X-OFFER-BELOW-AGREEMENT: group-buy and special prices (`with: {offers: [...]}`) against the
/// agreement prices, asked from the prices interface.
async fn offer_prices(
    shared: &Arc<Shared>,
    args: &Map<String, Value>,
    rows: &mut Rows<'_>,
) -> Result<(), Abort> {
    const REQUIREMENT: &str = "X-OFFER-BELOW-AGREEMENT";
    // (pointer into the offers answer, sku, offer price): the same reading the checks use.
    let offers = args
        .get("offers")
        .map(checks::offer_prices)
        .unwrap_or_default();
    if offers.is_empty() {
        rows.note(
            Status::Skip,
            REQUIREMENT,
            "没有优惠商品 no offers to compare".into(),
        );
        return Ok(());
    }
    let mut skus: Vec<String> = offers.iter().map(|(_, s, _)| s.clone()).collect();
    skus.sort();
    skus.dedup();
    let batch = shared.profile.settings.batch_max.max(1);
    let mut agreement = std::collections::BTreeMap::new();
    for chunk in skus.chunks(batch) {
        let mut params = Map::new();
        params.insert("sku".into(), Value::String(chunk.join(",")));
        let exchange = call_checked(shared, rows, "prices", &params).await;
        for item in exchange
            .answer()
            .as_ref()
            .and_then(|a| a.get("result"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let (Some(sku), Some(price)) = (
                item.get("sku").and_then(Value::as_str),
                item.get("price").and_then(checks::decimal_of),
            ) {
                agreement.insert(sku.to_string(), price);
            }
        }
    }
    let mut run = CheckRun {
        check: checks::ids::OFFER_PRICE.into(),
        requirements: vec![REQUIREMENT.into()],
        findings: vec![],
    };
    for (pointer, sku, offer) in &offers {
        match agreement.get(sku) {
            Some(price) => run.findings.extend(checks::judge_offer(pointer, sku, *offer, *price)),
            // An offer on a SKU without an agreement price cannot be bought at a checked price.
            None => run.findings.push(
                finding(
                    checks::ids::OFFER_PRICE,
                    REQUIREMENT,
                    format!("优惠商品没有协议价 offer on sku {sku} has no agreement price in the prices interface"),
                ),
            ),
        }
    }
    record_runs(rows, &run, false);
    Ok(())
}

/// ORD-LOCK-STOCK under concurrency: `attempts` pre-orders of one unit each, sent at once, on a
/// SKU with `stock` units (set beforehand): no more than `stock` may be accepted. Every accepted
/// one is cancelled afterwards. `with: {params, attempts, stock}`; `params` is a whole submit
/// without `yggc_order`.
async fn concurrent_preorders(
    shared: &Arc<Shared>,
    args: &Map<String, Value>,
    rows: &mut Rows<'_>,
) -> Result<(), Abort> {
    const REQUIREMENT: &str = "ORD-LOCK-STOCK";
    let Some(base) = args.get("params").and_then(Value::as_object) else {
        return Err(Abort(
            "concurrent_preorders needs `with: {params: {…}}`".into(),
        ));
    };
    let attempts = args
        .get("attempts")
        .and_then(Value::as_u64)
        .unwrap_or(8)
        .clamp(2, 64);
    let stock = args.get("stock").and_then(Value::as_u64).unwrap_or(1);
    let mut calls = tokio::task::JoinSet::new();
    for attempt in 0..attempts {
        let mut params = base.clone();
        params.insert(
            "yggc_order".into(),
            Value::String(format!("{}-R{attempt}", shared.options.run_id)),
        );
        shared.orders.before_submit(&params);
        let shared = Arc::clone(shared);
        calls.spawn(async move {
            let exchange = shared.client.call("submit", &params, TokenUse::Auto).await;
            (params, exchange)
        });
    }
    let mut accepted = Vec::new();
    while let Some(Ok((params, exchange))) = calls.join_next().await {
        shared.emit(Event::Exchange(Box::new(exchange.clone())));
        let answer = exchange.answer();
        shared.orders.observe("submit", &params, answer.as_ref());
        if let Some(interface) = shared.profile.interface("submit") {
            // Some refusals are expected: only the answer's form is judged here.
            let input = checks::ExchangeInput {
                profile: &shared.profile,
                interface,
                exchange: &exchange,
                params: &params,
                expect_success: false,
            };
            for run in checks::run_exchange_checks(&input) {
                record_check_run(rows, &run, Some("submit"), &exchange);
            }
        }
        if exchange.succeeded()
            && let Some(id) = answer
                .as_ref()
                .and_then(|a| a.pointer("/result/order_id"))
                .cloned()
        {
            accepted.push((id, exchange));
        }
    }
    let count = accepted.len() as u64;
    let mut run = CheckRun {
        check: "concurrent-preorders".into(),
        requirements: vec![REQUIREMENT.into()],
        findings: vec![],
    };
    if count > stock {
        let mut f = finding(
            "concurrent-preorders",
            REQUIREMENT,
            format!(
                "并发预下单超卖 oversold under concurrency: {attempts} pre-orders of 1 unit sent at once on a stock of {stock}, {count} accepted"
            ),
        );
        f.expected = Some(format!("≤ {stock} accepted"));
        f.actual = Some(format!("{count} accepted"));
        run.findings.push(f);
    }
    match accepted.first() {
        Some((_, exchange)) => record_check_run(rows, &run, Some("submit"), exchange),
        None => record_runs(rows, &run, false),
    }
    for (order_id, _) in accepted {
        let mut params = Map::new();
        params.insert("order_id".into(), order_id);
        let exchange = shared.client.call("cancel", &params, TokenUse::Auto).await;
        shared.emit(Event::Exchange(Box::new(exchange.clone())));
        shared
            .orders
            .observe("cancel", &params, exchange.answer().as_ref());
    }
    Ok(())
}

/// TOK-TTL-36H across runs: a token saved by an earlier run is checked again once 36 hours have
/// passed (refused with the expired marker) or while they have not (still accepted).
async fn saved_token_lifetime(shared: &Arc<Shared>, rows: &mut Rows<'_>) -> Result<(), Abort> {
    const REQUIREMENT: &str = "TOK-TTL-36H";
    if shared.options.embedded {
        // Not applicable (no row): the embedded supplier is new on every run, and the
        // token-lifetime scenario judges this requirement on its moved clock instead.
        return Ok(());
    }
    // With the admin clock the lifetime is judged in this run; the saved token is still
    // checked below when it is old enough, but a fresh save is no "untested" note.
    let clock_judges = shared.options.admin;
    let file: PathBuf = shared.options.state_dir.join("tokens.json");
    let mut saved: Map<String, Value> = std::fs::read_to_string(&file)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let target = shared.options.target_label.clone();
    let now_ms = chrono::Utc::now().timestamp_millis();
    let ttl_ms = shared.profile.settings.token_ttl_seconds * 1000;
    let margin_ms = 10 * 60 * 1000;
    let entry = saved.get(&target).cloned();
    let issued_ms = entry
        .as_ref()
        .and_then(|e| e.get("issued_at_ms"))
        .and_then(Value::as_i64);
    let token = entry
        .as_ref()
        .and_then(|e| e.get("token"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut replace = true;
    match (token, issued_ms) {
        (Some(token), Some(issued)) if now_ms - issued >= ttl_ms + margin_ms || now_ms - issued <= ttl_ms - margin_ms => {
            let expired = now_ms - issued >= ttl_ms + margin_ms;
            let hours = (now_ms - issued) as f64 / 3_600_000.0;
            let exchange = shared.client.call("pools", &Map::new(), TokenUse::Explicit(token)).await;
            shared.emit(Event::Exchange(Box::new(exchange.clone())));
            let answer = exchange.answer();
            let success = answer.as_ref().and_then(|a| a.get("success")).and_then(Value::as_bool);
            let desc = answer.as_ref().and_then(|a| a.get("desc")).and_then(Value::as_str).unwrap_or_default();
            let marker = &shared.profile.settings.expired_marker;
            let run = if expired {
                let ok = success == Some(false) && desc.contains(marker.as_str());
                CheckRun {
                    check: "saved-token-lifetime".into(),
                    requirements: vec![REQUIREMENT.into()],
                    findings: if ok { vec![] } else { vec![finding("saved-token-lifetime", REQUIREMENT, format!("{hours:.1} 小时前签发的 token 仍未失效或未标记 a token issued {hours:.1} h ago must be refused with {marker:?}; got success = {success:?}, desc = {desc:?}"))] },
                }
            } else {
                // Keep the old token until it is old enough to be checked for expiry.
                replace = success != Some(true);
                let ok = success == Some(true);
                CheckRun {
                    check: "saved-token-lifetime".into(),
                    requirements: vec![REQUIREMENT.into()],
                    findings: if ok { vec![] } else { vec![finding("saved-token-lifetime", REQUIREMENT, format!("{hours:.1} 小时前签发的 token 已被拒绝 a token issued {hours:.1} h ago (< 36 h) was refused: desc = {desc:?}"))] },
                }
            };
            record_check_run(rows, &run, Some("pools"), &exchange);
        }
        (Some(_), Some(issued)) => {
            replace = false;
            let hours = (now_ms - issued) as f64 / 3_600_000.0;
            rows.note(Status::Skip, REQUIREMENT, format!("保存的 token 签发于 {hours:.1} 小时前，接近 36 小时边界 the saved token is {hours:.1} h old, too near the 36 h edge to judge; run again later"));
        }
        _ if clock_judges => {}
        _ => rows.note(Status::Skip, REQUIREMENT, "已保存本次 token，36 小时后再运行以检查失效 token saved in the state folder; a run 36 h or more later checks that it is refused".into()),
    }
    if replace {
        let current = shared
            .client
            .current_token()
            .await
            .map_err(|_| Abort("no token to save".into()))?;
        saved.insert(
            target,
            json!({ "token": current.value, "issued_at_ms": current.obtained_at_ms }),
        );
        write_private(&file, &Value::Object(saved).to_string());
    }
    Ok(())
}

/// Writes the state file atomically, readable by its owner only from the start (it holds a token).
fn write_private(path: &std::path::Path, text: &str) {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let temporary = path.with_extension("tmp");
    let _ = std::fs::remove_file(&temporary);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options
        .open(&temporary)
        .and_then(|mut file| file.write_all(text.as_bytes()));
    if written.is_ok() {
        let _ = std::fs::rename(&temporary, path);
    }
}
