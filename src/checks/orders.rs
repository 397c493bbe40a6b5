//! X-ORDER-TOTAL: an order's total is Σ price × num of its lines, plus freight, in exact
//! decimals.

use rust_decimal::Decimal;
use serde_json::Value;

use super::{CheckRun, Finding, Findings, decimal_of, ids};

const TOTAL_REQ: &str = "X-ORDER-TOTAL";

/// The member holding the order lines of each interface that answers an order.
fn lines_member(interface_id: &str) -> Option<&'static str> {
    match interface_id {
        "submit" => Some("sku"),
        "select" => Some("skus"),
        _ => None,
    }
}

pub(crate) fn order_total(interface_id: &str, result: &Value) -> Option<CheckRun> {
    let member = lines_member(interface_id)?;
    let run = |findings| Some(CheckRun::new(ids::ORDER_TOTAL, &[TOTAL_REQ], findings));
    // Without a readable total or lines there is nothing to add up (schema and money report
    // why); the total is then not judged, which is no pass.
    let unreadable = |what: &str| {
        Some(CheckRun::not_judged(
            ids::ORDER_TOTAL,
            &[TOTAL_REQ],
            format!("无法读取 / cannot read {what}"),
        ))
    };
    let (Some(total), Some(Value::Array(lines))) = (
        result.get("order_price").and_then(decimal_of),
        result.get(member),
    ) else {
        return unreadable(&format!("order_price or the lines ({member})"));
    };
    let freight = match result.get("freight") {
        None | Some(Value::Null) => Decimal::ZERO,
        Some(value) => match decimal_of(value) {
            Some(freight) => freight,
            None => return unreadable("freight"),
        },
    };
    let mut sum = freight;
    let mut terms = Vec::new();
    for line in lines {
        let (Some(price), Some(num)) = (
            line.get("price").and_then(decimal_of),
            line.get("num").and_then(decimal_of),
        ) else {
            return unreadable("the price or num of a line");
        };
        let Some(next) = price.checked_mul(num).and_then(|t| sum.checked_add(t)) else {
            return run(vec![
                Finding::new(
                    ids::ORDER_TOTAL,
                    TOTAL_REQ,
                    format!(
                        "订单行合计溢出 / the sum of the order lines overflows: order_price {total}"
                    ),
                )
                .at("/result/order_price"),
            ]);
        };
        sum = next;
        if terms.len() < 10 {
            terms.push(format!("{price}×{num}"));
        }
    }
    if sum == total {
        return run(Vec::new());
    }
    let mut formula = terms.join(" + ");
    if lines.len() > terms.len() {
        formula.push_str(" + …");
    }
    if formula.is_empty() {
        formula.push('0');
    }
    run(vec![
        Finding::new(
            ids::ORDER_TOTAL,
            TOTAL_REQ,
            format!(
                "订单总价与明细不符 / order total does not match its lines: order_price {total} ≠ Σ price×num + freight = {formula} + {freight} = {sum}"
            ),
        )
        .at("/result/order_price")
        .expected(sum.to_string())
        .actual(total.to_string()),
    ])
}

const LOCK_REQ: &str = "ORD-LOCK-STOCK";

/// ORD-LOCK-STOCK under concurrency: of `attempts` one-unit pre-orders sent at once on a SKU with
/// `stock` units, no more than `stock` may be accepted.
pub fn oversell(attempts: u64, stock: u64, accepted: u64) -> CheckRun {
    let findings = if accepted > stock {
        vec![
            Finding::new(
                ids::CONCURRENT_PREORDERS,
                LOCK_REQ,
                format!(
                    "并发预下单超卖 / oversold under concurrency: {attempts} pre-orders of 1 unit sent at once on a stock of {stock}, {accepted} accepted"
                ),
            )
            .expected(format!("≤ {stock} accepted"))
            .actual(format!("{accepted} accepted")),
        ]
    } else {
        Vec::new()
    };
    CheckRun::new(ids::CONCURRENT_PREORDERS, &[LOCK_REQ], findings)
}

