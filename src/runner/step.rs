//! One call step, as a pipeline: render → send (with the token retry) → judge → learn →
//! capture. The answer is parsed once, by the judge, and handed along; every verdict comes from
//! `checks/`. A `for_each` step runs the pipeline once per item.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::orders;
use super::results::Rows;
use super::shared::Shared;
use crate::checks::{self, ExchangeInput, Judged, StepExpectation, ids};
use crate::client::{Exchange, Tamper, TokenUse, TransportError};
use crate::profile::{Interface, iface};
use crate::scenario::model::{CallStep, Expect, Poll, TamperChoice, TokenChoice};
use crate::scenario::template::{self, Scope, as_text};

/// Answers at least this large are parsed and judged one at a time (`Shared::large_answers`).
const LARGE_ANSWER_BYTES: usize = 1024 * 1024;

/// Bytes of an image read to judge it (its magic number, and a little more as evidence); the
/// rest is not downloaded, so an 8 MB image costs no more than a small one.
const IMAGE_PROBE_BYTES: usize = 4096;

/// Why a scenario stopped before its end.
pub(crate) struct Abort(pub String);

impl From<template::TemplateError> for Abort {
    fn from(e: template::TemplateError) -> Abort {
        Abort(format!("模板无法求值 / cannot evaluate a template: {e}"))
    }
}

/// What a step captured: a name and its value, or (in a `for_each` step) the values of every
/// round gathered into one array.
pub(crate) type Captures = Map<String, Value>;

/// A call step with its templates evaluated for one round.
struct Rendered<'p> {
    interface: &'p Interface,
    /// Logical parameter names; the client renames them for the wire.
    params: Map<String, Value>,
    expect: Expect,
    captures: Vec<CaptureSpec>,
    /// The parameters were made ones no supplier can fulfil (see [`harmless`]).
    harmless: bool,
}

/// One capture of a call step.
struct CaptureSpec {
    name: String,
    /// JSON pointer into the answer, in logical names.
    pointer: String,
    /// In a `for_each` step: one item per round, not the rounds' items gathered.
    per_round: bool,
    /// At most this many items kept (a seeded sample, in answer order).
    keep: Option<usize>,
}

/// The exchange a call produced, and what the judge needs to know of how it was sent.
struct Sent {
    exchange: Exchange,
    /// A token handed out again: first issued earlier in this run, at this time.
    reissued_since: Option<u64>,
}

pub(crate) async fn run_call(
    shared: &Arc<Shared>,
    call: &CallStep,
    vars: &Scope<'_>,
    rows: &mut Rows<'_>,
    retry_expired: bool,
) -> Result<Captures, Abort> {
    let mut captured = Captures::new();
    let mut kept = Kept::new(vars);
    if let Some(when) = &call.when
        && is_empty_value(&template::render_str(when, vars)?)
    {
        return Ok(captured);
    }
    let items = for_each_items(call, vars, rows)?;
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
        let mut wait = call.poll.as_ref().map(|poll| Waiting::new(shared, poll));
        loop {
            let rendered = render(shared, call, round)?;
            // Declared not implemented: not called, and nothing said of it here (the report
            // lists the interface as not implemented).
            if shared
                .options
                .not_implemented
                .contains(&rendered.interface.id)
            {
                break;
            }
            let sent = send(shared, call, &rendered, round, retry_expired).await?;
            // One large answer parsed at a time: its value tree is 10 times its text, and two
            // scenarios asking for the same million-SKU pool at once would hold two.
            let _large = match sent.exchange.response.as_ref() {
                Some(r) if r.body.len() >= LARGE_ANSWER_BYTES => {
                    shared.large_answers.acquire().await.ok()
                }
                _ => None,
            };
            let (judged, held) = judge(shared, call, &rendered, &sent, rows, wait.is_some());
            let waiting = match &mut wait {
                Some(waiting) if !held => waiting,
                _ => {
                    learn(shared, &rendered, &judged, rows).await;
                    capture(&rendered, &judged, looping, &mut captured, &mut kept);
                    break;
                }
            };
            if !waiting.next_try(shared).await? {
                return Err(waiting.ran_out(call, rows));
            }
        }
    }
    kept.finish(&mut captured);
    Ok(captured)
}

