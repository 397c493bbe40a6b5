//! PRC-NOT-ABOVE-MARKET: the agreement price (协议价) is not above the market price (市场价),
//! compared as exact decimals.

use serde_json::Value;

use super::{CheckRun, Finding, Findings, decimal_of, ids, walk};

const RULE_REQ: &str = "PRC-NOT-ABOVE-MARKET";

pub(crate) fn price_rule(result: &Value) -> CheckRun {
    let mut findings = Findings::default();
    for (pointer, item) in walk::select(result, "/result", "/*") {
        // A pair that cannot be read cannot be compared: that breaks the rule, it is no pass.
        let (price, market) = match (
            item.get("price").and_then(decimal_of),
            item.get("market_price").and_then(decimal_of),
        ) {
            (Some(price), Some(market)) => (price, market),
            (price, _) => {
                let (field, value) = if price.is_none() {
                    ("price", item.get("price"))
                } else {
                    ("market_price", item.get("market_price"))
                };
                let sku = walk::sku_of(item);
                findings.push(
                    Finding::new(
                        ids::PRICE_RULE,
                        RULE_REQ,
                        format!(
                            "无法读取价格，不能比较协议价与市场价 / sku {sku}: {field} is missing or not an exact decimal, so the agreement price cannot be compared with the market price"
                        ),
                    )
                    .at(walk::child(&pointer, field))
                    .expected("一个不超过两位小数的数 / a decimal amount")
                    .actual(value.map(walk::text).unwrap_or_else(|| super::MISSING.into())),
                );
                continue;
            }
        };
        if price > market {
            let sku = walk::sku_of(item);
            findings.push(
                Finding::new(
                    ids::PRICE_RULE,
                    RULE_REQ,
                    format!(
                        "协议价高于市场价 / agreement price above market price: sku {sku} price {price} > market_price {market}"
                    ),
                )
                .at(walk::child(&pointer, "price"))
                .expected(format!("≤ {market}"))
                .actual(price.to_string()),
            );
        }
    }
    CheckRun::new(ids::PRICE_RULE, &[RULE_REQ], findings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::*;
    use serde_json::json;

    #[test]
    fn equal_and_lower_prices_pass() {
        let body = r#"{"success":true,"result":[{"sku":"1","price":10.00,"market_price":10},{"sku":"2","price":9.99,"market_price":10.00}]}"#;
        let runs = run_body("prices", body.as_bytes(), json!({"sku": "1,2"}));
        passes(&runs, ids::PRICE_RULE);
    }

    #[test]
    fn a_cent_above_fails_exactly() {
        let body = r#"{"success":true,"result":[{"sku":"1","price":1,"market_price":1},{"sku":"100001","price":12.50,"market_price":10.00}]}"#;
        let runs = run_body("prices", body.as_bytes(), json!({"sku": "1,100001"}));
        let f = one(
            &runs,
            ids::PRICE_RULE,
            "PRC-NOT-ABOVE-MARKET",
            "/result/1/price",
        );
        assert!(
            f.message
                .contains("sku 100001 price 12.50 > market_price 10.00"),
            "{}",
            f.message
        );
        // Floats would call 0.1 + 0.2 style values equal; decimals do not.
        let body = r#"{"success":true,"result":[{"sku":"1","price":10.000000000000001,"market_price":10}]}"#;
        let runs = run_body("prices", body.as_bytes(), json!({"sku": "1"}));
        one(
            &runs,
            ids::PRICE_RULE,
            "PRC-NOT-ABOVE-MARKET",
            "/result/0/price",
        );
    }

    #[test]
    fn a_pair_that_cannot_be_read_fails_the_rule() {
        for item in [
            json!({"sku": "1", "price": 12}),
            serde_json::from_str(r#"{"sku": "1", "price": 12, "market_price": 1e400}"#)
                .unwrap_or(Value::Null),
            json!({"sku": "1", "price": "abc", "market_price": 10}),
        ] {
            let runs = run_result("prices", json!([item]), json!({"sku": "1"}));
            let f = &findings_of(&runs, ids::PRICE_RULE)[0];
            assert_eq!(f.requirement, "PRC-NOT-ABOVE-MARKET");
        }
    }

    #[test]
    fn string_prices_are_compared_too() {
        let result = json!([{"sku": "1", "price": "30", "market_price": "20"}]);
        let runs = run_result("prices", result, json!({"sku": "1"}));
        one(
            &runs,
            ids::PRICE_RULE,
            "PRC-NOT-ABOVE-MARKET",
            "/result/0/price",
        );
    }
}
