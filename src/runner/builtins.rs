//! Native steps for what a YAML step cannot say well: checks across interfaces, choosing a SKU
//! to order, concurrent pre-orders and the token lifetime across runs. Each gathers what its
//! check needs (calls, knowledge, the state folder) and hands it to `checks/`, which decides.

use std::path::PathBuf;
use std::sync::Arc;

use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use super::results::Rows;
use super::shared::Shared;
use super::step::{Abort, Captures, call_judged, record_judged};
use crate::checks::{self, SavedTokenAge};
use crate::client::TokenUse;
use crate::profile::iface;
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
        "offer_prices" => offer_prices(shared, &args, rows).await,
        "saved_token_lifetime" => saved_token_lifetime(shared, rows).await?,
        "concurrent_preorders" => concurrent_preorders(shared, &args, rows).await?,
        "await_order" => super::watch::await_order(shared, &args, rows, &mut captured).await?,
        "stock_lock" => super::stock_lock::stock_lock(shared, &args, rows).await?,
        "order_transitions" => super::transitions::order_transitions(shared, &args, rows).await?,
        other => return Err(Abort(format!("unknown builtin {other:?}"))),
    }
    Ok(captured)
}

fn exact_number(d: Decimal) -> Value {
    serde_json::from_str(&d.to_string()).unwrap_or(Value::Null)
}

