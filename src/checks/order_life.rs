//! An order watched through its life after confirmation, as the mall sees it: select's state
//! follows the life (ORD-QUERY), its lines are the ones ordered, and once the order has shipped
//! the track shows a waybill whose items are the order's lines (LOG-TRACK). What the supplier had
//! not done by the end of the wait is not judged, never passed and never failed.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde_json::Value;

use super::{CheckRun, Finding, decimal_of, ids};

const QUERY_REQ: &str = "ORD-QUERY";
const TRACK_REQ: &str = "LOG-TRACK";

/// The profile's order states along the normal life of a confirmed order, and the codes that end
/// it off that path (`[codes.order_state]`, `[codes.deliver_state]`).
#[derive(Debug, Clone)]
pub struct LifeCodes {
    /// (name, code) in the order of the life: new, shipped, delivered.
    pub path: Vec<(String, Value)>,
    pub cancelled: Option<Value>,
    pub rejected: Option<Value>,
    /// deliver_state of a completely delivered order.
    pub delivered_all: Option<Value>,
}

impl LifeCodes {
    /// The position of a state code on the path; `None` off the path.
    pub fn rank(&self, state: &Value) -> Option<usize> {
        self.path
            .iter()
            .position(|(_, code)| same_code(code, state))
    }

    /// The position of a state name on the path (`until: delivered`).
    pub fn rank_of(&self, name: &str) -> Option<usize> {
        self.path.iter().position(|(n, _)| n == name)
    }

    fn name(&self, state: &Value) -> String {
        match self.rank(state) {
            Some(i) => format!("{} ({})", self.path[i].0, state),
            None => state.to_string(),
        }
    }
}

