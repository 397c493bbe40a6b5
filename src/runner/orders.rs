//! Nothing is left behind. Every pre-order is written to a ledger (`<state dir>/ledger.jsonl`),
//! with its parameters, before it is sent, and it is sent on a task of its own: a scenario that
//! is stopped (Ctrl-C, SIGTERM, the time limit) never abandons a submit half-way, and the answer
//! is written down whoever still waits for it. What the ledger shows still open is closed at the
//! end of the run, at the start of the next run on the same target, and by `mallcheck cleanup`.
//! An order whose id never came back (the answer was lost, the harness was killed) is first
//! asked for again with the same `yggc_order`, on which the standard's orders are idempotent,
//! and then cancelled.

use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::shared::Shared;
use crate::client::{Client, Exchange, TokenUse};
use crate::events::{OrderCleanup, OrderNote};
use crate::profile::{Profile, iface};

/// Ledger events that close an order for good.
const CLOSING: &[&str] = &[
    "refused",
    iface::CONFIRM,
    iface::CANCEL,
    "cleanup_cancelled",
    "recovered_cancelled",
    "already_closed",
];

fn text_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The answer of an exchange in logical names, when it came and parsed.
fn logical_answer(exchange: &Exchange, profile: &Profile) -> Option<Value> {
    exchange
        .answer()
        .map(|value| profile.fields.to_logical_value(value))
}

fn desc_of(answer: Option<&Value>, exchange: &Exchange) -> String {
    match answer {
        Some(answer) => answer
            .get("desc")
            .and_then(Value::as_str)
            .unwrap_or("(no desc)")
            .chars()
            .take(200)
            .collect(),
        None => match &exchange.error {
            Some(error) => error.describe(),
            None => "no readable answer".to_string(),
        },
    }
}

/// Which runs' orders to close.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Runs<'a> {
    /// This run's own, at its end.
    Only(&'a str),
    /// Those earlier runs left, at the start of a run.
    AllBut(&'a str),
    /// Every one (`mallcheck cleanup`).
    All,
}

impl Runs<'_> {
    fn include(&self, run_id: &str) -> bool {
        match self {
            Runs::Only(id) => run_id == *id,
            Runs::AllBut(id) => run_id != *id,
            Runs::All => true,
        }
    }
}

/// An order the ledger shows still open.
#[derive(Debug, Clone)]
pub(crate) struct OpenOrder {
    yggc_order: String,
    run_id: String,
    order_id: Option<String>,
    /// The submit's parameters (logical names), to ask for the order again.
    params: Option<Map<String, Value>>,
}

/// The ledger file of one target: appended to, one whole line per write, and read back.
pub(crate) struct Ledger {
    path: PathBuf,
    target: String,
    /// Held while a line is written: concurrent scenarios must not interleave their lines.
    writing: Mutex<()>,
}

impl Ledger {
    pub(crate) fn new(state_dir: &Path, target: &str) -> Ledger {
        Ledger {
            path: state_dir.join("ledger.jsonl"),
            target: target.to_string(),
            writing: Mutex::new(()),
        }
    }

    /// Writes one line: `event`, the run, the target, the time and `fields`.
    fn append(&self, event: &str, run_id: &str, fields: Value) {
        let mut entry = json!({
            "event": event, "run_id": run_id, "target": self.target,
            "at": chrono::Local::now().to_rfc3339(),
        });
        if let (Some(entry), Value::Object(fields)) = (entry.as_object_mut(), fields) {
            entry.extend(fields);
        }
        // The ledger is a safety net; failing to write it must not stop the run.
        if let Some(dir) = self.path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let line = format!("{entry}\n");
        let _guard = self.writing.lock();
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
        {
            let _ = file.write_all(line.as_bytes());
        }
    }

