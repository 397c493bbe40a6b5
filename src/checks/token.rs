//! The token answer: a token is issued (TOK-ISSUE) and its stated lifetime is 36 h
//! (TOK-TTL-36H).

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};
use serde_json::Value;

use super::{CheckRun, ExchangeInput, Finding, decimal_of, ids, walk};

const ISSUE_REQ: &str = "TOK-ISSUE";
const TTL_REQ: &str = "TOK-TTL-36H";
/// Slack on `expires_in` (seconds).
const EXPIRES_IN_SLACK: i64 = 60;
/// Slack on `expires_at` against the clock (seconds): clocks and rounding differ a little.
const EXPIRES_AT_SLACK: i64 = 600;

pub(crate) fn token_issued(result: &Value) -> CheckRun {
    let token = result.get("access_token");
    let ok = token
        .and_then(Value::as_str)
        .is_some_and(|t| !t.trim().is_empty());
    let findings =
        if ok {
            Vec::new()
        } else {
            vec![
            Finding::new(
                ids::TOKEN_ISSUED,
                ISSUE_REQ,
                "成功的授权响应没有 access_token / a successful token answer holds no access_token",
            )
            .at("/result/access_token")
            .expected("非空字符串 / a non-empty string")
            .actual(token.map(walk::text).unwrap_or_else(|| super::MISSING.to_string())),
        ]
        };
    CheckRun::new(ids::TOKEN_ISSUED, &[ISSUE_REQ], findings)
}

/// `None` when the answer states no lifetime at all.
pub(crate) fn token_lifetime(input: &ExchangeInput<'_>, result: &Value) -> Option<CheckRun> {
    if let Some(first) = input.token_first_issued_ms {
        // The same token as before: only what is left of its 36 hours can be judged.
        return token_lifetime_again(input, result, first);
    }
    let expires_in = result.get("expires_in");
    let expires_at = result.get("expires_at");
    if expires_in.is_none() && expires_at.is_none() {
        return None;
    }
    let settings = &input.profile.settings;
    let ttl = settings.token_ttl_seconds;
    let mut findings = Vec::new();
    if let Some(value) = expires_in {
        let seconds = decimal_of(value);
        let within = seconds.is_some_and(|s| {
            let ttl = rust_decimal::Decimal::from(ttl);
            let slack = rust_decimal::Decimal::from(EXPIRES_IN_SLACK);
            s >= ttl - slack && s <= ttl + slack
        });
        if !within {
            findings.push(
                Finding::new(
                    ids::TOKEN_LIFETIME,
                    TTL_REQ,
                    format!(
                        "token 有效期应为 {ttl} 秒（36 小时） / token lifetime must be {ttl} s (36 h): expires_in {}",
                        walk::text(value)
                    ),
                )
                .at("/result/expires_in")
                .expected(format!("{ttl} ± {EXPIRES_IN_SLACK}"))
                .actual(walk::text(value)),
            );
        }
    }
    if let Some(value) = expires_at {
        findings.extend(judge_expires_at(input, value, ttl));
    }
    Some(CheckRun::new(ids::TOKEN_LIFETIME, &[TTL_REQ], findings))
}

