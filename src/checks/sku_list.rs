//! The SKU list of a pool (2.4) read compactly: a million SKUs as one text and its offsets
//! (the length of a code plus 4 bytes each), never a `Value` tree (about 64 bytes a short
//! string and 200 MiB at a million). The answer is judged like any other, by the same checks:
//! transport, control characters, JSON, the envelope, the result schema (512 items at a time,
//! as `profile` validates long arrays) and SKU-LIST's duplicates; only the storage differs.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::answer::{Answer, Unread, not_json_error, readable_text};
use super::{CheckRun, ExchangeInput, SCHEMA_FINDINGS_CAP, envelope, ids, transport, walk};

/// Items validated against the result schema at once.
const CHUNK: usize = 512;

/// The items of a SKU list: the text items end to end in one `String`, and the rare items of
/// another type (a number, an object: schema findings) beside them as values.
#[derive(Debug, Default, Clone)]
pub struct SkuCodes {
    text: String,
    /// `ends[i]`: where item `i` ends in `text` (an item that is not a text is empty there).
    ends: Vec<u32>,
    /// (index, value) of the items that are not texts, by index.
    others: Vec<(usize, Value)>,
}

impl SkuCodes {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    fn span(&self, i: usize) -> &str {
        super::knowledge::span_of(&self.text, &self.ends, i)
    }

    fn other(&self, i: usize) -> Option<&Value> {
        self.others
            .binary_search_by_key(&i, |(index, _)| *index)
            .ok()
            .and_then(|at| self.others.get(at))
            .map(|(_, v)| v)
    }

    /// Item `i` when it is a text.
    pub fn text(&self, i: usize) -> Option<&str> {
        if i >= self.len() || self.other(i).is_some() {
            return None;
        }
        Some(self.span(i))
    }

    /// The identifying text of item `i`, as `walk::key_text` reads a value: a text as is, a
    /// number by its digits.
    pub(crate) fn key_text(&self, i: usize) -> Option<Cow<'_, str>> {
        match self.other(i) {
            Some(Value::Number(n)) => Some(Cow::Owned(n.to_string())),
            Some(_) => None,
            None => self.text(i).map(Cow::Borrowed),
        }
    }

    /// Item `i` as a value (for the schema, a chunk at a time).
    pub fn item(&self, i: usize) -> Value {
        match self.other(i) {
            Some(value) => value.clone(),
            None => Value::String(self.span(i).to_string()),
        }
    }

    /// Every text item, in answer order.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        (0..self.len()).filter_map(|i| self.text(i))
    }

    fn push_text(&mut self, text: &str) {
        self.text.push_str(text);
        self.ends
            .push(u32::try_from(self.text.len()).unwrap_or(u32::MAX));
    }

    fn push_other(&mut self, value: Value) {
        self.others.push((self.ends.len(), value));
        self.ends
            .push(u32::try_from(self.text.len()).unwrap_or(u32::MAX));
    }
}

/// What the judge made of a SKU-list answer.
#[derive(Debug)]
pub struct JudgedSkuList {
    pub runs: Vec<CheckRun>,
    /// The list, when the answer succeeded with an array `result`.
    pub codes: Option<SkuCodes>,
    /// `success` when it is a JSON boolean.
    pub success: Option<bool>,
    /// `desc` of a refusal (its first characters).
    pub desc: Option<String>,
    /// Why an answer that came was not read.
    pub unread: Option<String>,
}

impl JudgedSkuList {
    fn stop(runs: Vec<CheckRun>, unread: Option<String>) -> JudgedSkuList {
        JudgedSkuList {
            runs,
            codes: None,
            success: None,
            desc: None,
            unread,
        }
    }
}

