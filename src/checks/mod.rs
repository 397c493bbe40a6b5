//! The judge: the only place that decides a finding. Every check is a pure function over an
//! answer (or over what the run learned, [`Knowledge`]) that returns [`CheckRun`]s: findings,
//! passes, and what it could not judge. The runner sends, orders and records; it never decides.
//!
//! Layout, by flow: [`answer`] parses an answer once; [`transport`] judges the bytes (status,
//! JSON, control characters, latency); [`envelope`] the envelope, `desc` and the result schema;
//! [`catalogue`], [`prices`], [`money`], [`orders`], [`order_life`], [`token`], [`images`] and [`optional`] judge
//! the `result` of an interface; [`expect`] a scenario step's own expectations; [`consistency`]
//! the facts across interfaces. [`CHECKS`] is the table of every check and what it judges;
//! which result check runs on which interface is data (`checks = [...]` in `interfaces.toml`).
//! To find where a requirement is judged: `grep -rn '"PRC-MONEY"' src/checks`.

mod answer;
mod catalogue;
mod consistency;
mod envelope;
mod expect;
mod images;
mod knowledge;
mod money;
mod optional;
mod order_life;
mod orders;
mod prices;
mod sku_list;
mod token;
mod transport;
mod walk;

#[cfg(test)]
mod testkit;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::exchange::Exchange;
use crate::profile::{Interface, Profile};

pub(crate) use answer::parse_answer;
pub use answer::{Answer, AnswerLimits, Unread};
pub use catalogue::sku_in_two_pools;
pub use consistency::{catalogue_consistency, sku_consistency, sku_consistency_not_judged};
pub use expect::{StepExpectation, judge_expectations, judge_step_expectations};
pub use images::{image_probe_not_judged, image_urls, judge_image_probe};
pub use knowledge::{Knowledge, PooledSkus, TestArea};
pub use money::decimal_of;
pub use optional::{agreement_prices, offer_prices, offers_below_agreement};
pub use order_life::{
    LifeCodes, Sighting, furthest, order_life, order_lines, shipment_matches, track_refused,
};
pub use orders::{order_transition, oversell, sold_out_refused, stock_follows_lock};
pub use sku_list::{JudgedSkuList, SkuCodes, judge_sku_list};
pub use token::{SavedTokenAge, saved_token_age, saved_token_pending, saved_token_verdict};
pub use transport::transport_errors_seen;
pub use walk::key_text;
pub(crate) use walk::shorten;

/// What a finding's `actual` says when there was nothing to show. Its own words, so that the
/// terminal can say them in one language ([`say_marker`]) while a value the supplier sent is
/// always shown as it came.
pub const MISSING: &str = "(缺失) / (missing)";
pub const EMPTY: &str = "(空) / (empty)";

/// `actual` in `lang` when it is one of mallcheck's own markers, else as the supplier sent it.
pub fn say_marker(actual: &str, lang: Option<crate::lang::Lang>) -> String {
    if [MISSING, EMPTY].contains(&actual) {
        crate::lang::pick(actual, lang)
    } else {
        actual.to_string()
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

/// A requirement a check could not judge, and why (its input was missing or unreadable). It is
/// reported as not judged: never as a pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unjudged {
    pub requirement: String,
    pub reason: String,
}

/// A check that ran and the requirements it looked at: a requirement with no finding and not
/// marked unjudged is evidence of a pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckRun {
    pub check: String,
    pub requirements: Vec<String>,
    pub findings: Vec<Finding>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unjudged: Vec<Unjudged>,
}

impl CheckRun {
    pub fn new(check: &str, requirements: &[&str], findings: impl Into<Vec<Finding>>) -> CheckRun {
        CheckRun {
            check: check.to_string(),
            requirements: requirements.iter().map(|r| r.to_string()).collect(),
            findings: findings.into(),
            unjudged: Vec::new(),
        }
    }

    /// A check that had nothing to judge on any of its requirements.
    pub fn not_judged(check: &str, requirements: &[&str], reason: impl Into<String>) -> CheckRun {
        let reason = reason.into();
        let mut run = CheckRun::new(check, requirements, Vec::new());
        run.unjudged = requirements
            .iter()
            .map(|r| Unjudged {
                requirement: r.to_string(),
                reason: reason.clone(),
            })
            .collect();
        run
    }