/// ORD-LOCK-STOCK as the mall sees it: the stock shown drops by the `k` units a pre-order
/// locks, and comes back when the pre-order is cancelled. `None`: a stock that could not be read.
pub fn stock_follows_lock(
    sku: &str,
    before: Option<i64>,
    locked: Option<i64>,
    released: Option<i64>,
    k: i64,
) -> CheckRun {
    let (Some(before), Some(locked), Some(released)) = (before, locked, released) else {
        return CheckRun::not_judged(
            ids::STOCK_FOLLOWS_LOCK,
            &[LOCK_REQ],
            format!(
                "无法读取库存数量 / the stock of {sku} could not be read before and after the pre-order"
            ),
        );
    };
    let mut findings = Findings::default();
    // In i128: a supplier's stock may be i64::MIN, and `before - k` must not overflow.
    let expected = i128::from(before) - i128::from(k);
    if i128::from(locked) != expected {
        findings.push(
            Finding::new(
                ids::STOCK_FOLLOWS_LOCK,
                LOCK_REQ,
                format!(
                    "预下单未锁定库存 / a pre-order of {k} unit(s) of {sku} did not lock them: stock {before} before, {locked} after"
                ),
            )
            .expected(expected.to_string())
            .actual(locked.to_string()),
        );
    }
    if released != before {
        findings.push(
            Finding::new(
                ids::STOCK_FOLLOWS_LOCK,
                LOCK_REQ,
                format!(
                    "取消预下单未释放库存 / cancelling the pre-order of {sku} did not release its units: stock {before} before, {released} after the cancel"
                ),
            )
            .expected(before.to_string())
            .actual(released.to_string()),
        );
    }
    CheckRun::new(ids::STOCK_FOLLOWS_LOCK, &[LOCK_REQ], findings)
}

/// ORD-LOCK-STOCK on the last units: once pre-orders hold all `stock` units of a SKU, one more
/// pre-order of it is refused.
pub fn sold_out_refused(sku: &str, stock: i64, extra_accepted: bool) -> CheckRun {
    let findings = if extra_accepted {
        vec![
            Finding::new(
                ids::SOLD_OUT_REFUSED,
                LOCK_REQ,
                format!(
                    "库存已被预下单占满仍可下单 / all {stock} unit(s) of {sku} were held by a pre-order, and one more was still accepted"
                ),
            )
            .at("/success")
            .expected("false (refused)")
            .actual("true"),
        ]
    } else {
        Vec::new()
    };
    CheckRun::new(ids::SOLD_OUT_REFUSED, &[LOCK_REQ], findings)
}

/// The requirements a transition of the order's life (`[[order_life]]`) may be judged against.
pub const TRANSITION_REQUIREMENTS: &[&str] = &[
    "ORD-CONFIRM",
    "ORD-CANCEL",
    "ORD-NO-CANCEL-AFTER-CONFIRM",
    "ORD-NO-CONFIRM-AFTER-CANCEL",
    "ORD-QUERY",
    "LOG-TRACK",
];

