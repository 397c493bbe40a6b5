//! Running one scenario: steps in order, each call judged by the exchange checks and by the
//! step's own expectations, captures kept for later steps and for the scenarios that require
//! this one. A step that cannot go on (no token, a capture that never came) stops the scenario
//! and marks it blocked rather than failed.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Map, Value};

use super::results::Rows;
use super::{Outcome, Shared, builtins, global_vars};
use crate::checks::{self, ExchangeInput, Status};
use crate::client::{Exchange, Tamper, TokenUse, TransportError};
use crate::report::events::Event;
use crate::scenario::model::{AdminStep, CallStep, TamperChoice, TokenChoice, ValueExpect};
use crate::scenario::template::{self, Scope, as_text};
use crate::scenario::{Scenario, Step};

/// Why a scenario stopped before its end.
pub(crate) struct Abort(pub String);

impl From<template::TemplateError> for Abort {
    fn from(e: template::TemplateError) -> Abort {
        Abort(format!("模板无法求值 cannot evaluate a template: {e}"))
    }
}

fn main_requirement(scenario: &Scenario) -> String {
    scenario
        .requirements
        .first()
        .cloned()
        .unwrap_or_else(|| "GEN-HTTP-STATUS".into())
}

/// Records a scenario that does not run (skipped or blocked) with the reason.
pub(crate) fn not_run(
    shared: &Shared,
    scenario: &Scenario,
    status: Status,
    note: String,
) -> Outcome {
    shared.emit(Event::ScenarioStarted {
        scenario: scenario.id.clone(),
    });
    let mut rows = Rows::new(shared, scenario);
    rows.note(status, &main_requirement(scenario), note.clone());
    shared.emit(Event::ScenarioFinished {
        scenario: scenario.id.clone(),
        status,
        duration_ms: 0,
        note: Some(note),
    });
    Outcome::NotCompleted(status)
}

fn needs_admin(scenario: &Scenario) -> bool {
    scenario.has_tag("admin")
        || scenario.has_tag("clock")
        || scenario.steps.iter().any(|s| matches!(s, Step::Admin(_)))
}

pub(crate) async fn run_scenario(shared: &Arc<Shared>, scenario: &Scenario) -> Outcome {
    if scenario.has_tag("orders") && !shared.options.allow_orders {
        return not_run(
            shared,
            scenario,
            Status::Skip,
            "会创建订单，目标未声明为测试环境 skipped: creates orders; declare `environment = \"test\"` in mallcheck.toml or pass --allow-orders".into(),
        );
    }
    if needs_admin(scenario) && !shared.options.admin {
        return not_run(
            shared,
            scenario,
            Status::Skip,
            "需要参考供应商的管理接口 skipped: needs the reference supplier's admin endpoints (clock, stock)".into(),
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
    for step in &scenario.steps {
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
            Step::Call(call) => run_call(shared, call, &scope, &mut rows, !pinned_token).await,
            Step::Admin(admin) => run_admin(shared, admin, &scope)
                .await
                .map(|()| Captures::new()),
            Step::Builtin(builtin) => builtins::run(shared, builtin, &scope, &mut rows).await,
        };
        match outcome {
            Ok(captured) => merge_captures(&mut local, captured),
            Err(Abort(reason)) => {
                rows.note(Status::Blocked, &main_requirement(scenario), reason.clone());
                stopped = Some(reason);
                break;
            }
        }
    }
    rows.flush();
    if let Ok(mut captures) = shared.captures.lock() {
        captures.insert(scenario.id.clone(), Arc::new(Value::Object(local)));
    }
    if scenario.has_tag("clock") {
        // The supplier's clock moved: the run's token may be expired there now.
        shared.client.forget_token();
    }
    let status = match (rows.worst, &stopped) {
        (Status::Fail, _) => Status::Fail,
        (_, Some(_)) => Status::Blocked,
        (worst, None) => worst,
    };
    shared.emit(Event::ScenarioFinished {
        scenario: scenario.id.clone(),
        status,
        duration_ms: started.elapsed().as_millis() as u64,
        note: stopped.clone(),
    });
    match stopped {
        Some(_) => Outcome::NotCompleted(status),
        None => Outcome::Completed(status),
    }
}

/// What a step captured: a name and its value, or (in a `for_each` step) the values of every
/// round gathered into one array.
pub(crate) type Captures = Map<String, Value>;

fn merge_captures(local: &mut Map<String, Value>, captured: Captures) {
    local.extend(captured);
}

fn render_map(value: &Map<String, Value>, vars: &Scope<'_>) -> Result<Map<String, Value>, Abort> {
    match template::render(&Value::Object(value.clone()), vars)? {
        Value::Object(map) => Ok(map),
        _ => Ok(Map::new()),
    }
}

/// The items a `for_each` runs over (`None`: one round without a loop variable).
fn for_each_items(call: &CallStep, vars: &Scope<'_>) -> Result<Option<Vec<Value>>, Abort> {
    let Some(each) = &call.for_each else {
        return Ok(None);
    };
    let items = match template::render(&each.items, vars)? {
        Value::Array(items) => items,
        other => {
            return Err(Abort(format!(
                "for_each: `{}` is not an array but {}",
                template::as_text(&each.items),
                as_text(&other)
            )));
        }
    };
    Ok(Some(
        items
            .into_iter()
            .take(each.limit.unwrap_or(usize::MAX))
            .collect(),
    ))
}

fn token_expired(exchange: &Exchange, marker: &str) -> bool {
    exchange.answer().is_some_and(|a| {
        a.get("success").and_then(Value::as_bool) == Some(false)
            && a.get("desc")
                .and_then(Value::as_str)
                .is_some_and(|d| d.contains(marker))
    })
}

fn is_empty_value(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => true,
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        Value::Number(_) | Value::Bool(true) => false,
    }
}