    /// Marks one requirement as not judged, with the reason.
    pub fn unjudged(mut self, requirement: &str, reason: impl Into<String>) -> CheckRun {
        self.unjudged.push(Unjudged {
            requirement: requirement.to_string(),
            reason: reason.into(),
        });
        self
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
    pub const STOCK_LATENCY: &str = "stock-latency";
    pub const OFFER_PRICE: &str = "offer-price";
    pub const EXPECT: &str = "expect";
    /// Not a check: the row of a scenario that was skipped, blocked or stopped, with why.
    pub const SCENARIO: &str = "scenario";
    pub const SKU_HAS_DATA: &str = "sku-has-data";
    pub const ONSHELF_SELLABLE: &str = "onshelf-sellable";
    pub const NEW_IN_POOL: &str = "new-in-pool";
    pub const POOL_MEMBERSHIP: &str = "pool-membership";
    pub const FEED_NOT_EMPTY: &str = "feed-not-empty";
    pub const CONCURRENT_PREORDERS: &str = "concurrent-preorders";
    pub const ORDER_TRANSITION: &str = "order-transition";
    pub const SAVED_TOKEN_LIFETIME: &str = "saved-token-lifetime";
    pub const ORDER_LIFE: &str = "order-life";
    pub const ORDER_LINES: &str = "order-lines";
    pub const TRACK_SHIPMENT: &str = "track-shipment";
    pub const STOCK_FOLLOWS_LOCK: &str = "stock-follows-lock";
    pub const FEED_WINDOW: &str = "feed-window";
    /// Not a check: what only the reference supplier's admin clock (or a run 36 h later) can
    /// show. Such rows are listed apart and do not make a judged requirement "partly tested".
    pub const CLOCK_ONLY: &str = "clock-only";
    pub const SOLD_OUT_REFUSED: &str = "sold-out-refused";
}

/// Where a check runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckKind {
    /// On every answer of every interface.
    Exchange,
    /// On a successful answer of the interfaces whose `checks` list names it (`interfaces.toml`).
    Result,
    /// On a step of a scenario (its expectations) or on what a builtin step gathered.
    Scenario,
}

/// One check: its id, where it runs, and the requirements it may report on. A check whose
/// requirement comes from the profile (the schema check: `schema_requirement`) or from the
/// scenario (expectations) lists none here.
#[derive(Debug, Clone, Copy)]
pub struct CheckDef {
    pub id: &'static str,
    pub kind: CheckKind,
    pub requirements: &'static [&'static str],
}