/// One transition of the order's life: what the supplier answered (`accepted`: `success`, or
/// `None` when no readable answer came) against what the profile expects.
pub fn order_transition(
    transition: &crate::profile::Transition,
    accepted: Option<bool>,
    desc: &str,
) -> CheckRun {
    use crate::profile::Outcome;
    let name = format!("{} --{}-->", transition.from, transition.action);
    let Some(requirement) = transition.requirement.as_deref() else {
        // The standard is silent: recorded in the transition table, judged nowhere.
        return CheckRun::new(ids::ORDER_TRANSITION, &[], Vec::new());
    };
    let Some(accepted) = accepted else {
        return CheckRun::not_judged(
            ids::ORDER_TRANSITION,
            &[requirement],
            format!("{name}: 没有可读的答复 / no readable answer"),
        );
    };
    let wrong = match transition.expect {
        Outcome::Accept => !accepted,
        Outcome::Refuse => accepted,
        Outcome::Either => false,
    };
    let findings = if wrong {
        let seen = if accepted { "accepted" } else { "refused" };
        vec![Finding::new(
            ids::ORDER_TRANSITION,
            requirement,
            format!(
                "订单状态转换 / order transition {name}: expected {}, the supplier {seen} (desc = {:?})",
                transition.expect.as_str(),
                crate::excerpt::shorten(desc, 200)
            ),
        )
        .expected(transition.expect.as_str())
        .actual(seen)]
    } else {
        Vec::new()
    };
    CheckRun::new(ids::ORDER_TRANSITION, &[requirement], findings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::*;
    use serde_json::json;

    fn select_result(order_price: Value, freight: Value) -> Value {
        json!({"order_id": "S1", "yggc_order": "Y1", "state": 0, "submit_state": 0, "deliver_state": 0,
            "order_price": order_price, "freight": freight,
            "skus": [{"sku": "100012345", "num": 2, "price": 4599.00}, {"sku": "100012347", "num": 10, "price": 19.99}]})
    }

    #[test]
    fn stock_drops_by_the_lock_and_comes_back() {
        assert!(
            stock_follows_lock("A", Some(5), Some(3), Some(5), 2)
                .findings
                .is_empty()
        );
        let unlocked = stock_follows_lock("A", Some(5), Some(5), Some(5), 2);
        assert_eq!(unlocked.findings.len(), 1);
        assert_eq!(unlocked.findings[0].expected.as_deref(), Some("3"));
        let kept = stock_follows_lock("A", Some(5), Some(3), Some(3), 2);
        assert!(kept.findings[0].message.contains("did not release"));
        assert_eq!(
            stock_follows_lock("A", None, Some(3), Some(5), 2)
                .unjudged
                .len(),
            1
        );
        assert!(sold_out_refused("A", 4, false).findings.is_empty());
        assert_eq!(sold_out_refused("A", 4, true).findings.len(), 1);
    }

    #[test]
    fn more_accepted_than_stock_is_an_oversell() {
        assert!(oversell(8, 3, 3).findings.is_empty());
        let run = oversell(8, 3, 4);
        assert_eq!(run.findings.len(), 1);
        assert_eq!(run.findings[0].requirement, "ORD-LOCK-STOCK");
    }

    #[test]
    fn matching_total_passes() {
        let body = r#"{"success":true,"result":{"order_id":"S1","yggc_order":"Y1","state":0,"submit_state":0,"deliver_state":0,"order_price":9397.90,"freight":0.00,"skus":[{"sku":"100012345","num":2,"price":4599.00},{"sku":"100012347","num":10,"price":19.99}]}}"#;
        let runs = run_body("select", body.as_bytes(), json!({"order_id": "S1"}));
        passes(&runs, ids::ORDER_TOTAL);
        let runs = run_result(
            "select",
            select_result(json!("9407.90"), json!(10)),
            json!({}),
        );
        passes(&runs, ids::ORDER_TOTAL);
    }

    #[test]
    fn wrong_total_fails_with_the_sum() {
        let runs = run_result("select", select_result(json!(9397.91), json!(0)), json!({}));
        let f = one(
            &runs,
            ids::ORDER_TOTAL,
            "X-ORDER-TOTAL",
            "/result/order_price",
        );
        assert_eq!(f.expected.as_deref(), Some("9397.90"));
        assert!(f.message.contains("4599.0×2 + 19.99×10"), "{}", f.message);
    }

    #[test]
    fn freight_is_added_on_submit() {
        let result = json!({"order_id": "S1", "yggc_order": "Y1", "order_price": 100, "freight": 5,
            "sku": [{"sku": "1", "num": 1, "price": 100}]});
        let runs = run_result("submit", result, json!({}));
        let f = one(
            &runs,
            ids::ORDER_TOTAL,
            "X-ORDER-TOTAL",
            "/result/order_price",
        );
        assert_eq!(f.expected.as_deref(), Some("105"));
    }

    #[test]
    fn overflowing_lines_are_a_finding_not_a_panic() {
        let result = json!({"order_id": "S1", "yggc_order": "Y1", "order_price": 1, "freight": 0,
            "sku": [{"sku": "1", "num": 79228162514264337593543950335u128, "price": 99999}]});
        let runs = run_result("submit", result, json!({}));
        let f = one(
            &runs,
            ids::ORDER_TOTAL,
            "X-ORDER-TOTAL",
            "/result/order_price",
        );
        assert!(f.message.contains("overflows"), "{}", f.message);
    }
}
