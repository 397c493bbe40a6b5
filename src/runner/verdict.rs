//! What the run's rows add up to, computed once at the end and carried by `RunFinished`: the
//! coverage of every requirement, the MUST requirements in scope that were not fully judged, and
//! the verdict of each set.

use std::collections::{BTreeMap, BTreeSet};

use crate::events::{
    CoverageStatus, Level, RequirementCoverage, RequirementSet, ResultRow, SetVerdict, Status,
    Verdict,
};
use crate::profile::Profile;

use super::plan::Selection;

/// The statuses seen on each requirement, and which sets had a failure.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    seen: BTreeMap<String, BTreeSet<Status>>,
    failed: BTreeSet<RequirementSet>,
    /// Requirements with a part only the admin clock (or a later run) can judge.
    clock_only: BTreeSet<String>,
}

impl Tally {
    pub(crate) fn note(&mut self, row: &ResultRow) {
        if row.check == crate::checks::ids::CLOCK_ONLY && row.status == Status::Skip {
            self.clock_only.insert(row.requirement.clone());
            return;
        }
        self.seen
            .entry(row.requirement.clone())
            .or_default()
            .insert(row.status);
        if row.status == Status::Fail {
            self.failed.insert(row.set);
        }
    }

    /// Requirements with a part that only the admin clock or a run 36 h later can judge.
    pub(crate) fn clock_only(&self) -> Vec<String> {
        self.clock_only.iter().cloned().collect()
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

    /// The verdict of each set: error when the run was cut short; fail on a failed MUST;
    /// not tested when nothing of the set was judged; incomplete when a MUST of the set in scope
    /// was not fully judged or a scenario of the set was blocked; pass otherwise, and only then.
    pub(crate) fn verdict(
        &self,
        statuses: &[(RequirementSet, Status)],
        coverage: &[RequirementCoverage],
        untested_must: &[String],
        aborted: bool,
    ) -> Verdict {
        let set_verdict = |set: RequirementSet| {
            let judged = coverage.iter().any(|c| {
                c.set == set
                    && matches!(
                        c.status,
                        CoverageStatus::Pass
                            | CoverageStatus::Fail
                            | CoverageStatus::Warn
                            | CoverageStatus::Partial
                    )
            });
            let blocked = statuses
                .iter()
                .any(|(s, status)| *s == set && *status == Status::Blocked);
            let untested = coverage
                .iter()
                .any(|c| c.set == set && untested_must.contains(&c.id));
            if aborted {
                SetVerdict::Error
            } else if self.failed.contains(&set) {
                SetVerdict::Fail
            } else if !judged {
                SetVerdict::NotTested
            } else if untested || blocked {
                SetVerdict::Incomplete
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

/// The requirements a verdict answers for: every requirement of the standard, so that a selection
/// (`--scenario`, `--tag`, `--interface`) can never pass for the whole; `--required-only` leaves
/// the optional set out (its verdict is then not tested). An optional requirement that only
/// interfaces the supplier declares it does not implement serve is out too.
pub(crate) fn requirements_in_scope(
    profile: &Profile,
    selection: &Selection,
    not_implemented: &[String],
) -> Vec<String> {
    let undeclared_only = |id: &str| {
        let serving: Vec<&str> = profile
            .interfaces
            .iter()
            .filter(|i| i.requirements.iter().any(|r| r == id))
            .map(|i| i.id.as_str())
            .collect();
        !serving.is_empty()
            && serving
                .iter()
                .all(|i| not_implemented.iter().any(|n| n == i))
    };
    profile
        .requirements
        .iter()
        .filter(|r| !selection.required_only || r.set == RequirementSet::Required)
        .filter(|r| r.set == RequirementSet::Required || !undeclared_only(&r.id))
        .map(|r| r.id.clone())
        .collect()
}

/// The optional interfaces a supplier's declaration leaves out (none without a list), after
/// checking that it names optional interfaces of the profile and the profile it follows.
pub fn not_implemented(
    profile: &Profile,
    declaration: &crate::config::Declaration,
) -> Result<Vec<String>, String> {
    if let Some(declared) = &declaration.profile
        && declared != &profile.settings.name
    {
        return Err(format!(
            "声明的协议配置 / the declaration says profile {declared:?}, but the run uses {:?}: pass --profile with the folder of {declared:?} (e.g. profiles/{declared})",
            profile.settings.name
        ));
    }
    for deviation in &declaration.deviations {
        if profile.requirement(&deviation.requirement).is_none() {
            return Err(format!(
                "declaration.deviations: unknown requirement {:?}; `mallcheck requirements` lists them",
                deviation.requirement
            ));
        }
    }
    let Some(declared) = &declaration.optional else {
        return Ok(Vec::new());
    };
    for id in declared {
        match profile.interface(id) {
            Some(i) if !i.required => {}
            Some(_) => {
                return Err(format!(
                    "declaration.optional: {id:?}: 是必需接口，每个供应商都要实现 / a required interface: every supplier implements it"
                ));
            }
            None => {
                return Err(format!(
                    "declaration.optional: unknown interface {id:?}; `mallcheck list` shows the ids"
                ));
            }
        }
    }
    Ok(profile
        .interfaces
        .iter()
        .filter(|i| !i.required && !declared.contains(&i.id))
        .map(|i| i.id.clone())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coverage(id: &str, status: CoverageStatus) -> RequirementCoverage {
        RequirementCoverage {
            id: id.into(),
            level: Level::Must,
            set: RequirementSet::Required,
            text_zh: String::new(),
            text_en: String::new(),
            status,
        }
    }

    fn tally_with_failure(failed: bool) -> Tally {
        let mut tally = Tally::default();
        if failed {
            tally.failed.insert(RequirementSet::Required);
        }
        tally
    }

    #[test]
    fn only_a_fully_judged_set_passes() {
        let ran = [(RequirementSet::Required, Status::Pass)];
        let judged = [
            coverage("A", CoverageStatus::Pass),
            coverage("B", CoverageStatus::Pass),
        ];
        let partly = [
            coverage("A", CoverageStatus::Pass),
            coverage("B", CoverageStatus::Partial),
        ];
        let none = [coverage("A", CoverageStatus::NotTested)];
        let clean = tally_with_failure(false);
        let verdict =
            |c: &[RequirementCoverage], statuses: &[(RequirementSet, Status)], aborted| {
                let untested = untested_must(c, &["A".to_string(), "B".to_string()]);
                clean.verdict(statuses, c, &untested, aborted).required
            };
        assert_eq!(verdict(&judged, &ran, false), SetVerdict::Pass);
        assert_eq!(verdict(&partly, &ran, false), SetVerdict::Incomplete);
        assert_eq!(verdict(&none, &ran, false), SetVerdict::NotTested);
        assert_eq!(verdict(&judged, &ran, true), SetVerdict::Error);
        let blocked = [
            (RequirementSet::Required, Status::Pass),
            (RequirementSet::Required, Status::Blocked),
        ];
        assert_eq!(verdict(&judged, &blocked, false), SetVerdict::Incomplete);
        let failed = tally_with_failure(true);
        let untested = untested_must(&partly, &["A".to_string(), "B".to_string()]);
        assert_eq!(
            failed.verdict(&ran, &partly, &untested, false).required,
            SetVerdict::Fail
        );
    }
}
