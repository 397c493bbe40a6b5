//! The protocol as data: every schema compiles, every example passes, named invalid variants fail,
//! the catalogue is what the standard says, and the OpenAPI document is valid OpenAPI 3.1.

use std::collections::BTreeSet;

use crate::common::{copy_dir, example, profile};
use mallcheck::profile::{Profile, ProfileError};
use serde_json::{Value, json};

fn mallcheck(args: &[&str]) -> (i32, String, String) {
    let out = crate::common::mallcheck_command()
        .args(args)
        .output()
        .expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn catalogue_has_thirty_interfaces_with_the_standards_split() {
    let p = profile();
    assert_eq!(p.interfaces.len(), 30);
    let optional: BTreeSet<&str> = p
        .interfaces
        .iter()
        .filter(|i| !i.required)
        .map(|i| i.id.as_str())
        .collect();
    let expected: BTreeSet<&str> = [
        "ratings",
        "after_sale",
        "reconcile",
        "accessories",
        "credit_payment",
        "credit_payment_query",
        "warranty",
        "accessory_links",
        "group_buys",
        "specials",
        "tiered_rates",
        "einvoice",
    ]
    .into();
    assert_eq!(
        optional, expected,
        "optional = the standard's 非必需 interfaces"
    );
    assert!(
        p.interfaces
            .iter()
            .filter(|i| !i.auth)
            .map(|i| &i.id)
            .eq(["token"])
    );
}

#[test]
fn every_requirement_of_requirements_md_is_in_the_profile_and_served() {
    let p = profile();
    let text = std::fs::read_to_string("docs/standard/REQUIREMENTS.md").expect("REQUIREMENTS.md");
    let ids: BTreeSet<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("| "))
        .filter_map(|l| l.split(' ').next())
        .filter(|id| {
            id.contains('-')
                && id
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
        })
        .map(str::to_string)
        .collect();
    assert!(
        ids.len() >= 50,
        "parsed {} ids from REQUIREMENTS.md",
        ids.len()
    );
    let served: BTreeSet<&str> = p
        .interfaces
        .iter()
        .flat_map(|i| i.requirements.iter().map(String::as_str))
        .collect();
    for id in &ids {
        assert!(
            p.requirement(id).is_some(),
            "{id} missing from requirements.toml"
        );
        assert!(served.contains(id.as_str()), "{id} served by no interface");
    }
    assert_eq!(
        p.requirements.len(),
        ids.len(),
        "no requirement beyond REQUIREMENTS.md"
    );
}

#[test]
fn every_example_passes_its_result_schema() {
    let p = profile();
    for interface in &p.interfaces {
        let violations = p.validate_result(&interface.id, &example(&interface.id));
        assert!(violations.is_empty(), "{}: {violations:?}", interface.id);
    }
}

#[test]
fn envelope_demands_a_boolean_success() {
    let p = profile();
    assert!(
        p.validate_envelope(&json!({"success": true, "result": [1]}))
            .is_empty()
    );
    assert!(
        p.validate_envelope(&json!({"success": false, "desc": "x", "result": null}))
            .is_empty()
    );
    let wrong = p.validate_envelope(&json!({"success": "true"}));
    assert_eq!(wrong.len(), 1);
    assert_eq!(wrong[0].instance_pointer, "/success");
    assert!(
        !p.validate_envelope(&json!({"desc": "no success"}))
            .is_empty()
    );
    assert!(!p.validate_envelope(&json!([true])).is_empty());
}

enum Change {
    Remove,
    Set(Value),
}

/// Applies a change at a JSON pointer of a copy of `value`.
fn mutate(value: &Value, pointer: &str, change: &Change) -> Value {
    let mut copy = value.clone();
    let (parent, last) = pointer.rsplit_once('/').expect("pointer with a parent");
    let target = copy
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("no {parent}"));
    match (target, change) {
        (Value::Object(map), Change::Remove) => {
            assert!(map.shift_remove(last).is_some(), "nothing at {pointer}");
        }
        (Value::Object(map), Change::Set(v)) => {
            map.insert(last.to_string(), v.clone());
        }
        (Value::Array(items), Change::Set(v)) => {
            let index: usize = last.parse().expect("index");
            items[index] = v.clone();
        }
        _ => panic!("cannot apply the change at {pointer}"),
    }
    copy
}

