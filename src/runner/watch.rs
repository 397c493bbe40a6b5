//! Waiting for what a supplier does on its own schedule: an order that ships and is delivered
//! after confirmation. With the reference supplier's admin clock the wait is a clock move; on a
//! real test environment it is polling with growing pauses, bounded by `[orders] wait_seconds`.
//! What was seen is handed to `checks::order_life`, which judges; what did not happen in time is
//! not judged, and the scenario stops there (its dependents, e.g. the after-sale of a completed
//! order, are blocked rather than failed).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::admin;
use super::results::Rows;
use super::shared::Shared;
use super::step::{Abort, call_judged};
use crate::checks::{self, CheckRun, LifeCodes, Sighting, ids};
use crate::client::Exchange;
use crate::profile::{Profile, iface};

/// Clock moves tried with the admin endpoints before the wait counts as run out.
pub(crate) const MAX_CLOCK_MOVES: u32 = 3;
/// The longest pause between two polls.
const MAX_PAUSE: Duration = Duration::from_secs(30);

/// The order states along a confirmed order's life, from the profile's codes.
fn life_codes(profile: &Profile) -> Result<LifeCodes, Abort> {
    let code = |name: &str| profile.code("order_state", name).cloned();
    let path: Vec<(String, Value)> = ["new", "shipped", "delivered"]
        .iter()
        .filter_map(|name| code(name).map(|c| (name.to_string(), c)))
        .collect();
    if path.len() < 3 {
        return Err(Abort(
            "配置缺少订单状态码 / the profile's [codes.order_state] lacks new, shipped or delivered"
                .into(),
        ));
    }
    Ok(LifeCodes {
        path,
        cancelled: code("cancelled"),
        rejected: code("rejected"),
        delivered_all: profile.code("deliver_state", "all").cloned(),
    })
}

/// Pauses between polls: from `poll_seconds`, half as long again each time, at most 30 s, never
/// past the end of the wait.
pub(crate) struct Pauses {
    next: Duration,
    deadline: Instant,
}

impl Pauses {
    pub(crate) fn from_config(orders: &crate::config::OrdersConfig) -> Pauses {
        Pauses::new(
            orders.poll_seconds,
            Duration::from_secs(orders.wait_seconds),
        )
    }

    fn new(first_seconds: f64, wait: Duration) -> Pauses {
        Pauses {
            next: Duration::from_secs_f64(first_seconds.clamp(0.05, 30.0)),
            deadline: Instant::now() + wait,
        }
    }

    /// Waits before the next poll; false when the wait has run out.
    pub(crate) async fn wait(&mut self) -> bool {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        tokio::time::sleep(self.next.min(left)).await;
        self.next = self.next.mul_f64(1.5).min(MAX_PAUSE);
        true
    }
}

