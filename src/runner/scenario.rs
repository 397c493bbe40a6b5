//! Running one scenario: its steps in order, each through the step pipeline, captures kept for
//! later steps and for the scenarios that require this one. A step that cannot go on (no token,
//! a capture that never came) stops the scenario and marks it blocked rather than failed.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Map, Value};

use super::results::Rows;
use super::shared::{Outcome, Shared, global_vars};
use super::step::{self, Abort};
use super::{admin, builtins};
use crate::events::{Event, Status};
use crate::scenario::template::Scope;
use crate::scenario::{Scenario, Step};

/// Whether a step stopped only because a template found nothing at one of `captures` (those
/// of steps not run: their interface is declared not implemented). Any other abort stands.
fn needs_unavailable(reason: &str, captures: &[String]) -> bool {
    captures.iter().any(|name| {
        reason.contains(&format!("nothing at `{name}`"))
            || reason.contains(&format!("nothing at `{name}."))
            || reason.contains(&format!("nothing at `{name}|"))
    })
}

/// Records a scenario that does not run (skipped or blocked) with the reason.
pub(crate) fn not_run(
    shared: &Shared,
    scenario: &Scenario,
    status: Status,
    note: String,
) -> Outcome {
    not_run_as(shared, scenario, crate::checks::ids::SCENARIO, status, note)
}

fn not_run_as(
    shared: &Shared,
    scenario: &Scenario,
    check: &str,
    status: Status,
    note: String,
) -> Outcome {
    shared.emit(Event::ScenarioStarted {
        scenario: scenario.id.clone(),
    });
    let mut rows = Rows::new(shared, scenario);
    rows.note_as(check, status, note.clone());
    shared.emit(Event::ScenarioFinished {
        scenario: scenario.id.clone(),
        status,
        duration_ms: 0,
        note: Some(note),
    });
    Outcome::NotCompleted(status)
}

/// `clock` alone does not need admin: such a scenario moves the clock when it can and waits for
/// the supplier otherwise.
fn needs_admin(scenario: &Scenario) -> bool {
    scenario.has_tag("admin") || scenario.steps.iter().any(|s| matches!(s, Step::Admin(_)))
}

pub(crate) async fn run_scenario(shared: &Arc<Shared>, scenario: &Scenario) -> Outcome {
    if scenario.has_tag("orders") && !shared.options.allow_orders {
        return not_run(
            shared,
            scenario,
            Status::Skip,
            "会创建订单，目标未声明为测试环境 / skipped: creates orders; declare `environment = \"test\"` in mallcheck.toml or pass --allow-orders".into(),
        );
    }
    if needs_admin(scenario) && !shared.options.admin {
        // What only the admin clock or stock can show: listed apart, not "partly tested".
        return not_run_as(
            shared,
            scenario,
            crate::checks::ids::CLOCK_ONLY,
            Status::Skip,
            "需要参考供应商的管理接口 / skipped: needs the reference supplier's admin endpoints (clock, stock)".into(),
        );
    }
    shared.emit(Event::ScenarioStarted {
        scenario: scenario.id.clone(),
    });
    let started = Instant::now();
    // Shared, not copied: a dependent sees the captures of what it requires through an Arc.
    let required_captures: Vec<(String, Arc<Value>)> = match shared.captures.lock() {
        Ok(captures) => scenario
            .requires
            .iter()
            .filter_map(|id| captures.get(id).map(|c| (id.clone(), Arc::clone(c))))
            .collect(),
        Err(_) => Vec::new(),
    };
    let mut local = Map::new();
    let mut rows = Rows::new(shared, scenario);
    let mut stopped: Option<String> = None;
    // After an admin step that keeps the token, the scenario judges that token itself: no
    // fetching a new one on `token_expired`.
    let mut pinned_token = false;
    // Captures of steps not run because their interface is declared not implemented: a later
    // step that needs one is not run either (rather than blocking the scenario).
    let mut unavailable: Vec<String> = Vec::new();
    for (index, step) in scenario.steps.iter().enumerate() {
        rows.at_step(index);
        if let Step::Call(call) = step
            && shared.options.not_implemented.contains(&call.call)
        {
            unavailable.extend(call.capture.keys().cloned());
            continue;
        }
        if let Step::Admin(admin) = step {
            pinned_token |= admin.admin.keep_token;
        }
        // Fresh per step: `${run.now}` follows the supplier's clock as scenarios move it.
        // Scopes chain the maps; nothing large is copied per step or per round.
        let globals = global_vars(shared);
        let global_scope = Scope::new(&globals);
        let required_scope = global_scope.with_shared(&required_captures);
        let scope = required_scope.with(&local);
        let outcome = match step {
            Step::Call(call) => {
                step::run_call(shared, call, &scope, &mut rows, !pinned_token).await
            }
            Step::Admin(step) => admin::run_admin(shared, step, &scope)
                .await
                .map(|()| step::Captures::new()),
            Step::Builtin(builtin) => builtins::run(shared, builtin, &scope, &mut rows).await,
        };
        match outcome {
            Ok(captured) => local.extend(captured),
            Err(Abort(reason)) if needs_unavailable(&reason, &unavailable) => {}
            Err(Abort(reason)) => {
                rows.note(Status::Blocked, reason.clone());
                stopped = Some(reason);
                break;
            }
        }
    }
    rows.flush();
    // Every step was skipped (`when`) or had nothing to judge: that is no pass. No row is
    // added: a requirement nothing judged is not tested by itself.
    let nothing_judged = stopped.is_none() && rows.judged == 0;
    if let Ok(mut captures) = shared.captures.lock() {
        captures.insert(scenario.id.clone(), Arc::new(Value::Object(local)));
    }
    if scenario.has_tag("clock") && shared.options.admin {
        // The supplier's clock moved: the run's token may be expired there now.
        shared.client.forget_token();
    }
    let status = match (rows.worst, &stopped) {
        (Status::Fail, _) => Status::Fail,
        (_, Some(_)) => Status::Blocked,
        _ if nothing_judged => Status::Skip,
        (worst, None) => worst,
    };
    shared.emit(Event::ScenarioFinished {
        scenario: scenario.id.clone(),
        status,
        duration_ms: started.elapsed().as_millis() as u64,
        note: stopped.clone().or_else(|| {
            nothing_judged.then(|| {
                "没有判定任何检查 / nothing was judged: the scenario did not apply or had nothing to judge".to_string()
            })
        }),
    });
    match stopped {
        Some(_) => Outcome::NotCompleted(status),
        None => Outcome::Completed(status),
    }
}
