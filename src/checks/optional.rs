//! The optional (非必需) interfaces: ratings, tiered rates, offers and reconciliation, and the
//! offer prices the runner compares with agreement prices (X-OFFER-BELOW-AGREEMENT).

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde_json::Value;

use super::{CheckRun, Finding, Findings, decimal_of, ids, walk};
use crate::profile::Profile;

const COMMENTS_REQ: &str = "OPT-COMMENTS";
const TIERED_REQ: &str = "OPT-TIERED";
const GROUP_BUY_REQ: &str = "OPT-GROUP-BUY";
const SPECIAL_REQ: &str = "OPT-SPECIAL";
const RECONCILE_REQ: &str = "OPT-RECONCILE";
const OFFER_REQ: &str = "X-OFFER-BELOW-AGREEMENT";

/// average in 0..=5; good, medium, bad in 0..=1 and summing to 1 within 0.01.
pub(crate) fn ratings(result: &Value) -> CheckRun {
    let mut findings = Findings::default();
    let five = Decimal::from(5);
    let one = Decimal::ONE;
    let tolerance = Decimal::new(1, 2);
    for (pointer, item) in walk::select(result, "/result", "/*") {
        let sku = walk::sku_of(item);
        let mut range = |member: &str, max: Decimal| -> Option<Decimal> {
            let value = item.get(member)?;
            let number = decimal_of(value);
            if number.is_none_or(|n| n < Decimal::ZERO || n > max) {
                findings.push(
                    Finding::new(
                        ids::RATINGS,
                        COMMENTS_REQ,
                        format!(
                            "评价数值超出范围 / rating out of range: sku {sku} {member} {} not in 0..{max}",
                            walk::text(value)
                        ),
                    )
                    .at(walk::child(&pointer, member))
                    .expected(format!("0 ≤ {member} ≤ {max}"))
                    .actual(walk::text(value)),
                );
            }
            number
        };
        range("average", five);
        let rates = [range("good", one), range("medium", one), range("bad", one)];
        if let [Some(good), Some(medium), Some(bad)] = rates {
            let sum = good + medium + bad;
            // A SKU nobody has rated yet has no rates at all: 0 + 0 + 0 is right for it.
            if !sum.is_zero() && (sum - one).abs() > tolerance {
                findings.push(
                    Finding::new(
                        ids::RATINGS,
                        COMMENTS_REQ,
                        format!(
                            "好评、中评、差评率之和不为 1 / good + medium + bad rates do not sum to 1: sku {sku} {good} + {medium} + {bad} = {sum}"
                        ),
                    )
                    .at(walk::child(&pointer, "good"))
                    .expected("1 ± 0.01")
                    .actual(sum.to_string()),
                );
            }
        }
    }
    CheckRun::new(ids::RATINGS, &[COMMENTS_REQ], findings)
}

/// Per SKU: min_num strictly ascending, rate in (0, 1].
pub(crate) fn tiers(result: &Value) -> CheckRun {
    let mut findings = Findings::default();
    for (pointer, item) in walk::select(result, "/result", "/*") {
        let sku = walk::sku_of(item);
        let mut previous: Option<Decimal> = None;
        for (tier_pointer, tier) in walk::select(item, &pointer, "/tiers/*") {
            if let Some(min_num) = tier.get("min_num").and_then(decimal_of) {
                if let Some(before) = previous.filter(|before| min_num <= *before) {
                    findings.push(
                        Finding::new(
                            ids::TIERS,
                            TIERED_REQ,
                            format!(
                                "阶梯起订量未严格递增 / tiers not strictly ascending: sku {sku} min_num {min_num} after {before}"
                            ),
                        )
                        .at(walk::child(&tier_pointer, "min_num"))
                        .expected(format!("> {before}"))
                        .actual(min_num.to_string()),
                    );
                }
                previous = Some(min_num);
            }
            if let Some(value) = tier.get("rate") {
                let ok = decimal_of(value).is_some_and(|r| r > Decimal::ZERO && r <= Decimal::ONE);
                if !ok {
                    findings.push(
                        Finding::new(
                            ids::TIERS,
                            TIERED_REQ,
                            format!(
                                "优惠率超出 (0, 1] / rate not in (0, 1]: sku {sku} rate {}",
                                walk::text(value)
                            ),
                        )
                        .at(walk::child(&tier_pointer, "rate"))
                        .expected("0 < rate ≤ 1")
                        .actual(walk::text(value)),
                    );
                }
            }
        }
    }
    CheckRun::new(ids::TIERS, &[TIERED_REQ], findings)
}

