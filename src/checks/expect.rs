//! A scenario step's own expectations (`expect:` in YAML): success or refusal, `desc` contents and
//! values at JSON pointers, judged on the answer in logical field names. The runner renders the
//! templates first; this module only compares.

use serde_json::Value;

use super::{CheckRun, Finding, decimal_of, ids};
use crate::scenario::model::{Expect, ValueExpect};

/// What a step expected, already rendered, and what it is about.
pub struct StepExpectation<'a> {
    pub expect: &'a Expect,
    /// The requirements the step names (its expectations count against them unless one names
    /// its own).
    pub requirements: &'a [String],
    /// `"title zh / title en: "`, or empty.
    pub title: String,
    /// Set when the call was made one no supplier can fulfil (a token check of an order
    /// interface on a target not cleared for orders), to the expired-token marker: a refusal
    /// then proves the token was checked only when its desc carries the marker; otherwise it
    /// may be about the unknown SKU or order, and the step is not judged.
    pub harmless_marker: Option<&'a str>,
}

/// Judges every expectation of a step on what the judge made of its exchange: an answer that
/// came but was not read (beyond a limit) leaves every expectation not judged.
pub fn judge_step_expectations(
    step: &StepExpectation<'_>,
    judged: &super::Judged,
    no_answer: &str,
) -> Vec<CheckRun> {
    match &judged.unread {
        Some(why) => {
            let requirements: Vec<&str> = step.requirements.iter().map(String::as_str).collect();
            vec![CheckRun::not_judged(
                ids::EXPECT,
                &requirements,
                format!(
                    "{}答案未读取，无从判定 / the answer was not read: {why}",
                    step.title
                ),
            )]
        }
        None => {
            let answer = judged.value();
            if let Some(marker) = step.harmless_marker
                && let Some(answer) = answer
                && answer.get("success") == Some(&Value::Bool(false))
                && !answer
                    .get("desc")
                    .and_then(Value::as_str)
                    .is_some_and(|desc| desc.contains(marker))
            {
                let requirements: Vec<&str> =
                    step.requirements.iter().map(String::as_str).collect();
                return vec![CheckRun::not_judged(
                    ids::EXPECT,
                    &requirements,
                    format!(
                        "{}拒绝了无法履行的调用，但 desc 不含过期标记 {marker:?}，无从判定是否校验了 token / the call was made one no supplier can fulfil (the target is not cleared for orders) and was refused without the marker {marker:?}: the refusal may be about the unknown SKU or order, not the token; run with --allow-orders against a test environment to judge it",
                        step.title
                    ),
                )];
            }
            judge_expectations(step, answer, no_answer)
        }
    }
}

