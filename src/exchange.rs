//! One call to a supplier as it happened (a leaf module: the client makes exchanges, checks and
//! reporters read them, and neither has to depend on the other): the request (secrets already redacted), the raw
//! response bytes, status, headers and timings. Everything downstream (checks, reports, curl
//! lines) reads exchanges and nothing else, so a secret that is not in an exchange cannot leak.

use serde::{Deserialize, Serialize};

/// What went wrong below HTTP, if anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TransportError {
    /// No connection could be made (refused, DNS, unreachable).
    Connect { message: String },
    /// The call took longer than the per-call timeout (a slow drip of bytes ends here too).
    Timeout { after_ms: u64 },
    /// TLS could not be negotiated.
    Tls { message: String },
    /// A redirect to another host, which the harness does not follow.
    Redirect { location: String },
    /// Redirects that did not end within the harness's limit (a loop, most likely).
    RedirectLoop { location: String, hops: usize },
    /// The supplier closed (or reset) the connection before a whole answer arrived.
    Closed { message: String },
    /// The connection broke while the answer was being read.
    Read { message: String },
    /// Nothing was sent: the interface is not in the profile or the URL cannot be used (an image
    /// path that is not an absolute http(s) URL, for example).
    InvalidRequest { message: String },
}

impl TransportError {
    pub fn describe(&self) -> String {
        match self {
            TransportError::Connect { message } => format!(
                "无法连接：{message}（供应商是否在该主机和端口上运行？`mallcheck doctor` 可检查目标） / cannot connect: {message} (is the supplier running at this host and port? `mallcheck doctor` checks the target)"
            ),
            TransportError::Timeout { after_ms } => format!("超时 / timed out after {after_ms} ms"),
            TransportError::Tls { message } => format!(
                "TLS 失败：{message}（若该端口是普通 HTTP，请用 http:// 而不是 https://） / TLS failed: {message} (if this port speaks plain HTTP, use http://, not https://)"
            ),
            TransportError::Redirect { location } => {
                format!("重定向到其他主机 / redirect to another host not followed: {location}")
            }
            TransportError::RedirectLoop { location, hops } => format!(
                "重定向循环 / redirect loop: still redirected after {hops} hops, last to {location}; answer the interface itself, without a redirect"
            ),
            TransportError::Closed { message } => format!(
                "供应商在回答完成前关闭了连接 / the supplier closed the connection before a whole answer arrived (is the server crashing, or a proxy dropping the call?): {message}"
            ),
            TransportError::Read { message } => format!("读取中断 / read failed: {message}"),
            TransportError::InvalidRequest { message } => {
                format!("请求未发出 / request not sent: {message}")
            }
        }
    }
}

/// The request as sent, with secret values replaced by `***`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordedRequest {
    pub method: String,
    pub url: String,
    /// `application/x-www-form-urlencoded` or `application/json`.
    pub content_type: String,
    /// The parameters as sent (nested values already JSON text), in order, secrets redacted.
    pub params: Vec<(String, String)>,
}

/// Written above the curl line of a call that creates, confirms or cancels an order.
pub const REPLAY_WARNING: &str = "⚠ 此调用会创建或改变订单，切勿对生产环境重放 / ⚠ this call creates or changes an order: never replay it against production";

/// What a secret is replaced by in a recorded exchange (the client masks them as it records).
pub const MASKED: &str = "***";

impl RecordedRequest {
    /// The body as it was sent: form-urlencoded or a JSON object (secrets masked).
    pub fn body_text(&self) -> String {
        if self.content_type == "application/json" {
            let body: serde_json::Map<String, serde_json::Value> = self
                .params
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect();
            serde_json::Value::Object(body).to_string()
        } else {
            form_urlencode(&self.params)
        }
    }

    /// The parameters whose value is masked, with the shell variable that stands for each.
    fn masked(&self) -> Vec<(String, String)> {
        self.params
            .iter()
            .filter(|(_, v)| v == MASKED)
            .map(|(k, _)| (format!("\"{k}\":\"{MASKED}\""), variable_of(k)))
            .collect()
    }
}