/// The tries of a `poll` step.
struct Waiting {
    pauses: super::watch::Pauses,
    advance_seconds: Option<i64>,
    clock_moves: u32,
    started: std::time::Instant,
}

impl Waiting {
    fn new(shared: &Shared, poll: &Poll) -> Waiting {
        Waiting {
            pauses: super::watch::Pauses::from_config(&shared.config.orders),
            advance_seconds: poll.advance_seconds,
            clock_moves: 0,
            started: std::time::Instant::now(),
        }
    }

    /// Waits for the next try (moves the clock with admin); false when the wait has run out.
    async fn next_try(&mut self, shared: &Shared) -> Result<bool, Abort> {
        match self.advance_seconds {
            Some(seconds) if shared.options.admin => {
                if self.clock_moves == super::watch::MAX_CLOCK_MOVES {
                    return Ok(false);
                }
                super::admin::advance_clock(shared, seconds).await?;
                self.clock_moves += 1;
                Ok(true)
            }
            _ => Ok(self.pauses.wait().await),
        }
    }

    /// The step's requirements are not judged: the supplier did not get there in time.
    fn ran_out(&self, call: &CallStep, rows: &mut Rows<'_>) -> Abort {
        let waited = match (self.clock_moves, self.advance_seconds) {
            (moves, Some(seconds)) if moves > 0 => format!("{moves} clock moves of {seconds} s"),
            _ => format!("{:.0} s", self.started.elapsed().as_secs_f64()),
        };
        let requirements: Vec<&str> = call.requirements.iter().map(String::as_str).collect();
        let reason = format!(
            "等待 {waited} 后仍未满足 / the expectations did not hold after {waited} ([orders] wait_seconds)"
        );
        rows.record(
            &checks::CheckRun::not_judged(ids::EXPECT, &requirements, reason.clone()),
            Some(&call.call),
            None,
        );
        Abort(format!("{reason}; what follows is not judged"))
    }
}

