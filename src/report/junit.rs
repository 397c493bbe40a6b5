//! `junit.xml`: one testsuite per scenario, one testcase per check and requirement (on one
//! interface), for Jenkins, GitLab and any CI that reads JUnit. A failed MUST is a `failure`
//! carrying the requirement, message, pointer, expected / actual and the curl line; a warning
//! passes with its text in `system-out`; what was skipped, blocked or not judged is `skipped`
//! with why. Written with quick-junit (as cargo-nextest does), at the end of the run.

pub const JUNIT_FILE: &str = "junit.xml";

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use super::{ReportError, Reporter, write_atomically};
use crate::events::{Event, ResultRow, ScenarioInfo, Status};

/// The rows of one testcase: a check on a requirement (on one interface) in one scenario.
type CaseKey = (String, String, String);

#[derive(Default)]
struct ScenarioCases {
    info: Option<ScenarioInfo>,
    duration_ms: u64,
    /// Why the scenario as a whole was skipped or blocked, when it was.
    not_run: Option<(Status, String)>,
    cases: BTreeMap<CaseKey, Vec<ResultRow>>,
}

pub struct JunitReporter {
    path: PathBuf,
    run_id: String,
    target: String,
    verdict: Option<String>,
    duration_ms: u64,
    /// In the order the run announced them.
    scenarios: Vec<(String, ScenarioCases)>,
}

impl JunitReporter {
    pub fn new(path: PathBuf) -> JunitReporter {
        JunitReporter {
            path,
            run_id: String::new(),
            target: String::new(),
            verdict: None,
            duration_ms: 0,
            scenarios: Vec::new(),
        }
    }

    fn scenario(&mut self, id: &str) -> &mut ScenarioCases {
        let index = match self.scenarios.iter().position(|(s, _)| s == id) {
            Some(index) => index,
            None => {
                self.scenarios
                    .push((id.to_string(), ScenarioCases::default()));
                self.scenarios.len() - 1
            }
        };
        &mut self.scenarios[index].1
    }

    fn render(&self) -> Report {
        let mut report = Report::new(format!("mallcheck {}", self.run_id));
        report.set_time(Duration::from_millis(self.duration_ms));
        for (id, scenario) in &self.scenarios {
            let mut suite = TestSuite::new(id.as_str());
            suite.set_time(Duration::from_millis(scenario.duration_ms));
            suite.add_property(Property::new("target", self.target.as_str()));
            if let Some(info) = &scenario.info {
                suite.add_property(Property::new("set", info.set.as_str()));
                suite.add_property(Property::new("file", info.file.as_str()));
                suite.add_property(Property::new(
                    "title",
                    format!("{} / {}", info.title.zh, info.title.en),
                ));
            }
            if let Some(verdict) = &self.verdict {
                suite.add_property(Property::new("verdict", verdict.as_str()));
            }
            for ((check, requirement, interface), rows) in &scenario.cases {
                suite.add_test_case(test_case(id, check, requirement, interface, rows));
            }
            if let Some((status, note)) = &scenario.not_run {
                let mut skipped = TestCaseStatus::skipped();
                skipped.set_message(note.as_str());
                skipped.set_type(status.as_str());
                let mut case = TestCase::new("scenario", skipped);
                case.set_classname(id.as_str());
                suite.add_test_case(case);
            }
            report.add_test_suite(suite);
        }
        report
    }
}