/// start_time before end_time; a positive quantity on group buys.
pub(crate) fn offer_dates(profile: &Profile, interface_id: &str, result: &Value) -> CheckRun {
    let (requirement, group_buy) = if interface_id == "group_buys" {
        (GROUP_BUY_REQ, true)
    } else {
        (SPECIAL_REQ, false)
    };
    let format = profile.settings.timestamp_format.as_str();
    let time = |item: &Value, member: &str| {
        item.get(member)
            .and_then(Value::as_str)
            .and_then(|t| NaiveDateTime::parse_from_str(t, format).ok())
    };
    let mut findings = Findings::default();
    for (pointer, item) in walk::select(result, "/result", "/*") {
        let sku = walk::sku_of(item);
        // Unparsable times are the schema's to report (datetime pattern).
        if let (Some(start), Some(end)) = (time(item, "start_time"), time(item, "end_time"))
            && start >= end
        {
            findings.push(
                Finding::new(
                    ids::OFFER_DATES,
                    requirement,
                    format!(
                        "活动开始时间不早于结束时间 / offer starts no earlier than it ends: sku {sku} start_time {} ≥ end_time {}",
                        start.format(format),
                        end.format(format)
                    ),
                )
                .at(walk::child(&pointer, "end_time"))
                .expected(format!("> {}", start.format(format)))
                .actual(end.format(format).to_string()),
            );
        }
        if group_buy
            && let Some(value) = item.get("num")
            && decimal_of(value).is_none_or(|n| n <= Decimal::ZERO)
        {
            findings.push(
                Finding::new(
                    ids::OFFER_DATES,
                    requirement,
                    format!(
                        "团购数量必须大于 0 / group-buy quantity must be > 0: sku {sku} num {}",
                        walk::text(value)
                    ),
                )
                .at(walk::child(&pointer, "num"))
                .expected("> 0")
                .actual(walk::text(value)),
            );
        }
    }
    CheckRun::new(ids::OFFER_DATES, &[requirement], findings)
}

/// count == number of orders; amount == Σ order_price.
pub(crate) fn reconcile_sums(result: &Value) -> CheckRun {
    let mut findings = Findings::default();
    if let Some(Value::Array(orders)) = result.get("orders") {
        if let Some(count) = result.get("count")
            && decimal_of(count) != Some(Decimal::from(orders.len()))
        {
            findings.push(
                Finding::new(
                    ids::RECONCILE_SUMS,
                    RECONCILE_REQ,
                    format!(
                        "对账订单数与列表不符 / count does not match the orders listed: count {} ≠ {} orders",
                        walk::text(count),
                        orders.len()
                    ),
                )
                .at("/result/count")
                .expected(orders.len().to_string())
                .actual(walk::text(count)),
            );
        }
        let sum = orders.iter().try_fold(Decimal::ZERO, |sum, order| {
            order
                .get("order_price")
                .and_then(decimal_of)
                .and_then(|price| sum.checked_add(price))
        });
        // An unreadable order price is the schema's to report: no sum to compare then.
        if let (Some(sum), Some(amount)) = (sum, result.get("amount"))
            && decimal_of(amount) != Some(sum)
        {
            findings.push(
                Finding::new(
                    ids::RECONCILE_SUMS,
                    RECONCILE_REQ,
                    format!(
                        "对账金额与订单金额之和不符 / amount does not equal the sum of order prices: amount {} ≠ Σ order_price {sum}",
                        walk::text(amount)
                    ),
                )
                .at("/result/amount")
                .expected(sum.to_string())
                .actual(walk::text(amount)),
            );
        }
    }
    CheckRun::new(ids::RECONCILE_SUMS, &[RECONCILE_REQ], findings)
}

