//! Steps on the reference supplier's admin endpoints (`serve --admin`): move its clock, set a
//! SKU's stock. A real supplier has none; scenarios that need them are skipped there.

use serde_json::{Map, Value};

use super::shared::Shared;
use super::step::{Abort, failure_summary};
use crate::client::Exchange;
use crate::scenario::model::AdminStep;
use crate::scenario::template::{self, Scope, as_text};

fn render_map(value: &Map<String, Value>, vars: &Scope<'_>) -> Result<Map<String, Value>, Abort> {
    match template::render(&Value::Object(value.clone()), vars)? {
        Value::Object(map) => Ok(map),
        _ => Ok(Map::new()),
    }
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
        admin_call(shared, path, &params, step.admin.keep_token).await?;
    }
    Ok(())
}

/// Moves the reference supplier's clock forward (a builtin waiting for an order uses it in place
/// of waiting); the token is fetched again afterwards, as after an admin step.
pub(crate) async fn advance_clock(shared: &Shared, seconds: i64) -> Result<(), Abort> {
    admin_call(
        shared,
        "/__admin/clock",
        &[("advance_seconds".into(), seconds.to_string())],
        false,
    )
    .await
}

async fn admin_call(
    shared: &Shared,
    path: &str,
    params: &[(String, String)],
    keep_token: bool,
) -> Result<(), Abort> {
    let borrowed: Vec<(&str, String)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    let exchange = shared.client.post_path(path, &borrowed).await;
    shared.emit_exchange(&exchange);
    if !exchange.succeeded() {
        return Err(Abort(format!(
            "管理接口失败 / admin call {path} failed: {}",
            failure_summary(&exchange)
        )));
    }
    if path == "/__admin/clock" {
        learn_supplier_clock(&shared.client, &shared.profile.settings, &exchange);
        if !keep_token {
            shared.client.forget_token();
        }
    }
    Ok(())
}
