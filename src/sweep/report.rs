//! The sweep's reports, written by the reporters of a run: the sweep is told as a run's event
//! stream (`RunStarted` with the sweep's scope, one result row per kind of defect, a pass for
//! each requirement judged without one, a skip for what some answer left unjudged,
//! `SweepFinished` with the summary and the first unsellable SKUs, `RunFinished` with the
//! coverage and the verdict `runner::Tally` computes), recorded in `events.jsonl` and written
//! as report.json, junit.xml, summary.md and report.html (`mallcheck report DIR` renders them
//! again). Computed from the summary alone, so every sweep and every merge writes the same
//! reports for the same catalogue.
//!
//! The run verdict is never PASS: a sweep judges the catalogue's data, and the standard is in
//! scope; what the sweep says of the catalogue is its own `SweepVerdict`.

use std::path::Path;

use crate::checks;
use crate::events::{
    Event, Lang, Level, RequirementSet, ResultRow, RunScope, ScenarioInfo, SetVerdict, Status,
    SweepFinished, SweepVerdict, Text,
};
use crate::profile::Profile;
use crate::report;
use crate::runner::{Selection, Tally, requirements_in_scope, untested_must};
use crate::session::SessionError;

use super::summary::{Finalized, SweepSummary};

/// The scenario a sweep's rows belong to.
pub const SCENARIO: &str = "sweep";

/// What a sweep says of the catalogue: unsellable when a SKU may not be sold or an answer of
/// no single SKU broke a MUST; incomplete when it stopped early, a SKU was not judged, or a
/// requirement was left unjudged on some answer; sellable only otherwise.
pub fn verdict(summary: &SweepSummary, profile: &Profile, stopped: bool) -> SweepVerdict {
    // An id the profile does not know counts as a MUST: never a silent pass.
    let must = |id: &str| {
        profile
            .requirement(id)
            .is_none_or(|r| r.level == Level::Must)
    };
    if summary.skus.unsellable > 0 || summary.answer_defects.iter().any(|d| must(&d.requirement)) {
        SweepVerdict::Unsellable
    } else if stopped
        || !summary.complete
        || summary.skus.not_judged > 0
        || !summary.unjudged.is_empty()
    {
        SweepVerdict::Incomplete
    } else {
        SweepVerdict::Sellable
    }
}

/// Writes the reports and the manifest into `dir`; returns the summary.
pub fn write(
    dir: &Path,
    profile: &Profile,
    finalized: Finalized,
    stopped: Option<&str>,
    lang: Lang,
) -> Result<SweepSummary, SessionError> {
    // No exchanges.har: a sweep keeps no exchanges (sweep.jsonl holds what each answer showed).
    let mut outputs = report::record::Outputs::new(dir, report::reports(dir, lang));
    for event in events(profile, &finalized, stopped) {
        outputs.event(&event);
    }
    let errors: Vec<String> = outputs.finish().iter().map(|e| e.to_string()).collect();
    if !errors.is_empty() {
        return Err(SessionError::Runtime(errors.join("; ")));
    }
    report::manifest::write(dir, &profile.sha256(), &finalized.state.config_sha256)
        .map_err(|e| SessionError::Runtime(e.to_string()))?;
    Ok(finalized.summary)
}

