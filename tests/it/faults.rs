//! The fault matrix: every fault of the reference supplier is caught by a run of the embedded
//! scenarios (a failed result naming one of the fault's requirements, or a warning naming one of
//! its SHOULD or BEYOND requirements, which REQUIREMENTS.md reports as warnings), and the clean
//! reference supplier yields no finding at all and a passing verdict.

use mallcheck::events::Status;
use mallcheck::events::{Event, ResultRow, SetVerdict, Verdict};
use mallcheck::profile::{Level, Profile};
use mallcheck::session::RunArgs;
use mallcheck::supplier;

use crate::common::{findings, run_session, scenario_counts};

struct Run {
    verdict: Verdict,
    results: Vec<ResultRow>,
    /// Every event as JSON text, to look for secrets.
    text: String,
    /// Scenarios announced, and those that finished.
    announced: usize,
    finished: usize,
}

/// No secret in anything a run emits: not the password, not its md5, not a token value.
fn assert_no_secret(run: &Run, context: &str) {
    let password_md5 = format!(
        "{:x}",
        md5::compute(supplier::SupplierConfig::default().password)
    );
    assert!(
        !run.text
            .contains(&supplier::SupplierConfig::default().password),
        "{context}: plain password leaked"
    );
    assert!(
        !run.text.contains(&password_md5),
        "{context}: md5 password leaked"
    );
    // Bodies are JSON text inside JSON: the token field appears escaped.
    for (i, _) in run.text.match_indices(r#"\"access_token\":\""#) {
        let rest = &run.text[i + 19..];
        assert!(
            rest.starts_with("***"),
            "{context}: a token value leaked: {}",
            &rest[..rest.len().min(40)]
        );
    }
}

async fn run_with(faults: &[&str], state: &std::path::Path) -> Run {
    let args = RunArgs {
        faults: faults.iter().map(|f| f.to_string()).collect(),
        state_dir: state.to_path_buf(),
        out: Some(state.join("report")),
        ..RunArgs::default()
    };
    let (outcome, events) = run_session(&args).await;
    let results = events
        .iter()
        .filter_map(|e| match e {
            Event::Result(row) => Some((**row).clone()),
            _ => None,
        })
        .collect();
    let text = events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let (announced, finished) = scenario_counts(&events);
    Run {
        verdict: outcome.verdict,
        results,
        text,
        announced,
        finished,
    }
}

fn temp_state(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mallcheck-faults-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_reference_supplier_has_no_findings_and_passes() {
    let state = temp_state("clean");
    let run = run_with(&[], &state).await;
    let findings = findings(&run.results);
    assert!(
        findings.is_empty(),
        "findings on the clean supplier:\n{}",
        findings.join("\n")
    );
    assert_eq!(run.verdict.required, SetVerdict::Pass);
    assert_eq!(run.announced, run.finished, "every scenario finished");
    assert_no_secret(&run, "clean");
    assert_eq!(run.verdict.optional, SetVerdict::Pass);
    assert!(
        run.results
            .iter()
            .filter(|r| r.status == Status::Pass)
            .count()
            > 100
    );
    let _ = std::fs::remove_dir_all(&state);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_is_caught_by_its_requirements() {
    let profile = Profile::embedded().expect("profile");
    let mut missed = Vec::new();
    for fault in supplier::faults() {
        let state = temp_state(fault.id);
        let run = run_with(&[fault.id], &state).await;
        // A MUST requirement is caught by a failure; a SHOULD or BEYOND one by a warning.
        let soft = |id: &str| {
            profile
                .requirement(id)
                .is_some_and(|r| r.level != Level::Must)
        };
        let caught = run.results.iter().any(|r| {
            fault.requirements.contains(&r.requirement.as_str())
                && (r.status == Status::Fail || (soft(&r.requirement) && r.status == Status::Warn))
        });
        assert_eq!(
            run.announced, run.finished,
            "{}: a scenario vanished",
            fault.id
        );
        assert_no_secret(&run, fault.id);
        // A broken MUST requirement turns the verdict of its set to fail.
        for id in fault.requirements {
            let Some(requirement) = profile.requirement(id) else {
                continue;
            };
            let failed_here = run
                .results
                .iter()
                .any(|r| r.requirement == *id && r.status == Status::Fail);
            if requirement.level == Level::Must && failed_here {
                let verdict = match requirement.set {
                    mallcheck::profile::RequirementSet::Required => run.verdict.required,
                    mallcheck::profile::RequirementSet::Optional => run.verdict.optional,
                };
                assert_eq!(
                    verdict,
                    SetVerdict::Fail,
                    "{}: {id} failed but its set passed",
                    fault.id
                );
            }
        }
        if !caught {
            let seen: Vec<String> = run
                .results
                .iter()
                .filter(|r| r.status != Status::Pass)
                .map(|r| format!("{}:{:?}", r.requirement, r.status))
                .collect();
            missed.push(format!(
                "{} {:?} — saw {:?}",
                fault.id, fault.requirements, seen
            ));
        }
        let _ = std::fs::remove_dir_all(&state);
    }
    assert!(
        missed.is_empty(),
        "faults not caught:\n{}",
        missed.join("\n")
    );
}
