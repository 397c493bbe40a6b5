//! The fuzz entry point (issue 10, "bounded under any supplier"): raw answer bytes → transport
//! and envelope checks → result schema → the interface's result checks → what the run makes of
//! the answer afterwards (knowledge, the checks across interfaces, image probes, offers, the
//! order life, stock locking, a step's expectations and the templates over captures). Whatever
//! a supplier sends, none of it may panic. `fuzz/` (cargo-fuzz, nightly) and the unit tests
//! below (stable) call [`judge_bytes`]; it is not part of mallcheck's interface.
//!
//! An input is a header of [`HEADER_BYTES`] bytes, two short segments, then the body:
//!
//! | byte | meaning |
//! |---|---|
//! | 0 | the interface: index into the profile's interfaces, modulo their number |
//! | 1 | low nibble: the HTTP status ([`STATUSES`]); high nibble: the Content-Type ([`CONTENT_TYPES`]) |
//! | 2 | flags: see `FLAG_*` |
//! | 3 | bits 0–2: the parameters sent (a preset); bit 3: the call was one no supplier can fulfil (`StepExpectation::harmless_marker`); high nibble: the call's duration, × 150 ms |
//! | 4 | length of a JSON object merged into the parameters (what a run learned from answers) |
//! | 5 | length of the answer's `Date` header |
//!
//! Missing bytes read as zero: any byte string is an input.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::{Map, Value, json};

use crate::checks::{
    self, AnswerLimits, CheckRun, ExchangeInput, Judged, Knowledge, LifeCodes, SavedTokenAge,
    Sighting, StepExpectation,
};
use crate::exchange::{Exchange, RecordedRequest, RecordedResponse, TransportError};
use crate::profile::{Encoding, Interface, Profile};
use crate::scenario::model::{Expect, ValueExpect};
use crate::scenario::template::{self, Scope};

/// Bytes of the fixed header before the segments and the body.
pub const HEADER_BYTES: usize = 6;

/// The status an answer comes with (byte 1, low nibble): mostly 200, as most answers are.
pub const STATUSES: [u16; 16] = [
    200, 200, 200, 200, 200, 200, 200, 200, 201, 204, 302, 400, 404, 405, 500, 502,
];

/// The Content-Type an answer comes with (byte 1, high nibble); `None`: no such header.
pub const CONTENT_TYPES: [Option<&str>; 16] = [
    Some("application/json"),
    Some("application/json"),
    Some("application/json;charset=UTF-8"),
    Some("application/json; charset=utf-8"),
    Some("text/html"),
    Some("text/plain"),
    None,
    Some("application/json; charset=gbk"),
    Some("text/json"),
    Some("application/problem+json"),
    Some(""),
    Some("image/jpeg"),
    Some("image/"),
    Some("application/octet-stream"),
    Some("application/x-www-form-urlencoded"),
    Some("IMAGE/PNG; q=\u{e9}"),
];

/// Byte 2: the step expected a refusal (`success: false`).
pub const FLAG_EXPECT_REFUSAL: u8 = 1;
/// Byte 2: the body was cut at the body cap.
pub const FLAG_TRUNCATED: u8 = 1 << 1;
/// Byte 2: a transport error came with the bytes (see [`FLAG_REDIRECT`]).
pub const FLAG_TRANSPORT_ERROR: u8 = 1 << 2;
/// Byte 2, with [`FLAG_TRANSPORT_ERROR`]: the error is a redirect (else the connection closed).
pub const FLAG_REDIRECT: u8 = 1 << 3;
/// Byte 2: the token answered was first issued two hours before the call.
pub const FLAG_TOKEN_AGAIN: u8 = 1 << 4;
/// Byte 2: judged with the `profiles/jd-style` variant (renamed fields), when it loads.
pub const FLAG_VARIANT: u8 = 1 << 5;
/// Byte 2: tight parsing limits (64 values, depth 8), as a config may set.
pub const FLAG_TIGHT_LIMITS: u8 = 1 << 6;
/// Byte 2: the answer says `Content-Encoding: gzip`.
pub const FLAG_GZIP: u8 = 1 << 7;

/// When the call started: 2025-06-01 21:30:00 +08:00, as in the checks' unit tests.
const STARTED_AT_MS: u64 = 1_748_784_600_000;

/// What one input came to (for tests).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The interface it was judged as (empty when no profile loaded).
    pub interface: String,
    /// Whether the body was read as a JSON answer.
    pub parsed: bool,
    /// Check runs of the exchange, then of the domain checks after it.
    pub runs: usize,
    /// Findings over all of them.
    pub findings: usize,
}

/// The embedded profile, and the jd-style variant (its answers rename fields) when it loads.
fn profiles() -> &'static [Profile] {
    static PROFILES: OnceLock<Vec<Profile>> = OnceLock::new();
    PROFILES.get_or_init(|| {
        let mut loaded: Vec<Profile> = Profile::embedded().into_iter().collect();
        let variant = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/jd-style");
        if let Ok(profile) = Profile::from_dir(&variant) {
            loaded.push(profile);
        }
        loaded
    })
}