/// [`super::judge_exchange`] for the SKU list of a pool, reading `result` compactly.
pub fn judge_sku_list(input: &ExchangeInput<'_>) -> JudgedSkuList {
    let mut runs = vec![transport::http_status(input.exchange)];
    let Some(response) = input.exchange.response.as_ref() else {
        return JudgedSkuList::stop(runs, super::no_answer(input.exchange));
    };
    let whole = !response.truncated && input.exchange.error.is_none();
    runs.push(transport::no_newline(&response.body, whole));
    let text = match readable_text(input.exchange, input.limits) {
        Ok(text) => text,
        Err(Unread::NotJson(finding)) => {
            runs.push(CheckRun::new(ids::JSON, &["GEN-JSON"], vec![*finding]));
            return JudgedSkuList::stop(runs, None);
        }
        Err(Unread::NotRead(why)) => {
            runs.push(CheckRun::not_judged(ids::JSON, &["GEN-JSON"], why.clone()));
            return JudgedSkuList::stop(runs, Some(why));
        }
    };
    let read = if text.trim_start().starts_with('{') {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let read = Top::deserialize(&mut deserializer).and_then(|top| {
            deserializer.end()?;
            Ok(top)
        });
        read.map(Top::into_parts)
    } else {
        // Not an object: no list to keep compact, and the envelope check says so.
        serde_json::from_str::<Value>(text).map(|value| {
            let answer = Answer {
                success: None,
                value,
                duplicate_keys: Vec::new(),
                result_written: None,
            };
            (answer, None)
        })
    };
    let (answer, codes) = match read {
        Ok(parts) => parts,
        Err(e) => {
            let Unread::NotJson(finding) = not_json_error(text, &e) else {
                return JudgedSkuList::stop(runs, None);
            };
            runs.push(CheckRun::new(ids::JSON, &["GEN-JSON"], vec![*finding]));
            return JudgedSkuList::stop(runs, None);
        }
    };
    runs.push(CheckRun::new(ids::JSON, &["GEN-JSON"], Vec::new()));
    runs.push(envelope::envelope(input.profile, &answer));
    if answer.success == Some(false) {
        runs.push(envelope::desc_on_failure(&answer));
    }
    let judge_result = answer.success == Some(true) && input.expect_success;
    if judge_result {
        match &codes {
            Some(codes) => runs.push(schema_compact(input, codes)),
            None => runs.push(envelope::schema(
                input.profile,
                input.interface,
                answer.result().unwrap_or(&Value::Null),
            )),
        }
        for check in &input.interface.checks {
            runs.push(match (check.as_str(), &codes) {
                (ids::SKU_LIST, Some(codes)) => super::catalogue::sku_list_compact(codes),
                (ids::SKU_LIST, None) => {
                    super::catalogue::sku_list(answer.result().unwrap_or(&Value::Null))
                }
                (other, _) => CheckRun::not_judged(
                    other,
                    &[input.interface.schema_requirement.as_str()],
                    format!("{other} 不适用于 SKU 列表 / {other} does not apply to a SKU list"),
                ),
            });
        }
    }
    for run in runs.iter_mut().filter(|r| r.check != ids::SCHEMA) {
        super::cap_findings(&mut run.findings, super::FINDINGS_CAP + 1);
    }
    JudgedSkuList {
        runs,
        success: answer.success,
        desc: answer.desc().map(|d| walk::shorten(d, 200)),
        codes: codes.filter(|_| answer.success == Some(true)),
        unread: None,
    }
}

/// The result schema over the compact list, [`CHUNK`] items at a time (pointers shifted to the
/// item's place in the whole answer).
fn schema_compact(input: &ExchangeInput<'_>, codes: &SkuCodes) -> CheckRun {
    let interface = input.interface;
    let mut findings = Vec::new();
    let mut total = 0;
    let mut start = 0;
    loop {
        let end = (start + CHUNK).min(codes.len());
        let part = Value::Array((start..end).map(|i| codes.item(i)).collect());
        let keep = SCHEMA_FINDINGS_CAP.saturating_sub(findings.len());
        let (violations, count) = input
            .profile
            .validate_result_kept(&interface.id, &part, keep);
        total += count;
        for v in violations.into_iter().take(keep) {
            let actual = part.pointer(&v.instance_pointer).map(walk::text);
            let pointer = shifted(&v.instance_pointer, start);
            findings.push(envelope::violation_finding(interface, &v, actual, &pointer));
        }
        start = end;
        if start >= codes.len() {
            break;
        }
    }
    envelope::schema_run(interface, findings, total)
}

