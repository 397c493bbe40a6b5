//! The envelope `{success, desc, result}` (GEN-ENVELOPE), `desc` on failure
//! (GEN-DESC-ON-FAILURE) and the result schema of the interface (its `schema_requirement`).

use serde_json::Value;

use super::answer::Answer;
use super::{CheckRun, Finding, SCHEMA_FINDINGS_CAP, ids, walk};
use crate::profile::{Interface, Profile};

const ENVELOPE_REQ: &str = "GEN-ENVELOPE";
const DESC_REQ: &str = "GEN-DESC-ON-FAILURE";

pub(crate) fn envelope(profile: &Profile, answer: &Answer) -> CheckRun {
    let mut findings: Vec<Finding> = profile
        .validate_envelope(&answer.value)
        .into_iter()
        .map(|v| {
            let pointer = v.instance_pointer;
            let actual = answer
                .value
                .pointer(&pointer)
                .map(walk::text)
                .unwrap_or_default();
            Finding::new(
                ids::ENVELOPE,
                ENVELOPE_REQ,
                format!(
                    "返回基本结构不符 / envelope {{success, desc, result}} broken: {}",
                    v.message
                ),
            )
            .at(pointer)
            .expected("{\"success\": true|false, \"desc\": \"…\", \"result\": …}")
            .actual(actual)
        })
        .collect();
    // serde_json keeps one of the values: a mall parser may keep the other.
    for key in &answer.duplicate_keys {
        findings.push(
            Finding::new(
                ids::ENVELOPE,
                ENVELOPE_REQ,
                format!(
                    "顶层成员 {key} 出现多次 / top-level member {key:?} appears more than once"
                ),
            )
            .at(walk::child("", key)),
        );
    }
    CheckRun::new(ids::ENVELOPE, &[ENVELOPE_REQ], findings)
}

/// Runs only on `success: false`.
pub(crate) fn desc_on_failure(answer: &Answer) -> CheckRun {
    let has_reason = answer.desc().is_some_and(|d| !d.trim().is_empty());
    let findings = if has_reason {
        Vec::new()
    } else {
        let actual = answer
            .value
            .get("desc")
            .map(walk::text)
            .unwrap_or_else(|| super::MISSING.to_string());
        vec![
            Finding::new(
                ids::DESC_ON_FAILURE,
                DESC_REQ,
                "调用失败但 desc 没有说明原因 / success is false but desc gives no reason",
            )
            .at("/desc")
            .expected("非空的失败原因 / a non-empty reason")
            .actual(actual),
        ]
    };
    CheckRun::new(ids::DESC_ON_FAILURE, &[DESC_REQ], findings)
}

/// One finding per violation of the interface's result schema, the first
/// [`SCHEMA_FINDINGS_CAP`] of them and a count of the rest.
pub(crate) fn schema(profile: &Profile, interface: &Interface, result: &Value) -> CheckRun {
    let (violations, total) =
        profile.validate_result_kept(&interface.id, result, SCHEMA_FINDINGS_CAP);
    let findings = violations
        .into_iter()
        .take(SCHEMA_FINDINGS_CAP)
        .map(|v| {
            let actual = result.pointer(&v.instance_pointer).map(walk::text);
            violation_finding(interface, &v, actual, &v.instance_pointer)
        })
        .collect();
    schema_run(interface, findings, total)
}

/// The finding of one schema violation, at `/result<pointer>`.
pub(crate) fn violation_finding(
    interface: &Interface,
    v: &crate::profile::Violation,
    actual: Option<String>,
    pointer: &str,
) -> Finding {
    let mut f = Finding::new(
        ids::SCHEMA,
        interface.schema_requirement.as_str(),
        format!(
            "result 不符合 {} 的结构 / result does not match the schema of {}: {} (schema {})",
            interface.id,
            interface.id,
            walk::shorten(&v.message, 300),
            v.schema_path
        ),
    )
    .at(format!("/result{pointer}"));
    f.actual = actual;
    f
}

