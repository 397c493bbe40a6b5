//! Request parameters: an `application/x-www-form-urlencoded` body (`encoding = "form"`) or a JSON
//! object (when the Content-Type says so, as under `encoding = "json"`), read into one map. Nested
//! values (order lines) travel as JSON text inside a form field, or as JSON values in a JSON body;
//! both are accepted. [`Params::into_logical`] renames them from the profile's wire names to the
//! logical names the handlers read.

use axum::http::{HeaderMap, header};
use serde_json::Value;

use crate::profile::FieldMap;

#[derive(Debug, Default, Clone)]
pub struct Params {
    /// A request has a handful of parameters: a list searched in order is cheaper than a map.
    values: Vec<(String, Value)>,
    /// The renames of a variant profile, so that a refusal names the parameter as it is sent.
    fields: Option<FieldMap>,
}

impl Params {
    fn new(values: Vec<(String, Value)>) -> Params {
        Params {
            values,
            fields: None,
        }
    }

    /// The first occurrence of a repeated key wins.
    fn get(&self, key: &str) -> Option<&Value> {
        self.values
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value)
    }

    pub fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Params, String> {
        let is_json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.to_ascii_lowercase().starts_with("application/json"));
        if is_json {
            if body.iter().all(u8::is_ascii_whitespace) {
                return Ok(Params::default());
            }
            match serde_json::from_slice::<Value>(body) {
                Ok(Value::Object(map)) => Ok(Params::new(map.into_iter().collect())),
                Ok(_) => Err("请求体须为 JSON 对象 the JSON body must be an object".to_string()),
                Err(e) => Err(format!("请求体不是合法 JSON invalid JSON body: {e}")),
            }
        } else {
            Ok(Params::new(
                parse_form(body)
                    .into_iter()
                    .map(|(key, value)| (key, Value::String(value)))
                    .collect(),
            ))
        }
    }

    /// The parameters under logical names, at every depth: JSON values of a JSON body, and the
    /// JSON text of the form fields named in `json_params` (by wire or logical name). A parameter
    /// under a logical name this profile calls something else is dropped: on this wire it is not
    /// that field. JSON text that does not parse is kept as it came, so that [`Params::json`]
    /// names the error.
    pub fn into_logical(self, fields: &FieldMap, json_params: &[String]) -> Params {
        if fields.is_identity() {
            return self;
        }
        let values = self
            .values
            .into_iter()
            .filter(|(wire, _)| fields.wire(wire) == wire.as_str())
            .map(|(wire, value)| {
                let value = match value {
                    Value::String(text)
                        if json_params
                            .iter()
                            .any(|name| *name == wire || name == fields.logical(&wire)) =>
                    {
                        match serde_json::from_str::<Value>(&text) {
                            Ok(nested) => fields.to_logical_value(nested),
                            Err(_) => Value::String(text),
                        }
                    }
                    other => fields.to_logical_value(other),
                };
                (fields.logical(&wire).to_string(), value)
            })
            .collect();
        Params {
            values,
            fields: Some(fields.clone()),
        }
    }

    /// How the client names a logical parameter.
    fn wire_name<'a>(&'a self, key: &'a str) -> &'a str {
        self.fields.as_ref().map_or(key, |fields| fields.wire(key))
    }

    /// A parameter as text, trimmed; absent or empty gives None. Numbers give their text.
    pub fn text(&self, key: &str) -> Option<String> {
        let text = match self.get(key)? {
            Value::String(text) => text.trim().to_string(),
            Value::Number(number) => number.to_string(),
            Value::Bool(flag) => flag.to_string(),
            Value::Null => return None,
            other => other.to_string(),
        };
        (!text.is_empty()).then_some(text)
    }

    pub fn required(&self, key: &str) -> Result<String, String> {
        self.text(key).ok_or_else(|| self.missing(key))
    }

    /// The refusal of a call without `key`, naming it as the client sends it.
    pub fn missing(&self, key: &str) -> String {
        format!("缺少参数 missing parameter: {}", self.wire_name(key))
    }

    /// A parameter holding JSON: JSON text in a form field, or a JSON value in a JSON body.
    pub fn json(&self, key: &str) -> Result<Value, String> {
        let name = self.wire_name(key);
        match self.get(key) {
            None | Some(Value::Null) => Err(self.missing(key)),
            Some(Value::String(text)) => serde_json::from_str(text)
                .map_err(|e| format!("参数不是合法 JSON parameter {name} is not valid JSON: {e}")),
            Some(value) => Ok(value.clone()),
        }
    }
}

