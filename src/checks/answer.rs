//! An answer parsed once: the JSON value, its `success` and `desc`, and what serde_json's `Map`
//! would hide (members written twice at the top level or in an object `result`).

use std::collections::HashSet;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::{Finding, ids};
use crate::exchange::{Exchange, TransportError};

/// A body that parsed as JSON.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The whole answer.
    pub value: Value,
    /// `success` when it is a JSON boolean (`None` when missing or of another type).
    pub success: Option<bool>,
    /// Top-level member names written more than once (serde_json keeps only the last value).
    pub duplicate_keys: Vec<String>,
    /// The members of an object `result` exactly as written, duplicates kept, in order, when
    /// it names a member more than once (or after renaming to logical names); otherwise they
    /// are the object's own members. Read them with [`Answer::result_members`].
    pub result_written: Option<Vec<(String, Value)>>,
}

impl Answer {
    /// Renames the answer's members to logical names (after its schema was judged in wire
    /// names); `success` and `desc` do not change.
    pub fn to_logical(&mut self, fields: &crate::profile::FieldMap) {
        if fields.is_identity() {
            return;
        }
        // Renaming may drop a member (a logical name this profile calls otherwise); the
        // members as written are renamed one by one, none dropped: keep them apart first.
        if self.result_written.is_none()
            && let Some(Value::Object(result)) = self.value.get("result")
        {
            self.result_written =
                Some(result.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
        }
        let value = std::mem::take(&mut self.value);
        self.value = fields.to_logical_value(value);
        if let Some(members) = self.result_written.take() {
            self.result_written = Some(
                members
                    .into_iter()
                    .map(|(k, v)| (fields.logical(&k).to_string(), fields.to_logical_value(v)))
                    .collect(),
            );
        }
    }

    /// `desc` when it is a string (read from the answer, not copied: it may be megabytes).
    pub fn desc(&self) -> Option<&str> {
        self.value.get("desc").and_then(Value::as_str)
    }

    /// The `result` member, if present.
    pub fn result(&self) -> Option<&Value> {
        self.value.get("result")
    }

    /// The members of an object `result` exactly as written, duplicates kept, in order;
    /// `None` when `result` is not an object.
    pub fn result_members(&self) -> Option<Vec<(&str, &Value)>> {
        let object = self.result()?.as_object()?;
        Some(match &self.result_written {
            Some(written) => written.iter().map(|(k, v)| (k.as_str(), v)).collect(),
            None => object.iter().map(|(k, v)| (k.as_str(), v)).collect(),
        })
    }
}

/// Why an answer was not read.
#[derive(Debug, Clone)]
pub enum Unread {
    /// The body is not a JSON text: the GEN-JSON finding.
    NotJson(Box<Finding>),
    /// The body is beyond what the harness reads (its size, values or nesting), or did not
    /// arrive whole: it is not parsed and proves nothing either way, so what depends on it is
    /// not judged.
    NotRead(String),
}

/// The answer parsed once, or why it was not.
pub type Parsed = Result<Answer, Unread>;

/// How much of an answer the harness parses. A value tree takes 10 to 100 times the memory of
/// its text, so the text is measured first, without building anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerLimits {
    /// Values in one answer: array items and object members, nested ones included.
    pub max_items: u64,
    /// Nesting of arrays and objects.
    pub max_depth: u64,
}

impl Default for AnswerLimits {
    fn default() -> AnswerLimits {
        AnswerLimits {
            max_items: 2_000_000,
            max_depth: 64,
        }
    }
}

/// Characters of body shown in a GEN-JSON finding.
const EXCERPT_CHARS: usize = 120;

