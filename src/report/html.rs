//! `report.html`: one self-contained page for a person (an acceptance officer, a supplier's
//! developer). No external script, style, font or image: it opens offline, from a mail or an
//! artefact store. Chinese by default, English with `--lang en`, switchable in the page (both
//! texts are in it; a style shows one). The evidence of each failure (request, response) is kept
//! as JSON in the page and drawn when the failure is opened, so a run of 10,000 exchanges opens
//! at once; only the failures shown carry evidence, bodies are cut (`HTML_BODY_BYTES`) and the
//! whole page keeps `HTML_EVIDENCE_BUDGET` bytes of them at most.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Serialize;

use super::latency::{Latencies, LatencyRow};
use super::record::Record;
use super::{ReportError, Reporter, write_atomically};
use crate::events::{
    CoverageStatus, Event, InterfaceInfo, Lang, OrderCleanup, RequirementCoverage, ResultRow,
    RunScope, ScenarioInfo, Status, TransitionSeen, Verdict,
};
use crate::exchange::Exchange;

pub const HTML_FILE: &str = "report.html";

const TEMPLATE: &str = include_str!("report.html.j2");

/// Body bytes shown for one exchange (pretty-printed first when it is JSON).
pub const HTML_BODY_BYTES: usize = 16 * 1024;
/// Body bytes the page keeps over all its evidence; beyond it bodies are left out.
pub const HTML_EVIDENCE_BUDGET: usize = 3 * 1024 * 1024;
/// Failures shown per interface and requirement; the rest are counted (all are in report.json).
const SHOWN_PER_REQUIREMENT: usize = 20;

pub struct HtmlReporter {
    path: PathBuf,
    lang: Lang,
    started: Option<Started>,
    scenarios: BTreeMap<String, ScenarioRun>,
    rows: Vec<ResultRow>,
    latencies: Latencies,
    cleanup: OrderCleanup,
    transitions: Vec<TransitionSeen>,
    finished: Option<Finished>,
    baseline: Option<crate::events::BaselineSummary>,
    sweep: Option<crate::events::SweepFinished>,
}

struct Started {
    run_id: String,
    target: String,
    embedded: bool,
    tool: String,
    profile_name: String,
    profile_sha256: String,
    started_at: String,
    interfaces: Vec<InterfaceInfo>,
    scenarios: Vec<ScenarioInfo>,
    scope: RunScope,
}

#[derive(Default)]
struct ScenarioRun {
    status: Option<Status>,
    duration_ms: u64,
    note: Option<String>,
}

struct Finished {
    verdict: Verdict,
    duration_ms: u64,
    aborted: Option<String>,
    coverage: Vec<RequirementCoverage>,
    untested_must: Vec<String>,
    clock_only: Vec<String>,
}

impl HtmlReporter {
    pub fn new(path: PathBuf, lang: Lang) -> HtmlReporter {
        HtmlReporter {
            path,
            lang,
            started: None,
            scenarios: BTreeMap::new(),
            rows: Vec::new(),
            latencies: Latencies::default(),
            cleanup: OrderCleanup::default(),
            transitions: Vec::new(),
            finished: None,
            baseline: None,
            sweep: None,
        }
    }
}

