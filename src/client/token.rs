//! The token call: the sign rule, the timestamp, and reading the issued token and its expiry.

use chrono::{FixedOffset, NaiveDateTime, Offset, TimeZone, Utc};
use serde_json::Value;

use crate::profile::Settings;

/// Stop reusing a token this long before it expires, so that it does not expire mid-call.
const EXPIRY_MARGIN_MS: u64 = 30_000;

/// A token as the supplier issued it.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub value: String,
    /// As the supplier wrote it (`yyyy-MM-dd HH:mm:ss` CST in the default profile).
    pub expires_at: Option<String>,
    pub expires_in: Option<i64>,
    /// Unix milliseconds when the answer arrived.
    pub obtained_at_ms: u64,
    /// Unix milliseconds when this same token value was first handed out in this run (a
    /// supplier may answer a token call with the still-valid token it issued before).
    pub first_issued_ms: u64,
}

// By hand: the value is a secret.
impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("value", &"***")
            .field("expires_at", &self.expires_at)
            .field("expires_in", &self.expires_in)
            .field("obtained_at_ms", &self.obtained_at_ms)
            .finish()
    }
}

impl IssuedToken {
    /// When the token expires (Unix ms): by `expires_at` read in the profile's format and
    /// offset, else by `expires_in`; `None` when the supplier said neither in a readable form.
    pub fn expiry_ms(&self, settings: &Settings) -> Option<u64> {
        let by_date = self
            .expires_at
            .as_deref()
            .and_then(|text| parse_time_ms(text, settings));
        let by_lifetime = self.expires_in.map(|secs| {
            self.obtained_at_ms
                .saturating_add(u64::try_from(secs).unwrap_or(0).saturating_mul(1000))
        });
        by_date.or(by_lifetime)
    }

    /// Whether the token can still be used at `now_ms` (with a small safety margin).
    pub fn usable_at(&self, now_ms: u64, settings: &Settings) -> bool {
        match self.expiry_ms(settings) {
            // Already past when it arrived (a wrong clock or zone): useless for planning, and
            // trusting it would fetch a token before every call. The supplier's token_expired
            // marker says when to fetch again; TOK-TTL-36H judges the stated date.
            Some(expiry) if expiry <= self.obtained_at_ms => true,
            Some(expiry) => now_ms.saturating_add(EXPIRY_MARGIN_MS) < expiry,
            None => true,
        }
    }
}

pub fn md5_hex(text: &str) -> String {
    format!("{:x}", md5::compute(text.as_bytes()))
}

/// sign = lower-hex md5(username + md5pw + timestamp + md5pw).
pub fn sign(username: &str, password_md5: &str, timestamp: &str) -> String {
    md5_hex(&format!(
        "{username}{password_md5}{timestamp}{password_md5}"
    ))
}

pub fn now_ms() -> u64 {
    u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0)
}

fn supplier_offset(settings: &Settings) -> FixedOffset {
    FixedOffset::east_opt(settings.utc_offset_seconds).unwrap_or_else(|| Utc.fix())
}

/// Now on the supplier's clock (local now + `skew_ms`), in its time zone and the profile's
/// timestamp format.
pub fn now_timestamp(settings: &Settings, skew_ms: i64) -> String {
    use std::fmt::Write;
    let now = (Utc::now() + chrono::Duration::milliseconds(skew_ms))
        .with_timezone(&supplier_offset(settings));
    let mut text = String::new();
    // A format the profile got wrong must not panic (chrono's to_string would).
    if write!(text, "{}", now.format(&settings.timestamp_format)).is_err() {
        text.clear();
        let _ = write!(text, "{}", now.format("%Y-%m-%d %H:%M:%S"));
    }
    text
}

fn parse_time_ms(text: &str, settings: &Settings) -> Option<u64> {
    let naive = NaiveDateTime::parse_from_str(text.trim(), &settings.timestamp_format).ok()?;
    let local = supplier_offset(settings)
        .from_local_datetime(&naive)
        .single()?;
    u64::try_from(local.timestamp_millis()).ok()
}

