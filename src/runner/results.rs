//! Turning what checks and expectations found into result rows. The requirement's level decides
//! the status (MUST fails; SHOULD and BEYOND warn, as REQUIREMENTS.md says), and the passes of
//! one check on one requirement within a scenario are folded into one row with a count.

use std::collections::BTreeMap;

use crate::checks::{Finding, Status};
use crate::client::Exchange;
use crate::profile::Level;
use crate::report::events::{Event, ResultRow};
use crate::scenario::Scenario;

use super::Shared;

type PassKey = (String, String, Option<String>);

pub(crate) struct Rows<'a> {
    shared: &'a Shared,
    scenario: &'a Scenario,
    passes: BTreeMap<PassKey, ResultRow>,
    /// The worst status emitted so far.
    pub worst: Status,
}

fn rank(status: Status) -> u8 {
    match status {
        Status::Pass => 0,
        Status::Skip => 1,
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
            passes: BTreeMap::new(),
            worst: Status::Pass,
        }
    }

    fn level(&self, requirement: &str) -> Level {
        self.shared
            .profile
            .requirement(requirement)
            .map(|r| r.level)
            .unwrap_or(Level::Must)
    }

    fn row(
        &self,
        check: &str,
        requirement: &str,
        interface: Option<&str>,
        status: Status,
        message: String,
        exchange: Option<&Exchange>,
    ) -> ResultRow {
        ResultRow {
            check: check.to_string(),
            requirement: requirement.to_string(),
            level: self.level(requirement).as_str().to_string(),
            interface: interface.map(str::to_string),
            scenario: self.scenario.id.clone(),
            set: self.scenario.set(),
            status,
            message,
            pointer: None,
            expected: None,
            actual: None,
            exchange: exchange.map(|e| e.id),
            curl: exchange
                .filter(|_| status != Status::Pass)
                .map(Exchange::curl_line),
            count: 1,
        }
    }

    fn emit(&mut self, row: ResultRow) {
        if rank(row.status) > rank(self.worst) {
            self.worst = row.status;
        }
        if row.status == Status::Fail
            && let Ok(mut failed) = self.shared.failed.lock()
        {
            failed.insert(row.set);
        }
        self.shared.emit(Event::Result(Box::new(row)));
    }

    /// A broken requirement: fails or warns by the requirement's level.
    pub(crate) fn finding(
        &mut self,
        finding: &Finding,
        interface: Option<&str>,
        exchange: Option<&Exchange>,
    ) {
        let status = match self.level(&finding.requirement) {
            Level::Must => Status::Fail,
            Level::Should | Level::Beyond => Status::Warn,
        };
        let mut row = self.row(
            &finding.check,
            &finding.requirement,
            interface,
            status,
            finding.message.clone(),
            exchange,
        );
        row.pointer = finding.pointer.clone();
        row.expected = finding.expected.clone();
        row.actual = finding.actual.clone();
        self.emit(row);
    }

    /// A check that ran and found nothing.
    pub(crate) fn pass(
        &mut self,
        check: &str,
        requirement: &str,
        interface: Option<&str>,
        exchange: Option<&Exchange>,
        message: &str,
    ) {
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
            interface,
            Status::Pass,
            message.to_string(),
            exchange,
        );
        self.passes.insert(key, row);
    }

    /// A skip or block that concerns the whole scenario (or one step).
    pub(crate) fn note(&mut self, status: Status, requirement: &str, message: String) {
        let row = self.row("scenario", requirement, None, status, message, None);
        self.emit(row);
    }

    /// Emits the folded passes; call once at the end of the scenario.
    pub(crate) fn flush(&mut self) {
        let passes = std::mem::take(&mut self.passes);
        for (_, row) in passes {
            self.emit(row);
        }
    }
}