/// `await_order` (`with: {order_id, until: shipped|delivered, lines: [{sku, num}]}`): watches a
/// confirmed order until select shows `until` (default delivered). Judges ORD-QUERY on the
/// states seen and on select's lines (against `lines`, when given), and LOG-TRACK on the track
/// once the order has shipped and again once delivered. Captures `await_order.state`.
pub(crate) async fn await_order(
    shared: &Arc<Shared>,
    args: &Map<String, Value>,
    rows: &mut Rows<'_>,
    captured: &mut Map<String, Value>,
) -> Result<(), Abort> {
    let Some(order_id) = args.get("order_id").filter(|v| !v.is_null()).cloned() else {
        return Err(Abort("await_order needs `with: {order_id: …}`".into()));
    };
    let codes = life_codes(&shared.profile)?;
    let until_name = args
        .get("until")
        .and_then(Value::as_str)
        .unwrap_or("delivered");
    let Some(until) = codes.rank_of(until_name) else {
        return Err(Abort(format!(
            "await_order: `until` must be new, shipped or delivered, not {until_name:?}"
        )));
    };
    let shipped = codes.rank_of("shipped").unwrap_or(1);
    let clock_step = args
        .get("advance_seconds")
        .and_then(Value::as_i64)
        .unwrap_or(90_000);
    let mut params = Map::new();
    params.insert("order_id".into(), order_id);

    let started = Instant::now();
    let mut pauses = Pauses::from_config(&shared.config.orders);
    let mut clock_moves = 0;
    let mut sightings: Vec<Sighting> = Vec::new();
    let mut last_select: Exchange;
    let mut tracked_up_to: Option<usize> = None;
    let mut lines_judged = false;
    loop {
        let (exchange, judged) = call_judged(shared, rows, iface::SELECT, &params, true).await;
        let Some(result) = judged.filter(|j| j.succeeded()).map(|j| j.result().clone()) else {
            // The refusal or the unreadable answer is judged above; without a state the life
            // cannot be followed.
            return Err(Abort(format!(
                "订单查询失败 / select of the order failed: {}",
                super::step::failure_summary(&exchange)
            )));
        };
        if !lines_judged && let Some(lines) = args.get("lines") {
            rows.record(
                &checks::order_lines(lines, &result),
                Some(iface::SELECT),
                Some(&exchange),
            );
            lines_judged = true;
        }
        let Some(state) = result.get("state").filter(|s| !s.is_null()).cloned() else {
            return Err(Abort(
                "订单查询没有 state / select's answer has no state".into(),
            ));
        };
        let rank = codes.rank(&state);
        sightings.push(Sighting {
            after_ms: started.elapsed().as_millis() as u64,
            state,
            deliver_state: result.get("deliver_state").cloned(),
        });
        last_select = exchange;
        if let Some(rank) = rank.filter(|r| *r >= shipped)
            && tracked_up_to.is_none_or(|t| rank > t)
        {
            judge_track(shared, rows, &params, &result, &codes.path[rank].0).await;
            tracked_up_to = Some(rank);
        }
        // Reached, or already wrong: waiting longer would change nothing.
        if rank.is_some_and(|r| r >= until)
            || !checks::order_life(&codes, &sightings, until, 0)
                .findings
                .is_empty()
        {
            break;
        }
        if shared.options.admin {
            if clock_moves == MAX_CLOCK_MOVES {
                break;
            }
            admin::advance_clock(shared, clock_step).await?;
            clock_moves += 1;
        } else if !pauses.wait().await {
            break;
        }
    }
    let waited_ms = started.elapsed().as_millis() as u64;
    let life = checks::order_life(&codes, &sightings, until, waited_ms);
    let reached = checks::furthest(&codes, &sightings).is_some_and(|r| r >= until);
    rows.record(&life, Some(iface::SELECT), Some(&last_select));
    let last_state = sightings.last().map(|s| s.state.clone());
    captured.insert(
        "await_order".into(),
        json!({ "state": last_state, "waited_seconds": waited_ms / 1000 }),
    );
    if reached || !life.findings.is_empty() {
        return Ok(());
    }
    let waited = if shared.options.admin {
        format!("{clock_moves} clock moves of {clock_step} s")
    } else {
        format!("{:.0} s", waited_ms as f64 / 1000.0)
    };
    if tracked_up_to.is_none() {
        rows.record(
            &CheckRun::not_judged(
                ids::TRACK_SHIPMENT,
                &["LOG-TRACK"],
                format!("等待 {waited} 后订单仍未发货 / the order had not shipped after {waited}"),
            ),
            Some(iface::TRACK),
            None,
        );
    }
    Err(Abort(format!(
        "订单未在等待时间内{} / the order did not become {until_name} within {waited} ([orders] wait_seconds); what follows is not judged",
        if until_name == "shipped" {
            "发货"
        } else {
            "妥投"
        }
    )))
}

/// LOG-TRACK once select calls the order shipped or delivered.
async fn judge_track(
    shared: &Arc<Shared>,
    rows: &mut Rows<'_>,
    params: &Map<String, Value>,
    select_result: &Value,
    state: &str,
) {
    let (exchange, judged) = call_judged(shared, rows, iface::TRACK, params, true).await;
    let run = match judged {
        Some(judged) if judged.succeeded() => {
            checks::shipment_matches(select_result, judged.result(), state, state == "delivered")
        }
        // A refusal is the supplier's answer: track must answer for a shipped order.
        Some(judged) if judged.answer.as_ref().and_then(|a| a.success) == Some(false) => {
            checks::track_refused(state, &super::step::failure_summary(&exchange))
        }
        _ => CheckRun::not_judged(
            ids::TRACK_SHIPMENT,
            &["LOG-TRACK"],
            format!(
                "物流查询失败 / track failed: {}",
                super::step::failure_summary(&exchange)
            ),
        ),
    };
    rows.record(&run, Some(iface::TRACK), Some(&exchange));
}
