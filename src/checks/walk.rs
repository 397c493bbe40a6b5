//! Small helpers to walk a result: JSON pointers, `*` patterns over arrays, short value texts.

use serde_json::Value;

/// One JSON pointer token (RFC 6901: `~` → `~0`, `/` → `~1`).
pub(crate) fn token(key: &str) -> String {
    if key.contains(['~', '/']) {
        key.replace('~', "~0").replace('/', "~1")
    } else {
        key.to_string()
    }
}

/// `base` + `/key`, escaped.
pub(crate) fn child(base: &str, key: &str) -> String {
    let mut pointer = String::with_capacity(base.len() + key.len() + 1);
    pointer.push_str(base);
    pointer.push('/');
    if key.contains(['~', '/']) {
        pointer.push_str(&token(key));
    } else {
        pointer.push_str(key);
    }
    pointer
}

/// `base` + `/index`.
pub(crate) fn index(base: &str, index: usize) -> String {
    use std::fmt::Write;
    let mut pointer = String::with_capacity(base.len() + 8);
    pointer.push_str(base);
    let _ = write!(pointer, "/{index}");
    pointer
}

/// Every value matching `pattern` under `value`, with its pointer (prefixed by `base`). The
/// pattern is a slash-separated path where `*` means "each element of an array", e.g.
/// `/*/images/*/path`. Missing members are skipped silently (the schema reports them).
pub(crate) fn select<'v>(value: &'v Value, base: &str, pattern: &str) -> Vec<(String, &'v Value)> {
    let mut current: Vec<(String, &'v Value)> = vec![(base.to_string(), value)];
    for step in pattern.split('/').filter(|s| !s.is_empty()) {
        let mut next = Vec::new();
        for (pointer, v) in current {
            if step == "*" {
                if let Value::Array(items) = v {
                    next.extend(
                        items
                            .iter()
                            .enumerate()
                            .map(|(i, item)| (index(&pointer, i), item)),
                    );
                }
            } else if let Some(member) = v.get(step) {
                next.push((child(&pointer, step), member));
            }
        }
        current = next;
    }
    current
}

/// A value as a short text for messages: strings bare, others as compact JSON, at most 80 chars
/// (written only as far as shown).
pub(crate) fn text(value: &Value) -> String {
    crate::excerpt::value_text(value, 80)
}

pub(crate) use crate::excerpt::shorten;

/// The identifying text of a SKU-like value: a string as is, a number by its text (the schema
/// flags the type; batch and uniqueness checks still match it).
pub fn key_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The SKU of a result item, for messages ("?" when it has none).
pub(crate) fn sku_of(item: &Value) -> String {
    item.get("sku")
        .and_then(key_text)
        .map(|s| shorten(&s, 40))
        .unwrap_or_else(|| "?".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn select_walks_arrays_and_escapes_keys() {
        let v = json!([{"images": [{"path": "a"}, {"path": "b"}]}, {"images": []}, {"x": 1}]);
        let found: Vec<(String, String)> = select(&v, "/result", "/*/images/*/path")
            .into_iter()
            .map(|(p, v)| (p, text(v)))
            .collect();
        assert_eq!(
            found,
            vec![
                ("/result/0/images/0/path".to_string(), "a".to_string()),
                ("/result/0/images/1/path".to_string(), "b".to_string())
            ]
        );
        assert_eq!(child("/result", "a/b~c"), "/result/a~1b~0c");
    }

    #[test]
    fn shorten_cuts_on_characters() {
        assert_eq!(shorten("天津市和平区", 2), "天津…");
        assert_eq!(shorten("abc", 3), "abc");
    }
}