impl Reporter for HtmlReporter {
    fn event(&mut self, event: &Event) {
        match event {
            Event::RunStarted {
                run_id,
                target,
                embedded,
                tool,
                profile_name,
                profile_sha256,
                interfaces,
                started_at,
                scenarios,
                scope,
                ..
            } => {
                self.started = Some(Started {
                    run_id: run_id.clone(),
                    target: target.clone(),
                    embedded: *embedded,
                    tool: tool.clone(),
                    profile_name: profile_name.clone(),
                    profile_sha256: profile_sha256.clone(),
                    started_at: started_at.clone(),
                    interfaces: interfaces.clone(),
                    scenarios: scenarios.clone(),
                    scope: scope.clone(),
                });
            }
            Event::ScenarioStarted { .. } => {}
            Event::Baseline(summary) => self.baseline = Some(summary.clone()),
            Event::SweepFinished(sweep) => self.sweep = Some((**sweep).clone()),
            Event::Exchange(exchange) => self.latencies.note(exchange),
            Event::Result(row) => self.rows.push((**row).clone()),
            Event::ScenarioFinished {
                scenario,
                status,
                duration_ms,
                note,
            } => {
                let run = self.scenarios.entry(scenario.clone()).or_default();
                run.status = Some(*status);
                run.duration_ms = *duration_ms;
                run.note = note.clone();
            }
            Event::OrdersClosed(closed) => self.cleanup = closed.clone(),
            Event::OrderTransitions(seen) => self.transitions = seen.clone(),
            Event::RunFinished {
                verdict,
                duration_ms,
                aborted,
                coverage,
                untested_must,
                clock_only,
            } => {
                self.finished = Some(Finished {
                    verdict: *verdict,
                    duration_ms: *duration_ms,
                    aborted: aborted.clone(),
                    coverage: coverage.clone(),
                    untested_must: untested_must.clone(),
                    clock_only: clock_only.clone(),
                });
            }
        }
    }

    fn finish(&mut self, record: &Record) -> Result<(), ReportError> {
        // The page first, then the evidence of the failures it shows (not of those it counts).
        let mut page = self.page(&[]);
        let shown: BTreeSet<u64> = page
            .interfaces
            .iter()
            .flat_map(|i| &i.groups)
            .flat_map(|g| &g.findings)
            .filter_map(|f| f.exchange)
            .collect();
        page.evidence = evidence_views(&record.exchanges(shown)?);
        let failed = |message: String| ReportError::Write {
            path: self.path.display().to_string(),
            message,
        };
        let text = render(&page).map_err(failed)?;
        write_atomically(&self.path, text.as_bytes())
    }
}

/// Renders the page (the template is part of the binary; an error is a bug, reported as such).
fn render(page: &Page) -> Result<String, String> {
    let mut env = minijinja::Environment::new();
    env.add_filter("english", |text: String| {
        crate::lang::message(&text, Some(Lang::En))
    });
    env.add_filter("english_side", |text: String| {
        crate::lang::pick(&text, Some(Lang::En))
    });
    env.add_filter("chinese_side", |text: String| {
        crate::lang::pick(&text, Some(Lang::Zh))
    });
    env.add_template("report.html", TEMPLATE)
        .map_err(|e| format!("the HTML template is broken: {e}"))?;
    env.get_template("report.html")
        .and_then(|t| t.render(minijinja::value::Serde(page)))
        .map_err(|e| format!("cannot render the HTML report: {e:#}"))
}

// What the template reads: everything already in the order and the words it shows.

#[derive(Serialize)]
struct Page {
    lang: Lang,
    replay_embedded: &'static str,
    run_id: String,
    target: String,
    embedded: bool,
    tool: String,
    profile_name: String,
    profile_sha256: String,
    started_at: String,
    duration: String,
    sample: String,
    seed: u64,
    narrowed_by: Vec<String>,
    supplier: Option<String>,
    deviations: Vec<crate::events::Deviation>,
    aborted: Option<String>,
    verdict_required: &'static str,
    verdict_optional: &'static str,
    counts: Counts,
    failed: Vec<FailedLine>,
    interfaces: Vec<InterfaceView>,
    coverage: Vec<CoverageView>,
    untested_must: Vec<String>,
    clock_only: Vec<String>,
    latency: Vec<LatencyView>,
    scenarios: Vec<ScenarioView>,
    transitions: Vec<TransitionSeen>,
    cleanup: OrderCleanup,
    /// Exchange id → what the page draws when a failure is opened.
    evidence: BTreeMap<String, EvidenceView>,
    /// What the baseline did, with a note per set whose failures it all accepted.
    baseline: Option<crate::events::BaselineSummary>,
    baseline_required: Option<String>,
    baseline_optional: Option<String>,
    /// What a sweep found (`mallcheck sweep` only).
    sweep: Option<crate::events::SweepFinished>,
}