async fn run_call(
    shared: &Arc<Shared>,
    call: &CallStep,
    vars: &Scope<'_>,
    rows: &mut Rows<'_>,
    retry_expired: bool,
) -> Result<Captures, Abort> {
    let mut captured = Captures::new();
    if let Some(when) = &call.when
        && is_empty_value(&template::render_str(when, vars)?)
    {
        return Ok(captured);
    }
    let items = for_each_items(call, vars)?;
    let looping = items.is_some();
    let rounds: Vec<Option<&Value>> = match &items {
        Some(items) => items.iter().map(Some).collect(),
        None => vec![None],
    };
    for item in rounds {
        let round_scope;
        let round: &Scope<'_> = match (item, &call.for_each) {
            (Some(value), Some(each)) => {
                round_scope = vars.with_named(&each.name, value);
                &round_scope
            }
            _ => vars,
        };
        let interface_id = as_text(&template::render_str(&call.call, round)?);
        let Some(interface) = shared.profile.interface(&interface_id) else {
            return Err(Abort(format!("unknown interface {interface_id:?}")));
        };
        let params = match template::render(&call.params, round)? {
            Value::Object(map) => map,
            other => {
                return Err(Abort(format!(
                    "params must be an object, got {}",
                    as_text(&other)
                )));
            }
        };
        if interface.auth && call.expect.success.unwrap_or(true) {
            // A step that expects success must send what the profile allows: otherwise the
            // scenario, not the supplier, is wrong.
            let violations = shared
                .profile
                .validate_request(&interface.id, &Value::Object(params.clone()));
            if let Some(v) = violations.first() {
                return Err(Abort(format!(
                    "场景参数不符合请求 schema the scenario's parameters for {} break the request schema at {}: {}",
                    interface.id,
                    if v.instance_pointer.is_empty() {
                        "/"
                    } else {
                        &v.instance_pointer
                    },
                    v.message
                )));
            }
        }
        // A token handed out again (first issued earlier in this run) is judged from its first issue.
        let mut reissued_since: Option<u64> = None;
        let exchange = if !interface.auth {
            let tamper = call.tamper.map(|t| match t {
                TamperChoice::WrongSign => Tamper::WrongSign,
                TamperChoice::StaleTimestamp => Tamper::StaleTimestamp,
            });
            let (exchange, issued) = match (&call.credentials, tamper) {
                (_, Some(tamper)) => shared.client.fetch_token_tampered(tamper).await,
                (Some(c), None) => {
                    let username = as_text(&template::render_str(&c.username, round)?);
                    let password = as_text(&template::render_str(&c.password, round)?);
                    shared.client.fetch_token_with(&username, &password).await
                }
                (None, None) => shared.client.fetch_token().await,
            };
            reissued_since = issued
                .filter(|t| t.first_issued_ms < t.obtained_at_ms)
                .map(|t| t.first_issued_ms);
            exchange
        } else {
            let token = match call.token {
                TokenChoice::Auto => {
                    if let Err(failed) = shared.client.current_token().await {
                        shared.emit(Event::Exchange(Box::new(failed.clone())));
                        note_unreachable(shared, &failed);
                        return Err(Abort(format!(
                            "未能获取 access token, blocked: no access token ({})",
                            failure_summary(&failed)
                        )));
                    }
                    TokenUse::Auto
                }
                TokenChoice::None => TokenUse::Omit,
                // Looks like any token (32 hex), so a supplier cannot single it out.
                TokenChoice::Unknown => TokenUse::Explicit(format!(
                    "{:x}",
                    md5::compute(format!("mallcheck-unknown-{}", shared.options.run_id))
                )),
            };
            if interface.id == "submit" {
                shared.orders.before_submit(&params);
            }
            let auto = matches!(token, TokenUse::Auto)
                && retry_expired
                && call.expect.success != Some(false);
            let first = shared.client.call(&interface.id, &params, token).await;
            if auto && token_expired(&first, &shared.profile.settings.expired_marker) {
                // The standard's marker says "fetch a new token": the mall does, once, and
                // asks again (a supplier may revoke a token when it issues the next one).
                shared.emit(Event::Exchange(Box::new(first.clone())));
                shared.client.forget_token();
                match shared.client.current_token().await {
                    Ok(_) => {
                        shared
                            .client
                            .call(&interface.id, &params, TokenUse::Auto)
                            .await
                    }
                    Err(failed) => failed,
                }
            } else {
                first
            }
        };
        shared.emit(Event::Exchange(Box::new(exchange.clone())));
        note_unreachable(shared, &exchange);
        let expect_success = call.expect.success.unwrap_or(true);
        let input = ExchangeInput {
            profile: &shared.profile,
            interface,
            exchange: &exchange,
            params: &params,
            expect_success,
        };
        // Whether the result's content is sound (what a buyer would see), for the knowledge:
        // transport findings such as a line break do not make a detail incomplete.
        let mut clean = true;
        let mut runs = checks::run_exchange_checks(&input);
        if let (Some(first), Some(result)) = (
            reissued_since,
            exchange.answer().and_then(|a| a.get("result").cloned()),
        ) {
            // The same token as before: only what is left of its 36 hours can be judged.
            runs.retain(|r| r.check != checks::ids::TOKEN_LIFETIME);
            runs.extend(checks::token_lifetime_again(&input, &result, first));
        }
        for run in runs {
            if matches!(
                run.check.as_str(),
                checks::ids::SCHEMA | checks::ids::DETAIL_COMPLETE | checks::ids::DETAIL_SAME_SKU
            ) {
                clean &= run.findings.is_empty();
            }
            record_check_run(rows, &run, Some(&interface.id), &exchange);
        }
        let answer = exchange.answer();
        let succeeded = answer
            .as_ref()
            .and_then(|a| a.get("success"))
            .and_then(Value::as_bool)
            == Some(true);
        if succeeded && expect_success {
            probe_images(shared, &input, rows).await;
        }
        if interface.id == "stocks" {
            check_stock_latency(shared, &exchange, rows);
        }
        if let Ok(mut knowledge) = shared.knowledge.lock() {
            match (&answer, succeeded) {
                (Some(a), true) => knowledge.learn(
                    &interface.id,
                    &params,
                    a.get("result").unwrap_or(&Value::Null),
                    clean,
                ),
                _ => knowledge.learn_failure(&interface.id, &params),
            }
        }
        shared
            .orders
            .observe(&interface.id, &params, answer.as_ref());
        let requirements = if call.requirements.is_empty() {
            vec![interface.schema_requirement.clone()]
        } else {
            call.requirements.clone()
        };
        judge_expectations(
            call,
            round,
            answer.as_ref(),
            &requirements,
            &interface.id,
            &exchange,
            rows,
        )?;
        for (name, pointer) in &call.capture {
            let pointer = as_text(&template::render_str(
                pointer.as_str().unwrap_or_default(),
                round,
            )?);
            let Some(value) = answer.as_ref().and_then(|a| a.pointer(&pointer)).cloned() else {
                continue;
            };
            if looping {
                let gathered = captured
                    .entry(name.clone())
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(all) = gathered {
                    match value {
                        Value::Array(items) => all.extend(items),
                        other => all.push(other),
                    }
                }
            } else {
                captured.insert(name.clone(), value);
            }
        }
    }
    Ok(captured)
}