/// The token of a token answer: `{success: true, result: {access_token, expires_at?, expires_in?}}`.
/// Lenient on purpose (a BOM, `expires_in` as text): judging the answer is the checks' job, using
/// whatever token it carries is the client's.
/// Any token text in a token answer, whatever its `success` says (`"success": "true"` still
/// hands out a token): it must be redacted even when the answer is not a valid issue.
pub fn token_text(body: &[u8]) -> Option<String> {
    let body = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body);
    let answer: Value = serde_json::from_slice(body).ok()?;
    let result = answer.get("result")?;
    ["access_token", "accessToken", "token"]
        .iter()
        .find_map(|key| result.get(key)?.as_str())
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

pub fn parse_issued(body: &[u8], obtained_at_ms: u64) -> Option<IssuedToken> {
    let body = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body);
    let answer: Value = serde_json::from_slice(body).ok()?;
    if answer.get("success").and_then(Value::as_bool) != Some(true) {
        return None;
    }
    let result = answer.get("result")?;
    let value = result.get("access_token")?.as_str()?.trim();
    if value.is_empty() {
        return None;
    }
    let expires_at = result
        .get("expires_at")
        .and_then(Value::as_str)
        .map(str::to_string);
    let expires_in = result.get("expires_in").and_then(|v| match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    });
    Some(IssuedToken {
        value: value.to_string(),
        expires_at,
        expires_in,
        obtained_at_ms,
        first_issued_ms: obtained_at_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_rule() {
        let pw = md5_hex("secret");
        assert_eq!(pw, "5ebe2294ecd0e0f08eab7690d2a6ee69");
        assert_eq!(
            sign("user", &pw, "2024-01-02 03:04:05"),
            md5_hex(
                "user5ebe2294ecd0e0f08eab7690d2a6ee692024-01-02 03:04:055ebe2294ecd0e0f08eab7690d2a6ee69"
            )
        );
    }

    #[test]
    fn expiry_by_date_in_cst_then_by_lifetime() {
        let profile = match crate::profile::Profile::embedded() {
            Ok(profile) => profile,
            Err(e) => panic!("embedded profile: {e}"),
        };
        let settings = &profile.settings;
        let token = IssuedToken {
            value: "v".into(),
            expires_at: Some("2030-01-01 08:00:00".into()),
            expires_in: Some(10),
            obtained_at_ms: 0,
            first_issued_ms: 0,
        };
        // 08:00 CST is 00:00 UTC.
        assert_eq!(token.expiry_ms(settings), Some(1_893_456_000_000));
        let unreadable = IssuedToken {
            expires_at: Some("tomorrow".into()),
            ..token.clone()
        };
        assert_eq!(unreadable.expiry_ms(settings), Some(10_000));
        // Within the safety margin: not reused.
        assert!(!unreadable.usable_at(0, settings));
        let silent = IssuedToken {
            expires_at: None,
            expires_in: None,
            ..token
        };
        assert!(silent.usable_at(u64::MAX / 2, settings));
    }

    #[test]
    fn a_token_stated_expired_on_arrival_is_kept_until_refused() {
        let profile = match crate::profile::Profile::embedded() {
            Ok(profile) => profile,
            Err(e) => panic!("embedded profile: {e}"),
        };
        let arrived = 1_893_456_000_000;
        let token = IssuedToken {
            value: "v".into(),
            expires_at: Some("2020-01-01 08:00:00".into()),
            expires_in: None,
            obtained_at_ms: arrived,
            first_issued_ms: arrived,
        };
        assert!(token.usable_at(arrived + 60_000, &profile.settings));
    }

    #[test]
    fn parses_a_token_answer() {
        let body = "\u{feff}{\"success\":true,\"desc\":\"\",\"result\":{\"access_token\":\"abc123\",\"expires_at\":\"2030-01-01 00:00:00\",\"expires_in\":\"129600\"}}";
        let token = parse_issued(body.as_bytes(), 5);
        assert_eq!(token.as_ref().map(|t| t.value.as_str()), Some("abc123"));
        assert_eq!(token.and_then(|t| t.expires_in), Some(129600));
        assert!(parse_issued(br#"{"success":false,"result":null}"#, 0).is_none());
        assert!(parse_issued(b"<html>", 0).is_none());
    }
}