#[derive(Serialize, Default)]
struct Counts {
    pass: u64,
    fail: u64,
    warn: u64,
    not_judged: u64,
}

#[derive(Serialize)]
struct FailedLine {
    requirement: String,
    level: &'static str,
    status: &'static str,
    count: usize,
    message: String,
    anchor: String,
}

#[derive(Serialize)]
struct InterfaceView {
    anchor: String,
    section: String,
    id: String,
    name_zh: String,
    name_en: String,
    set: &'static str,
    status: &'static str,
    passed: u64,
    requirements: Vec<RequirementView>,
    checks: Vec<CheckView>,
    groups: Vec<FindingGroup>,
    not_judged: Vec<NoteView>,
}

#[derive(Serialize)]
struct RequirementView {
    id: String,
    status: &'static str,
}

#[derive(Serialize)]
struct CheckView {
    id: String,
    passed: u64,
    failed: u64,
    warned: u64,
}

#[derive(Serialize)]
struct FindingGroup {
    requirement: String,
    level: &'static str,
    status: &'static str,
    count: usize,
    more: usize,
    findings: Vec<FindingView>,
}

#[derive(Serialize)]
struct FindingView {
    check: String,
    scenario: String,
    file_line: Option<String>,
    message: String,
    pointer: Option<String>,
    expected: Option<String>,
    actual: Option<String>,
    curl: Option<String>,
    exchange: Option<u64>,
    /// Why the baseline accepts it, when it does (shown, never hidden).
    accepted: Option<String>,
}

#[derive(Serialize)]
struct NoteView {
    requirement: String,
    check: String,
    status: &'static str,
    message: String,
}

#[derive(Serialize)]
struct CoverageView {
    id: String,
    level: &'static str,
    set: &'static str,
    text_zh: String,
    text_en: String,
    status: &'static str,
    passed: u64,
    failed: u64,
    not_judged: u64,
    why: String,
}

#[derive(Serialize)]
struct LatencyView {
    #[serde(flatten)]
    row: LatencyRow,
    name_zh: String,
    name_en: String,
}

#[derive(Serialize)]
struct ScenarioView {
    id: String,
    title_zh: String,
    title_en: String,
    set: &'static str,
    status: &'static str,
    duration_ms: u64,
    note: Option<String>,
}

#[derive(Serialize)]
struct EvidenceView {
    interface: String,
    request: String,
    response_head: String,
    response_body: String,
    note: Option<String>,
}

/// Worst first: the order in which a status decides what an interface shows.
fn severity(status: Status) -> u8 {
    match status {
        Status::Fail => 4,
        Status::Warn => 3,
        Status::Blocked => 2,
        Status::Skip => 1,
        Status::Pass => 0,
    }
}

