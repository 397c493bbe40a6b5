//! `report.json`: the whole run as data — verdict, per-requirement coverage, scenarios, every
//! result row and the exchanges that are evidence of a failure or warning.
//!
//! Exchanges are not held until the end: the evidence is read back from the run's record
//! (`events.jsonl`, see [`super::record`]) when the report is written.

pub const REPORT_FILE: &str = "report.json";

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::latency::{Latencies, LatencyRow};
use super::record::Record;
use super::{ReportError, Reporter, write_atomically};
use crate::events::{
    BaselineSummary, Event, OrderCleanup, RequirementCoverage, ResultRow, RunScope, ScenarioInfo,
    SetVerdict, Status, SweepFinished, TransitionSeen, Verdict,
};
use crate::exchange::Exchange;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Counts {
    pub pass: u64,
    pub fail: u64,
    pub warn: u64,
    pub skip: u64,
    pub blocked: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioReport {
    #[serde(flatten)]
    pub info: ScenarioInfo,
    pub status: Option<Status>,
    pub duration_ms: u64,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub format: String,
    pub tool: String,
    pub run_id: String,
    pub target: String,
    pub embedded: bool,
    pub profile: String,
    /// The profile's name and fingerprint (`Profile::sha256`).
    #[serde(default)]
    pub profile_name: String,
    #[serde(default)]
    pub profile_sha256: String,
    pub started_at: String,
    pub duration_ms: u64,
    /// What narrowed the run; `narrowed_by` says it in words.
    pub scope: RunScope,
    pub narrowed_by: Vec<String>,
    pub verdict: Verdict,
    pub aborted: Option<String>,
    pub summary: Counts,
    pub requirements: Vec<RequirementCoverage>,
    /// MUST requirements that were not fully judged (skipped or blocked in part or whole): the
    /// verdict says nothing about them.
    pub untested_must: Vec<String>,
    /// Requirements with a part only the admin clock or a run 36 h later can judge.
    #[serde(default)]
    pub clock_only: Vec<String>,
    /// The orders left open and what closing them came to (absent when there were none).
    #[serde(default, skip_serializing_if = "OrderCleanup::is_empty")]
    pub orders_closed: OrderCleanup,
    /// The transitions of the order's life driven, expected and seen (absent when none was).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transitions: Vec<TransitionSeen>,
    /// What the baseline (`--baseline FILE`) accepted, and its stale entries (absent without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineSummary>,
    /// What a sweep of the whole catalogue found (`mallcheck sweep` only): its own verdict on
    /// the catalogue, the summary of `sweep.json`, and the first unsellable SKUs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepFinished>,
    pub scenarios: Vec<ScenarioReport>,
    pub results: Vec<ResultRow>,
    /// Latency per interface over every exchange of the run (answered calls).
    #[serde(default)]
    pub latency: Vec<LatencyRow>,
    /// The exchanges a failure or warning points at; every exchange of the run is in
    /// events.jsonl and exchanges.har beside the report.
    pub exchanges: Vec<Exchange>,
}

/// Body bytes report.json keeps over all its exchanges: beyond it each keeps only
/// [`BODY_FLOOR`] bytes (the prefix of `evidence_kib` stays in events.jsonl), so the report
/// stays a few MB however many failures point at large answers.
pub const REPORT_BODY_BUDGET: usize = 2 * 1024 * 1024;
/// Body bytes every exchange of the report keeps, budget or not.
pub const BODY_FLOOR: usize = 1024;

fn keep_within_budget(exchanges: &mut [Exchange]) {
    let mut left = REPORT_BODY_BUDGET;
    for response in exchanges.iter_mut().filter_map(|e| e.response.as_mut()) {
        response.cut_to(left.max(BODY_FLOOR));
        left = left.saturating_sub(response.body.len());
    }
}

pub struct JsonReporter {
    path: PathBuf,
    report: Report,
    latencies: Latencies,
    interface_order: Vec<String>,
}

impl JsonReporter {
    pub fn new(path: PathBuf) -> JsonReporter {
        JsonReporter {
            path,
            report: Report {
                format: "mallcheck-report/1".into(),
                tool: format!("mallcheck {}", env!("CARGO_PKG_VERSION")),
                run_id: String::new(),
                target: String::new(),
                embedded: false,
                profile: String::new(),
                profile_name: String::new(),
                profile_sha256: String::new(),
                started_at: String::new(),
                duration_ms: 0,
                scope: RunScope::default(),
                narrowed_by: Vec::new(),
                verdict: Verdict {
                    required: SetVerdict::NotTested,
                    optional: SetVerdict::NotTested,
                },
                aborted: None,
                summary: Counts::default(),
                requirements: Vec::new(),
                untested_must: Vec::new(),
                clock_only: Vec::new(),
                orders_closed: OrderCleanup::default(),
                transitions: Vec::new(),
                baseline: None,
                sweep: None,
                scenarios: Vec::new(),
                results: Vec::new(),
                latency: Vec::new(),
                exchanges: Vec::new(),
            },
            latencies: Latencies::default(),
            interface_order: Vec::new(),
        }
    }

    pub fn report(&self) -> &Report {
        &self.report
    }
}

impl Reporter for JsonReporter {
    fn event(&mut self, event: &Event) {
        let r = &mut self.report;
        match event {
            Event::RunStarted {
                run_id,
                target,
                embedded,
                profile,
                tool,
                profile_name,
                profile_sha256,
                interfaces,
                started_at,
                scenarios,
                in_scope: _,
                scope,
            } => {
                if !tool.is_empty() {
                    r.tool = tool.clone();
                }
                r.profile_name = profile_name.clone();
                r.profile_sha256 = profile_sha256.clone();
                self.interface_order = interfaces.iter().map(|i| i.id.clone()).collect();
                r.scope = scope.clone();
                r.narrowed_by = scope.narrowed_by();
                r.run_id = run_id.clone();
                r.target = target.clone();
                r.embedded = *embedded;
                r.profile = profile.clone();
                r.started_at = started_at.clone();
                r.scenarios = scenarios
                    .iter()
                    .map(|info| ScenarioReport {
                        info: info.clone(),
                        status: None,
                        duration_ms: 0,
                        note: None,
                    })
                    .collect();
            }
            Event::ScenarioStarted { .. } => {}
            Event::Exchange(exchange) => self.latencies.note(exchange),
            Event::Result(row) => {
                let counts = &mut r.summary;
                match row.status {
                    Status::Pass => counts.pass += row.count,
                    Status::Fail => counts.fail += 1,
                    Status::Warn => counts.warn += 1,
                    Status::Skip => counts.skip += 1,
                    Status::Blocked => counts.blocked += 1,
                }
                r.results.push((**row).clone());
            }
            Event::ScenarioFinished {
                scenario,
                status,
                duration_ms,
                note,
            } => {
                if let Some(s) = r.scenarios.iter_mut().find(|s| &s.info.id == scenario) {
                    s.status = Some(*status);
                    s.duration_ms = *duration_ms;
                    s.note = note.clone();
                }
            }
            Event::OrdersClosed(closed) => r.orders_closed = closed.clone(),
            Event::OrderTransitions(seen) => r.transitions = seen.clone(),
            Event::Baseline(summary) => r.baseline = Some(summary.clone()),
            Event::SweepFinished(sweep) => r.sweep = Some((**sweep).clone()),
            Event::RunFinished {
                verdict,
                duration_ms,
                aborted,
                coverage,
                untested_must,
                clock_only,
            } => {
                r.requirements = coverage.clone();
                r.untested_must = untested_must.clone();
                r.clock_only = clock_only.clone();
                r.verdict = *verdict;
                r.duration_ms = *duration_ms;
                r.aborted = aborted.clone();
            }
        }
    }

    fn finish(&mut self, record: &Record) -> Result<(), ReportError> {
        // Evidence only: the exchanges that a failure or warning points at.
        let evidence = self
            .report
            .results
            .iter()
            .filter(|r| matches!(r.status, Status::Fail | Status::Warn))
            .filter_map(|r| r.exchange);
        self.report.exchanges = record.exchanges(evidence)?;
        self.report.latency = self.latencies.rows(&self.interface_order);
        keep_within_budget(&mut self.report.exchanges);
        let text = serde_json::to_vec_pretty(&self.report).map_err(|e| ReportError::Write {
            path: self.path.display().to_string(),
            message: e.to_string(),
        })?;
        write_atomically(&self.path, &text)
    }
}