    /// The orders of this target still open, in the order they were submitted: the last word
    /// on each `yggc_order` decides.
    pub(crate) fn open_orders(&self, runs: Runs<'_>) -> Vec<OpenOrder> {
        let Ok(text) = std::fs::read_to_string(&self.path) else {
            return Vec::new();
        };
        let mut open: Vec<OpenOrder> = Vec::new();
        for entry in text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        {
            if entry.get("target").and_then(Value::as_str) != Some(self.target.as_str()) {
                continue;
            }
            let Some(event) = entry.get("event").and_then(Value::as_str) else {
                continue;
            };
            let order_id = text_of(entry.get("order_id"));
            // Confirm and cancel lines may name the order by its id alone.
            let position = match text_of(entry.get("yggc_order")) {
                Some(yggc) => open.iter().position(|o| o.yggc_order == yggc),
                None => open
                    .iter()
                    .position(|o| o.order_id.is_some() && o.order_id == order_id),
            };
            match (event, position) {
                ("submit", None) => {
                    let (Some(yggc_order), Some(run_id)) = (
                        text_of(entry.get("yggc_order")),
                        text_of(entry.get("run_id")),
                    ) else {
                        continue;
                    };
                    open.push(OpenOrder {
                        yggc_order,
                        run_id,
                        order_id: None,
                        params: entry.get("params").and_then(Value::as_object).cloned(),
                    });
                }
                ("accepted" | "resolved", Some(i)) if order_id.is_some() => {
                    open[i].order_id = order_id;
                }
                // Written by hand, or the submit line was lost: the order id is enough.
                ("accepted" | "resolved", None) => {
                    if let (Some(yggc_order), Some(run_id), Some(_)) = (
                        text_of(entry.get("yggc_order")),
                        text_of(entry.get("run_id")),
                        &order_id,
                    ) {
                        open.push(OpenOrder {
                            yggc_order,
                            run_id,
                            order_id,
                            params: None,
                        });
                    }
                }
                (event, Some(i)) if CLOSING.contains(&event) => {
                    open.remove(i);
                }
                // "unanswered", "not_cancelled", and lines of older versions: still open.
                _ => {}
            }
        }
        open.retain(|o| runs.include(&o.run_id));
        open
    }
}

/// Every target the ledger in `state_dir` names, with how many orders are open on it.
pub(crate) fn targets_with_open_orders(state_dir: &Path) -> Vec<(String, usize)> {
    let path = state_dir.join("ledger.jsonl");
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let mut targets: Vec<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|e| text_of(e.get("target")))
        .collect();
    targets.sort();
    targets.dedup();
    targets
        .into_iter()
        .map(|t| {
            let open = Ledger::new(state_dir, &t).open_orders(Runs::All).len();
            (t, open)
        })
        .filter(|(_, open)| *open > 0)
        .collect()
}

/// How closing one order ended.
enum Closing {
    Cancelled,
    AlreadyClosed(String),
    NotCancelled(String),
}

/// Closes what the ledger shows open for `runs`: each order without an id is asked for again
/// (same parameters, same `yggc_order`), then cancelled; a refused cancel is explained by the
/// order's state. Every outcome is written to the ledger under `run_id`.
pub(crate) async fn close_open(
    ledger: &Ledger,
    run_id: &str,
    runs: Runs<'_>,
    client: &Client,
    profile: &Profile,
    on_exchange: &(dyn Fn(&Exchange) + Send + Sync),
) -> OrderCleanup {
    let mut cleanup = OrderCleanup::default();
    for order in ledger.open_orders(runs) {
        let (closed, order_id) =
            close_one(ledger, run_id, &order, client, profile, on_exchange).await;
        let (event, list, note) = match closed {
            Closing::Cancelled => (
                "cleanup_cancelled",
                &mut cleanup.cancelled,
                "已取消 / cancelled".to_string(),
            ),
            Closing::AlreadyClosed(note) => ("already_closed", &mut cleanup.already_closed, note),
            Closing::NotCancelled(note) => ("not_cancelled", &mut cleanup.not_cancelled, note),
        };
        ledger.append(
            event,
            run_id,
            json!({"yggc_order": order.yggc_order, "order_id": order_id, "why": note, "of_run": order.run_id}),
        );
        list.push(OrderNote {
            yggc_order: order.yggc_order,
            order_id,
            run_id: order.run_id,
            note,
        });
    }
    cleanup
}