/// Judges every expectation of a step. `answer` is the parsed answer (logical names); `no_answer`
/// says why there is none (a transport error, a body that is not JSON).
pub fn judge_expectations(
    step: &StepExpectation<'_>,
    answer: Option<&Value>,
    no_answer: &str,
) -> Vec<CheckRun> {
    let expect = step.expect;
    let title = &step.title;
    let mut runs = Vec::new();
    let success = answer
        .and_then(|a| a.get("success"))
        .and_then(Value::as_bool);
    let whole_desc = answer
        .and_then(|a| a.get("desc"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    // For messages: a desc may be megabytes.
    let desc = crate::excerpt::shorten(whole_desc, 200);
    let owned = |owners: Vec<String>, finding: Option<Finding>| {
        let requirements: Vec<&str> = owners.iter().map(String::as_str).collect();
        let findings: Vec<Finding> = finding
            .map(|f| {
                owners
                    .iter()
                    .map(|r| Finding {
                        requirement: r.clone(),
                        ..f.clone()
                    })
                    .collect()
            })
            .unwrap_or_default();
        CheckRun::new(ids::EXPECT, &requirements, findings)
    };
    if let Some(expected) = expect.success {
        let finding = (success != Some(expected)).then(|| {
            let actual = match success {
                Some(s) => format!("success = {s}; desc = {desc:?}"),
                None => format!("no usable answer ({no_answer})"),
            };
            let message = if expected {
                format!("{title}应当成功 / expected success, got {actual}")
            } else {
                format!("{title}应当被拒绝 / expected a refusal (success: false), got {actual}")
            };
            expectation("/success", message, format!("success = {expected}"), actual)
        });
        runs.push(owned(step.requirements.to_vec(), finding));
    }
    if let Some(needle) = &expect.desc_contains {
        let finding = (!whole_desc.contains(needle.as_str())).then(|| {
            expectation(
                "/desc",
                format!(
                    "{title}desc 应包含 {needle:?} / desc must contain {needle:?}, got {desc:?}"
                ),
                format!("desc contains {needle:?}"),
                format!("{desc:?}"),
            )
        });
        runs.push(owned(step.requirements.to_vec(), finding));
    }
    // A refused call has no values to look at: what would follow from them (a refused detail
    // "is the detail of another SKU") is not a second finding, only not judged.
    let refused = expect.success == Some(true) && success != Some(true);
    for value in &expect.values {
        let owners = match &value.requirement {
            Some(r) => vec![r.clone()],
            None => step.requirements.to_vec(),
        };
        if refused {
            let requirements: Vec<&str> = owners.iter().map(String::as_str).collect();
            runs.push(CheckRun::not_judged(
                ids::EXPECT,
                &requirements,
                format!("{title}调用未成功，{} 无从判定 / the call did not succeed, so {} cannot be judged", value.at, value.at),
            ));
            continue;
        }
        runs.push(owned(owners, judge_value(value, answer, title)));
    }
    runs
}

fn expectation(pointer: &str, message: String, expected: String, actual: String) -> Finding {
    Finding::new(ids::EXPECT, "", message)
        .at(pointer)
        .expected(expected)
        .actual(actual)
}

/// Exact comparison of JSON values: numbers by decimal value (19.9 equals 19.90); values of
/// different types differ (a state "0" is not the state 0).
pub fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => match (decimal_of(a), decimal_of(b)) {
            (Some(x), Some(y)) => x == y,
            _ => a == b,
        },
        _ => a == b,
    }
}

