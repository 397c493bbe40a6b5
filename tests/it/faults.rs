//! The fault matrices: every fault of the reference supplier is caught by a run of the embedded
//! scenarios (a failed result naming one of the fault's requirements, or a warning naming one of
//! its SHOULD or BEYOND requirements, which REQUIREMENTS.md reports as warnings), and the clean
//! reference supplier yields no finding at all and a passing verdict. Twice: against the embedded
//! supplier with its admin clock, and black-box, against a supplier that behaves like a real test
//! environment (no admin endpoints, orders that ship and are delivered by themselves, its own area
//! ids, a valid token handed out again), reached only through its URL.

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

/// The sample seed of every matrix run.
const MATRIX_SEED: u64 = 20_261_203;

async fn run_with(faults: &[&str], state: &std::path::Path) -> Run {
    let args = RunArgs {
        faults: faults.iter().map(|f| f.to_string()).collect(),
        state_dir: state.to_path_buf(),
        out: Some(state.join("report")),
        // A fixed sample: the matrix is the same on every run.
        seed: Some(MATRIX_SEED),
        ..RunArgs::default()
    };
    collect(&args).await
}

/// A supplier like a real test environment, with these faults, on 127.0.0.1:0; orders ship
/// after 1 s and are delivered after 2 s of its clock.
async fn test_environment(faults: &[&str]) -> supplier::RunningSupplier {
    test_environment_shipping(faults, 1, 2).await
}

async fn test_environment_shipping(
    faults: &[&str],
    ship_after_seconds: i64,
    deliver_after_seconds: i64,
) -> supplier::RunningSupplier {
    let config = supplier::SupplierConfig {
        faults: faults.iter().map(|f| f.to_string()).collect(),
        ship_after_seconds,
        deliver_after_seconds,
        ..supplier::SupplierConfig::test_env()
    };
    let profile = std::sync::Arc::new(Profile::embedded().expect("profile"));
    supplier::start(profile, config, "127.0.0.1:0".parse().expect("address"))
        .await
        .expect("the supplier starts")
}

/// A black-box run against `url`: as a test environment declared in the config, with the
/// credentials in the file and a short wait for orders.
async fn run_black_box(url: &str, state: &std::path::Path) -> Run {
    run_black_box_waiting(url, state, 20).await
}

async fn run_black_box_waiting(url: &str, state: &std::path::Path, wait_seconds: u64) -> Run {
    std::fs::create_dir_all(state).expect("state folder");
    let defaults = supplier::SupplierConfig::default();
    let config = state.join("mallcheck.toml");
    std::fs::write(
        &config,
        format!(
            "environment = \"test\"\n[credentials]\nusername = \"{}\"\npassword = \"{}\"\n[orders]\nwait_seconds = {}\npoll_seconds = 0.2\n",
            defaults.username, defaults.password, wait_seconds
        ),
    )
    .expect("config");
    let args = RunArgs {
        target: Some(url.to_string()),
        config: Some(config),
        state_dir: state.to_path_buf(),
        out: Some(state.join("report")),
        // Small, to keep the matrix quick; the first SKU of each pool is always in the sample.
        sample: Some(mallcheck::session::SampleSize::PerPool(3)),
        seed: Some(MATRIX_SEED),
        ..RunArgs::default()
    };
    collect(&args).await
}

async fn collect(args: &RunArgs) -> Run {
    let (outcome, events) = run_session(args).await;
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
    let mut missed = Vec::new();
    for fault in supplier::faults() {
        let state = temp_state(fault.id);
        let run = run_with(&[fault.id], &state).await;
        if let Err(why) = judge_fault_run(fault, &run) {
            missed.push(why);
        }
        let _ = std::fs::remove_dir_all(&state);
    }
    assert!(
        missed.is_empty(),
        "faults not caught:\n{}",
        missed.join("\n")
    );
}

/// Whether a run with one fault caught it: a failure (MUST) or a warning (SHOULD, BEYOND) on one
/// of its requirements, the verdict of the set failed where a MUST failed, every scenario ended
/// and no secret leaked. `Err` says what was seen instead.
fn judge_fault_run(fault: &supplier::FaultInfo, run: &Run) -> Result<(), String> {
    let profile = Profile::embedded().expect("profile");
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
    assert_no_secret(run, fault.id);
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
    if caught {
        return Ok(());
    }
    let seen: Vec<String> = run
        .results
        .iter()
        .filter(|r| r.status != Status::Pass)
        .map(|r| format!("{}:{:?}", r.requirement, r.status))
        .collect();
    Err(format!(
        "{} {:?} — saw {:?}",
        fault.id, fault.requirements, seen
    ))
}

