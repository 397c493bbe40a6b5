//! What a scenario file says, after it passed the scenario schema. Field names are the YAML keys.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::events::RequirementSet;
pub use crate::events::Text;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub id: String,
    pub title: Text,
    /// `required` or `optional`; defaults to the folder the file is in.
    #[serde(default)]
    pub set: Option<RequirementSet>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Scenarios whose captures this one uses; if one of them fails, this one is blocked.
    #[serde(default)]
    pub requires: Vec<String>,
    /// Scenarios that run before this one when they are in the run, without blocking it when
    /// they fail (the catalogue's stock queries use the area ids the areas scenario found).
    #[serde(default)]
    pub after: Vec<String>,
    /// Every requirement the scenario tests (for coverage); steps name the ones they assert.
    #[serde(default)]
    pub requirements: Vec<String>,
    pub steps: Vec<Step>,
    /// Where the scenario came from, for messages: `scenarios/required/token.yaml`.
    #[serde(skip)]
    pub file: String,
    /// The line of each step in that file (for result rows that point at their step).
    #[serde(skip)]
    pub step_lines: Vec<usize>,
}

impl Scenario {
    pub fn set(&self) -> RequirementSet {
        self.set.unwrap_or(RequirementSet::Required)
    }

    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }

    /// When it runs: 0 required, 1 required and alone (it moves the supplier's clock, which only
    /// happens with the admin endpoints, or changes shared state such as stock), 2 optional, 3
    /// optional and alone.
    pub fn phase(&self, admin: bool) -> usize {
        let alone = (admin && self.has_tag("clock")) || self.has_tag("exclusive");
        match (self.set(), alone) {
            (RequirementSet::Required, false) => 0,
            (RequirementSet::Required, true) => 1,
            (RequirementSet::Optional, false) => 2,
            (RequirementSet::Optional, true) => 3,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Step {
    Call(Box<CallStep>),
    Admin(AdminStep),
    Builtin(BuiltinStep),
}

/// Which token a call carries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenChoice {
    /// The run's token, fetched once and reused.
    #[default]
    Auto,
    /// No token parameter at all.
    None,
    /// A token the supplier never issued.
    Unknown,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallStep {
    /// An interface id of the profile, or a template such as `${iface}` inside `for_each`.
    pub call: String,
    #[serde(default)]
    pub title: Option<Text>,
    #[serde(default)]
    pub token: TokenChoice,
    /// For the token interface: credentials other than the configured ones (templated).
    #[serde(default)]
    pub credentials: Option<Credentials>,
    /// For the token interface: break the sign rule on purpose (the call must be refused).
    #[serde(default)]
    pub tamper: Option<TamperChoice>,
    /// An object of parameters (values may be templates), or one template yielding an object.
    #[serde(default = "empty_object")]
    pub params: Value,
    /// Run the step only when this template yields something (not null, false, "" or []).
    #[serde(default)]
    pub when: Option<String>,
    #[serde(default)]
    pub expect: Expect,
    /// Requirements this step's expectations test.
    #[serde(default)]
    pub requirements: Vec<String>,
    #[serde(default)]
    pub capture: Map<String, Value>,
    #[serde(default)]
    pub for_each: Option<ForEach>,
    /// Ask again until the expectations hold: for what the supplier does on its own schedule.
    #[serde(default)]
    pub poll: Option<Poll>,
    /// What to check when the step's expectations fail, for a cause on the user's side (the
    /// credentials, the base URL): written after the finding.
    #[serde(default)]
    pub hint: Option<Text>,
}

/// How a `poll` step waits between tries: with the admin endpoints the supplier's clock moves
/// `advance_seconds` (at most three times); otherwise pauses grow, bounded by
/// `[orders] wait_seconds`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Poll {
    #[serde(default)]
    pub advance_seconds: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TamperChoice {
    /// A well-formed sign that is not this request's.
    WrongSign,
    /// A timestamp an hour off the supplier's clock.
    StaleTimestamp,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForEach {
    /// A template that yields an array, or an array (whose items may hold templates).
    #[serde(rename = "in")]
    pub items: Value,
    #[serde(rename = "as")]
    pub name: String,
    #[serde(default)]
    pub limit: Option<usize>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    #[serde(default)]
    pub success: Option<bool>,
    #[serde(default)]
    pub desc_contains: Option<String>,
    #[serde(default)]
    pub values: Vec<ValueExpect>,
}

/// An expectation on the value at a JSON pointer of the answer (`/result/0/state`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueExpect {
    pub at: String,
    #[serde(default)]
    pub exists: Option<bool>,
    #[serde(default)]
    pub equals: Option<Value>,
    #[serde(default)]
    pub not_equals: Option<Value>,
    #[serde(default)]
    pub one_of: Option<Vec<Value>>,
    /// Object keys that must be present (e.g. Tianjin's districts in a counties answer).
    #[serde(default)]
    pub has_keys: Option<Vec<String>>,
    /// An array that must contain this value, or a string that must contain this text.
    #[serde(default)]
    pub contains: Option<Value>,
    #[serde(default)]
    pub min_items: Option<usize>,
    /// Judge only when the value is there (e.g. a resubmitted order may be refused outright, but
    /// if it is accepted its order id must be the first one).
    #[serde(default)]
    pub if_present: bool,
    /// The requirement this expectation tests, when not the step's.
    #[serde(default)]
    pub requirement: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminStep {
    pub admin: AdminAction,
    #[serde(default)]
    pub title: Option<Text>,
}

/// Actions only the reference supplier (with `--admin`) offers; elsewhere the scenario is skipped.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminAction {
    #[serde(default)]
    pub advance_seconds: Option<i64>,
    #[serde(default)]
    pub set_stock: Option<Map<String, Value>>,
    /// Keep using the current token after the clock moved (to test its lifetime); by default a
    /// new one is fetched, signed on the supplier's new time.
    #[serde(default)]
    pub keep_token: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuiltinStep {
    /// A native step of the runner (see `runner::builtins`).
    pub builtin: String,
    #[serde(default)]
    pub title: Option<Text>,
    #[serde(default, rename = "with")]
    pub args: Map<String, Value>,
    #[serde(default)]
    pub requirements: Vec<String>,
}

impl ValueExpect {
    /// An expectation at `pointer` that asks nothing yet (set the fields it should check).
    pub fn at(pointer: &str) -> ValueExpect {
        ValueExpect {
            at: pointer.to_string(),
            ..ValueExpect::default()
        }
    }
}
