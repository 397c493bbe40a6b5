//! Turning what the checks decided into result rows. The requirement's level decides the status
//! (MUST fails; SHOULD and BEYOND warn, as REQUIREMENTS.md says), and the passes of one check on
//! one requirement within a scenario are folded into one row with a count. Nothing here judges:
//! every finding, pass and "not judged" comes from a [`CheckRun`] of `checks/`.

use std::collections::BTreeMap;

use crate::checks::{CheckRun, Finding, ids};
use crate::client::Exchange;
use crate::events::{Event, Level, ResultRow, Status};
use crate::scenario::Scenario;

use super::shared::Shared;

type PassKey = (String, String, Option<String>);

/// Characters of a row's message, expected and actual value kept (the rest becomes "…").
const ROW_TEXT_CHARS: usize = 2000;

pub(crate) struct Rows<'a> {
    shared: &'a Shared,
    scenario: &'a Scenario,
    /// The step being run (rows point at it and at its line in the scenario file).
    step: Option<usize>,
    passes: BTreeMap<PassKey, ResultRow>,
    /// The worst status emitted so far.
    pub worst: Status,
    /// How many rows judged something (pass, fail or warn): a scenario with none is no pass.
    pub judged: usize,
}

/// How bad a status is for the scenario it belongs to. A skip note beside passing checks (one
/// requirement that could not be judged) does not make the scenario skipped.
fn rank(status: Status) -> u8 {
    match status {
        Status::Pass | Status::Skip => 0,
        Status::Warn => 2,
        Status::Blocked => 3,
        Status::Fail => 4,
    }
}