/// `/3/x` of a chunk that starts at `offset`: `/<3 + offset>/x`.
fn shifted(pointer: &str, offset: usize) -> String {
    let rest = pointer.strip_prefix('/').unwrap_or(pointer);
    let (first, tail) = rest.split_once('/').map_or((rest, ""), |(f, t)| (f, t));
    match first.parse::<usize>() {
        Ok(index) if !pointer.is_empty() => {
            let tail = if tail.is_empty() {
                String::new()
            } else {
                format!("/{tail}")
            };
            format!("/{}{tail}", index + offset)
        }
        _ => pointer.to_string(),
    }
}

/// The top level of the answer: every member but an array `result` as a value.
struct Top {
    members: Map<String, Value>,
    duplicates: Vec<String>,
    codes: Option<SkuCodes>,
}

impl Top {
    fn into_parts(self) -> (Answer, Option<SkuCodes>) {
        let Top {
            mut members,
            duplicates,
            codes,
        } = self;
        if codes.is_some() {
            // The list stands in as an empty array: the envelope sees an array `result`.
            members.insert("result".to_string(), Value::Array(Vec::new()));
        }
        let value = Value::Object(members);
        let answer = Answer {
            success: value.get("success").and_then(Value::as_bool),
            value,
            duplicate_keys: duplicates,
            result_written: None,
        };
        (answer, codes)
    }
}

impl<'de> Deserialize<'de> for Top {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Top, D::Error> {
        deserializer.deserialize_map(TopVisitor)
    }
}

struct TopVisitor;

impl<'de> Visitor<'de> for TopVisitor {
    type Value = Top;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top, A::Error> {
        let mut top = Top {
            members: Map::new(),
            duplicates: Vec::new(),
            codes: None,
        };
        while let Some(key) = map.next_key::<String>()? {
            let seen = top.members.contains_key(&key) || (key == "result" && top.codes.is_some());
            if seen && !top.duplicates.contains(&key) {
                top.duplicates.push(key.clone());
            }
            if key == "result" {
                // serde_json keeps the last value of a repeated key: so does this read.
                match map.next_value_seed(ResultSeed)? {
                    ResultRead::Codes(codes) => {
                        top.members.remove("result");
                        top.codes = Some(codes);
                    }
                    ResultRead::Value(value) => {
                        top.codes = None;
                        top.members.insert(key, value);
                    }
                }
            } else {
                let value: Value = map.next_value()?;
                top.members.insert(key, value);
            }
        }
        Ok(top)
    }
}

enum ResultRead {
    Codes(SkuCodes),
    Value(Value),
}

struct ResultSeed;

impl<'de> DeserializeSeed<'de> for ResultSeed {
    type Value = ResultRead;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<ResultRead, D::Error> {
        deserializer.deserialize_any(ResultVisitor)
    }
}

/// Any value: an array becomes [`SkuCodes`], anything else the `Value` it is.
struct ResultVisitor;

macro_rules! as_value {
    ($($method:ident: $t:ty),*) => {
        $(fn $method<E: de::Error>(self, v: $t) -> Result<Self::Value, E> {
            Ok(ResultRead::Value(Value::from(v)))
        })*
    };
}

impl<'de> Visitor<'de> for ResultVisitor {
    type Value = ResultRead;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    as_value!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64, visit_str: &str);

    fn visit_unit<E: de::Error>(self) -> Result<ResultRead, E> {
        Ok(ResultRead::Value(Value::Null))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ResultRead, A::Error> {
        // An object (or an arbitrary-precision number, which serde_json hands over as a map).
        Value::deserialize(de::value::MapAccessDeserializer::new(map)).map(ResultRead::Value)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ResultRead, A::Error> {
        let mut codes = SkuCodes::default();
        while seq.next_element_seed(ItemSeed(&mut codes))?.is_some() {}
        Ok(ResultRead::Codes(codes))
    }
}

/// One item of the list, pushed into the codes as it is read.
struct ItemSeed<'c>(&'c mut SkuCodes);

impl<'de> DeserializeSeed<'de> for ItemSeed<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(ItemVisitor(self.0))
    }
}

struct ItemVisitor<'c>(&'c mut SkuCodes);

