//! YAML to JSON with positions: scenario files are parsed into a `serde_json::Value` and a map
//! from every JSON pointer to the line and column where that value starts, so an error found
//! later (by the scenario schema or the loader) can point at `file:line:column`.

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, SpannedEventReceiver};
use serde_json::{Map, Value};

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// A parsed document and where each of its values came from.
#[derive(Debug, Default)]
pub struct Located {
    pub value: Value,
    positions: HashMap<String, Position>,
}

impl Located {
    /// The position of the value at `pointer`, or of its nearest ancestor that has one.
    pub fn position(&self, pointer: &str) -> Position {
        let mut current = pointer;
        loop {
            if let Some(p) = self.positions.get(current) {
                return *p;
            }
            match current.rfind('/') {
                Some(i) => current = &current[..i],
                None => return Position { line: 1, column: 1 },
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct YamlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Parses `text` read after `prelude` (a text of anchors the document may use), with every
/// line number counted in `text` alone. An error inside the prelude keeps its own line, and
/// says so.
pub fn parse_after(prelude: &str, text: &str) -> Result<Located, YamlError> {
    if prelude.is_empty() {
        return parse(text);
    }
    let prelude = prelude.trim_end_matches('\n');
    let shift = prelude.lines().count();
    // A document start marker would end the prelude's document: read it as a blank line.
    let text = match text.strip_prefix("---") {
        Some(rest) if rest.starts_with(['\n', '\r']) || rest.is_empty() => rest,
        _ => text,
    };
    match parse(&format!("{prelude}\n{text}")) {
        Ok(mut located) => {
            for position in located.positions.values_mut() {
                position.line = position.line.saturating_sub(shift).max(1);
            }
            Ok(located)
        }
        Err(mut e) if e.line > shift => {
            e.line -= shift;
            Err(e)
        }
        Err(mut e) => {
            e.message = format!("in the fragments read before this file: {}", e.message);
            Err(e)
        }
    }
}

pub fn parse(text: &str) -> Result<Located, YamlError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, false).map_err(|e| YamlError {
        line: e.marker().line(),
        column: e.marker().col() + 1,
        message: e.info().to_string(),
    })?;
    if let Some(error) = builder.error {
        return Err(error);
    }
    Ok(Located {
        value: builder.root.unwrap_or(Value::Null),
        positions: builder.positions,
    })
}

enum Frame {
    Sequence {
        items: Vec<Value>,
        anchor: usize,
    },
    Mapping {
        map: Map<String, Value>,
        pending_key: Option<(String, Position)>,
        anchor: usize,
        /// What `<<: *anchor` (or `<<: [*a, *b]`) brings in: keys the mapping does not set
        /// itself, added when it ends (YAML merge keys).
        merged: Map<String, Value>,
    },
}

/// The YAML merge key: `<<: *defaults` copies the keys of the anchored mapping.
const MERGE_KEY: &str = "<<";

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    root: Option<Value>,
    positions: HashMap<String, Position>,
    anchors: HashMap<usize, Value>,
    error: Option<YamlError>,
}

fn escape_pointer_segment(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

impl Builder {
    /// The pointer of the value about to be added at the top of the stack.
    fn next_pointer(&self) -> String {
        let mut pointer = String::new();
        for frame in &self.stack {
            match frame {
                Frame::Sequence { items, .. } => pointer.push_str(&format!("/{}", items.len())),
                Frame::Mapping {
                    pending_key: Some((key, _)),
                    ..
                } => {
                    pointer.push('/');
                    pointer.push_str(&escape_pointer_segment(key));
                }
                Frame::Mapping { .. } => {}
            }
        }
        pointer
    }

    fn fail(&mut self, span: Span, message: impl Into<String>) {
        if self.error.is_none() {
            self.error = Some(YamlError {
                line: span.start.line(),
                column: span.start.col() + 1,
                message: message.into(),
            });
        }
    }

    /// Adds a finished value to its parent (or makes it the root).
    fn add(&mut self, value: Value, anchor: usize, span: Span) {
        if anchor > 0 {
            self.anchors.insert(anchor, value.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Sequence { items, .. }) => items.push(value),
            Some(Frame::Mapping {
                map,
                pending_key,
                merged,
                ..
            }) => match pending_key.take() {
                Some((key, _)) if key == MERGE_KEY => {
                    // The first mapping named wins over later ones, as YAML says.
                    let sources = match value {
                        Value::Array(items) => items,
                        other => vec![other],
                    };
                    for source in sources {
                        let Value::Object(entries) = source else {
                            self.fail(
                                span,
                                "a merge key (<<) takes a mapping or a list of mappings",
                            );
                            return;
                        };
                        for (k, v) in entries {
                            merged.entry(k).or_insert(v);
                        }
                    }
                }
                Some((key, _)) => {
                    map.insert(key, value);
                }
                None => {
                    let key = match value {
                        Value::String(s) => s,
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        Value::Null => "null".to_string(),
                        _ => {
                            self.fail(span, "a mapping key must be a scalar");
                            return;
                        }
                    };
                    if map.contains_key(&key) {
                        self.fail(span, format!("duplicate key {key:?}"));
                        return;
                    }
                    let position = Position {
                        line: span.start.line(),
                        column: span.start.col() + 1,
                    };
                    *pending_key = Some((key, position));
                }
            },
        }
    }

    fn is_key_position(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame::Mapping {
                pending_key: None,
                ..
            })
        )
    }
}

