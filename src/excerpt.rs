//! Short texts of values for messages, made without writing out the whole value: a finding about
//! a 7 MB answer quotes its first characters, and costs no more memory than a small one.

use std::io::Write;

use serde_json::Value;

/// Serialized bytes written before giving up: enough for `max` characters of any UTF-8.
fn byte_budget(max_chars: usize) -> usize {
    max_chars.saturating_mul(4).saturating_add(4)
}

/// A writer that keeps the first `room` bytes and then refuses more, which stops serde_json.
struct Prefix {
    bytes: Vec<u8>,
    room: usize,
    cut: bool,
}

impl Write for Prefix {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let left = self.room - self.bytes.len();
        if buf.len() > left {
            self.bytes.extend_from_slice(&buf[..left]);
            self.cut = true;
            return Err(std::io::Error::other("excerpt full"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// At most `max_chars` characters of `value` as compact JSON (strings bare), with an ellipsis
/// when cut.
pub fn value_text(value: &Value, max_chars: usize) -> String {
    let mut out = match value {
        Value::String(s) => shorten(s, max_chars),
        Value::Number(n) => n.to_string(),
        other => {
            let mut prefix = Prefix {
                bytes: Vec::new(),
                room: byte_budget(max_chars),
                cut: false,
            };
            let _ = serde_json::to_writer(&mut prefix, other);
            let text = String::from_utf8_lossy(&prefix.bytes);
            let short = shorten(&text, max_chars);
            if prefix.cut && !short.ends_with('…') {
                return short + "…";
            }
            short
        }
    };
    out.shrink_to_fit();
    out
}

/// A string cut to `max` characters with an ellipsis.
pub fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((end, _)) => {
            let mut out = text[..end].to_string();
            out.push('…');
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_big_value_is_cut_without_being_written_whole() {
        let big = Value::Array((0..100_000).map(|i| json!({"sku": i})).collect());
        let text = value_text(&big, 20);
        assert_eq!(text, "[{\"sku\":0},{\"sku\":1}…");
        assert_eq!(value_text(&json!({"a": 1}), 20), "{\"a\":1}");
        assert_eq!(value_text(&json!("和平区和平区"), 3), "和平区…");
        assert_eq!(value_text(&json!(1.5), 3), "1.5");
        assert_eq!(shorten("abc", 3), "abc");
    }
}