fn anchor(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

impl HtmlReporter {
    fn page(&self, evidence: &[Exchange]) -> Page {
        let empty = Vec::new();
        let started = self.started.as_ref();
        let interfaces = started.map_or(&empty, |s| &s.interfaces);
        let finished = self.finished.as_ref();
        let coverage = finished.map_or(&[][..], |f| &f.coverage[..]);
        let coverage_of = |id: &str| {
            coverage
                .iter()
                .find(|c| c.id == id)
                .map_or("not_tested", |c| c.status.as_str())
        };

        let mut counts = Counts::default();
        for row in &self.rows {
            match row.status {
                Status::Pass => counts.pass += row.count,
                Status::Fail => counts.fail += 1,
                Status::Warn => counts.warn += 1,
                Status::Skip | Status::Blocked => counts.not_judged += 1,
            }
        }

        // Rows by interface; those of no interface of the profile go to one last section.
        let known: BTreeSet<&str> = interfaces.iter().map(|i| i.id.as_str()).collect();
        let mut by_interface: BTreeMap<&str, Vec<&ResultRow>> = BTreeMap::new();
        for row in &self.rows {
            let key = row
                .interface
                .as_deref()
                .filter(|i| known.contains(i))
                .unwrap_or("");
            by_interface.entry(key).or_default().push(row);
        }
        let not_implemented = started.map_or(&[][..], |s| &s.scope.not_implemented[..]);
        let mut views: Vec<InterfaceView> = interfaces
            .iter()
            .map(|info| {
                let mut view = interface_view(
                    info,
                    by_interface
                        .get(info.id.as_str())
                        .map_or(&[][..], |r| &r[..]),
                    &coverage_of,
                );
                // Declared not implemented by the supplier: not called, not failed (a row
                // about it, were there one, would show instead).
                if not_implemented.contains(&info.id) && view.status == "not_tested" {
                    view.status = "not_implemented";
                }
                view
            })
            .collect();
        if let Some(rows) = by_interface.get("") {
            let other = InterfaceInfo {
                id: String::new(),
                section: String::new(),
                name: crate::events::Text {
                    zh: "跨接口与场景检查".into(),
                    en: "Cross-interface and scenario checks".into(),
                },
                set: crate::events::RequirementSet::Required,
                requirements: Vec::new(),
            };
            let mut view = interface_view(&other, rows, &coverage_of);
            view.set = "";
            view.anchor = "other".into();
            views.push(view);
        }

        let anchor_of = |requirement: &str| {
            views
                .iter()
                .find(|v| v.groups.iter().any(|g| g.requirement == requirement))
                .map(|v| v.anchor.clone())
                .unwrap_or_default()
        };
        let mut failed = Vec::new();
        for status in [Status::Fail, Status::Warn] {
            let mut tally = super::ByRequirement::default();
            for row in self.rows.iter().filter(|r| r.status == status) {
                tally.note(row);
            }
            failed.extend(tally.iter().map(|(requirement, count, first)| FailedLine {
                requirement: requirement.into(),
                level: first.level.as_str(),
                status: status.as_str(),
                count,
                message: first.message.clone(),
                anchor: anchor_of(requirement),
            }));
        }

        let coverage_views = coverage
            .iter()
            .map(|c| {
                let rows = self.rows.iter().filter(|r| r.requirement == c.id);
                let mut view = CoverageView {
                    id: c.id.clone(),
                    level: c.level.as_str(),
                    set: c.set.as_str(),
                    text_zh: c.text_zh.clone(),
                    text_en: c.text_en.clone(),
                    status: c.status.as_str(),
                    passed: 0,
                    failed: 0,
                    not_judged: 0,
                    why: String::new(),
                };
                for row in rows {
                    match row.status {
                        Status::Pass => view.passed += row.count,
                        Status::Fail | Status::Warn => view.failed += 1,
                        Status::Skip | Status::Blocked => {
                            view.not_judged += 1;
                            if view.why.is_empty() {
                                view.why = row.message.clone();
                            }
                        }
                    }
                }
                if view.why.is_empty() && c.status == CoverageStatus::NotTested {
                    view.why = "无场景判定它 no scenario of this run judged it".into();
                }
                view
            })
            .collect();

        let order: Vec<String> = interfaces.iter().map(|i| i.id.clone()).collect();
        let latency = self
            .latencies
            .rows(&order)
            .into_iter()
            .map(|row| {
                let info = interfaces.iter().find(|i| i.id == row.interface);
                LatencyView {
                    name_zh: info.map(|i| i.name.zh.clone()).unwrap_or_default(),
                    name_en: info.map(|i| i.name.en.clone()).unwrap_or_default(),
                    row,
                }
            })
            .collect();

        let scenarios = started
            .map(|s| &s.scenarios[..])
            .unwrap_or_default()
            .iter()
            .map(|info| {
                let run = self.scenarios.get(&info.id);
                ScenarioView {
                    id: info.id.clone(),
                    title_zh: info.title.zh.clone(),
                    title_en: info.title.en.clone(),
                    set: info.set.as_str(),
                    status: run.and_then(|r| r.status).map_or("not_run", Status::as_str),
                    duration_ms: run.map_or(0, |r| r.duration_ms),
                    note: run.and_then(|r| r.note.clone()),
                }
            })
            .collect();

        let scope = started.map(|s| &s.scope);
        Page {
            lang: self.lang,
            replay_embedded: super::REPLAY_EMBEDDED,
            run_id: started.map(|s| s.run_id.clone()).unwrap_or_default(),
            target: started.map(|s| s.target.clone()).unwrap_or_default(),
            embedded: started.is_some_and(|s| s.embedded),
            tool: started
                .map(|s| s.tool.clone())
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| format!("mallcheck {}", env!("CARGO_PKG_VERSION"))),
            profile_name: started.map(|s| s.profile_name.clone()).unwrap_or_default(),
            profile_sha256: started
                .map(|s| s.profile_sha256.chars().take(12).collect())
                .unwrap_or_default(),
            started_at: started.map(|s| s.started_at.clone()).unwrap_or_default(),
            duration: finished.map_or_else(String::new, |f| {
                format!("{:.1} s", f.duration_ms as f64 / 1000.0)
            }),
            sample: scope.map(|s| s.sample.clone()).unwrap_or_default(),
            seed: scope.map_or(0, |s| s.seed),
            narrowed_by: scope.map(RunScope::narrowed_by).unwrap_or_default(),
            supplier: scope.and_then(|s| s.supplier.clone()),
            deviations: scope.map(|s| s.deviations.clone()).unwrap_or_default(),
            aborted: finished.and_then(|f| f.aborted.clone()),
            verdict_required: finished.map_or("error", |f| f.verdict.required.as_str()),
            verdict_optional: finished.map_or("error", |f| f.verdict.optional.as_str()),
            counts,
            failed,
            interfaces: views,
            coverage: coverage_views,
            untested_must: finished
                .map(|f| f.untested_must.clone())
                .unwrap_or_default(),
            clock_only: finished.map(|f| f.clock_only.clone()).unwrap_or_default(),
            latency,
            scenarios,
            transitions: self.transitions.clone(),
            cleanup: self.cleanup.clone(),
            evidence: evidence_views(evidence),
            baseline: self.baseline.clone(),
            sweep: self.sweep.clone(),
            baseline_required: finished.and_then(|f| {
                super::baseline_note(
                    self.baseline.as_ref(),
                    crate::events::RequirementSet::Required,
                    &f.verdict,
                    crate::lang::both,
                )
            }),
            baseline_optional: finished.and_then(|f| {
                super::baseline_note(
                    self.baseline.as_ref(),
                    crate::events::RequirementSet::Optional,
                    &f.verdict,
                    crate::lang::both,
                )
            }),
        }
    }
}

