//! The bytes of an answer: did it come (GEN-HTTP-STATUS) and is it one clean line
//! (GEN-NO-NEWLINE). Whether it is JSON lives in `answer`.

use super::{CheckRun, Finding, ids};
use crate::exchange::Exchange;

const STATUS_REQ: &str = "GEN-HTTP-STATUS";
const POST_REQ: &str = "GEN-POST";
const NEWLINE_REQ: &str = "GEN-NO-NEWLINE";

/// Transport errors a sweep met on one interface (timeouts, refused or closed connections),
/// counted whether or not a retry then got an answer: a retry never hides a failure.
pub fn transport_errors_seen(interface: &str, errors: u64, retried: u64) -> CheckRun {
    let findings = (errors > 0).then(|| {
        Finding::new(
            ids::HTTP_STATUS,
            STATUS_REQ,
            format!(
                "{interface}：{errors} 次传输错误（超时、连接被拒或被关闭），其中 {retried} 次已重试 / {interface}: {errors} transport errors (timeouts, refused or closed connections), {retried} of them sent again"
            ),
        )
        .expected("HTTP 200 与 JSON 信封 / HTTP 200 with the JSON envelope")
    });
    CheckRun::new(
        ids::HTTP_STATUS,
        &[STATUS_REQ],
        findings.into_iter().collect::<Vec<_>>(),
    )
}

/// A transport error or a status other than 2xx fails: a business failure still answers 200
/// with the envelope.
pub(crate) fn http_status(exchange: &Exchange) -> CheckRun {
    // The harness did not send it (a guard, an unusable URL): the supplier showed nothing.
    if let Some(error @ crate::exchange::TransportError::InvalidRequest { .. }) = &exchange.error {
        return CheckRun::not_judged(ids::HTTP_STATUS, &[STATUS_REQ], error.describe());
    }
    let finding = match (&exchange.error, &exchange.response) {
        (Some(error), _) => Some(
            Finding::new(ids::HTTP_STATUS, STATUS_REQ, error.describe())
                .expected("HTTP 200 与 JSON 信封 / HTTP 200 with the JSON envelope"),
        ),
        (None, None) => Some(Finding::new(
            ids::HTTP_STATUS,
            STATUS_REQ,
            "没有收到响应 / no response received",
        )),
        (None, Some(response)) if !(200..300).contains(&response.status) => Some(
            Finding::new(
                ids::HTTP_STATUS,
                STATUS_REQ,
                format!(
                    "HTTP 状态码 {} 不是 2xx；业务失败也应以 200 返回信封 / HTTP status {} is not 2xx; a business failure still answers 200 with the envelope",
                    response.status, response.status
                ),
            )
            .expected("2xx")
            .actual(response.status.to_string()),
        ),
        (None, Some(_)) => None,
    };
    let mut findings: Vec<Finding> = finding.into_iter().collect();
    // 405 Method Not Allowed to a POST: the interface is not served over POST.
    if exchange.request.method == "POST"
        && let Some(response) = exchange.response.as_ref().filter(|r| r.status == 405)
    {
        findings.push(
            Finding::new(
                ids::HTTP_STATUS,
                POST_REQ,
                format!(
                    "接口不接受 POST（HTTP 405） / the interface refuses POST (HTTP 405; allows {})",
                    response.header("Allow").unwrap_or("?")
                ),
            )
            .expected("POST")
            .actual("405 Method Not Allowed"),
        );
    }
    let requirements: &[&str] = if exchange.request.method == "POST" {
        &[STATUS_REQ, POST_REQ]
    } else {
        &[STATUS_REQ]
    };
    CheckRun::new(ids::HTTP_STATUS, requirements, findings)
}

/// CR, LF or any other C0 control byte but TAB, on the raw bytes: the first one is located
/// (byte offset, line, column) and all are counted. Of a body that did not arrive whole
/// (`whole` false), one found in what came is a finding; none found proves nothing.
pub(crate) fn no_newline(body: &[u8], whole: bool) -> CheckRun {
    let is_bad = |b: &u8| *b < 0x20 && *b != b'\t';
    let mut findings = Vec::new();
    // Counted first, in a loop the compiler vectorizes: nearly every body holds none, and then
    // there is nothing to locate.
    let count = control_bytes(body);
    if count > 0
        && let Some(offset) = body.iter().position(is_bad)
    {
        let before = &body[..offset];
        let line = before.iter().filter(|b| **b == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |p| p + 1);
        // Columns in characters, so that a Chinese text before it does not skew them.
        let column = String::from_utf8_lossy(&body[line_start..offset])
            .chars()
            .count()
            + 1;
        let byte = body[offset];
        let name = match byte {
            b'\n' => "LF (\\n)".to_string(),
            b'\r' => "CR (\\r)".to_string(),
            other => format!("控制字符 / control byte 0x{other:02x}"),
        };
        findings.push(
            Finding::new(
                ids::NO_NEWLINE,
                NEWLINE_REQ,
                format!(
                    "响应体含 {count} 个换行或控制字符，第一个 {name} 位于字节 {offset}（第 {line} 行第 {column} 列） / body holds {count} line break(s) or control byte(s); the first, {name}, is at byte {offset} (line {line}, column {column})"
                ),
            )
            .expected("单行、无控制字符 / one line, no control characters")
            .actual(format!("{count} × CR/LF/C0, first 0x{byte:02x} at byte {offset}")),
        );
    }
    if findings.is_empty() && !whole {
        return CheckRun::not_judged(
            ids::NO_NEWLINE,
            &[NEWLINE_REQ],
            format!(
                "只读到响应体的前 {} 字节，其余未读 / only the first {} bytes of the body were read; the rest may hold a line break",
                body.len(),
                body.len()
            ),
        );
    }
    CheckRun::new(ids::NO_NEWLINE, &[NEWLINE_REQ], findings)
}

