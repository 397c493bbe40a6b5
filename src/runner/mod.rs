//! Orders the plan and runs it: required scenarios before optional ones, dependencies respected,
//! independent scenarios concurrently within `jobs`, and scenarios that move the reference
//! supplier's clock alone at the end of their set. The runner never prints: it emits events.

mod admin;
mod builtins;
mod orders;
mod results;
mod scenario;
mod step;
mod verdict;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{Map, Value, json};
use tokio::sync::mpsc::UnboundedSender;

use crate::checks::Knowledge;
use crate::client::Client;
use crate::config::Config;
use crate::events::{Event, ResultRow, ScenarioInfo, SetVerdict, Status, Verdict};
use crate::profile::{Profile, RequirementSet};
use crate::scenario::Scenario;

/// Reads the reference supplier's clock from an admin answer and tells the client.
pub fn learn_supplier_clock(
    client: &Client,
    settings: &crate::profile::Settings,
    exchange: &crate::client::Exchange,
) {
    admin::learn_supplier_clock(client, settings, exchange);
}

/// Which scenarios to run.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only scenarios that call one of these interfaces (and what they require).
    pub interfaces: Vec<String>,
    /// Only these scenario ids (and what they require).
    pub scenarios: Vec<String>,
    /// Only scenarios with one of these tags (and what they require).
    pub tags: Vec<String>,
    pub required_only: bool,
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub run_id: String,
    /// Shown in reports: the target URL, or "embedded reference supplier".
    pub target_label: String,
    /// The target is the in-process reference supplier.
    pub embedded: bool,
    /// The reference supplier's `/__admin` endpoints answer (clock, stock).
    pub admin: bool,
    /// Scenarios tagged `orders` may run.
    pub allow_orders: bool,
    pub jobs: usize,
    pub state_dir: PathBuf,
    pub selection: Selection,
    /// Exchanges made before the run (the admin probe): they go through the event stream too.
    pub preflight: Vec<crate::exchange::Exchange>,
}

/// Everything a running scenario shares with the others.
pub(crate) struct Shared {
    pub profile: Arc<Profile>,
    pub client: Client,
    pub config: Config,
    pub options: RunOptions,
    pub events: UnboundedSender<Event>,
    pub knowledge: Mutex<Knowledge>,
    /// Captures of finished scenarios, by scenario id.
    pub captures: Mutex<HashMap<String, Arc<Value>>>,
    pub orders: orders::OrderBook,
    /// Image URLs already probed in this run (each is fetched once).
    pub probed_images: Mutex<HashSet<String>>,
    pub image_slots: tokio::sync::Semaphore,
    /// Set when the supplier cannot be reached at all: the rest of the run is blocked.
    pub unreachable: Mutex<Option<String>>,
    /// What the rows so far add up to.
    pub tally: Mutex<verdict::Tally>,
}

impl Shared {
    pub(crate) fn client_unreachable(&self) -> Option<String> {
        self.unreachable.lock().ok().and_then(|u| u.clone())
    }

    pub(crate) fn note_result(&self, row: &ResultRow) {
        if let Ok(mut tally) = self.tally.lock() {
            tally.note(row);
        }
    }

    pub(crate) fn emit(&self, event: Event) {
        // A closed channel means nobody listens any more; the run goes on regardless.
        let _ = self.events.send(event);
    }
}

/// How a scenario ended, for its dependents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Ran all its steps (with or without failures): its captures exist.
    Completed(Status),
    /// Stopped early, was skipped or blocked: dependents are blocked.
    NotCompleted(Status),
}

/// Picks the scenarios the selection asks for, plus everything they require.
pub fn select(scenarios: &[Scenario], selection: &Selection) -> Vec<Scenario> {
    let wanted = |s: &Scenario| {
        let by_id = selection.scenarios.is_empty() || selection.scenarios.contains(&s.id);
        let by_tag = selection.tags.is_empty() || selection.tags.iter().any(|t| s.has_tag(t));
        let by_interface = selection.interfaces.is_empty()
            || s.steps.iter().any(|step| match step {
                crate::scenario::Step::Call(call) => selection.interfaces.contains(&call.call),
                _ => false,
            });
        let by_set = !selection.required_only || s.set() == RequirementSet::Required;
        by_id && by_tag && by_interface && by_set
    };
    let by_id: HashMap<&str, &Scenario> = scenarios.iter().map(|s| (s.id.as_str(), s)).collect();
    let mut keep: HashSet<&str> = HashSet::new();
    let mut stack: Vec<&str> = scenarios
        .iter()
        .filter(|s| wanted(s))
        .map(|s| s.id.as_str())
        .collect();
    while let Some(id) = stack.pop() {
        if keep.insert(id)
            && let Some(s) = by_id.get(id)
        {
            stack.extend(s.requires.iter().map(String::as_str));
        }
    }
    scenarios
        .iter()
        .filter(|s| keep.contains(s.id.as_str()))
        .cloned()
        .collect()
}

