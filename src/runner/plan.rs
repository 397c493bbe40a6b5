//! What a run is asked to do: which scenarios (the selection, and what they require) and the
//! options that shape the run.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use crate::events::RequirementSet;
use crate::scenario::Scenario;

/// Which scenarios to run.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only scenarios that call one of these interfaces (and what they require).
    pub interfaces: Vec<String>,
    /// Only these scenario ids (and what they require).
    pub scenarios: Vec<String>,
    /// Only scenarios with one of these tags (and what they require).
    pub tags: Vec<String>,
    pub required_only: bool,
}

/// How many SKUs of each pool the catalogue reads in detail (detail, images, prices, shelf).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleSize {
    PerPool(usize),
    All,
}

impl SampleSize {
    /// Enough to find a defect in one SKU of a dozen within a few runs, few enough for a fast run.
    pub const DEFAULT: SampleSize = SampleSize::PerPool(10);

    /// `all` or a positive number.
    pub fn parse(text: &str) -> Result<SampleSize, String> {
        match text.trim() {
            "all" => Ok(SampleSize::All),
            other => match other.parse::<usize>() {
                Ok(n) if n > 0 => Ok(SampleSize::PerPool(n)),
                _ => Err(format!(
                    "抽样数应为正整数或 all the sample is a positive number of SKUs per pool or `all`, not {other:?}"
                )),
            },
        }
    }

    /// The count scenarios see as `${run.sample}`: `all` is any number above every pool's size.
    pub fn count(self) -> u64 {
        match self {
            SampleSize::PerPool(n) => n as u64,
            SampleSize::All => u64::from(u32::MAX),
        }
    }
}

impl std::fmt::Display for SampleSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SampleSize::PerPool(n) => write!(f, "{n}"),
            SampleSize::All => write!(f, "all"),
        }
    }
}

/// A seed for the sample when none is given: a new one each run, so that across runs every SKU
/// gets its turn.
pub fn fresh_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    // Six digits: short enough to type back as --seed.
    (nanos ^ u64::from(std::process::id()).rotate_left(32)) % 1_000_000
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub run_id: String,
    /// Shown in reports: the target URL, or "embedded reference supplier".
    pub target_label: String,
    /// The target is the in-process reference supplier.
    pub embedded: bool,
    /// The reference supplier's `/__admin` endpoints answer (clock, stock).
    pub admin: bool,
    /// Scenarios tagged `orders` may run.
    pub allow_orders: bool,
    pub jobs: usize,
    pub state_dir: PathBuf,
    pub selection: Selection,
    pub sample: SampleSize,
    pub seed: u64,
    /// Exchanges made before the run (the admin probe): they go through the event stream too.
    pub preflight: Vec<crate::exchange::Exchange>,
}

/// Picks the scenarios the selection asks for, plus everything they require.
pub fn select(scenarios: &[Scenario], selection: &Selection) -> Vec<Scenario> {
    let wanted = |s: &Scenario| {
        let by_id = selection.scenarios.is_empty() || selection.scenarios.contains(&s.id);
        let by_tag = selection.tags.is_empty() || selection.tags.iter().any(|t| s.has_tag(t));
        let by_interface = selection.interfaces.is_empty()
            || s.steps.iter().any(|step| match step {
                crate::scenario::Step::Call(call) => selection.interfaces.contains(&call.call),
                _ => false,
            });
        let by_set = !selection.required_only || s.set() == RequirementSet::Required;
        by_id && by_tag && by_interface && by_set
    };
    let by_id: HashMap<&str, &Scenario> = scenarios.iter().map(|s| (s.id.as_str(), s)).collect();
    let mut keep: HashSet<&str> = HashSet::new();
    let mut stack: Vec<&str> = scenarios
        .iter()
        .filter(|s| wanted(s))
        .map(|s| s.id.as_str())
        .collect();
    while let Some(id) = stack.pop() {
        if keep.insert(id)
            && let Some(s) = by_id.get(id)
        {
            stack.extend(s.requires.iter().chain(&s.after).map(String::as_str));
        }
    }
    scenarios
        .iter()
        .filter(|s| keep.contains(s.id.as_str()))
        .cloned()
        .collect()
}
