//! Logical parameters → the bytes on the wire, in the profile's encoding.
//!
//! Form: strings as they are, numbers as their exact text (serde_json keeps it, so `19.90` stays
//! `19.90`), booleans `true`/`false`, null as an empty value, arrays and objects as JSON text (which
//! is how `json_params` travel). JSON: the object as it is.

use serde_json::{Map, Value};

pub const FORM: &str = "application/x-www-form-urlencoded";
pub const JSON: &str = "application/json";

/// A request body ready to send, and its parameters as text for the record (not yet redacted).
pub struct Encoded {
    pub content_type: &'static str,
    pub body: Vec<u8>,
    pub params: Vec<(String, String)>,
}

/// The form text of one logical value.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        // Numbers keep their exact text (arbitrary_precision); booleans print as true/false;
        // arrays and objects become compact JSON text.
        other => other.to_string(),
    }
}

/// `params` in order, as a form or a JSON object.
pub fn encode(params: &[(String, Value)], json: bool) -> Encoded {
    let texts: Vec<(String, String)> = params
        .iter()
        .map(|(name, value)| (name.clone(), value_text(value)))
        .collect();
    if json {
        let object: Map<String, Value> = params.iter().cloned().collect();
        Encoded {
            content_type: JSON,
            body: Value::Object(object).to_string().into_bytes(),
            params: texts,
        }
    } else {
        Encoded {
            content_type: FORM,
            body: form_urlencode(&texts).into_bytes(),
            params: texts,
        }
    }
}

pub use crate::exchange::form_urlencode;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pairs(v: Value) -> Vec<(String, Value)> {
        match v {
            Value::Object(m) => m.into_iter().collect(),
            _ => Vec::new(),
        }
    }

    #[test]
    fn form_texts_keep_number_text_and_nest_json() {
        let params: Value =
            serde_json::from_str(r#"{"price": 19.90, "n": 3, "ok": true, "none": null, "sku": [{"sku": "A1", "price": 5.10}], "name": "张 三&"}"#)
                .unwrap_or_default();
        let e = encode(&pairs(params), false);
        assert_eq!(e.content_type, FORM);
        let map: std::collections::HashMap<_, _> = e.params.iter().cloned().collect();
        assert_eq!(map["price"], "19.90");
        assert_eq!(map["n"], "3");
        assert_eq!(map["ok"], "true");
        assert_eq!(map["none"], "");
        assert_eq!(map["sku"], r#"[{"sku":"A1","price":5.10}]"#);
        let body = String::from_utf8(e.body).unwrap_or_default();
        assert!(
            body.starts_with("price=19.90&n=3&ok=true&none=&sku=%5B%7B%22sku%22"),
            "{body}"
        );
        assert!(body.ends_with("name=%E5%BC%A0+%E4%B8%89%26"), "{body}");
    }

    #[test]
    fn json_body_is_the_object() {
        let e = encode(&pairs(json!({"a": 1, "b": "x"})), true);
        assert_eq!(e.content_type, JSON);
        assert_eq!(
            String::from_utf8(e.body).unwrap_or_default(),
            r#"{"a":1,"b":"x"}"#
        );
    }
}
