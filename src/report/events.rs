//! The one contract between a run and its outputs: the runner emits these events, in order, and
//! every reporter (terminal, JSON, ...) is built from them alone. A report can be re-rendered
//! later from the JSON report because it holds the same facts.

use serde::{Deserialize, Serialize};

use crate::checks::Status;
use crate::exchange::Exchange;
use crate::profile::RequirementSet;
use crate::scenario::model::Text;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioInfo {
    pub id: String,
    pub title: Text,
    pub set: RequirementSet,
    pub tags: Vec<String>,
    pub file: String,
}

/// One judged fact: a check (or a scenario expectation) on one requirement.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResultRow {
    pub check: String,
    pub requirement: String,
    /// MUST / SHOULD / BEYOND: decides whether a broken requirement fails or warns.
    pub level: String,
    pub interface: Option<String>,
    pub scenario: String,
    pub set: RequirementSet,
    pub status: Status,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    /// The exchange that shows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exchange: Option<u64>,
    /// A curl line that repeats that exchange (secrets redacted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub curl: Option<String>,
    /// How many identical passes this row stands for.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub count: u64,
}

fn one() -> u64 {
    1
}

fn is_one(n: &u64) -> bool {
    *n == 1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SetVerdict {
    Pass,
    Fail,
    NotTested,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub required: SetVerdict,
    pub optional: SetVerdict,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Event {
    RunStarted {
        run_id: String,
        target: String,
        embedded: bool,
        profile: String,
        started_at: String,
        scenarios: Vec<ScenarioInfo>,
        /// The requirements this run sets out to judge: all of them for a full run, those the
        /// selected scenarios name for a selection. Untested ones within it are reported.
        in_scope: Vec<String>,
    },
    ScenarioStarted {
        scenario: String,
    },
    Exchange(Box<Exchange>),
    Result(Box<ResultRow>),
    ScenarioFinished {
        scenario: String,
        status: Status,
        duration_ms: u64,
        /// Why it was skipped or blocked, or why it stopped early.
        note: Option<String>,
    },
    RunFinished {
        verdict: Verdict,
        duration_ms: u64,
        /// A runtime error that ended the run early (unreachable supplier, ...).
        aborted: Option<String>,
    },
}
