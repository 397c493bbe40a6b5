//! `${…}` templates in scenario values. `"${skus}"` alone yields the captured value itself (an
//! array stays an array, a price stays an exact number); inside a longer string it is written as
//! text. An expression is a dotted path (`config.test_data.county`, `catalogue.order_sku`,
//! `pool.id`, `skus.0`) followed by filters: `|join` (array → `a,b,c`), `|first:N`, `|len`,
//! `|keys`, `|values`, `|pluck:field`, `|sample:N` (N items spread evenly), `|prefixed:TEXT`
//! (the value of the first key starting with TEXT).

use serde_json::{Map, Value};

/// Where template names are looked up: a chain of maps, the innermost first (a `for_each` item,
/// then the scenario's captures, then the scenarios it requires, then `config` / `run` /
/// `profile`). Nothing is copied: a capture of a million SKUs is shared by every step and round.
#[derive(Clone, Copy)]
pub struct Scope<'a> {
    layer: Layer<'a>,
    parent: Option<&'a Scope<'a>>,
}

#[derive(Clone, Copy)]
enum Layer<'a> {
    Map(&'a Map<String, Value>),
    /// One name, e.g. the item of a `for_each` round.
    Named(&'a str, &'a Value),
    /// Named values shared with other scenarios (the captures of required scenarios).
    Shared(&'a [(String, std::sync::Arc<Value>)]),
}

impl<'a> Scope<'a> {
    pub fn new(vars: &'a Map<String, Value>) -> Scope<'a> {
        Scope {
            layer: Layer::Map(vars),
            parent: None,
        }
    }

    /// A scope whose names shadow this one's.
    pub fn with(&'a self, vars: &'a Map<String, Value>) -> Scope<'a> {
        Scope {
            layer: Layer::Map(vars),
            parent: Some(self),
        }
    }

    /// A scope with one more name.
    pub fn with_named(&'a self, name: &'a str, value: &'a Value) -> Scope<'a> {
        Scope {
            layer: Layer::Named(name, value),
            parent: Some(self),
        }
    }

    /// A scope with shared named values.
    pub fn with_shared(&'a self, values: &'a [(String, std::sync::Arc<Value>)]) -> Scope<'a> {
        Scope {
            layer: Layer::Shared(values),
            parent: Some(self),
        }
    }

    pub fn get(&self, name: &str) -> Option<&'a Value> {
        let here = match self.layer {
            Layer::Map(map) => map.get(name),
            Layer::Named(own, value) => (own == name).then_some(value),
            Layer::Shared(values) => values
                .iter()
                .find(|(own, _)| own == name)
                .map(|(_, v)| &**v),
        };
        here.or_else(|| self.parent.and_then(|p| p.get(name)))
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TemplateError {
    #[error("unclosed `${{` in {0:?}")]
    Unclosed(String),
    #[error("empty expression `${{}}`")]
    Empty,
    #[error(
        "unknown filter `{0}` (known: join, first:N, sample:N, len, keys, values, pluck:FIELD, prefixed:TEXT)"
    )]
    UnknownFilter(String),
    #[error("`{expression}`: nothing at `{path}`")]
    Missing { expression: String, path: String },
    #[error("`{expression}`: filter `{filter}` does not apply to {found}")]
    Mismatch {
        expression: String,
        filter: String,
        found: &'static str,
    },
}

/// A parsed `${…}` expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expression {
    pub text: String,
    pub path: Vec<String>,
    pub filters: Vec<Filter>,
}

/// A count given to a filter: a number, or a dotted path to one (`sample:profile.batch_max`).
#[derive(Debug, Clone, PartialEq)]
pub enum Count {
    Literal(usize),
    Path(Vec<String>),
}