/// Codes compare as numbers when both read as numbers (`5` and `"5"` are one state).
fn same_code(a: &Value, b: &Value) -> bool {
    match (decimal_of(a), decimal_of(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// One answer of select while the order was watched.
#[derive(Debug, Clone)]
pub struct Sighting {
    /// Milliseconds since the watch began (after confirmation).
    pub after_ms: u64,
    pub state: Value,
    pub deliver_state: Option<Value>,
}

/// How far the order got: the highest position on the path that select showed.
pub fn furthest(codes: &LifeCodes, sightings: &[Sighting]) -> Option<usize> {
    sightings.iter().filter_map(|s| codes.rank(&s.state)).max()
}

/// ORD-QUERY over the states select showed: never back along the path, never cancelled by itself,
/// delivered only with everything delivered, and at the `until` state within the wait.
pub fn order_life(
    codes: &LifeCodes,
    sightings: &[Sighting],
    until: usize,
    waited_ms: u64,
) -> CheckRun {
    let mut findings = Vec::new();
    let mut off_path: Option<String> = None;
    let mut highest: Option<(usize, &Sighting)> = None;
    for sighting in sightings {
        let at = format!("{:.1} s", sighting.after_ms as f64 / 1000.0);
        match codes.rank(&sighting.state) {
            Some(rank) => {
                if let Some((before, seen)) = highest
                    && rank < before
                {
                    findings.push(
                        Finding::new(
                            ids::ORDER_LIFE,
                            QUERY_REQ,
                            format!(
                                "订单状态倒退 / the order's state went back: {} at {:.1} s, then {} at {at}",
                                codes.name(&seen.state),
                                seen.after_ms as f64 / 1000.0,
                                codes.name(&sighting.state),
                            ),
                        )
                        .at("/result/state")
                        .expected(format!("{} or later", codes.name(&seen.state)))
                        .actual(codes.name(&sighting.state)),
                    );
                }
                if highest.is_none_or(|(before, _)| rank > before) {
                    highest = Some((rank, sighting));
                }
                let delivered = codes.rank_of("delivered") == Some(rank);
                let all_delivered = match (&codes.delivered_all, &sighting.deliver_state) {
                    (Some(all), Some(deliver_state)) => Some(same_code(all, deliver_state)),
                    _ => None,
                };
                if !delivered && all_delivered == Some(true) {
                    // Delivery is visible, yet the state has not followed it.
                    findings.push(
                        Finding::new(
                            ids::ORDER_LIFE,
                            QUERY_REQ,
                            format!(
                                "订单已全部妥投但状态未变为已完成 / deliver_state says everything was delivered, but the state is still {} at {at}",
                                codes.name(&sighting.state)
                            ),
                        )
                        .at("/result/state")
                        .expected(codes.path.get(codes.rank_of("delivered").unwrap_or(2)).map(|(n, c)| format!("{n} ({c})")).unwrap_or_default())
                        .actual(codes.name(&sighting.state)),
                    );
                }
                if let (true, Some(all), Some(deliver_state)) =
                    (delivered, &codes.delivered_all, &sighting.deliver_state)
                    && !same_code(all, deliver_state)
                {
                    findings.push(
                        Finding::new(
                            ids::ORDER_LIFE,
                            QUERY_REQ,
                            format!(
                                "已妥投订单的 deliver_state 不是全部妥投 / a delivered order's deliver_state is {deliver_state}, not {all} (all delivered), at {at}"
                            ),
                        )
                        .at("/result/deliver_state")
                        .expected(all.to_string())
                        .actual(deliver_state.to_string()),
                    );
                }
            }
            None if codes
                .cancelled
                .as_ref()
                .is_some_and(|c| same_code(c, &sighting.state)) =>
            {
                findings.push(
                    Finding::new(
                        ids::ORDER_LIFE,
                        QUERY_REQ,
                        format!(
                            "已确认的订单显示为已取消 / a confirmed order nobody cancelled reads cancelled ({}) at {at}",
                            sighting.state
                        ),
                    )
                    .at("/result/state")
                    .actual(sighting.state.to_string()),
                );
            }
            None if codes
                .rejected
                .as_ref()
                .is_some_and(|c| same_code(c, &sighting.state)) =>
            {
                off_path = Some(format!(
                    "the order was rejected at delivery ({}) at {at}",
                    sighting.state
                ));
            }
            // A state outside the profile's codes is the schema's finding.
            None => {
                off_path = Some(format!(
                    "select showed state {} at {at}, not one of the profile's",
                    sighting.state
                ))
            }
        }
    }
    let run = CheckRun::new(ids::ORDER_LIFE, &[QUERY_REQ], findings);
    if !run.findings.is_empty() {
        return run;
    }
    if let Some(reason) = off_path {
        return run.unjudged(QUERY_REQ, reason);
    }
    let reached = highest.is_some_and(|(rank, _)| rank >= until);
    if reached {
        return run;
    }
    let target = codes
        .path
        .get(until)
        .map(|(name, _)| name.as_str())
        .unwrap_or("?");
    let last = match highest {
        Some((_, s)) => codes.name(&s.state),
        None => "no readable state".to_string(),
    };
    run.unjudged(
        QUERY_REQ,
        format!(
            "等待 {:.0} s 后订单仍未{} / the order did not become {target} within {:.0} s (last seen: {last})",
            waited_ms as f64 / 1000.0,
            match target {
                "delivered" => "妥投",
                "shipped" => "发货",
                _ => "到达该状态",
            },
            waited_ms as f64 / 1000.0,
        ),
    )
}

/// Units per SKU of an array of lines (`[{sku, num}]`); `None` when a line cannot be read.
fn units_per_sku(lines: &Value) -> Option<BTreeMap<String, Decimal>> {
    let mut units: BTreeMap<String, Decimal> = BTreeMap::new();
    for line in lines.as_array()? {
        let sku = match line.get("sku")? {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return None,
        };
        let num = decimal_of(line.get("num")?)?;
        let total = units.entry(sku).or_default();
        *total = total.checked_add(num)?;
    }
    Some(units)
}

fn describe(units: &BTreeMap<String, Decimal>) -> String {
    if units.is_empty() {
        return "nothing".into();
    }
    let mut parts: Vec<String> = units
        .iter()
        .take(8)
        .map(|(sku, num)| format!("{sku}×{num}"))
        .collect();
    if units.len() > 8 {
        parts.push("…".into());
    }
    parts.join(", ")
}

/// ORD-QUERY: select shows the lines that were ordered, SKU by SKU and unit by unit.
pub fn order_lines(ordered: &Value, select_result: &Value) -> CheckRun {
    let run = |findings| CheckRun::new(ids::ORDER_LINES, &[QUERY_REQ], findings);
    let (Some(ordered), Some(shown)) = (
        units_per_sku(ordered),
        select_result.get("skus").and_then(units_per_sku),
    ) else {
        return CheckRun::not_judged(
            ids::ORDER_LINES,
            &[QUERY_REQ],
            "无法读取订单行 / cannot read the order lines (sku, num) of select",
        );
    };
    if ordered == shown {
        return run(Vec::new());
    }
    run(vec![
        Finding::new(
            ids::ORDER_LINES,
            QUERY_REQ,
            format!(
                "查询到的订单行与下单不符 / select's lines are not the ones ordered: ordered {}, select shows {}",
                describe(&ordered),
                describe(&shown)
            ),
        )
        .at("/result/skus")
        .expected(describe(&ordered))
        .actual(describe(&shown)),
    ])
}

/// LOG-TRACK on a shipped (or delivered) order: at least one waybill, at least one trace entry,
/// and the waybills' items are the order's: once delivered (`complete`) they add up to select's
/// lines in SKU and number; while shipped they may be a part (an order sent in parcels), never
/// a SKU or a unit the order does not have.
pub fn shipment_matches(
    select_result: &Value,
    track_result: &Value,
    state: &str,
    complete: bool,
) -> CheckRun {
    let run = |findings| CheckRun::new(ids::TRACK_SHIPMENT, &[TRACK_REQ], findings);
    let Some(lines) = select_result.get("skus").and_then(units_per_sku) else {
        return CheckRun::not_judged(
            ids::TRACK_SHIPMENT,
            &[TRACK_REQ],
            "无法读取 select 的订单行 / cannot read select's order lines",
        );
    };
    let waybills = track_result
        .get("waybill")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if waybills.is_empty() {
        return run(vec![
            Finding::new(
                ids::TRACK_SHIPMENT,
                TRACK_REQ,
                format!("订单已{state}但物流接口没有运单 / select calls the order {state}, but track has no waybill"),
            )
            .at("/result/waybill")
            .expected("≥ 1 waybill")
            .actual("none"),
        ]);
    }
    let items: Vec<Value> = waybills
        .iter()
        .filter_map(|w| w.get("shipment_items").and_then(Value::as_array))
        .flatten()
        .cloned()
        .collect();
    let Some(shipped) = units_per_sku(&Value::Array(items)) else {
        return CheckRun::not_judged(
            ids::TRACK_SHIPMENT,
            &[TRACK_REQ],
            "无法读取运单商品 / cannot read the waybills' shipment_items (sku, num)",
        );
    };
    let mut findings = Vec::new();
    let within = shipped
        .iter()
        .all(|(sku, num)| lines.get(sku).is_some_and(|ordered| num <= ordered));
    if (complete && shipped != lines) || !within {
        findings.push(
            Finding::new(
                ids::TRACK_SHIPMENT,
                TRACK_REQ,
                format!(
                    "运单商品与订单行不符 / the waybills carry {} but the order's lines are {}",
                    describe(&shipped),
                    describe(&lines)
                ),
            )
            .at("/result/waybill")
            .expected(describe(&lines))
            .actual(describe(&shipped)),
        );
    }
    let traced = track_result
        .get("track")
        .and_then(Value::as_array)
        .is_some_and(|t| !t.is_empty());
    if !traced {
        findings.push(
            Finding::new(
                ids::TRACK_SHIPMENT,
                TRACK_REQ,
                format!("订单已{state}但没有物流轨迹 / select calls the order {state}, but track has no trace entry"),
            )
            .at("/result/track")
            .expected("≥ 1 trace entry")
            .actual("none"),
        );
    }
    run(findings)
}

/// LOG-TRACK: track refused an order that select calls shipped or delivered.
pub fn track_refused(state: &str, why: &str) -> CheckRun {
    CheckRun::new(
        ids::TRACK_SHIPMENT,
        &[TRACK_REQ],
        vec![
            Finding::new(
                ids::TRACK_SHIPMENT,
                TRACK_REQ,
                format!("订单已{state}但物流接口拒绝查询 / select calls the order {state}, but track refused it: {why}"),
            )
            .at("/success"),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn codes() -> LifeCodes {
        LifeCodes {
            path: vec![
                ("new".into(), json!(0)),
                ("shipped".into(), json!(5)),
                ("delivered".into(), json!(1)),
            ],
            cancelled: Some(json!(-2)),
            rejected: Some(json!(-1)),
            delivered_all: Some(json!(1)),
        }
    }

    fn seen(states: &[(i64, i64)]) -> Vec<Sighting> {
        states
            .iter()
            .enumerate()
            .map(|(i, (state, deliver))| Sighting {
                after_ms: i as u64 * 1000,
                state: json!(state),
                deliver_state: Some(json!(deliver)),
            })
            .collect()
    }

    #[test]
    fn a_life_along_the_path_passes_and_a_step_back_fails() {
        let c = codes();
        let until = c.rank_of("delivered").unwrap_or(2);
        let good = order_life(&c, &seen(&[(0, 0), (5, 0), (5, 0), (1, 1)]), until, 4000);
        assert!(good.findings.is_empty() && good.unjudged.is_empty());
        let back = order_life(&c, &seen(&[(0, 0), (1, 1), (5, 0)]), until, 3000);
        assert_eq!(back.findings.len(), 1);
        assert!(back.findings[0].message.contains("went back"));
        let cancelled = order_life(&c, &seen(&[(0, 0), (-2, 0)]), until, 2000);
        assert_eq!(cancelled.findings.len(), 1);
        let stuck = order_life(&c, &seen(&[(5, 0), (5, 1)]), until, 1000);
        assert!(
            stuck.findings[0].message.contains("still shipped (5)"),
            "{}",
            stuck.findings[0].message
        );
        let partial = order_life(&c, &seen(&[(1, 2)]), until, 1000);
        assert_eq!(
            partial.findings[0].pointer.as_deref(),
            Some("/result/deliver_state")
        );
    }

    #[test]
    fn a_wait_that_ran_out_is_not_judged_with_the_time_waited() {
        let c = codes();
        let run = order_life(&c, &seen(&[(0, 0), (5, 0)]), 2, 300_000);
        assert!(run.findings.is_empty());
        assert_eq!(run.unjudged.len(), 1);
        assert!(
            run.unjudged[0].reason.contains("within 300 s"),
            "{}",
            run.unjudged[0].reason
        );
        assert!(run.unjudged[0].reason.contains("shipped (5)"));
        let rejected = order_life(&c, &seen(&[(0, 0), (-1, 0)]), 2, 1000);
        assert!(rejected.findings.is_empty() && rejected.unjudged.len() == 1);
        // String codes are the same states as numbers.
        let text = vec![Sighting {
            after_ms: 0,
            state: json!("1"),
            deliver_state: Some(json!("1")),
        }];
        assert!(order_life(&c, &text, 2, 0).unjudged.is_empty());
    }

    #[test]
    fn select_lines_are_the_ordered_ones() {
        let ordered = json!([{"sku": "A", "num": 1}]);
        assert!(
            order_lines(
                &ordered,
                &json!({"skus": [{"sku": "A", "num": 1, "price": 3}]})
            )
            .findings
            .is_empty()
        );
        let wrong = order_lines(
            &ordered,
            &json!({"skus": [{"sku": "A", "num": 2, "price": 3}]}),
        );
        assert_eq!(wrong.findings[0].actual.as_deref(), Some("A×2"));
        assert_eq!(
            order_lines(&ordered, &json!({"skus": "x"})).unjudged.len(),
            1
        );
    }

    #[test]
    fn a_shipped_order_has_a_waybill_with_its_lines() {
        let select = json!({"skus": [{"sku": "A", "num": 2}, {"sku": "B", "num": 1}]});
        let split = json!({"waybill": [
            {"shipment_items": [{"sku": "A", "num": 1}, {"sku": "B", "num": 1}]},
            {"shipment_items": [{"sku": "A", "num": 1}]}],
            "track": [{"content": "出库"}]});
        assert!(
            shipment_matches(&select, &split, "shipped", true)
                .findings
                .is_empty()
        );
        let none = shipment_matches(
            &select,
            &json!({"waybill": [], "track": []}),
            "shipped",
            false,
        );
        assert_eq!(none.findings.len(), 1);
        assert!(none.findings[0].message.contains("no waybill"));
        let short =
            json!({"waybill": [{"shipment_items": [{"sku": "A", "num": 2}]}], "track": [{}]});
        let run = shipment_matches(&select, &short, "delivered", true);
        assert_eq!(run.findings[0].expected.as_deref(), Some("A×2, B×1"));
        // While shipped, a first parcel is no finding; a unit the order lacks is.
        assert!(
            shipment_matches(&select, &short, "shipped", false)
                .findings
                .is_empty()
        );
        let extra =
            json!({"waybill": [{"shipment_items": [{"sku": "C", "num": 1}]}], "track": [{}]});
        assert_eq!(
            shipment_matches(&select, &extra, "shipped", false)
                .findings
                .len(),
            1
        );
        let untraced = json!({"waybill": [{"shipment_items": [{"sku": "A", "num": 2}, {"sku": "B", "num": 1}]}]});
        assert_eq!(
            shipment_matches(&select, &untraced, "shipped", true)
                .findings
                .len(),
            1
        );
    }
}
