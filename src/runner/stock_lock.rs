//! ORD-LOCK-STOCK by observation, as any mall can test it on a real test environment: the stock
//! a SKU shows drops by what a pre-order locks and comes back on cancel, and once pre-orders hold
//! every unit another pre-order is refused. Every pre-order made here is cancelled again.

use std::sync::Arc;

use rust_decimal::Decimal;
use serde_json::{Map, Value};

use super::results::Rows;
use super::shared::Shared;
use super::step::{Abort, call_judged};
use crate::checks::{self, CheckRun, ids};
use crate::profile::iface;

const LOCK_REQ: &str = "ORD-LOCK-STOCK";

/// The SKU to lock: on shelf, priced, with a detail that read well and at least two units; the
/// smallest stock first, since only a small stock can be bought out.
fn choose_sku(shared: &Shared) -> Result<(String, Decimal, i64), Abort> {
    let Ok(knowledge) = shared.knowledge.lock() else {
        return Err(Abort("internal error: knowledge unavailable".into()));
    };
    let allowed = &shared.config.test_data.order_skus;
    let usable = |sku: &String| {
        (allowed.is_empty() || allowed.contains(sku))
            && knowledge.on_shelf(sku)
            && knowledge.prices.contains_key(sku)
            && knowledge.detail_ok.get(sku) != Some(&false)
    };
    knowledge
        .stock
        .iter()
        .filter(|(sku, n)| **n >= 2 && usable(sku))
        .min_by_key(|(sku, n)| (**n, (*sku).clone()))
        .map(|(sku, n)| (sku.clone(), knowledge.prices[sku].0, *n))
        .ok_or_else(|| {
            Abort(format!(
                "没有可锁定库存的商品 / no SKU to lock: none of the sampled SKUs is on shelf, priced and shows at least 2 units of stock ({})",
                knowledge.why_nothing_to_order(2)
            ))
        })
}

struct Locker<'a> {
    shared: &'a Arc<Shared>,
    /// The submit parameters without `yggc_order`, `sku` and `order_price`.
    base: Map<String, Value>,
    sku: String,
    price: Decimal,
    area: Value,
    sent: usize,
}

impl Locker<'_> {
    /// The stock the supplier shows for the SKU in the test area, or `None` when unreadable.
    async fn stock(&self, rows: &mut Rows<'_>) -> Option<i64> {
        let interface = self.shared.profile.interface(iface::STOCKS)?;
        let batch = self
            .shared
            .profile
            .batch_param(interface)
            .unwrap_or("sku")
            .to_string();
        let mut params = Map::new();
        params.insert(batch, Value::String(self.sku.clone()));
        params.insert("area_id".into(), self.area.clone());
        let (_, judged) = call_judged(self.shared, rows, iface::STOCKS, &params, true).await;
        let judged = judged.filter(|j| j.succeeded())?;
        judged
            .result()
            .as_array()?
            .iter()
            .find(|item| {
                item.get("sku").map(crate::scenario::template::as_text) == Some(self.sku.clone())
            })
            .and_then(|item| item.get("num"))
            .and_then(checks::decimal_of)
            .filter(|n| n.fract().is_zero())
            .and_then(|n| rust_decimal::prelude::ToPrimitive::to_i64(&n))
    }

    /// Pre-orders `num` units; the order id when accepted.
    async fn preorder(
        &mut self,
        rows: &mut Rows<'_>,
        num: i64,
        expect_success: bool,
    ) -> Result<Option<Value>, Abort> {
        let total = self.price.checked_mul(Decimal::from(num)).ok_or_else(|| {
            Abort(format!(
                "订单金额溢出 / {num} × {} is out of range",
                self.price
            ))
        })?;
        let mut params = self.base.clone();
        self.sent += 1;
        params.insert(
            "yggc_order".into(),
            Value::String(format!("{}-L{}", self.shared.options.run_id, self.sent)),
        );
        params.insert(
            "sku".into(),
            serde_json::json!([{"sku": self.sku, "num": num, "price": number(self.price)}]),
        );
        params.insert("order_price".into(), number(total));
        let (_, judged) =
            call_judged(self.shared, rows, iface::SUBMIT, &params, expect_success).await;
        Ok(judged
            .filter(|j| j.succeeded())
            .and_then(|j| j.result().get("order_id").cloned()))
    }

    async fn cancel(&self, rows: &mut Rows<'_>, order_id: Value) {
        let mut params = Map::new();
        params.insert("order_id".into(), order_id);
        let (_, judged) = call_judged(self.shared, rows, iface::CANCEL, &params, true).await;
        self.shared.orders.observe(
            iface::CANCEL,
            &params,
            judged.as_ref().and_then(|j| j.value()),
        );
    }
}

fn number(d: Decimal) -> Value {
    serde_json::from_str(&d.normalize().to_string()).unwrap_or(Value::Null)
}

/// How many batches of the pooled SKUs are asked for their stock when the sample holds no SKU
/// with at most `max_units` units.
const SEARCH_BATCHES: usize = 10;

