//! The JSON Schemas of a profile: read once, indexed by `$id` so that relative `$ref`s between
//! files resolve without any network, and compiled once into shared validators.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use jsonschema::{Draft, Retrieve, Uri, Validator};
use serde::Serialize;
use serde_json::Value;

use super::{ENVELOPE_FILE, Interface, ProfileError, ProfileSource};

/// One way an instance breaks its schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// JSON pointer into the checked value (`""` = the value itself).
    pub instance_pointer: String,
    /// Where in the schema the broken rule sits.
    pub schema_path: String,
    /// A readable sentence.
    pub message: String,
}

impl Violation {
    pub(super) fn unknown_interface(id: &str) -> Violation {
        Violation {
            instance_pointer: String::new(),
            schema_path: String::new(),
            message: format!("no schema for interface {id:?} in this profile"),
        }
    }
}

/// Every schema document of the profile, by path and by `$id`.
pub(super) struct SchemaStore {
    by_path: BTreeMap<String, Value>,
    by_id: Arc<HashMap<String, Value>>,
}

impl SchemaStore {
    pub(super) fn load(source: &ProfileSource) -> Result<SchemaStore, ProfileError> {
        let mut by_path = BTreeMap::new();
        let mut by_id = HashMap::new();
        for path in source.json_files()? {
            // Examples are data; mallcheck/ holds the schemas of mallcheck's own files.
            if path.starts_with("examples/") || path.starts_with("mallcheck/") {
                continue;
            }
            let text = source.read(&path)?;
            let document: Value = serde_json::from_str(&text).map_err(|e| ProfileError::Parse {
                file: path.clone(),
                message: format!("not valid JSON: {e}"),
            })?;
            let id = document
                .get("$id")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    ProfileError::invalid(&path, "$id", "every schema needs an absolute $id")
                })?
                .trim_end_matches('#')
                .to_string();
            by_id.insert(id, document.clone());
            by_path.insert(path, document);
        }
        Ok(SchemaStore {
            by_path,
            by_id: Arc::new(by_id),
        })
    }

    pub(super) fn by_path(&self, path: &str) -> Option<&Value> {
        self.by_path.get(path)
    }

    pub(super) fn documents(&self) -> &BTreeMap<String, Value> {
        &self.by_path
    }

    fn compile(&self, path: &str, field: &str) -> Result<CompiledSchema, ProfileError> {
        let document = self.by_path(path).ok_or_else(|| {
            ProfileError::invalid(path, field, "schema file not found in the profile")
        })?;
        let validator = jsonschema::options()
            .with_draft(Draft::Draft202012)
            .should_validate_formats(true)
            .with_retriever(LocalRetriever(Arc::clone(&self.by_id)))
            .build(document)
            .map_err(|e| ProfileError::invalid(path, e.schema_path().to_string(), e.to_string()))?;
        Ok(CompiledSchema { validator })
    }
}

/// Resolves `$ref`s from the profile's own documents; nothing is ever fetched.
struct LocalRetriever(Arc<HashMap<String, Value>>);

impl Retrieve for LocalRetriever {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let key = uri.as_str().split('#').next().unwrap_or_default();
        self.0
            .get(key)
            .cloned()
            .ok_or_else(|| format!("{key} is not a schema of this profile").into())
    }
}

pub(super) struct CompiledSchema {
    validator: Validator,
}

impl CompiledSchema {
    pub(super) fn violations(&self, instance: &Value) -> Vec<Violation> {
        self.violations_kept(instance, usize::MAX).0
    }

    /// The first `keep` violations, formatted, and the count of all of them.
    pub(super) fn violations_kept(&self, instance: &Value, keep: usize) -> (Vec<Violation>, usize) {
        if self.validator.is_valid(instance) {
            return (Vec::new(), 0);
        }
        let mut kept = Vec::new();
        let total = match instance {
            Value::Array(items) if items.len() > CHUNK_ITEMS => {
                self.item_violations(instance, items, keep, &mut kept)
            }
            _ => self.collect(instance, keep, &mut kept, |path| path.to_string()),
        };
        (kept, total)
    }

    /// The violations of a long array, validated [`CHUNK_ITEMS`] items at a time: jsonschema
    /// collects every error before it yields the first, and a million bad items would hold a
    /// million errors at once. Violations of the array itself (minItems, uniqueItems, …) show
    /// in a chunk's own terms, so they are taken from the whole array, and only when no item
    /// is at fault (then the errors are few).
    fn item_violations(
        &self,
        whole: &Value,
        items: &[Value],
        keep: usize,
        kept: &mut Vec<Violation>,
    ) -> usize {
        let mut total = 0;
        for (chunk_index, chunk) in items.chunks(CHUNK_ITEMS).enumerate() {
            let part = Value::Array(chunk.to_vec());
            if self.validator.is_valid(&part) {
                continue;
            }
            let offset = chunk_index * CHUNK_ITEMS;
            // A chunk's errors are few enough to format them all.
            let mut found = Vec::new();
            self.collect(&part, usize::MAX, &mut found, |path| shifted(path, offset));
            for violation in found {
                if violation.instance_pointer.is_empty() {
                    continue;
                }
                total += 1;
                if kept.len() < keep {
                    kept.push(violation);
                }
            }
        }
        if total == 0 {
            total = self.collect(whole, keep, kept, |path| path.to_string());
        }
        total
    }

