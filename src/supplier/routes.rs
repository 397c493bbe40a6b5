//! HTTP: one POST route per profile interface, the envelope around every answer (where the
//! envelope faults act), the supplier's own images, product pages and invoices (GET), and the
//! admin endpoints.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use serde_json::{Map, Value, json};

use super::SupplierError;
use super::faults::Fault;
use super::handlers::{App, Iface, Outcome, Reply};
use super::params::Params;
use crate::profile::{FieldMap, Interface};

/// A 1×1 PNG: every product image.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53,
    0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x38, 0x21, 0xa0, 0x07,
    0x00, 0x02, 0xaa, 0x01, 0x07, 0x82, 0x25, 0x9a, 0xee, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e,
    0x44, 0xae, 0x42, 0x60, 0x82,
];

const JSON_TYPE: &str = "application/json; charset=utf-8";
/// The largest request body read (a 100-SKU order is a few KiB).
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

pub fn router(app: Arc<App>, admin: bool) -> Result<Router, SupplierError> {
    let mut router = Router::new();
    let mut paths = HashSet::new();
    for interface in &app.profile.interfaces {
        let Some(iface) = Iface::from_id(&interface.id) else {
            continue;
        };
        if !paths.insert(interface.path.clone()) {
            return Err(SupplierError::DuplicatePath {
                path: interface.path.clone(),
            });
        }
        let path = interface.path.clone();
        let interface = Arc::new(interface.clone());
        // Taking the request whole avoids the copy of the headers a HeaderMap extractor makes.
        let handler = move |State(app): State<Arc<App>>, request: Request| async move {
            let (parts, body) = request.into_parts();
            match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
                Ok(body) => call(&app, iface, &interface, &parts.headers, &body).await,
                Err(_) => render(
                    &app,
                    Err(format!(
                        "请求体过大或不完整 request body unreadable or over {MAX_BODY_BYTES} bytes"
                    )),
                ),
            }
        };
        let method: MethodRouter<Arc<App>> =
            if iface == Iface::Prices && app.faults.has(Fault::PricesGetOnly) {
                get(handler)
            } else {
                post(handler)
            };
        router = router.route(&path, method);
    }
    router = router
        .route("/images/{sku}/{file}", get(image))
        .route("/product/{file}", get(product_page))
        .route("/einvoice/{file}", get(einvoice_document));
    if admin {
        router = router
            .route("/__admin/clock", post(admin_clock))
            .route("/__admin/stock", post(admin_stock))
            .route("/__admin/orders", post(admin_orders));
    }
    Ok(router.fallback(not_found).with_state(app))
}

async fn call(
    app: &App,
    iface: Iface,
    interface: &Interface,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    if iface == Iface::Detail
        && app.faults.has(Fault::DetailResetSome)
        && resets(app, interface, headers, body)
    {
        return broken_off();
    }
    let outcome = answer(app, iface, interface, headers, body).await;
    render(app, outcome)
}

/// Whether the detail asked for is one detail-reset-some breaks off.
fn resets(app: &App, interface: &Interface, headers: &HeaderMap, body: &[u8]) -> bool {
    Params::parse(headers, body)
        .ok()
        .map(|p| p.into_logical(&app.profile.fields, &interface.json_params))
        .and_then(|p| p.text("sku"))
        .and_then(|code| app.catalog.index_of(&code))
        .is_some_and(|index| app.catalog.is_fault_target(index))
}