fn failure_summary(exchange: &Exchange) -> String {
    if let Some(error) = &exchange.error {
        return error.describe();
    }
    let body = exchange.body_text();
    let excerpt: String = body.chars().take(160).collect();
    match &exchange.response {
        Some(r) => format!("HTTP {}: {excerpt}", r.status),
        None => excerpt,
    }
}

/// A target that cannot be connected to at all ends the run as a runtime error.
fn note_unreachable(shared: &Shared, exchange: &Exchange) {
    if let Some(TransportError::Connect { .. } | TransportError::Tls { .. }) = &exchange.error
        && let Ok(mut unreachable) = shared.unreachable.lock()
        && unreachable.is_none()
    {
        *unreachable = Some(format!(
            "供应商不可达 supplier unreachable at {}: {}",
            exchange.request.url,
            failure_summary(exchange)
        ));
    }
}

/// A call a builtin makes on its own: sent with the run's token, recorded, and judged by the
/// exchange checks like any scenario call.
pub(crate) async fn call_checked(
    shared: &Arc<Shared>,
    rows: &mut Rows<'_>,
    interface_id: &str,
    params: &Map<String, Value>,
) -> Exchange {
    let exchange = shared
        .client
        .call(interface_id, params, TokenUse::Auto)
        .await;
    shared.emit(Event::Exchange(Box::new(exchange.clone())));
    if let Some(interface) = shared.profile.interface(interface_id) {
        let input = ExchangeInput {
            profile: &shared.profile,
            interface,
            exchange: &exchange,
            params,
            expect_success: true,
        };
        for run in checks::run_exchange_checks(&input) {
            record_check_run(rows, &run, Some(interface_id), &exchange);
        }
    }
    exchange
}