#[test]
fn named_invalid_variants_are_rejected_at_their_pointer() {
    use Change::{Remove, Set};
    let cases: Vec<(&str, &str, &str, Change)> = vec![
        ("missing required field", "detail", "/brand_name", Remove),
        (
            "missing required field",
            "prices",
            "/0/market_price",
            Remove,
        ),
        ("missing required field", "track", "/waybill", Remove),
        ("missing required field", "token", "/access_token", Remove),
        ("wrong type", "prices", "/0/price", Set(json!(true))),
        ("wrong type", "stocks", "/0/num", Set(json!("58"))),
        ("sku as a number", "prices", "/0/sku", Set(json!(100012345))),
        (
            "sku as a number",
            "shelf_states",
            "/0/sku",
            Set(json!(100012345)),
        ),
        ("outside an enum", "shelf_states", "/0/state", Set(json!(2))),
        ("outside an enum", "select", "/state", Set(json!(3))),
        ("outside an enum", "stocks", "/0/desc", Set(json!("有"))),
        ("outside an enum", "detail", "/is_imported", Set(json!(2))),
        // Three decimals or a price ≤ 0 are not schema violations: the standard does not say
        // them, and the money check reports them against PRC-MONEY (a warning).
        (
            "relative image path",
            "images",
            "/0/images/0/path",
            Set(json!("/img/1.jpg")),
        ),
        (
            "relative image path",
            "detail",
            "/image_path",
            Set(json!("img/main.jpg")),
        ),
        (
            "bad time format",
            "new_skus",
            "/0/time",
            Set(json!("2025/06/01 10:00")),
        ),
        ("rate above one", "ratings", "/0/good", Set(json!(1.5))),
        ("score above five", "ratings", "/0/average", Set(json!(5.5))),
        (
            "token lifetime not a number",
            "token",
            "/expires_at",
            Set(json!(129600)),
        ),
        ("empty brand", "detail", "/brand_name", Set(json!(""))),
    ];
    let p = profile();
    for (name, id, pointer, change) in &cases {
        let broken = mutate(&example(id), pointer, change);
        let violations = p.validate_result(id, &broken);
        assert!(!violations.is_empty(), "{name}: {id}{pointer} accepted");
        let expected_at = match change {
            Remove => pointer
                .rsplit_once('/')
                .map(|(parent, _)| parent)
                .unwrap_or(""),
            Set(_) => pointer,
        };
        assert!(
            violations.iter().any(|v| v.instance_pointer == expected_at),
            "{name}: {id}: violations {violations:?} do not point at {expected_at}"
        );
    }
}

