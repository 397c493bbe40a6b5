//! The exchange checks through the public API: every example of the profile, answered as the
//! standard wants (one line, HTTP 200, the envelope), yields zero findings on its interface, and
//! the same examples broken in one way each yield the finding of that way.

use crate::common::{example, profile};
use mallcheck::checks::{
    AnswerLimits, CheckRun, ExchangeInput, decimal_of, image_urls, judge_exchange, offer_prices,
    offers_below_agreement,
};
use mallcheck::client::{Exchange, RecordedRequest, RecordedResponse};
use mallcheck::profile::Profile;
use serde_json::{Map, Value, json};

/// An answer as recorded: HTTP 200, at 2025-06-01 21:30:00 +08:00 (the token example's issue
/// time), body as given.
fn exchange(body: Vec<u8>) -> Exchange {
    Exchange {
        id: 7,
        interface: "x".to_string(),
        request: RecordedRequest {
            method: "POST".to_string(),
            url: "http://127.0.0.1:9/api".to_string(),
            content_type: "application/x-www-form-urlencoded".to_string(),
            params: Vec::new(),
        },
        response: Some(RecordedResponse {
            status: 200,
            headers: vec![("Content-Type".to_string(), "application/json".to_string())],
            body,
            truncated: false,
            full_body: None,
        }),
        error: None,
        started_at_ms: 1_748_784_600_000,
        duration_ms: 5,
    }
}

/// The parameters a mall would have sent for this result: the batch of the SKUs answered, the
/// SKU of a detail.
fn params_for(profile: &Profile, id: &str, result: &Value) -> Map<String, Value> {
    let mut params = Map::new();
    let interface = profile.interface(id).expect("interface");
    if let Some(batch) = &interface.batch_param {
        let skus: Vec<&str> = result
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i.get("sku")?.as_str())
                    .collect()
            })
            .unwrap_or_default();
        params.insert(batch.clone(), json!(skus.join(",")));
    }
    if id == "detail" {
        params.insert("sku".to_string(), result["sku"].clone());
    }
    params
}

fn run(profile: &Profile, id: &str, body: Vec<u8>, params: &Map<String, Value>) -> Vec<CheckRun> {
    let exchange = exchange(body);
    judge_exchange(&ExchangeInput {
        profile,
        interface: profile.interface(id).expect("interface"),
        exchange: &exchange,
        params,
        expect_success: true,
        token_first_issued_ms: None,
        latency_bound_ms: 60_000,
        limits: AnswerLimits::default(),
    })
    .runs
}

fn envelope(result: &Value) -> Vec<u8> {
    json!({"success": true, "desc": "成功", "result": result})
        .to_string()
        .into_bytes()
}

#[test]
fn every_example_passes_every_check_of_its_interface() {
    let profile = profile();
    for interface in &profile.interfaces {
        let result = example(&interface.id);
        let params = params_for(&profile, &interface.id, &result);
        let runs = run(&profile, &interface.id, envelope(&result), &params);
        let findings: Vec<_> = runs.iter().flat_map(|r| &r.findings).collect();
        assert!(findings.is_empty(), "{}: {findings:#?}", interface.id);
        let checks: Vec<&str> = runs.iter().map(|r| r.check.as_str()).collect();
        for always in ["http-status", "no-newline", "json", "envelope", "schema"] {
            assert!(
                checks.contains(&always),
                "{}: {always} did not run",
                interface.id
            );
        }
        if interface.batch_param.is_some() {
            assert!(checks.contains(&"batch-complete"), "{}", interface.id);
        }
    }
}

