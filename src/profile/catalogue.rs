//! `interfaces.toml` and `requirements.toml`: parsed strictly (unknown keys are errors, so a typo
//! cannot silently drop a setting) and cross-checked against each other.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

pub use crate::events::{Level, RequirementSet};

use super::{CATALOGUE_FILE, ProfileError, ProfileSource, REQUIREMENTS_FILE};

/// The `[profile]` table: how the wire format works as a whole.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub name: String,
    /// The parameter that carries the access token on every interface but the token one.
    pub token_param: String,
    /// `form` (application/x-www-form-urlencoded) or `json`.
    pub encoding: Encoding,
    /// The most SKUs one batch call may carry.
    pub batch_max: usize,
    /// chrono format of request and response times.
    pub timestamp_format: String,
    /// Offset of the supplier's local time from UTC (China Standard Time: 28800).
    pub utc_offset_seconds: i32,
    /// How long a token must stay valid (36 h).
    pub token_ttl_seconds: i64,
    /// The ASCII text `desc` must contain when a token is expired or unknown.
    pub expired_marker: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    Form,
    Json,
}

/// One interface of the catalogue.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interface {
    /// The standard's section, e.g. `2.12.1`.
    pub section: String,
    /// Stable snake_case id used by scenarios, reports and faults.
    pub id: String,
    pub name_zh: String,
    pub name_en: String,
    /// False for the standard's 非必需 interfaces.
    pub required: bool,
    pub path: String,
    /// Request schema, relative to the profile folder.
    pub request: String,
    /// Result schema, relative to the profile folder.
    pub result: String,
    /// Requirement ids this interface serves.
    pub requirements: Vec<String>,
    /// The requirement a violation of the result schema counts against (e.g. `DET-FIELDS`).
    pub schema_requirement: String,
    /// The parameter carrying a comma-separated SKU batch, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_param: Option<String>,
    /// Parameters that travel as JSON text inside one form field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub json_params: Vec<String>,
    /// The result checks (ids of `checks/`) that judge a successful answer, beyond the schema
    /// and batch completeness, which run wherever they apply.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<String>,
    /// The interface's own batch requirement (e.g. `PRC-BATCH`), judged beside BATCH-COMPLETE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_requirement: Option<String>,
    /// Whether the interface needs the access token (all but the token interface).
    #[serde(default = "yes")]
    pub auth: bool,
    /// Parameters (logical names) that make a call no supplier can fulfil: merged over a token
    /// check's parameters on a target not cleared for orders. Present exactly on the interfaces
    /// that change the supplier's state (orders, after-sales, payments): `--plan` lists those.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub harmless: Option<serde_json::Map<String, serde_json::Value>>,
}

impl Interface {
    /// Whether a call changes the supplier's state (creates or moves an order, a payment...).
    pub fn changes_state(&self) -> bool {
        self.harmless.is_some()
    }
}

fn yes() -> bool {
    true
}

/// One numbered requirement of the standard.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    pub id: String,
    pub section: String,
    pub level: Level,
    pub set: RequirementSet,
    pub text_zh: String,
    pub text_en: String,
    /// The standard's own words; empty for BEYOND requirements.
    #[serde(default)]
    pub source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    profile: Settings,
    /// Logical field name = wire field name (see `fields.rs`).
    #[serde(default)]
    fields: BTreeMap<String, String>,
    /// Named state codes and texts (`order_state.cancelled = -2`), for checks and templates.
    #[serde(default)]
    codes: Codes,
    /// The life of an order as the mall drives it (`[[order_life]]`).
    #[serde(default)]
    order_life: Vec<Transition>,
    #[serde(rename = "interface")]
    interfaces: Vec<Interface>,
}

/// What the standard asks of a supplier when the mall takes an action on an order in a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Accept,
    Refuse,
    /// The standard is silent: what the supplier does is recorded, not judged.
    Either,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Accept => "accept",
            Outcome::Refuse => "refuse",
            Outcome::Either => "either",
        }
    }
}

/// One transition of an order's life: the mall calls `action` (an interface taking
/// `order_id`) on an order in state `from`; the supplier must answer `expect`, and an accepted
/// action moves the order `to` a state.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    /// `pre_ordered`, `confirmed`, `cancelled`, or `unknown` (an order id never issued).
    pub from: String,
    pub action: String,
    pub expect: Outcome,
    /// The state after an accepted action (required when `expect = "accept"`).
    #[serde(default)]
    pub to: Option<String>,
    /// The requirement the answer is judged against (none where the standard is silent).
    #[serde(default)]
    pub requirement: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequirementsFile {
    #[serde(rename = "requirement")]
    requirements: Vec<Requirement>,
}

fn parse_toml<T: serde::de::DeserializeOwned>(
    source: &ProfileSource,
    file: &str,
) -> Result<T, ProfileError> {
    let text = source.read(file)?;
    toml::from_str(&text).map_err(|e| ProfileError::Parse {
        file: file.to_string(),
        message: e.to_string().trim_end().to_string(),
    })
}

/// Named codes: group → name → value (a number or a text), e.g. `shelf_state.on = 1`.
pub type Codes = BTreeMap<String, BTreeMap<String, serde_json::Value>>;

