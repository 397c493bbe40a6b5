//! One run of the harness against a supplier, in process, as `mallcheck run` does it: a config
//! file in a fresh folder, `--out` there, every event kept and `report.json` written. What a
//! run must always be, whatever the supplier did, is checked by [`Run::assert_sound`].

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mallcheck::events::{Event, ResultRow, SetVerdict, Status};
use mallcheck::exchange::Exchange;
use mallcheck::profile::Profile;
use mallcheck::report::{Collector, Reporter};
use mallcheck::session::{self, RunArgs, RunOutcome};

use crate::alloc;

/// The credentials every run uses (the echo test looks for them).
pub const USERNAME: &str = "hostile-user";
pub const PASSWORD: &str = "hostile-password";

/// The interfaces that answer well whatever the behaviour (unless it is about them).
pub const WELL_ANSWERED: [&str; 3] = ["token", "pools", "skus"];

/// A report larger than this holds more than evidence.
pub const MAX_REPORT_BYTES: usize = 4 * 1024 * 1024;

/// How one run is set up.
pub struct Setup {
    pub name: &'static str,
    /// Top-level config keys (one per line), before `[credentials]`.
    pub config: &'static str,
    /// The scenarios run (and what they require); empty: all of them.
    pub scenarios: &'static [&'static str],
    /// The time bound of the whole run (generous: a bound, not a measurement).
    pub bound: Duration,
    /// Bytes the run may allocate above what was allocated when it started.
    pub memory: usize,
}

pub const MIB: usize = 1024 * 1024;

impl Setup {
    /// The areas scenario alone (the admin probe, a token, the province list and on), two
    /// seconds per call, 80 MiB allocated at most: the process then stays under the aim of
    /// 100 MiB resident (binary, stacks and the allocator's slack come on top).
    pub fn areas(name: &'static str) -> Setup {
        Setup {
            name,
            config: "timeout_seconds = 2",
            scenarios: &["areas"],
            bound: Duration::from_secs(60),
            memory: 80 * MIB,
        }
    }

    pub fn config(self, config: &'static str) -> Setup {
        Setup { config, ..self }
    }

    pub fn scenarios(self, scenarios: &'static [&'static str]) -> Setup {
        Setup { scenarios, ..self }
    }

    pub fn bound(self, seconds: u64) -> Setup {
        Setup {
            bound: Duration::from_secs(seconds),
            ..self
        }
    }

    pub fn memory(self, memory: usize) -> Setup {
        Setup { memory, ..self }
    }
}

/// What a run left: its events, its report and what it cost.
pub struct Run {
    pub name: &'static str,
    pub outcome: RunOutcome,
    pub events: Vec<Event>,
    /// `report.json`, parsed.
    pub report: serde_json::Value,
    pub report_bytes: usize,
    /// Every file of the out folder, lossy text, with its name.
    pub out_files: Vec<(PathBuf, String)>,
    pub elapsed: Duration,
    /// Peak bytes allocated above the baseline.
    pub peak: usize,
    /// Panics anywhere in the process during the run.
    pub panics: usize,
    setup_memory: usize,
}