/// The body of an exchange as text, if it is one the harness reads: it came whole, within the
/// caps and parsing limits, not compressed, without a BOM, in UTF-8. Every parse of an answer
/// (the value of [`parse_answer`], the compact SKU list of `sku_list`) starts here.
pub(crate) fn readable_text(exchange: &Exchange, limits: AnswerLimits) -> Result<&str, Unread> {
    let not_json = |message: String| Finding::new(ids::JSON, "GEN-JSON", message);
    let Some(response) = exchange.response.as_ref() else {
        let why = exchange
            .error
            .as_ref()
            .map(|e| e.describe())
            .unwrap_or_else(|| "没有记录响应 / no response recorded".to_string());
        return Err(Unread::NotJson(Box::new(not_json(format!(
            "没有响应体 / no answer body: {why}"
        )))));
    };
    let body = response.body.as_slice();
    if let Some(error) = exchange.error.as_ref().filter(|e| {
        !matches!(
            e,
            TransportError::Redirect { .. } | TransportError::RedirectLoop { .. }
        )
    }) {
        // The bytes that came before a timeout or a closed connection: not the answer, so
        // whether it is JSON is not known (GEN-HTTP-STATUS carries the error). A redirect is a
        // whole answer, judged as it is.
        return Err(Unread::NotRead(format!(
            "答复没有完整到达，未解析 / the answer did not arrive whole and was not parsed: {}",
            error.describe()
        )));
    }
    if response.truncated {
        return Err(Unread::NotRead(format!(
            "响应体超过上限 {} 字节，未完整读取 / the body is larger than the cap of {} bytes (max_body_mib) and was not read in full",
            body.len(),
            body.len()
        )));
    }
    if let Some(why) = over_limits(body, limits) {
        return Err(Unread::NotRead(why));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Unread::NotJson(Box::new(
            not_json("响应体为空 / empty body".to_string())
                .expected("JSON 文本 / a JSON text")
                .actual(excerpt(body)),
        )));
    }
    // mallcheck asks for no compression (it sends no Accept-Encoding); a compressed body is
    // bytes it must not guess at, and saying so beats "not valid UTF-8".
    let encoding = response
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-encoding"))
        .map(|(_, value)| value.trim().to_string())
        .filter(|value| !value.is_empty() && !value.eq_ignore_ascii_case("identity"));
    if let Some(encoding) = encoding
        && serde_json::from_slice::<serde::de::IgnoredAny>(body).is_err()
    {
        return Err(Unread::NotJson(Box::new(
            not_json(format!(
                "响应体经 Content-Encoding: {encoding} 压缩，而请求未声明接受压缩 / the body is compressed (Content-Encoding: {encoding}) although the mall sent no Accept-Encoding: answer plain JSON"
            ))
            .expected("未压缩的 JSON 文本 / an uncompressed JSON text")
            .actual(excerpt(body)),
        )));
    }
    if body.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Err(Unread::NotJson(Box::new(
            not_json(
                "响应体以 UTF-8 BOM 开头 / body starts with a UTF-8 byte-order mark (not allowed in JSON)"
                    .to_string(),
            )
            .actual(excerpt(body)),
        )));
    }
    // Validated with SIMD (a Chinese body takes std's check five instructions a byte); where
    // it fails, std's check says where.
    let text = match simdutf8::basic::from_utf8(body).or_else(|_| std::str::from_utf8(body)) {
        Ok(text) => text,
        Err(e) => {
            return Err(Unread::NotJson(Box::new(
                not_json(format!(
                    "响应体不是有效的 UTF-8 / body is not valid UTF-8 at byte {}",
                    e.valid_up_to()
                ))
                .actual(excerpt(body)),
            )));
        }
    };
    Ok(text)
}

/// The GEN-JSON finding of a body serde_json refused.
pub(crate) fn not_json_error(text: &str, e: &serde_json::Error) -> Unread {
    let message = if text.trim_start().starts_with('<') {
        format!("响应体像是 HTML 页面而不是 JSON / body looks like an HTML page, not JSON ({e})")
    } else {
        format!("响应体不是 JSON / body is not JSON: {e}")
    };
    Unread::NotJson(Box::new(
        Finding::new(ids::JSON, "GEN-JSON", message)
            .expected("JSON 文本 / a JSON text")
            .actual(excerpt(text.as_bytes())),
    ))
}

