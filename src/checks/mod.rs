//! Named checks, each tied to requirement ids. Exchange checks run on every answer of the
//! interface they belong to; they are pure functions of the exchange, the parameters sent and the
//! profile, and never call a supplier (image reachability hands its URLs to the client).
//!
//! Layout, by flow: [`answer`] parses an answer once; [`transport`] judges the bytes (status,
//! JSON, control characters); [`envelope`] the envelope, `desc` and the result schema;
//! [`catalogue`], [`prices`], [`money`], [`orders`], [`token`], [`images`] and [`optional`] judge
//! the `result` of one interface each. [`RESULT_CHECKS`] says which result check runs where.

mod answer;
mod catalogue;
mod envelope;
mod images;
mod money;
mod optional;
mod orders;
mod prices;
mod token;
mod transport;
mod walk;

#[cfg(test)]
mod testkit;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::exchange::Exchange;
use crate::profile::{Interface, Profile};

pub use answer::{Answer, Parsed, parse_answer};
pub use images::{image_urls, judge_image, judge_image_host};
pub use money::decimal_of;
pub use optional::{judge_offer, offer_prices};
pub use token::token_lifetime_again;

/// What a check says about one requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
    Warn,
    Skip,
    Blocked,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Warn => "warn",
            Status::Skip => "skip",
            Status::Blocked => "blocked",
        }
    }
}

/// One way an answer breaks a requirement. Whether it is a failure or a warning is decided by
/// the requirement's level (MUST fails; SHOULD and BEYOND warn), not by the check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable check id, e.g. `no-newline`, `batch-complete`.
    pub check: String,
    /// The requirement id it breaks.
    pub requirement: String,
    /// A readable sentence, Chinese first then English.
    pub message: String,
    /// JSON pointer into the answer (the whole envelope) where the offending value is.
    pub pointer: Option<String>,
    pub expected: Option<String>,
    pub actual: Option<String>,
}

impl Finding {
    /// A finding with no pointer, expected or actual value yet (see [`Finding::at`] and co).
    pub fn new(check: &str, requirement: &str, message: impl Into<String>) -> Finding {
        Finding {
            check: check.to_string(),
            requirement: requirement.to_string(),
            message: message.into(),
            pointer: None,
            expected: None,
            actual: None,
        }
    }

    pub fn at(mut self, pointer: impl Into<String>) -> Finding {
        self.pointer = Some(pointer.into());
        self
    }

    pub fn expected(mut self, expected: impl Into<String>) -> Finding {
        self.expected = Some(expected.into());
        self
    }

    pub fn actual(mut self, actual: impl Into<String>) -> Finding {
        self.actual = Some(actual.into());
        self
    }
}

/// A check that ran on one exchange and the requirements it looked at: a check that ran and
/// found nothing is evidence of a pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckRun {
    pub check: String,
    pub requirements: Vec<String>,
    pub findings: Vec<Finding>,
}

impl CheckRun {
    pub fn new(check: &str, requirements: &[&str], findings: Vec<Finding>) -> CheckRun {
        CheckRun {
            check: check.to_string(),
            requirements: requirements.iter().map(|r| r.to_string()).collect(),
            findings,
        }
    }
}

/// Stable check ids (they appear in reports and in `Finding::check`).
pub mod ids {
    pub const HTTP_STATUS: &str = "http-status";
    pub const JSON: &str = "json";
    pub const NO_NEWLINE: &str = "no-newline";
    pub const ENVELOPE: &str = "envelope";
    pub const DESC_ON_FAILURE: &str = "desc-on-failure";
    pub const SCHEMA: &str = "schema";
    pub const BATCH_COMPLETE: &str = "batch-complete";
    pub const PRICE_RULE: &str = "price-rule";
    pub const MONEY: &str = "money";
    pub const ORDER_TOTAL: &str = "order-total";
    pub const DETAIL_COMPLETE: &str = "detail-complete";
    pub const DETAIL_SAME_SKU: &str = "detail-same-sku";
    pub const IMAGE_URLS: &str = "image-urls";
    pub const IMAGE: &str = "image";
    pub const POOL_IDS: &str = "pool-ids";
    pub const SKU_LIST: &str = "sku-list";
    pub const AREA_NAMES: &str = "area-names";
    pub const TOKEN_LIFETIME: &str = "token-lifetime";
    pub const TOKEN_ISSUED: &str = "token-issued";
    pub const RATINGS: &str = "ratings";
    pub const TIERS: &str = "tiers";
    pub const OFFER_DATES: &str = "offer-dates";
    pub const RECONCILE_SUMS: &str = "reconcile-sums";
    pub const STOCK_ANSWER: &str = "stock-answer";
    pub const OFFER_PRICE: &str = "offer-price";
}

