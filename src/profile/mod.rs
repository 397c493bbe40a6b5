//! The protocol as data: the interface catalogue, the requirements and the JSON Schemas of
//! `schemas/`, embedded in the binary or loaded from a folder (`--profile DIR`).
//!
//! Everything is read and checked once, at load: a broken profile gives one clear error naming
//! the file and the field, and every validator is compiled once and shared afterwards.

mod catalogue;
mod error;
mod fields;
pub mod openapi;
mod schemas;
mod source;

pub use catalogue::{
    Codes, Encoding, Interface, Level, ORDER_STATES, Outcome, Requirement, RequirementSet,
    Settings, Transition,
};
pub use error::ProfileError;
pub use fields::{FieldMap, ROLES};
pub use schemas::{StandaloneSchema, Violation};
pub use source::ProfileSource;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use schemas::{SchemaStore, Validators};

/// The interface ids the harness itself calls (beyond what scenarios name): one table, so that
/// no module spells them on its own. Every profile keeps these ids; only paths and fields vary.
pub mod iface {
    pub const TOKEN: &str = "token";
    pub const POOLS: &str = "pools";
    pub const PRICES: &str = "prices";
    pub const SUBMIT: &str = "submit";
    pub const CONFIRM: &str = "confirm";
    pub const CANCEL: &str = "cancel";
    pub const SELECT: &str = "select";
    pub const TRACK: &str = "track";
    pub const STOCKS: &str = "stocks";
    pub const SKUS: &str = "skus";
    pub const DETAIL: &str = "detail";
    pub const SHELF_STATES: &str = "shelf_states";
    pub const IMAGES: &str = "images";
    pub const PROVINCES: &str = "provinces";
    pub const CITIES: &str = "cities";
    pub const COUNTIES: &str = "counties";
}

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
    /// Logical ↔ wire field names.
    pub fields: FieldMap,
    /// Named state codes and texts (`[codes]`).
    pub codes: Codes,
    /// The order's life: states, the mall's actions, and what each must be answered.
    pub order_life: Vec<Transition>,
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
    /// SHA-256 of what judges a run (settings, interfaces, requirements, codes, the order's
    /// life): two runs with the same fingerprint were judged by the same protocol.
    pub fn sha256(&self) -> String {
        let text = serde_json::to_vec(&(
            &self.settings,
            &self.interfaces,
            &self.requirements,
            &self.codes,
            &self.order_life,
        ))
        .unwrap_or_default();
        crate::exchange::sha256_hex(&text)
    }

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
        let catalogue::Catalogue {
            settings,
            interfaces,
            fields,
            codes,
            order_life,
        } = catalogue::load_catalogue(source)?;
        let requirements = catalogue::load_requirements(source)?;
        catalogue::cross_check(&interfaces, &requirements)?;
        catalogue::check_order_life(&order_life, &interfaces, &requirements)?;
        let fields = FieldMap::new(&fields)
            .map_err(|message| ProfileError::invalid(CATALOGUE_FILE, "fields", message))?;
        let store = SchemaStore::load(source)?;
        fields::check_roles_named(&fields, &store)?;
        let validators = Validators::compile(&store, &interfaces)?;
        Ok(Profile {
            settings,
            interfaces,
            requirements,
            fields,
            codes,
            order_life,
            origin: source.describe(),
            store,
            validators,
        })
    }

    pub fn interface(&self, id: &str) -> Option<&Interface> {
        self.interfaces.iter().find(|i| i.id == id)
    }

    /// The interfaces as reports list them (in section order).
    pub fn interface_infos(&self) -> Vec<crate::events::InterfaceInfo> {
        self.interfaces
            .iter()
            .map(|i| crate::events::InterfaceInfo {
                id: i.id.clone(),
                section: i.section.clone(),
                name: crate::events::Text {
                    zh: i.name_zh.clone(),
                    en: i.name_en.clone(),
                },
                set: if i.required {
                    crate::events::RequirementSet::Required
                } else {
                    crate::events::RequirementSet::Optional
                },
                requirements: i.requirements.clone(),
            })
            .collect()
    }

    pub fn requirement(&self, id: &str) -> Option<&Requirement> {
        self.requirements.iter().find(|r| r.id == id)
    }

    /// A named code of `[codes]`, e.g. `code("shelf_state", "on")`.
    pub fn code(&self, group: &str, name: &str) -> Option<&Value> {
        self.codes.get(group)?.get(name)
    }

    /// The logical name of an interface's batch parameter (the catalogue names it on the wire).
    pub fn batch_param<'a>(&'a self, interface: &'a Interface) -> Option<&'a str> {
        interface
            .batch_param
            .as_deref()
            .map(|wire| self.fields.logical(wire))
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
        self.validate_result_kept(interface_id, result, usize::MAX)
            .0
    }

    /// [`Profile::validate_result`] keeping the first `keep` violations, and how many there were
    /// in all: a million broken items cost a count, not a million messages.
    pub fn validate_result_kept(
        &self,
        interface_id: &str,
        result: &Value,
        keep: usize,
    ) -> (Vec<Violation>, usize) {
        match self.validators.results.get(interface_id) {
            Some(v) => v.violations_kept(result, keep),
            None => (vec![Violation::unknown_interface(interface_id)], 1),
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
