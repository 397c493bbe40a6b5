//! Orders the plan and runs it: required scenarios before optional ones, dependencies respected,
//! independent scenarios concurrently within `jobs`, and scenarios that move the reference
//! supplier's clock alone at the end of their set. The runner never prints: it emits events.

mod admin;
mod builtins;
mod orders;
mod plan;
mod results;
mod scenario;
mod shared;
mod step;
mod stock_lock;
mod transitions;
mod verdict;
pub use verdict::not_implemented;
mod watch;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::mpsc::UnboundedSender;

use crate::checks::Knowledge;
use crate::client::Client;
use crate::config::Config;
use crate::events::{Event, RequirementSet, RunScope, ScenarioInfo, SetVerdict, Status, Verdict};
use crate::profile::Profile;
use crate::scenario::Scenario;

pub use plan::{
    PlannedChange, RunOptions, SampleSize, Selection, fresh_seed, select, state_changes,
};
use shared::{Outcome, Shared};
/// The verdict's arithmetic, for a baseline that recomputes it with accepted failures.
pub(crate) use verdict::{Tally, requirements_in_scope, untested_must};

/// Reads the reference supplier's clock from an admin answer and tells the client.
pub fn learn_supplier_clock(
    client: &Client,
    settings: &crate::profile::Settings,
    exchange: &crate::client::Exchange,
) {
    admin::learn_supplier_clock(client, settings, exchange);
}

/// `mallcheck cleanup`: closes every order the ledger in `state_dir` shows open on `target`
/// (cancelled, or asked for again with the same `yggc_order` first when its id never came).
pub async fn cleanup_orders(
    client: &Client,
    profile: &Profile,
    state_dir: &std::path::Path,
    target: &str,
) -> crate::events::OrderCleanup {
    let ledger = orders::Ledger::new(state_dir, target);
    let run_id = format!("cleanup-{}", chrono::Local::now().format("%Y%m%d-%H%M%S"));
    orders::close_open(
        &ledger,
        &run_id,
        orders::Runs::All,
        client,
        profile,
        &|_| {},
    )
    .await
}