/// Faults no mall can see in one run without the admin endpoints, and why. They are caught by
/// the matrix with admin above, or across runs (the saved token).
const CLOCK_ONLY_FAULTS: &[(&str, &str)] = &[(
    "token-never-expires",
    "a token still accepted after 36 h shows only on a moved clock, or to a run 36 h later (token-across-runs)",
)];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn black_box_clean_test_environment_passes_twice_in_one_folder() {
    let supplier = test_environment(&[]).await;
    let state = temp_state("black-box-clean");
    for round in ["first", "second"] {
        let run = run_black_box(&supplier.base_url(), &state).await;
        let findings = findings(&run.results);
        assert!(
            findings.is_empty(),
            "{round} run: findings on the clean test environment:\n{}",
            findings.join("\n")
        );
        let not_judged: Vec<String> = run
            .results
            .iter()
            .filter(|r| matches!(r.status, Status::Skip | Status::Blocked))
            .map(|r| {
                format!(
                    "{} {} {}: {}",
                    r.scenario, r.requirement, r.check, r.message
                )
            })
            .collect();
        assert_eq!(
            run.verdict.required,
            SetVerdict::Pass,
            "{round} run:\n{}",
            not_judged.join("\n")
        );
        assert_eq!(run.verdict.optional, SetVerdict::Pass, "{round} run");
        assert_eq!(run.announced, run.finished);
        assert_no_secret(&run, round);
        // The order life was judged by observation, not skipped.
        for requirement in [
            "ORD-QUERY",
            "LOG-TRACK",
            "ORD-LOCK-STOCK",
            "OPT-CREDIT-TERM",
        ] {
            assert!(
                run.results
                    .iter()
                    .any(|r| r.requirement == requirement && r.status == Status::Pass),
                "{round} run: {requirement} not judged"
            );
        }
    }
    supplier.shutdown().await;
    let _ = std::fs::remove_dir_all(&state);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn black_box_an_order_that_does_not_ship_in_time_is_not_judged_never_pass_or_fail() {
    // Ships after an hour; the mall waits one second.
    let supplier = test_environment_shipping(&[], 3600, 7200).await;
    let state = temp_state("black-box-slow");
    let run = run_black_box_waiting(&supplier.base_url(), &state, 1).await;
    supplier.shutdown().await;
    let _ = std::fs::remove_dir_all(&state);
    let failed: Vec<&String> = run
        .results
        .iter()
        .filter(|r| matches!(r.status, Status::Fail | Status::Warn))
        .map(|r| &r.message)
        .collect();
    assert!(
        failed.is_empty(),
        "a wait that ran out is no failure: {failed:?}"
    );
    assert_eq!(run.verdict.required, SetVerdict::Incomplete);
    let waited = |requirement: &str| {
        run.results.iter().any(|r| {
            r.requirement == requirement
                && r.scenario == "order-lifecycle"
                && r.status == Status::Skip
                && r.message.contains("within 1 s")
        })
    };
    assert!(
        waited("ORD-QUERY"),
        "ORD-QUERY not judged with the time waited"
    );
    assert!(
        run.results.iter().any(|r| r.requirement == "LOG-TRACK"
            && r.status == Status::Skip
            && r.message.contains("had not shipped")),
        "LOG-TRACK not judged"
    );
    // What needs the completed order is blocked, not failed.
    assert!(
        run.results
            .iter()
            .any(|r| r.scenario == "after-sale" && r.status == Status::Blocked)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn black_box_every_outside_observable_fault_is_caught() {
    let mut missed = Vec::new();
    // A few at a time: most of a run is waiting for orders to ship.
    let mut running = tokio::task::JoinSet::new();
    let mut pending: Vec<&'static supplier::FaultInfo> = supplier::faults()
        .iter()
        .filter(|f| !CLOCK_ONLY_FAULTS.iter().any(|(id, _)| *id == f.id))
        .collect();
    while !pending.is_empty() || !running.is_empty() {
        while running.len() < 6
            && let Some(fault) = pending.pop()
        {
            running.spawn(async move {
                let supplier = test_environment(&[fault.id]).await;
                let state = temp_state(&format!("black-box-{}", fault.id));
                let run = run_black_box(&supplier.base_url(), &state).await;
                supplier.shutdown().await;
                let _ = std::fs::remove_dir_all(&state);
                judge_fault_run(fault, &run)
            });
        }
        match running.join_next().await {
            Some(Ok(Err(why))) => missed.push(why),
            Some(Err(panic)) => missed.push(format!("a run panicked: {panic}")),
            _ => {}
        }
    }
    missed.sort();
    assert!(
        missed.is_empty(),
        "faults not caught black-box:\n{}",
        missed.join("\n")
    );
}