pub fn parse_answer(exchange: &Exchange, limits: AnswerLimits) -> Parsed {
    let text = readable_text(exchange, limits)?;
    // One parse: an object is read member by member, which sees what `Value` hides (names
    // written twice at the top level and in an object `result`) as the value is built.
    let read = if text
        .trim_start_matches([' ', '\n', '\r', '\t'])
        .starts_with('{')
    {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        Top::deserialize(&mut deserializer).and_then(|top| {
            deserializer.end()?;
            Ok(top)
        })
    } else {
        serde_json::from_str::<Value>(text).map(|value| Top {
            value,
            duplicates: Vec::new(),
            result_written: None,
        })
    };
    let Top {
        value,
        duplicates: duplicate_keys,
        result_written,
    } = match read {
        Ok(top) => top,
        Err(e) => return Err(not_json_error(text, &e)),
    };
    // The written members of the last `result` read, if it is (still) an object.
    let result_written =
        result_written.filter(|_| value.get("result").is_some_and(Value::is_object));
    Ok(Answer {
        success: value.get("success").and_then(Value::as_bool),
        value,
        duplicate_keys,
        result_written,
    })
}

/// Why `body` is beyond `limits`, if it is: one pass over the bytes that counts values (commas
/// and containers outside strings, an upper bound of the items) and nesting, building nothing.
/// The contents of strings are skipped with `memchr` (to the next quote or backslash), so most
/// of a body is passed over at vector speed.
fn over_limits(body: &[u8], limits: AnswerLimits) -> Option<String> {
    let mut items: u64 = 0;
    let mut depth: u64 = 0;
    let mut at = 0;
    while let Some(&byte) = body.get(at) {
        at += 1;
        match byte {
            b'"' => {
                // To the closing quote; the byte after a backslash is escaped, whatever it is.
                // An unterminated string runs to the end of the body.
                loop {
                    let rest = body.get(at..).unwrap_or_default();
                    match memchr::memchr2(b'"', b'\\', rest) {
                        Some(found) if rest[found] == b'\\' => at += found + 2,
                        Some(found) => {
                            at += found + 1;
                            break;
                        }
                        None => {
                            at = body.len();
                            break;
                        }
                    }
                }
                continue;
            }
            b'[' | b'{' => {
                depth += 1;
                items += 1;
                if depth > limits.max_depth {
                    return Some(format!(
                        "答案嵌套超过 {} 层，未解析 / the answer nests arrays and objects deeper than {} levels (max_answer_depth) and was not parsed",
                        limits.max_depth, limits.max_depth
                    ));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b',' => items += 1,
            _ => continue,
        }
        if items > limits.max_items {
            return Some(format!(
                "答案超过 {} 个值，未解析 / the answer holds more than {} values (max_answer_items) and was not parsed",
                limits.max_items, limits.max_items
            ));
        }
    }
    None
}

/// The first characters of a body, lossy, with control characters escaped, for messages.
pub(crate) fn excerpt(body: &[u8]) -> String {
    // A prefix generous enough for 120 characters of any UTF-8 (4 bytes each at most).
    let prefix = &body[..body.len().min(EXCERPT_CHARS * 4)];
    let text = String::from_utf8_lossy(prefix);
    let mut out = String::new();
    let mut chars = text.chars();
    for c in chars.by_ref().take(EXCERPT_CHARS) {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:02x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    if chars.next().is_some() || body.len() > prefix.len() {
        out.push('…');
    }
    if body.is_empty() {
        out.push_str(super::EMPTY);
    }
    out
}

/// An object's members as written, names repeated and in order.
type Written = Vec<(String, Value)>;

/// serde_json hands an arbitrary-precision number to a visitor as a map with this one key.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// An answer read in one pass: its value as `serde_json::from_str` builds it, the top-level
/// names written more than once, and the members of an object `result` as written when it
/// repeats one.
struct Top {
    value: Value,
    duplicates: Vec<String>,
    result_written: Option<Vec<(String, Value)>>,
}

/// An object read member by member into a `Map` the way serde_json's `Value` reads it (a
/// repeated name keeps its first place and its last value), with the members as written
/// once a name repeats (`written`, from the first repeat on: the ones before are the map's).
/// `member` reads each value; it is told the member's name.
fn read_object<'de, A, F>(mut map: A, mut member: F) -> Result<(Value, Option<Written>), A::Error>
where
    A: MapAccess<'de>,
    F: FnMut(&str, &mut A) -> Result<Value, A::Error>,
{
    let Some(mut key) = map.next_key::<String>()? else {
        return Ok((Value::Object(Map::new()), None));
    };
    if key == NUMBER_TOKEN {
        // What serde_json's own `Value` makes of it (a number, or of this key written out).
        let NumberText(number) = map.next_value()?;
        return Ok((Value::Number(number), None));
    }
    let mut object = Map::new();
    let mut written: Option<Written> = None;
    loop {
        let value = member(&key, &mut map)?;
        let repeated = match &mut written {
            Some(written) => Some((key, value, written)),
            None => match object.entry(key) {
                serde_json::map::Entry::Vacant(slot) => {
                    slot.insert(value);
                    None
                }
                serde_json::map::Entry::Occupied(slot) => {
                    // The first repeat: the members so far are as written (no name twice).
                    let key = slot.key().clone();
                    let members = object.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                    Some((key, value, written.insert(members)))
                }
            },
        };
        if let Some((key, value, written)) = repeated {
            written.push((key.clone(), value.clone()));
            object.insert(key, value);
        }
        match map.next_key::<String>()? {
            Some(next) => key = next,
            None => break,
        }
    }
    Ok((Value::Object(object), written))
}

/// The text of an arbitrary-precision number, read as serde_json reads it.
struct NumberText(serde_json::Number);

impl<'de> Deserialize<'de> for NumberText {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NumberVisitor;
        impl Visitor<'_> for NumberVisitor {
            type Value = NumberText;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("string containing a number")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<NumberText, E> {
                text.parse().map(NumberText).map_err(de::Error::custom)
            }
        }
        deserializer.deserialize_str(NumberVisitor)
    }
}

impl<'de> Deserialize<'de> for Top {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(TopVisitor)
    }
}

