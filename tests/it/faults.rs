//! The fault matrix: every fault of the reference supplier is caught by a run of the embedded
//! scenarios (a failed result naming one of the fault's requirements, or a warning naming one of
//! its SHOULD or BEYOND requirements, which REQUIREMENTS.md reports as warnings), and the clean
//! reference supplier yields no finding at all and a passing verdict.

use std::sync::{Arc, Mutex};

use mallcheck::checks::Status;
use mallcheck::profile::{Level, Profile};
use mallcheck::report::events::{Event, ResultRow, SetVerdict, Verdict};
use mallcheck::report::{ReportError, Reporter};
use mallcheck::session::{self, RunArgs};
use mallcheck::supplier;

/// Keeps every event of a run.
struct Collector(Arc<Mutex<Vec<Event>>>);

impl Reporter for Collector {
    fn event(&mut self, event: &Event) {
        if let Ok(mut events) = self.0.lock() {
            events.push(event.clone());
        }
    }

    fn finish(&mut self) -> Result<(), ReportError> {
        Ok(())
    }
}

struct Run {
    verdict: Verdict,
    results: Vec<ResultRow>,
}

async fn run_with(faults: &[&str], state: &std::path::Path) -> Run {
    let profile = Profile::embedded().expect("embedded profile");
    let args = RunArgs {
        faults: faults.iter().map(|f| f.to_string()).collect(),
        state_dir: state.to_path_buf(),
        out: Some(state.join("report")),
        ..RunArgs::default()
    };
    let prepared = session::prepare(profile, &args).expect("scenarios load");
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    let outcome = session::execute(prepared, &args, move |_, _| {
        let reporters: Vec<Box<dyn Reporter>> = vec![Box::new(Collector(sink))];
        reporters
    })
    .await
    .expect("the run completes");
    let results = events
        .lock()
        .expect("events")
        .iter()
        .filter_map(|e| match e {
            Event::Result(row) => Some((**row).clone()),
            _ => None,
        })
        .collect();
    Run {
        verdict: outcome.verdict,
        results,
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
    let findings: Vec<String> = run
        .results
        .iter()
        .filter(|r| matches!(r.status, Status::Fail | Status::Warn | Status::Blocked))
        .map(|r| {
            format!(
                "{} {} {:?} {}",
                r.scenario, r.requirement, r.status, r.message
            )
        })
        .collect();
    assert!(
        findings.is_empty(),
        "findings on the clean supplier:\n{}",
        findings.join("\n")
    );
    assert_eq!(run.verdict.required, SetVerdict::Pass);
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