/// The shell variable a masked parameter becomes in a curl line: `token` → `TOKEN`.
fn variable_of(name: &str) -> String {
    let upper: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if upper.starts_with(|c: char| c.is_ascii_digit()) || upper.is_empty() {
        format!("SECRET_{upper}")
    } else {
        upper
    }
}

/// `text` quoted for a POSIX shell, each `"name":"***"` of `masked` written as
/// `"name":"$VARIABLE"` inside double quotes, so that the shell fills it in.
fn shell_words(text: &str, masked: &[(String, String)]) -> String {
    let mut out = String::new();
    // Literal text not quoted yet.
    let mut pending = String::new();
    let mut rest = text;
    while let Some((at, (needle, variable))) = masked
        .iter()
        .filter_map(|m| rest.find(m.0.as_str()).map(|at| (at, m)))
        .min_by_key(|(at, _)| *at)
    {
        // Up to and with the quote that opens the masked value.
        pending.push_str(&rest[..at]);
        pending.push_str(&needle[..needle.len() - MASKED.len() - 1]);
        out.push_str(&shell_quote(&pending));
        out.push_str(&format!("\"${variable}\""));
        pending = "\"".into();
        rest = &rest[at + needle.len()..];
    }
    pending.push_str(rest);
    out.push_str(&shell_quote(&pending));
    out
}

/// The answer as received.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordedResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// The raw body bytes, at most the body cap; secrets the harness knows are redacted.
    #[serde(with = "body_text")]
    pub body: Vec<u8>,
    /// True when the supplier sent more than the cap and the rest was not read.
    pub truncated: bool,
    /// Set on the copy a report keeps ([`Exchange::evidence`]): the size and hash of the whole
    /// body as recorded, and whether `body` holds only its first bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_body: Option<FullBody>,
}

/// What a report says of a body it may have cut.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FullBody {
    /// Bytes of the body as recorded (as read, at most the body cap).
    pub bytes: u64,
    /// SHA-256 (hex) of those bytes, secrets already masked: a copy of the body can be matched
    /// against it without the report holding it whole.
    pub sha256: String,
    /// True when the report keeps only a prefix of the body.
    pub cut: bool,
}

impl FullBody {
    fn of(body: &[u8], cut: bool) -> FullBody {
        FullBody {
            bytes: body.len() as u64,
            sha256: sha256_hex(body),
            cut,
        }
    }
}