fn interface_view(
    info: &InterfaceInfo,
    rows: &[&ResultRow],
    coverage_of: &dyn Fn(&str) -> &'static str,
) -> InterfaceView {
    let worst = rows.iter().map(|r| r.status).max_by_key(|s| severity(*s));
    let status = match worst {
        None => "not_tested",
        Some(Status::Skip | Status::Blocked) if rows.iter().any(|r| r.status == Status::Pass) => {
            "partial"
        }
        Some(Status::Skip | Status::Blocked) => "not_tested",
        Some(s) => s.as_str(),
    };
    let mut checks: BTreeMap<&str, CheckView> = BTreeMap::new();
    let mut groups: BTreeMap<(u8, &str), FindingGroup> = BTreeMap::new();
    let mut not_judged = Vec::new();
    let mut passed = 0;
    for row in rows {
        let check = checks
            .entry(row.check.as_str())
            .or_insert_with(|| CheckView {
                id: row.check.clone(),
                passed: 0,
                failed: 0,
                warned: 0,
            });
        match row.status {
            Status::Pass => {
                check.passed += row.count;
                passed += row.count;
            }
            Status::Fail | Status::Warn => {
                if row.status == Status::Fail {
                    check.failed += 1;
                } else {
                    check.warned += 1;
                }
                let group = groups
                    .entry((u8::MAX - severity(row.status), row.requirement.as_str()))
                    .or_insert_with(|| FindingGroup {
                        requirement: row.requirement.clone(),
                        level: row.level.as_str(),
                        status: row.status.as_str(),
                        count: 0,
                        more: 0,
                        findings: Vec::new(),
                    });
                group.count += 1;
                if group.findings.len() < SHOWN_PER_REQUIREMENT {
                    group.findings.push(FindingView {
                        check: row.check.clone(),
                        scenario: row.scenario.clone(),
                        file_line: row.line.map(|l| format!("{}:{l}", row.scenario)),
                        message: row.message.clone(),
                        pointer: row.pointer.clone(),
                        expected: row.expected.clone(),
                        actual: row.actual.clone(),
                        curl: row.curl.clone(),
                        exchange: row.exchange,
                        accepted: row.accepted.clone(),
                    });
                } else {
                    group.more += 1;
                }
            }
            Status::Skip | Status::Blocked => not_judged.push(NoteView {
                requirement: row.requirement.clone(),
                check: row.check.clone(),
                status: row.status.as_str(),
                message: row.message.clone(),
            }),
        }
    }
    InterfaceView {
        anchor: format!("if-{}", anchor(&info.id)),
        section: info.section.clone(),
        id: info.id.clone(),
        name_zh: info.name.zh.clone(),
        name_en: info.name.en.clone(),
        set: info.set.as_str(),
        status,
        passed,
        requirements: info
            .requirements
            .iter()
            .map(|id| RequirementView {
                id: id.clone(),
                status: coverage_of(id),
            })
            .collect(),
        checks: checks.into_values().collect(),
        groups: groups.into_values().collect(),
        not_judged,
    }
}