async fn close_one(
    ledger: &Ledger,
    run_id: &str,
    order: &OpenOrder,
    client: &Client,
    profile: &Profile,
    on_exchange: &(dyn Fn(&Exchange) + Send + Sync),
) -> (Closing, Option<String>) {
    let order_id = match (&order.order_id, &order.params) {
        (Some(id), _) => id.clone(),
        (None, None) => {
            return (
                Closing::NotCancelled(
                    "没有订单号，账本中也没有提交参数 / no order id, and the ledger has no submit parameters to ask again: check this order by hand".into(),
                ),
                None,
            );
        }
        (None, Some(params)) => {
            let exchange = client.call(iface::SUBMIT, params, TokenUse::Auto).await;
            on_exchange(&exchange);
            let answer = logical_answer(&exchange, profile);
            let success =
                answer.as_ref().and_then(|a| a.get("success")) == Some(&Value::Bool(true));
            match text_of(answer.as_ref().and_then(|a| a.pointer("/result/order_id"))) {
                Some(id) if success => {
                    ledger.append(
                        "resolved",
                        run_id,
                        json!({"yggc_order": order.yggc_order, "order_id": id}),
                    );
                    id
                }
                _ => {
                    let why = desc_of(answer.as_ref(), &exchange);
                    // Orders are idempotent on yggc_order (ORD-IDEMPOTENT): a supplier that
                    // made the order answers it again, so a refusal means there is none.
                    let closed = if answer.is_some() && !success {
                        Closing::AlreadyClosed(format!(
                            "无需取消 / nothing to cancel: asking again with the same yggc_order was refused ({why}); a supplier keeping ORD-IDEMPOTENT answers the order it made, so it made none"
                        ))
                    } else if answer.is_some() {
                        Closing::NotCancelled(format!(
                            "以同一 yggc_order 重新提交未得到订单号 / asking again with the same yggc_order was accepted without an order id ({why}): check this order by hand"
                        ))
                    } else {
                        Closing::NotCancelled(format!(
                            "重新提交无应答 / asking again with the same yggc_order got no answer ({why}); tried again by the next run and by `mallcheck cleanup`"
                        ))
                    };
                    return (closed, None);
                }
            }
        }
    };
    let mut params = Map::new();
    params.insert("order_id".into(), Value::String(order_id.clone()));
    let exchange = client.call(iface::CANCEL, &params, TokenUse::Auto).await;
    on_exchange(&exchange);
    if exchange.succeeded() {
        return (Closing::Cancelled, Some(order_id));
    }
    let answer = logical_answer(&exchange, profile);
    let refusal = desc_of(answer.as_ref(), &exchange);
    if answer.is_none() {
        return (
            Closing::NotCancelled(format!(
                "取消无应答 / the cancel got no answer ({refusal}); tried again by the next run and by `mallcheck cleanup`"
            )),
            Some(order_id),
        );
    }
    // A refused cancel: the order's state says whether it is closed already.
    let select = client.call(iface::SELECT, &params, TokenUse::Auto).await;
    on_exchange(&select);
    let result = logical_answer(&select, profile)
        .filter(|a| a.get("success") == Some(&Value::Bool(true)))
        .and_then(|a| a.get("result").cloned());
    let state = text_of(result.as_ref().and_then(|r| r.get("state")));
    let code = |name: &str| text_of(profile.code("order_state", name));
    let closed = ["cancelled", "rejected", "delivered"]
        .into_iter()
        .find(|name| state.is_some() && state == code(name));
    let confirmed = text_of(result.as_ref().and_then(|r| r.get("submit_state")))
        .is_some_and(|s| Some(s) == text_of(profile.code("submit_state", "confirmed")));
    let closed_note = match closed {
        Some(name) => Closing::AlreadyClosed(format!(
            "已关闭 / already closed: the supplier says the order is {name} (cancel refused: {refusal})"
        )),
        // Only a scenario's confirm confirms an order, and its answer was lost (the run was
        // stopped): the order ships as that scenario meant, and nothing can undo it here.
        None if confirmed => Closing::AlreadyClosed(format!(
            "已确认 / confirmed: a scenario confirmed it before the run was stopped, and a confirmed order cannot be cancelled (cancel refused: {refusal})"
        )),
        None => Closing::NotCancelled(format!(
            "取消被拒 / the cancel was refused ({refusal}); the order's state is {}: check it by hand",
            state.unwrap_or_else(|| "unknown (select did not answer it)".into())
        )),
    };
    (closed_note, Some(order_id))
}