pub(crate) fn record_check_run(
    rows: &mut Rows<'_>,
    run: &checks::CheckRun,
    interface: Option<&str>,
    exchange: &Exchange,
) {
    for requirement in &run.requirements {
        if !run.findings.iter().any(|f| &f.requirement == requirement) {
            rows.pass(&run.check, requirement, interface, Some(exchange), "ok");
        }
    }
    for finding in &run.findings {
        rows.finding(finding, interface, Some(exchange));
    }
}

async fn probe_images(shared: &Arc<Shared>, input: &ExchangeInput<'_>, rows: &mut Rows<'_>) {
    let urls: Vec<(String, String)> = checks::image_urls(input)
        .into_iter()
        .filter(|(_, url)| {
            shared
                .probed_images
                .lock()
                .map(|mut seen| seen.insert(url.clone()))
                .unwrap_or(false)
        })
        .collect();
    let mut probes = tokio::task::JoinSet::new();
    for (pointer, url) in urls {
        let shared = Arc::clone(shared);
        probes.spawn(async move {
            let _slot = shared.image_slots.acquire().await;
            let probe = shared.client.get(&url, "image").await;
            (pointer, url, probe)
        });
    }
    while let Some(Ok((pointer, url, probe))) = probes.join_next().await {
        let mut run = checks::judge_image(&pointer, &url, &probe);
        run.findings.extend(checks::judge_image_host(
            &pointer,
            &url,
            shared.client.base_url(),
        ));
        shared.emit(Event::Exchange(Box::new(probe.clone())));
        record_check_run(rows, &run, Some(input.interface.id.as_str()), &probe);
    }
}

fn check_stock_latency(shared: &Shared, exchange: &Exchange, rows: &mut Rows<'_>) {
    let bound = shared.config.stock_latency_ms;
    if exchange.response.is_none() {
        return;
    }
    if exchange.duration_ms > bound {
        let finding = checks::Finding {
            check: "stock-latency".into(),
            requirement: "STK-REALTIME".into(),
            message: format!(
                "库存接口响应过慢 stock answered in {} ms, above the {} ms bound",
                exchange.duration_ms, bound
            ),
            pointer: None,
            expected: Some(format!("≤ {bound} ms")),
            actual: Some(format!("{} ms", exchange.duration_ms)),
        };
        rows.finding(&finding, Some("stocks"), Some(exchange));
    } else {
        rows.pass(
            "stock-latency",
            "STK-REALTIME",
            Some("stocks"),
            Some(exchange),
            "ok",
        );
    }
}

fn expectation_finding(
    requirement: &str,
    message: String,
    pointer: Option<String>,
    expected: String,
    actual: String,
) -> checks::Finding {
    checks::Finding {
        check: "expect".into(),
        requirement: requirement.to_string(),
        message,
        pointer,
        expected: Some(expected),
        actual: Some(actual),
    }
}

