//! Synthetic exchanges and shortcuts for the checks' unit tests.

use std::sync::OnceLock;

use serde_json::{Map, Value, json};

use super::{CheckRun, ExchangeInput, Finding, judge_exchange};
use crate::exchange::{Exchange, RecordedRequest, RecordedResponse, TransportError};
use crate::profile::Profile;

pub(crate) fn profile() -> &'static Profile {
    static PROFILE: OnceLock<Profile> = OnceLock::new();
    PROFILE.get_or_init(|| Profile::embedded().expect("the embedded profile loads"))
}

fn request() -> RecordedRequest {
    RecordedRequest {
        method: "POST".to_string(),
        url: "http://supplier.test/api".to_string(),
        content_type: "application/x-www-form-urlencoded".to_string(),
        params: Vec::new(),
    }
}

pub(crate) fn exchange_with(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Exchange {
    Exchange {
        id: 1,
        interface: "test".to_string(),
        request: request(),
        response: Some(RecordedResponse {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.to_vec(),
            truncated: false,
            full_body: None,
        }),
        error: None,
        // 2025-06-01 21:30:00 +08:00
        started_at_ms: 1_748_784_600_000,
        duration_ms: 12,
    }
}

pub(crate) fn exchange(status: u16, body: &[u8]) -> Exchange {
    exchange_with(status, &[("Content-Type", "application/json")], body)
}

pub(crate) fn exchange_truncated(body: &[u8]) -> Exchange {
    let mut e = exchange(200, body);
    if let Some(r) = e.response.as_mut() {
        r.truncated = true;
    }
    e
}

pub(crate) fn exchange_error(error: TransportError) -> Exchange {
    let mut e = exchange(200, b"");
    e.response = None;
    e.error = Some(error);
    e
}

/// A successful envelope around `result`, compact.
pub(crate) fn ok_body(result: &Value) -> Vec<u8> {
    json!({"success": true, "desc": "", "result": result})
        .to_string()
        .into_bytes()
}

pub(crate) fn params(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// All checks on one answer of `interface_id`, expecting a success.
pub(crate) fn run_body(interface_id: &str, body: &[u8], sent: Value) -> Vec<CheckRun> {
    run_exchange(interface_id, &exchange(200, body), sent, true)
}

pub(crate) fn run_exchange(
    interface_id: &str,
    exchange: &Exchange,
    sent: Value,
    expect_success: bool,
) -> Vec<CheckRun> {
    let profile = profile();
    let interface = profile
        .interface(interface_id)
        .expect("interface of the profile");
    let params = params(sent);
    judge_exchange(&ExchangeInput {
        profile,
        interface,
        exchange,
        params: &params,
        expect_success,
        token_first_issued_ms: None,
        latency_bound_ms: 1_000,
        limits: crate::checks::AnswerLimits::default(),
    })
    .runs
}

/// All checks on a successful answer whose result is `result`.
pub(crate) fn run_result(interface_id: &str, result: Value, sent: Value) -> Vec<CheckRun> {
    run_body(interface_id, &ok_body(&result), sent)
}

/// The run of one check (panics when it did not run).
pub(crate) fn run_of<'r>(runs: &'r [CheckRun], check: &str) -> &'r CheckRun {
    runs.iter()
        .find(|r| r.check == check)
        .unwrap_or_else(|| panic!("check {check} did not run: {runs:#?}"))
}

/// The findings of one check (panics when it did not run).
pub(crate) fn findings_of<'r>(runs: &'r [CheckRun], check: &str) -> &'r [Finding] {
    &run_of(runs, check).findings
}

/// Every finding of every check.
pub(crate) fn all_findings(runs: &[CheckRun]) -> Vec<&Finding> {
    runs.iter().flat_map(|r| r.findings.iter()).collect()
}

/// Asserts exactly one finding of `check` with this requirement and pointer; returns it.
pub(crate) fn one<'r>(
    runs: &'r [CheckRun],
    check: &str,
    requirement: &str,
    pointer: &str,
) -> &'r Finding {
    let found: Vec<&Finding> = findings_of(runs, check)
        .iter()
        .filter(|f| f.requirement == requirement && f.pointer.as_deref() == Some(pointer))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one {requirement} at {pointer} from {check}: {runs:#?}"
    );
    found[0]
}

/// Asserts the check ran and found nothing.
pub(crate) fn passes(runs: &[CheckRun], check: &str) {
    let f = findings_of(runs, check);
    assert!(f.is_empty(), "{check} should pass: {f:#?}");
}
