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
    /// The connection broke while the answer was being read.
    Read { message: String },
    /// Nothing was sent: the interface is not in the profile or the URL cannot be used (an image
    /// path that is not an absolute http(s) URL, for example).
    InvalidRequest { message: String },
}

impl TransportError {
    pub fn describe(&self) -> String {
        match self {
            TransportError::Connect { message } => format!("无法连接 cannot connect: {message}"),
            TransportError::Timeout { after_ms } => format!("超时 timed out after {after_ms} ms"),
            TransportError::Tls { message } => format!("TLS 失败 TLS failed: {message}"),
            TransportError::Redirect { location } => {
                format!("重定向到其他主机 redirect to another host not followed: {location}")
            }
            TransportError::Read { message } => format!("读取中断 read failed: {message}"),
            TransportError::InvalidRequest { message } => {
                format!("请求未发出 request not sent: {message}")
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
}

impl RecordedResponse {
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
    /// One `curl` line that repeats the call (secrets stay redacted: fill them in by hand).
    pub fn curl_line(&self) -> String {
        let mut line = format!(
            "curl -sS -X {} {}",
            self.request.method,
            shell_quote(&self.request.url)
        );
        if self.request.content_type == "application/json" {
            let body: serde_json::Map<String, serde_json::Value> = self
                .request
                .params
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect();
            line.push_str(" -H 'Content-Type: application/json' --data ");
            line.push_str(&shell_quote(&serde_json::Value::Object(body).to_string()));
        } else {
            for (key, value) in &self.request.params {
                line.push_str(" --data-urlencode ");
                line.push_str(&shell_quote(&format!("{key}={value}")));
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

    /// The body as text (lossy), for messages.
    pub fn body_text(&self) -> String {
        self.response
            .as_ref()
            .map(|r| String::from_utf8_lossy(&r.body).into_owned())
            .unwrap_or_default()
    }
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