/// The offer prices of the `result` of a group-buy or special-offer answer: (pointer, sku,
/// price), for the runner to compare with agreement prices through [`judge_offer`]. Unreadable
/// prices are left out (the money and schema checks report them).
pub fn offer_prices(result: &Value) -> Vec<(String, String, Decimal)> {
    walk::select(result, "/result", "/*")
        .into_iter()
        .filter_map(|(pointer, item)| {
            let sku = item.get("sku").and_then(walk::key_text)?;
            let price = item.get("price").and_then(decimal_of)?;
            Some((walk::child(&pointer, "price"), sku, price))
        })
        .collect()
}

/// X-OFFER-BELOW-AGREEMENT over offers (from [`offer_prices`]) and the agreement prices the
/// prices interface answered for their SKUs. No offers: nothing to judge.
pub fn offers_below_agreement(
    offers: &[(String, String, Decimal)],
    agreement: &std::collections::BTreeMap<String, Decimal>,
) -> CheckRun {
    if offers.is_empty() {
        return CheckRun::not_judged(
            ids::OFFER_PRICE,
            &[OFFER_REQ],
            "没有优惠商品 / no offers to compare",
        );
    }
    let mut findings = Findings::default();
    for (pointer, sku, offer) in offers {
        match agreement.get(sku) {
            Some(price) => findings.extend(judge_offer(pointer, sku, *offer, *price)),
            // An offer on a SKU without an agreement price cannot be bought at a checked price.
            None => findings.push(Finding::new(
                ids::OFFER_PRICE,
                OFFER_REQ,
                format!("优惠商品没有协议价 / offer on sku {sku} has no agreement price in the prices interface"),
            ).at(pointer.clone())),
        }
    }
    CheckRun::new(ids::OFFER_PRICE, &[OFFER_REQ], findings)
}

/// The agreement prices of a prices answer (logical names), by SKU.
pub fn agreement_prices(result: &Value) -> Vec<(String, Decimal)> {
    walk::select(result, "/result", "/*")
        .into_iter()
        .filter_map(|(_, item)| {
            let sku = item.get("sku").and_then(walk::key_text)?;
            let price = item.get("price").and_then(decimal_of)?;
            Some((sku, price))
        })
        .collect()
}