/// The parameters a call sent (logical names), by byte 3's bits 0–2.
fn preset(index: u8) -> Map<String, Value> {
    let value = match index {
        0 => json!({}),
        1 => json!({
            "sku": "100012345,100012346,100012347",
            "area_id": "120101",
            "id": "120000",
            "catalog_id": "A0101",
            "order_id": "SO2025060100001",
        }),
        2 => json!({"sku": "100012345"}),
        3 => json!({"sku": "100012345,100012346", "area_id": "120101"}),
        4 => json!({"start_time": "2025-06-01 00:00:00", "end_time": "2025-06-02 00:00:00"}),
        5 => json!({
            "yggc_order": "TJ202506010000123",
            "order_id": "SO2025060100001",
            "sku": [
                {"sku": "100012345", "num": 2, "price": 4599.00},
                {"sku": "100012347", "num": 10, "price": 19.99},
            ],
            "order_price": 9397.90,
            "freight": 0.00,
        }),
        6 => json!({"id": "120100", "catalog_id": "A0301"}),
        _ => json!({"sku": "1,1,,2, ", "area_id": 120101, "start_time": "x", "end_time": 5}),
    };
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// The parameters segment, the `Date` segment and the body of an input.
fn segments(data: &[u8]) -> (&[u8], &[u8], &[u8]) {
    let byte = |i: usize| usize::from(data.get(i).copied().unwrap_or(0));
    let rest = data.get(HEADER_BYTES..).unwrap_or_default();
    let (extra, rest) = rest.split_at(byte(4).min(rest.len()));
    let (date, body) = rest.split_at(byte(5).min(rest.len()));
    (extra, date, body)
}

/// One input, read: what its header and segments choose, and the body.
struct Input<'d> {
    interface: u8,
    status: u16,
    content_type: Option<&'static str>,
    flags: u8,
    params: Map<String, Value>,
    /// The call was made one no supplier can fulfil (a token check of an order interface on a
    /// target not cleared for orders).
    harmless: bool,
    duration_ms: u64,
    date: Option<String>,
    body: &'d [u8],
}

