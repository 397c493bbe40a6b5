//! The protocol as data: the interface catalogue, the requirements and the JSON Schemas of
//! `schemas/`, embedded in the binary or loaded from a folder (`--profile DIR`).
//!
//! Everything is read and checked once, at load: a broken profile gives one clear error naming
//! the file and the field, and every validator is compiled once and shared afterwards.

mod catalogue;
mod error;
pub mod openapi;
mod schemas;
mod source;

pub use catalogue::{Encoding, Interface, Level, Requirement, RequirementSet, Settings};
pub use error::ProfileError;
pub use schemas::Violation;
pub use source::ProfileSource;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use schemas::{SchemaStore, Validators};

/// Where the interface catalogue lives inside a profile folder.
pub const CATALOGUE_FILE: &str = "interfaces.toml";
/// Where the requirements live inside a profile folder.
pub const REQUIREMENTS_FILE: &str = "requirements.toml";
/// The envelope schema every answer is checked against.
pub const ENVELOPE_FILE: &str = "common/envelope.json";

/// A loaded, checked profile: settings, interfaces, requirements and compiled validators.
pub struct Profile {
    pub settings: Settings,
    pub interfaces: Vec<Interface>,
    pub requirements: Vec<Requirement>,
    /// Where it was loaded from, for messages ("embedded" or the folder).
    pub origin: String,
    store: SchemaStore,
    validators: Validators,
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("origin", &self.origin)
            .field("interfaces", &self.interfaces.len())
            .field("requirements", &self.requirements.len())
            .finish_non_exhaustive()
    }
}

impl Profile {
    /// The default profile, embedded in the binary at build time.
    pub fn embedded() -> Result<Profile, ProfileError> {
        Profile::load(&ProfileSource::Embedded)
    }

    /// A profile folder of the same shape as `schemas/`.
    pub fn from_dir(dir: &Path) -> Result<Profile, ProfileError> {
        Profile::load(&ProfileSource::Dir(dir.to_path_buf()))
    }

    /// `Some(dir)` loads that folder, `None` the embedded profile.
    pub fn load_optional(dir: Option<&Path>) -> Result<Profile, ProfileError> {
        match dir {
            Some(dir) => Profile::from_dir(dir),
            None => Profile::embedded(),
        }
    }

    pub fn load(source: &ProfileSource) -> Result<Profile, ProfileError> {
        let (settings, interfaces) = catalogue::load_catalogue(source)?;
        let requirements = catalogue::load_requirements(source)?;
        catalogue::cross_check(&interfaces, &requirements)?;
        let store = SchemaStore::load(source)?;
        let validators = Validators::compile(&store, &interfaces)?;
        Ok(Profile {
            settings,
            interfaces,
            requirements,
            origin: source.describe(),
            store,
            validators,
        })
    }

    pub fn interface(&self, id: &str) -> Option<&Interface> {
        self.interfaces.iter().find(|i| i.id == id)
    }

    pub fn requirement(&self, id: &str) -> Option<&Requirement> {
        self.requirements.iter().find(|r| r.id == id)
    }

    /// Interfaces in test order: required ones first, each group in catalogue order.
    pub fn interfaces_in_test_order(&self) -> impl Iterator<Item = &Interface> {
        let required = self.interfaces.iter().filter(|i| i.required);
        let optional = self.interfaces.iter().filter(|i| !i.required);
        required.chain(optional)
    }

    /// Checks a whole answer against the envelope schema.
    pub fn validate_envelope(&self, answer: &Value) -> Vec<Violation> {
        self.validators.envelope.violations(answer)
    }

    /// Checks the `result` of a successful answer of `interface_id`.
    /// An unknown interface id yields one violation saying so.
    pub fn validate_result(&self, interface_id: &str, result: &Value) -> Vec<Violation> {
        match self.validators.results.get(interface_id) {
            Some(v) => v.violations(result),
            None => vec![Violation::unknown_interface(interface_id)],
        }
    }

    /// Checks the parameters the harness is about to send to `interface_id`.
    pub fn validate_request(&self, interface_id: &str, params: &Value) -> Vec<Violation> {
        match self.validators.requests.get(interface_id) {
            Some(v) => v.violations(params),
            None => vec![Violation::unknown_interface(interface_id)],
        }
    }

    /// One schema document by its path inside the profile (e.g. `result/prices.json`).
    pub fn schema_document(&self, path: &str) -> Option<&Value> {
        self.store.by_path(path)
    }

    /// Every schema document, by path inside the profile.
    pub fn schema_documents(&self) -> &BTreeMap<String, Value> {
        self.store.documents()
    }
}
