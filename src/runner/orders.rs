//! Nothing is lost: every pre-order the harness sends is written to a ledger
//! (`<state dir>/ledger.jsonl`) before it is sent, its fate is followed through confirm and
//! cancel, and at the end of the run every order still only pre-ordered is cancelled.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use serde_json::{Map, Value, json};

use super::shared::Emitter;
use crate::client::{Client, TokenUse};
use crate::profile::iface;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OrderState {
    Sent,
    PreOrdered,
    Confirmed,
    Cancelled,
}

#[derive(Debug, Clone)]
struct Order {
    yggc_order: String,
    order_id: Option<String>,
    state: OrderState,
}

pub(crate) struct OrderBook {
    ledger: PathBuf,
    /// Held while a line is written: concurrent scenarios must not interleave their lines.
    writing: Mutex<()>,
    run_id: String,
    target: String,
    orders: Mutex<Vec<Order>>,
}

fn text_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl OrderBook {
    pub(crate) fn new(state_dir: &std::path::Path, run_id: &str, target: &str) -> OrderBook {
        OrderBook {
            ledger: state_dir.join("ledger.jsonl"),
            writing: Mutex::new(()),
            run_id: run_id.to_string(),
            target: target.to_string(),
            orders: Mutex::new(Vec::new()),
        }
    }

    fn append(&self, entry: Value) {
        // The ledger is a safety net; failing to write it must not stop the run.
        if let Some(dir) = self.ledger.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        // One whole line per write, one writer at a time: a line is never torn.
        let line = format!("{entry}\n");
        let _guard = self.writing.lock();
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.ledger)
        {
            let _ = file.write_all(line.as_bytes());
        }
    }

    /// Orders an earlier run on this target left pre-ordered (it was interrupted or crashed
    /// before its cleanup): cancelled now, before anything else, and the ledger says so.
    pub(crate) async fn recover(&self, client: &Client, events: &Emitter) {
        let Ok(text) = std::fs::read_to_string(&self.ledger) else {
            return;
        };
        // The last word on each order of this target, in ledger order.
        let mut open: Vec<(String, String)> = Vec::new();
        for entry in text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        {
            if entry.get("target").and_then(Value::as_str) != Some(self.target.as_str())
                || entry.get("run_id").and_then(Value::as_str) == Some(self.run_id.as_str())
            {
                continue;
            }
            let (Some(event), Some(yggc)) = (
                entry.get("event").and_then(Value::as_str),
                text_of(entry.get("yggc_order")),
            ) else {
                continue;
            };
            open.retain(|(y, _)| *y != yggc);
            if event == "accepted"
                && let Some(order_id) = text_of(entry.get("order_id"))
            {
                open.push((yggc, order_id));
            }
        }
        for (yggc_order, order_id) in open {
            let mut params = Map::new();
            params.insert("order_id".into(), Value::String(order_id.clone()));
            let exchange = client.call(iface::CANCEL, &params, TokenUse::Auto).await;
            events.exchange(&exchange);
            self.append(json!({
                "event": if exchange.succeeded() { "recovered_cancelled" } else { "recovery_failed" },
                "run_id": self.run_id, "target": self.target,
                "yggc_order": yggc_order, "order_id": order_id,
            }));
        }
    }

    /// Called before a submit is sent.
    pub(crate) fn before_submit(&self, params: &Map<String, Value>) {
        let Some(yggc_order) = text_of(params.get("yggc_order")) else {
            return;
        };
        self.append(json!({
            "event": "submit", "run_id": self.run_id, "target": self.target,
            "yggc_order": yggc_order, "at": chrono::Local::now().to_rfc3339(),
        }));
        if let Ok(mut orders) = self.orders.lock()
            && !orders.iter().any(|o| o.yggc_order == yggc_order)
        {
            orders.push(Order {
                yggc_order,
                order_id: None,
                state: OrderState::Sent,
            });
        }
    }

    /// Follows an order's fate from the answers of submit, confirm and cancel.
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
        if !success {
            // A refused submit created nothing: the order leaves the book. One whose answer never
            // came (timeout) stays `Sent`, and the cleanup says it must be checked by hand.
            if interface == iface::SUBMIT
                && answer.is_some()
                && let Some(yggc) = text_of(params.get("yggc_order"))
                && let Ok(mut orders) = self.orders.lock()
            {
                orders.retain(|o| !(o.yggc_order == yggc && o.state == OrderState::Sent));
            }
            return;
        }
        let mut lines = Vec::new();
        let Ok(mut orders) = self.orders.lock() else {
            return;
        };
        match interface {
            iface::SUBMIT => {
                let yggc = text_of(params.get("yggc_order"));
                let order_id = text_of(answer.and_then(|a| a.pointer("/result/order_id")));
                if let Some(order) = orders
                    .iter_mut()
                    .find(|o| Some(&o.yggc_order) == yggc.as_ref())
                {
                    // The supplier's order id is what a later cancel needs: it goes to the ledger.
                    lines.push(json!({
                        "event": "accepted", "run_id": self.run_id, "target": self.target,
                        "yggc_order": order.yggc_order, "order_id": order_id,
                    }));
                    order.order_id = order_id;
                    order.state = OrderState::PreOrdered;
                }
            }
            iface::CONFIRM | iface::CANCEL => {
                let id = text_of(params.get("order_id"));
                let state = if interface == iface::CONFIRM {
                    OrderState::Confirmed
                } else {
                    OrderState::Cancelled
                };
                for order in orders
                    .iter_mut()
                    .filter(|o| o.order_id.is_some() && o.order_id == id)
                {
                    // A supplier that wrongly accepts both keeps the first fate.
                    if order.state == OrderState::PreOrdered {
                        order.state = state;
                        lines.push(json!({
                            "event": interface, "run_id": self.run_id, "target": self.target,
                            "yggc_order": order.yggc_order, "order_id": order.order_id,
                        }));
                    }
                }
            }
            _ => {}
        }
        drop(orders);
        for line in lines {
            self.append(line);
        }
    }

    pub(crate) fn note_cleanup_timeout(&self) {
        self.append(json!({
            "event": "cleanup_timeout", "run_id": self.run_id, "target": self.target,
        }));
    }

    /// Cancels every order the run left pre-ordered (best effort; recorded in the ledger).
    pub(crate) async fn cancel_leftovers(&self, client: &Client, events: &Emitter) {
        let leftovers: Vec<Order> = self
            .orders
            .lock()
            .map(|o| {
                o.iter()
                    .filter(|o| matches!(o.state, OrderState::PreOrdered | OrderState::Sent))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        for order in leftovers {
            let Some(order_id) = &order.order_id else {
                // Accepted without an order id: nothing to cancel with; the ledger says so.
                self.append(json!({
                    "event": "cleanup_impossible", "run_id": self.run_id, "target": self.target,
                    "yggc_order": order.yggc_order,
                    "reason": if order.state == OrderState::Sent { "no answer to the submit (timeout, refusal or interruption): check this order by hand" } else { "no order_id in the submit answer" },
                }));
                continue;
            };
            let mut params = Map::new();
            params.insert("order_id".into(), Value::String(order_id.clone()));
            let exchange = client.call(iface::CANCEL, &params, TokenUse::Auto).await;
            events.exchange(&exchange);
            let cancelled = exchange.succeeded();
            self.append(json!({
                "event": if cancelled { "cleanup_cancelled" } else { "cleanup_failed" },
                "run_id": self.run_id, "target": self.target,
                "yggc_order": order.yggc_order, "order_id": order_id,
            }));
        }
    }
}