struct TopVisitor;

impl<'de> Visitor<'de> for TopVisitor {
    type Value = Top;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Top, A::Error> {
        let mut result_written = None;
        let (value, written) = read_object(map, |key, map| {
            if key == "result" {
                // serde_json keeps the last value of a repeated key: so does this read.
                let (value, written) = map.next_value_seed(ResultSeed)?;
                result_written = written;
                Ok(value)
            } else {
                map.next_value()
            }
        })?;
        let mut duplicates: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        for (key, _) in written.iter().flatten() {
            if !seen.insert(key.as_str()) && !duplicates.contains(key) {
                duplicates.push(key.clone());
            }
        }
        Ok(Top {
            value,
            duplicates,
            result_written,
        })
    }
}

/// The `result` member: its value, and its members as written when it is an object that
/// repeats a name.
struct ResultSeed;

impl<'de> DeserializeSeed<'de> for ResultSeed {
    type Value = (Value, Option<Written>);

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(ResultVisitor)
    }
}

struct ResultVisitor;

macro_rules! plain_value {
    ($($method:ident: $t:ty),*) => {
        $(fn $method<E: de::Error>(self, v: $t) -> Result<Self::Value, E> {
            Ok((Value::from(v), None))
        })*
    };
}

impl<'de> Visitor<'de> for ResultVisitor {
    type Value = (Value, Option<Written>);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    plain_value!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64, visit_str: &str);

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok((Value::String(v), None))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok((Value::Null, None))
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok((Value::Null, None))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Value::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(|v| (v, None))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        read_object(map, |_, map| map.next_value())
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::{exchange, exchange_truncated};

    use serde::de::IgnoredAny;

    /// The two parses this module made before [`Top`] read an answer in one (a `Value`, then a
    /// scan for repeated names): the reference the one-pass read must agree with.
    fn parse_in_two_passes(text: &str) -> Result<(Value, Vec<String>, Option<Written>), String> {
        let value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let (duplicates, members) = if value.is_object() {
            match serde_json::from_str::<TopScan>(text) {
                Ok(scan) => (scan.duplicates, scan.result_members),
                Err(_) => (Vec::new(), None),
            }
        } else {
            (Vec::new(), None)
        };
        let members = members.filter(|_| value.get("result").is_some_and(Value::is_object));
        Ok((value, duplicates, members))
    }

    /// A second pass over an object answer that sees what `Value` hides: repeated member names.
    struct TopScan {
        duplicates: Vec<String>,
        result_members: Option<Vec<(String, Value)>>,
    }

    impl<'de> Deserialize<'de> for TopScan {
        fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_map(TopScanVisitor)
        }
    }

    struct TopScanVisitor;

    impl<'de> Visitor<'de> for TopScanVisitor {
        type Value = TopScan;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TopScan, A::Error> {
            let mut seen = HashSet::new();
            let mut duplicates = Vec::new();
            let mut result_members = None;
            while let Some(key) = map.next_key::<String>()? {
                if !seen.insert(key.clone()) && !duplicates.contains(&key) {
                    duplicates.push(key.clone());
                }
                if key == "result" {
                    // serde_json keeps the last value of a repeated key: so does this scan.
                    result_members = map.next_value::<Members>()?.0;
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(TopScan {
                duplicates,
                result_members,
            })
        }
    }

    /// The members of an object as written (`None` for any other value).
    struct Members(Option<Vec<(String, Value)>>);

    impl<'de> Deserialize<'de> for Members {
        fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(MembersVisitor)
        }
    }

    struct MembersVisitor;

    impl<'de> Visitor<'de> for MembersVisitor {
        type Value = Members;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any JSON value")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
            let mut members = Vec::new();
            while let Some(key) = map.next_key::<String>()? {
                members.push((key, map.next_value::<Value>()?));
            }
            Ok(Members(Some(members)))
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Members, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Members(None))
        }

        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Members, E> {
            Ok(Members(None))
        }

        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Members, E> {
            Ok(Members(None))
        }

        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Members, E> {
            Ok(Members(None))
        }

        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Members, E> {
            Ok(Members(None))
        }

        fn visit_str<E: de::Error>(self, _: &str) -> Result<Members, E> {
            Ok(Members(None))
        }

        fn visit_unit<E: de::Error>(self) -> Result<Members, E> {
            Ok(Members(None))
        }

        fn visit_none<E: de::Error>(self) -> Result<Members, E> {
            Ok(Members(None))
        }
    }

    fn parse(exchange: &Exchange) -> Parsed {
        parse_answer(exchange, AnswerLimits::default())
    }

    fn err(body: &[u8]) -> Finding {
        match parse(&exchange(200, body)) {
            Ok(a) => panic!("expected not JSON, got {:?}", a.value),
            Err(Unread::NotJson(f)) => *f,
            Err(Unread::NotRead(why)) => panic!("expected not JSON, got over a limit: {why}"),
        }
    }

    fn over(body: &[u8], limits: AnswerLimits) -> String {
        match parse_answer(&exchange(200, body), limits) {
            Err(Unread::NotRead(why)) => why,
            Ok(_) => panic!("parsed"),
            Err(Unread::NotJson(f)) => panic!("not JSON: {}", f.message),
        }
    }

    #[test]
    fn parses_an_envelope() {
        let a = parse(&exchange(
            200,
            br#"{"success":true,"desc":"ok","result":[1]}"#,
        ))
        .expect("json");
        assert_eq!(a.success, Some(true));
        assert_eq!(a.desc(), Some("ok"));
        assert_eq!(a.result(), Some(&serde_json::json!([1])));
        assert!(a.duplicate_keys.is_empty());
        assert!(a.result_members().is_none());
    }

    #[test]
    fn a_compressed_body_names_its_content_encoding() {
        let mut compressed = exchange(200, &[0x1f, 0x8b, 0x08, 0x00, 0xff, 0x00]);
        if let Some(response) = compressed.response.as_mut() {
            response
                .headers
                .push(("Content-Encoding".into(), "br".into()));
        }
        let finding = match parse(&compressed) {
            Err(Unread::NotJson(f)) => *f,
            _ => panic!("a compressed body is not JSON"),
        };
        assert!(
            finding.message.contains("Content-Encoding: br"),
            "{}",
            finding.message
        );
        // A JSON body with a stray header is still read.
        let mut plain = exchange(200, br#"{"success":true}"#);
        if let Some(response) = plain.response.as_mut() {
            response
                .headers
                .push(("content-encoding".into(), "gzip".into()));
        }
        assert!(parse(&plain).is_ok());
    }

    /// The one-pass read gives what the two parses gave: the same value (members in the same
    /// order), the same repeated names, the same members as written, the same refusals.
    #[test]
    fn one_pass_reads_as_the_two_passes_did() {
        let corpus = [
            r#"{"success":true,"desc":"ok","result":{"sku":"1","name":"天津","images":[{"path":"http://a/1"}]}}"#,
            r#"{"success":true,"success":false,"result":1,"result":{"a":1,"b":2,"a":3,"c":[1,{"a":1,"a":2}]},"desc":"x","desc":"y","success":true}"#,
            r#"{"result":{"和平区":"120101","和平区":"120102","河西区":"120103","和平区":"120104"}}"#,
            r#"{"result":{"a":1},"result":[1,2]}"#,
            r#"{"result":[1,2],"result":{"a":1,"b":{"c":1e400}}}"#,
            r#"{"success":true,"result":1e400}"#,
            r#"{"success":true,"result":-0.0000000000000000000001,"n":123456789012345678901234567890}"#,
            r#"{"result":{"$serde_json::private::Number":"12"}}"#,
            r#"{"$serde_json::private::Number":"12"}"#,
            r#"{"result":{"x":{"$serde_json::private::Number":"1"}}}"#,
            r#"{"result":{"$serde_json::private::Number":"abc"}}"#,
            r#"{"result":{"$serde_json::private::Number":12}}"#,
            r#"{"result":null,"a":true,"b":false,"c":"\u5929\n\"\\","d":[]}"#,
            r#"{"result":"text"}"#,
            r#"{"result":{}}"#,
            r#"{}"#,
            " \n\t{\"result\":{\"a\":1}} \r\n",
            r#"[1,2,{"a":1,"a":2}]"#,
            r#""just a string""#,
            r#"1e400"#,
            r#"null"#,
            r#"{"result":{"a":1,}}"#,
            r#"{"result":{"a":1}"#,
            r#"{"result":{"a":1}}x"#,
            r#"{"result":{"a" 1}}"#,
            r#"{"result":[1,2,]}"#,
            r#"{"a":"\ud800"}"#,
            r#"{"a":01}"#,
            r#"{"a":1} {"b":2}"#,
            r#"<html>{"a":1}</html>"#,
            "\u{3000}{\"a\":1}",
        ];
        let mut corpus: Vec<String> = corpus.iter().map(|s| s.to_string()).collect();
        corpus.push(format!(
            "{{\"result\":{}1{}}}",
            "[".repeat(200),
            "]".repeat(200)
        ));
        corpus.push(format!(
            "{{\"result\":{}1{}}}",
            "{\"a\":".repeat(200),
            "}".repeat(200)
        ));
        corpus.push(format!(
            "{{\"result\":{}1{}}}",
            "[".repeat(100),
            "]".repeat(100)
        ));
        let limits = AnswerLimits {
            max_items: u64::MAX,
            max_depth: u64::MAX,
        };
        for text in &corpus {
            let old = parse_in_two_passes(text);
            let new = parse_answer(&exchange(200, text.as_bytes()), limits);
            match (old, new) {
                (Ok((value, duplicates, members)), Ok(answer)) => {
                    assert_eq!(answer.value.to_string(), value.to_string(), "{text}");
                    assert_eq!(answer.value, value, "{text}");
                    assert_eq!(answer.duplicate_keys, duplicates, "{text}");
                    let members = members.map(|m| {
                        m.into_iter()
                            .map(|(k, v)| (k, v.to_string()))
                            .collect::<Vec<_>>()
                    });
                    let read = answer.result_members().map(|m| {
                        m.into_iter()
                            .map(|(k, v)| (k.to_string(), v.to_string()))
                            .collect::<Vec<_>>()
                    });
                    assert_eq!(read, members, "{text}");
                }
                (Err(old), Err(Unread::NotJson(finding))) => {
                    assert!(
                        finding.message.contains(&old),
                        "{text}: {} vs {old}",
                        finding.message
                    );
                }
                (old, new) => panic!(
                    "{text}: two passes {:?}, one pass {:?}",
                    old.map(|o| o.0),
                    new.map(|a| a.value).map_err(|e| match e {
                        Unread::NotJson(f) => f.message,
                        Unread::NotRead(w) => w,
                    })
                ),
            }
        }
    }

    #[test]
    fn string_success_is_not_a_flag() {
        let a = parse(&exchange(200, br#"{"success":"true"}"#)).expect("json");
        assert_eq!(a.success, None);
    }

    #[test]
    fn keeps_duplicate_members_of_an_object_result() {
        let body =
            r#"{"success":true,"success":true,"result":{"和平区":"120101","和平区":"120102"}}"#;
        let a = parse(&exchange(200, body.as_bytes())).expect("json");
        assert_eq!(a.duplicate_keys, vec!["success".to_string()]);
        let members = a.result_members().expect("members");
        assert_eq!(members.len(), 2);
        assert_eq!(members[1].1, &serde_json::json!("120102"));
    }

    #[test]
    fn number_result_has_no_members() {
        let a = parse(&exchange(200, br#"{"success":true,"result":1e400}"#)).expect("json");
        assert!(a.result_members().is_none());
        assert_eq!(
            a.result().map(ToString::to_string).as_deref(),
            Some("1e+400")
        );
    }

    #[test]
    fn hostile_bodies_are_gen_json_findings() {
        let html = err(b"<!DOCTYPE html>\n<html><body>502 Bad Gateway</body></html>");
        assert_eq!(html.requirement, "GEN-JSON");
        assert!(html.message.contains("HTML"), "{}", html.message);
        assert!(html.actual.as_deref().unwrap_or("").contains("\\n<html>"));
        assert!(err(b"").message.contains("empty body"));
        assert!(err(b"  \r\n").message.contains("empty body"));
        assert!(err(b"ok").message.contains("not JSON"));
        let utf8 = err(b"{\"success\":true,\"desc\":\"\xff\xfe\"}");
        assert!(
            utf8.message.contains("UTF-8 at byte 24"),
            "{}",
            utf8.message
        );
        assert!(err(b"\xEF\xBB\xBF{}").message.contains("byte-order mark"));
        // Deeper than serde_json's own limit, yet within ours: still "not JSON", no overflow.
        let nested = format!(
            "{{\"success\":true,\"result\":{}{}}}",
            "[".repeat(5000),
            "]".repeat(5000)
        );
        let limits = AnswerLimits {
            max_depth: 10_000,
            ..AnswerLimits::default()
        };
        match parse_answer(&exchange(200, nested.as_bytes()), limits) {
            Err(Unread::NotJson(f)) => assert!(f.message.contains("not JSON"), "{}", f.message),
            _ => panic!("5000 levels parsed"),
        }
    }

    #[test]
    fn an_answer_beyond_the_limits_is_not_parsed_and_says_which() {
        let limits = AnswerLimits {
            max_items: 1000,
            max_depth: 8,
        };
        let many = format!("{{\"success\":true,\"result\":[{}1]}}", "1,".repeat(1000));
        assert!(over(many.as_bytes(), limits).contains("more than 1000 values (max_answer_items)"));
        let deep = format!(
            "{{\"success\":true,\"result\":{}{}}}",
            "[".repeat(9),
            "]".repeat(9)
        );
        assert!(over(deep.as_bytes(), limits).contains("deeper than 8 levels (max_answer_depth)"));
        // Commas and brackets inside strings are text, not values.
        let text = format!(
            "{{\"success\":true,\"desc\":\"{}\\\"[[[[[[[[[[\",\"result\":[]}}",
            ",".repeat(5000)
        );
        assert!(parse_answer(&exchange(200, text.as_bytes()), limits).is_ok());
        // Within the limit (993 values, counting the containers and top-level commas) is read.
        let at = format!("{{\"success\":true,\"result\":[{}1]}}", "1,".repeat(990));
        assert!(parse_answer(&exchange(200, at.as_bytes()), limits).is_ok());
    }

    /// The byte-by-byte pre-scan this module used before strings were skipped with memchr:
    /// the reference the faster one must agree with.
    fn over_limits_one_by_one(body: &[u8], limits: AnswerLimits) -> Option<String> {
        let mut items: u64 = 0;
        let mut depth: u64 = 0;
        let mut in_string = false;
        let mut escaped = false;
        for &byte in body {
            if in_string {
                match byte {
                    _ if escaped => escaped = false,
                    b'\\' => escaped = true,
                    b'"' => in_string = false,
                    _ => {}
                }
                continue;
            }
            match byte {
                b'"' => in_string = true,
                b'[' | b'{' => {
                    depth += 1;
                    items += 1;
                    if depth > limits.max_depth {
                        return Some(format!("depth {}", limits.max_depth));
                    }
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                b',' => items += 1,
                _ => continue,
            }
            if items > limits.max_items {
                return Some(format!("items {}", limits.max_items));
            }
        }
        None
    }

    #[test]
    fn the_pre_scan_agrees_with_the_byte_by_byte_one() {
        let mut corpus: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"\"".to_vec(),
            b"\"\\".to_vec(),
            b"\"\\\"".to_vec(),
            b"[\"\\\\\",[[[1,2]]]".to_vec(),
            b"[\"a\\\"[[[[[\",1,2,3]".to_vec(),
            b"{\"success\":true,\"desc\":\"\xff\xfe[[[[\",\"result\":[[[[[[1]]]]]]}".to_vec(),
            b"[\x00,\x1f,\"\n\r\",[\t]]".to_vec(),
            b"]]]]]]][[[[".to_vec(),
            "{\"名\":\"天津,和平区\",\"x\":[1,2,{\"y\":[3,4]}]}"
                .as_bytes()
                .to_vec(),
            b"[1,2,3,\"unterminated [[[[[,,,,,".to_vec(),
            b"\"ends in a backslash\\".to_vec(),
        ];
        for n in [5usize, 8, 9, 10, 60] {
            corpus.push(format!("{}{}", "[".repeat(n), "]".repeat(n)).into_bytes());
            corpus.push(format!("[{}1]", "1,".repeat(n)).into_bytes());
            corpus.push(format!("[{}\"]", "\"a,[\\\",".repeat(n)).into_bytes());
            corpus.push(format!("{{{}}}", "\"k\":{\"v\":[\"\\\\\"]},".repeat(n)).into_bytes());
        }
        for limits in [
            AnswerLimits::default(),
            AnswerLimits {
                max_items: 10,
                max_depth: 8,
            },
            AnswerLimits {
                max_items: 0,
                max_depth: 0,
            },
        ] {
            for body in &corpus {
                let kind = |why: Option<String>| {
                    why.map(|w| {
                        if w.contains("max_answer_depth") || w.starts_with("depth") {
                            "depth"
                        } else {
                            "items"
                        }
                    })
                };
                assert_eq!(
                    kind(over_limits(body, limits)),
                    kind(over_limits_one_by_one(body, limits)),
                    "{:?} under {limits:?}",
                    String::from_utf8_lossy(body)
                );
            }
        }
    }

    #[test]
    fn truncated_body_names_the_cap() {
        let why = match parse(&exchange_truncated(b"{\"success\":true,\"result\":[1,2,")) {
            Err(Unread::NotRead(why)) => why,
            _ => panic!("a truncated body was read"),
        };
        assert!(why.contains("larger than the cap of 30 bytes"), "{why}");
    }

    #[test]
    fn excerpt_escapes_and_cuts() {
        let e = excerpt(b"a\x01b\rc");
        assert_eq!(e, "a\\u{01}b\\rc");
        let long = "天".repeat(300);
        let e = excerpt(long.as_bytes());
        assert_eq!(e.chars().count(), EXCERPT_CHARS + 1);
        assert!(e.ends_with('…'));
    }
}
