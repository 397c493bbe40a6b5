//! Exact decimals from the number's own text, and PRC-MONEY: amounts are positive (freight may
//! be zero) with at most two decimal places.

use rust_decimal::Decimal;
use serde_json::Value;

use super::{CheckRun, Finding, Findings, ids, walk};

const MONEY_REQ: &str = "PRC-MONEY";

/// The exact decimal of a JSON number (from the text the supplier sent) or of a numeric string;
/// `None` for anything else, for texts out of range (1e400) or with more digits than a
/// `Decimal` holds exactly.
pub fn decimal_of(value: &Value) -> Option<Decimal> {
    match value {
        Value::Number(n) => decimal_of_text(n.as_str()),
        Value::String(s) => decimal_of_text(s),
        _ => None,
    }
}

/// Parses a JSON-number-shaped text exactly (no rounding, no underscores, no spaces).
pub(crate) fn decimal_of_text(text: &str) -> Option<Decimal> {
    if !is_json_number(text) {
        return None;
    }
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    };
    let mut value = Decimal::from_str_exact(mantissa).ok()?;
    let Some(exponent) = exponent else {
        return Some(value);
    };
    let exponent: i64 = exponent.parse().ok()?;
    let scale = i64::from(value.scale());
    if exponent <= scale {
        // Shifting the point left (or back): a larger scale, same digits.
        let new_scale = u32::try_from(scale - exponent).ok()?;
        if new_scale > Decimal::MAX_SCALE {
            return None;
        }
        value.set_scale(new_scale).ok()?;
        Some(value)
    } else {
        value.set_scale(0).ok()?;
        let mut shift = exponent - scale;
        // Anything beyond 10^28 overflows a Decimal anyway.
        if shift > 30 {
            return None;
        }
        while shift > 0 {
            value = value.checked_mul(Decimal::TEN)?;
            shift -= 1;
        }
        Some(value)
    }
}

/// JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
fn is_json_number(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let int_start = i;
    let int_len = digits(&mut i);
    if int_len == 0 || (int_len > 1 && b[int_start] == b'0') {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// What an amount must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Amount {
    /// > 0: prices, totals.
    Positive,
    /// ≥ 0: freight.
    ZeroOrMore,
}

/// The amounts of each interface: (interface, items pattern, member, kind).
const MONEY_FIELDS: &[(&str, &str, &str, Amount)] = &[
    ("prices", "/*", "price", Amount::Positive),
    ("prices", "/*", "market_price", Amount::Positive),
    ("submit", "", "order_price", Amount::Positive),
    ("submit", "", "freight", Amount::ZeroOrMore),
    ("submit", "/sku/*", "price", Amount::Positive),
    ("select", "", "order_price", Amount::Positive),
    ("select", "", "freight", Amount::ZeroOrMore),
    ("select", "/skus/*", "price", Amount::Positive),
];

/// `None` when the interface has no amounts in the table.
pub(crate) fn money(interface_id: &str, result: &Value) -> Option<CheckRun> {
    let fields: Vec<_> = MONEY_FIELDS
        .iter()
        .filter(|f| f.0 == interface_id)
        .collect();
    if fields.is_empty() {
        return None;
    }
    let mut findings = Findings::default();
    for (_, items, member, kind) in fields {
        let selected = walk::select_each(result, items);
        for (k, item) in selected.values().enumerate() {
            let Some(value) = item.get(member) else {
                continue;
            };
            let what = || match item.get("sku") {
                Some(_) => format!("sku {} {member}", walk::sku_of(item)),
                None => member.to_string(),
            };
            let pointer = || walk::child(&selected.pointer(k, "/result"), member);
            findings.extend(judge_amount(
                ids::MONEY,
                MONEY_REQ,
                value,
                *kind,
                what,
                pointer,
            ));
        }
    }
    Some(CheckRun::new(ids::MONEY, &[MONEY_REQ], findings))
}

/// One amount: a valid decimal, of the right sign, with at most two decimals. What is named
/// and where it is written are made only for a finding (a batch of prices holds hundreds of
/// amounts, nearly all of them right).
pub(crate) fn judge_amount(
    check: &str,
    requirement: &str,
    value: &Value,
    kind: Amount,
    what: impl FnOnce() -> String,
    pointer: impl FnOnce() -> String,
) -> Option<Finding> {
    // Other types (null, objects) are the schema's to report.
    if !(value.is_number() || value.is_string()) {
        return None;
    }
    let limit = match kind {
        Amount::Positive => "> 0",
        Amount::ZeroOrMore => "≥ 0",
    };
    let expected = || format!("{limit}，至多两位小数 / {limit}, at most two decimals");
    let Some(amount) = decimal_of(value) else {
        let (what, text) = (what(), walk::text(value));
        return Some(
            Finding::new(
                check,
                requirement,
                format!("不是有效金额 / not a valid amount: {what} {text}"),
            )
            .at(pointer())
            .expected(expected())
            .actual(text),
        );
    };
    let sign_ok = match kind {
        Amount::Positive => amount > Decimal::ZERO,
        Amount::ZeroOrMore => amount >= Decimal::ZERO,
    };
    let problem = if value.is_string() {
        Problem::Text
    } else if !sign_ok {
        Problem::Sign
    } else if amount.normalize().scale() > 2 {
        Problem::Decimals
    } else {
        return None;
    };
    let (what, text) = (what(), walk::text(value));
    let message = match problem {
        Problem::Text => format!(
            "金额为字符串（配置约定为 JSON 数字） / amount sent as text, the profile sends JSON numbers: {what} \"{text}\""
        ),
        Problem::Sign => format!("金额必须 {limit} / amount must be {limit}: {what} {text}"),
        Problem::Decimals => {
            format!("金额超过两位小数 / amount has more than two decimal places: {what} {text}")
        }
    };
    Some(
        Finding::new(check, requirement, message)
            .at(pointer())
            .expected(expected())
            .actual(text),
    )
}

enum Problem {
    Text,
    Sign,
    Decimals,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::*;
    use serde_json::json;

    fn dec(text: &str) -> Option<String> {
        decimal_of_text(text).map(|d| d.to_string())
    }

    #[test]
    fn decimals_are_exact_from_the_text() {
        assert_eq!(dec("19.90").as_deref(), Some("19.90"));
        assert_eq!(dec("5999").as_deref(), Some("5999"));
        assert_eq!(dec("-0.5").as_deref(), Some("-0.5"));
        assert_eq!(dec("1.5e2").as_deref(), Some("150"));
        assert_eq!(dec("125E-2").as_deref(), Some("1.25"));
        assert_eq!(dec("1e+3").as_deref(), Some("1000"));
        assert_eq!(dec("1e400"), None);
        assert_eq!(dec("1e-400"), None);
        assert_eq!(dec("1_000"), None);
        assert_eq!(dec(" 1"), None);
        assert_eq!(dec("01"), None);
        assert_eq!(dec("0.1000000000000000000000000000001"), None);
        assert_eq!(dec("99999999999999999999999999999999999"), None);
        let v: Value = serde_json::from_str("12.345").expect("json");
        assert_eq!(
            decimal_of(&v).map(|d| d.to_string()).as_deref(),
            Some("12.345")
        );
        assert_eq!(
            decimal_of(&json!("4599.00"))
                .map(|d| d.to_string())
                .as_deref(),
            Some("4599.00")
        );
        assert_eq!(decimal_of(&json!(true)), None);
    }

    fn prices(body: &str) -> Vec<crate::checks::CheckRun> {
        run_body("prices", body.as_bytes(), json!({"sku": "1"}))
    }

    #[test]
    fn two_decimals_and_integers_pass() {
        let runs =
            prices(r#"{"success":true,"result":[{"sku":"1","price":19.90,"market_price":5999}]}"#);
        passes(&runs, ids::MONEY);
    }

    #[test]
    fn three_decimals_fail() {
        let runs =
            prices(r#"{"success":true,"result":[{"sku":"1","price":12.345,"market_price":20}]}"#);
        let f = one(&runs, ids::MONEY, "PRC-MONEY", "/result/0/price");
        assert!(f.message.contains("sku 1 price 12.345"), "{}", f.message);
    }

    #[test]
    fn huge_exponent_is_not_a_valid_amount() {
        let runs =
            prices(r#"{"success":true,"result":[{"sku":"1","price":1,"market_price":1e400}]}"#);
        let f = one(&runs, ids::MONEY, "PRC-MONEY", "/result/0/market_price");
        assert!(f.message.contains("not a valid amount"), "{}", f.message);
    }

    #[test]
    fn zero_and_negative_prices_fail() {
        let runs = prices(r#"{"success":true,"result":[{"sku":"1","price":0,"market_price":-3}]}"#);
        one(&runs, ids::MONEY, "PRC-MONEY", "/result/0/price");
        one(&runs, ids::MONEY, "PRC-MONEY", "/result/0/market_price");
    }

    #[test]
    fn a_price_as_text_is_read_and_warns() {
        // The standard's own example writes price: "1200".
        let runs =
            prices(r#"{"success":true,"result":[{"sku":"1","price":"1200","market_price":1300}]}"#);
        let f = one(&runs, ids::MONEY, "PRC-MONEY", "/result/0/price");
        assert!(f.message.contains("as text"), "{}", f.message);
        passes(&runs, ids::PRICE_RULE);
    }

    #[test]
    fn a_zero_price_warns_on_prc_money_and_breaks_no_schema() {
        // The standard asks for agreement and market prices, not for positive ones: 0.00 is
        // PRC-MONEY's (BEYOND, a warning), never the batch interface's MUST schema.
        let runs =
            prices(r#"{"success":true,"result":[{"sku":"1","price":0.00,"market_price":1.005}]}"#);
        assert!(
            runs.iter()
                .filter(|r| r.check == ids::SCHEMA)
                .all(|r| r.findings.is_empty()),
            "{runs:?}"
        );
        one(&runs, ids::MONEY, "PRC-MONEY", "/result/0/price");
    }

    #[test]
    fn zero_freight_passes_but_negative_fails_on_orders() {
        let mut order = json!({"order_id": "S1", "yggc_order": "Y1", "order_price": 10, "freight": 0,
            "sku": [{"sku": "1", "num": 1, "price": 10}]});
        let runs = run_result("submit", order.clone(), json!({}));
        passes(&runs, ids::MONEY);
        order["freight"] = json!(-1);
        order["sku"][0]["price"] = json!("abc");
        let runs = run_result("submit", order, json!({}));
        one(&runs, ids::MONEY, "PRC-MONEY", "/result/freight");
        let f = one(&runs, ids::MONEY, "PRC-MONEY", "/result/sku/0/price");
        assert!(
            f.message.contains("not a valid amount: sku 1 price abc"),
            "{}",
            f.message
        );
    }
}