impl Count {
    fn parse(text: &str) -> Count {
        let text = text.trim();
        match text.parse() {
            Ok(n) => Count::Literal(n),
            Err(_) => Count::Path(text.split('.').map(str::to_string).collect()),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Join,
    First(Count),
    Len,
    Keys,
    Values,
    Pluck(String),
    /// N items spread evenly over the array, first and last included (a deterministic sample).
    Sample(Count),
    /// The value of the first key of an object that starts with this text (天津 finds 天津市).
    Prefixed(String),
}

impl Expression {
    pub fn parse(text: &str) -> Result<Expression, TemplateError> {
        let mut parts = text.split('|').map(str::trim);
        let path_text = parts.next().unwrap_or_default();
        if path_text.is_empty() {
            return Err(TemplateError::Empty);
        }
        let path = path_text.split('.').map(str::to_string).collect();
        let filters = parts
            .map(|f| match f.split_once(':') {
                None if f == "join" => Ok(Filter::Join),
                None if f == "len" => Ok(Filter::Len),
                None if f == "keys" => Ok(Filter::Keys),
                None if f == "values" => Ok(Filter::Values),
                Some(("first", n)) => Ok(Filter::First(Count::parse(n))),
                Some(("pluck", field)) => Ok(Filter::Pluck(field.trim().to_string())),
                Some(("prefixed", text)) => Ok(Filter::Prefixed(text.trim().to_string())),
                Some(("sample", n)) => Ok(Filter::Sample(Count::parse(n))),
                _ => Err(TemplateError::UnknownFilter(f.to_string())),
            })
            .collect::<Result<_, _>>()?;
        Ok(Expression {
            text: text.to_string(),
            path,
            filters,
        })
    }

    pub fn root(&self) -> &str {
        self.path.first().map(String::as_str).unwrap_or_default()
    }

    pub fn evaluate(&self, vars: &Scope<'_>) -> Result<Value, TemplateError> {
        let mut current: Option<&Value> = None;
        for (i, segment) in self.path.iter().enumerate() {
            let next = match current {
                None => vars.get(segment),
                Some(Value::Object(map)) => map.get(segment),
                Some(Value::Array(items)) => {
                    segment.parse::<usize>().ok().and_then(|i| items.get(i))
                }
                Some(_) => None,
            };
            current = Some(next.ok_or_else(|| TemplateError::Missing {
                expression: self.text.clone(),
                path: self.path[..=i].join("."),
            })?);
        }
        let null = Value::Null;
        let found = current.unwrap_or(&null);
        // Filters read the found value in place: `${all_skus|sample:20}` copies 20 SKUs, not all.
        let Some((first, rest)) = self.filters.split_first() else {
            return Ok(found.clone());
        };
        let mut value = self.apply(first, found, vars)?;
        for filter in rest {
            value = self.apply(filter, &value, vars)?;
        }
        Ok(value)
    }

    /// The number a count stands for.
    fn count(&self, count: &Count, vars: &Scope<'_>) -> Result<usize, TemplateError> {
        match count {
            Count::Literal(n) => Ok(*n),
            Count::Path(path) => {
                let found = Expression {
                    text: self.text.clone(),
                    path: path.clone(),
                    filters: Vec::new(),
                }
                .evaluate(vars)?;
                found.as_u64().and_then(|n| usize::try_from(n).ok()).ok_or(
                    TemplateError::Mismatch {
                        expression: self.text.clone(),
                        filter: path.join("."),
                        found: kind(&found),
                    },
                )
            }
        }
    }

    fn apply(
        &self,
        filter: &Filter,
        value: &Value,
        vars: &Scope<'_>,
    ) -> Result<Value, TemplateError> {
        let mismatch = |found: &'static str| TemplateError::Mismatch {
            expression: self.text.clone(),
            filter: format!("{filter:?}").to_lowercase(),
            found,
        };
        match (filter, value) {
            (Filter::Join, Value::Array(items)) => Ok(Value::String(
                items.iter().map(as_text).collect::<Vec<_>>().join(","),
            )),
            (Filter::First(n), Value::Array(items)) => Ok(Value::Array(
                items.iter().take(self.count(n, vars)?).cloned().collect(),
            )),
            (Filter::Sample(n), Value::Array(items)) => {
                Ok(Value::Array(sample(items, self.count(n, vars)?)))
            }
            (Filter::Len, Value::Array(items)) => Ok(Value::from(items.len())),
            (Filter::Len, Value::Object(map)) => Ok(Value::from(map.len())),
            (Filter::Len, Value::String(s)) => Ok(Value::from(s.chars().count())),
            (Filter::Keys, Value::Object(map)) => Ok(Value::Array(
                map.keys().cloned().map(Value::String).collect(),
            )),
            (Filter::Prefixed(text), Value::Object(map)) => map
                .iter()
                .find(|(key, _)| key.starts_with(text.as_str()))
                .map(|(_, value)| value.clone())
                .ok_or_else(|| TemplateError::Missing {
                    expression: self.text.clone(),
                    path: format!("a key starting with {text:?}"),
                }),
            (Filter::Values, Value::Object(map)) => {
                Ok(Value::Array(map.values().cloned().collect()))
            }
            (Filter::Pluck(field), Value::Array(items)) => Ok(Value::Array(
                items
                    .iter()
                    .filter_map(|item| item.get(field).cloned())
                    .collect(),
            )),
            (_, other) => Err(mismatch(kind(other))),
        }
    }
}

/// N items spread evenly over the array, first and last included.
fn sample(items: &[Value], n: usize) -> Vec<Value> {
    if n == 0 || items.is_empty() {
        return Vec::new();
    }
    if items.len() <= n {
        return items.to_vec();
    }
    let last = items.len() - 1;
    let picks: std::collections::BTreeSet<usize> = (0..n)
        .map(|i| if n == 1 { 0 } else { i * last / (n - 1) })
        .collect();
    picks
        .into_iter()
        .filter_map(|i| items.get(i).cloned())
        .collect()
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A value written into text: strings as they are, everything else as compact JSON.
pub fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The pieces of a templated string.
enum Piece<'a> {
    Text(&'a str),
    Expr(&'a str),
}

fn pieces(text: &str) -> Result<Vec<Piece<'_>>, TemplateError> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        if start > 0 {
            out.push(Piece::Text(&rest[..start]));
        }
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| TemplateError::Unclosed(text.to_string()))?;
        out.push(Piece::Expr(&after[..end]));
        rest = &after[end + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    Ok(out)
}

/// Every expression in a value (for checking a scenario before it runs).
pub fn expressions(value: &Value) -> Result<Vec<Expression>, TemplateError> {
    let mut out = Vec::new();
    collect(value, &mut out)?;
    Ok(out)
}

fn collect(value: &Value, out: &mut Vec<Expression>) -> Result<(), TemplateError> {
    match value {
        Value::String(s) => {
            for piece in pieces(s)? {
                if let Piece::Expr(e) = piece {
                    out.push(Expression::parse(e)?);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                collect(item, out)?;
            }
        }
        Value::Object(map) => {
            for item in map.values() {
                collect(item, out)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Renders every template inside `value`.
pub fn render(value: &Value, vars: &Scope<'_>) -> Result<Value, TemplateError> {
    match value {
        Value::String(s) => render_str(s, vars),
        Value::Array(items) => items
            .iter()
            .map(|item| render(item, vars))
            .collect::<Result<_, _>>()
            .map(Value::Array),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| Ok((k.clone(), render(v, vars)?)))
            .collect::<Result<Map<_, _>, _>>()
            .map(Value::Object),
        other => Ok(other.clone()),
    }
}

pub fn render_str(text: &str, vars: &Scope<'_>) -> Result<Value, TemplateError> {
    let parts = pieces(text)?;
    if let [Piece::Expr(e)] = parts.as_slice() {
        return Expression::parse(e)?.evaluate(vars);
    }
    let mut out = String::new();
    for part in parts {
        match part {
            Piece::Text(t) => out.push_str(t),
            Piece::Expr(e) => out.push_str(&as_text(&Expression::parse(e)?.evaluate(vars)?)),
        }
    }
    Ok(Value::String(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars() -> Map<String, Value> {
        // From text: a `json!` literal would lose the trailing zero of 19.90.
        let text = r#"{"config": {"test_data": {"county": "120101"}}, "skus": ["1", "2", "3"],
            "pools": [{"id": "A01"}, {"id": "A02"}], "price": 19.90}"#;
        serde_json::from_str(text).unwrap_or_default()
    }

    #[test]
    fn whole_value_and_interpolation() {
        let map = vars();
        let v = Scope::new(&map);
        assert_eq!(render_str("${skus}", &v), Ok(json!(["1", "2", "3"])));
        assert_eq!(render_str("${skus|first:2|join}", &v), Ok(json!("1,2")));
        assert_eq!(
            render_str("${pools|pluck:id}", &v),
            Ok(json!(["A01", "A02"]))
        );
        assert_eq!(
            render_str("area ${config.test_data.county}!", &v),
            Ok(json!("area 120101!"))
        );
        assert_eq!(
            render_str("${price}", &v).map(|p| p.to_string()),
            Ok("19.90".to_string())
        );
        assert_eq!(render_str("${skus.1}", &v), Ok(json!("2")));
        assert_eq!(render_str("${skus|len}", &v), Ok(json!(3)));
        assert_eq!(render_str("${skus|sample:2}", &v), Ok(json!(["1", "3"])));
        let mut limits = Map::new();
        limits.insert("two".into(), json!(2));
        let with_limit = v.with(&limits);
        assert_eq!(
            render_str("${skus|first:two|join}", &with_limit),
            Ok(json!("1,2"))
        );
        assert!(matches!(
            render_str("${skus|first:nope}", &v),
            Err(TemplateError::Missing { .. })
        ));
    }

    #[test]
    fn errors_are_specific() {
        let map = vars();
        let v = Scope::new(&map);
        assert!(matches!(
            render_str("${nope.x}", &v),
            Err(TemplateError::Missing { .. })
        ));
        assert!(matches!(
            render_str("${skus|upper}", &v),
            Err(TemplateError::UnknownFilter(_))
        ));
        assert!(matches!(
            render_str("${price|join}", &v),
            Err(TemplateError::Mismatch { .. })
        ));
        assert!(matches!(
            render_str("x ${skus", &v),
            Err(TemplateError::Unclosed(_))
        ));
    }
}
