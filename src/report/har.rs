//! `exchanges.har`: every exchange of the run as HAR 1.2, for a browser's network panel (open
//! DevTools → Network → import). Written from the run's record one entry at a time, so a run of
//! any length fits; bodies are the cut copies the record holds (`evidence_kib`), secrets masked.
//! A call that got no answer has status 0 and says why in `_error`, as browsers export them.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::record::Record;
use super::{ReportError, Reporter, write_atomically_with};
use crate::events::Event;
use crate::exchange::Exchange;

pub const HAR_FILE: &str = "exchanges.har";

pub struct HarReporter {
    path: PathBuf,
    tool_version: String,
    run_id: String,
}

impl HarReporter {
    pub fn new(path: PathBuf) -> HarReporter {
        HarReporter {
            path,
            tool_version: env!("CARGO_PKG_VERSION").into(),
            run_id: String::new(),
        }
    }
}

fn pairs(list: &[(String, String)]) -> Vec<Value> {
    list.iter()
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect()
}

/// One HAR entry. Times: `started_at_ms` is when the call started, `duration_ms` everything
/// until the answer was read (the harness does not time the phases apart: all of it is `wait`).
pub fn entry(exchange: &Exchange) -> Value {
    let started =
        chrono::DateTime::from_timestamp_millis(i64::try_from(exchange.started_at_ms).unwrap_or(0))
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let request = &exchange.request;
    let body = request.body_text();
    let mut post_data = json!({"mimeType": request.content_type, "text": body});
    if request.content_type != "application/json" {
        post_data["params"] = Value::Array(pairs(&request.params));
    }
    let response = match &exchange.response {
        Some(r) => {
            let text = String::from_utf8_lossy(&r.body);
            let whole = r
                .full_body
                .as_ref()
                .map_or(r.body.len() as u64, |f| f.bytes);
            let mut content = json!({
                "size": whole,
                "mimeType": r.header("content-type").unwrap_or(""),
                "text": text,
            });
            if let Some(full) = r.full_body.as_ref().filter(|f| f.cut) {
                content["comment"] = json!(format!(
                    "cut to the first {} of {} bytes; sha256 of the whole body {}",
                    r.body.len(),
                    full.bytes,
                    full.sha256
                ));
            } else if r.truncated {
                content["comment"] =
                    json!("the supplier sent more than the body cap: the rest was not read");
            }
            json!({
                "status": r.status,
                "statusText": "",
                "httpVersion": "HTTP/1.1",
                "cookies": [],
                "headers": pairs(&r.headers),
                "content": content,
                "redirectURL": r.header("location").unwrap_or(""),
                "headersSize": -1,
                "bodySize": whole,
            })
        }
        None => json!({
            "status": 0,
            "statusText": "",
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": [],
            "content": {"size": 0, "mimeType": ""},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
            "_error": exchange.error.as_ref().map(|e| e.describe()).unwrap_or_default(),
        }),
    };
    json!({
        "startedDateTime": started,
        "time": exchange.duration_ms,
        "request": {
            "method": request.method,
            "url": request.url,
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": [{"name": "Content-Type", "value": request.content_type}],
            "queryString": [],
            "postData": post_data,
            "headersSize": -1,
            "bodySize": body.len(),
        },
        "response": response,
        "cache": {},
        "timings": {"send": 0, "wait": exchange.duration_ms, "receive": 0},
        "comment": format!("#{} {}", exchange.id, exchange.interface),
        "_interface": exchange.interface,
        "_exchange": exchange.id,
    })
}

impl Reporter for HarReporter {
    fn event(&mut self, event: &Event) {
        if let Event::RunStarted { run_id, tool, .. } = event {
            self.run_id = run_id.clone();
            if let Some(version) = tool.strip_prefix("mallcheck ") {
                self.tool_version = version.into();
            }
        }
    }

    fn finish(&mut self, record: &Record) -> Result<(), ReportError> {
        let head = json!({
            "version": "1.2",
            "creator": {"name": "mallcheck", "version": self.tool_version},
            "comment": format!("mallcheck run {}", self.run_id),
        });
        // The log object without its closing brace, then the entries one by one.
        let head = head.to_string();
        let open = &head[..head.len() - 1];
        write_atomically_with(&self.path, |out| {
            let io = |e: std::io::Error| e.to_string();
            write!(out, "{{\"log\":{open},\"pages\":[],\"entries\":[").map_err(io)?;
            let mut first = true;
            let mut failed = None;
            record
                .each_exchange(|exchange| {
                    if failed.is_some() {
                        return;
                    }
                    let separator = if first { "\n" } else { ",\n" };
                    first = false;
                    if let Err(e) = out.write_all(separator.as_bytes()).and_then(|()| {
                        serde_json::to_writer(&mut *out, &entry(exchange)).map_err(Into::into)
                    }) {
                        failed = Some(e.to_string());
                    }
                })
                .map_err(|e| e.to_string())?;
            if let Some(e) = failed {
                return Err(e);
            }
            out.write_all(b"\n]}}\n").map_err(io)
        })
    }
}