const fn def(id: &'static str, kind: CheckKind, requirements: &'static [&'static str]) -> CheckDef {
    CheckDef {
        id,
        kind,
        requirements,
    }
}

/// Every check of mallcheck.
pub const CHECKS: &[CheckDef] = {
    use CheckKind::*;
    &[
        def(ids::HTTP_STATUS, Exchange, &["GEN-HTTP-STATUS", "GEN-POST"]),
        def(ids::NO_NEWLINE, Exchange, &["GEN-NO-NEWLINE"]),
        def(ids::JSON, Exchange, &["GEN-JSON"]),
        def(ids::ENVELOPE, Exchange, &["GEN-ENVELOPE"]),
        def(ids::DESC_ON_FAILURE, Exchange, &["GEN-DESC-ON-FAILURE"]),
        def(ids::SCHEMA, Exchange, &[]),
        def(ids::BATCH_COMPLETE, Exchange, &["BATCH-COMPLETE"]),
        def(ids::PRICE_RULE, Result, &["PRC-NOT-ABOVE-MARKET"]),
        def(ids::MONEY, Result, &["PRC-MONEY"]),
        def(ids::ORDER_TOTAL, Result, &["X-ORDER-TOTAL"]),
        def(ids::DETAIL_COMPLETE, Result, &["DET-COMPLETE"]),
        def(ids::DETAIL_SAME_SKU, Result, &["DET-SAME-SKU"]),
        def(ids::IMAGE_URLS, Result, &["IMG-REACHABLE"]),
        def(ids::IMAGE, Scenario, &["IMG-REACHABLE"]),
        def(ids::POOL_IDS, Result, &["POOL-LIST"]),
        def(ids::SKU_LIST, Result, &["SKU-LIST"]),
        def(ids::AREA_NAMES, Result, &["AREA-LEVELS", "AREA-NAME-MATCH"]),
        def(ids::TOKEN_ISSUED, Result, &["TOK-ISSUE"]),
        def(ids::TOKEN_LIFETIME, Result, &["TOK-TTL-36H"]),
        def(ids::RATINGS, Result, &["OPT-COMMENTS"]),
        def(ids::TIERS, Result, &["OPT-TIERED"]),
        def(ids::OFFER_DATES, Result, &["OPT-GROUP-BUY", "OPT-SPECIAL"]),
        def(ids::RECONCILE_SUMS, Result, &["OPT-RECONCILE"]),
        def(ids::STOCK_ANSWER, Result, &["STK-BATCH"]),
        def(ids::STOCK_LATENCY, Result, &["STK-REALTIME"]),
        def(ids::OFFER_PRICE, Scenario, &["X-OFFER-BELOW-AGREEMENT"]),
        def(ids::EXPECT, Scenario, &[]),
        def(ids::SCENARIO, Scenario, &[]),
        def(ids::SKU_HAS_DATA, Scenario, &["X-SKU-HAS-DATA"]),
        def(ids::ONSHELF_SELLABLE, Scenario, &["X-ONSHELF-SELLABLE"]),
        def(ids::NEW_IN_POOL, Scenario, &["X-NEW-IN-POOL"]),
        def(ids::POOL_MEMBERSHIP, Scenario, &["SKU-LIST"]),
        def(ids::FEED_NOT_EMPTY, Scenario, &["NEW-SKUS", "CHANGED-SKUS"]),
        def(ids::FEED_WINDOW, Result, &["FEED-WINDOW"]),
        def(ids::CLOCK_ONLY, Scenario, &[]),
        def(ids::CONCURRENT_PREORDERS, Scenario, &["ORD-LOCK-STOCK"]),
        def(
            ids::ORDER_TRANSITION,
            Scenario,
            orders::TRANSITION_REQUIREMENTS,
        ),
        def(ids::SAVED_TOKEN_LIFETIME, Scenario, &["TOK-TTL-36H"]),
        def(ids::ORDER_LIFE, Scenario, &["ORD-QUERY"]),
        def(ids::ORDER_LINES, Scenario, &["ORD-QUERY"]),
        def(ids::TRACK_SHIPMENT, Scenario, &["LOG-TRACK"]),
        def(ids::STOCK_FOLLOWS_LOCK, Scenario, &["ORD-LOCK-STOCK"]),
        def(ids::SOLD_OUT_REFUSED, Scenario, &["ORD-LOCK-STOCK"]),
    ]
};

/// Requirements no exchange between the mall and a supplier can show, with the reason; they are
/// reported as not tested, never as passed.
pub const NOT_OBSERVABLE: &[(&str, &str)] = &[(
    "ORD-INVOICE-DETAIL",
    "发票内容不出现在任何接口的应答中 no interface answers an order's invoice content (明细 or not)",
)];

/// The table entry of a check id.
pub fn check_def(id: &str) -> Option<&'static CheckDef> {
    CHECKS.iter().find(|c| c.id == id)
}

/// Whether the profile asks only for result checks that exist (`checks = [...]` of each
/// interface): an unknown id is an error naming the interface, never a check silently skipped.
pub fn validate_profile(profile: &Profile) -> Result<(), String> {
    if let Some(t) = profile.order_life.iter().find(|t| {
        t.requirement
            .as_deref()
            .is_some_and(|r| !orders::TRANSITION_REQUIREMENTS.contains(&r))
    }) {
        return Err(format!(
            "interfaces.toml: order_life {} → {} names requirement {:?}, which the order-transition check does not judge (it judges {})",
            t.from,
            t.action,
            t.requirement.as_deref().unwrap_or_default(),
            orders::TRANSITION_REQUIREMENTS.join(", ")
        ));
    }
    for interface in &profile.interfaces {
        for id in &interface.checks {
            match check_def(id) {
                Some(def) if def.kind == CheckKind::Result => {}
                Some(_) => {
                    return Err(format!(
                        "interfaces.toml: interface {} names check {id:?}, which does not judge the answer of one interface",
                        interface.id
                    ));
                }
                None => {
                    let known: Vec<&str> = CHECKS
                        .iter()
                        .filter(|c| c.kind == CheckKind::Result)
                        .map(|c| c.id)
                        .collect();
                    return Err(format!(
                        "interfaces.toml: interface {} names an unknown check {id:?} (known: {})",
                        interface.id,
                        known.join(", ")
                    ));
                }
            }
        }
    }
    Ok(())
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
    /// The token answered was first issued earlier (at this time, ms since the epoch): its
    /// lifetime runs from then.
    pub token_first_issued_ms: Option<u64>,
    /// The latency bound of interfaces a buyer waits on (STK-REALTIME), in ms.
    pub latency_bound_ms: u64,
    /// How much of the answer is parsed.
    pub limits: AnswerLimits,
}