/// How many bytes of `body` are CR, LF or another C0 control byte but TAB.
fn control_bytes(body: &[u8]) -> usize {
    body.chunks(255)
        .map(|chunk| {
            let in_chunk: u8 = chunk
                .iter()
                .map(|&b| u8::from(b < 0x20 && b != b'\t'))
                .sum();
            usize::from(in_chunk)
        })
        .sum()
}

const REALTIME_REQ: &str = "STK-REALTIME";

/// STK-REALTIME: an interface a buyer waits on answers within the bound. A call that got no
/// answer has no latency to judge (the status check reports it).
pub(crate) fn latency(exchange: &Exchange, bound_ms: u64) -> CheckRun {
    if exchange.response.is_none() {
        return CheckRun::not_judged(ids::STOCK_LATENCY, &[REALTIME_REQ], "没有响应 / no answer");
    }
    let findings = if exchange.duration_ms > bound_ms {
        vec![
            Finding::new(
                ids::STOCK_LATENCY,
                REALTIME_REQ,
                format!(
                    "库存接口响应过慢 / answered in {} ms, above the {bound_ms} ms bound",
                    exchange.duration_ms
                ),
            )
            .expected(format!("≤ {bound_ms} ms"))
            .actual(format!("{} ms", exchange.duration_ms)),
        ]
    } else {
        Vec::new()
    };
    CheckRun::new(ids::STOCK_LATENCY, &[REALTIME_REQ], findings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::*;
    use crate::exchange::TransportError;

    #[test]
    fn status_200_passes() {
        let runs = run_body(
            "pools",
            br#"{"success":false,"desc":"x"}"#,
            serde_json::json!({}),
        );
        passes(&runs, ids::HTTP_STATUS);
    }

    #[test]
    fn status_500_with_envelope_fails() {
        let e = exchange(500, br#"{"success":false,"desc":"boom"}"#);
        let runs = run_exchange("pools", &e, serde_json::json!({}), true);
        let f = findings_of(&runs, ids::HTTP_STATUS);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].requirement, "GEN-HTTP-STATUS");
        assert_eq!(f[0].actual.as_deref(), Some("500"));
        // The body is still judged.
        passes(&runs, ids::ENVELOPE);
    }

    #[test]
    fn transport_error_is_the_only_check() {
        let e = exchange_error(TransportError::Timeout { after_ms: 5000 });
        let runs = run_exchange("pools", &e, serde_json::json!({}), true);
        assert_eq!(runs.len(), 1);
        let f = findings_of(&runs, ids::HTTP_STATUS);
        assert!(f[0].message.contains("timed out after 5000 ms"));
    }

    #[test]
    fn one_line_passes_and_tab_is_allowed() {
        assert!(
            no_newline(b"{\"success\":\ttrue}", true)
                .findings
                .is_empty()
        );
    }

    #[test]
    fn pretty_printed_json_is_located() {
        let body = "{\"desc\":\"天津\",\r\n  \"success\": true\n}";
        let runs = run_body("pools", body.as_bytes(), serde_json::json!({}));
        let f = findings_of(&runs, ids::NO_NEWLINE);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].requirement, "GEN-NO-NEWLINE");
        // 天津 is 6 bytes: the CR is at byte 17, column 14 in characters.
        assert!(
            f[0].message.contains("byte 17 (line 1, column 14)"),
            "{}",
            f[0].message
        );
        assert!(
            f[0].message.contains("holds 3 line break"),
            "{}",
            f[0].message
        );
        // Still JSON: the envelope is judged too.
        passes(&runs, ids::JSON);
    }

    /// The vectorized count finds what a byte-by-byte search finds, control bytes at every
    /// position of a chunk, in invalid UTF-8 and at the ends of the body.
    #[test]
    fn control_bytes_are_counted_as_one_by_one() {
        let mut corpus: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"\t".to_vec(),
            b"\n".to_vec(),
            b"{\"a\":\t1}\r\n".to_vec(),
            b"\xff\xfe\x00\x1f\x20\x7f\x80".to_vec(),
            "天津\u{1}和平区".as_bytes().to_vec(),
        ];
        for len in [254usize, 255, 256, 510, 511, 1000] {
            for at in [0, 1, len / 2, len - 1] {
                let mut body = vec![b'a'; len];
                body[at] = b'\x07';
                corpus.push(body.clone());
                body[len - 1] = b'\n';
                corpus.push(body);
            }
            corpus.push(vec![b'\n'; len]);
        }
        for body in corpus {
            let expected = body.iter().filter(|b| **b < 0x20 && **b != b'\t').count();
            assert_eq!(control_bytes(&body), expected, "{body:?}");
            let run = no_newline(&body, true);
            assert_eq!(run.findings.len(), usize::from(expected > 0));
            if let Some(f) = run.findings.first() {
                assert!(
                    f.message
                        .contains(&format!("body holds {expected} line break")),
                    "{}",
                    f.message
                );
            }
        }
    }

    #[test]
    fn control_byte_on_a_later_line() {
        let f = &no_newline(b"ab\ncd\x07", true).findings[0];
        assert!(
            f.message.contains("byte 2 (line 1, column 3)"),
            "{}",
            f.message
        );
        let f = &no_newline(b"abcd\x07", false).findings[0];
        assert!(f.message.contains("0x07"), "{}", f.message);
    }

    #[test]
    fn a_clean_prefix_of_a_body_proves_nothing() {
        let run = no_newline(b"{\"success\":true", false);
        assert!(run.findings.is_empty());
        assert!(!run.unjudged.is_empty(), "not judged, never passed");
    }
}