/// TOK-TTL-36H for a token the supplier handed out before (it answers a token call with the
/// still-valid token): its lifetime runs from the first issue, so what is left is at most 36 h
/// and the stated end is at most 36 h after that first issue, and still ahead.
fn token_lifetime_again(
    input: &ExchangeInput<'_>,
    result: &Value,
    first_issued_ms: u64,
) -> Option<CheckRun> {
    let settings = &input.profile.settings;
    let ttl = settings.token_ttl_seconds;
    let mut findings = Vec::new();
    if let Some(value) = result.get("expires_in") {
        let ok = decimal_of(value).is_some_and(|s| {
            s > rust_decimal::Decimal::ZERO
                && s <= rust_decimal::Decimal::from(ttl + EXPIRES_IN_SLACK)
        });
        if !ok {
            findings.push(
                Finding::new(
                    ids::TOKEN_LIFETIME,
                    TTL_REQ,
                    format!("再次发放的 token 剩余有效期应在 0 与 {ttl} 秒之间 / a token handed out again must have between 0 and {ttl} s left: expires_in {}", walk::text(value)),
                )
                .at("/result/expires_in")
                .actual(walk::text(value)),
            );
        }
    }
    if let Some(value) = result.get("expires_at") {
        let offset = FixedOffset::east_opt(settings.utc_offset_seconds)?;
        let stated = value
            .as_str()
            .and_then(|t| NaiveDateTime::parse_from_str(t, &settings.timestamp_format).ok())
            .and_then(|naive| offset.from_local_datetime(&naive).single())
            .map(|d| d.with_timezone(&Utc).timestamp());
        let first = i64::try_from(first_issued_ms / 1000).ok()?;
        let now = i64::try_from(input.exchange.started_at_ms / 1000).ok()?;
        let ok = stated
            .is_some_and(|at| at > now - EXPIRES_AT_SLACK && at <= first + ttl + EXPIRES_AT_SLACK);
        if !ok {
            findings.push(
                Finding::new(
                    ids::TOKEN_LIFETIME,
                    TTL_REQ,
                    format!("再次发放的 token 的 expires_at 应在首次发放后 36 小时内且未过期 / a token handed out again must end within 36 h of its first issue, and not be past: {}", walk::text(value)),
                )
                .at("/result/expires_at")
                .actual(walk::text(value)),
            );
        }
    }
    Some(CheckRun::new(ids::TOKEN_LIFETIME, &[TTL_REQ], findings))
}

fn judge_expires_at(input: &ExchangeInput<'_>, value: &Value, ttl: i64) -> Option<Finding> {
    let settings = &input.profile.settings;
    let offset = FixedOffset::east_opt(settings.utc_offset_seconds)?;
    let text = value.as_str()?;
    let finding = |message: String| {
        Finding::new(ids::TOKEN_LIFETIME, TTL_REQ, message)
            .at("/result/expires_at")
            .actual(walk::text(value))
    };
    let Some(stated) = NaiveDateTime::parse_from_str(text, &settings.timestamp_format)
        .ok()
        .and_then(|naive| offset.from_local_datetime(&naive).single())
    else {
        return Some(
            finding(format!(
                "expires_at 不是 {} 格式的时间 / expires_at is not a time in the format {}: {}",
                settings.timestamp_format,
                settings.timestamp_format,
                walk::shorten(text, 40)
            ))
            .expected(settings.timestamp_format.clone()),
        );
    };
    // When was it issued? The supplier's Date header, the timestamp it accepted in the request
    // (the supplier's own clock, which the reference supplier can move), or our clock at the
    // call. A stated expiry that fits any of them is right; one that fits none is wrong.
    let mut bases: Vec<(DateTime<Utc>, &str)> = Vec::new();
    if let Some(date) = supplier_date(input) {
        bases.push((date, "响应 Date 头 / the Date header"));
    }
    if let Some(sent) = request_timestamp(input, &offset) {
        bases.push((sent, "请求 timestamp / the request's timestamp"));
    }
    let started = i64::try_from(input.exchange.started_at_ms).ok()?;
    bases.push((
        DateTime::<Utc>::from_timestamp_millis(started)?,
        "调用开始时间 / the call's start",
    ));
    let ttl_delta = chrono::TimeDelta::try_seconds(ttl)?;
    let mut closest: Option<(i64, DateTime<Utc>, &str)> = None;
    for (issued, clock) in bases {
        let expected = issued.checked_add_signed(ttl_delta)?;
        let off_by = (stated.with_timezone(&Utc) - expected).num_seconds();
        if off_by.abs() <= EXPIRES_AT_SLACK {
            return None;
        }
        if closest.is_none_or(|(best, _, _)| off_by.abs() < best.abs()) {
            closest = Some((off_by, expected, clock));
        }
    }
    let (off_by, expected, clock) = closest?;
    let expected_text = expected
        .with_timezone(&offset)
        .format(&settings.timestamp_format)
        .to_string();
    let hours = off_by as f64 / 3600.0;
    if stated.timestamp_millis() <= started {
        // The harness does not refetch in a loop on it (it waits for token_expired), but the
        // supplier's clients would.
        return Some(
            finding(format!(
                "expires_at 在签发时已经过去 / the stated expiry was already past when the token was issued: {text}, expected {expected_text} ± 10 min (issue time from {clock}); a mall would fetch a new token before every call"
            ))
            .expected(expected_text),
        );
    }
    Some(
        finding(format!(
            "expires_at 与签发时间 + 36 小时相差 {hours:+.2} 小时 / expires_at is {hours:+.2} h off issue time + 36 h: {text}, expected {expected_text} ± 10 min (issue time from {clock})"
        ))
        .expected(expected_text),
    )
}

