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
                    "抽样数应为正整数或 all / the sample is a positive number of SKUs per pool or `all`, not {other:?}"
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
    /// Optional interfaces the supplier's declaration leaves out: never called.
    pub not_implemented: Vec<String>,
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

/// One call a run would send that changes the supplier's state (`mallcheck run --plan`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedChange {
    pub scenario: String,
    /// `file:line` of the step.
    pub at: String,
    pub interface: String,
    /// The parameters as the scenario writes them (templates unrendered, so nothing of the
    /// config or the supplier shows), with the harmless ones merged where the run sends those.
    pub params: String,
    /// What the run expects, or what it sends it for.
    pub note: String,
}

/// The builtins that send pre-orders, and what they do.
const ORDERING_BUILTINS: &[(&str, &str)] = &[
    (
        "concurrent_preorders",
        "pre-orders sent at once on a stock set by admin, then cancelled",
    ),
    (
        "stock_lock",
        "pre-orders that lock and buy out a SKU's stock, then cancelled",
    ),
    (
        "order_transitions",
        "two pre-orders driven through the order's life: one confirmed (it ships), one cancelled; confirm, cancel, select and track of an unknown id",
    ),
];

/// Every call the selected scenarios would send that changes the supplier's state, without
/// sending anything: what a target not cleared for orders gets (token checks with harmless
/// parameters) or, with `allow_orders`, the order scenarios too.
pub fn state_changes(
    profile: &crate::profile::Profile,
    scenarios: &[Scenario],
    allow_orders: bool,
) -> Vec<PlannedChange> {
    use crate::scenario::model::Step;
    let mut planned = Vec::new();
    for scenario in scenarios {
        let skipped = scenario.has_tag("orders") && !allow_orders;
        for (index, step) in scenario.steps.iter().enumerate() {
            let at = format!(
                "{}:{}",
                scenario.file,
                scenario.step_lines.get(index).copied().unwrap_or(0)
            );
            match step {
                Step::Builtin(builtin) if !skipped => {
                    if let Some((_, what)) = ORDERING_BUILTINS
                        .iter()
                        .find(|(name, _)| *name == builtin.builtin)
                    {
                        planned.push(PlannedChange {
                            scenario: scenario.id.clone(),
                            at,
                            interface: format!("submit, confirm, cancel ({})", builtin.builtin),
                            params: serde_json::Value::Object(builtin.args.clone()).to_string(),
                            note: (*what).to_string(),
                        });
                    }
                }
                Step::Call(call) if !skipped => {
                    for (interface, params) in planned_calls(call) {
                        let Some(found) = profile.interface(&interface) else {
                            continue;
                        };
                        let Some(harmless) = found.harmless.as_ref() else {
                            continue;
                        };
                        let refused = call.expect.success == Some(false);
                        let (params, note) = match (allow_orders, params) {
                            (false, serde_json::Value::Object(mut map)) if refused => {
                                map.extend(harmless.clone());
                                (
                                    serde_json::Value::Object(map),
                                    "sent to be refused, with harmless parameters (not cleared for orders)",
                                )
                            }
                            (_, params) if refused => (params, "sent to be refused"),
                            (_, params) => (params, "sent to succeed"),
                        };
                        planned.push(PlannedChange {
                            scenario: scenario.id.clone(),
                            at: at.clone(),
                            interface,
                            params: params.to_string(),
                            note: note.to_string(),
                        });
                    }
                }
                _ => {}
            }
        }
    }
    planned
}

/// The interfaces and parameters of a call step: one, or one per item of a `for_each` whose
/// call and parameters are fields of the item (`"${case.iface}"`, `"${case.params}"`).
fn planned_calls(call: &crate::scenario::model::CallStep) -> Vec<(String, serde_json::Value)> {
    let field = |template: &str, name: &str| -> Option<String> {
        let inner = template.strip_prefix("${")?.strip_suffix('}')?;
        let (var, field) = inner.split_once('.')?;
        (var == name).then(|| field.to_string())
    };
    let Some(each) = &call.for_each else {
        return vec![(call.call.clone(), call.params.clone())];
    };
    let Some(items) = each.items.as_array() else {
        return vec![(call.call.clone(), call.params.clone())];
    };
    let call_field = field(&call.call, &each.name);
    let params_field = call.params.as_str().and_then(|p| field(p, &each.name));
    items
        .iter()
        .map(|item| {
            let interface = call_field
                .as_ref()
                .and_then(|f| item.get(f))
                .and_then(serde_json::Value::as_str)
                .map_or_else(|| call.call.clone(), str::to_string);
            let params = params_field
                .as_ref()
                .and_then(|f| item.get(f))
                .cloned()
                .unwrap_or_else(|| call.params.clone());
            (interface, params)
        })
        .collect()
}