/// This run's orders: written down before they are sent, their answers noted as they come.
pub(crate) struct OrderBook {
    ledger: Ledger,
    run_id: String,
    /// Submits sent and not answered yet.
    in_flight: AtomicUsize,
    settled: tokio::sync::Notify,
    /// Pre-orders counted against `[orders] max_orders`.
    guarded: AtomicU64,
}

impl OrderBook {
    pub(crate) fn new(state_dir: &Path, run_id: &str, target: &str) -> OrderBook {
        OrderBook {
            ledger: Ledger::new(state_dir, target),
            run_id: run_id.to_string(),
            in_flight: AtomicUsize::new(0),
            settled: tokio::sync::Notify::new(),
            guarded: AtomicU64::new(0),
        }
    }

    fn before_submit(&self, params: &Map<String, Value>) {
        let Some(yggc_order) = text_of(params.get("yggc_order")) else {
            return;
        };
        self.ledger.append(
            "submit",
            &self.run_id,
            json!({"yggc_order": yggc_order, "params": params}),
        );
    }

    /// Notes what a submit's answer says: an order id, a refusal (nothing was created), or no
    /// answer (the order is resolved later, by asking again).
    fn settle_submit(&self, params: &Map<String, Value>, exchange: &Exchange, profile: &Profile) {
        let Some(yggc_order) = text_of(params.get("yggc_order")) else {
            return;
        };
        let answer = logical_answer(exchange, profile);
        let success = answer
            .as_ref()
            .and_then(|a| a.get("success"))
            .and_then(Value::as_bool);
        let (event, fields) = match success {
            Some(true) => (
                "accepted",
                json!({"order_id": text_of(answer.as_ref().and_then(|a| a.pointer("/result/order_id")))}),
            ),
            Some(false) => (
                "refused",
                json!({"why": desc_of(answer.as_ref(), exchange)}),
            ),
            None => (
                "unanswered",
                json!({"why": desc_of(answer.as_ref(), exchange)}),
            ),
        };
        let mut fields = fields;
        if let Some(fields) = fields.as_object_mut() {
            fields.insert("yggc_order".into(), Value::String(yggc_order));
        }
        self.ledger.append(event, &self.run_id, fields);
    }

    /// Notes a confirm or cancel that succeeded.
    pub(crate) fn observe(
        &self,
        interface: &str,
        params: &Map<String, Value>,
        answer: Option<&Value>,
    ) {
        let success = answer
            .and_then(|a| a.get("success"))
            .and_then(Value::as_bool)
            == Some(true);
        if success && (interface == iface::CONFIRM || interface == iface::CANCEL) {
            self.ledger.append(
                interface,
                &self.run_id,
                json!({"order_id": text_of(params.get("order_id"))}),
            );
        }
    }