/// What the judge made of one exchange: the check runs, and the answer parsed once (its
/// members renamed to logical names) for the steps after judging: learning and captures.
pub struct Judged {
    pub runs: Vec<CheckRun>,
    /// For a SKU list read compactly ([`judge_sku_list`]): the envelope only, `result` left
    /// out; the list is in `sku_codes`.
    pub answer: Option<Answer>,
    /// A SKU list read compactly, without a value tree (a million short codes in ~12 MB).
    pub sku_codes: Option<SkuCodes>,
    /// Why an answer that came was not read (beyond the body cap or the parsing limits): what
    /// depends on it is not judged, rather than failed for an answer nobody looked at.
    pub unread: Option<String>,
}

impl Judged {
    /// The answer as a value (logical names), if the body was JSON.
    pub fn value(&self) -> Option<&Value> {
        self.answer.as_ref().map(|a| &a.value)
    }

    /// Whether the supplier answered `success: true`.
    pub fn succeeded(&self) -> bool {
        self.answer.as_ref().and_then(|a| a.success) == Some(true)
    }

    /// The `result` member (logical names), or null.
    pub fn result(&self) -> &Value {
        self.answer
            .as_ref()
            .and_then(Answer::result)
            .unwrap_or(&Value::Null)
    }

    /// Whether the content of the result is sound, as a buyer would see it: its schema and the
    /// detail checks found nothing (a line break in the bytes does not make a detail incomplete).
    pub fn content_clean(&self) -> bool {
        self.runs
            .iter()
            .filter(|r| {
                matches!(
                    r.check.as_str(),
                    ids::SCHEMA | ids::DETAIL_COMPLETE | ids::DETAIL_SAME_SKU
                )
            })
            .all(|r| r.findings.is_empty())
    }
}

/// Most findings one check reports per requirement on one answer; the rest are counted in a
/// final "… and N more" finding, so that a hostile million-item answer stays readable.
pub const FINDINGS_CAP: usize = 100;
/// Schema violations are noisier (one broken item type repeats everywhere): fewer are kept.
pub const SCHEMA_FINDINGS_CAP: usize = 20;

/// Why an exchange without a response says nothing of its answer.
fn no_answer(exchange: &Exchange) -> Option<String> {
    exchange
        .error
        .as_ref()
        .map(|e| format!("没有答复 / no answer: {}", e.describe()))
}

/// Every check that applied to the exchange, with its findings, and the answer parsed once.
pub fn judge_exchange(input: &ExchangeInput<'_>) -> Judged {
    let mut runs = vec![transport::http_status(input.exchange)];
    let Some(response) = input.exchange.response.as_ref() else {
        // No answer came (a timeout, a closed connection): GEN-HTTP-STATUS says so, and what
        // the answer would have shown is not judged, as for one cut short.
        let unread = no_answer(input.exchange);
        return Judged {
            runs,
            answer: None,
            sku_codes: None,
            unread,
        };
    };
    let whole = !response.truncated && input.exchange.error.is_none();
    runs.push(transport::no_newline(&response.body, whole));
    let mut answer = match parse_answer(input.exchange, input.limits) {
        Ok(answer) => {
            runs.push(CheckRun::new(ids::JSON, &["GEN-JSON"], Vec::new()));
            answer
        }
        Err(Unread::NotJson(finding)) => {
            runs.push(CheckRun::new(ids::JSON, &["GEN-JSON"], vec![*finding]));
            return Judged {
                runs,
                answer: None,
                sku_codes: None,
                unread: None,
            };
        }
        Err(Unread::NotRead(why)) => {
            runs.push(CheckRun::not_judged(ids::JSON, &["GEN-JSON"], why.clone()));
            return Judged {
                runs,
                answer: None,
                sku_codes: None,
                unread: Some(why),
            };
        }
    };
    runs.push(envelope::envelope(input.profile, &answer));
    if answer.success == Some(false) {
        runs.push(envelope::desc_on_failure(&answer));
    }
    let judge_result = answer.success == Some(true) && input.expect_success;
    if judge_result {
        // The schema speaks the profile's wire names: it judges the answer as sent.
        let result = answer.result().unwrap_or(&Value::Null);
        runs.push(envelope::schema(input.profile, input.interface, result));
    }
    // From here on the checks read logical names.
    answer.to_logical(&input.profile.fields);
    if judge_result {
        runs.extend(result_runs(input, &answer));
    }
    // The schema check caps its own findings (it knows the total of violations), and checks
    // that collect into `Findings` keep FINDINGS_CAP and one "… and N more" per requirement;
    // this caps the others.
    for run in runs.iter_mut().filter(|r| r.check != ids::SCHEMA) {
        cap_findings(&mut run.findings, FINDINGS_CAP + 1);
    }
    Judged {
        runs,
        answer: Some(answer),
        sku_codes: None,
        unread: None,
    }
}