/// Asks the stock of pooled SKUs outside the sample, batch by batch, until some SKUs show 2 to
/// `max_units` units; then their prices and shelf states, so that one of them can be ordered.
/// Every call is judged like any other, and what it answers is learned.
async fn find_small_stock(shared: &Arc<Shared>, rows: &mut Rows<'_>, area: &Value, max_units: i64) {
    let batch = shared.profile.settings.batch_max.max(1);
    let unasked: Vec<String> = match shared.knowledge.lock() {
        Ok(k) => k
            .pooled_skus
            .take(batch * SEARCH_BATCHES, |s| !k.stock.contains_key(s)),
        Err(_) => return,
    };
    for chunk in unasked.chunks(batch) {
        let stocks = ask(shared, rows, iface::STOCKS, chunk, Some(area)).await;
        let small: Vec<String> = stocks
            .as_array()
            .into_iter()
            .flatten()
            .filter(|item| {
                item.get("num")
                    .and_then(Value::as_i64)
                    .is_some_and(|n| (2..=max_units).contains(&n))
            })
            .filter_map(|item| item.get("sku").map(crate::scenario::template::as_text))
            .collect();
        if small.is_empty() {
            continue;
        }
        ask(shared, rows, iface::PRICES, &small, None).await;
        ask(shared, rows, "shelf_states", &small, None).await;
        return;
    }
}

/// One batch call on `skus` (and the area), judged and learned; its result, or null.
async fn ask(
    shared: &Arc<Shared>,
    rows: &mut Rows<'_>,
    interface_id: &str,
    skus: &[String],
    area: Option<&Value>,
) -> Value {
    let Some(interface) = shared.profile.interface(interface_id) else {
        return Value::Null;
    };
    let batch_param = shared
        .profile
        .batch_param(interface)
        .unwrap_or("sku")
        .to_string();
    let mut params = Map::new();
    params.insert(batch_param, Value::String(skus.join(",")));
    if let Some(area) = area {
        params.insert("area_id".into(), area.clone());
    }
    let (_, judged) = call_judged(shared, rows, interface_id, &params, true).await;
    let Some(judged) = judged.filter(|j| j.succeeded()) else {
        return Value::Null;
    };
    if let Ok(mut knowledge) = shared.knowledge.lock() {
        knowledge.learn(
            interface_id,
            &params,
            judged.result(),
            judged.content_clean(),
        );
    }
    judged.result().clone()
}

/// `stock_lock` (`with: {params, area, max_units}`): the stock of the SKU with the smallest stock
/// drops by a pre-order of one unit and comes back on cancel; if it has at most `max_units`
/// (default 20), a pre-order of all of them is followed by one more, which must be refused.
pub(crate) async fn stock_lock(
    shared: &Arc<Shared>,
    args: &Map<String, Value>,
    rows: &mut Rows<'_>,
) -> Result<(), Abort> {
    let Some(base) = args.get("params").and_then(Value::as_object) else {
        return Err(Abort("stock_lock needs `with: {params: {…}}`".into()));
    };
    let Some(area) = args.get("area").filter(|a| !a.is_null()).cloned() else {
        return Err(Abort("stock_lock needs `with: {area: …}`".into()));
    };
    let max_units = args.get("max_units").and_then(Value::as_i64).unwrap_or(20);
    if !choose_sku(shared).is_ok_and(|(_, _, stock)| stock <= max_units) {
        // The sample has no SKU small enough to buy out: look wider, as a tester would.
        find_small_stock(shared, rows, &area, max_units).await;
    }
    let (sku, price, _) = choose_sku(shared)?;
    let mut locker = Locker {
        shared,
        base: base.clone(),
        sku: sku.clone(),
        price,
        area,
        sent: 0,
    };
    let before = locker.stock(rows).await;
    let Some(order_id) = locker.preorder(rows, 1, true).await? else {
        return Err(Abort(format!(
            "预下单未成功 / the pre-order of 1 unit of {sku} was refused or not sent (see the submit row): stock locking is not judged"
        )));
    };
    let locked = locker.stock(rows).await;
    locker.cancel(rows, order_id).await;
    let released = locker.stock(rows).await;
    rows.record(
        &checks::stock_follows_lock(&sku, before, locked, released, 1),
        Some(iface::STOCKS),
        None,
    );

    let Some(stock) = released.or(before) else {
        return Ok(());
    };
    if stock > max_units {
        rows.record(
            &CheckRun::not_judged(
                ids::SOLD_OUT_REFUSED,
                &[LOCK_REQ],
                format!("最小库存 {stock} 超过 {max_units} / the smallest stock seen ({sku}: {stock}) is above max_units = {max_units}: buying it out is not tried"),
            ),
            Some(iface::SUBMIT),
            None,
        );
        return Ok(());
    }
    let Some(all) = locker.preorder(rows, stock, true).await? else {
        return Err(Abort(format!(
            "预下单未成功 / the pre-order of all {stock} units of {sku} was refused or not sent (see the submit row)"
        )));
    };
    let extra = locker.preorder(rows, 1, false).await?;
    rows.record(
        &checks::sold_out_refused(&sku, stock, extra.is_some()),
        Some(iface::SUBMIT),
        None,
    );
    locker.cancel(rows, all).await;
    if let Some(extra) = extra {
        locker.cancel(rows, extra).await;
    }
    Ok(())
}