async fn answer(
    app: &App,
    iface: Iface,
    interface: &Interface,
    headers: &HeaderMap,
    body: &[u8],
) -> Outcome {
    // Handlers read logical names; the profile's wire names stop here.
    let params =
        Params::parse(headers, body)?.into_logical(&app.profile.fields, &interface.json_params);
    if interface.auth {
        app.check_token(&params)?;
    }
    if iface == Iface::Stocks && app.faults.has(Fault::SlowStocks) {
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let outcome = app.handle(iface, interface, &params);
    if iface == Iface::Submit && !app.submit_delay.is_zero() {
        // The order exists already: a harness stopped now has one in flight.
        tokio::time::sleep(app.submit_delay).await;
    }
    outcome
}

/// A result in the profile's wire names (handlers answer logical names).
fn to_wire(fields: &FieldMap, reply: Reply) -> Reply {
    if fields.is_identity() {
        return reply;
    }
    match reply {
        Reply::Json(result) => Reply::Json(fields.to_wire_value(&result)),
        Reply::Raw(raw) => Reply::Raw(rename_raw_keys(&raw, fields)),
    }
}

/// Renames the object keys of JSON text to wire names, leaving every other byte as it is: raw
/// results exist for what a `Value` cannot hold (a key given twice) or would slow down.
fn rename_raw_keys(raw: &[u8], fields: &FieldMap) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + 16);
    let mut i = 0;
    while i < raw.len() {
        if raw[i] != b'"' {
            out.push(raw[i]);
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        while i < raw.len() {
            match raw[i] {
                b'\\' => i += 2,
                b'"' => {
                    i += 1;
                    break;
                }
                _ => i += 1,
            }
        }
        let end = i.min(raw.len());
        let token = &raw[start..end];
        let is_key = raw[end..]
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b':');
        let renamed = is_key
            .then(|| serde_json::from_slice::<String>(token).ok())
            .flatten()
            .filter(|name| fields.wire(name) != name.as_str())
            .and_then(|name| serde_json::to_vec(fields.wire(&name)).ok());
        out.extend_from_slice(renamed.as_deref().unwrap_or(token));
        i = end;
    }
    out
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_TYPE));
    response
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Wraps an outcome in the envelope `{"success", "desc", "result"}`, on one line.
fn render(app: &App, outcome: Outcome) -> Response {
    let faults = app.faults;
    let (success, desc, result) = match outcome {
        Ok(reply) => (
            true,
            Some("成功 ok".to_string()),
            to_wire(&app.profile.fields, reply),
        ),
        Err(desc) => (false, Some(desc), Reply::Json(Value::Null)),
    };
    if !success && faults.has(Fault::HtmlErrorPage) {
        let page = format!(
            "<!DOCTYPE html>\n<html><head><title>500 Internal Server Error</title></head>\n<body><h1>500 Internal Server Error</h1><p>{}</p></body></html>\n",
            escape_html(desc.as_deref().unwrap_or_default())
        );
        let mut response = (StatusCode::INTERNAL_SERVER_ERROR, page).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        return response;
    }
    // no-desc-on-failure spares token refusals: their marker lives in desc, and losing it
    // would break TOK-EXPIRED-MARKER too.
    let marker = app.profile.settings.expired_marker.as_str();
    let desc =
        desc.filter(|desc| success || !faults.has(Fault::NoDescOnFailure) || desc.contains(marker));
    let mut envelope = Map::new();
    envelope.insert(
        "success".into(),
        if faults.has(Fault::SuccessAsString) {
            Value::String(success.to_string())
        } else {
            Value::Bool(success)
        },
    );
    if let Some(desc) = desc {
        envelope.insert("desc".into(), Value::String(desc));
    }
    let pretty = faults.has(Fault::NewlinesInBody);
    let body = match result {
        Reply::Json(result) => {
            envelope.insert("result".into(), result);
            encode(&Value::Object(envelope), pretty)
        }
        Reply::Raw(raw) if !pretty && !faults.has(Fault::SuccessAsString) => {
            // The common case, written directly: the hot batch answers come this way.
            let mut body = Vec::with_capacity(raw.len() + 64);
            body.extend_from_slice(if success {
                b"{\"success\":true"
            } else {
                b"{\"success\":false"
            });
            if let Some(desc @ Value::String(_)) = envelope.get("desc") {
                body.extend_from_slice(b",\"desc\":");
                body.extend_from_slice(&encode(desc, false));
            }
            body.extend_from_slice(b",\"result\":");
            body.extend_from_slice(&raw);
            body.push(b'}');
            body
        }
        Reply::Raw(raw) => {
            // Splice raw result text in after the other members.
            let head =
                String::from_utf8_lossy(&encode(&Value::Object(envelope), pretty)).into_owned();
            let head = head
                .trim_end()
                .strip_suffix('}')
                .unwrap_or(&head)
                .trim_end()
                .to_string();
            let separator = if pretty {
                ",\n  \"result\": "
            } else {
                ",\"result\":"
            };
            let tail = if pretty { "\n}" } else { "}" };
            let raw = String::from_utf8_lossy(&raw);
            format!("{head}{separator}{raw}{tail}").into_bytes()
        }
    };
    let status = if !success && faults.has(Fault::Http500OnFailure) {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    json_response(status, body)
}

fn encode(value: &Value, pretty: bool) -> Vec<u8> {
    let encoded = if pretty {
        serde_json::to_vec_pretty(value)
    } else {
        serde_json::to_vec(value)
    };
    encoded
        .unwrap_or_else(|_| br#"{"success":false,"desc":"internal error","result":null}"#.to_vec())
}

/// Unknown paths: 404 with an envelope, so that a mistyped path reads clearly.
async fn not_found() -> Response {
    let body = json!({"success": false, "desc": "接口不存在 no such path", "result": null});
    json_response(StatusCode::NOT_FOUND, encode(&body, false))
}

fn plain_not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found").into_response()
}

async fn image(State(app): State<Arc<App>>, Path((sku, file)): Path<(String, String)>) -> Response {
    if app.faults.has(Fault::DeadImageLink) {
        return plain_not_found();
    }
    let Some(index) = app.catalog.index_of(&sku) else {
        return plain_not_found();
    };
    if app.faults.has(Fault::SomeDeadImages) && app.catalog.is_fault_target(index) {
        return plain_not_found();
    }
    let number = file
        .strip_suffix(".png")
        .and_then(|n| n.parse::<u64>().ok());
    match number {
        Some(number) if number < app.catalog.sku(index).image_count => {
            ([(header::CONTENT_TYPE, "image/png")], PNG).into_response()
        }
        _ => plain_not_found(),
    }
}

async fn product_page(State(app): State<Arc<App>>, Path(file): Path<String>) -> Response {
    let Some(index) = file
        .strip_suffix(".html")
        .and_then(|code| app.catalog.index_of(code))
    else {
        return plain_not_found();
    };
    let sku = app.catalog.sku(index);
    let page = format!(
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{name}</title></head><body><h1>{name}</h1><img src=\"/images/{code}/0.png\" alt=\"{noun}\"><p>协议价 ¥{price}　市场价 ¥{market}</p></body></html>",
        name = escape_html(&sku.name),
        code = sku.code,
        noun = sku.noun,
        price = sku.price,
        market = sku.market_price,
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
}

async fn einvoice_document(State(app): State<Arc<App>>, Path(file): Path<String>) -> Response {
    let Some(order_id) = file.strip_suffix(".pdf") else {
        return plain_not_found();
    };
    let book = app
        .book
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(order) = book
        .order(order_id)
        .filter(|order| order.confirmed_at().is_some())
    else {
        return plain_not_found();
    };
    let document = format!(
        "%PDF-1.4\n% mallcheck reference supplier e-invoice\n% order {} amount {}\n%%EOF\n",
        order.id, order.order_price
    );
    ([(header::CONTENT_TYPE, "application/pdf")], document).into_response()
}

/// Admin answers are never faulted: they drive tests, they are not under test.
fn admin_answer(outcome: Result<Value, String>) -> Response {
    let body = match outcome {
        Ok(result) => json!({"success": true, "desc": "ok", "result": result}),
        Err(desc) => json!({"success": false, "desc": desc, "result": null}),
    };
    json_response(StatusCode::OK, encode(&body, false))
}

async fn admin_clock(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    admin_answer((|| {
        let params = Params::parse(&headers, &body)?;
        let seconds: i64 = params
            .required("advance_seconds")?
            .parse()
            .map_err(|_| "advance_seconds must be an integer".to_string())?;
        if seconds < 0 {
            return Err(
                "advance_seconds must not be negative: the clock only moves forward".into(),
            );
        }
        let now = app.clock.advance(seconds);
        Ok(json!({"now": app.clock.format(now), "advanced_seconds": seconds}))
    })())
}

async fn admin_stock(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    admin_answer((|| {
        let params = Params::parse(&headers, &body)?;
        let code = params.required("sku")?;
        let index = app
            .catalog
            .index_of(&code)
            .ok_or_else(|| format!("unknown sku: {code}"))?;
        let num: u64 = params
            .required("num")?
            .parse()
            .map_err(|_| "num must be a non-negative integer".to_string())?;
        let area = params.text("area_id");
        let code = match area.as_deref() {
            Some(area) => match app.area_ids.code(area) {
                Some(code) => Some(code),
                None => return Err(format!("unknown area_id: {area}")),
            },
            None => None,
        };
        let mut book = app
            .book
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match code {
            Some(code) => book.set_stock(index, code, num),
            None => {
                for county in super::areas::all_counties() {
                    book.set_stock(index, county, num);
                }
            }
        }
        Ok(json!({"sku": code, "num": num, "area_id": area.unwrap_or_default()}))
    })())
}

/// Every order the supplier holds, with its phase: what a test counts as left open.
async fn admin_orders(State(app): State<Arc<App>>) -> Response {
    let book = app
        .book
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let orders: Vec<Value> = book
        .orders()
        .iter()
        .map(|order| {
            let phase = match order.phase {
                crate::supplier::orders::Phase::Submitted => "submitted",
                crate::supplier::orders::Phase::Confirmed { .. } => "confirmed",
                crate::supplier::orders::Phase::Cancelled { .. } => "cancelled",
            };
            json!({"order_id": order.id, "yggc_order": order.yggc_order, "phase": phase})
        })
        .collect();
    drop(book);
    admin_answer(Ok(Value::Array(orders)))
}

/// An answer whose body breaks off after its first bytes: the connection closes mid-body.
fn broken_off() -> Response {
    let mut response = axum::body::Body::from_stream(BrokenOff(false)).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_TYPE));
    response
}

/// The start of an answer, then an error.
struct BrokenOff(bool);

impl futures_core::Stream for BrokenOff {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let sent = self.0;
        self.0 = true;
        std::task::Poll::Ready(Some(if sent {
            Err(std::io::Error::other("detail-reset-some"))
        } else {
            Ok(Bytes::from_static(br#"{"success":true,"result":{"sku":"#))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn raw_results_rename_keys_only_and_keep_a_key_given_twice() {
        let table = BTreeMap::from([("num".to_string(), "stock_num".to_string())]);
        let fields = FieldMap::new(&table).unwrap_or_default();
        let raw = br#"[{"sku":"1","num" : 3,"desc":"num","a\"num":1,"num":4}]"#;
        let renamed = String::from_utf8(rename_raw_keys(raw, &fields)).unwrap_or_default();
        assert_eq!(
            renamed,
            r#"[{"sku":"1","stock_num" : 3,"desc":"num","a\"num":1,"stock_num":4}]"#
        );
        assert_eq!(rename_raw_keys(br#"{"cut"#, &fields), br#"{"cut"#.to_vec());
    }
}