/// One exchange to judge, with what the harness meant by it.
pub struct ExchangeInput<'a> {
    pub profile: &'a Profile,
    pub interface: &'a Interface,
    pub exchange: &'a Exchange,
    /// The logical parameters sent (without the token): e.g. {"sku": "1,2,3", "area_id":
    /// "120101"}; nested values as JSON values (submit's "sku" is an array).
    pub params: &'a serde_json::Map<String, Value>,
    /// Whether the caller expects a business success. Result checks run only on answers with
    /// success: true; when false (a refusal was expected) only the transport/envelope/newline/
    /// desc checks run.
    pub expect_success: bool,
}

/// The checks that judge the `result` of a successful answer, beyond the schema (which runs on
/// every interface) and batch completeness (which runs wherever the interface has a
/// `batch_param`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultCheck {
    PriceRule,
    Money,
    OrderTotal,
    DetailComplete,
    DetailSameSku,
    ImageUrls,
    PoolIds,
    SkuList,
    AreaNames,
    TokenIssued,
    TokenLifetime,
    Ratings,
    Tiers,
    OfferDates,
    ReconcileSums,
    StockAnswer,
}

/// Which result checks run on which interface (by interface id of the profile).
pub const RESULT_CHECKS: &[(&str, &[ResultCheck])] = {
    use ResultCheck::*;
    &[
        ("token", &[TokenIssued, TokenLifetime]),
        ("pools", &[PoolIds]),
        ("skus", &[SkuList]),
        ("detail", &[DetailComplete, DetailSameSku, ImageUrls]),
        ("images", &[ImageUrls]),
        ("ratings", &[Ratings]),
        ("prices", &[PriceRule, Money]),
        ("stocks", &[StockAnswer]),
        ("provinces", &[AreaNames]),
        ("cities", &[AreaNames]),
        ("counties", &[AreaNames]),
        ("submit", &[Money, OrderTotal]),
        ("select", &[Money, OrderTotal]),
        ("reconcile", &[ReconcileSums]),
        ("group_buys", &[OfferDates]),
        ("specials", &[OfferDates]),
        ("tiered_rates", &[Tiers]),
    ]
};

/// The result checks of one interface (none for an interface the table does not name).
pub fn result_checks_for(interface_id: &str) -> &'static [ResultCheck] {
    RESULT_CHECKS
        .iter()
        .find(|(id, _)| *id == interface_id)
        .map(|(_, checks)| *checks)
        .unwrap_or(&[])
}

/// The interface's own batch requirement, beside BATCH-COMPLETE.
pub(crate) fn batch_requirement(interface_id: &str) -> Option<&'static str> {
    match interface_id {
        "shelf_states" => Some("SHELF-BATCH"),
        "images" => Some("IMG-BATCH"),
        "prices" => Some("PRC-BATCH"),
        "stocks" => Some("STK-BATCH"),
        _ => None,
    }
}

/// Most findings one check reports per requirement on one answer; the rest are counted in a
/// final "… and N more" finding, so that a hostile million-item answer stays readable.
pub const FINDINGS_CAP: usize = 100;
/// Schema violations are noisier (one broken item type repeats everywhere): fewer are kept.
pub const SCHEMA_FINDINGS_CAP: usize = 20;