impl From<JudgedSkuList> for Judged {
    /// The same judgement as [`judge_exchange`] would give, the list kept compact.
    fn from(list: JudgedSkuList) -> Judged {
        let answer = (list.success.is_some() || list.codes.is_some()).then(|| {
            let mut envelope = serde_json::Map::new();
            if let Some(success) = list.success {
                envelope.insert("success".into(), Value::Bool(success));
            }
            if let Some(desc) = &list.desc {
                envelope.insert("desc".into(), Value::String(desc.clone()));
            }
            Answer {
                value: Value::Object(envelope),
                success: list.success,
                duplicate_keys: Vec::new(),
                result_written: None,
            }
        });
        Judged {
            runs: list.runs,
            answer,
            sku_codes: list.codes,
            unread: list.unread,
        }
    }
}

/// The checks of a successful answer's `result`: batch completeness where the interface has a
/// batch parameter, then the result checks the profile lists for the interface.
fn result_runs(input: &ExchangeInput<'_>, answer: &Answer) -> Vec<CheckRun> {
    let interface = input.interface;
    let result = answer.result().unwrap_or(&Value::Null);
    let mut runs = Vec::new();
    if let Some(param) = input.profile.batch_param(interface)
        && let Some(run) = catalogue::batch_complete(interface, input.params.get(param), result)
    {
        runs.push(run);
    }
    for check in &interface.checks {
        let run = match check.as_str() {
            ids::PRICE_RULE => Some(prices::price_rule(result)),
            ids::MONEY => money::money(&interface.id, result),
            ids::ORDER_TOTAL => orders::order_total(&interface.id, result),
            ids::DETAIL_COMPLETE => Some(catalogue::detail_complete(input.params, result)),
            ids::DETAIL_SAME_SKU => catalogue::detail_same_sku(input.params, result),
            ids::IMAGE_URLS => Some(images::image_url_check(&interface.id, result)),
            ids::POOL_IDS => Some(catalogue::pool_ids(result)),
            ids::SKU_LIST => Some(catalogue::sku_list(result)),
            ids::AREA_NAMES => Some(catalogue::area_names(&interface.id, answer)),
            ids::TOKEN_ISSUED => Some(token::token_issued(result)),
            ids::TOKEN_LIFETIME => token::token_lifetime(input, result),
            ids::RATINGS => Some(optional::ratings(result)),
            ids::TIERS => Some(optional::tiers(result)),
            ids::OFFER_DATES => Some(optional::offer_dates(input.profile, &interface.id, result)),
            ids::RECONCILE_SUMS => Some(optional::reconcile_sums(result)),
            ids::STOCK_ANSWER => Some(catalogue::stock_answer(input.profile, input.params, result)),
            ids::FEED_WINDOW => catalogue::feed_window(input.profile, input.params, result),
            ids::STOCK_LATENCY => Some(transport::latency(input.exchange, input.latency_bound_ms)),
            // `validate_profile` refuses unknown ids before a run; a profile that skipped it
            // still gets no silent pass.
            other => Some(CheckRun::not_judged(
                other,
                &[interface.schema_requirement.as_str()],
                format!("unknown check {other:?} in interfaces.toml"),
            )),
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
        kept.push(more_findings(&check, &requirement, count));
    }
    *findings = kept;
}

/// How the finding that stands for findings left out begins ([`more_findings`]).
const MORE_FINDINGS: &str = "…另有 ";

/// The finding that stands for `count` findings left out.
pub(crate) fn more_findings(check: &str, requirement: &str, count: usize) -> Finding {
    Finding::new(
        check,
        requirement,
        format!("{MORE_FINDINGS}{count} 处同类问题 / … and {count} more findings of this kind"),
    )
}

/// Whether a finding stands for findings left out (a check kept only the first ones): whoever
/// gives findings to SKUs one by one (the sweep) must judge that answer again in smaller parts.
pub fn is_more_findings(finding: &Finding) -> bool {
    finding.pointer.is_none() && finding.message.starts_with(MORE_FINDINGS)
}

/// A check's findings as they are found: at most [`FINDINGS_CAP`] per requirement are kept, the
/// rest only counted (each dropped as soon as it is made), so that a million bad items never
/// pile up a million findings. Becomes the check's `Vec<Finding>`, with an "… and N more"
/// finding per requirement that had more.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    kept: Vec<Finding>,
    /// (check, requirement, kept, dropped) per requirement, in order of first appearance.
    tally: Vec<(String, String, usize, usize)>,
}