fn texts<'a>(args: &'a Map<String, Value>, name: &str) -> Vec<&'a str> {
    args.get(name)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
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
            knowledge.on_shelf(sku)
                && knowledge.stock.get(*sku).is_some_and(|n| *n >= min_stock)
                && knowledge.prices.contains_key(*sku)
                && knowledge.detail_ok.get(*sku) != Some(&false)
        })
        .nth(index);
    let Some(sku) = chosen else {
        return Err(Abort(format!(
            "没有可下单的商品 / no SKU to order: none of the sampled SKUs is on shelf with stock ≥ {min_stock} and a known price{} ({})",
            if allowed.is_empty() {
                ""
            } else {
                " (among test_data.order_skus)"
            },
            knowledge.why_nothing_to_order(min_stock)
        )));
    };
    let (price, _) = knowledge.prices[sku];
    let stock = knowledge.stock.get(sku).copied().unwrap_or(0);
    // Totals are computed here, exactly: a template cannot multiply. Supplier numbers are
    // checked, never a panic on an absurd stock or price. Beyond the stock shown, and beyond
    // any plausible real stock: a supplier may show a capped number ("50+") and accept 51.
    let Some(beyond) = stock.checked_add(1).map(|n| n.max(BEYOND_ANY_STOCK)) else {
        return Err(Abort(format!(
            "库存数值异常 / stock of {sku} is out of range: {stock}"
        )));
    };
    let Some(beyond_total) = price.checked_mul(Decimal::from(beyond)) else {
        return Err(Abort(format!(
            "订单金额溢出 / the total for {beyond} × {price} is out of range"
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

/// The cross-interface checks over what the catalogue scenario saw (`with: {skus, pools}`).
fn catalogue_consistency(shared: &Shared, args: &Map<String, Value>, rows: &mut Rows<'_>) {
    let runs = match shared.knowledge.lock() {
        Ok(knowledge) => {
            checks::catalogue_consistency(&knowledge, &texts(args, "skus"), &texts(args, "pools"))
        }
        Err(_) => return,
    };
    for run in &runs {
        rows.record(run, None, None);
    }
}

/// Group-buy and special prices (`with: {offers: [...]}`) against the agreement prices, asked
/// from the prices interface.
async fn offer_prices(shared: &Arc<Shared>, args: &Map<String, Value>, rows: &mut Rows<'_>) {
    let offers = args
        .get("offers")
        .map(checks::offer_prices)
        .unwrap_or_default();
    let mut skus: Vec<String> = offers.iter().map(|(_, s, _)| s.clone()).collect();
    skus.sort();
    skus.dedup();
    let batch = shared.profile.settings.batch_max.max(1);
    let batch_param = shared
        .profile
        .interface(iface::PRICES)
        .and_then(|i| shared.profile.batch_param(i))
        .unwrap_or("sku")
        .to_string();
    let mut agreement = std::collections::BTreeMap::new();
    for chunk in skus.chunks(batch) {
        let mut params = Map::new();
        params.insert(batch_param.clone(), Value::String(chunk.join(",")));
        let (_, judged) = call_judged(shared, rows, iface::PRICES, &params, true).await;
        if let Some(judged) = judged.filter(|j| j.succeeded()) {
            agreement.extend(checks::agreement_prices(judged.result()));
        }
    }
    rows.record(
        &checks::offers_below_agreement(&offers, &agreement),
        None,
        None,
    );
}

/// Pre-orders sent at once on a SKU with little stock (`with: {params, attempts, stock}`;
/// `params` is a whole submit without `yggc_order`). Every accepted one is cancelled afterwards.
async fn concurrent_preorders(
    shared: &Arc<Shared>,
    args: &Map<String, Value>,
    rows: &mut Rows<'_>,
) -> Result<(), Abort> {
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
        let shared = Arc::clone(shared);
        calls.spawn(async move {
            let exchange = super::step::call(&shared, iface::SUBMIT, &params, true).await;
            (params, exchange)
        });
    }
    let mut accepted = Vec::new();
    // A task that panicked loses its own result, not those after it.
    while let Some(joined) = calls.join_next().await {
        let Ok((params, exchange)) = joined else {
            continue;
        };
        // Some refusals are expected: only the answer's form is judged here.
        let judged = record_judged(shared, rows, iface::SUBMIT, &params, &exchange, false);
        if let Some(id) = judged
            .as_ref()
            .filter(|j| j.succeeded())
            .and_then(|j| j.value())
            .and_then(|a| a.pointer("/result/order_id"))
            .cloned()
        {
            accepted.push((id, exchange));
        }
    }
    let run = checks::oversell(attempts, stock, accepted.len() as u64);
    rows.record(&run, Some(iface::SUBMIT), accepted.first().map(|(_, e)| e));
    for (order_id, _) in accepted {
        let mut params = Map::new();
        params.insert("order_id".into(), order_id);
        // The cleanup cancel is judged like any call (its answer read once, in logical names).
        let (_, judged) = call_judged(shared, rows, iface::CANCEL, &params, true).await;
        shared.orders.observe(
            iface::CANCEL,
            &params,
            judged.as_ref().and_then(|j| j.value()),
        );
    }
    Ok(())
}

/// Tells the client when the token saved by an earlier run was first issued, before this run
/// asks for one: a supplier that hands the same token back is then judged on its first issue
/// (expires_at = first issue + 36 h), never on a lifetime that seems to have shrunk. The state
/// folder keeps that time on the supplier's clock (see [`saved_token_lifetime`]); the client
/// keeps local times.
pub(crate) fn preload_saved_token(shared: &Shared) {
    let file = shared.options.state_dir.join("tokens.json");
    let saved: Option<Value> = std::fs::read_to_string(&file)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    let entry = saved
        .as_ref()
        .and_then(|s| s.get(&shared.options.target_label));
    if let (Some(token), Some(issued)) = (
        entry.and_then(|e| e.get("token")).and_then(Value::as_str),
        entry
            .and_then(|e| e.get("issued_at_ms"))
            .and_then(Value::as_u64),
    ) {
        let skew = shared.client.supplier_skew_ms();
        let local = i64::try_from(issued)
            .unwrap_or(i64::MAX)
            .saturating_sub(skew);
        shared
            .client
            .know_issued(token, u64::try_from(local).unwrap_or_default());
    }
}

/// The token lifetime across runs: a token saved by an earlier run is tried again once 36 hours
/// have passed (it must be refused with the expired marker) or while they have not (it must
/// still be accepted). The state folder keeps it from run to run.
async fn saved_token_lifetime(shared: &Arc<Shared>, rows: &mut Rows<'_>) -> Result<(), Abort> {
    if shared.options.embedded {
        // Not applicable (no row): the embedded supplier is new on every run, and the
        // token-lifetime scenario judges the lifetime on its moved clock instead.
        return Ok(());
    }
    // With the admin clock the lifetime is judged in this run; the saved token is still tried
    // below when it is old enough, but a fresh save is no "not judged" note.
    let clock_judges = shared.options.admin;
    let file: PathBuf = shared.options.state_dir.join("tokens.json");
    let mut saved: Map<String, Value> = std::fs::read_to_string(&file)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let target = shared.options.target_label.clone();
    // Times on the supplier's clock where it shows one (the reference supplier's admin clock,
    // which an earlier run may have moved by 36 h); otherwise the local clock (skew 0).
    let skew = shared.client.supplier_skew_ms();
    let now_ms = chrono::Utc::now().timestamp_millis().saturating_add(skew);
    let ttl_ms = shared.profile.settings.token_ttl_seconds * 1000;
    let entry = saved.get(&target);
    let issued_ms = entry
        .and_then(|e| e.get("issued_at_ms"))
        .and_then(Value::as_i64);
    let token = entry
        .and_then(|e| e.get("token"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut replace = true;
    match (
        token,
        issued_ms.map(|i| checks::saved_token_age(now_ms, i, ttl_ms)),
    ) {
        (Some(token), Some(Ok(age))) => {
            let exchange = shared
                .client
                .call(iface::POOLS, &Map::new(), TokenUse::Explicit(token))
                .await;
            shared.emit_exchange(&exchange);
            let answer = exchange.answer();
            let success = answer
                .as_ref()
                .and_then(|a| a.get("success"))
                .and_then(Value::as_bool);
            let desc = answer
                .as_ref()
                .and_then(|a| a.get("desc"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            if matches!(age, SavedTokenAge::Young { .. }) {
                // Keep the old token until it is old enough to be tried for expiry.
                replace = success != Some(true);
            }
            let marker = &shared.profile.settings.expired_marker;
            let run = checks::saved_token_verdict(age, success, desc, marker);
            rows.record(&run, Some(iface::POOLS), Some(&exchange));
        }
        (Some(_), Some(Err(near_edge))) => {
            replace = false;
            rows.record(&near_edge, None, None);
        }
        _ if clock_judges => {}
        _ => rows.record(&checks::saved_token_pending(), None, None),
    }
    if replace {
        let current = shared
            .client
            .current_token()
            .await
            .map_err(|_| Abort("no token to save".into()))?;
        saved.insert(
            target,
            // The first issue, not this run's: a token handed out again keeps its first time.
            json!({
                "token": current.value,
                "issued_at_ms": i64::try_from(current.first_issued_ms).unwrap_or(i64::MAX).saturating_add(skew),
                "clock": "supplier",
            }),
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