/// The sweep as a run's event stream.
pub fn events(profile: &Profile, finalized: &Finalized, stopped: Option<&str>) -> Vec<Event> {
    let summary = &finalized.summary;
    let in_scope = requirements_in_scope(profile, &Selection::default(), &[]);
    let sweep_verdict = verdict(summary, profile, stopped.is_some());
    let rows = rows(profile, summary);
    let mut tally = Tally::default();
    rows.iter().for_each(|row| tally.note(row));
    let worst = rows
        .iter()
        .map(|r| r.status)
        .fold(Status::Pass, |worst, s| match (worst, s) {
            (Status::Fail, _) | (_, Status::Fail) => Status::Fail,
            (Status::Warn, _) | (_, Status::Warn) => Status::Warn,
            _ => Status::Pass,
        });
    // A sweep that did not judge every SKU is not over: blocked, so the set is incomplete.
    let status = match (worst, sweep_verdict) {
        (Status::Pass | Status::Warn, SweepVerdict::Incomplete) => Status::Blocked,
        (status, _) => status,
    };
    let note = stopped.map(str::to_string).or_else(|| {
        (sweep_verdict == SweepVerdict::Incomplete).then(|| {
            let s = &summary.skus;
            format!(
                "{}/{} 个 SKU 已扫描，{} 个未判定 / {} of {} SKUs swept, {} not judged",
                s.swept, s.in_scope, s.not_judged, s.swept, s.in_scope, s.not_judged
            )
        })
    });
    let duration_ms = (summary.elapsed_seconds * 1000.0) as u64;
    let coverage = tally.coverage(profile);
    let untested = untested_must(&coverage, &in_scope);
    let mut run_verdict = tally.verdict(
        &[(RequirementSet::Required, status)],
        &coverage,
        &untested,
        false,
    );
    // Never PASS, by construction: a sweep judges the catalogue's data, not the standard.
    for set in [&mut run_verdict.required, &mut run_verdict.optional] {
        if *set == SetVerdict::Pass {
            *set = SetVerdict::Incomplete;
        }
    }
    let mut events = vec![
        Event::RunStarted {
            run_id: run_id(&finalized.state.started_at),
            target: summary.target.clone(),
            embedded: finalized.state.embedded,
            profile: profile.origin.clone(),
            tool: format!("mallcheck {}", env!("CARGO_PKG_VERSION")),
            profile_name: profile.settings.name.clone(),
            profile_sha256: profile.sha256(),
            interfaces: profile.interface_infos(),
            started_at: finalized.state.started_at.clone(),
            scenarios: vec![ScenarioInfo {
                id: SCENARIO.into(),
                title: Text {
                    zh: "全量商品扫描".into(),
                    en: "Catalogue sweep".into(),
                },
                set: RequirementSet::Required,
                tags: vec![SCENARIO.into()],
                file: String::new(),
            }],
            in_scope,
            scope: RunScope {
                sample: "all".into(),
                sweep: true,
                supplier: finalized.state.supplier.clone(),
                deviations: finalized.state.deviations.clone(),
                ..RunScope::default()
            },
        },
        Event::ScenarioStarted {
            scenario: SCENARIO.into(),
        },
    ];
    events.extend(rows.into_iter().map(|row| Event::Result(Box::new(row))));
    events.push(Event::ScenarioFinished {
        scenario: SCENARIO.into(),
        status,
        duration_ms,
        note,
    });
    events.push(Event::SweepFinished(Box::new(SweepFinished {
        verdict: sweep_verdict,
        summary: summary.clone(),
        unsellable: finalized.unsellable.clone(),
    })));
    events.push(Event::RunFinished {
        verdict: run_verdict,
        duration_ms,
        aborted: None,
        coverage,
        untested_must: untested,
        clock_only: Vec::new(),
    });
    events
}

/// `sweep-YYYYMMDD-HHMMSS` of the first session's start: the same on every replay.
fn run_id(started_at: &str) -> String {
    let digits: String = started_at
        .chars()
        .take(19)
        .filter(char::is_ascii_digit)
        .collect();
    match (digits.get(..8), digits.get(8..)) {
        (Some(day), Some(time)) if !time.is_empty() => format!("sweep-{day}-{time}"),
        _ => "sweep".into(),
    }
}

/// One row per kind of defect (per-SKU, then per answer), one per interface with transport
/// errors, a pass for every requirement judged without a defect, a skip for every one some
/// answer left unjudged.
fn rows(profile: &Profile, summary: &SweepSummary) -> Vec<ResultRow> {
    let mut rows = Vec::new();
    let of_skus = summary.defects.iter().map(|d| (d, true));
    let of_answers = summary.answer_defects.iter().map(|d| (d, false));
    for (defect, per_sku) in of_skus.chain(of_answers) {
        let first = defect.first.as_ref();
        let (n, said) = (defect.count, first.map_or("", |f| f.message.as_str()));
        let message = if per_sku {
            let sku = first.map_or("?", |f| f.sku.as_str());
            format!(
                "{n} 个 SKU 不可售（全部见 unsellable.csv） / {n} SKUs may not be sold (all in unsellable.csv); the first, {sku}: {said}"
            )
        } else {
            format!(
                "{n} 个应答有此缺陷（不属于单个 SKU） / {n} answers of no single SKU have it; the first: {said}"
            )
        };
        let mut row = finding_row(profile, &defect.check, &defect.requirement, message);
        row.interface = first.map(|f| f.interface.clone());
        row.actual = first.filter(|_| per_sku).map(|f| f.sku.clone());
        rows.push(row);
    }
    for interface in &summary.interfaces {
        let run = checks::transport_errors_seen(
            &interface.interface,
            interface.transport_errors,
            interface.retries,
        );
        for finding in run.findings {
            let mut row = finding_row(
                profile,
                &finding.check,
                &finding.requirement,
                finding.message,
            );
            row.interface = Some(interface.interface.clone());
            row.expected = finding.expected;
            rows.push(row);
        }
    }
    let broken: Vec<String> = rows.iter().map(|r| r.requirement.clone()).collect();
    let held = if summary.complete {
        "整个目录已判定，没有缺陷 / judged over the whole catalogue, no defect"
    } else {
        "已扫描的 SKU 上没有缺陷 / no defect on the SKUs swept"
    };
    for requirement in summary.judged.iter().filter(|r| !broken.contains(r)) {
        rows.push(row(
            profile,
            SCENARIO,
            requirement,
            Status::Pass,
            held.into(),
        ));
    }
    // What the sweep did not reach is not judged: the SKUs a stopped sweep left, the images
    // `--images sample|none` did not fetch.
    if !summary.complete {
        for requirement in &summary.judged {
            rows.push(row(
                profile,
                SCENARIO,
                requirement,
                Status::Skip,
                "扫描未完成，其余 SKU 未判定 / the sweep did not reach every SKU (--resume continues it)"
                    .into(),
            ));
        }
    }
    if summary.images != "all" {
        let why = format!(
            "图片只获取了一部分（--images {0}） / images were fetched for part of the SKUs only (--images {0})",
            summary.images
        );
        for unjudged in checks::image_probe_not_judged(&why).unjudged {
            rows.push(row(
                profile,
                SCENARIO,
                &unjudged.requirement,
                Status::Skip,
                why.clone(),
            ));
        }
    }
    for unjudged in &summary.unjudged {
        rows.push(row(
            profile,
            SCENARIO,
            &unjudged.requirement,
            Status::Skip,
            format!(
                "有应答未能判定 / not judged on every answer: {}",
                unjudged.reason
            ),
        ));
    }
    rows
}