/// The schema run: the findings kept, and one "… and N more" for the rest of `total`.
pub(crate) fn schema_run(
    interface: &Interface,
    mut findings: Vec<Finding>,
    total: usize,
) -> CheckRun {
    let requirement = interface.schema_requirement.as_str();
    let more = total.saturating_sub(findings.len());
    if more > 0 {
        findings.push(super::more_findings(ids::SCHEMA, requirement, more));
    }
    CheckRun::new(ids::SCHEMA, &[requirement], findings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::*;
    use serde_json::json;

    #[test]
    fn a_valid_envelope_passes() {
        let runs = run_result("skus", json!(["1", "2"]), json!({"catalog_id": "A0101"}));
        passes(&runs, ids::ENVELOPE);
        passes(&runs, ids::SCHEMA);
        assert!(runs.iter().all(|r| r.check != ids::DESC_ON_FAILURE));
    }

    #[test]
    fn string_success_fails_at_success_and_skips_result_checks() {
        let runs = run_body(
            "skus",
            br#"{"success":"true","result":["1","1"]}"#,
            json!({}),
        );
        let f = one(&runs, ids::ENVELOPE, "GEN-ENVELOPE", "/success");
        assert_eq!(f.actual.as_deref(), Some("true"));
        assert!(
            runs.iter()
                .all(|r| r.check != ids::SCHEMA && r.check != ids::SKU_LIST)
        );
    }

    #[test]
    fn top_level_array_and_duplicate_success_fail() {
        let runs = run_body("skus", b"[1,2]", json!({}));
        one(&runs, ids::ENVELOPE, "GEN-ENVELOPE", "");
        let runs = run_body(
            "skus",
            br#"{"success":false,"success":true,"result":[]}"#,
            json!({}),
        );
        one(&runs, ids::ENVELOPE, "GEN-ENVELOPE", "/success");
    }

    #[test]
    fn failure_needs_a_desc() {
        let runs = run_body(
            "pools",
            br#"{"success":false,"desc":"token_expired"}"#,
            json!({}),
        );
        passes(&runs, ids::DESC_ON_FAILURE);
        let runs = run_body("pools", br#"{"success":false,"desc":"  "}"#, json!({}));
        one(&runs, ids::DESC_ON_FAILURE, "GEN-DESC-ON-FAILURE", "/desc");
        let runs = run_body("pools", br#"{"success":false,"result":null}"#, json!({}));
        let f = one(&runs, ids::DESC_ON_FAILURE, "GEN-DESC-ON-FAILURE", "/desc");
        assert!(f.actual.as_deref().unwrap_or("").contains("missing"));
    }

    #[test]
    fn expected_refusal_runs_no_result_checks() {
        let e = exchange(200, &ok_body(&json!(["1", "1"])));
        let runs = run_exchange("skus", &e, json!({}), false);
        assert!(
            runs.iter()
                .all(|r| r.check != ids::SCHEMA && r.check != ids::SKU_LIST)
        );
        passes(&runs, ids::ENVELOPE);
    }

    #[test]
    fn schema_violation_names_the_interface_requirement_and_pointer() {
        let result = json!([{"sku": "1", "price": [12.50], "market_price": 20}]);
        let runs = run_result("prices", result, json!({"sku": "1"}));
        let f = one(&runs, ids::SCHEMA, "PRC-BATCH", "/result/0/price");
        assert_eq!(f.actual.as_deref(), Some("[12.5]"));
    }

    #[test]
    fn schema_findings_are_capped() {
        let items: Vec<_> = (0..50).map(|i| json!({"sku": i.to_string()})).collect();
        let runs = run_result("shelf_states", json!(items), json!({}));
        let f = findings_of(&runs, ids::SCHEMA);
        assert_eq!(f.len(), SCHEMA_FINDINGS_CAP + 1);
        assert!(
            f[SCHEMA_FINDINGS_CAP].message.contains("and 30 more"),
            "{}",
            f[SCHEMA_FINDINGS_CAP].message
        );
    }
}