fn plain_scalar(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let looks_numeric = text
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
        && text.chars().any(|c| c.is_ascii_digit());
    // Leading zeros (an SKU like 0012) stay text; so do forms JSON would not accept.
    if looks_numeric
        && !(text.len() > 1 && text.starts_with('0') && !text.starts_with("0."))
        && let Ok(Value::Number(n)) = serde_json::from_str::<Value>(text.trim_start_matches('+'))
    {
        return Value::Number(n);
    }
    Value::String(text.to_string())
}

impl<'input> SpannedEventReceiver<'input> for Builder {
    fn on_event(&mut self, event: Event<'input>, span: Span) {
        if self.error.is_some() {
            return;
        }
        let position = Position {
            line: span.start.line(),
            column: span.start.col() + 1,
        };
        if !self.is_key_position() {
            match &event {
                Event::Scalar(..)
                | Event::SequenceStart(..)
                | Event::MappingStart(..)
                | Event::Alias(..) => {
                    let pointer = self.next_pointer();
                    // A value's position is its key's position when it has one (more useful).
                    let at = match self.stack.last() {
                        Some(Frame::Mapping {
                            pending_key: Some((_, key_position)),
                            ..
                        }) => *key_position,
                        _ => position,
                    };
                    self.positions.entry(pointer).or_insert(at);
                }
                _ => {}
            }
        }
        match event {
            Event::Scalar(text, style, anchor, _tag) => {
                let value = match style {
                    ScalarStyle::Plain => plain_scalar(&text),
                    _ => Value::String(Cow::into_owned(text)),
                };
                self.add(value, anchor, span);
            }
            Event::SequenceStart(anchor, _) => self.stack.push(Frame::Sequence {
                items: Vec::new(),
                anchor,
            }),
            Event::MappingStart(anchor, _) => self.stack.push(Frame::Mapping {
                map: Map::new(),
                pending_key: None,
                anchor,
                merged: Map::new(),
            }),
            Event::SequenceEnd => {
                if let Some(Frame::Sequence { items, anchor }) = self.stack.pop() {
                    self.add(Value::Array(items), anchor, span);
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Mapping {
                    mut map,
                    anchor,
                    merged,
                    ..
                }) = self.stack.pop()
                {
                    // Keys the mapping sets itself win over merged ones.
                    for (key, value) in merged {
                        if !map.contains_key(&key) {
                            map.insert(key, value);
                        }
                    }
                    self.add(Value::Object(map), anchor, span);
                }
            }
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some(value) => self.add(value, 0, span),
                None => self.fail(span, "unknown alias"),
            },
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart(_)
            | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_positions() {
        let text =
            "id: a\nsteps:\n  - call: token\n    params: {sku: 0012, n: 19.90}\n  - call: pools\n";
        let doc = parse(text).expect("parses");
        assert_eq!(doc.value["steps"][0]["params"]["sku"], "0012");
        assert_eq!(doc.value["steps"][0]["params"]["n"].to_string(), "19.90");
        assert_eq!(
            doc.position("/steps/1/call"),
            Position { line: 5, column: 5 }
        );
        assert_eq!(
            doc.position("/steps/0/params/n"),
            Position {
                line: 4,
                column: 25
            }
        );
    }

    #[test]
    fn merge_keys_copy_an_anchored_mapping_under_the_keys_set_beside_them() {
        let text = "defaults: &order {sku: \"1\", num: 1, name: a}\nmore: &extra {email: e, num: 9}\none:\n  <<: *order\n  num: 2\ntwo:\n  num: 3\n  <<: [*order, *extra]\n";
        let doc = parse(text).expect("parses");
        assert_eq!(
            doc.value["one"]["num"], 2,
            "the key set beside the merge wins"
        );
        assert_eq!(doc.value["one"]["sku"], "1");
        assert_eq!(doc.value["two"]["num"], 3, "also when it comes first");
        assert_eq!(
            doc.value["two"]["email"], "e",
            "a list merges every mapping"
        );
        assert_eq!(doc.value["two"]["name"], "a");
        assert!(doc.value["one"].get("<<").is_none());
        let error = parse("a: &x [1]\nb:\n  <<: *x\n").expect_err("not a mapping");
        assert!(error.message.contains("merge key"), "{error}");
    }

    #[test]
    fn fragments_read_ahead_lend_their_anchors_and_keep_the_file_s_own_lines() {
        let prelude = "x-fragments:\n  delivery: &delivery {name: n, freight: 0}\n";
        let text = "---\nid: a\nsteps:\n  - params: {<<: *delivery, freight: 5}\n";
        let doc = parse_after(prelude, text).expect("parses");
        assert_eq!(doc.value["steps"][0]["params"]["name"], "n");
        assert_eq!(doc.value["steps"][0]["params"]["freight"], 5);
        assert_eq!(doc.position("/steps/0").line, 4, "lines of the file itself");
        let error = parse_after(prelude, "id: a\nb: [1\n").expect_err("unclosed");
        assert!(error.line <= 3, "{error}");
        let error = parse_after(prelude, "id: a\nid: b\n").expect_err("duplicate");
        assert_eq!(error.line, 2, "{error}");
        assert!(
            parse_after("x: [1\n", "id: a\n").is_err(),
            "a broken prelude"
        );
    }

    #[test]
    fn errors_have_positions() {
        let error = parse("a: [1, 2\nb: 3\n").expect_err("unclosed");
        assert!(error.line >= 1, "{error}");
        let error = parse("a: 1\na: 2\n").expect_err("duplicate");
        assert_eq!((error.line, error.message.contains("duplicate")), (2, true));
    }
}
