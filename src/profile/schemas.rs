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
        let mut kept = Vec::new();
        let mut total = 0;
        for error in self.validator.iter_errors(instance) {
            total += 1;
            if kept.len() < keep {
                kept.push(Violation {
                    instance_pointer: error.instance_path().to_string(),
                    schema_path: error.schema_path().to_string(),
                    message: error.to_string(),
                });
            }
        }
        (kept, total)
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
