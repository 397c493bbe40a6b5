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