/// Every check that applied to the exchange, with its findings.
pub fn run_exchange_checks(input: &ExchangeInput<'_>) -> Vec<CheckRun> {
    let mut runs = Vec::new();
    runs.push(transport::http_status(input.exchange));
    let Some(response) = input.exchange.response.as_ref() else {
        return runs;
    };
    runs.push(transport::no_newline(&response.body));
    let parsed = parse_answer(input.exchange);
    let answer = match parsed {
        Ok(answer) => {
            runs.push(CheckRun::new(ids::JSON, &["GEN-JSON"], Vec::new()));
            answer
        }
        Err(finding) => {
            runs.push(CheckRun::new(ids::JSON, &["GEN-JSON"], vec![finding]));
            return runs;
        }
    };
    runs.push(envelope::envelope(input.profile, &answer));
    if answer.success == Some(false) {
        runs.push(envelope::desc_on_failure(&answer));
    }
    if answer.success == Some(true) && input.expect_success {
        runs.extend(result_runs(input, &answer));
    }
    // The schema check caps its own findings (it knows the total of violations).
    for run in runs.iter_mut().filter(|r| r.check != ids::SCHEMA) {
        cap_findings(&mut run.findings, FINDINGS_CAP);
    }
    runs
}

/// The checks of a successful answer's `result`.
fn result_runs(input: &ExchangeInput<'_>, answer: &Answer) -> Vec<CheckRun> {
    let interface = input.interface;
    let result = answer.result().unwrap_or(&Value::Null);
    let mut runs = vec![envelope::schema(input.profile, interface, result)];
    if let Some(param) = interface.batch_param.as_deref()
        && let Some(run) = catalogue::batch_complete(interface, input.params.get(param), result)
    {
        runs.push(run);
    }
    for check in result_checks_for(&interface.id) {
        let run = match check {
            ResultCheck::PriceRule => Some(prices::price_rule(result)),
            ResultCheck::Money => money::money(&interface.id, result),
            ResultCheck::OrderTotal => orders::order_total(&interface.id, result),
            ResultCheck::DetailComplete => Some(catalogue::detail_complete(input.params, result)),
            ResultCheck::DetailSameSku => catalogue::detail_same_sku(input.params, result),
            ResultCheck::ImageUrls => Some(images::image_url_check(&interface.id, result)),
            ResultCheck::PoolIds => Some(catalogue::pool_ids(result)),
            ResultCheck::SkuList => Some(catalogue::sku_list(result)),
            ResultCheck::AreaNames => Some(catalogue::area_names(&interface.id, answer)),
            ResultCheck::TokenIssued => Some(token::token_issued(result)),
            ResultCheck::TokenLifetime => token::token_lifetime(input, result),
            ResultCheck::Ratings => Some(optional::ratings(result)),
            ResultCheck::Tiers => Some(optional::tiers(result)),
            ResultCheck::OfferDates => {
                Some(optional::offer_dates(input.profile, &interface.id, result))
            }
            ResultCheck::ReconcileSums => Some(optional::reconcile_sums(result)),
            ResultCheck::StockAnswer => Some(catalogue::stock_answer(input.params, result)),
        };
        runs.extend(run);
    }
    runs
}

/// Keeps the first `cap` findings of each requirement and sums up the rest in one finding.
fn cap_findings(findings: &mut Vec<Finding>, cap: usize) {
    if findings.len() <= cap {
        return;
    }
    let mut kept: Vec<Finding> = Vec::with_capacity(cap * 2);
    // (requirement, check, dropped count), in order of first appearance.
    let mut dropped: Vec<(String, String, usize)> = Vec::new();
    let mut counts: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for finding in findings.drain(..) {
        let count = counts.entry(finding.requirement.clone()).or_insert(0);
        *count += 1;
        if *count <= cap {
            kept.push(finding);
        } else if let Some(entry) = dropped.iter_mut().find(|d| d.0 == finding.requirement) {
            entry.2 += 1;
        } else {
            dropped.push((finding.requirement, finding.check, 1));
        }
    }
    for (requirement, check, count) in dropped {
        kept.push(Finding::new(
            &check,
            &requirement,
            format!("…另有 {count} 处同类问题 … and {count} more findings of this kind"),
        ));
    }
    *findings = kept;
}

#[cfg(test)]
mod tests {
    use super::testkit::*;
    use super::*;
    use serde_json::json;