fn request_timestamp(input: &ExchangeInput<'_>, offset: &FixedOffset) -> Option<DateTime<Utc>> {
    let (_, text) = input
        .exchange
        .request
        .params
        .iter()
        .find(|(k, _)| k == "timestamp")?;
    let naive =
        NaiveDateTime::parse_from_str(text, &input.profile.settings.timestamp_format).ok()?;
    offset
        .from_local_datetime(&naive)
        .single()
        .map(|d| d.with_timezone(&Utc))
}

fn supplier_date(input: &ExchangeInput<'_>) -> Option<DateTime<Utc>> {
    let header = input.exchange.response.as_ref()?.header("Date")?;
    DateTime::parse_from_rfc2822(header.trim())
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// How old a token saved by an earlier run is, against the 36 hours.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SavedTokenAge {
    /// Past 36 h (and a margin): it must be refused with the expired marker.
    Expired { hours: f64 },
    /// Well within 36 h: it must still be accepted.
    Young { hours: f64 },
}

/// Margin around the 36 h edge within which a saved token is not judged (clocks differ).
const SAVED_MARGIN_MS: i64 = 10 * 60 * 1000;

/// Whether a token issued at `issued_ms` can be judged at `now_ms`; near the edge it cannot.
pub fn saved_token_age(
    now_ms: i64,
    issued_ms: i64,
    ttl_ms: i64,
) -> Result<SavedTokenAge, CheckRun> {
    let age = now_ms - issued_ms;
    let hours = age as f64 / 3_600_000.0;
    if age >= ttl_ms + SAVED_MARGIN_MS {
        Ok(SavedTokenAge::Expired { hours })
    } else if age <= ttl_ms - SAVED_MARGIN_MS {
        Ok(SavedTokenAge::Young { hours })
    } else {
        Err(CheckRun::not_judged(
            ids::SAVED_TOKEN_LIFETIME,
            &[TTL_REQ],
            format!(
                "保存的 token 签发于 {hours:.1} 小时前，接近 36 小时边界 / the saved token is {hours:.1} h old, too near the 36 h edge; run again later"
            ),
        ))
    }
}

/// A token was saved for a later run to judge: nothing is judged yet.
pub fn saved_token_pending() -> CheckRun {
    CheckRun::not_judged(
        ids::CLOCK_ONLY,
        &[TTL_REQ],
        "已保存本次 token，36 小时后再运行以检查失效 / token saved in the state folder; a run 36 h or more later checks that it is refused",
    )
}