/// Evaluates the step's templates for one round and checks that a step expecting success sends
/// what the profile allows (otherwise the scenario, not the supplier, is wrong).
fn render<'p>(
    shared: &'p Shared,
    call: &CallStep,
    vars: &Scope<'_>,
) -> Result<Rendered<'p>, Abort> {
    let interface_id = as_text(&template::render_str(&call.call, vars)?);
    let Some(interface) = shared.profile.interface(&interface_id) else {
        return Err(Abort(format!("unknown interface {interface_id:?}")));
    };
    let params = match template::render(&call.params, vars)? {
        Value::Object(map) => map,
        other => {
            return Err(Abort(format!(
                "params must be an object, got {}",
                as_text(&other)
            )));
        }
    };
    let (params, harmless) = harmless(shared, interface, call, params)?;
    if interface.auth && call.expect.success.unwrap_or(true) {
        let wire = Value::Object(shared.profile.fields.to_wire_map(&params));
        let violations = shared.profile.validate_request(&interface.id, &wire);
        if let Some(v) = violations.first() {
            return Err(Abort(format!(
                "场景参数不符合请求 schema / the scenario's parameters for {} break the request schema at {}: {}",
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
    let mut expect = call.expect.clone();
    if let Some(needle) = &expect.desc_contains {
        expect.desc_contains = Some(as_text(&template::render_str(needle, vars)?));
    }
    for value in &mut expect.values {
        value.at = as_text(&template::render_str(&value.at, vars)?);
        for v in [
            &mut value.equals,
            &mut value.not_equals,
            &mut value.contains,
        ]
        .into_iter()
        .flatten()
        {
            *v = template::render(v, vars)?;
        }
        if let Some(options) = &mut value.one_of {
            for option in options.iter_mut() {
                *option = template::render(option, vars)?;
            }
        }
    }
    let captures = call
        .capture
        .iter()
        .map(|(name, spec)| {
            let (pointer, per_round, keep) = match spec {
                Value::Object(spec) => (
                    spec.get("at").and_then(Value::as_str).unwrap_or_default(),
                    spec.get("per_round").and_then(Value::as_bool) == Some(true),
                    spec.get("keep"),
                ),
                other => (other.as_str().unwrap_or_default(), false, None),
            };
            // A number, or a template yielding one (`${run.sample}`).
            let keep = match keep {
                Some(Value::String(text)) => Some(template::render_str(text, vars)?),
                other => other.cloned(),
            }
            .and_then(|n| n.as_u64().or_else(|| n.as_str()?.parse().ok()))
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
            let pointer = template::render_str(pointer, vars)?;
            Ok(CaptureSpec {
                name: name.clone(),
                pointer: as_text(&pointer),
                per_round,
                keep,
            })
        })
        .collect::<Result<_, Abort>>()?;
    Ok(Rendered {
        interface,
        params,
        expect,
        captures,
        harmless,
    })
}

/// On a target not cleared for orders, a call that changes the supplier's state is sent only
/// to see a refusal (a token check), and then with the profile's `harmless` parameters over the
/// scenario's: no real SKU, no quantity, no known order. Nothing else of the kind is sent there.
fn harmless(
    shared: &Shared,
    interface: &Interface,
    call: &CallStep,
    mut params: Map<String, Value>,
) -> Result<(Map<String, Value>, bool), Abort> {
    let Some(harmless) = interface.harmless.as_ref() else {
        return Ok((params, false));
    };
    if shared.options.allow_orders {
        return Ok((params, false));
    }
    if call.expect.success != Some(false) {
        return Err(Abort(format!(
            "未获准下单 / not sent: {} changes the supplier's state and this target is not cleared for orders (--allow-orders, or environment = \"test\")",
            interface.id
        )));
    }
    params.extend(harmless.iter().map(|(k, v)| (k.clone(), v.clone())));
    Ok((params, true))
}

/// Sends the call. A call that expects success and meets the standard's expired marker fetches
/// a new token once and asks again, as the mall does.
async fn send(
    shared: &Arc<Shared>,
    call: &CallStep,
    rendered: &Rendered<'_>,
    vars: &Scope<'_>,
    retry_expired: bool,
) -> Result<Sent, Abort> {
    let interface = rendered.interface;
    let params = &rendered.params;
    if let Some(why) = shared.client.silenced() {
        return Err(Abort(format!("未发送 / blocked: {why}")));
    }
    if let Some(why) = shared.client.timed_out_before(&interface.id) {
        return Err(Abort(format!(
            "未发送 / blocked: {} timed out earlier in this run ({why}); not asked again",
            interface.id
        )));
    }
    if !interface.auth {
        if let Some(why) = shared.client.token_unanswered() {
            return Err(Abort(format!(
                "授权接口无应答 / blocked: the token interface did not answer earlier in this run ({why}); not asked again"
            )));
        }
        let tamper = call.tamper.map(|t| match t {
            TamperChoice::WrongSign => Tamper::WrongSign,
            TamperChoice::StaleTimestamp => Tamper::StaleTimestamp,
        });
        let (exchange, issued) = match (&call.credentials, tamper) {
            (_, Some(tamper)) => shared.client.fetch_token_tampered(tamper).await,
            (Some(c), None) => {
                let username = as_text(&template::render_str(&c.username, vars)?);
                let password = as_text(&template::render_str(&c.password, vars)?);
                shared.client.fetch_token_with(&username, &password).await
            }
            (None, None) => shared.client.fetch_token().await,
        };
        let reissued_since = issued
            .filter(|t| t.first_issued_ms < t.obtained_at_ms)
            .map(|t| t.first_issued_ms);
        shared.client.note_token_exchange(&exchange);
        shared.emit_exchange(&exchange);
        // The token scenario's own call may be the first to find the supplier unreachable:
        // the calls after it are then refused at once, without an exchange of their own.
        note_unreachable(shared, &exchange);
        return Ok(Sent {
            exchange,
            reissued_since,
        });
    }
    let token = match call.token {
        TokenChoice::Auto => {
            if let Some(why) = shared.client.token_unanswered() {
                // Said once by the call that waited; the others are blocked at once.
                return Err(Abort(format!(
                    "未能获取 access token / blocked: the token interface did not answer earlier in this run ({why}); not asked again"
                )));
            }
            if let Err(failed) = shared.client.current_token().await {
                shared.emit_exchange(&failed);
                note_unreachable(shared, &failed);
                return Err(Abort(format!(
                    "未能获取 access token / blocked: no access token ({})",
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
    let auto =
        matches!(token, TokenUse::Auto) && retry_expired && call.expect.success != Some(false);
    let exchange = if interface.id == iface::SUBMIT {
        // A pre-order goes through the order book: written down first, never abandoned.
        let id = interface.id.clone();
        let kind = if rendered.harmless {
            orders::SubmitKind::Harmless
        } else if call.expect.success == Some(false) {
            orders::SubmitKind::ToBeRefused
        } else {
            orders::SubmitKind::ToBeAccepted
        };
        orders::send_submit(shared, params, kind, move |shared, params| async move {
            call_renewing_token(&shared, &id, &params, token, auto).await
        })
        .await
        .map_err(Abort)?
    } else {
        call_renewing_token(shared, &interface.id, params, token, auto).await
    };
    shared.emit_exchange(&exchange);
    note_unreachable(shared, &exchange);
    Ok(Sent {
        exchange,
        reissued_since: None,
    })
}

/// One call; when `renew` and the answer carries the expired-token marker, the mall fetches a
/// new token, once, and asks again (a supplier may revoke a token when it issues the next one).
async fn call_renewing_token(
    shared: &Shared,
    interface: &str,
    params: &Map<String, Value>,
    token: TokenUse,
    renew: bool,
) -> Exchange {
    let first = shared.client.call(interface, params, token).await;
    if !(renew && token_expired(&first, &shared.profile.settings.expired_marker)) {
        return first;
    }
    shared.emit_exchange(&first);
    shared.client.forget_token();
    match shared.client.current_token().await {
        Ok(_) => shared.client.call(interface, params, TokenUse::Auto).await,
        Err(failed) => failed,
    }
}

/// The exchange checks and the step's expectations, recorded as rows.
fn judge(
    shared: &Shared,
    call: &CallStep,
    rendered: &Rendered<'_>,
    sent: &Sent,
    rows: &mut Rows<'_>,
    polling: bool,
) -> (Judged, bool) {
    judge_implicit_issues(shared, rows);
    let interface = rendered.interface;
    // A large SKU list is read without a value tree (a million codes would be 64 MB of values),
    // unless the step looks into `result` itself.
    let compact = interface.id == iface::SKUS
        && sent
            .exchange
            .response
            .as_ref()
            .is_some_and(|r| r.body.len() >= LARGE_ANSWER_BYTES)
        && rendered
            .expect
            .values
            .iter()
            .all(|v| !v.at.starts_with("/result"))
        && rendered.expect.desc_contains.is_none()
        && rendered
            .captures
            .iter()
            .all(|c| c.pointer == "/result" || !c.pointer.starts_with("/result"));
    let input = exchange_input(
        shared,
        interface,
        &sent.exchange,
        &rendered.params,
        rendered.expect.success.unwrap_or(true),
        sent.reissued_since,
    );
    let judged = if compact {
        checks::judge_sku_list(&input).into()
    } else {
        checks::judge_exchange(&input)
    };
    let requirements = if call.requirements.is_empty() {
        vec![interface.schema_requirement.clone()]
    } else {
        call.requirements.clone()
    };
    let expectation = StepExpectation {
        expect: &rendered.expect,
        requirements: &requirements,
        title: call
            .title
            .as_ref()
            .map(|t| format!("{} / {}: ", t.zh, t.en))
            .unwrap_or_default(),
        harmless_marker: rendered
            .harmless
            .then_some(shared.profile.settings.expired_marker.as_str()),
    };
    let mut expectation_runs =
        checks::judge_step_expectations(&expectation, &judged, &failure_summary(&sent.exchange));
    if let Some(hint) = &call.hint {
        for finding in expectation_runs
            .iter_mut()
            .flat_map(|r| r.findings.iter_mut())
        {
            finding.message = crate::lang::with_hint(&finding.message, &hint.zh, &hint.en);
        }
    }
    // While polling, an accepted answer whose values are not there yet is judged for its form
    // only: the supplier may still get there.
    let held = !polling
        || !judged.succeeded()
        || expectation_runs
            .iter()
            .all(|r| r.findings.is_empty() && r.unjudged.is_empty());
    let expectations: &[checks::CheckRun] = if held { &expectation_runs } else { &[] };
    for run in judged.runs.iter().chain(expectations) {
        rows.record(run, Some(&interface.id), Some(&sent.exchange));
    }
    (judged, held)
}

/// What the answer teaches the rest of the run: knowledge for the cross-interface checks and
/// the order to pick, the order book, and the images it names (each probed once).
async fn learn(
    shared: &Arc<Shared>,
    rendered: &Rendered<'_>,
    judged: &Judged,
    rows: &mut Rows<'_>,
) {
    let interface = rendered.interface;
    let succeeded = judged.succeeded();
    if let Ok(mut knowledge) = shared.knowledge.lock() {
        knowledge.learn_judged(&interface.id, &rendered.params, judged);
    }
    shared
        .orders
        .observe(&interface.id, &rendered.params, judged.value());
    if succeeded && rendered.expect.success.unwrap_or(true) {
        probe_images(shared, &interface.id, judged.result(), rows).await;
    }
}

/// The values the step captures, from the answer in logical names.
fn capture(
    rendered: &Rendered<'_>,
    judged: &Judged,
    looping: bool,
    captured: &mut Captures,
    kept: &mut Kept,
) {
    for spec in &rendered.captures {
        // A SKU list read compactly is sampled where it lies, never turned into values whole.
        let found = match (&judged.sku_codes, spec.pointer.as_str()) {
            (Some(codes), "/result") => Found::Codes(codes),
            _ => match judged.value().and_then(|a| a.pointer(&spec.pointer)) {
                Some(value) => Found::Value(value),
                None => continue,
            },
        };
        let round = || match captured.get(&spec.name) {
            Some(Value::Array(rounds)) => rounds.len(),
            _ => 0,
        };
        let value = match (spec.keep, found) {
            // One round's list cut to the sample `sample_each` would draw from it.
            (Some(keep), Found::Value(Value::Array(items))) if spec.per_round => {
                Value::Array(template::sample_of_group(items, keep, kept.seed, round()))
            }
            (Some(keep), Found::Codes(codes)) if spec.per_round => Value::Array(
                template::sample_of_group_indices(codes.len(), keep, kept.seed, round())
                    .into_iter()
                    .map(|i| codes.item(i))
                    .collect(),
            ),
            // A single value outside a loop has nothing to sample: captured as it is.
            (Some(keep), Found::Value(value)) if looping || value.is_array() => {
                let items = match value {
                    Value::Array(items) => items.as_slice(),
                    other => std::slice::from_ref(other),
                };
                let reservoir = kept.reservoir(&spec.name, keep);
                items.iter().for_each(|item| reservoir.offer(item));
                continue;
            }
            (Some(keep), Found::Codes(codes)) => {
                let reservoir = kept.reservoir(&spec.name, keep);
                (0..codes.len()).for_each(|i| reservoir.offer(&codes.item(i)));
                continue;
            }
            (None, Found::Codes(codes)) => {
                Value::Array((0..codes.len()).map(|i| codes.item(i)).collect())
            }
            (_, Found::Value(value)) => value.clone(),
        };
        if looping {
            let gathered = captured
                .entry(spec.name.clone())
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(all) = gathered {
                match value {
                    Value::Array(items) if !spec.per_round => all.extend(items),
                    other => all.push(other),
                }
            }
        } else {
            captured.insert(spec.name.clone(), value);
        }
    }
}

/// What a capture's pointer found: a value, or a SKU list read compactly.
enum Found<'a> {
    Value(&'a Value),
    Codes(&'a checks::SkuCodes),
}

/// The captures with `keep`: a seeded sample per name, over every round, set when the step ends.
struct Kept {
    /// The run's seed (`run.seed`), as the template filters see it.
    seed: Option<u64>,
    samples: Vec<(String, template::Reservoir)>,
}

impl Kept {
    fn new(vars: &Scope<'_>) -> Kept {
        Kept {
            seed: template::seed_of(vars),
            samples: Vec::new(),
        }
    }

    /// The sample of `name`, begun on first use.
    fn reservoir(&mut self, name: &str, keep: usize) -> &mut template::Reservoir {
        let at = match self.samples.iter().position(|(n, _)| n == name) {
            Some(at) => at,
            None => {
                // Each name its own draw from the run's seed (FNV-1a of the name).
                let salt = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                    (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
                });
                let seed = self.seed.unwrap_or(0) ^ salt;
                self.samples
                    .push((name.to_string(), template::Reservoir::new(keep, seed)));
                self.samples.len() - 1
            }
        };
        &mut self.samples[at].1
    }

    fn finish(self, captured: &mut Captures) {
        for (name, reservoir) in self.samples {
            captured.insert(name, reservoir.into_value());
        }
    }
}

/// One call with the current token; a submit goes through the order book (written down first,
/// never abandoned). A call to an interface that timed out earlier is not sent (the client
/// says so in the exchange).
pub(crate) async fn call(
    shared: &Arc<Shared>,
    interface_id: &str,
    params: &Map<String, Value>,
    expect_success: bool,
) -> Exchange {
    if interface_id != iface::SUBMIT {
        return shared
            .client
            .call(interface_id, params, TokenUse::Auto)
            .await;
    }
    // A builtin's pre-order the run may not send is an exchange that never happened: what
    // needed it is not judged.
    if !shared.options.allow_orders {
        return shared.client.internal_failure(
            iface::SUBMIT,
            "未获准下单 / not sent: this target is not cleared for orders".to_string(),
        );
    }
    let kind = if expect_success {
        orders::SubmitKind::ToBeAccepted
    } else {
        orders::SubmitKind::ToBeRefused
    };
    let sent = orders::send_submit(shared, params, kind, |shared, params| async move {
        shared
            .client
            .call(iface::SUBMIT, &params, TokenUse::Auto)
            .await
    })
    .await;
    sent.unwrap_or_else(|why| shared.client.internal_failure(iface::SUBMIT, why))
}

/// A call a builtin makes on its own: sent with the run's token, recorded, and judged by the
/// exchange checks like any scenario call.
pub(crate) async fn call_judged(
    shared: &Arc<Shared>,
    rows: &mut Rows<'_>,
    interface_id: &str,
    params: &Map<String, Value>,
    expect_success: bool,
) -> (Exchange, Option<Judged>) {
    let exchange = call(shared, interface_id, params, expect_success).await;
    let judged = record_judged(
        shared,
        rows,
        interface_id,
        params,
        &exchange,
        expect_success,
    );
    (exchange, judged)
}

/// The judge's verdict on one exchange, with the run's settings (latency bound, parsing limits).
fn judge_with(
    shared: &Shared,
    interface: &Interface,
    exchange: &Exchange,
    params: &Map<String, Value>,
    expect_success: bool,
    token_first_issued_ms: Option<u64>,
) -> Judged {
    checks::judge_exchange(&exchange_input(
        shared,
        interface,
        exchange,
        params,
        expect_success,
        token_first_issued_ms,
    ))
}

/// What the judge is given of one exchange.
fn exchange_input<'a>(
    shared: &'a Shared,
    interface: &'a Interface,
    exchange: &'a Exchange,
    params: &'a Map<String, Value>,
    expect_success: bool,
    token_first_issued_ms: Option<u64>,
) -> ExchangeInput<'a> {
    ExchangeInput {
        profile: &shared.profile,
        interface,
        exchange,
        params,
        expect_success,
        token_first_issued_ms,
        latency_bound_ms: shared.config.stock_latency_ms,
        limits: shared.config.answer_limits(),
    }
}

/// Judges the token answers the client fetched on its own since last asked (a token that expired,
/// the run's first one): the first issue of a run is judged whoever asked for it.
fn judge_implicit_issues(shared: &Shared, rows: &mut Rows<'_>) {
    let Some(interface) = shared.profile.interface(iface::TOKEN) else {
        return;
    };
    for (exchange, issued) in shared.client.take_unjudged_issues() {
        shared.emit_exchange(&exchange);
        let first_issued =
            (issued.first_issued_ms < issued.obtained_at_ms).then_some(issued.first_issued_ms);
        let judged = judge_with(
            shared,
            interface,
            &exchange,
            &Map::new(),
            true,
            first_issued,
        );
        for run in &judged.runs {
            rows.record(run, Some(iface::TOKEN), Some(&exchange));
        }
    }
}

/// Emits an exchange a builtin made and records the exchange checks on it.
pub(crate) fn record_judged(
    shared: &Shared,
    rows: &mut Rows<'_>,
    interface_id: &str,
    params: &Map<String, Value>,
    exchange: &Exchange,
    expect_success: bool,
) -> Option<Judged> {
    judge_implicit_issues(shared, rows);
    shared.emit_exchange(exchange);
    let interface = shared.profile.interface(interface_id)?;
    let judged = judge_with(shared, interface, exchange, params, expect_success, None);
    for run in &judged.runs {
        rows.record(run, Some(interface_id), Some(exchange));
    }
    Some(judged)
}

async fn probe_images(
    shared: &Arc<Shared>,
    interface_id: &str,
    result: &Value,
    rows: &mut Rows<'_>,
) {
    let urls: Vec<(String, String)> = checks::image_urls(interface_id, result)
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
            let probe = shared
                .client
                .get_prefix(&url, "image", IMAGE_PROBE_BYTES)
                .await;
            (pointer, url, probe)
        });
    }
    // A task that panicked loses its own result, not those after it.
    while let Some(joined) = probes.join_next().await {
        let Ok((pointer, url, probe)) = joined else {
            continue;
        };
        let run = checks::judge_image_probe(&pointer, &url, &probe, shared.client.base_url());
        shared.emit_exchange(&probe);
        rows.record(&run, Some(interface_id), Some(&probe));
    }
}

/// The items a `for_each` runs over (`None`: one round without a loop variable).
fn for_each_items(
    call: &CallStep,
    vars: &Scope<'_>,
    rows: &mut Rows<'_>,
) -> Result<Option<Vec<Value>>, Abort> {
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
    let limit = each.limit.unwrap_or(usize::MAX);
    if items.len() > limit {
        // The rounds left out are not tested: said, so that the pass of the others hides nothing.
        let requirements: Vec<&str> = call.requirements.iter().map(String::as_str).collect();
        rows.record(
            &checks::CheckRun::not_judged(
                ids::EXPECT,
                &requirements,
                format!(
                    "只测试了 {limit}/{} 项 / only {limit} of {} items were tried (for_each limit)",
                    items.len(),
                    items.len()
                ),
            ),
            Some(&call.call),
            None,
        );
    }
    Ok(Some(items.into_iter().take(limit).collect()))
}

fn token_expired(exchange: &Exchange, marker: &str) -> bool {
    // Most answers do not carry the marker at all: look at the bytes before parsing, so that a
    // normal answer is parsed once, by the judge.
    let carries_marker = exchange.response.as_ref().is_some_and(|r| {
        r.body
            .windows(marker.len().max(1))
            .any(|w| w == marker.as_bytes())
    });
    carries_marker
        && exchange.answer().is_some_and(|a| {
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

/// A short account of a call that got no usable answer, for block reasons and expectations.
pub(crate) fn failure_summary(exchange: &Exchange) -> String {
    if let Some(error) = &exchange.error {
        return error.describe();
    }
    // The first bytes only: the body may be megabytes.
    let body = exchange
        .response
        .as_ref()
        .map(|r| &r.body[..r.body.len().min(640)])
        .unwrap_or_default();
    let excerpt: String = String::from_utf8_lossy(body).chars().take(160).collect();
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
            "供应商不可达 / supplier unreachable at {}: {}",
            exchange.request.url,
            failure_summary(exchange)
        ));
    }
}
