//! What the run's rows add up to, computed once at the end and carried by `RunFinished`: the
//! coverage of every requirement, the MUST requirements in scope that were not fully judged, and
//! the verdict of each set.

use std::collections::{BTreeMap, BTreeSet};

use crate::events::{
    CoverageStatus, Level, RequirementCoverage, RequirementSet, ResultRow, SetVerdict, Status,
    Verdict,
};
use crate::profile::Profile;
use crate::scenario::Scenario;

use super::plan::Selection;

/// The statuses seen on each requirement, and which sets had a failure.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    seen: BTreeMap<String, BTreeSet<Status>>,
    failed: BTreeSet<RequirementSet>,
}

impl Tally {
    pub(crate) fn note(&mut self, row: &ResultRow) {
        self.seen
            .entry(row.requirement.clone())
            .or_default()
            .insert(row.status);
        if row.status == Status::Fail {
            self.failed.insert(row.set);
        }
    }

    pub(crate) fn coverage(&self, profile: &Profile) -> Vec<RequirementCoverage> {
        profile
            .requirements
            .iter()
            .map(|r| RequirementCoverage {
                id: r.id.clone(),
                level: r.level,
                set: r.set,
                text_zh: r.text_zh.clone(),
                text_en: r.text_en.clone(),
                status: self
                    .seen
                    .get(&r.id)
                    .map_or(CoverageStatus::NotTested, CoverageStatus::of),
            })
            .collect()
    }

    /// A set passes when nothing in it failed and nothing it needed was blocked; a required set
    /// that did not run at all does not pass.
    pub(crate) fn verdict(&self, statuses: &[(RequirementSet, Status)]) -> Verdict {
        let set_verdict = |set: RequirementSet| {
            let ran = statuses.iter().any(|(s, status)| {
                *s == set && matches!(status, Status::Pass | Status::Fail | Status::Warn)
            });
            let blocked = statuses
                .iter()
                .any(|(s, status)| *s == set && *status == Status::Blocked);
            if self.failed.contains(&set) {
                SetVerdict::Fail
            } else if !ran {
                SetVerdict::NotTested
            } else if blocked {
                // A scenario that could not run is not a pass.
                SetVerdict::Fail
            } else {
                SetVerdict::Pass
            }
        };
        Verdict {
            required: set_verdict(RequirementSet::Required),
            optional: set_verdict(RequirementSet::Optional),
        }
    }
}

/// MUST requirements of `in_scope` that were not fully judged.
pub(crate) fn untested_must(coverage: &[RequirementCoverage], in_scope: &[String]) -> Vec<String> {
    coverage
        .iter()
        .filter(|c| c.level == Level::Must && c.status.is_untested())
        .filter(|c| in_scope.contains(&c.id))
        .map(|c| c.id.clone())
        .collect()
}

/// The requirements a run sets out to judge: all of them for a full run, those the selected
/// scenarios name for a selection.
pub(crate) fn requirements_in_scope(
    profile: &Profile,
    scenarios: &[Scenario],
    selection: &Selection,
) -> Vec<String> {
    let full = selection.interfaces.is_empty()
        && selection.scenarios.is_empty()
        && selection.tags.is_empty();
    let mut ids: Vec<String> = if full {
        profile.requirements.iter().map(|r| r.id.clone()).collect()
    } else {
        scenarios
            .iter()
            .flat_map(|s| s.requirements.iter().cloned())
            .collect()
    };
    if selection.required_only {
        ids.retain(|id| {
            profile
                .requirement(id)
                .is_some_and(|r| r.set == RequirementSet::Required)
        });
    }
    ids.sort();
    ids.dedup();
    ids
}