#[test]
fn money_accepts_exact_two_decimal_amounts() {
    let p = profile();
    for price in ["0.01", "19.99", "5999.00", "1234567.89", "0.1", "3"] {
        let text = format!(r#"[{{"sku":"1","price":{price},"market_price":99999999.99}}]"#);
        let value: Value = serde_json::from_str(&text).expect("json");
        let violations = p.validate_result("prices", &value);
        assert!(violations.is_empty(), "{price}: {violations:?}");
    }
}

#[test]
fn submit_request_requires_the_vat_invoice_fields_for_invoice_type_2() {
    let p = profile();
    let base = json!({
        "yggc_order": "TJ1", "sku": [{"sku": "100012345", "num": 1, "price": 19.99}],
        "name": "张三", "province": "120000", "city": "120100", "county": "120101",
        "address": "天津市和平区南京路1号", "mobile": "13800000000",
        "invoice_type": 1, "invoice_title": "天津市某单位", "invoice_org_code": "12120000MB0000000X",
        "payment": 2, "order_price": 19.99, "freight": 0
    });
    assert_eq!(p.validate_request("submit", &base), vec![]);
    let mut vat = base.clone();
    vat["invoice_type"] = json!(2);
    assert!(
        !p.validate_request("submit", &vat).is_empty(),
        "VAT invoice without its fields"
    );
}

#[test]
fn a_broken_profile_names_the_file_and_the_field() {
    let dir = std::env::temp_dir().join(format!("mallcheck-broken-profile-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(std::path::Path::new("schemas"), &dir);
    let catalogue = dir.join("interfaces.toml");
    let text = std::fs::read_to_string(&catalogue).expect("catalogue");
    std::fs::write(
        &catalogue,
        text.replacen("required = true", "required = \"yes\"", 1),
    )
    .expect("write");
    let error = Profile::from_dir(&dir).expect_err("a broken catalogue must not load");
    let message = error.to_string();
    assert!(matches!(error, ProfileError::Parse { .. }), "{message}");
    assert!(
        message.contains("interfaces.toml") && message.contains("required"),
        "{message}"
    );

    std::fs::write(
        &catalogue,
        text.replacen("\"TOK-ISSUE\"", "\"TOK-NOPE\"", 1),
    )
    .expect("write");
    let message = Profile::from_dir(&dir)
        .expect_err("unknown requirement")
        .to_string();
    assert!(
        message.contains("TOK-NOPE") && message.contains("requirements"),
        "{message}"
    );

    std::fs::write(&catalogue, &text).expect("write");
    std::fs::write(dir.join("result/prices.json"), "{ not json").expect("write");
    let message = Profile::from_dir(&dir)
        .expect_err("broken schema")
        .to_string();
    assert!(message.contains("result/prices.json"), "{message}");

    let (code, _, stderr) = mallcheck(&["list", "--profile", dir.to_str().expect("utf-8")]);
    assert_eq!(code, 2, "input error exit code; stderr: {stderr}");
    assert!(stderr.contains("result/prices.json"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn list_json_snapshot() {
    let (code, stdout, stderr) = mallcheck(&["list", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let value: Value = serde_json::from_str(&stdout).expect("list --json prints JSON");
    insta::assert_json_snapshot!("list_json", value);
}

#[test]
fn requirements_json_lists_every_field() {
    let (code, stdout, stderr) = mallcheck(&["requirements", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let value: Value = serde_json::from_str(&stdout).expect("JSON");
    let entries = value.as_array().expect("array");
    assert_eq!(entries.len(), profile().requirements.len());
    for entry in entries {
        for key in ["id", "level", "set", "text_zh", "text_en"] {
            assert!(
                entry[key].as_str().is_some_and(|s| !s.is_empty()),
                "{key} in {entry}"
            );
        }
        assert!(["MUST", "SHOULD", "BEYOND"].contains(&entry["level"].as_str().unwrap_or("")));
        assert!(["required", "optional"].contains(&entry["set"].as_str().unwrap_or("")));
    }
}

#[test]
fn schema_command_prints_the_result_or_request_schema() {
    let (code, stdout, _) = mallcheck(&["schema", "prices"]);
    assert_eq!(code, 0);
    let schema: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(
        schema["$id"],
        "https://mallcheck.local/schemas/result/prices.json"
    );
    let (code, stdout, _) = mallcheck(&["schema", "submit", "--request"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("yggc_order"));
    let (code, _, stderr) = mallcheck(&["schema", "nope"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("nope"));
}

/// Every `$ref` of the document points at something inside it.
fn assert_refs_resolve(document: &Value, node: &Value) {
    match node {
        Value::Object(map) => {
            for (key, inner) in map {
                if key == "$ref" {
                    let reference = inner.as_str().expect("string $ref");
                    let pointer = reference.strip_prefix('#').expect("local $ref");
                    assert!(document.pointer(pointer).is_some(), "dangling {reference}");
                } else {
                    assert_refs_resolve(document, inner);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| assert_refs_resolve(document, i)),
        _ => {}
    }
}

#[test]
fn openapi_document_is_valid_openapi_3_1() {
    let (code, stdout, stderr) = mallcheck(&["openapi"]);
    assert_eq!(code, 0, "{stderr}");
    let document: Value = serde_json::from_str(&stdout).expect("JSON");
    // The OpenAPI Initiative's own schema of 3.1 documents (tests/fixtures, from spec.openapis.org).
    let meta: Value = serde_json::from_str(
        &std::fs::read_to_string("tests/fixtures/openapi-3.1-schema.json").expect("fixture"),
    )
    .expect("meta-schema");
    let validator = jsonschema::validator_for(&meta).expect("the OpenAPI meta-schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&document)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_refs_resolve(&document, &document);
    let p = profile();
    let paths = document["paths"].as_object().expect("paths");
    assert_eq!(paths.len(), p.interfaces.len());
    for interface in &p.interfaces {
        let op = &paths[&interface.path]["post"];
        assert_eq!(op["operationId"], interface.id.as_str());
        assert!(op["requestBody"]["content"]["application/x-www-form-urlencoded"].is_object());
        assert!(op["requestBody"]["content"]["application/json"].is_object());
    }
    // Each component is itself a schema the validator accepts, and examples still pass through
    // the rewritten references.
    let components = &document["components"]["schemas"];
    let prices = json!({
        "$ref": "#/components/schemas/result.prices",
        "components": document["components"].clone()
    });
    let v = jsonschema::validator_for(&prices).expect("component compiles");
    assert!(v.is_valid(&example("prices")));
    assert!(!v.is_valid(&json!([{"sku": "1", "price": true, "market_price": 2}])));
    assert!(components["common.defs"]["$defs"]["money"].is_object());
}