    /// Formats the first `keep` errors of `instance` into `kept` (pointers through `pointer`);
    /// returns the count of all.
    fn collect(
        &self,
        instance: &Value,
        keep: usize,
        kept: &mut Vec<Violation>,
        pointer: impl Fn(&str) -> String,
    ) -> usize {
        let mut total = 0;
        for error in self.validator.iter_errors(instance) {
            total += 1;
            if kept.len() < keep {
                // The plain message quotes the whole instance (a 7 MB result, written out):
                // quote its first characters instead.
                let quoted = match error.instance().as_ref() {
                    Value::String(text) => {
                        serde_json::to_string(&crate::excerpt::shorten(text, 80))
                            .unwrap_or_default()
                    }
                    other => crate::excerpt::value_text(other, 80),
                };
                kept.push(Violation {
                    instance_pointer: pointer(error.instance_path().as_str()),
                    schema_path: error.schema_path().to_string(),
                    message: error.masked_with(quoted).to_string(),
                });
            }
        }
        total
    }
}

/// Items of a long array validated at a time (see [`CompiledSchema::item_violations`]).
const CHUNK_ITEMS: usize = 512;

/// `/3/sku` of a chunk starting at item `offset` is `/{offset + 3}/sku` of the whole array.
fn shifted(path: &str, offset: usize) -> String {
    let rest = path.strip_prefix('/').unwrap_or(path);
    let (index, tail) = rest.split_once('/').map_or((rest, ""), |(i, t)| (i, t));
    match index.parse::<usize>() {
        Ok(index) if tail.is_empty() => format!("/{}", index + offset),
        Ok(index) => format!("/{}/{tail}", index + offset),
        Err(_) => path.to_string(),
    }
}

/// A schema of mallcheck's own files (the scenario schema), compiled on its own: no `$ref`s
/// outside itself. Violations of an unexpected key point at the key, not at its object, so that a
/// typo is shown on its own line.
pub struct StandaloneSchema {
    validator: Validator,
}

impl StandaloneSchema {
    pub fn compile(document: &Value) -> Result<StandaloneSchema, String> {
        jsonschema::options()
            .with_draft(Draft::Draft202012)
            .build(document)
            .map(|validator| StandaloneSchema { validator })
            .map_err(|e| e.to_string())
    }

    pub fn violations(&self, instance: &Value) -> Vec<Violation> {
        self.validator
            .iter_errors(instance)
            .map(|e| {
                let mut pointer = e.instance_path().to_string();
                if let jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } =
                    e.kind()
                    && let Some(key) = unexpected.first()
                {
                    pointer = format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"));
                }
                Violation {
                    instance_pointer: pointer,
                    schema_path: e.schema_path().to_string(),
                    message: e.to_string(),
                }
            })
            .collect()
    }
}

/// All validators of a profile, compiled once.
pub(super) struct Validators {
    pub(super) envelope: CompiledSchema,
    pub(super) requests: HashMap<String, CompiledSchema>,
    pub(super) results: HashMap<String, CompiledSchema>,
}

impl Validators {
    pub(super) fn compile(
        store: &SchemaStore,
        interfaces: &[Interface],
    ) -> Result<Validators, ProfileError> {
        let envelope = store.compile(ENVELOPE_FILE, "(envelope)")?;
        let mut requests = HashMap::new();
        let mut results = HashMap::new();
        for interface in interfaces {
            requests.insert(
                interface.id.clone(),
                store.compile(&interface.request, &format!("{}.request", interface.id))?,
            );
            results.insert(
                interface.id.clone(),
                store.compile(&interface.result, &format!("{}.result", interface.id))?,
            );
        }
        Ok(Validators {
            envelope,
            requests,
            results,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::shifted;
    use crate::profile::Profile;
    use serde_json::{Value, json};

    #[test]
    fn a_chunk_pointer_is_shifted_to_the_whole_array() {
        assert_eq!(shifted("/3/sku", 512), "/515/sku");
        assert_eq!(shifted("/3", 1024), "/1027");
        assert_eq!(shifted("", 512), "");
    }

    #[test]
    fn a_long_array_is_judged_like_a_short_one_in_bounded_memory() {
        let profile = Profile::embedded().expect("profile");
        // 5 000 SKU codes, two of them numbers instead of text: item 3 and item 4 000.
        let mut skus: Vec<Value> = (0..5_000).map(|i| json!(format!("{}", 100 + i))).collect();
        skus[3] = json!(103);
        skus[4_000] = json!(4_100);
        let (kept, total) = profile.validate_result_kept("skus", &Value::Array(skus), 10);
        assert_eq!(total, 2, "{kept:?}");
        let pointers: Vec<&str> = kept.iter().map(|v| v.instance_pointer.as_str()).collect();
        assert_eq!(pointers, vec!["/3", "/4000"]);
        // Bounded evidence: a huge instance is quoted by its first characters.
        assert!(kept.iter().all(|v| v.message.len() < 400), "{kept:?}");
    }
}
