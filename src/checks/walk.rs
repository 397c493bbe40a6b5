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
    let selected = select_each(value, pattern);
    selected
        .values()
        .enumerate()
        .map(|(k, v)| (selected.pointer(k, base), v))
        .collect()
}

/// The values [`select`] finds, in the same order, with their pointers written only when asked
/// for ([`Selected::pointer`]): a check that judges hundreds of values writes the pointers of
/// its findings only.
pub(crate) fn select_each<'v, 'p>(value: &'v Value, pattern: &'p str) -> Selected<'v, 'p> {
    let steps: Vec<&'p str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    let mut selected = Selected {
        stars: steps.iter().filter(|s| **s == "*").count(),
        steps,
        indices: Vec::new(),
        values: Vec::new(),
    };
    let steps = selected.steps.clone();
    let mut at = Vec::with_capacity(selected.stars);
    descend(value, &steps, &mut at, &mut selected);
    selected
}

/// Depth first, so in the order a level-by-level walk lists them.
fn descend<'v>(value: &'v Value, steps: &[&str], at: &mut Vec<usize>, out: &mut Selected<'v, '_>) {
    let Some((step, rest)) = steps.split_first() else {
        out.indices.extend_from_slice(at);
        out.values.push(value);
        return;
    };
    if *step == "*" {
        if let Value::Array(items) = value {
            for (i, item) in items.iter().enumerate() {
                at.push(i);
                descend(item, rest, at, out);
                at.pop();
            }
        }
    } else if let Some(member) = value.get(step) {
        descend(member, rest, at, out);
    }
}

/// What [`select_each`] found: the values, and for each the array indices its `*` steps took.
pub(crate) struct Selected<'v, 'p> {
    steps: Vec<&'p str>,
    stars: usize,
    indices: Vec<usize>,
    values: Vec<&'v Value>,
}

impl<'v> Selected<'v, '_> {
    pub(crate) fn values(&self) -> impl Iterator<Item = &'v Value> + '_ {
        self.values.iter().copied()
    }

    /// The pointer of the `k`-th value, prefixed by `base`, as [`select`] writes it.
    pub(crate) fn pointer(&self, k: usize, base: &str) -> String {
        let mut indices = self
            .indices
            .get(k * self.stars..(k + 1) * self.stars)
            .unwrap_or_default()
            .iter();
        let mut pointer = base.to_string();
        for step in &self.steps {
            pointer = if *step == "*" {
                index(&pointer, indices.next().copied().unwrap_or_default())
            } else {
                child(&pointer, step)
            };
        }
        pointer
    }
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
    key_str(value).map(str::to_string)
}

/// [`key_text`] borrowed from the value (a number's text is the one it was read from).
pub(crate) fn key_str(value: &Value) -> Option<&str> {
    match value {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.as_str()),
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

    /// The walk gives the pointers and the order of the level-by-level walk it replaced.
    #[test]
    fn select_gives_what_the_level_by_level_walk_gave() {
        fn level_by_level<'v>(
            value: &'v Value,
            base: &str,
            pattern: &str,
        ) -> Vec<(String, &'v Value)> {
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
        let v = json!([
            {"images": [{"path": "a"}, {"path": "b"}, {"x": 1}], "a/b~": [[1, 2], [3]]},
            {"images": []},
            {"images": "no"},
            {"x": 1},
            {"images": [{"path": ["c", "d"]}, {"path": null}]},
            7
        ]);
        for pattern in [
            "/*/images/*/path",
            "/*",
            "",
            "/*/a~1b~0",
            "/*/a/b~/*/*",
            "/*/images/*/path/*",
            "/0",
            "/*/*",
        ] {
            for base in ["/result", ""] {
                assert_eq!(
                    select(&v, base, pattern),
                    level_by_level(&v, base, pattern),
                    "{pattern}"
                );
            }
        }
        let obj = json!({"a/b~": [[1, 2], [3]]});
        assert_eq!(
            select(&obj, "/result", "/a/b~/*/*"),
            level_by_level(&obj, "/result", "/a/b~/*/*")
        );
    }

    #[test]
    fn a_number_key_is_the_text_it_was_read_from() {
        for text in [
            "12",
            "-0",
            "1.50",
            "1e400",
            "123456789012345678901234567890",
        ] {
            let value: Value = serde_json::from_str(text).expect("number");
            let Value::Number(n) = &value else {
                panic!("{text}")
            };
            assert_eq!(key_str(&value), Some(n.to_string().as_str()), "{text}");
            assert_eq!(key_text(&value), Some(n.to_string()));
        }
        assert_eq!(key_str(&json!("a")), Some("a"));
        assert_eq!(key_str(&json!(null)), None);
    }

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