macro_rules! other_item {
    ($($method:ident: $t:ty),*) => {
        $(fn $method<E: de::Error>(self, v: $t) -> Result<(), E> {
            self.0.push_other(Value::from(v));
            Ok(())
        })*
    };
}

impl<'de> Visitor<'de> for ItemVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a SKU")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.0.push_text(v);
        Ok(())
    }

    other_item!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64);

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.0.push_other(Value::Null);
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let value = Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
        self.0.push_other(value);
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        let value = Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        self.0.push_other(value);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::*;
    use serde_json::json;

    fn judged(body: &[u8]) -> JudgedSkuList {
        let profile = profile();
        let interface = profile.interface("skus").expect("skus");
        let exchange = exchange(200, body);
        let params = Map::new();
        judge_sku_list(&ExchangeInput {
            profile,
            interface,
            exchange: &exchange,
            params: &params,
            expect_success: true,
            token_first_issued_ms: None,
            latency_bound_ms: 1000,
            limits: Default::default(),
        })
    }

    /// The compact read gives the same findings as the value read, on clean and broken lists.
    #[test]
    fn the_compact_read_judges_like_the_value_read() {
        let many: Vec<Value> = (0..1300).map(|i| json!(format!("{}", 100 + i))).collect();
        let mut broken = many.clone();
        broken[700] = json!(5);
        broken[900] = json!("a b");
        broken[1200] = json!("100");
        let bodies = [
            ok_body(&json!(many)),
            ok_body(&json!(broken)),
            ok_body(&json!(["1", "1", {"x": 1}])),
            ok_body(&json!([])),
            br#"{"success":true,"result":{"a":1}}"#.to_vec(),
            br#"{"success":true,"result":["1"],"result":["2","2"]}"#.to_vec(),
            br#"{"success":"true","result":["1"]}"#.to_vec(),
            br#"{"success":false}"#.to_vec(),
            b"[1,2]".to_vec(),
            b"{\"success\":true,\"result\":[\"1\",".to_vec(),
        ];
        for body in bodies {
            let compact = judged(&body);
            let full = run_body("skus", &body, json!({}));
            let pick = |runs: &[CheckRun]| {
                let mut found: Vec<(String, String, Option<String>)> = runs
                    .iter()
                    .flat_map(|r| &r.findings)
                    .map(|f| (f.requirement.clone(), f.check.clone(), f.pointer.clone()))
                    .collect();
                found.sort();
                found
            };
            assert_eq!(
                pick(&compact.runs),
                pick(&full),
                "{}",
                String::from_utf8_lossy(&body[..body.len().min(80)])
            );
            // What was not judged, too: the same requirements, by the same checks.
            let unjudged = |runs: &[CheckRun]| {
                let mut found: Vec<(String, Vec<String>)> = runs
                    .iter()
                    .filter(|r| !r.unjudged.is_empty())
                    .map(|r| (r.check.clone(), r.requirements.clone()))
                    .collect();
                found.sort();
                found
            };
            assert_eq!(
                unjudged(&compact.runs),
                unjudged(&full),
                "not judged: {}",
                String::from_utf8_lossy(&body[..body.len().min(80)])
            );
            // And the list learnt is the list the value read holds.
            let value: Option<Value> = serde_json::from_slice(&body).ok();
            if let (Some(codes), Some(items)) = (
                compact.codes.as_ref(),
                value
                    .as_ref()
                    .and_then(|v| v.get("result"))
                    .and_then(Value::as_array),
            ) {
                let read: Vec<Value> = (0..codes.len()).map(|i| codes.item(i)).collect();
                assert_eq!(&read, items, "the codes are the items");
            }
        }
        let codes = judged(&ok_body(&json!(["7", "8"]))).codes.expect("a list");
        assert_eq!(codes.texts().collect::<Vec<_>>(), vec!["7", "8"]);
    }

    #[test]
    fn pointers_of_later_chunks_are_shifted() {
        assert_eq!(shifted("/3", 512), "/515");
        assert_eq!(shifted("/3/x", 1024), "/1027/x");
        assert_eq!(shifted("", 512), "");
    }
}
