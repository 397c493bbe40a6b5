//! `${…}` templates in scenario values. `"${skus}"` alone yields the captured value itself (an
//! array stays an array, a price stays an exact number); inside a longer string it is written as
//! text. An expression is a dotted path (`config.test_data.county`, `catalogue.order_sku`,
//! `pool.id`, `skus.0`) followed by filters: `|join` (array → `a,b,c`), `|first:N`, `|len`,
//! `|keys`, `|values`, `|pluck:field`, `|sample:N` (N items drawn by the run's seed, or spread
//! evenly without one), `|sample_each:N`, `|chunks:N`, `|flatten`, `|prefixed:TEXT`
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
        "unknown filter `{0}` (known: join, first:N, sample:N, sample_each:N, chunks:N, flatten, len, keys, values, pluck:FIELD, prefixed:TEXT)"
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
    /// N items of the array: chosen by the run's seed (`run.seed`) when there is one, else spread
    /// evenly, first and last included.
    Sample(Count),
    /// The same over each array of an array of arrays (the SKUs of each pool), concatenated.
    SampleEach(Count),
    /// The array cut into arrays of at most N items (batches).
    Chunks(Count),
    /// An array of arrays made one array (other items kept as they are).
    Flatten,
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
                None if f == "flatten" => Ok(Filter::Flatten),
                Some(("first", n)) => Ok(Filter::First(Count::parse(n))),
                Some(("pluck", field)) => Ok(Filter::Pluck(field.trim().to_string())),
                Some(("prefixed", text)) => Ok(Filter::Prefixed(text.trim().to_string())),
                Some(("sample", n)) => Ok(Filter::Sample(Count::parse(n))),
                Some(("sample_each", n)) => Ok(Filter::SampleEach(Count::parse(n))),
                Some(("chunks", n)) => Ok(Filter::Chunks(Count::parse(n))),
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
            (Filter::Sample(n), Value::Array(items)) => Ok(Value::Array(sample(
                items,
                self.count(n, vars)?,
                seed_of(vars),
            ))),
            (Filter::SampleEach(n), Value::Array(groups)) => {
                let n = self.count(n, vars)?;
                let seed = seed_of(vars);
                let mut picked = Vec::new();
                for (i, group) in groups.iter().enumerate() {
                    let Value::Array(items) = group else {
                        return Err(mismatch(kind(group)));
                    };
                    picked.extend(sample_of_group(items, n, seed, i));
                }
                Ok(Value::Array(picked))
            }
            (Filter::Flatten, Value::Array(items)) => Ok(Value::Array(
                items
                    .iter()
                    .flat_map(|item| match item {
                        Value::Array(inner) => inner.clone(),
                        other => vec![other.clone()],
                    })
                    .collect(),
            )),
            (Filter::Chunks(n), Value::Array(items)) => {
                let n = self.count(n, vars)?.max(1);
                Ok(Value::Array(
                    items.chunks(n).map(|c| Value::Array(c.to_vec())).collect(),
                ))
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

/// The run's sample seed, when the scope has one (`run.seed`).
pub fn seed_of(vars: &Scope<'_>) -> Option<u64> {
    vars.get("run")?.get("seed")?.as_u64()
}

/// `sample_each`'s draw from group `index` (a pool's SKUs): each group its own draw, all from
/// the one seed. A capture that keeps a sample per round draws the same, so that
/// `sample_each` over it picks what it would have picked over the whole lists.
pub fn sample_of_group(items: &[Value], n: usize, seed: Option<u64>, index: usize) -> Vec<Value> {
    sample_of_group_indices(items.len(), n, seed, index)
        .into_iter()
        .filter_map(|i| items.get(i).cloned())
        .collect()
}

/// The indices [`sample_of_group`] picks from a list of `len` items (for a list not held as
/// values: a SKU list read compactly).
pub fn sample_of_group_indices(
    len: usize,
    n: usize,
    seed: Option<u64>,
    index: usize,
) -> Vec<usize> {
    let group_seed = seed.map(|s| s ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    sample_indices(len, n, group_seed)
}

/// N items of the array in their order: the first, and the others drawn by `seed` (the same
/// seed draws the same items); without a seed spread evenly, first and last included. The first
/// is always in, so that a defect there is found on every run; the rest moves from run to run.
fn sample(items: &[Value], n: usize, seed: Option<u64>) -> Vec<Value> {
    sample_indices(items.len(), n, seed)
        .into_iter()
        .filter_map(|i| items.get(i).cloned())
        .collect()
}

/// The indices [`sample`] picks from `len` items, in order.
fn sample_indices(len: usize, n: usize, seed: Option<u64>) -> Vec<usize> {
    if n == 0 || len == 0 {
        return Vec::new();
    }
    if len <= n {
        return (0..len).collect();
    }
    if let Some(seed) = seed {
        let rest = drawn(len - 1, n - 1, seed);
        return std::iter::once(0)
            .chain(rest.into_iter().map(|i| i + 1))
            .collect();
    }
    let last = len - 1;
    let picks: std::collections::BTreeSet<usize> = (0..n)
        .map(|i| if n == 1 { 0 } else { i * last / (n - 1) })
        .collect();
    picks.into_iter().collect()
}

/// `n` distinct indices below `len`, in order (Floyd's algorithm: `n` draws, whatever `len`).
/// splitmix64: small, fast, and the same on every platform.
fn next_random(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// At most `keep` values of a stream, each equally likely to stay, chosen by `seed` (reservoir
/// sampling) and given back in the order they came: a capture of a million SKUs holds a
/// sample of them, not a copy of the catalogue. Only the values kept are cloned.
pub struct Reservoir {
    keep: usize,
    seen: u64,
    state: u64,
    kept: Vec<(u64, Value)>,
}

impl Reservoir {
    pub fn new(keep: usize, seed: u64) -> Reservoir {
        Reservoir {
            keep,
            seen: 0,
            state: seed,
            kept: Vec::new(),
        }
    }

    pub fn offer(&mut self, value: &Value) {
        let index = self.seen;
        self.seen += 1;
        if self.kept.len() < self.keep {
            self.kept.push((index, value.clone()));
            return;
        }
        let slot = next_random(&mut self.state) % self.seen;
        if let Some(kept) = usize::try_from(slot)
            .ok()
            .and_then(|i| self.kept.get_mut(i))
        {
            *kept = (index, value.clone());
        }
    }

    pub fn into_value(mut self) -> Value {
        self.kept.sort_unstable_by_key(|(index, _)| *index);
        Value::Array(self.kept.into_iter().map(|(_, value)| value).collect())
    }
}

fn drawn(len: usize, n: usize, seed: u64) -> std::collections::BTreeSet<usize> {
    let mut state = seed;
    let mut next = move || next_random(&mut state);
    let mut picked = std::collections::BTreeSet::new();
    for j in (len - n)..len {
        let t = (next() % (j as u64 + 1)) as usize;
        if !picked.insert(t) {
            picked.insert(j);
        }
    }
    picked
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
    fn a_reservoir_keeps_a_seeded_sample_in_order() {
        let stream: Vec<Value> = (0..10_000).map(|i| json!(i)).collect();
        let keep = |seed| {
            let mut reservoir = Reservoir::new(100, seed);
            stream.iter().for_each(|v| reservoir.offer(v));
            reservoir.into_value()
        };
        let Value::Array(kept) = keep(7) else {
            panic!("an array")
        };
        assert_eq!(kept.len(), 100);
        let numbers: Vec<u64> = kept.iter().filter_map(Value::as_u64).collect();
        assert!(numbers.windows(2).all(|w| w[0] < w[1]), "in stream order");
        assert!(
            numbers.iter().any(|n| *n >= 5_000),
            "not just the first ones"
        );
        assert_eq!(keep(7), keep(7), "the same seed keeps the same");
        assert_ne!(keep(7), keep(8));
        // Fewer than `keep`: all of them.
        let mut small = Reservoir::new(100, 1);
        stream[..5].iter().for_each(|v| small.offer(v));
        assert_eq!(small.into_value(), json!([0, 1, 2, 3, 4]));
    }

    #[test]
    fn seeded_samples_repeat_with_their_seed_and_move_without_it() {
        let skus: Vec<Value> = (0..100).map(|i| json!(i.to_string())).collect();
        let pools = json!([skus.clone(), ["a", "b", "c"]]);
        let draw = |seed: u64, expression: &str| {
            let mut map = Map::new();
            map.insert("skus".into(), Value::Array(skus.clone()));
            map.insert("pools".into(), pools.clone());
            map.insert("run".into(), json!({"seed": seed, "sample": 10}));
            render_str(expression, &Scope::new(&map))
        };
        let once = draw(7, "${skus|sample:run.sample}");
        assert_eq!(once, draw(7, "${skus|sample:run.sample}"));
        let Ok(Value::Array(picked)) = &once else {
            panic!("{once:?}")
        };
        assert_eq!(picked.len(), 10);
        assert_eq!(picked[0], json!("0"), "the first item is always in");
        let mut sorted = picked.clone();
        sorted.dedup();
        assert_eq!(sorted.len(), 10, "distinct");
        // Over a few seeds, every item of a small pool comes up.
        let seen: std::collections::BTreeSet<String> = (0..40)
            .filter_map(|seed| draw(seed, "${skus|first:13|sample:3|join}").ok())
            .flat_map(|v| {
                as_text(&v)
                    .split(',')
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(seen.len(), 13, "{seen:?}");
        // Per pool, then in batches.
        let each = draw(3, "${pools|sample_each:2}");
        let Ok(Value::Array(each)) = each else {
            panic!("{each:?}")
        };
        assert_eq!(each.len(), 4);
        assert_eq!(draw(3, "${pools|sample_each:2|chunks:3|len}"), Ok(json!(2)));
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