/// One expectation on the value at `expect.at` (rendered): `None` when it holds.
pub fn judge_value(expect: &ValueExpect, answer: Option<&Value>, title: &str) -> Option<Finding> {
    let pointer = expect.at.as_str();
    let actual = answer.and_then(|a| a.pointer(pointer));
    if expect.if_present && actual.is_none() {
        return None;
    }
    let shown = actual
        .map(|v| super::walk::shorten(&v.to_string(), 200))
        .unwrap_or_else(|| "(absent)".into());
    let fail = |what: String, expected: String| {
        Some(expectation(
            pointer,
            format!("{title}{pointer}: {what}"),
            expected,
            shown.clone(),
        ))
    };
    if let Some(exists) = expect.exists
        && exists != actual.is_some()
    {
        return if exists {
            fail("缺少 / missing".into(), "present".into())
        } else {
            fail("不应存在 / should be absent".into(), "absent".into())
        };
    }
    if let Some(expected) = &expect.equals
        && !actual.is_some_and(|a| same(a, expected))
    {
        return fail(format!("应为 / expected {expected}"), expected.to_string());
    }
    if let Some(unexpected) = &expect.not_equals
        && actual.is_some_and(|a| same(a, unexpected))
    {
        return fail(
            format!("不应为 / must not be {unexpected}"),
            format!("≠ {unexpected}"),
        );
    }
    if let Some(options) = &expect.one_of
        && !actual.is_some_and(|a| options.iter().any(|o| same(a, o)))
    {
        let list = Value::Array(options.clone()).to_string();
        return fail(
            format!("应为其一 / expected one of {list}"),
            format!("one of {list}"),
        );
    }
    if let Some(keys) = &expect.has_keys {
        let object = actual.and_then(Value::as_object);
        let missing: Vec<&str> = keys
            .iter()
            .map(String::as_str)
            .filter(|k| !object.is_some_and(|m| m.contains_key(*k)))
            .collect();
        if !missing.is_empty() {
            return fail(
                format!("缺少 / missing keys: {}", missing.join("、")),
                format!("has {}", keys.join("、")),
            );
        }
    }
    if let Some(needle) = &expect.contains {
        let found = match (actual, needle) {
            (Some(Value::Array(items)), n) => items.iter().any(|i| same(i, n)),
            (Some(Value::String(s)), Value::String(n)) => s.contains(n.as_str()),
            _ => false,
        };
        if !found {
            return fail(
                format!("应包含 / must contain {needle}"),
                format!("contains {needle}"),
            );
        }
    }
    if let Some(min) = expect.min_items {
        let len = match actual {
            Some(Value::Array(items)) => items.len(),
            Some(Value::Object(map)) => map.len(),
            _ => 0,
        };
        if len < min {
            return fail(
                format!("至少 {min} 项 / needs at least {min} items, has {len}"),
                format!("≥ {min} items"),
            );
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn number(text: &str) -> Value {
        serde_json::from_str(text).unwrap_or(Value::Null)
    }

    #[test]
    fn numbers_compare_exactly_and_types_do_not_mix() {
        assert!(same(&number("19.9"), &number("19.90")));
        assert!(!same(&number("19.9"), &number("19.91")));
        assert!(!same(&json!("0"), &json!(0)));
        assert!(!same(&json!(-2), &json!("-2")));
        assert!(same(&json!("A0101"), &json!("A0101")));
    }

    #[test]
    fn a_refusal_expected_and_a_success_got_fails_every_owner() {
        let expect = Expect {
            success: Some(false),
            desc_contains: None,
            values: vec![ValueExpect {
                equals: Some(json!(-2)),
                requirement: Some("ORD-QUERY".into()),
                ..ValueExpect::at("/result/state")
            }],
        };
        let requirements = vec!["ORD-CANCEL".to_string(), "ORD-CONFIRM".to_string()];
        let step = StepExpectation {
            expect: &expect,
            requirements: &requirements,
            title: String::new(),
            harmless_marker: None,
        };
        let answer = json!({"success": true, "result": {"state": 0}});
        let runs = judge_expectations(&step, Some(&answer), "");
        let failed: Vec<&str> = runs
            .iter()
            .flat_map(|r| r.findings.iter().map(|f| f.requirement.as_str()))
            .collect();
        assert_eq!(failed, vec!["ORD-CANCEL", "ORD-CONFIRM", "ORD-QUERY"]);
        let answer = json!({"success": false, "desc": "no", "result": {"state": -2}});
        let runs = judge_expectations(&step, Some(&answer), "");
        assert!(runs.iter().all(|r| r.findings.is_empty()));
    }

    #[test]
    fn a_refused_detail_is_not_also_the_detail_of_another_sku() {
        let expect = Expect {
            success: Some(true),
            desc_contains: None,
            values: vec![ValueExpect {
                equals: Some(json!("100")),
                requirement: Some("DET-SAME-SKU".into()),
                ..ValueExpect::at("/result/sku")
            }],
        };
        let requirements = vec!["DET-FIELDS".to_string()];
        let step = StepExpectation {
            expect: &expect,
            requirements: &requirements,
            title: String::new(),
            harmless_marker: None,
        };
        let answer = json!({"success": false, "desc": "no such sku"});
        let runs = judge_expectations(&step, Some(&answer), "");
        let failed: Vec<&str> = runs
            .iter()
            .flat_map(|r| r.findings.iter().map(|f| f.requirement.as_str()))
            .collect();
        assert_eq!(failed, vec!["DET-FIELDS"]);
        assert!(
            runs.iter()
                .any(|r| r.unjudged.iter().any(|u| u.requirement == "DET-SAME-SKU"))
        );
    }

    #[test]
    fn if_present_judges_only_what_is_there() {
        let expect = ValueExpect {
            equals: Some(json!("S1")),
            if_present: true,
            ..ValueExpect::at("/result/order_id")
        };
        assert!(judge_value(&expect, Some(&json!({"success": false})), "").is_none());
        assert!(judge_value(&expect, Some(&json!({"result": {"order_id": "S2"}})), "").is_some());
    }
}