/// A finding's row: its requirement's level decides fail or warn.
fn finding_row(profile: &Profile, check: &str, requirement: &str, message: String) -> ResultRow {
    let level = profile
        .requirement(requirement)
        .map_or(Level::Must, |r| r.level);
    row(profile, check, requirement, level.finding_status(), message)
}

fn row(
    profile: &Profile,
    check: &str,
    requirement: &str,
    status: Status,
    message: String,
) -> ResultRow {
    let known = profile.requirement(requirement);
    ResultRow::new(
        check,
        requirement,
        known.map_or(Level::Must, |r| r.level),
        SCENARIO,
        known.map_or(RequirementSet::Required, |r| r.set),
        status,
        crate::checks::shorten(&message, 2000),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> SweepSummary {
        SweepSummary {
            format: super::super::summary::FORMAT.into(),
            target: "http://127.0.0.1:1".into(),
            partitions: Vec::new(),
            complete: true,
            images: "all".into(),
            skus: crate::events::SkuCounts {
                in_scope: 3,
                swept: 3,
                sellable: 3,
                unsellable: 0,
                not_judged: 0,
            },
            defects: Vec::new(),
            answer_defects: Vec::new(),
            not_judged: Vec::new(),
            judged: vec!["DET-COMPLETE".into()],
            unjudged: Vec::new(),
            interfaces: Vec::new(),
            requests: 9,
            retries: 0,
            transport_errors: 0,
            images_probed: 0,
            elapsed_seconds: 1.0,
            skus_per_second: 3.0,
            sessions: 1,
        }
    }

    /// Sellable only when every SKU was swept and judged and no requirement was left
    /// unjudged; the run verdict of a sweep is never pass, whatever it found.
    #[test]
    fn a_sweep_is_sellable_only_when_everything_was_judged_and_never_a_pass() {
        let profile = Profile::embedded().expect("profile");
        let clean = summary();
        assert_eq!(verdict(&clean, &profile, false), SweepVerdict::Sellable);
        assert_eq!(verdict(&clean, &profile, true), SweepVerdict::Incomplete);
        let mut unjudged = summary();
        unjudged.unjudged.push(crate::events::Unjudged {
            requirement: "STK-BATCH".into(),
            reason: "stocks: no answer".into(),
        });
        assert_eq!(
            verdict(&unjudged, &profile, false),
            SweepVerdict::Incomplete
        );
        let mut partial = summary();
        partial.complete = false;
        assert_eq!(verdict(&partial, &profile, false), SweepVerdict::Incomplete);
        for s in [clean, unjudged, partial] {
            let finalized = Finalized {
                summary: s,
                unsellable: Vec::new(),
                state: super::super::summary::State::default(),
            };
            let finished = events(&profile, &finalized, None)
                .into_iter()
                .find_map(|e| match e {
                    Event::RunFinished { verdict, .. } => Some(verdict),
                    _ => None,
                });
            let finished = finished.expect("RunFinished");
            assert_ne!(finished.required, SetVerdict::Pass);
            assert_ne!(finished.optional, SetVerdict::Pass);
        }
    }

    #[test]
    fn the_run_id_comes_from_the_start() {
        assert_eq!(run_id("2026-12-04T19:50:07+08:00"), "sweep-20261204-195007");
        assert_eq!(run_id(""), "sweep");
    }
}