/// Runs the scenarios and returns the verdict, with the reason when a runtime error (an
/// unreachable supplier) stopped it early; every fact goes out as an event on the way.
pub async fn run(
    profile: Arc<Profile>,
    client: Client,
    config: Config,
    options: RunOptions,
    scenarios: Vec<Scenario>,
    events: UnboundedSender<Event>,
    mut interrupt: tokio::sync::watch::Receiver<bool>,
) -> (Verdict, Option<String>) {
    let started = Instant::now();
    let in_scope = verdict::requirements_in_scope(&profile, &scenarios, &options.selection);
    let infos = scenarios
        .iter()
        .map(|s| ScenarioInfo {
            id: s.id.clone(),
            title: s.title.clone(),
            set: s.set(),
            tags: s.tags.clone(),
            file: s.file.clone(),
        })
        .collect();
    let _ = events.send(Event::RunStarted {
        run_id: options.run_id.clone(),
        target: options.target_label.clone(),
        embedded: options.embedded,
        profile: profile.origin.clone(),
        started_at: chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string(),
        scenarios: infos,
        in_scope: in_scope.clone(),
    });
    for exchange in &options.preflight {
        let _ = events.send(Event::Exchange(Box::new(exchange.clone())));
    }
    let jobs = options.jobs.max(1);
    let image_concurrency = config.image_concurrency.max(1);
    let shelf_on = profile.code("shelf_state", "on").cloned();
    let shared = Arc::new(Shared {
        orders: orders::OrderBook::new(&options.state_dir, &options.run_id, &options.target_label),
        profile,
        client,
        config,
        options,
        events,
        knowledge: Mutex::new(Knowledge::new(shelf_on)),
        captures: Mutex::new(HashMap::new()),
        probed_images: Mutex::new(HashSet::new()),
        image_slots: tokio::sync::Semaphore::new(image_concurrency),
        unreachable: Mutex::new(None),
        tally: Mutex::new(verdict::Tally::default()),
    });

    if shared.options.allow_orders {
        shared.orders.recover(&shared).await;
    }
    let mut outcomes: HashMap<String, Outcome> = HashMap::new();
    let mut statuses: Vec<(RequirementSet, Status)> = Vec::new();
    let mut aborted: Option<String> = None;
    'phases: for phase in 0..4 {
        let mut pending: Vec<Scenario> = scenarios
            .iter()
            .filter(|s| s.phase() == phase)
            .cloned()
            .collect();
        let limit = if phase % 2 == 1 { 1 } else { jobs };
        let mut running = tokio::task::JoinSet::new();
        // Which scenario each task runs, to name it if the task dies.
        let mut tasks: HashMap<tokio::task::Id, Scenario> = HashMap::new();
        while !pending.is_empty() || !running.is_empty() {
            // Start every scenario whose prerequisites have ended, up to the limit.
            let mut index = 0;
            while index < pending.len() && running.len() < limit {
                let ready = pending[index]
                    .requires
                    .iter()
                    .all(|r| outcomes.contains_key(r) || !scenarios.iter().any(|s| &s.id == r));
                if !ready {
                    index += 1;
                    continue;
                }
                let scenario = pending.remove(index);
                let blocker = scenario
                    .requires
                    .iter()
                    .find_map(|r| match outcomes.get(r) {
                        Some(Outcome::NotCompleted(status)) => Some((r.clone(), *status)),
                        _ => None,
                    });
                let shared = Arc::clone(&shared);
                let abort_note = aborted.clone();
                let task_scenario = scenario.clone();
                let handle = running.spawn(async move {
                    let scenario = task_scenario;
                    let id = scenario.id.clone();
                    let set = scenario.set();
                    let outcome = match (abort_note, blocker) {
                        (Some(note), _) => scenario::not_run(&shared, &scenario, Status::Blocked, note),
                        // A prerequisite that was skipped skips this one too; one that broke blocks it.
                        (None, Some((blocker, Status::Skip))) => scenario::not_run(
                            &shared,
                            &scenario,
                            Status::Skip,
                            format!("前置场景被跳过 skipped: prerequisite scenario `{blocker}` was skipped"),
                        ),
                        (None, Some((blocker, _))) => scenario::not_run(
                            &shared,
                            &scenario,
                            Status::Blocked,
                            format!("前置场景未完成 blocked: prerequisite scenario `{blocker}` did not complete"),
                        ),
                        (None, None) => scenario::run_scenario(&shared, &scenario).await,
                    };
                    (id, set, outcome)
                });
                tasks.insert(handle.id(), scenario);
            }
            if running.is_empty() {
                // Nothing can start: the rest wait on scenarios that are not in this run.
                for scenario in pending.drain(..) {
                    let outcome = scenario::not_run(
                        &shared,
                        &scenario,
                        Status::Blocked,
                        "前置场景不在本次运行中 blocked: a prerequisite is not in this run".into(),
                    );
                    statuses.push((scenario.set(), status_of(outcome)));
                    outcomes.insert(scenario.id.clone(), outcome);
                }
                break;
            }
            let joined = tokio::select! {
                joined = running.join_next_with_id() => joined,
                _ = stop_requested(&mut interrupt) => {
                    // Ctrl-C or SIGTERM: stop every scenario, then clean up below.
                    running.abort_all();
                    while running.join_next().await.is_some() {}
                    aborted = Some("被中断 interrupted; the orders this run created are being cancelled and are listed in the ledger of the state folder".into());
                    break 'phases;
                }
            };
            match joined {
                Some(Ok((task, (id, set, outcome)))) => {
                    tasks.remove(&task);
                    statuses.push((set, status_of(outcome)));
                    outcomes.insert(id, outcome);
                }
                Some(Err(error)) => {
                    // A scenario that panicked on what a supplier sent is a failure of the harness
                    // to say so properly; it is reported, never silently dropped.
                    if let Some(scenario) = tasks.remove(&error.id()) {
                        let outcome = scenario::not_run(
                            &shared,
                            &scenario,
                            Status::Fail,
                            format!("内部错误 internal error while running the scenario: {error}"),
                        );
                        statuses.push((scenario.set(), status_of(outcome)));
                        outcomes.insert(scenario.id.clone(), outcome);
                    }
                }
                None => {}
            }
            if aborted.is_none()
                && let Some(reason) = shared.client_unreachable()
            {
                aborted = Some(reason);
            }
        }
    }
    // Cancel what the run left pre-ordered; bounded, so an interrupted run still ends.
    let cleanup = shared.orders.cancel_leftovers(&shared);
    if tokio::time::timeout(std::time::Duration::from_secs(60), cleanup)
        .await
        .is_err()
    {
        shared.orders.note_cleanup_timeout();
    }

    let (mut verdict, coverage) = match shared.tally.lock() {
        Ok(tally) => (tally.verdict(&statuses), tally.coverage(&shared.profile)),
        Err(_) => (
            Verdict {
                required: SetVerdict::Fail,
                optional: SetVerdict::Fail,
            },
            Vec::new(),
        ),
    };
    let untested_must = verdict::untested_must(&coverage, &in_scope);
    if aborted.is_some() {
        // A run that could not finish proves nothing about what it did not reach.
        verdict.required = SetVerdict::Fail;
        if verdict.optional == SetVerdict::Pass {
            verdict.optional = SetVerdict::NotTested;
        }
    }
    shared.emit(Event::RunFinished {
        verdict,
        duration_ms: started.elapsed().as_millis() as u64,
        aborted: aborted.clone(),
        coverage,
        untested_must,
    });
    (verdict, aborted)
}

