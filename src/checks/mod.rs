//! Named checks, each tied to requirement ids. Exchange checks run on every answer of the
//! interface they belong to; they are pure functions of the exchange, the parameters sent and the
//! profile, and never call a supplier (image reachability hands its URLs to the client).

use serde::{Deserialize, Serialize};

/// What a check says about one requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
    Warn,
    Skip,
    Blocked,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Warn => "warn",
            Status::Skip => "skip",
            Status::Blocked => "blocked",
        }
    }
}

/// One way an answer breaks a requirement. Whether it is a failure or a warning is decided by
/// the requirement's level (MUST fails; SHOULD and BEYOND warn), not by the check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable check id, e.g. `no-newline`, `batch-complete`.
    pub check: String,
    /// The requirement id it breaks.
    pub requirement: String,
    /// A readable sentence, Chinese first then English.
    pub message: String,
    /// JSON pointer into the answer (the whole envelope) where the offending value is.
    pub pointer: Option<String>,
    pub expected: Option<String>,
    pub actual: Option<String>,
}

/// A check that ran on one exchange and the requirements it looked at: a check that ran and
/// found nothing is evidence of a pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckRun {
    pub check: String,
    pub requirements: Vec<String>,
    pub findings: Vec<Finding>,
}