    /// Bodies a hostile or broken supplier may send: every one gives findings, none panics.
    fn hostile_bodies() -> Vec<Vec<u8>> {
        let deep_ok = format!(
            "{{\"success\":true,\"result\":{}{}}}",
            "[".repeat(100),
            "]".repeat(100)
        );
        let deep_bad = format!(
            "{{\"success\":true,\"result\":{}{}}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let huge: Vec<Value> = (0..3_000)
            .map(|i| json!({"sku": i.to_string(), "price": "x", "market_price": -1}))
            .collect();
        vec![
            b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>".to_vec(),
            Vec::new(),
            b"OK".to_vec(),
            b"{\"success\":true,\"desc\":\"\xc3\x28\"}".to_vec(),
            b"{\"success\":true,\"result\":[{\"sku\":\"1\",".to_vec(),
            br#"{"success":true,"result":1e400}"#.to_vec(),
            br#"{"success":true,"result":[{"sku":"1","price":1e400,"market_price":-1e400,"num":1e400,"order_price":1e400,"freight":1e400,"average":1e400,"good":1e400}]}"#.to_vec(),
            br#"{"success":true,"result":{"sku":1e400,"skus":[{"price":1e400,"num":1e400}],"order_price":1e400,"orders":[{"order_price":1e400}],"count":1e400,"amount":1e400,"expires_in":1e400,"expires_at":"9999-12-31 23:59:59","access_token":1e400,"image_path":1e400}}"#.to_vec(),
            deep_ok.into_bytes(),
            deep_bad.into_bytes(),
            br#"{"success":"true","result":[]}"#.to_vec(),
            b"{\n  \"success\": true,\n  \"result\": {\"\xe5\x92\x8c\xe5\xb9\xb3\xe5\x8c\xba\": \"1\", \"\xe5\x92\x8c\xe5\xb9\xb3\xe5\x8c\xba\": \"2\"}\n}".to_vec(),
            br#"{"success":true,"result":null}"#.to_vec(),
            br#"{"success":true,"result":"\u0000"}"#.to_vec(),
            br#"{"success":true,"result":{"":{"":[]}}}"#.to_vec(),
            ok_body(&json!(huge)),
        ]
    }

    #[test]
    fn hostile_answers_give_findings_on_every_interface_and_never_panic() {
        for interface in &profile().interfaces {
            for body in hostile_bodies() {
                let sent = json!({"sku": "1,2,3", "id": "120100", "order_id": "S1"});
                let runs = run_body(&interface.id, &body, sent.clone());
                assert!(
                    !all_findings(&runs).is_empty(),
                    "{} on {:?} found nothing",
                    interface.id,
                    String::from_utf8_lossy(&body[..body.len().min(200)])
                );
                for run in &runs {
                    assert!(
                        run.findings.len() <= 2 * FINDINGS_CAP + 2,
                        "{} kept too many",
                        run.check
                    );
                }
                let truncated = exchange_truncated(&body);
                let runs = run_exchange(&interface.id, &truncated, sent, true);
                assert!(!all_findings(&runs).is_empty());
            }
        }
    }

    #[test]
    fn the_table_names_known_interfaces_and_their_requirements() {
        let profile = profile();
        for (id, _) in RESULT_CHECKS {
            assert!(
                profile.interface(id).is_some(),
                "{id} is not an interface of the profile"
            );
        }
    }

    #[test]
    fn checks_only_name_requirements_their_interface_serves() {
        // Every profile example, as a success, yields runs whose requirements the catalogue
        // lists for that interface (so coverage reports add up).
        let profile = profile();
        for interface in &profile.interfaces {
            let path = format!(
                "{}/schemas/examples/{}.json",
                env!("CARGO_MANIFEST_DIR"),
                interface.id
            );
            let text = std::fs::read_to_string(&path).expect("example");
            let result: Value = serde_json::from_str(&text).expect("example JSON");
            let runs = run_result(&interface.id, result, json!({"sku": "1"}));
            for run in &runs {
                for requirement in &run.requirements {
                    assert!(
                        interface.requirements.contains(requirement),
                        "{} on {} names {requirement}, not among the interface's requirements",
                        run.check,
                        interface.id
                    );
                }
            }
        }
    }

    #[test]
    fn cap_keeps_each_requirement_apart() {
        let mut findings: Vec<Finding> = (0..5)
            .flat_map(|_| [Finding::new("c", "A", "a"), Finding::new("c", "B", "b")])
            .collect();
        cap_findings(&mut findings, 2);
        let reqs: Vec<&str> = findings.iter().map(|f| f.requirement.as_str()).collect();
        assert_eq!(reqs, vec!["A", "B", "A", "B", "A", "B"]);
        assert!(findings[4].message.contains("and 3 more"));
    }
}