impl<'d> Input<'d> {
    fn read(data: &'d [u8]) -> Input<'d> {
        let byte = |i: usize| data.get(i).copied().unwrap_or(0);
        let (extra, date, rest) = segments(data);
        let mut params = preset(byte(3) & 0x07);
        if let Ok(Value::Object(extra)) = serde_json::from_slice::<Value>(extra) {
            params.extend(extra);
        }
        Input {
            interface: byte(0),
            status: STATUSES[usize::from(byte(1) & 0x0f)],
            content_type: CONTENT_TYPES[usize::from(byte(1) >> 4)],
            flags: byte(2),
            params,
            harmless: byte(3) & 0x08 != 0,
            duration_ms: u64::from(byte(3) >> 4) * 150,
            date: (!date.is_empty()).then(|| String::from_utf8_lossy(date).into_owned()),
            body: rest,
        }
    }

    fn flag(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

/// The exchange the client would have recorded for this answer.
fn exchange_of(input: &Input<'_>, profile: &Profile, interface: &Interface) -> Exchange {
    let mut headers = Vec::new();
    if let Some(content_type) = input.content_type {
        headers.push(("Content-Type".to_string(), content_type.to_string()));
    }
    if let Some(date) = &input.date {
        headers.push(("Date".to_string(), date.clone()));
    }
    if input.flag(FLAG_GZIP) {
        headers.push(("Content-Encoding".to_string(), "gzip".to_string()));
    }
    if input.status == 405 {
        headers.push(("Allow".to_string(), "GET".to_string()));
    }
    let mut params: Vec<(String, String)> = input
        .params
        .iter()
        .map(|(k, v)| (profile.fields.wire(k).to_string(), template::as_text(v)))
        .collect();
    if !interface.auth {
        // The token call as the client signs it (the timestamp is the supplier's clock base).
        params.extend([
            ("username".to_string(), "mallcheck".to_string()),
            ("password".to_string(), "***".to_string()),
            ("timestamp".to_string(), "2025-06-01 21:30:00".to_string()),
            ("sign".to_string(), "***".to_string()),
        ]);
    }
    let error = input.flag(FLAG_TRANSPORT_ERROR).then(|| {
        if input.flag(FLAG_REDIRECT) {
            TransportError::Redirect {
                location: "http://elsewhere.test/login".to_string(),
            }
        } else {
            TransportError::Closed {
                message: "connection reset".to_string(),
            }
        }
    });
    Exchange {
        id: 1,
        interface: interface.id.clone(),
        request: RecordedRequest {
            method: "POST".to_string(),
            url: format!("http://supplier.test{}", interface.path),
            content_type: match profile.settings.encoding {
                Encoding::Json => "application/json".to_string(),
                Encoding::Form => "application/x-www-form-urlencoded".to_string(),
            },
            params,
        },
        response: Some(RecordedResponse {
            status: input.status,
            headers,
            body: input.body.to_vec(),
            truncated: input.flag(FLAG_TRUNCATED),
            full_body: None,
        }),
        error,
        started_at_ms: STARTED_AT_MS,
        duration_ms: input.duration_ms,
    }
}

/// Judges one input as the runner would: the exchange, then everything that reads its answer.
/// Never panics, whatever the bytes.
pub fn judge_bytes(data: &[u8]) -> Summary {
    let input = Input::read(data);
    let profiles = profiles();
    let variant = usize::from(input.flag(FLAG_VARIANT));
    let Some(profile) = profiles.get(variant).or_else(|| profiles.first()) else {
        return Summary::default();
    };
    let count = profile.interfaces.len();
    let Some(interface) = profile
        .interfaces
        .get(usize::from(input.interface) % count.max(1))
    else {
        return Summary::default();
    };
    let exchange = exchange_of(&input, profile, interface);
    let expect_success = !input.flag(FLAG_EXPECT_REFUSAL);
    let limits = if input.flag(FLAG_TIGHT_LIMITS) {
        AnswerLimits {
            max_items: 64,
            max_depth: 8,
        }
    } else {
        AnswerLimits::default()
    };
    let judged = checks::judge_exchange(&ExchangeInput {
        profile,
        interface,
        exchange: &exchange,
        params: &input.params,
        expect_success,
        token_first_issued_ms: input
            .flag(FLAG_TOKEN_AGAIN)
            .then_some(STARTED_AT_MS - 2 * 3_600_000),
        latency_bound_ms: 1_000,
        limits,
    });
    let mut runs = domain_runs(
        profile,
        interface,
        &input.params,
        expect_success,
        input.harmless,
        &exchange,
        &judged,
    );
    runs.extend(judged.runs.iter().cloned());
    report_texts(&runs, &exchange);
    Summary {
        interface: interface.id.clone(),
        parsed: judged.answer.is_some(),
        runs: runs.len(),
        findings: runs.iter().map(|r| r.findings.len()).sum(),
    }
}

/// What the run knew before this answer: the example answers of `schemas/examples/`.
fn baseline(profile: &Profile) -> Knowledge {
    let mut knowledge = Knowledge::new(profile.code("shelf_state", "on").cloned());
    let learn = |k: &mut Knowledge, interface: &str, params: Value, result: Value| {
        let params = match params {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        k.learn(interface, &params, &result, true);
    };
    let k = &mut knowledge;
    learn(
        k,
        "skus",
        json!({"catalog_id": "A0101"}),
        json!(["100012345", "100012346", "100012347"]),
    );
    learn(
        k,
        "prices",
        json!({}),
        json!([
            {"sku": "100012345", "price": 4599.00, "market_price": 4999.00},
            {"sku": "100012346", "price": 5999.00, "market_price": 6299.00},
            {"sku": "100012347", "price": 19.99, "market_price": 25.90},
        ]),
    );
    learn(
        k,
        "shelf_states",
        json!({}),
        json!([{"sku": "100012345", "state": 1}, {"sku": "100012346", "state": 1}, {"sku": "100012347", "state": 0}]),
    );
    learn(
        k,
        "images",
        json!({}),
        json!([{"sku": "100012345", "images": [{"path": "https://img.example-supplier.cn/100012345/1.jpg", "order": 0}]}]),
    );
    learn(
        k,
        "stocks",
        json!({}),
        json!([{"sku": "100012345", "area_id": "120101", "num": 58, "desc": "有货"}]),
    );
    learn(k, "detail", json!({"sku": "100012345"}), json!({}));
    learn(k, "provinces", json!({}), json!({"天津市": "120000"}));
    learn(
        k,
        "cities",
        json!({"id": "120000"}),
        json!({"市辖区": "120100"}),
    );
    learn(
        k,
        "counties",
        json!({"id": "120100"}),
        json!({"和平区": "120101"}),
    );
    knowledge
}

/// The order states of the profile along an order's life (as the order watch reads them).
fn life_codes(profile: &Profile) -> Option<LifeCodes> {
    let code = |name: &str| profile.code("order_state", name).cloned();
    let path: Vec<(String, Value)> = ["new", "shipped", "delivered"]
        .iter()
        .filter_map(|name| code(name).map(|c| (name.to_string(), c)))
        .collect();
    (path.len() == 3).then(|| LifeCodes {
        path,
        cancelled: code("cancelled"),
        rejected: code("rejected"),
        delivered_all: profile.code("deliver_state", "all").cloned(),
    })
}

/// A step's expectations of the kinds the scenarios write.
fn expectations(profile: &Profile, expect_success: bool) -> Expect {
    let states: Vec<Value> = ["new", "shipped", "delivered"]
        .iter()
        .filter_map(|n| profile.code("order_state", n).cloned())
        .collect();
    Expect {
        success: Some(expect_success),
        desc_contains: (!expect_success).then(|| profile.settings.expired_marker.clone()),
        values: vec![
            ValueExpect {
                equals: Some(json!("100012345")),
                if_present: true,
                ..ValueExpect::at("/result/0/sku")
            },
            ValueExpect {
                min_items: Some(1),
                ..ValueExpect::at("/result")
            },
            ValueExpect {
                contains: Some(json!("100012345")),
                ..ValueExpect::at("/result")
            },
            ValueExpect {
                has_keys: Some(vec!["和平区".to_string()]),
                ..ValueExpect::at("/result")
            },
            ValueExpect {
                one_of: Some(states),
                if_present: true,
                requirement: Some("ORD-QUERY".to_string()),
                ..ValueExpect::at("/result/state")
            },
            ValueExpect {
                exists: Some(true),
                not_equals: Some(json!("")),
                ..ValueExpect::at("/result/order_id")
            },
            ValueExpect {
                equals: Some(json!(58.0)),
                if_present: true,
                ..ValueExpect::at("/result/0/num")
            },
            ValueExpect {
                contains: Some(json!("token")),
                if_present: true,
                ..ValueExpect::at("/desc")
            },
        ],
    }
}

/// Templates of the scenarios, over a capture of the answer's result.
const TEMPLATES: &[&str] = &[
    "${result|first:3|join}",
    "${result|sample_each:run.sample|chunks:profile.batch_max}",
    "${result|sample:20|join}",
    "${result|prefixed:天津}",
    "${result|values|first:1|join}",
    "${result|pluck:links|flatten}",
    "${result|pluck:id}",
    "${result|pluck:sku|first:20|join}",
    "${result|keys}",
    "${result|len}",
    "${result.0.sku}",
    "sku ${result.sku} at ${result.0}",
];

/// What the runner does with a judged answer beyond the exchange checks: learning and the
/// checks that read what was learned, expectations, captures, images, offers, orders, stock.
fn domain_runs(
    profile: &Profile,
    interface: &Interface,
    params: &Map<String, Value>,
    expect_success: bool,
    harmless: bool,
    exchange: &Exchange,
    judged: &Judged,
) -> Vec<CheckRun> {
    let mut runs = Vec::new();
    let result = judged.result();
    let succeeded = judged.succeeded();
    let desc = judged
        .answer
        .as_ref()
        .and_then(|a| a.desc())
        .unwrap_or("no readable answer");

    // The step's own expectations.
    let expect = expectations(profile, expect_success);
    let requirements = vec![interface.schema_requirement.clone()];
    let step = StepExpectation {
        expect: &expect,
        requirements: &requirements,
        title: "fuzz / fuzz: ".to_string(),
        harmless_marker: harmless.then_some(profile.settings.expired_marker.as_str()),
    };
    runs.extend(checks::judge_step_expectations(
        &step,
        judged,
        "HTTP 200: …",
    ));

    // Knowledge, and the checks across interfaces over it.
    let mut knowledge = baseline(profile);
    if succeeded {
        knowledge.learn(&interface.id, params, result, judged.content_clean());
    } else {
        knowledge.learn_failure(&interface.id, params, desc);
    }
    let _ = knowledge.why_nothing_to_order(10);
    let _ = knowledge.test_area("天津", "和平区");
    let mut sampled = knowledge.pooled_skus.take(20, |_| true);
    sampled.extend(knowledge.prices.keys().take(20).cloned());
    sampled.extend(knowledge.new_skus.keys().take(20).cloned());
    let sampled: Vec<&str> = sampled.iter().map(String::as_str).collect();
    let pools: Vec<&str> = knowledge
        .pools_listed
        .keys()
        .map(String::as_str)
        .chain(knowledge.new_skus.values().map(String::as_str))
        .take(40)
        .collect();
    runs.extend(checks::catalogue_consistency(&knowledge, &sampled, &pools));

    // Captures and the templates that read them.
    if let Some(value) = judged.value() {
        let mut vars = Map::new();
        vars.insert("run".into(), json!({"sample": 3, "seed": 7}));
        vars.insert(
            "profile".into(),
            json!({"batch_max": profile.settings.batch_max}),
        );
        let scope = Scope::new(&vars);
        let scope = scope.with_named("result", result);
        for text in TEMPLATES {
            let _ = template::render_str(text, &scope);
        }
        if let Some(items) = result.as_array() {
            let _ = template::sample_of_group(items, 3, Some(7), 1);
            let mut reservoir = template::Reservoir::new(5, 7);
            items.iter().for_each(|item| reservoir.offer(item));
            let _ = reservoir.into_value();
        }
        let _ = value.pointer("/result/0/sku");
    }

    // The image probes (of the URLs of a successful answer): the answer's bytes stand for what
    // an image URL answered.
    let mut urls = if succeeded && expect_success {
        checks::image_urls(&interface.id, result)
    } else {
        Vec::new()
    };
    urls.truncate(4);
    if urls.is_empty() {
        urls.push((
            "/result/image_path".to_string(),
            "https://img.example-supplier.cn/1.jpg".to_string(),
        ));
    }
    for (pointer, url) in &urls {
        let probe = image_probe(exchange, url);
        runs.push(checks::judge_image_probe(
            pointer,
            url,
            &probe,
            "https://supplier.example.cn/",
        ));
    }

    // Offers (captured from any answer) against agreement prices (of a successful prices
    // answer, here this one's, and the ones known).
    let offers = checks::offer_prices(result);
    let mut agreement: BTreeMap<String, rust_decimal::Decimal> = knowledge
        .prices
        .iter()
        .map(|(sku, (price, _))| (sku.clone(), *price))
        .collect();
    if succeeded {
        agreement.extend(checks::agreement_prices(result));
    }
    runs.push(checks::offers_below_agreement(&offers, &agreement));

    // The order watch (on successful answers): the answer as select's, as a list of select's
    // answers, and as track's; a refusal as track refusing.
    if judged.answer.as_ref().and_then(|a| a.success) == Some(false) {
        runs.push(checks::track_refused("shipped", desc));
    }
    if let Some(codes) = life_codes(profile).filter(|_| succeeded) {
        let answers: Vec<&Value> = match result.as_array() {
            Some(items) => items.iter().take(64).collect(),
            None => vec![result],
        };
        let sightings: Vec<Sighting> = answers
            .iter()
            .enumerate()
            .filter_map(|(i, answer)| {
                Some(Sighting {
                    after_ms: i as u64 * 1_000,
                    state: answer.get("state").filter(|s| !s.is_null())?.clone(),
                    deliver_state: answer.get("deliver_state").cloned(),
                })
            })
            .collect();
        let until = codes.rank_of("delivered").unwrap_or(2);
        runs.push(checks::order_life(&codes, &sightings, until, 60_000));
        let _ = checks::furthest(&codes, &sightings);
        let ordered = params
            .get("sku")
            .filter(|v| v.is_array())
            .cloned()
            .unwrap_or_else(|| json!([{"sku": "100012345", "num": 2}]));
        runs.push(checks::order_lines(&ordered, result));
        let select = json!({"skus": ordered});
        for complete in [false, true] {
            runs.push(checks::shipment_matches(
                &select, result, "shipped", complete,
            ));
            runs.push(checks::shipment_matches(
                result,
                result,
                "delivered",
                complete,
            ));
        }
    }

    // Stock locking, with the stock read as the stock-lock step reads it (from a successful
    // answer only).
    let stock_of = |item: &Value| {
        item.get("num")
            .and_then(checks::decimal_of)
            .filter(|n| n.fract().is_zero())
            .and_then(|n| rust_decimal::prelude::ToPrimitive::to_i64(&n))
    };
    let items = result
        .as_array()
        .filter(|_| succeeded)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let stocks: Vec<Option<i64>> = items.iter().take(3).map(stock_of).collect();
    let nth = |i: usize| stocks.get(i).copied().flatten();
    let sku = items
        .first()
        .and_then(|item| item.get("sku"))
        .map(template::as_text)
        .unwrap_or_default();
    runs.push(checks::stock_follows_lock(
        &sku,
        nth(0),
        nth(1).or(nth(0)),
        nth(2).or(nth(0)),
        1,
    ));
    if let Some(stock) = nth(0) {
        runs.push(checks::sold_out_refused(&sku, stock, succeeded));
    }

    // A saved token tried again, on this answer.
    let success = judged.answer.as_ref().and_then(|a| a.success);
    let marker = &profile.settings.expired_marker;
    for age in [
        SavedTokenAge::Expired { hours: 40.0 },
        SavedTokenAge::Young { hours: 1.0 },
    ] {
        runs.push(checks::saved_token_verdict(age, success, desc, marker));
    }
    runs
}

/// The GET of an image URL, answered with the same bytes and headers as the answer.
fn image_probe(exchange: &Exchange, url: &str) -> Exchange {
    Exchange {
        id: 2,
        interface: "image".to_string(),
        request: RecordedRequest {
            method: "GET".to_string(),
            url: url.to_string(),
            content_type: String::new(),
            params: Vec::new(),
        },
        response: exchange.response.clone(),
        error: exchange.error.clone(),
        started_at_ms: STARTED_AT_MS,
        duration_ms: 3,
    }
}

/// What a report does with the runs and the exchange: texts cut for its rows, the evidence
/// kept, the curl line, the runs written as JSON.
fn report_texts(runs: &[CheckRun], exchange: &Exchange) {
    for finding in runs.iter().flat_map(|r| r.findings.iter()) {
        for text in [&finding.expected, &finding.actual].into_iter().flatten() {
            let _ = crate::excerpt::shorten(text, 2000);
        }
        let _ = crate::excerpt::shorten(&finding.message, 2000);
    }
    let _ = exchange.evidence(4096);
    let _ = exchange.curl_line(Some("http://127.0.0.1:1"));
    let _ = serde_json::to_string(runs);
}

/// splitmix64: a tiny deterministic generator, so that a mutation is the same from the same seed.
pub struct Mix(pub u64);

impl Mix {
    pub fn draw(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.draw() % n.max(1) as u64) as usize
    }
}

/// Values a hostile or broken supplier puts where a value goes, as JSON texts (numbers kept
/// exactly as written: serde_json's arbitrary precision).
const HOSTILE_VALUES: &[&str] = &[
    "-9223372036854775808",
    "9223372036854775807",
    "18446744073709551615",
    "18446744073709551616",
    "79228162514264337593543950335",
    "-79228162514264337593543950336",
    "0.0000000000000000000000000001",
    "1e400",
    "-1e400",
    "1e-400",
    "-1",
    "0",
    "-0",
    "0.5",
    "4599.001",
    "null",
    "true",
    "false",
    "\"\"",
    "[]",
    "{}",
    "\"\\u0000\"",
    "\"\\ud800\"",
    "\"天津市\"",
    "\"和平区\"",
    "\"120101\"",
    "\"100012345\"",
    "\"58\"",
    "\"2025-06-03 09:30:00\"",
    "\"9999-12-31 23:59:59\"",
    "\"2025-02-30 25:61:61\"",
    "\"http://127.0.0.1/a.jpg\"",
    "\"//img.example-supplier.cn/a.jpg\"",
    "\"token_expired\"",
    "\"有货\"",
    "\"无货\"",
    "[{\"sku\":\"100012345\",\"num\":1}]",
];

/// Member names the checks read.
const KNOWN_KEYS: &[&str] = &[
    "sku",
    "num",
    "price",
    "market_price",
    "mall_price",
    "state",
    "deliver_state",
    "order_id",
    "yggc_order",
    "order_price",
    "freight",
    "skus",
    "waybill",
    "shipment_items",
    "track",
    "images",
    "path",
    "order",
    "image_path",
    "expires_at",
    "expires_in",
    "access_token",
    "area_id",
    "desc",
    "catalog_id",
    "time",
    "success",
    "result",
    "id",
    "name",
    "average",
    "good",
    "medium",
    "bad",
    "tiers",
    "min_num",
    "rate",
    "count",
    "amount",
    "orders",
    "start_time",
    "end_time",
    "submit_state",
    "invoice_state",
];

fn hostile_value(mix: &mut Mix) -> Value {
    let text = HOSTILE_VALUES[mix.below(HOSTILE_VALUES.len())];
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// The pointer of a node of `root` drawn at random (deeper nodes as likely as not).
fn random_pointer(root: &Value, mix: &mut Mix) -> String {
    let mut pointer = String::new();
    let mut node = root;
    loop {
        let len = match node {
            Value::Array(items) => items.len(),
            Value::Object(members) => members.len(),
            _ => 0,
        };
        if len == 0 || mix.below(4) == 0 {
            return pointer;
        }
        let i = mix.below(len);
        let next = match node {
            Value::Array(items) => {
                pointer.push_str(&format!("/{i}"));
                items.get(i)
            }
            Value::Object(members) => members.iter().nth(i).map(|(key, value)| {
                pointer.push('/');
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
                value
            }),
            _ => None,
        };
        match next {
            Some(next) => node = next,
            None => return pointer,
        }
    }
}

/// One change to a node: a hostile value, a copy of another node, a member renamed to a name
/// the checks read or added, an item repeated or dropped, a number or text changed, a wrap.
fn mutate_node(node: &mut Value, donor: Value, mix: &mut Mix) {
    match mix.below(9) {
        0..=2 => *node = hostile_value(mix),
        3 => *node = donor,
        4 => match node {
            Value::Object(members) if !members.is_empty() => {
                let i = mix.below(members.len());
                let key = members.keys().nth(i).cloned().unwrap_or_default();
                if let Some(value) = members.remove(&key) {
                    let name = KNOWN_KEYS[mix.below(KNOWN_KEYS.len())];
                    members.insert(name.to_string(), value);
                }
            }
            Value::Array(items) if !items.is_empty() => {
                let i = mix.below(items.len());
                let copies = if mix.below(8) == 0 { 300 } else { 1 };
                let item = items[i].clone();
                items.extend(std::iter::repeat_n(item, copies));
            }
            other => *other = json!([other.take()]),
        },
        5 => match node {
            Value::Object(members) => {
                let name = KNOWN_KEYS[mix.below(KNOWN_KEYS.len())];
                members.insert(name.to_string(), hostile_value(mix));
            }
            Value::Array(items) if !items.is_empty() => {
                let i = mix.below(items.len());
                items.remove(i);
            }
            other => *other = json!({"sku": other.take()}),
        },
        6 => {
            let text = match &*node {
                Value::Number(n) => n.to_string(),
                Value::String(s) => s.clone(),
                _ => return,
            };
            let changed = match mix.below(6) {
                0 => format!("-{text}"),
                1 => format!("{text}0"),
                2 => format!("{text}.5"),
                3 => format!("{text}e3"),
                4 => format!("{text}9999999999"),
                _ => text.clone(),
            };
            *node = match (&*node, serde_json::from_str::<Value>(&changed)) {
                // A text that reads as a number becomes that number, and a number its text.
                (Value::String(_), Ok(number @ Value::Number(_))) => number,
                (Value::Number(_), _) if mix.below(3) == 0 => Value::String(changed),
                (_, Ok(Value::Number(number))) => Value::Number(number),
                _ => Value::String(changed),
            };
        }
        7 => {
            if let Value::String(s) = node {
                s.push_str(["\u{0}", "\n", "天津", "\u{feff}", "\u{10ffff}"][mix.below(5)]);
            } else {
                *node = json!([]);
            }
        }
        _ => {
            let copies = 2 + mix.below(40);
            *node = Value::Array(std::iter::repeat_n(node.take(), copies).collect());
        }
    }
}

/// A mutation that knows JSON: the body of `data` (see the layout above) parsed, one to three
/// of its nodes changed ([`mutate_node`]), written back behind the same header and segments.
/// Byte mutations rarely keep an answer parseable, and the checks after the parser see only
/// answers that parse. `None` when the body is not JSON, or when the mutated input would be
/// longer than `max_len`: each change is measured before the next, so that repeats of repeats
/// never build a tree of gigabytes (a single change grows a value at most 301 times).
pub fn mutate_json(data: &[u8], seed: u64, max_len: usize) -> Option<Vec<u8>> {
    let (_, _, body) = segments(data);
    let head = data.get(..data.len() - body.len())?;
    let room = max_len.checked_sub(head.len())?;
    let mut value: Value = serde_json::from_slice(body).ok()?;
    let mut mix = Mix(seed);
    for _ in 0..=mix.below(3) {
        let donor_at = random_pointer(&value, &mut mix);
        let donor = value.pointer(&donor_at).cloned().unwrap_or(Value::Null);
        let at = random_pointer(&value, &mut mix);
        if let Some(node) = value.pointer_mut(&at) {
            mutate_node(node, donor, &mut mix);
        }
        if !fits(&value, room) {
            return None;
        }
    }
    let mut out = head.to_vec();
    serde_json::to_writer(&mut out, &value).ok()?;
    Some(out)
}

/// Whether `value` written as JSON takes at most `room` bytes (it is written only that far).
fn fits(value: &Value, room: usize) -> bool {
    struct Count {
        left: usize,
    }
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            match self.left.checked_sub(bytes.len()) {
                Some(left) => {
                    self.left = left;
                    Ok(bytes.len())
                }
                None => Err(std::io::ErrorKind::WriteZero.into()),
            }
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    serde_json::to_writer(Count { left: room }, value).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seed corpus of `fuzz/corpus/judge/` (written by `fuzz/seeds.py`): (name, bytes,
    /// the interface it is judged as, whether its body is read as JSON).
    const SEEDS: &[(&str, &[u8], &str, bool)] = &[
        (
            "token",
            include_bytes!("../fuzz/corpus/judge/seed-token"),
            "token",
            true,
        ),
        (
            "pools",
            include_bytes!("../fuzz/corpus/judge/seed-pools"),
            "pools",
            true,
        ),
        (
            "skus",
            include_bytes!("../fuzz/corpus/judge/seed-skus"),
            "skus",
            true,
        ),
        (
            "detail",
            include_bytes!("../fuzz/corpus/judge/seed-detail"),
            "detail",
            true,
        ),
        (
            "prices",
            include_bytes!("../fuzz/corpus/judge/seed-prices"),
            "prices",
            true,
        ),
        (
            "prices-jd",
            include_bytes!("../fuzz/corpus/judge/seed-prices-jd"),
            "prices",
            true,
        ),
        (
            "stocks",
            include_bytes!("../fuzz/corpus/judge/seed-stocks"),
            "stocks",
            true,
        ),
        (
            "images",
            include_bytes!("../fuzz/corpus/judge/seed-images"),
            "images",
            true,
        ),
        (
            "shelf",
            include_bytes!("../fuzz/corpus/judge/seed-shelf"),
            "shelf_states",
            true,
        ),
        (
            "counties",
            include_bytes!("../fuzz/corpus/judge/seed-counties"),
            "counties",
            true,
        ),
        (
            "submit",
            include_bytes!("../fuzz/corpus/judge/seed-submit"),
            "submit",
            true,
        ),
        (
            "select",
            include_bytes!("../fuzz/corpus/judge/seed-select"),
            "select",
            true,
        ),
        (
            "track",
            include_bytes!("../fuzz/corpus/judge/seed-track"),
            "track",
            true,
        ),
        (
            "new-skus",
            include_bytes!("../fuzz/corpus/judge/seed-new-skus"),
            "new_skus",
            true,
        ),
        (
            "group-buys",
            include_bytes!("../fuzz/corpus/judge/seed-group-buys"),
            "group_buys",
            true,
        ),
        (
            "reconcile",
            include_bytes!("../fuzz/corpus/judge/seed-reconcile"),
            "reconcile",
            true,
        ),
        (
            "expired",
            include_bytes!("../fuzz/corpus/judge/seed-expired"),
            "pools",
            true,
        ),
        (
            "html-502",
            include_bytes!("../fuzz/corpus/judge/seed-html-502"),
            "prices",
            false,
        ),
        (
            "deep",
            include_bytes!("../fuzz/corpus/judge/seed-deep"),
            "detail",
            false,
        ),
        (
            "deep-ok",
            include_bytes!("../fuzz/corpus/judge/seed-deep-ok"),
            "skus",
            true,
        ),
    ];

    #[test]
    fn every_seed_is_judged_as_its_interface() {
        for (name, bytes, interface, parsed) in SEEDS {
            let summary = judge_bytes(bytes);
            assert_eq!(summary.interface, *interface, "seed {name}");
            assert_eq!(summary.parsed, *parsed, "seed {name}: {summary:?}");
            assert!(summary.runs > 5, "seed {name}: {summary:?}");
        }
    }

    /// Inputs that crashed `fuzz/run.sh`, minimised (`cargo fuzz tmin`), in
    /// `fuzz/regressions/judge/`: (name, bytes).
    const CRASHES: &[(&str, &[u8])] = &[
        // A prices answer (any answer whose result is a list) whose first item has the stock
        // `num` -9223372036854775808: read as the stock before a pre-order, the stock-lock check
        // computed `before - 1` in i64 and overflowed (a panic where overflow is checked, a
        // wrong expected stock where it wraps). Fixed in `checks::stock_follows_lock`.
        (
            "stock-lock-i64-min",
            include_bytes!("../fuzz/regressions/judge/stock-lock-i64-min"),
        ),
    ];

    #[test]
    fn crashes_found_by_the_fuzzer_stay_fixed() {
        for (name, bytes) in CRASHES {
            let summary = judge_bytes(bytes);
            assert!(summary.parsed, "{name}: {summary:?}");
        }
    }

    #[test]
    fn the_stock_lock_check_reads_the_lowest_stock() {
        let run =
            checks::stock_follows_lock("A", Some(i64::MIN), Some(i64::MIN), Some(i64::MIN), 1);
        assert_eq!(run.findings.len(), 1, "{run:?}");
        assert_eq!(
            run.findings[0].expected.as_deref(),
            Some("-9223372036854775809")
        );
    }

    #[test]
    fn json_mutations_stay_within_their_length() {
        let mut mix = Mix(7);
        for round in 0..300 {
            let (_, seed, _, _) = SEEDS[round % SEEDS.len()];
            let mut data = seed.to_vec();
            // Mutations of mutations, as the fuzzer makes them.
            for _ in 0..8 {
                if let Some(mutated) = mutate_json(&data, mix.draw(), 4096) {
                    assert!(mutated.len() <= 4096, "{} bytes", mutated.len());
                    data = mutated;
                }
            }
        }
    }

    #[test]
    fn short_and_empty_inputs_are_inputs() {
        for data in [
            &b""[..],
            b"\x00",
            b"\xff\xff\xff\xff\xff\xff",
            b"\x07\x00\x00\x00\xff\xff{",
        ] {
            assert!(!judge_bytes(data).interface.is_empty());
        }
    }

    /// Texts a hostile supplier puts where values go.
    const TOKENS: &[&[u8]] = &[
        b"-9223372036854775808",
        b"9223372036854775807",
        b"18446744073709551616",
        b"1e400",
        b"-0.000000000000000000000000000001",
        b"79228162514264337593543950336",
        b"null",
        b"true",
        b"[]",
        b"{}",
        b"\"\"",
        b"\"\\u0000\"",
        b"\"\\ud800\"",
        "\"天津市和平区\"".as_bytes(),
        b"\n",
        b"[[[[[[[[",
        b"\"9999-12-31 23:59:59\"",
        b"\"0000-00-00 00:00:00\"",
        b"\"http://127.0.0.1/a.jpg\"",
        b"\"token_expired\"",
        b"\xef\xbb\xbf",
        b"\xff",
    ];

    /// One mutation of `data`: most often a value of the answer replaced by a hostile one (the
    /// JSON still parses, so the checks after the parser see it), else a byte changed, bytes
    /// cut, a token put in anywhere, a piece of another seed spliced in, or a header byte.
    fn mutate(mix: &mut Mix, data: &[u8]) -> Vec<u8> {
        let mut out = data.to_vec();
        let rounds = if mix.below(4) == 0 { 3 } else { 1 };
        for _ in 0..rounds {
            let at = mix.below(out.len() + 1);
            match mix.below(10) {
                0 if !out.is_empty() => {
                    let i = at.min(out.len() - 1);
                    out[i] = mix.draw() as u8;
                }
                1 => {
                    let end = (at + mix.below(16)).min(out.len());
                    out.drain(at..end);
                }
                2 => {
                    let token = TOKENS[mix.below(TOKENS.len())];
                    out.splice(at..at, token.iter().copied());
                }
                3 => {
                    let (_, other, _, _) = SEEDS[mix.below(SEEDS.len())];
                    let from = mix.below(other.len());
                    let len = mix.below(64).min(other.len() - from);
                    out.splice(at..at, other[from..from + len].iter().copied());
                }
                4 => {
                    // The header: another interface, status, flags or preset.
                    let i = mix.below(HEADER_BYTES.min(out.len()).max(1));
                    if let Some(b) = out.get_mut(i) {
                        *b = mix.draw() as u8;
                    }
                }
                _ => {
                    // A value after a `:` (from `at` on, or the first one) replaced by a token.
                    let colon = out
                        .get(at..)
                        .and_then(|rest| rest.iter().position(|b| *b == b':'))
                        .map(|p| at + p)
                        .or_else(|| out.iter().position(|b| *b == b':'));
                    let Some(colon) = colon else { continue };
                    let start = colon + 1;
                    let end = out[start..]
                        .iter()
                        .position(|b| matches!(b, b',' | b'}' | b']'))
                        .map_or(out.len(), |p| start + p);
                    let token = TOKENS[mix.below(TOKENS.len())];
                    out.splice(start..end, token.iter().copied());
                }
            }
        }
        out
    }

    #[test]
    fn mutated_seeds_never_panic() {
        let mut mix = Mix(0x6d61_6c6c_6368_6563);
        let mut parsed = 0;
        for round in 0..2_000 {
            let (_, seed, _, _) = SEEDS[round % SEEDS.len()];
            let data = match round % 2 {
                0 => mutate_json(seed, mix.draw(), 8192).unwrap_or_else(|| mutate(&mut mix, seed)),
                _ => mutate(&mut mix, seed),
            };
            if judge_bytes(&data).parsed {
                parsed += 1;
            }
        }
        // The mutations must still reach the checks after the parse, not only the parser.
        assert!(parsed > 600, "only {parsed} of 2000 mutations parsed");
    }
}