impl RecordedResponse {
    /// Keeps at most `keep_bytes` of the body (a cut copy already knows its whole size and
    /// hash; a whole one learns them here).
    pub fn cut_to(&mut self, keep_bytes: usize) {
        if self.body.len() <= keep_bytes {
            return;
        }
        let whole = self
            .full_body
            .take()
            .unwrap_or_else(|| FullBody::of(&self.body, false));
        let kept = utf8_prefix(&self.body, keep_bytes).len();
        self.body.truncate(kept);
        self.full_body = Some(FullBody { cut: true, ..whole });
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One call to a supplier.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Exchange {
    /// Unique within a run, in call order.
    pub id: u64,
    /// The interface id of the profile, or `image` / `admin` for the harness's other calls.
    pub interface: String,
    pub request: RecordedRequest,
    pub response: Option<RecordedResponse>,
    pub error: Option<TransportError>,
    /// Milliseconds since the Unix epoch when the call started.
    pub started_at_ms: u64,
    pub duration_ms: u64,
}

impl Exchange {
    /// One `curl` line that repeats the call. A masked secret becomes a shell variable
    /// (`$TOKEN`, `$PASSWORD`, `$SIGN`: fill them in; the harness never writes them out), and a
    /// base URL given as `base` (the embedded supplier's, gone after the run) becomes
    /// `$MALLCHECK_TARGET`.
    pub fn curl_line(&self, base: Option<&str>) -> String {
        let url = match base.and_then(|b| self.request.url.strip_prefix(b)) {
            Some(path) => format!("\"$MALLCHECK_TARGET\"{}", shell_quote(path)),
            None => shell_quote(&self.request.url),
        };
        let mut line = format!("curl -sS -X {} {url}", self.request.method);
        if self.request.content_type == "application/json" {
            line.push_str(" -H 'Content-Type: application/json' --data ");
            line.push_str(&shell_words(
                &self.request.body_text(),
                &self.request.masked(),
            ));
        } else {
            for (key, value) in &self.request.params {
                line.push_str(" --data-urlencode ");
                if value == MASKED {
                    line.push_str(&format!("\"{key}=${}\"", variable_of(key)));
                } else {
                    line.push_str(&shell_quote(&format!("{key}={value}")));
                }
            }
        }
        line
    }

    /// The answer parsed as JSON, if the body is JSON (the checks judge it; the runner reads it).
    pub fn answer(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.response.as_ref()?.body).ok()
    }

    /// Whether the supplier answered `"success": true` (a JSON boolean).
    pub fn succeeded(&self) -> bool {
        self.answer()
            .and_then(|a| a.get("success").and_then(serde_json::Value::as_bool))
            == Some(true)
    }

    /// The copy of this exchange a report keeps: at most `keep_bytes` of the body (cut on a
    /// character boundary), with the whole body's size and SHA-256. Everything else is kept.
    pub fn evidence(&self, keep_bytes: usize) -> Exchange {
        let response = self.response.as_ref().map(|r| {
            let kept = utf8_prefix(&r.body, keep_bytes);
            RecordedResponse {
                status: r.status,
                headers: r.headers.clone(),
                body: kept.to_vec(),
                truncated: r.truncated,
                full_body: Some(FullBody::of(&r.body, kept.len() < r.body.len())),
            }
        });
        Exchange {
            id: self.id,
            interface: self.interface.clone(),
            request: self.request.clone(),
            response,
            error: self.error.clone(),
            started_at_ms: self.started_at_ms,
            duration_ms: self.duration_ms,
        }
    }

    /// The body as text (lossy), for messages.
    pub fn body_text(&self) -> String {
        self.response
            .as_ref()
            .map(|r| String::from_utf8_lossy(&r.body).into_owned())
            .unwrap_or_default()
    }
}

/// `application/x-www-form-urlencoded` text of `pairs` (spaces as `+`, as browsers send forms).
pub fn form_urlencode(pairs: &[(String, String)]) -> String {
    // The WHATWG serializer the url crate's query uses, without a scratch URL parsed per call.
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// At most `limit` bytes of `body`; when the body is UTF-8 the cut does not split a character.
fn utf8_prefix(body: &[u8], limit: usize) -> &[u8] {
    if body.len() <= limit {
        return body;
    }
    let prefix = &body[..limit];
    match std::str::from_utf8(prefix) {
        // A character cut in two at the end: keep what comes before it.
        Err(e) if e.error_len().is_none() => &prefix[..e.valid_up_to()],
        _ => prefix,
    }
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Bodies are stored as text when they are UTF-8 (readable reports) and base64-free lossy text
/// otherwise; the report keeps a `body_utf8` flag implicitly by the replacement characters.
mod body_text {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(body: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&String::from_utf8_lossy(body))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        Ok(String::deserialize(d)?.into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The serializer writes what the url crate's query writer wrote.
    #[test]
    fn form_urlencode_writes_what_a_url_query_did() {
        let pairs: Vec<(String, String)> = [
            ("token", "ab/c+d e\"f"),
            ("sku", "1,2,3"),
            ("名", "天津 和平区&x=1"),
            ("", ""),
            ("a~*'()!", "%41\u{1}\n"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for n in 0..=pairs.len() {
            let mut scratch = url::Url::parse("http://form.invalid/").expect("url");
            scratch.query_pairs_mut().extend_pairs(&pairs[..n]);
            assert_eq!(
                form_urlencode(&pairs[..n]),
                scratch.query().unwrap_or_default()
            );
        }
    }

    fn exchange_with_body(body: &[u8]) -> Exchange {
        Exchange {
            id: 7,
            interface: "prices".into(),
            request: RecordedRequest {
                method: "POST".into(),
                url: "http://127.0.0.1:1/api/price".into(),
                content_type: "application/x-www-form-urlencoded".into(),
                params: vec![("sku".into(), "1".into())],
            },
            response: Some(RecordedResponse {
                status: 200,
                headers: Vec::new(),
                body: body.to_vec(),
                truncated: false,
                full_body: None,
            }),
            error: None,
            started_at_ms: 0,
            duration_ms: 1,
        }
    }

    /// What a POSIX shell makes of a curl line: its words, one a line (curl replaced by printf),
    /// with the variables set.
    fn shell_words_of(line: &str) -> String {
        let script = line.replacen("curl", "printf '%s\\n'", 1);
        let out = std::process::Command::new("sh")
            .args(["-c", &script])
            .env("TOKEN", "t0k'en$x")
            .env("MALLCHECK_TARGET", "http://127.0.0.1:18080")
            .output()
            .expect("sh runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    #[test]
    fn curl_lines_name_secrets_as_variables_the_shell_fills_in() {
        let mut exchange = exchange_with_body(b"{}");
        exchange.request.params = vec![
            ("token".into(), MASKED.into()),
            ("sku".into(), "1'2 \"$HOME\"".into()),
        ];
        let line = exchange.curl_line(None);
        assert!(line.contains("\"token=$TOKEN\""), "{line}");
        let words = shell_words_of(&line);
        assert!(words.contains("token=t0k'en$x\n"), "{words}");
        assert!(words.contains("sku=1'2 \"$HOME\"\n"), "{words}");
        assert!(words.contains("http://127.0.0.1:1/api/price\n"), "{words}");

        exchange.request.content_type = "application/json".into();
        let line = exchange.curl_line(Some("http://127.0.0.1:1"));
        let words = shell_words_of(&line);
        assert!(
            words.contains("http://127.0.0.1:18080/api/price\n"),
            "the embedded base becomes $MALLCHECK_TARGET: {line} → {words}"
        );
        let body = words
            .lines()
            .find(|w| w.starts_with('{'))
            .unwrap_or_else(|| panic!("no JSON body in {words}"));
        let body: serde_json::Value = serde_json::from_str(body).expect("the body is JSON");
        assert_eq!(body["token"], "t0k'en$x");
        assert_eq!(body["sku"], "1'2 \"$HOME\"");
    }

    #[test]
    fn evidence_keeps_a_prefix_with_the_whole_size_and_hash() {
        let body = vec![b'a'; 100_000];
        let kept = exchange_with_body(&body).evidence(1024);
        let response = kept.response.expect("response");
        assert_eq!(response.body.len(), 1024);
        let full = response.full_body.expect("full body");
        assert_eq!(full.bytes, 100_000);
        assert!(full.cut);
        assert_eq!(full.sha256, sha256_hex(&body));
        assert_eq!(full.sha256.len(), 64);
    }

    #[test]
    fn evidence_of_a_short_body_is_whole_and_says_so() {
        let kept = exchange_with_body(b"{}").evidence(1024);
        let response = kept.response.expect("response");
        assert_eq!(response.body, b"{}");
        let full = response.full_body.expect("full body");
        assert!(!full.cut);
        // The SHA-256 of "{}".
        assert_eq!(
            full.sha256,
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
    }

    #[test]
    fn a_cut_does_not_split_a_character() {
        // "价" is 3 bytes: a limit of 4 keeps one character, not one and a third.
        let kept = exchange_with_body("价格".as_bytes()).evidence(4);
        assert_eq!(kept.response.expect("response").body, "价".as_bytes());
    }
}