/// TOK-TTL-36H across runs: the answer to a call made with a saved token of the given age.
pub fn saved_token_verdict(
    age: SavedTokenAge,
    success: Option<bool>,
    desc: &str,
    marker: &str,
) -> CheckRun {
    let desc = walk::shorten(desc, 200);
    let finding = match age {
        SavedTokenAge::Expired { hours } => {
            let refused = success == Some(false) && desc.contains(marker);
            (!refused).then(|| format!("{hours:.1} 小时前签发的 token 仍未失效或未标记 / a token issued {hours:.1} h ago must be refused with {marker:?}; got success = {success:?}, desc = {desc:?}"))
        }
        SavedTokenAge::Young { hours } => (success != Some(true)).then(|| format!("{hours:.1} 小时前签发的 token 已被拒绝 / a token issued {hours:.1} h ago (< 36 h) was refused: desc = {desc:?}")),
    };
    let findings: Vec<Finding> = finding
        .map(|message| Finding::new(ids::SAVED_TOKEN_LIFETIME, TTL_REQ, message))
        .into_iter()
        .collect();
    CheckRun::new(ids::SAVED_TOKEN_LIFETIME, &[TTL_REQ], findings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::*;
    use serde_json::json;

    // The test exchanges start at 2025-06-01 21:30:00 +08:00; + 36 h = 2025-06-03 09:30:00.
    fn token(result: Value) -> Vec<crate::checks::CheckRun> {
        run_result("token", result, json!({"username": "u"}))
    }

    #[test]
    fn thirty_six_hours_passes() {
        let runs = token(
            json!({"access_token": "abc", "expires_at": "2025-06-03 09:35:00", "expires_in": 129600}),
        );
        passes(&runs, ids::TOKEN_LIFETIME);
        passes(&runs, ids::TOKEN_ISSUED);
        passes(&runs, ids::SCHEMA);
    }

    #[test]
    fn an_expiry_already_past_at_issue_says_so() {
        let runs = token(json!({"access_token": "abc", "expires_at": "2025-06-01 08:00:00"}));
        let found = findings_of(&runs, ids::TOKEN_LIFETIME);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].message.contains("already past"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn a_token_handed_out_again_is_judged_from_its_first_issue() {
        // The call starts 2025-06-01 21:30 CST; the same token was first issued an hour earlier.
        let first_ms = 1_748_784_600_000 - 3_600_000;
        let judge = |result: Value| {
            let e = exchange(200, &ok_body(&result));
            let sent = params(json!({}));
            let input = ExchangeInput {
                profile: profile(),
                interface: profile().interface("token").expect("token"),
                exchange: &e,
                params: &sent,
                expect_success: true,
                token_first_issued_ms: Some(first_ms),
                latency_bound_ms: 1_000,
                limits: crate::checks::AnswerLimits::default(),
            };
            token_lifetime(&input, &result).expect("a lifetime is stated")
        };
        // 35 h left, ending 36 h after the first issue: right.
        let run = judge(
            json!({"access_token": "abc", "expires_at": "2025-06-03 08:30:00", "expires_in": 126000}),
        );
        assert!(run.findings.is_empty(), "{:?}", run.findings);
        // A fresh 36 h from now ends 37 h after the first issue: the lifetime was extended.
        let run = judge(json!({"access_token": "abc", "expires_at": "2025-06-03 09:30:00"}));
        assert_eq!(run.findings.len(), 1, "extends past the first issue + 36 h");
        let run = judge(json!({"access_token": "abc", "expires_at": "2025-06-01 20:00:00"}));
        assert_eq!(run.findings.len(), 1, "already past");
        let run = judge(json!({"access_token": "abc", "expires_in": 200000}));
        assert_eq!(
            run.findings[0].pointer.as_deref(),
            Some("/result/expires_in")
        );
    }

    #[test]
    fn date_header_is_the_issue_time() {
        let e = exchange_with(
            200,
            &[("Date", "Mon, 02 Jun 2025 01:30:00 GMT")],
            &ok_body(&json!({"access_token": "abc", "expires_at": "2025-06-03 21:30:00"})),
        );
        let runs = run_exchange("token", &e, json!({}), true);
        passes(&runs, ids::TOKEN_LIFETIME);
    }

    #[test]
    fn two_hours_fails() {
        let runs = token(
            json!({"access_token": "abc", "expires_at": "2025-06-01 23:30:00", "expires_in": 7200}),
        );
        let f = one(
            &runs,
            ids::TOKEN_LIFETIME,
            "TOK-TTL-36H",
            "/result/expires_in",
        );
        assert!(f.message.contains("expires_in 7200"), "{}", f.message);
        let f = one(
            &runs,
            ids::TOKEN_LIFETIME,
            "TOK-TTL-36H",
            "/result/expires_at",
        );
        assert_eq!(f.expected.as_deref(), Some("2025-06-03 09:30:00"));
        assert!(f.message.contains("-34.00 h"), "{}", f.message);
    }

    #[test]
    fn unparsable_expiry_fails() {
        let body = r#"{"success":true,"result":{"access_token":"abc","expires_at":"2025/06/03","expires_in":1e400}}"#;
        let runs = run_body("token", body.as_bytes(), json!({}));
        one(
            &runs,
            ids::TOKEN_LIFETIME,
            "TOK-TTL-36H",
            "/result/expires_at",
        );
        one(
            &runs,
            ids::TOKEN_LIFETIME,
            "TOK-TTL-36H",
            "/result/expires_in",
        );
    }

    #[test]
    fn missing_token_fails_issue() {
        let runs = token(json!({"access_token": "", "expires_at": "2025-06-03 09:30:00"}));
        one(
            &runs,
            ids::TOKEN_ISSUED,
            "TOK-ISSUE",
            "/result/access_token",
        );
        let runs = token(json!({"token": "abc"}));
        one(
            &runs,
            ids::TOKEN_ISSUED,
            "TOK-ISSUE",
            "/result/access_token",
        );
        assert!(runs.iter().all(|r| r.check != ids::TOKEN_LIFETIME));
    }
}