/// An offer above the agreement price (协议价) breaks X-OFFER-BELOW-AGREEMENT.
fn judge_offer(pointer: &str, sku: &str, offer: Decimal, agreement: Decimal) -> Option<Finding> {
    (offer > agreement).then(|| {
        Finding::new(
            ids::OFFER_PRICE,
            OFFER_REQ,
            format!(
                "优惠价高于协议价 / offer price above the agreement price: sku {sku} offer {offer} > agreement price {agreement}"
            ),
        )
        .at(pointer)
        .expected(format!("≤ {agreement}"))
        .actual(offer.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::*;
    use serde_json::json;

    #[test]
    fn ratings_in_range_pass() {
        let runs = run_result(
            "ratings",
            json!([{"sku": "1", "average": 4.8, "good": 0.96, "medium": 0.03, "bad": 0.01}]),
            json!({"sku": "1"}),
        );
        passes(&runs, ids::RATINGS);
    }

    #[test]
    fn ratings_out_of_range_or_not_summing_fail() {
        let runs = run_result(
            "ratings",
            json!([{"sku": "1", "average": 5.5, "good": 0.5, "medium": 0.3, "bad": 0.1}]),
            json!({"sku": "1"}),
        );
        let f = one(&runs, ids::RATINGS, "OPT-COMMENTS", "/result/0/average");
        assert!(f.message.contains("sku 1 average 5.5"), "{}", f.message);
        let f = one(&runs, ids::RATINGS, "OPT-COMMENTS", "/result/0/good");
        assert!(f.message.contains("= 0.9"), "{}", f.message);
        let runs = run_result(
            "ratings",
            json!([{"sku": "1", "average": 4, "good": 1.2, "medium": 0, "bad": 0}]),
            json!({"sku": "1"}),
        );
        assert_eq!(findings_of(&runs, ids::RATINGS).len(), 2);
    }

    #[test]
    fn tiers_ascending_pass_and_descending_fail() {
        let ok = json!([{"sku": "7", "tiers": [{"min_num": 10, "rate": 0.98}, {"min_num": 50, "rate": 1}]}]);
        passes(&run_result("tiered_rates", ok, json!({})), ids::TIERS);
        let bad = json!([{"sku": "7", "tiers": [{"min_num": 50, "rate": 0.98}, {"min_num": 50, "rate": 0}]}]);
        let runs = run_result("tiered_rates", bad, json!({}));
        let f = one(&runs, ids::TIERS, "OPT-TIERED", "/result/0/tiers/1/min_num");
        assert!(
            f.message.contains("sku 7 min_num 50 after 50"),
            "{}",
            f.message
        );
        one(&runs, ids::TIERS, "OPT-TIERED", "/result/0/tiers/1/rate");
    }

    fn offer(start: &str, end: &str, num: i64) -> Value {
        json!([{"id": "TG1", "sku": "1", "price": 10, "num": num, "apply_date": "2025-05-20",
            "start_time": start, "end_time": end}])
    }

    #[test]
    fn offer_dates_in_order_pass() {
        let runs = run_result(
            "group_buys",
            offer("2025-06-01 00:00:00", "2025-06-30 23:59:59", 50),
            json!({}),
        );
        passes(&runs, ids::OFFER_DATES);
        assert_eq!(
            run_of(&runs, ids::OFFER_DATES).requirements,
            vec!["OPT-GROUP-BUY"]
        );
    }

    #[test]
    fn reversed_dates_and_zero_quantity_fail() {
        let runs = run_result(
            "group_buys",
            offer("2025-06-30 00:00:00", "2025-06-01 00:00:00", 0),
            json!({}),
        );
        one(
            &runs,
            ids::OFFER_DATES,
            "OPT-GROUP-BUY",
            "/result/0/end_time",
        );
        one(&runs, ids::OFFER_DATES, "OPT-GROUP-BUY", "/result/0/num");
        let mut special = offer("2025-06-01 00:00:00", "2025-06-01 00:00:00", 1);
        special[0].as_object_mut().map(|o| o.remove("num"));
        let runs = run_result("specials", special, json!({}));
        one(&runs, ids::OFFER_DATES, "OPT-SPECIAL", "/result/0/end_time");
    }

    #[test]
    fn reconcile_sums_pass_and_fail() {
        let ok = json!({"orders": [{"order_id": "1", "state": 1, "invoice_state": 1, "order_price": 9397.90},
            {"order_id": "2", "state": 5, "invoice_state": 0, "order_price": 5999.00}], "count": 2, "amount": 15396.90});
        passes(
            &run_result("reconcile", ok.clone(), json!({})),
            ids::RECONCILE_SUMS,
        );
        let mut bad = ok;
        bad["count"] = json!(3);
        bad["amount"] = json!(15396.91);
        let runs = run_result("reconcile", bad, json!({}));
        one(&runs, ids::RECONCILE_SUMS, "OPT-RECONCILE", "/result/count");
        let f = one(
            &runs,
            ids::RECONCILE_SUMS,
            "OPT-RECONCILE",
            "/result/amount",
        );
        // json! goes through f64: 9397.90 + 5999.00 is written 15396.9.
        assert_eq!(f.expected.as_deref(), Some("15396.9"));
    }

    #[test]
    fn offer_prices_and_judgement() {
        let prices = offer_prices(&offer("2025-06-01 00:00:00", "2025-06-30 23:59:59", 5));
        assert_eq!(
            prices,
            vec![(
                "/result/0/price".to_string(),
                "1".to_string(),
                Decimal::from(10)
            )]
        );
        assert!(
            judge_offer("/result/0/price", "1", Decimal::from(10), Decimal::from(10)).is_none()
        );
        let f = judge_offer(
            "/result/0/price",
            "1",
            Decimal::new(1001, 2),
            Decimal::from(10),
        )
        .expect("finding");
        assert_eq!(f.requirement, "X-OFFER-BELOW-AGREEMENT");
        assert_eq!(f.pointer.as_deref(), Some("/result/0/price"));
        assert!(
            f.message.contains("offer 10.01 > agreement price 10"),
            "{}",
            f.message
        );
    }
}