/// One testcase from its rows: a failure if any row failed, else skipped if any was not judged,
/// else a pass (warnings in `system-out`).
fn test_case(
    scenario: &str,
    check: &str,
    requirement: &str,
    interface: &str,
    rows: &[ResultRow],
) -> TestCase {
    let name = if interface.is_empty() {
        format!("{requirement} {check}")
    } else {
        format!("{requirement} {check} [{interface}]")
    };
    let failed: Vec<&ResultRow> = rows.iter().filter(|r| r.status == Status::Fail).collect();
    let unjudged: Vec<&ResultRow> = rows
        .iter()
        .filter(|r| matches!(r.status, Status::Skip | Status::Blocked))
        .collect();
    let warned: Vec<&ResultRow> = rows.iter().filter(|r| r.status == Status::Warn).collect();
    let status = if let Some(first) = failed.first() {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        let more = match failed.len() {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        status.set_message(format!("{}{more}", first.message));
        status.set_type(requirement);
        status.set_description(
            failed
                .iter()
                .map(|r| evidence(r))
                .collect::<Vec<_>>()
                .join("\n\n"),
        );
        status
    } else if let Some(first) = unjudged.first() {
        let mut status = TestCaseStatus::skipped();
        status.set_message(first.message.as_str());
        status.set_type(first.status.as_str());
        status
    } else {
        TestCaseStatus::success()
    };
    let mut case = TestCase::new(name, status);
    case.set_classname(scenario);
    case.set_assertions(rows.iter().map(|r| r.count.max(1) as usize).sum());
    if !warned.is_empty() && failed.is_empty() {
        case.set_system_out(
            warned
                .iter()
                .map(|r| format!("warn: {}", evidence(r)))
                .collect::<Vec<_>>()
                .join("\n\n"),
        );
    }
    case
}

/// What a person needs to see and repeat one finding.
fn evidence(row: &ResultRow) -> String {
    let mut lines = vec![format!(
        "[{} {}] {}",
        row.requirement,
        row.level.as_str(),
        row.message
    )];
    if let Some(reason) = &row.accepted {
        lines.push(format!("accepted by baseline 基线已接受: {reason}"));
    }
    if let Some(pointer) = &row.pointer {
        lines.push(format!("at: {pointer}"));
    }
    if let Some(expected) = &row.expected {
        lines.push(format!("expected: {expected}"));
    }
    if let Some(actual) = &row.actual {
        lines.push(format!("actual: {actual}"));
    }
    if let Some(line) = row.line {
        lines.push(format!("scenario line: {line}"));
    }
    if let Some(curl) = &row.curl {
        lines.push(format!("curl: {curl}"));
    }
    lines.join("\n")
}

impl Reporter for JunitReporter {
    fn event(&mut self, event: &Event) {
        match event {
            Event::RunStarted {
                run_id,
                target,
                scenarios,
                ..
            } => {
                self.run_id = run_id.clone();
                self.target = target.clone();
                for info in scenarios {
                    self.scenario(&info.id).info = Some(info.clone());
                }
            }
            Event::Result(row) => {
                let key = (
                    row.check.clone(),
                    row.requirement.clone(),
                    row.interface.clone().unwrap_or_default(),
                );
                self.scenario(&row.scenario)
                    .cases
                    .entry(key)
                    .or_default()
                    .push((**row).clone());
            }
            Event::ScenarioFinished {
                scenario,
                status,
                duration_ms,
                note,
            } => {
                let cases = self.scenario(scenario);
                cases.duration_ms = *duration_ms;
                if matches!(status, Status::Skip | Status::Blocked) {
                    cases.not_run = Some((*status, note.clone().unwrap_or_default()));
                }
            }
            Event::RunFinished {
                verdict,
                duration_ms,
                ..
            } => {
                self.duration_ms = *duration_ms;
                self.verdict = Some(format!(
                    "required {}, optional {}",
                    verdict.required.as_str(),
                    verdict.optional.as_str()
                ));
            }
            Event::ScenarioStarted { .. }
            | Event::Exchange(_)
            | Event::OrdersClosed(_)
            | Event::OrderTransitions(_)
            | Event::Baseline(_)
            | Event::SweepFinished(_) => {}
        }
    }

    fn needs_record(&self) -> bool {
        false
    }

    fn finish(&mut self, _: &super::record::Record) -> Result<(), ReportError> {
        let failed = |message: String| ReportError::Write {
            path: self.path.display().to_string(),
            message,
        };
        let text = self
            .render()
            .to_string()
            .map_err(|e| failed(e.to_string()))?;
        write_atomically(&self.path, text.as_bytes())
    }
}
