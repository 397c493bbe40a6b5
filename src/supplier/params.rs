//! Request parameters: an `application/x-www-form-urlencoded` body (the default profile) or a JSON
//! object (when the Content-Type says so), read into one map. Nested values (order lines) travel
//! as JSON text inside a form field, or as JSON values in a JSON body; both are accepted.

use axum::http::{HeaderMap, header};
use serde_json::Value;

#[derive(Debug, Default, Clone)]
pub struct Params(Vec<(String, Value)>);

impl Params {
    /// A request has a handful of parameters: a list searched in order is cheaper than a map.
    /// The first occurrence of a repeated key wins.
    fn get(&self, key: &str) -> Option<&Value> {
        self.0
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
                Ok(Value::Object(map)) => Ok(Params(map.into_iter().collect())),
                Ok(_) => Err("请求体须为 JSON 对象 the JSON body must be an object".to_string()),
                Err(e) => Err(format!("请求体不是合法 JSON invalid JSON body: {e}")),
            }
        } else {
            Ok(Params(
                parse_form(body)
                    .into_iter()
                    .map(|(key, value)| (key, Value::String(value)))
                    .collect(),
            ))
        }
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
        self.text(key)
            .ok_or_else(|| format!("缺少参数 missing parameter: {key}"))
    }

    /// A parameter holding JSON: JSON text in a form field, or a JSON value in a JSON body.
    pub fn json(&self, key: &str) -> Result<Value, String> {
        match self.get(key) {
            None | Some(Value::Null) => Err(format!("缺少参数 missing parameter: {key}")),
            Some(Value::String(text)) => serde_json::from_str(text)
                .map_err(|e| format!("参数不是合法 JSON parameter {key} is not valid JSON: {e}")),
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