#[test]
fn examples_broken_one_way_each_give_that_finding() {
    let profile = profile();
    let cases: Vec<(&str, &str, Value, &str)> = vec![
        ("prices", "/0/price", json!(99999), "PRC-NOT-ABOVE-MARKET"),
        ("prices", "/0/market_price", json!(0.001), "PRC-MONEY"),
        ("submit", "/order_price", json!(1.00), "X-ORDER-TOTAL"),
        ("select", "/freight", json!(-5), "PRC-MONEY"),
        ("detail", "/brand_name", json!(""), "DET-COMPLETE"),
        ("detail", "/sku", json!("999"), "DET-SAME-SKU"),
        (
            "detail",
            "/image_path",
            json!("/img/main.jpg"),
            "IMG-REACHABLE",
        ),
        (
            "images",
            "/1/images/0/path",
            json!("img/1.jpg"),
            "IMG-REACHABLE",
        ),
        ("pools", "/1/id", json!("A0101"), "POOL-LIST"),
        ("skus", "/2", json!("100012345"), "SKU-LIST"),
        ("counties", "/河东区", json!("120101"), "AREA-NAME-MATCH"),
        ("token", "/expires_in", json!(7200), "TOK-TTL-36H"),
        ("token", "/access_token", json!(""), "TOK-ISSUE"),
        ("ratings", "/0/bad", json!(1.5), "OPT-COMMENTS"),
        ("tiered_rates", "/0/tiers/1/min_num", json!(5), "OPT-TIERED"),
        (
            "group_buys",
            "/0/end_time",
            json!("2025-05-01 00:00:00"),
            "OPT-GROUP-BUY",
        ),
        (
            "specials",
            "/0/end_time",
            json!("2025-05-01 00:00:00"),
            "OPT-SPECIAL",
        ),
        ("reconcile", "/amount", json!(1.00), "OPT-RECONCILE"),
        (
            "shelf_states",
            "/2/sku",
            json!("100012345"),
            "BATCH-COMPLETE",
        ),
    ];
    for (id, pointer, value, requirement) in cases {
        let mut result = example(id);
        // Ask for what the intact example answers.
        let params = params_for(&profile, id, &result);
        *result
            .pointer_mut(pointer)
            .unwrap_or_else(|| panic!("{id}{pointer}")) = value;
        let runs = run(&profile, id, envelope(&result), &params);
        let hit = runs.iter().flat_map(|r| &r.findings).any(|f| {
            f.requirement == requirement
                && f.pointer.as_deref() == Some(&format!("/result{pointer}"))
        });
        assert!(
            hit,
            "{id}{pointer}: no {requirement} finding at /result{pointer}: {runs:#?}"
        );
    }
}

#[test]
fn pretty_printed_example_fails_only_the_newline_check() {
    let profile = profile();
    let result = example("prices");
    let params = params_for(&profile, "prices", &result);
    let body =
        serde_json::to_vec_pretty(&json!({"success": true, "result": result})).expect("json");
    let runs = run(&profile, "prices", body, &params);
    let failing: Vec<&str> = runs
        .iter()
        .filter(|r| !r.findings.is_empty())
        .map(|r| r.check.as_str())
        .collect();
    assert_eq!(failing, vec!["no-newline"]);
}

#[test]
fn runner_helpers_extract_images_and_offers() {
    let images = example("images");
    let urls = image_urls("images", &images);
    assert_eq!(urls.len(), 4);
    assert_eq!(urls[0].0, "/result/0/images/0/path");

    let offers = example("group_buys");
    let found = offer_prices(&offers);
    assert_eq!(found.len(), 1);
    let (pointer, sku, _) = &found[0];
    let agreement = decimal_of(&json!("4599.00")).expect("decimal");
    let prices = std::collections::BTreeMap::from([(sku.clone(), agreement)]);
    assert!(offers_below_agreement(&found, &prices).findings.is_empty());
    let lower = decimal_of(&json!("4000")).expect("decimal");
    let prices = std::collections::BTreeMap::from([(sku.clone(), lower)]);
    let run = offers_below_agreement(&found, &prices);
    assert_eq!(run.findings.len(), 1, "offer above agreement");
    assert_eq!(run.findings[0].requirement, "X-OFFER-BELOW-AGREEMENT");
    assert_eq!(
        &run.findings[0].pointer.clone().unwrap_or_default(),
        pointer
    );
    let none = offers_below_agreement(&[], &prices);
    assert_eq!(
        none.unjudged.len(),
        1,
        "no offers: not judged, never a pass"
    );
}