impl Findings {
    pub(crate) fn push(&mut self, finding: Finding) {
        let at = self.tally_of(&finding.check, &finding.requirement);
        let (_, _, kept, dropped) = &mut self.tally[at];
        if *kept < FINDINGS_CAP {
            *kept += 1;
            self.kept.push(finding);
        } else {
            *dropped += 1;
        }
    }

    /// Counts findings a check left out before they reached this collector.
    pub(crate) fn add_dropped(&mut self, check: &str, requirement: &str, count: usize) {
        if count > 0 {
            let at = self.tally_of(check, requirement);
            self.tally[at].3 += count;
        }
    }

    fn tally_of(&mut self, check: &str, requirement: &str) -> usize {
        match self.tally.iter().position(|(_, r, _, _)| r == requirement) {
            Some(at) => at,
            None => {
                self.tally
                    .push((check.to_string(), requirement.to_string(), 0, 0));
                self.tally.len() - 1
            }
        }
    }

    /// Findings kept so far.
    pub(crate) fn len(&self) -> usize {
        self.kept.len()
    }
}

impl Extend<Finding> for Findings {
    fn extend<I: IntoIterator<Item = Finding>>(&mut self, findings: I) {
        findings.into_iter().for_each(|f| self.push(f));
    }
}

impl From<Findings> for Vec<Finding> {
    fn from(findings: Findings) -> Vec<Finding> {
        let Findings { mut kept, tally } = findings;
        for (check, requirement, _, dropped) in tally {
            if dropped > 0 {
                kept.push(more_findings(&check, &requirement, dropped));
            }
        }
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::testkit::*;
    use super::*;
    use serde_json::json;

    /// Bodies a hostile or broken supplier may send: every one gives findings, none panics.
    fn hostile_bodies() -> Vec<Vec<u8>> {
        // Deep, yet within the default depth limit (64): parsed and judged.
        let deep_ok = format!(
            "{{\"success\":true,\"result\":{}{}}}",
            "[".repeat(60),
            "]".repeat(60)
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
                // `result` is 非必须 (§ 2.1): where the result schema allows none, no result is
                // a correct answer.
                let no_result = body.as_slice() == br#"{"success":true,"result":null}"#;
                if no_result
                    && profile()
                        .validate_result(&interface.id, &Value::Null)
                        .is_empty()
                {
                    continue;
                }
                // An answer beyond the parsing limits is not read: GEN-JSON says "not judged".
                let over_limit = runs
                    .iter()
                    .any(|r| r.check == ids::JSON && !r.unjudged.is_empty());
                assert!(
                    !all_findings(&runs).is_empty() || over_limit,
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
                // A body cut at the cap was not read: GEN-JSON is not judged, never passed.
                let truncated = exchange_truncated(&body);
                let runs = run_exchange(&interface.id, &truncated, sent, true);
                assert!(
                    runs.iter()
                        .any(|r| r.check == ids::JSON && !r.unjudged.is_empty()),
                    "a truncated {} answer was judged",
                    interface.id
                );
            }
        }
    }

    #[test]
    fn the_table_names_known_requirements_and_unique_ids() {
        let profile = profile();
        let mut seen = std::collections::HashSet::new();
        for check in CHECKS {
            assert!(seen.insert(check.id), "check id {} twice", check.id);
            for requirement in check.requirements {
                assert!(
                    profile.requirement(requirement).is_some(),
                    "{} names unknown requirement {requirement}",
                    check.id
                );
            }
        }
        assert!(validate_profile(profile).is_ok());
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