    /// Waits up to `within` for the submits still in flight; how many are left.
    pub(crate) async fn wait_in_flight(&self, within: Duration) -> usize {
        let waiting = async {
            loop {
                let settled = self.settled.notified();
                if self.in_flight.load(Ordering::SeqCst) == 0 {
                    return;
                }
                settled.await;
            }
        };
        let _ = tokio::time::timeout(within, waiting).await;
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Closes the orders this run (`Runs::Only`) or earlier runs (`Runs::AllBut`) left open.
    pub(crate) async fn close(
        &self,
        runs: Runs<'_>,
        client: &Client,
        profile: &Profile,
        on_exchange: &(dyn Fn(&Exchange) + Send + Sync),
    ) -> OrderCleanup {
        close_open(
            &self.ledger,
            &self.run_id,
            runs,
            client,
            profile,
            on_exchange,
        )
        .await
    }

    pub(crate) fn note_cleanup_timeout(&self) {
        self.ledger
            .append("cleanup_timeout", &self.run_id, json!({}));
    }
}

/// Sends a pre-order so that it cannot be lost: written to the ledger first, then sent by
/// `send` on a task of its own, whose answer is noted even when the scenario that waits for it
/// is stopped.
/// Beyond the config's guards, on a target other than the embedded supplier, a pre-order is not
/// sent: the error says why.
pub(crate) async fn send_submit<F, Fut>(
    shared: &Arc<Shared>,
    params: &Map<String, Value>,
    kind: SubmitKind,
    send: F,
) -> Result<Exchange, String>
where
    F: FnOnce(Arc<Shared>, Map<String, Value>) -> Fut + Send + 'static,
    Fut: Future<Output = Exchange> + Send + 'static,
{
    if kind != SubmitKind::Harmless && !shared.options.embedded {
        guard(&shared.config, params, kind, &shared.orders.guarded)?;
    }
    shared.orders.before_submit(params);
    let in_flight = InFlight::new(Arc::clone(shared));
    let task_params = params.clone();
    let task = tokio::spawn(async move {
        let shared = Arc::clone(&in_flight.0);
        let exchange = send(Arc::clone(&shared), task_params.clone()).await;
        shared
            .orders
            .settle_submit(&task_params, &exchange, &shared.profile);
        drop(in_flight);
        exchange
    });
    Ok(match task.await {
        Ok(exchange) => exchange,
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        // The runtime is shutting down: the ledger keeps the order as sent, to be resolved by
        // asking again.
        Err(error) => shared.client.internal_failure(
            iface::SUBMIT,
            format!("the submit was stopped before its answer: {error}"),
        ),
    })
}

/// What a pre-order is sent for: the guards weigh them differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SubmitKind {
    /// Made one no supplier can fulfil (a token check on a target not cleared for orders).
    Harmless,
    /// Sent to be refused (beyond the stock, a wrong price): a supplier that accepts it has it
    /// cancelled at once, and it is never confirmed, so the quantity and amount caps do not
    /// apply (the refusal of 99 999 units is the point).
    ToBeRefused,
    /// Sent to be accepted, and maybe confirmed: every guard applies.
    ToBeAccepted,
}

/// Checks a pre-order against the guards (`test_data.order_skus`, `[orders] max_quantity`,
/// `max_amount`, `max_orders`), and counts it when it passes.
fn guard(
    config: &crate::config::Config,
    params: &Map<String, Value>,
    kind: SubmitKind,
    sent: &AtomicU64,
) -> Result<(), String> {
    let guards = &config.orders;
    let allowed = &config.test_data.order_skus;
    let refuse = |why: String| {
        Err(format!(
            "未发送：超出订单限制 / not sent: {why} (mallcheck.toml guards every order to this target)"
        ))
    };
    let lines = params.get("sku").and_then(Value::as_array);
    for line in lines.into_iter().flatten() {
        let sku = text_of(line.get("sku")).unwrap_or_default();
        if !allowed.is_empty() && !allowed.contains(&sku) {
            return refuse(format!("SKU {sku} is not in [test_data] order_skus"));
        }
        let num = line.get("num").and_then(decimal).unwrap_or_default();
        if kind == SubmitKind::ToBeAccepted
            && num > rust_decimal::Decimal::from(guards.max_quantity)
        {
            return refuse(format!(
                "{num} units of SKU {sku}, more than [orders] max_quantity = {}",
                guards.max_quantity
            ));
        }
    }
    let amount = params.get("order_price").and_then(decimal);
    let cap = rust_decimal::Decimal::try_from(guards.max_amount).unwrap_or_default();
    if let Some(amount) = amount
        && kind == SubmitKind::ToBeAccepted
        && amount > cap
    {
        return refuse(format!(
            "an order of {amount} yuan, more than [orders] max_amount = {}",
            guards.max_amount
        ));
    }
    if sent.fetch_add(1, Ordering::SeqCst) >= guards.max_orders {
        sent.fetch_sub(1, Ordering::SeqCst);
        return refuse(format!(
            "this run sent [orders] max_orders = {} pre-orders already",
            guards.max_orders
        ));
    }
    Ok(())
}