fn judge_expectations(
    call: &CallStep,
    vars: &Scope<'_>,
    answer: Option<&Value>,
    requirements: &[String],
    interface: &str,
    exchange: &Exchange,
    rows: &mut Rows<'_>,
) -> Result<(), Abort> {
    let mut verdicts: Vec<(Vec<String>, Option<checks::Finding>)> = Vec::new();
    let success = answer
        .and_then(|a| a.get("success"))
        .and_then(Value::as_bool);
    let desc = answer
        .and_then(|a| a.get("desc"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let title = call
        .title
        .as_ref()
        .map(|t| format!("{} / {}: ", t.zh, t.en))
        .unwrap_or_default();
    if let Some(expected) = call.expect.success {
        let ok = success == Some(expected);
        let finding = (!ok).then(|| {
            let actual = match success {
                Some(s) => format!("success = {s}; desc = {desc:?}"),
                None => format!("no usable answer ({})", failure_summary(exchange)),
            };
            let message = if expected {
                format!("{title}应当成功 expected success, got {actual}")
            } else {
                format!("{title}应当被拒绝 expected a refusal (success: false), got {actual}")
            };
            expectation_finding(
                "",
                message,
                Some("/success".into()),
                format!("success = {expected}"),
                actual,
            )
        });
        verdicts.push((requirements.to_vec(), finding));
    }
    if let Some(needle) = &call.expect.desc_contains {
        let needle = as_text(&template::render_str(needle, vars)?);
        let ok = desc.contains(&needle);
        let finding = (!ok).then(|| {
            expectation_finding(
                "",
                format!("{title}desc 应包含 {needle:?} desc must contain {needle:?}, got {desc:?}"),
                Some("/desc".into()),
                format!("desc contains {needle:?}"),
                format!("{desc:?}"),
            )
        });
        verdicts.push((requirements.to_vec(), finding));
    }
    for expect in &call.expect.values {
        let finding = judge_value(expect, vars, answer, &title)?;
        let owners = match &expect.requirement {
            Some(r) => vec![r.clone()],
            None => requirements.to_vec(),
        };
        verdicts.push((owners, finding));
    }
    for (owners, finding) in verdicts {
        for requirement in owners {
            match &finding {
                None => rows.pass(
                    "expect",
                    &requirement,
                    Some(interface),
                    Some(exchange),
                    "ok",
                ),
                Some(f) => {
                    let mut f = f.clone();
                    f.requirement = requirement;
                    rows.finding(&f, Some(interface), Some(exchange));
                }
            }
        }
    }
    Ok(())
}

/// Exact comparison of JSON values: numbers by decimal value (19.9 equals 19.90); values of
/// different types differ (a state "0" is not the state 0).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => {
            match (checks::decimal_of(a), checks::decimal_of(b)) {
                (Some(x), Some(y)) => x == y,
                _ => a == b,
            }
        }
        _ => a == b,
    }
}