/// Runs the harness against `target` as `setup` says; panics (fails the test) when the run does
/// not end within the bound, cannot start, or writes no readable report.
pub async fn run(target: &str, setup: Setup) -> Run {
    let dir = std::env::temp_dir().join(format!(
        "mallcheck-hostile-{}-{}",
        setup.name,
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    let config_file = dir.join("mallcheck.toml");
    let config = format!(
        "{}\n[credentials]\nusername = \"{USERNAME}\"\npassword = \"{PASSWORD}\"\n",
        setup.config
    );
    std::fs::write(&config_file, config).expect("the config file is written");
    let out = dir.join("out");
    let mut args = RunArgs {
        target: Some(target.to_string()),
        config: Some(config_file),
        state_dir: dir.join("state"),
        out: Some(out.clone()),
        ..RunArgs::default()
    };
    args.selection.scenarios = setup.scenarios.iter().map(|s| s.to_string()).collect();
    let profile = Profile::embedded().expect("the embedded profile loads");

    let panics_before = crate::PANICS.load(Ordering::SeqCst);
    alloc::reset_peak();
    let baseline = alloc::current();
    let started = Instant::now();
    let events = Arc::new(Mutex::new(Vec::new()));
    let ran = tokio::time::timeout(setup.bound, run_session(profile, &args, &events)).await;
    let elapsed = started.elapsed();
    let peak = alloc::peak().saturating_sub(baseline);
    let panics = crate::PANICS.load(Ordering::SeqCst) - panics_before;
    let outcome = match ran {
        Ok(outcome) => outcome,
        Err(_) => panic!(
            "{}: the run did not end within its bound of {:?}",
            setup.name, setup.bound
        ),
    };
    let events = events.lock().map(|e| e.clone()).unwrap_or_default();

    let report_path = out.join("report.json");
    let report_text = std::fs::read(&report_path)
        .unwrap_or_else(|e| panic!("{}: no report.json written: {e}", setup.name));
    let report: serde_json::Value = serde_json::from_slice(&report_text)
        .unwrap_or_else(|e| panic!("{}: report.json is not JSON: {e}", setup.name));
    let out_files = read_dir_texts(&out);
    if std::env::var_os("HOSTILE_KEEP").is_some() {
        println!("[hostile] {}: kept {}", setup.name, dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let run = Run {
        name: setup.name,
        outcome,
        events,
        report,
        report_bytes: report_text.len(),
        out_files,
        elapsed,
        peak,
        panics,
        setup_memory: setup.memory,
    };
    println!(
        "[hostile] {:<28} {:>6.1} s  peak {:>7.1} MiB  {:>4} exchanges  report {:>6} KiB",
        run.name,
        run.elapsed.as_secs_f64(),
        alloc::mib(run.peak),
        run.exchanges().count(),
        run.report_bytes / 1024
    );
    if std::env::var_os("HOSTILE_DIGEST").is_some() {
        println!("{}", run.digest());
    }
    run
}

async fn run_session(
    profile: Profile,
    args: &RunArgs,
    events: &Arc<Mutex<Vec<Event>>>,
) -> RunOutcome {
    let prepared = session::prepare(profile, args).expect("the scenarios load");
    let sink = Arc::clone(events);
    session::execute(prepared, args, move |dir| {
        // Every file a run writes, as `mallcheck run` writes them.
        let mut reporters: Vec<Box<dyn Reporter>> = vec![Box::new(Collector(sink))];
        reporters.extend(mallcheck::report::file_reporters(dir, Default::default()));
        reporters
    })
    .await
    .expect("the run completes and its reports are written")
}

fn read_dir_texts(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(read_dir_texts(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            files.push((path, String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    files
}

impl Run {
    /// What must hold after any run: no panic, no internal error, every scenario announced
    /// finished, the run finished, memory under the bound, a small report.
    pub fn assert_sound(&self) {
        let name = self.name;
        assert_eq!(self.panics, 0, "{name}: something panicked during the run");
        let internal: Vec<&String> = self
            .events
            .iter()
            .filter_map(|e| match e {
                Event::ScenarioFinished { note: Some(n), .. } if n.contains("内部错误") => {
                    Some(n)
                }
                _ => None,
            })
            .collect();
        assert!(
            internal.is_empty(),
            "{name}: a scenario crashed: {internal:?}"
        );
        let internal_rows: Vec<&str> = self
            .results()
            .filter(|r| r.message.contains("内部错误"))
            .map(|r| r.message.as_str())
            .collect();
        assert!(
            internal_rows.is_empty(),
            "{name}: internal errors: {internal_rows:?}"
        );
        let (announced, finished) = self.scenario_counts();
        assert!(announced > 0, "{name}: no scenario was announced");
        assert_eq!(
            announced, finished,
            "{name}: {announced} scenarios announced, {finished} finished"
        );
        assert!(
            self.events
                .iter()
                .any(|e| matches!(e, Event::RunFinished { .. })),
            "{name}: no RunFinished event"
        );
        assert_ne!(
            self.outcome.verdict.required,
            SetVerdict::Pass,
            "{name}: a hostile supplier passed"
        );
        assert!(
            self.peak <= self.setup_memory,
            "{name}: {:.1} MiB allocated at the peak, above the bound of {:.1} MiB",
            alloc::mib(self.peak),
            alloc::mib(self.setup_memory)
        );
        assert!(
            self.report_bytes < MAX_REPORT_BYTES,
            "{name}: report.json is {} bytes",
            self.report_bytes
        );
        assert!(
            self.report.get("verdict").is_some() && self.report.get("results").is_some(),
            "{name}: report.json has no verdict or results"
        );
    }

    /// (scenarios announced, scenarios finished).
    pub fn scenario_counts(&self) -> (usize, usize) {
        let announced = self
            .events
            .iter()
            .map(|e| match e {
                Event::RunStarted { scenarios, .. } => scenarios.len(),
                _ => 0,
            })
            .sum();
        let finished = self
            .events
            .iter()
            .filter(|e| matches!(e, Event::ScenarioFinished { .. }))
            .count();
        (announced, finished)
    }

    pub fn results(&self) -> impl Iterator<Item = &ResultRow> {
        self.events.iter().filter_map(|e| match e {
            Event::Result(row) => Some(&**row),
            _ => None,
        })
    }

    pub fn exchanges(&self) -> impl Iterator<Item = &Exchange> {
        self.events.iter().filter_map(|e| match e {
            Event::Exchange(exchange) => Some(&**exchange),
            _ => None,
        })
    }

    /// The exchanges of interfaces that got the behaviour (not token, pools, SKUs, nor the
    /// admin probe).
    pub fn misbehaved(&self) -> impl Iterator<Item = &Exchange> {
        self.exchanges()
            .filter(|e| !WELL_ANSWERED.contains(&e.interface.as_str()) && e.interface != "admin")
    }

    /// Rows about `requirement` on interfaces that got the behaviour.
    pub fn misbehaved_rows(&self, requirement: &str) -> Vec<&ResultRow> {
        self.results()
            .filter(|r| r.requirement == requirement)
            .filter(|r| {
                r.interface
                    .as_deref()
                    .is_some_and(|i| !WELL_ANSWERED.contains(&i) && i != "admin")
            })
            .collect()
    }

    /// Every transport error of the run, described.
    pub fn transport_errors(&self) -> Vec<String> {
        self.exchanges()
            .filter_map(|e| e.error.as_ref().map(|err| err.describe()))
            .collect()
    }

    /// Fails unless a row on `requirement` with one of `statuses` says `text`.
    pub fn assert_row(&self, requirement: &str, statuses: &[Status], text: &str) {
        let found = self.results().any(|r| {
            r.requirement == requirement && statuses.contains(&r.status) && r.message.contains(text)
        });
        assert!(
            found,
            "{}: no {requirement} row {statuses:?} saying {text:?}; the run said:\n{}",
            self.name,
            self.digest()
        );
    }

    /// Fails unless `requirement` failed (or warned, for a SHOULD/BEYOND one) saying `text`.
    pub fn assert_finding(&self, requirement: &str, text: &str) {
        self.assert_row(requirement, &[Status::Fail, Status::Warn], text);
    }

    /// Fails unless a transport error says `text`.
    pub fn assert_transport_error(&self, text: &str) {
        let errors = self.transport_errors();
        assert!(
            errors.iter().any(|e| e.contains(text)),
            "{}: no transport error saying {text:?}; the run said:\n{}",
            self.name,
            self.digest()
        );
    }

    /// GEN-JSON on the misbehaving interfaces is never a pass or a fail, and is said to be not
    /// judged at least once, naming `why`.
    pub fn assert_json_not_judged(&self, why: &str) {
        let rows = self.misbehaved_rows("GEN-JSON");
        let judged: Vec<String> = rows
            .iter()
            .filter(|r| r.status != Status::Skip)
            .map(|r| {
                format!(
                    "{:?} {} {}",
                    r.status,
                    r.interface.as_deref().unwrap_or("-"),
                    r.message
                )
            })
            .collect();
        assert!(
            judged.is_empty(),
            "{}: GEN-JSON judged on answers that were not read: {judged:?}",
            self.name
        );
        assert!(
            rows.iter()
                .any(|r| r.message.contains("not judged") && r.message.contains(why)),
            "{}: no GEN-JSON 'not judged' row naming {why:?}; the run said:\n{}",
            self.name,
            self.digest()
        );
    }

    /// Non-pass rows and transport errors, one line each (the first 40), for messages.
    pub fn digest(&self) -> String {
        let mut lines: Vec<String> = self
            .results()
            .filter(|r| r.status != Status::Pass)
            .map(|r| {
                format!(
                    "  {:?} {} [{}] {}",
                    r.status,
                    r.requirement,
                    r.interface.as_deref().unwrap_or("-"),
                    r.message.chars().take(200).collect::<String>()
                )
            })
            .collect();
        lines.extend(
            self.transport_errors()
                .into_iter()
                .map(|e| format!("  transport: {e}")),
        );
        lines.extend(self.events.iter().filter_map(|e| match e {
            Event::ScenarioFinished {
                scenario,
                status,
                note,
                ..
            } => Some(format!("  scenario {scenario} {status:?} {note:?}")),
            _ => None,
        }));
        lines.dedup();
        let total = lines.len();
        lines.truncate(40);
        if total > 40 {
            lines.push(format!("  … {} more", total - 40));
        }
        lines.join("\n")
    }
}