/// What `interfaces.toml` says.
pub(super) struct Catalogue {
    pub settings: Settings,
    pub interfaces: Vec<Interface>,
    pub fields: BTreeMap<String, String>,
    pub codes: Codes,
    pub order_life: Vec<Transition>,
}

pub(super) fn load_catalogue(source: &ProfileSource) -> Result<Catalogue, ProfileError> {
    let file: CatalogueFile = parse_toml(source, CATALOGUE_FILE)?;
    let mut seen = HashSet::new();
    for (index, interface) in file.interfaces.iter().enumerate() {
        let field = |name: &str| format!("interface[{index}] ({}).{name}", interface.id);
        if !seen.insert(interface.id.as_str()) {
            return Err(ProfileError::invalid(
                CATALOGUE_FILE,
                field("id"),
                "duplicate interface id",
            ));
        }
        if !interface.path.starts_with('/') {
            return Err(ProfileError::invalid(
                CATALOGUE_FILE,
                field("path"),
                format!("path must start with '/': {:?}", interface.path),
            ));
        }
    }
    if file.profile.batch_max == 0 {
        return Err(ProfileError::invalid(
            CATALOGUE_FILE,
            "profile.batch_max",
            "must be at least 1",
        ));
    }
    Ok(Catalogue {
        settings: file.profile,
        interfaces: file.interfaces,
        fields: file.fields,
        codes: file.codes,
        order_life: file.order_life,
    })
}

pub(super) fn load_requirements(source: &ProfileSource) -> Result<Vec<Requirement>, ProfileError> {
    let file: RequirementsFile = parse_toml(source, REQUIREMENTS_FILE)?;
    let mut seen = HashSet::new();
    for (index, requirement) in file.requirements.iter().enumerate() {
        if !seen.insert(requirement.id.as_str()) {
            return Err(ProfileError::invalid(
                REQUIREMENTS_FILE,
                format!("requirement[{index}].id"),
                format!("duplicate requirement id {}", requirement.id),
            ));
        }
    }
    Ok(file.requirements)
}

/// Every requirement an interface names must exist.
/// The states an order can be brought to by the mall; `unknown` is an order id never issued.
pub const ORDER_STATES: &[&str] = &["pre_ordered", "confirmed", "cancelled", "unknown"];

/// Every transition names a known state, an interface, a requirement the profile has, and where
/// an accepted action leads.
pub(super) fn check_order_life(
    order_life: &[Transition],
    interfaces: &[Interface],
    requirements: &[Requirement],
) -> Result<(), ProfileError> {
    for (index, t) in order_life.iter().enumerate() {
        let field = |name: &str| format!("order_life[{index}].{name}");
        let state = |name: &str| ORDER_STATES.contains(&name);
        let unknown_requirement = t
            .requirement
            .as_ref()
            .filter(|r| !requirements.iter().any(|q| &q.id == *r));
        let problem = if !state(&t.from) {
            Some((
                "from",
                format!(
                    "unknown state {:?} (states: {})",
                    t.from,
                    ORDER_STATES.join(", ")
                ),
            ))
        } else if !interfaces.iter().any(|i| i.id == t.action) {
            Some(("action", format!("unknown interface {:?}", t.action)))
        } else if t.expect == Outcome::Accept && !t.to.as_deref().is_some_and(state) {
            Some((
                "to",
                "an accepted action needs the state it leads to".to_string(),
            ))
        } else {
            unknown_requirement.map(|r| {
                (
                    "requirement",
                    format!("unknown requirement id {r} (not in {REQUIREMENTS_FILE})"),
                )
            })
        };
        if let Some((name, message)) = problem {
            return Err(ProfileError::invalid(CATALOGUE_FILE, field(name), message));
        }
    }
    Ok(())
}

pub(super) fn cross_check(
    interfaces: &[Interface],
    requirements: &[Requirement],
) -> Result<(), ProfileError> {
    let known: HashSet<&str> = requirements.iter().map(|r| r.id.as_str()).collect();
    for (index, interface) in interfaces.iter().enumerate() {
        if let Some(unknown) = interface
            .requirements
            .iter()
            .find(|id| !known.contains(id.as_str()))
        {
            return Err(ProfileError::invalid(
                CATALOGUE_FILE,
                format!("interface[{index}] ({}).requirements", interface.id),
                format!("unknown requirement id {unknown} (not in {REQUIREMENTS_FILE})"),
            ));
        }
        if let Some(batch) = &interface.batch_requirement
            && !interface.requirements.contains(batch)
        {
            return Err(ProfileError::invalid(
                CATALOGUE_FILE,
                format!("interface[{index}] ({}).batch_requirement", interface.id),
                format!("{batch} is not among the interface's requirements"),
            ));
        }
        if !interface
            .requirements
            .contains(&interface.schema_requirement)
        {
            return Err(ProfileError::invalid(
                CATALOGUE_FILE,
                format!("interface[{index}] ({}).schema_requirement", interface.id),
                format!(
                    "{} is not among the interface's requirements",
                    interface.schema_requirement
                ),
            ));
        }
    }
    Ok(())
}