fn judge_value(
    expect: &ValueExpect,
    vars: &Scope<'_>,
    answer: Option<&Value>,
    title: &str,
) -> Result<Option<checks::Finding>, Abort> {
    let pointer = as_text(&template::render_str(&expect.at, vars)?);
    let actual = answer.and_then(|a| a.pointer(&pointer));
    let shown = actual.map(|v| {
        let text = v.to_string();
        if text.chars().count() > 200 {
            format!("{}…", text.chars().take(200).collect::<String>())
        } else {
            text
        }
    });
    if expect.if_present && actual.is_none() {
        return Ok(None);
    }
    let fail = |what: String, expected: String| {
        Some(expectation_finding(
            "",
            format!("{title}{pointer}: {what}"),
            Some(pointer.clone()),
            expected,
            shown.clone().unwrap_or_else(|| "(absent)".into()),
        ))
    };
    if let Some(exists) = expect.exists
        && exists != actual.is_some()
    {
        return Ok(fail(
            if exists {
                "缺少 missing".into()
            } else {
                "不应存在 should be absent".into()
            },
            if exists {
                "present".into()
            } else {
                "absent".into()
            },
        ));
    }
    if let Some(expected) = &expect.equals {
        let expected = template::render(expected, vars)?;
        if !actual.is_some_and(|a| same(a, &expected)) {
            return Ok(fail(
                format!("应为 expected {expected}"),
                expected.to_string(),
            ));
        }
    }
    if let Some(unexpected) = &expect.not_equals {
        let unexpected = template::render(unexpected, vars)?;
        if actual.is_some_and(|a| same(a, &unexpected)) {
            return Ok(fail(
                format!("不应为 must not be {unexpected}"),
                format!("≠ {unexpected}"),
            ));
        }
    }
    if let Some(options) = &expect.one_of {
        let options: Vec<Value> = options
            .iter()
            .map(|o| template::render(o, vars))
            .collect::<Result<_, _>>()?;
        if !actual.is_some_and(|a| options.iter().any(|o| same(a, o))) {
            let list = Value::Array(options).to_string();
            return Ok(fail(
                format!("应为其一 expected one of {list}"),
                format!("one of {list}"),
            ));
        }
    }
    if let Some(keys) = &expect.has_keys {
        let missing: Vec<&String> = keys
            .iter()
            .filter(|k| {
                !actual
                    .and_then(Value::as_object)
                    .is_some_and(|m| m.contains_key(k.as_str()))
            })
            .collect();
        if !missing.is_empty() {
            let list = missing
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join("、");
            return Ok(fail(
                format!("缺少 missing keys: {list}"),
                format!("has {}", keys.join("、")),
            ));
        }
    }
    if let Some(needle) = &expect.contains {
        let needle = template::render(needle, vars)?;
        let found = match (actual, &needle) {
            (Some(Value::Array(items)), n) => items.iter().any(|i| same(i, n)),
            (Some(Value::String(s)), Value::String(n)) => s.contains(n.as_str()),
            _ => false,
        };
        if !found {
            return Ok(fail(
                format!("应包含 must contain {needle}"),
                format!("contains {needle}"),
            ));
        }
    }
    if let Some(min) = expect.min_items {
        let len = match actual {
            Some(Value::Array(items)) => items.len(),
            Some(Value::Object(map)) => map.len(),
            _ => 0,
        };
        if len < min {
            return Ok(fail(
                format!("至少 {min} 项 needs at least {min} items, has {len}"),
                format!("≥ {min} items"),
            ));
        }
    }
    Ok(None)
}

/// The admin clock answers its new time (`result.now`, in the profile's format and zone): the
/// client signs later token calls on that time.
pub(crate) fn learn_supplier_clock(
    client: &crate::client::Client,
    settings: &crate::profile::Settings,
    exchange: &Exchange,
) {
    let now = exchange.answer().and_then(|a| {
        a.pointer("/result/now")
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    let Some(now) = now else { return };
    let Ok(naive) = chrono::NaiveDateTime::parse_from_str(&now, &settings.timestamp_format) else {
        return;
    };
    let supplier_ms =
        naive.and_utc().timestamp_millis() - i64::from(settings.utc_offset_seconds) * 1000;
    let local_ms = chrono::Utc::now().timestamp_millis();
    client.set_supplier_skew_ms(supplier_ms - local_ms);
}

pub(crate) async fn run_admin(
    shared: &Shared,
    step: &AdminStep,
    vars: &Scope<'_>,
) -> Result<(), Abort> {
    let mut calls: Vec<(&str, Vec<(String, String)>)> = Vec::new();
    if let Some(seconds) = step.admin.advance_seconds {
        calls.push((
            "/__admin/clock",
            vec![("advance_seconds".into(), seconds.to_string())],
        ));
    }
    if let Some(stock) = &step.admin.set_stock {
        let rendered = render_map(stock, vars)?;
        calls.push((
            "/__admin/stock",
            rendered
                .iter()
                .map(|(k, v)| (k.clone(), as_text(v)))
                .collect(),
        ));
    }
    for (path, params) in calls {
        let borrowed: Vec<(&str, String)> = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        let exchange = shared.client.post_path(path, &borrowed).await;
        shared.emit(Event::Exchange(Box::new(exchange.clone())));
        if !exchange.succeeded() {
            return Err(Abort(format!(
                "管理接口失败 admin call {path} failed: {}",
                failure_summary(&exchange)
            )));
        }
        if path == "/__admin/clock" {
            learn_supplier_clock(&shared.client, &shared.profile.settings, &exchange);
            if !step.admin.keep_token {
                shared.client.forget_token();
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::same;
    use serde_json::{Value, json};

    fn number(text: &str) -> Value {
        serde_json::from_str(text).unwrap_or(Value::Null)
    }

    #[test]
    fn numbers_compare_exactly_and_types_do_not_mix() {
        assert!(same(&number("19.9"), &number("19.90")));
        assert!(!same(&number("19.9"), &number("19.91")));
        assert!(!same(&json!("0"), &json!(0)));
        assert!(!same(&json!(-2), &json!("-2")));
        assert!(same(&json!("A0101"), &json!("A0101")));
    }
}