/// Decodes `a=1&b=x+y%20z`. Invalid percent escapes are kept as they are; invalid UTF-8 is
/// replaced, so no input makes this fail.
pub fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    body.split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let mut parts = pair.splitn(2, |&b| b == b'=');
            let key = percent_decode(parts.next().unwrap_or_default());
            let value = percent_decode(parts.next().unwrap_or_default());
            (key, value)
        })
        .collect()
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

fn percent_decode(input: &[u8]) -> String {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < input.len() => {
                match (hex_value(input[i + 1]), hex_value(input[i + 2])) {
                    (Some(high), Some(low)) => {
                        out.push(high << 4 | low);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn jd_fields() -> FieldMap {
        let table = BTreeMap::from([
            ("market_price".to_string(), "mall_price".to_string()),
            ("yggc_order".to_string(), "po_order".to_string()),
        ]);
        FieldMap::new(&table).unwrap_or_default()
    }

    fn form(body: &str) -> Params {
        Params::parse(&HeaderMap::new(), body.as_bytes()).unwrap_or_default()
    }

    #[test]
    fn wire_names_become_logical_in_forms_and_in_nested_json_text() {
        let lines = r#"[{"sku":"1","num":2,"price":3,"po_order":"x"}]"#;
        let body = format!(
            "po_order=M1&yggc_order=stale&sku={}&name=a",
            lines.replace('"', "%22")
        );
        let params = form(&body).into_logical(&jd_fields(), &["sku".to_string()]);
        assert_eq!(params.text("yggc_order").as_deref(), Some("M1"));
        assert_eq!(params.text("po_order"), None);
        let refusal = params.required("market_price").err().unwrap_or_default();
        assert!(refusal.ends_with("mall_price"), "named as sent: {refusal}");
        assert_eq!(params.text("name").as_deref(), Some("a"));
        let nested = params.json("sku").unwrap_or_default();
        assert_eq!(nested[0]["yggc_order"], Value::from("x"));
        assert_eq!(nested[0]["num"], Value::from(2));
    }

    #[test]
    fn json_bodies_are_renamed_at_every_depth_and_bad_json_text_stays_text() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        );
        let body = br#"{"po_order":"M1","sku":[{"sku":"1","mall_price":5}],"skus":"not json"}"#;
        let params = Params::parse(&headers, body)
            .unwrap_or_default()
            .into_logical(&jd_fields(), &["skus".to_string()]);
        assert_eq!(params.text("yggc_order").as_deref(), Some("M1"));
        let lines = params.json("sku").unwrap_or_default();
        assert_eq!(lines[0]["market_price"], Value::from(5));
        assert!(params.json("skus").is_err_and(|e| e.contains("skus")));
    }

    #[test]
    fn the_identity_map_changes_nothing() {
        let params = form("yggc_order=M1&sku=1").into_logical(&FieldMap::default(), &[]);
        assert_eq!(params.text("yggc_order").as_deref(), Some("M1"));
    }

    #[test]
    fn decodes_forms() {
        let pairs = parse_form(b"a=1&b=x+y%20z&c=%E5%92%8C&d=%zz&e&f=%4");
        assert_eq!(
            pairs,
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x y z".into()),
                ("c".into(), "和".into()),
                ("d".into(), "%zz".into()),
                ("e".into(), "".into()),
                ("f".into(), "%4".into()),
            ]
        );
    }
}