/// What the page draws for each exchange a failure points at: the request as sent (secrets
/// masked), the answer's status line and headers, and its body pretty-printed and cut.
fn evidence_views(exchanges: &[Exchange]) -> BTreeMap<String, EvidenceView> {
    let mut left = HTML_EVIDENCE_BUDGET;
    exchanges
        .iter()
        .map(|exchange| {
            let request = &exchange.request;
            let mut request_text = format!("{} {}\n", request.method, request.url);
            request_text.push_str(&format!("Content-Type: {}\n\n", request.content_type));
            for (key, value) in &request.params {
                request_text.push_str(&format!("{key} = {value}\n"));
            }
            let (head, body, note) = match &exchange.response {
                Some(response) => {
                    let mut head = format!("HTTP {}\n", response.status);
                    for (name, value) in &response.headers {
                        head.push_str(&format!("{name}: {value}\n"));
                    }
                    // The budget is a cap: once spent, bodies are left out (report.json and
                    // events.jsonl keep them).
                    let keep = HTML_BODY_BYTES.min(left);
                    let (body, shown_cut) = pretty_cut(&response.body, keep);
                    left = left.saturating_sub(body.len());
                    let whole = response.full_body.as_ref();
                    let note = if shown_cut || whole.is_some_and(|f| f.cut) || response.truncated {
                        Some(format!(
                            "已截断 cut: {} of {} bytes shown{}",
                            body.len(),
                            whole.map_or(response.body.len() as u64, |f| f.bytes),
                            whole
                                .map(|f| format!("; sha256 {}", f.sha256))
                                .unwrap_or_default()
                        ))
                    } else {
                        None
                    };
                    (head, body, note)
                }
                None => (
                    exchange
                        .error
                        .as_ref()
                        .map(|e| e.describe())
                        .unwrap_or_else(|| "无回答 no answer".into()),
                    String::new(),
                    None,
                ),
            };
            (
                exchange.id.to_string(),
                EvidenceView {
                    interface: exchange.interface.clone(),
                    request: request_text,
                    response_head: head,
                    response_body: body,
                    note,
                },
            )
        })
        .collect()
}

/// The body as text, pretty-printed when it is whole JSON, cut to `keep` bytes (on a
/// character boundary); and whether this cut anything.
fn pretty_cut(body: &[u8], keep: usize) -> (String, bool) {
    let text = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    if text.len() <= keep {
        return (text, false);
    }
    let mut end = keep;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (format!("{}…", &text[..end]), true)
}
