//! What several test modules share: running a session with every event collected, and starting
//! `mallcheck serve` as a process, the embedded profile and its examples.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use mallcheck::events::Event;
use mallcheck::profile::Profile;
use mallcheck::report::json::JsonReporter;
use mallcheck::report::{Collector, Reporter};
use mallcheck::session::{self, RunArgs, RunOutcome};

/// One run through the session, in process, with the embedded scenarios; every event kept.
pub async fn run_session(args: &RunArgs) -> (RunOutcome, Vec<Event>) {
    run_session_with(Profile::embedded().expect("profile"), args).await
}

/// Like [`run_session`], with the given profile (the embedded supplier serves it too).
pub async fn run_session_with(profile: Profile, args: &RunArgs) -> (RunOutcome, Vec<Event>) {
    let prepared = session::prepare(profile, args).expect("scenarios load");
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    // With an output folder, report.json is written too, as `mallcheck run` writes it.
    let write_report = args.out.is_some();
    let outcome = session::execute(prepared, args, move |dir| {
        let mut reporters: Vec<Box<dyn Reporter>> = vec![Box::new(Collector(sink))];
        if write_report {
            reporters.push(Box::new(JsonReporter::new(dir.join("report.json"))));
        }
        reporters
    })
    .await
    .expect("the run completes");
    let events = events.lock().expect("events").clone();
    (outcome, events)
}

/// (scenarios announced, scenarios finished): equal when none vanished.
pub fn scenario_counts(events: &[Event]) -> (usize, usize) {
    let announced = events
        .iter()
        .map(|e| match e {
            Event::RunStarted { scenarios, .. } => scenarios.len(),
            _ => 0,
        })
        .sum();
    let finished = events
        .iter()
        .filter(|e| matches!(e, Event::ScenarioFinished { .. }))
        .count();
    (announced, finished)
}

/// A fresh, empty folder for one test: `mallcheck-<kind>-<pid>-<name>` under the system's temp.
pub fn temp_dir(kind: &str, name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mallcheck-{kind}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// The built binary run in `dir`, with none of the user's mallcheck settings from the
/// environment (target, credentials, language) and no colours; `env` adds its own.
/// The binary, speaking both languages whatever the locale of the machine running the tests
/// (mallcheck takes its language from `LANG`).
pub fn mallcheck_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mallcheck"));
    for name in ["LANG", "LC_ALL", "LC_MESSAGES", "MALLCHECK_LANG"] {
        command.env_remove(name);
    }
    command
}

pub fn mallcheck(
    args: &[&str],
    dir: &std::path::Path,
    env: &[(&str, &str)],
) -> std::process::Output {
    let mut command = mallcheck_command();
    command
        .args(args)
        .current_dir(dir)
        .env_remove("MALLCHECK_TARGET")
        .env_remove("MALLCHECK_USERNAME")
        .env_remove("MALLCHECK_PASSWORD")
        .env_remove("MALLCHECK_LANG")
        .env("NO_COLOR", "1");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("the binary runs")
}

/// The report.json at `path`, checked against `schemas/mallcheck/report.schema.json`.
pub fn schema_checked_report(path: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("report.json written");
    let report: serde_json::Value = serde_json::from_str(&text).expect("report.json is JSON");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string("schemas/mallcheck/report.schema.json").expect("report schema"),
    )
    .expect("schema JSON");
    let validator = jsonschema::validator_for(&schema).expect("the report schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .take(5)
        .collect();
    assert!(
        errors.is_empty(),
        "report.json breaks its schema: {errors:#?}"
    );
    report
}

/// A `mallcheck serve` process, killed when dropped (also when the test fails).
pub struct Serve {
    child: std::process::Child,
    pub url: String,
}

impl Serve {
    pub fn start(args: &[&str]) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mallcheck"))
            .arg("serve")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve starts");
        let mut url = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut url)
            .expect("the first line is the URL");
        Serve {
            child,
            url: url.trim().to_string(),
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The embedded profile (it must load).
pub fn profile() -> Profile {
    match Profile::embedded() {
        Ok(p) => p,
        Err(e) => panic!("the embedded profile must load: {e}"),
    }
}

/// The example `result` of an interface (`schemas/examples/<id>.json`).
pub fn example(id: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(format!("schemas/examples/{id}.json"))
        .unwrap_or_else(|e| panic!("example of {id}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("example of {id}: {e}"))
}

/// Copies a folder (a profile) recursively, for tests that change a copy.
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("dir");
    for entry in std::fs::read_dir(from).expect("read").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// The rows that are not a pass or a skip (fail, warn, blocked), one line each, for messages of
/// tests that expect none.
pub fn findings(rows: &[mallcheck::events::ResultRow]) -> Vec<String> {
    use mallcheck::events::Status;
    rows.iter()
        .filter(|r| matches!(r.status, Status::Fail | Status::Warn | Status::Blocked))
        .map(|r| {
            format!(
                "{} {} {:?} {}",
                r.scenario, r.requirement, r.status, r.message
            )
        })
        .collect()
}