/// The targets the ledger in `state_dir` shows open orders on.
pub fn targets_with_open_orders(state_dir: &std::path::Path) -> Vec<(String, usize)> {
    orders::targets_with_open_orders(state_dir)
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
    mut interrupt: tokio::sync::watch::Receiver<Option<String>>,
) -> (Verdict, Option<String>) {
    let started = Instant::now();
    let in_scope =
        verdict::requirements_in_scope(&profile, &options.selection, &options.not_implemented);
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
    let events = shared::Emitter::new(events, config.evidence_kib);
    events.send(Event::RunStarted {
        run_id: options.run_id.clone(),
        target: options.target_label.clone(),
        embedded: options.embedded,
        profile: profile.origin.clone(),
        tool: format!("mallcheck {}", env!("CARGO_PKG_VERSION")),
        profile_name: profile.settings.name.clone(),
        profile_sha256: profile.sha256(),
        interfaces: profile.interface_infos(),
        started_at: chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        scenarios: infos,
        in_scope: in_scope.clone(),
        scope: RunScope {
            scenarios: options.selection.scenarios.clone(),
            tags: options.selection.tags.clone(),
            interfaces: options.selection.interfaces.clone(),
            required_only: options.selection.required_only,
            orders_allowed: options.allow_orders,
            admin: options.admin,
            sample: options.sample.to_string(),
            seed: options.seed,
            supplier: config.declaration.supplier.clone(),
            not_implemented: options.not_implemented.clone(),
            deviations: config.declaration.deviations.clone(),
            sweep: false,
        },
    });
    for exchange in &options.preflight {
        events.exchange(exchange);
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
        large_answers: tokio::sync::Semaphore::new(1),
        unreachable: Mutex::new(None),
        tally: Mutex::new(verdict::Tally::default()),
    });

    if !shared.options.embedded {
        builtins::preload_saved_token(&shared);
    }
    // Orders earlier runs on this target left open (killed, or their cleanup failed) are
    // closed before anything else.
    let mut orders_closed = if shared.options.allow_orders {
        close_orders(&shared, orders::Runs::AllBut(&shared.options.run_id)).await
    } else {
        crate::events::OrderCleanup::default()
    };
    let mut outcomes: HashMap<String, Outcome> = HashMap::new();
    let mut statuses: Vec<(RequirementSet, Status)> = Vec::new();
    let mut aborted: Option<String> = None;
    'phases: for phase in 0..4 {
        let mut pending: Vec<Scenario> = scenarios
            .iter()
            .filter(|s| s.phase(shared.options.admin) == phase)
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
                    .chain(&pending[index].after)
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
                            format!("前置场景被跳过 / skipped: prerequisite scenario `{blocker}` was skipped"),
                        ),
                        (None, Some((blocker, _))) => scenario::not_run(
                            &shared,
                            &scenario,
                            Status::Blocked,
                            format!("前置场景未完成 / blocked: prerequisite scenario `{blocker}` did not complete"),
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
                        "前置场景不在本次运行中 / blocked: a prerequisite is not in this run"
                            .into(),
                    );
                    statuses.push((scenario.set(), status_of(outcome)));
                    outcomes.insert(scenario.id.clone(), outcome);
                }
                break;
            }
            let joined = tokio::select! {
                joined = running.join_next_with_id() => joined,
                why = stop_requested(&mut interrupt) => {
                    // Ctrl-C, SIGTERM or the time limit: stop every scenario, then clean up below.
                    running.abort_all();
                    while running.join_next().await.is_some() {}
                    aborted = Some(format!("{why}; the orders this run created are being cancelled and are listed in the ledger of the state folder"));
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
                            format!(
                                "内部错误 / internal error while running the scenario: {error}"
                            ),
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
    // Pre-orders still in flight (a stop came while they were sent) are waited for, for about a
    // call's deadline, then everything the run left open is cancelled; bounded, so an
    // interrupted run still ends.
    let call_deadline =
        std::time::Duration::from_secs(shared.config.timeout_seconds.clamp(1, 30) + 2);
    shared.orders.wait_in_flight(call_deadline).await;
    let cleanup = close_orders(&shared, orders::Runs::Only(&shared.options.run_id));
    match tokio::time::timeout(std::time::Duration::from_secs(60), cleanup).await {
        Ok(mine) => {
            orders_closed.cancelled.extend(mine.cancelled);
            orders_closed.already_closed.extend(mine.already_closed);
            orders_closed.not_cancelled.extend(mine.not_cancelled);
        }
        Err(_) => shared.orders.note_cleanup_timeout(),
    }
    if !orders_closed.is_empty() {
        shared.emit(Event::OrdersClosed(orders_closed));
    }

    let (coverage, clock_only) = match shared.tally.lock() {
        Ok(tally) => (tally.coverage(&shared.profile), tally.clock_only()),
        Err(_) => (Vec::new(), Vec::new()),
    };
    let untested_must = verdict::untested_must(&coverage, &in_scope);
    let verdict = match shared.tally.lock() {
        Ok(tally) => tally.verdict(&statuses, &coverage, &untested_must, aborted.is_some()),
        Err(_) => Verdict {
            required: SetVerdict::Error,
            optional: SetVerdict::Error,
        },
    };
    shared.emit(Event::RunFinished {
        verdict,
        duration_ms: started.elapsed().as_millis() as u64,
        aborted: aborted.clone(),
        coverage,
        untested_must,
        clock_only,
    });
    (verdict, aborted)
}

/// Closes the open orders of `runs`, each exchange going out as an event.
async fn close_orders(shared: &Shared, runs: orders::Runs<'_>) -> crate::events::OrderCleanup {
    let events = shared.events.clone();
    let on_exchange = move |exchange: &crate::client::Exchange| events.exchange(exchange);
    shared
        .orders
        .close(runs, &shared.client, &shared.profile, &on_exchange)
        .await
}

/// Resolves with the reason when a stop is asked for; never when nobody can ask any more.
async fn stop_requested(interrupt: &mut tokio::sync::watch::Receiver<Option<String>>) -> String {
    loop {
        if let Some(why) = interrupt.borrow_and_update().clone() {
            return why;
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