/// Resolves when a stop is asked for; never when nobody can ask any more.
async fn stop_requested(interrupt: &mut tokio::sync::watch::Receiver<bool>) {
    loop {
        if *interrupt.borrow_and_update() {
            return;
        }
        if interrupt.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

fn status_of(outcome: Outcome) -> Status {
    match outcome {
        Outcome::Completed(s) | Outcome::NotCompleted(s) => s,
    }
}

/// Values every template can use: `${config.…}`, `${run.…}`, `${profile.…}`.
pub(crate) fn global_vars(shared: &Shared) -> Map<String, Value> {
    let mut vars = Map::new();
    let config = serde_json::to_value(&shared.config.test_data).unwrap_or(Value::Null);
    vars.insert("config".into(), json!({ "test_data": config }));
    // Times in the profile's zone (China Standard Time by default), in its format.
    let offset = chrono::FixedOffset::east_opt(shared.profile.settings.utc_offset_seconds)
        .unwrap_or_else(|| chrono::Offset::fix(&chrono::Utc));
    // On the supplier's clock (the reference supplier's can have been moved).
    let now = (chrono::Utc::now()
        + chrono::Duration::milliseconds(shared.client.supplier_skew_ms()))
    .with_timezone(&offset);
    let format = &shared.profile.settings.timestamp_format;
    let day = |days: i64| {
        (now + chrono::Duration::days(days))
            .format("%Y-%m-%d")
            .to_string()
    };
    vars.insert(
        "run".into(),
        json!({
            "id": shared.options.run_id,
            "embedded": shared.options.embedded,
            "username": shared.client.username(),
            "now": now.format(format).to_string(),
            "today": day(0),
            "yesterday": day(-1),
            "week_ago": day(-7),
            "in_3_days": day(3),
        }),
    );
    let auth: Vec<&str> = shared
        .profile
        .interfaces_in_test_order()
        .filter(|i| i.auth)
        .map(|i| i.id.as_str())
        .collect();
    let required_auth: Vec<&str> = shared
        .profile
        .interfaces_in_test_order()
        .filter(|i| i.auth && i.required)
        .map(|i| i.id.as_str())
        .collect();
    let optional_auth: Vec<&str> = shared
        .profile
        .interfaces_in_test_order()
        .filter(|i| i.auth && !i.required)
        .map(|i| i.id.as_str())
        .collect();
    vars.insert(
        "profile".into(),
        json!({
            "auth_interfaces": auth,
            "required_auth_interfaces": required_auth,
            "optional_auth_interfaces": optional_auth,
            "batch_max": shared.profile.settings.batch_max,
            "expired_marker": shared.profile.settings.expired_marker,
            "codes": shared.profile.codes,
        }),
    );
    vars
}