impl<'a> Rows<'a> {
    pub(crate) fn new(shared: &'a Shared, scenario: &'a Scenario) -> Rows<'a> {
        Rows {
            shared,
            scenario,
            step: None,
            passes: BTreeMap::new(),
            worst: Status::Pass,
            judged: 0,
        }
    }

    /// Rows from now on belong to step `index` of the scenario.
    pub(crate) fn at_step(&mut self, index: usize) {
        self.step = Some(index);
    }

    fn level(&self, requirement: &str) -> Option<Level> {
        self.shared
            .profile
            .requirement(requirement)
            .map(|r| r.level)
    }

    #[allow(clippy::too_many_arguments)]
    fn row(
        &self,
        check: &str,
        requirement: &str,
        level: Level,
        interface: Option<&str>,
        status: Status,
        message: String,
        exchange: Option<&Exchange>,
    ) -> ResultRow {
        ResultRow {
            interface: interface.map(str::to_string),
            step: self.step,
            line: self
                .step
                .and_then(|i| self.scenario.step_lines.get(i).copied()),
            exchange: exchange.map(|e| e.id),
            curl: exchange
                .filter(|_| status != Status::Pass)
                .map(|e| self.shared.curl_line(e)),
            ..ResultRow::new(
                check,
                requirement,
                level,
                &self.scenario.id,
                self.scenario.set(),
                status,
                message,
            )
        }
    }

    fn emit(&mut self, mut row: ResultRow) {
        // A supplier's value quoted in a row (a huge `actual`) must not swell the report.
        for text in [&mut row.expected, &mut row.actual].into_iter().flatten() {
            *text = crate::checks::shorten(text, ROW_TEXT_CHARS);
        }
        row.message = crate::checks::shorten(&row.message, ROW_TEXT_CHARS);
        if rank(row.status) > rank(self.worst) {
            self.worst = row.status;
        }
        if matches!(row.status, Status::Pass | Status::Fail | Status::Warn) {
            self.judged += 1;
        }
        self.shared.note_result(&row);
        self.shared.emit(Event::Result(Box::new(row)));
    }

    /// A requirement id that the profile does not know is a defect of mallcheck (a check or a
    /// scenario naming it), never silently a MUST: it is reported as a failure saying so.
    fn unknown_requirement(&mut self, check: &str, requirement: &str) {
        let row = self.row(
            check,
            requirement,
            Level::Must,
            None,
            Status::Fail,
            format!("内部错误：未知需求编号 / internal error: unknown requirement id {requirement:?} (not in requirements.toml)"),
            None,
        );
        self.emit(row);
    }

    /// Every requirement a check looked at: its findings, its passes, and what it could not judge.
    pub(crate) fn record(
        &mut self,
        run: &CheckRun,
        interface: Option<&str>,
        exchange: Option<&Exchange>,
    ) {
        for requirement in &run.requirements {
            let found = run.findings.iter().any(|f| &f.requirement == requirement);
            let unjudged = run.unjudged.iter().find(|u| &u.requirement == requirement);
            match unjudged {
                Some(u) if !found => {
                    let reason = format!("{}: 未判定 / not judged: {}", run.check, u.reason);
                    self.skip(&run.check, requirement, interface, exchange, reason);
                }
                None if !found => self.pass(&run.check, requirement, interface, exchange),
                _ => {}
            }
        }
        for finding in &run.findings {
            self.finding(finding, interface, exchange);
        }
    }

    /// A broken requirement: fails or warns by the requirement's level.
    fn finding(&mut self, finding: &Finding, interface: Option<&str>, exchange: Option<&Exchange>) {
        let Some(level) = self.level(&finding.requirement) else {
            return self.unknown_requirement(&finding.check, &finding.requirement);
        };
        let mut row = self.row(
            &finding.check,
            &finding.requirement,
            level,
            interface,
            level.finding_status(),
            finding.message.clone(),
            exchange,
        );
        row.pointer = finding
            .pointer
            .as_deref()
            .map(|p| self.shared.profile.fields.wire_pointer(p));
        row.expected = finding.expected.clone();
        row.actual = finding.actual.clone();
        self.emit(row);
    }

    /// A check that ran and found nothing.
    fn pass(
        &mut self,
        check: &str,
        requirement: &str,
        interface: Option<&str>,
        exchange: Option<&Exchange>,
    ) {
        let Some(level) = self.level(requirement) else {
            return self.unknown_requirement(check, requirement);
        };
        let key = (
            check.to_string(),
            requirement.to_string(),
            interface.map(str::to_string),
        );
        if let Some(existing) = self.passes.get_mut(&key) {
            existing.count += 1;
            return;
        }
        let row = self.row(
            check,
            requirement,
            level,
            interface,
            Status::Pass,
            "ok".to_string(),
            exchange,
        );
        self.passes.insert(key, row);
    }

    /// A requirement a check could not judge (its input was missing or unreadable).
    fn skip(
        &mut self,
        check: &str,
        requirement: &str,
        interface: Option<&str>,
        exchange: Option<&Exchange>,
        message: String,
    ) {
        let Some(level) = self.level(requirement) else {
            return self.unknown_requirement(check, requirement);
        };
        let row = self.row(
            check,
            requirement,
            level,
            interface,
            Status::Skip,
            message,
            exchange,
        );
        self.emit(row);
    }

    /// A skip or block that concerns the whole scenario (or what is left of it), against every
    /// requirement the scenario tests: a requirement judged elsewhere is then partly tested,
    /// never a pass that hides what this scenario did not do.
    pub(crate) fn note(&mut self, status: Status, message: String) {
        self.note_as(ids::SCENARIO, status, message);
    }

    /// A note under another check id than `scenario` (e.g. `clock-only`).
    pub(crate) fn note_as(&mut self, check: &str, status: Status, message: String) {
        // The loader refuses a scenario without requirements.
        let scenario = self.scenario;
        for requirement in &scenario.requirements {
            let Some(level) = self.level(requirement) else {
                self.unknown_requirement(check, requirement);
                continue;
            };
            let row = self.row(
                check,
                requirement,
                level,
                None,
                status,
                message.clone(),
                None,
            );
            self.emit(row);
        }
    }

    /// Emits the folded passes; call once at the end of the scenario.
    pub(crate) fn flush(&mut self) {
        let passes = std::mem::take(&mut self.passes);
        for (_, row) in passes {
            self.emit(row);
        }
    }
}