fn decimal(value: &Value) -> Option<rust_decimal::Decimal> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    text.trim().parse().ok()
}

/// One submit in flight, counted until its task ends, however it ends.
struct InFlight(Arc<Shared>);

impl InFlight {
    fn new(shared: Arc<Shared>) -> InFlight {
        shared.orders.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(shared)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.orders.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.0.orders.settled.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(sku: &str, num: u64, total: &str) -> Map<String, Value> {
        let text = format!(
            r#"{{"yggc_order":"Y","sku":[{{"sku":"{sku}","num":{num},"price":1}}],"order_price":{total}}}"#
        );
        serde_json::from_str(&text).expect("json")
    }

    #[test]
    fn guards_weigh_the_skus_the_quantity_the_amount_and_the_count() {
        let mut config = crate::config::Config::default();
        config.test_data.order_skus = vec!["A".into()];
        config.orders.max_quantity = 3;
        config.orders.max_amount = 10.0;
        config.orders.max_orders = 2;
        let sent = AtomicU64::new(0);
        let accepted = SubmitKind::ToBeAccepted;
        let refused = SubmitKind::ToBeRefused;
        let why = |r: Result<(), String>| r.err().unwrap_or_default();
        assert!(why(guard(&config, &order("B", 1, "1"), accepted, &sent)).contains("order_skus"));
        assert!(why(guard(&config, &order("A", 4, "4"), accepted, &sent)).contains("max_quantity"));
        assert!(
            why(guard(&config, &order("A", 1, "10.01"), accepted, &sent)).contains("max_amount")
        );
        // Sent to be refused: 99 999 units is the point; the SKU list still holds.
        assert_eq!(
            guard(&config, &order("A", 99_999, "99999"), refused, &sent),
            Ok(())
        );
        assert!(why(guard(&config, &order("B", 1, "1"), refused, &sent)).contains("order_skus"));
        assert_eq!(
            guard(&config, &order("A", 3, "10"), accepted, &sent),
            Ok(())
        );
        assert!(why(guard(&config, &order("A", 1, "1"), accepted, &sent)).contains("max_orders"));
        assert_eq!(sent.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn the_ledger_s_last_word_on_each_order_decides_what_is_open() {
        let dir = std::env::temp_dir().join(format!("mallcheck-ledger-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let ledger = Ledger::new(&dir, "T");
        let params = json!({"sku": []});
        for (event, yggc, id) in [
            ("submit", "A", None),
            ("accepted", "A", Some("1")),
            ("submit", "B", None),
            ("refused", "B", None),
            ("submit", "C", None),
            ("submit", "D", None),
            ("accepted", "D", Some("4")),
        ] {
            ledger.append(
                event,
                "r1",
                json!({"yggc_order": yggc, "order_id": id, "params": params}),
            );
        }
        // A confirm names the order by its id alone.
        ledger.append(iface::CONFIRM, "r1", json!({"order_id": "4"}));
        Ledger::new(&dir, "other").append("submit", "r1", json!({"yggc_order": "X"}));
        let open: Vec<(String, Option<String>)> = ledger
            .open_orders(Runs::All)
            .into_iter()
            .map(|o| (o.yggc_order, o.order_id))
            .collect();
        assert_eq!(
            open,
            vec![("A".into(), Some("1".into())), ("C".into(), None)]
        );
        assert!(ledger.open_orders(Runs::AllBut("r1")).is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
