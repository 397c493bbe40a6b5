//! The reference supplier end to end over loopback: every interface of the clean supplier answers
//! a valid one-line envelope, every fault breaks what it names and the clean supplier does not,
//! concurrent pre-orders never oversell, tokens live 36 hours, and a seed fixes the catalogue.
//! Served with a variant profile (`profiles/`), it speaks that profile's paths, field names,
//! token parameter and encoding. With the test-environment options (no admin endpoints) its
//! orders ship and are delivered by themselves, its areas have its own ids, a valid token is
//! handed out again, and the faults still apply.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use chrono::{Duration, Utc};
use mallcheck::profile::{Encoding, Profile, ROLES};
use mallcheck::supplier::{self, RunningSupplier, SupplierConfig};
use reqwest::StatusCode;
use rust_decimal::Decimal;
use serde_json::{Value, json};

const USERNAME: &str = "tjmall";
const PASSWORD: &str = "tjmall-test";
const COUNTY: &str = "120101";

fn profile() -> Arc<Profile> {
    static PROFILE: OnceLock<Arc<Profile>> = OnceLock::new();
    PROFILE
        .get_or_init(|| match Profile::embedded() {
            Ok(profile) => Arc::new(profile),
            Err(e) => panic!("the embedded profile must load: {e}"),
        })
        .clone()
}

/// A variant profile of `profiles/` (it must load).
fn variant(name: &str) -> Arc<Profile> {
    static JD_STYLE: OnceLock<Arc<Profile>> = OnceLock::new();
    static JSON_TOKEN: OnceLock<Arc<Profile>> = OnceLock::new();
    let cell = match name {
        "jd-style" => &JD_STYLE,
        "json-token" => &JSON_TOKEN,
        other => panic!("no variant profile {other} in these tests"),
    };
    cell.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("profiles")
            .join(name);
        match Profile::from_dir(&dir) {
            Ok(profile) => Arc::new(profile),
            Err(e) => panic!("profiles/{name} must load: {e}"),
        }
    })
    .clone()
}

fn md5_hex(text: &str) -> String {
    format!("{:x}", md5::compute(text.as_bytes()))
}

/// The timestamp a mall sends: now, China Standard Time.
fn cst_now() -> String {
    (Utc::now() + Duration::hours(8))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn decimal(value: &Value) -> Decimal {
    Decimal::from_str(&value.to_string()).unwrap_or_else(|e| panic!("not a decimal {value}: {e}"))
}

/// An amount as a JSON number with its exact decimal text.
fn money(amount: Decimal) -> Value {
    serde_json::Number::from_str(&amount.to_string())
        .map(Value::Number)
        .unwrap_or_else(|e| panic!("{amount}: {e}"))
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}

/// One answer: status, content type, raw body and the parsed envelope (Null if not JSON).
struct Answer {
    status: StatusCode,
    content_type: String,
    raw: Vec<u8>,
    body: Value,
}

impl Answer {
    /// Lenient on purpose (a string "true" counts) so the helpers work under every fault;
    /// the envelope checks look at the type.
    fn success(&self) -> bool {
        self.body["success"] == json!(true) || self.body["success"] == json!("true")
    }

    fn result(&self) -> &Value {
        &self.body["result"]
    }

    fn desc(&self) -> String {
        text(&self.body["desc"])
    }
}

/// A mall talking to one supplier, in the profile both were given.
struct Mall {
    profile: Arc<Profile>,
    supplier: RunningSupplier,
    client: reqwest::Client,
    base: String,
    token: String,
    yggc_serial: std::sync::atomic::AtomicU64,
}

async fn mall_with(faults: &[&str], seed: u64) -> Mall {
    mall_on(profile(), faults, seed).await
}

async fn mall_on(profile: Arc<Profile>, faults: &[&str], seed: u64) -> Mall {
    let config = SupplierConfig {
        faults: faults.iter().map(|f| f.to_string()).collect(),
        admin: true,
        seed,
        ..SupplierConfig::default()
    };
    mall_configured(profile, config).await
}

async fn mall_configured(profile: Arc<Profile>, config: SupplierConfig) -> Mall {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let addr = "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}"));
    let supplier = match supplier::start(Arc::clone(&profile), config, addr).await {
        Ok(supplier) => supplier,
        Err(e) => panic!("the supplier must start: {e}"),
    };
    let base = supplier.base_url();
    let mut mall = Mall {
        profile,
        supplier,
        client: reqwest::Client::new(),
        base,
        token: String::new(),
        yggc_serial: std::sync::atomic::AtomicU64::new(1),
    };
    mall.token = mall.fresh_token().await;
    mall
}

async fn mall(faults: &[&str]) -> Mall {
    mall_with(faults, 1).await
}

impl Mall {
    fn path(&self, id: &str) -> String {
        match self.profile.interface(id) {
            Some(interface) => interface.path.clone(),
            None => panic!("no interface {id} in the profile"),
        }
    }

    async fn post_form(&self, path: &str, form: &[(&str, String)]) -> Answer {
        let request = self.client.post(format!("{}{path}", self.base)).form(form);
        self.send(request).await
    }

    /// A POST in the profile's encoding: a form, or a JSON object.
    async fn post(&self, path: &str, params: Vec<(String, Value)>) -> Answer {
        let url = format!("{}{path}", self.base);
        let request = match self.profile.settings.encoding {
            Encoding::Json => {
                let object: serde_json::Map<String, Value> = params.into_iter().collect();
                self.client
                    .post(url)
                    .header("content-type", "application/json")
                    .body(Value::Object(object).to_string())
            }
            Encoding::Form => {
                let form: Vec<(String, String)> = params
                    .into_iter()
                    .map(|(name, value)| match value {
                        Value::String(text) => (name, text),
                        other => (name, other.to_string()),
                    })
                    .collect();
                self.client.post(url).form(&form)
            }
        };
        self.send(request).await
    }

    /// Parameters given in logical names as the profile sends them: wire names, at every depth
    /// of the order lines (`json_params`), which travel as JSON.
    fn wire_params(&self, id: &str, params: &[(&str, &str)]) -> Vec<(String, Value)> {
        let json_params = self
            .profile
            .interface(id)
            .map(|i| i.json_params.clone())
            .unwrap_or_default();
        let fields = &self.profile.fields;
        params
            .iter()
            .map(|(name, value)| {
                let nested = serde_json::from_str::<Value>(value)
                    .ok()
                    .filter(|_| json_params.iter().any(|p| p == name));
                let value = match nested {
                    Some(nested) => fields.to_wire_value(&nested),
                    None => Value::String(value.to_string()),
                };
                (fields.wire(name).to_string(), value)
            })
            .collect()
    }

    fn token_param(&self) -> (String, Value) {
        (
            self.profile.settings.token_param.clone(),
            Value::String(self.token.clone()),
        )
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("request failed: {e}"));
        let status = response.status();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let raw = response
            .bytes()
            .await
            .map(|b| b.to_vec())
            .unwrap_or_default();
        let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
        Answer {
            status,
            content_type,
            raw,
            body,
        }
    }

    /// Calls an interface by profile id with the mall's token.
    async fn call(&self, id: &str, params: &[(&str, &str)]) -> Answer {
        let mut wire = vec![self.token_param()];
        wire.extend(self.wire_params(id, params));
        self.post(&self.path(id), wire).await
    }

    async fn call_without_token(&self, id: &str, params: &[(&str, &str)]) -> Answer {
        self.post(&self.path(id), self.wire_params(id, params))
            .await
    }

    async fn token_answer(&self, username: &str, password: &str) -> Answer {
        let password_md5 = md5_hex(password);
        let timestamp = cst_now();
        let sign = md5_hex(&format!(
            "{username}{password_md5}{timestamp}{password_md5}"
        ));
        let params = [
            ("username", username.to_string()),
            ("password", password_md5),
            ("timestamp", timestamp),
            ("sign", sign),
        ]
        .map(|(name, value)| (name.to_string(), Value::String(value)));
        self.post(&self.path("token"), params.to_vec()).await
    }

    async fn fresh_token(&self) -> String {
        let answer = self.token_answer(USERNAME, PASSWORD).await;
        assert!(answer.success(), "token refused: {}", answer.desc());
        text(&answer.result()["access_token"])
    }

    async fn admin(&self, path: &str, form: &[(&str, String)]) -> Answer {
        let answer = self.post_form(path, form).await;
        assert!(answer.success(), "admin {path} failed: {}", answer.desc());
        answer
    }

    async fn advance(&self, seconds: i64) {
        self.admin(
            "/__admin/clock",
            &[("advance_seconds", seconds.to_string())],
        )
        .await;
    }

    async fn set_stock(&self, sku: &str, num: u64) {
        self.admin(
            "/__admin/stock",
            &[("sku", sku.to_string()), ("num", num.to_string())],
        )
        .await;
    }

    async fn pools(&self) -> Vec<String> {
        let answer = self.call("pools", &[]).await;
        answer
            .result()
            .as_array()
            .map(|pools| pools.iter().map(|p| text(&p["id"])).collect())
            .unwrap_or_default()
    }

    /// The SKUs of the first pool.
    async fn first_pool_skus(&self) -> Vec<String> {
        let pools = self.pools().await;
        let first = pools.first().cloned().unwrap_or_default();
        let answer = self.call("skus", &[("catalog_id", &first)]).await;
        answer
            .result()
            .as_array()
            .map(|skus| skus.iter().map(text).collect())
            .unwrap_or_default()
    }

    async fn first_sku(&self) -> String {
        self.first_pool_skus()
            .await
            .first()
            .cloned()
            .unwrap_or_default()
    }

    /// The first 20 distinct SKUs of the first pool, comma-joined.
    async fn batch(&self) -> (Vec<String>, String) {
        let mut seen = HashSet::new();
        let skus: Vec<String> = self
            .first_pool_skus()
            .await
            .into_iter()
            .filter(|sku| seen.insert(sku.clone()))
            .take(20)
            .collect();
        let joined = skus.join(",");
        (skus, joined)
    }

    async fn agreement_price(&self, sku: &str) -> Decimal {
        let answer = self.call("prices", &[("sku", sku)]).await;
        decimal(&answer.result()[0]["price"])
    }

    /// A valid pre-order of `num` units of the first SKU, paid on credit terms.
    async fn submit(&self, num: u64) -> Answer {
        let yggc = format!(
            "YG{}",
            self.yggc_serial
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        self.submit_as(&yggc, num, None).await
    }

    async fn submit_as(&self, yggc: &str, num: u64, price: Option<Decimal>) -> Answer {
        let sku = self.first_sku().await;
        let price = match price {
            Some(price) => price,
            None => self.agreement_price(&sku).await,
        };
        let lines = json!([{"sku": sku, "num": num, "price": money(price)}]).to_string();
        let total = (price * Decimal::from(num)).to_string();
        self.submit_lines(yggc, &lines, &total).await
    }

    /// A pre-order with valid receiver and invoice fields around the given lines and total.
    async fn submit_lines(&self, yggc: &str, lines: &str, total: &str) -> Answer {
        let mut params = vec![("yggc_order", yggc), ("sku", lines), ("order_price", total)];
        params.extend_from_slice(ORDER_FIELDS);
        self.call("submit", &params).await
    }

    async fn submitted_order(&self) -> String {
        let answer = self.submit(1).await;
        assert!(answer.success(), "submit refused: {}", answer.desc());
        text(&answer.result()["order_id"])
    }

    async fn confirmed_order(&self) -> String {
        let order = self.submitted_order().await;
        let answer = self.call("confirm", &[("order_id", &order)]).await;
        assert!(answer.success(), "confirm refused: {}", answer.desc());
        order
    }

    /// A confirmed order whose delivery time has passed (the clock moved 25 h).
    async fn completed_order(&self) -> String {
        let order = self.confirmed_order().await;
        self.advance(25 * 3600).await;
        order
    }

    async fn stock(&self, sku: &str) -> u64 {
        let answer = self
            .call("stocks", &[("sku", sku), ("area_id", COUNTY)])
            .await;
        answer.result()[0]["num"].as_u64().unwrap_or(u64::MAX)
    }
}

/// The receiver, invoice and payment fields of a valid pre-order (the same in every profile).
const ORDER_FIELDS: &[(&str, &str)] = &[
    ("name", "张三"),
    ("province", "120000"),
    ("city", "120100"),
    ("county", COUNTY),
    ("address", "天津市和平区南京路1号"),
    ("mobile", "13800138000"),
    ("invoice_type", "2"),
    ("invoice_title", "天津市某某局"),
    ("invoice_org_code", "11120000MB0000000X"),
    ("invoice_name", "天津市某某局"),
    ("invoice_phone", "022-12345678"),
    ("invoice_bank", "中国银行天津分行"),
    ("invoice_bank_code", "6216600000000000000"),
    ("invoice_address", "天津市和平区南京路1号"),
    ("invoice_mobile", "13800138000"),
    ("invoice_receipt_address", "天津市和平区南京路1号"),
    ("payment", "5"),
    ("freight", "0"),
];

/// The seam where the profile's schemas judge each result of the clean supplier.
fn validate(profile: &Profile, id: &str, result: &Value) {
    let violations = profile.validate_result(id, result);
    assert!(
        violations.is_empty(),
        "{id}: result does not match its schema: {:?}\n{result}",
        violations.iter().map(|v| &v.message).collect::<Vec<_>>()
    );
}

fn assert_one_line_envelope(profile: &Profile, id: &str, answer: &Answer) {
    assert_eq!(answer.status, StatusCode::OK, "{id}");
    assert_eq!(
        answer.content_type, "application/json; charset=utf-8",
        "{id}"
    );
    assert!(
        !answer.raw.iter().any(|b| *b == b'\n' || *b == b'\r'),
        "{id}: line break in the body"
    );
    assert!(
        answer.body["success"].is_boolean(),
        "{id}: no boolean success"
    );
    let envelope_violations = profile.validate_envelope(&answer.body);
    assert!(
        envelope_violations.is_empty(),
        "{id}: {}",
        String::from_utf8_lossy(&answer.raw)
    );
}

#[tokio::test]
async fn clean_supplier_answers_every_interface() {
    answers_every_interface(profile()).await;
}

#[tokio::test]
async fn jd_style_supplier_answers_every_interface_in_its_own_schemas() {
    answers_every_interface(variant("jd-style")).await;
}

#[tokio::test]
async fn json_token_supplier_answers_every_interface() {
    answers_every_interface(variant("json-token")).await;
}

/// Every interface of the clean supplier served with `profile` answers a one-line envelope whose
/// result passes that profile's own result schema, with no field under a logical name the profile
/// calls something else.
async fn answers_every_interface(profile: Arc<Profile>) {
    let mall = mall_on(Arc::clone(&profile), &[], 1).await;
    let mut answers: Vec<(String, Answer)> = Vec::new();
    let token = mall.token_answer(USERNAME, PASSWORD).await;
    assert_eq!(token.result()["expires_in"], json!(129600));
    answers.push(("token".into(), token));

    let pools = mall.call("pools", &[]).await;
    let pool = text(&pools.result()[0]["id"]);
    answers.push(("pools".into(), pools));
    let skus = mall.call("skus", &[("catalog_id", &pool)]).await;
    let sku = text(&skus.result()[0]);
    answers.push(("skus".into(), skus));
    let (_, batch) = mall.batch().await;
    answers.push(("detail".into(), mall.call("detail", &[("sku", &sku)]).await));
    for id in ["shelf_states", "images", "ratings", "prices", "accessories"] {
        answers.push((id.into(), mall.call(id, &[("sku", &batch)]).await));
    }
    for id in ["stocks", "warranty"] {
        let answer = mall.call(id, &[("sku", &batch), ("area_id", COUNTY)]).await;
        answers.push((id.into(), answer));
    }
    answers.push(("provinces".into(), mall.call("provinces", &[]).await));
    answers.push((
        "cities".into(),
        mall.call("cities", &[("id", "120000")]).await,
    ));
    answers.push((
        "counties".into(),
        mall.call("counties", &[("id", "120100")]).await,
    ));
    for id in [
        "accessory_links",
        "group_buys",
        "specials",
        "tiered_rates",
        "new_skus",
        "changed_skus",
    ] {
        answers.push((id.into(), mall.call(id, &[]).await));
    }

    // An order: submit, confirm, ship, deliver, return, pay, invoice; a second one cancelled.
    let submit = mall.submit(2).await;
    let order = text(&submit.result()["order_id"]);
    answers.push(("submit".into(), submit));
    let cancelled = mall.submitted_order().await;
    answers.push((
        "cancel".into(),
        mall.call("cancel", &[("order_id", &cancelled)]).await,
    ));
    answers.push((
        "confirm".into(),
        mall.call("confirm", &[("order_id", &order)]).await,
    ));
    let shipped = mall.call("select", &[("order_id", &order)]).await;
    assert_eq!(shipped.result()["state"], json!(5));
    assert_eq!(shipped.result()["submit_state"], json!(1));
    mall.advance(25 * 3600).await;
    // The token was issued before the clock moved; 25 h is within its 36 h.
    let select = mall.call("select", &[("order_id", &order)]).await;
    assert_eq!(select.result()["state"], json!(1), "delivered after 24 h");
    assert_eq!(select.result()["deliver_state"], json!(1));
    answers.push(("select".into(), select));
    let track = mall.call("track", &[("order_id", &order)]).await;
    assert!(track.body.to_string().contains("已签收"));
    answers.push(("track".into(), track));
    let returned = json!([{"sku": sku, "num": 1}]).to_string();
    let after_sale = mall
        .call(
            "after_sale",
            &[("order_id", &order), ("skus", &returned), ("type", "4")],
        )
        .await;
    answers.push(("after_sale".into(), after_sale));
    let price =
        decimal(&mall.call("select", &[("order_id", &order)]).await.result()["order_price"]);
    let pay = [
        ("order_id", order.as_str()),
        ("pay_amount", &price.to_string()),
        ("pay_time", &cst_now()),
        ("transfer_no", "ZZ20260101001"),
    ]
    .map(|(k, v)| (k, v.to_string()));
    let pay: Vec<(&str, &str)> = pay.iter().map(|(k, v)| (*k, v.as_str())).collect();
    answers.push((
        "credit_payment".into(),
        mall.call("credit_payment", &pay).await,
    ));
    let query = mall
        .call("credit_payment_query", &[("order_id", &order)])
        .await;
    assert_eq!(query.result()["pay_state"], json!(2));
    answers.push(("credit_payment_query".into(), query));
    let einvoice = mall.call("einvoice", &[("order_id", &order)]).await;
    let invoice_url = text(&einvoice.result()[0]["url"]);
    answers.push(("einvoice".into(), einvoice));
    let today = (Utc::now() + Duration::hours(8))
        .format("%Y-%m-%d")
        .to_string();
    let reconcile = mall
        .call("reconcile", &[("bdate", &today), ("edate", &today)])
        .await;
    assert_eq!(
        reconcile.result()["count"],
        json!(1),
        "the cancelled order is left out"
    );
    answers.push(("reconcile".into(), reconcile));

    let renamed: Vec<&str> = ROLES
        .iter()
        .map(|(logical, _)| *logical)
        .filter(|logical| profile.fields.wire(logical) != *logical)
        .collect();
    for (id, answer) in &answers {
        assert_one_line_envelope(&profile, id, answer);
        assert!(answer.success(), "{id} failed: {}", answer.desc());
        validate(&profile, id, answer.result());
        let raw = String::from_utf8_lossy(&answer.raw);
        for logical in &renamed {
            assert!(
                !raw.contains(&format!("\"{logical}\":")),
                "{id} answers {logical}, which this profile calls {}: {raw}",
                profile.fields.wire(logical)
            );
        }
    }
    let covered: BTreeSet<&str> = answers.iter().map(|(id, _)| id.as_str()).collect();
    let all: BTreeSet<&str> = profile.interfaces.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(covered, all, "every interface of the profile is called");

    // The links the answers give are reachable on loopback.
    let detail = mall.call("detail", &[("sku", &sku)]).await;
    for (url, content_type) in [
        (text(&detail.result()["image_path"]), "image/png"),
        (text(&detail.result()["url"]), "text/html; charset=utf-8"),
        (invoice_url, "application/pdf"),
    ] {
        let response = mall
            .client
            .get(&url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        let kind = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok());
        assert_eq!(kind, Some(content_type), "{url}");
    }
    mall.supplier.shutdown().await;
}

#[tokio::test]
async fn transport_rules() {
    let mall = mall(&[]).await;
    // Only POST on interface paths.
    let get = mall
        .client
        .get(format!("{}{}", mall.base, mall.path("pools")))
        .send()
        .await;
    assert_eq!(
        get.map(|r| r.status()).ok(),
        Some(StatusCode::METHOD_NOT_ALLOWED)
    );
    // A JSON body is accepted as well as a form.
    let body = json!({"token": mall.token, "sku": mall.first_sku().await}).to_string();
    let request = mall
        .client
        .post(format!("{}{}", mall.base, mall.path("detail")))
        .header("content-type", "application/json")
        .body(body);
    let answer = mall.send(request).await;
    assert!(answer.success(), "{}", answer.desc());
    // Missing and unknown tokens are refused with the marker.
    for answer in [
        mall.call_without_token("pools", &[]).await,
        mall.post_form(&mall.path("pools"), &[("token", "bogus".into())])
            .await,
    ] {
        assert!(!answer.success());
        assert!(answer.desc().contains("token_expired"), "{}", answer.desc());
        assert_eq!(answer.body["result"], Value::Null);
    }
    // Wrong credentials are refused.
    assert!(!mall.token_answer(USERNAME, "wrong").await.success());
    assert!(!mall.token_answer("someone", PASSWORD).await.success());
    // A batch holding an unknown SKU is refused and names it; an oversize batch is refused.
    let sku = mall.first_sku().await;
    let answer = mall
        .call("prices", &[("sku", &format!("{sku},000000001"))])
        .await;
    assert!(!answer.success() && answer.desc().contains("000000001"));
    let too_many: Vec<String> = (0..101).map(|n| format!("{}", 100_000_000 + n)).collect();
    assert!(
        !mall
            .call("prices", &[("sku", &too_many.join(","))])
            .await
            .success()
    );
    // Hostile input never breaks the server.
    for junk in ["%", "sku=%ZZ&&&=", "token=\u{0}"] {
        let request = mall
            .client
            .post(format!("{}{}", mall.base, mall.path("detail")))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(junk);
        assert!(!mall.send(request).await.success());
    }
    let huge = format!(
        r#"[{{"sku":"{sku}","num":18446744073709551615,"price":79228162514264337593543950335}}]"#
    );
    for lines in [huge.as_str(), "[]", "{}", "not json", r#"[{"sku":1}]"#] {
        let answer = mall.submit_lines("HOSTILE", lines, "100.00").await;
        assert!(!answer.success(), "{lines}");
    }
    // The seven VAT invoice fields are required when invoice_type = 2.
    let price = mall.agreement_price(&sku).await;
    let line = json!([{"sku": sku, "num": 1, "price": money(price)}]).to_string();
    let mut form: Vec<(&str, String)> = vec![("token", mall.token.clone())];
    for (key, value) in [
        ("yggc_order", "NO-VAT-FIELDS"),
        ("sku", line.as_str()),
        ("name", "张三"),
        ("province", "120000"),
        ("city", "120100"),
        ("county", COUNTY),
        ("address", "天津市和平区"),
        ("phone", "022-12345678"),
        ("invoice_type", "2"),
        ("invoice_title", "天津市某某局"),
        ("invoice_org_code", "11120000MB0000000X"),
        ("payment", "2"),
        ("freight", "0"),
    ] {
        form.push((key, value.to_string()));
    }
    form.push(("order_price", price.to_string()));
    let answer = mall.post_form(&mall.path("submit"), &form).await;
    assert!(
        !answer.success() && answer.desc().contains("invoice_name"),
        "{}",
        answer.desc()
    );
    for (key, value) in form.iter_mut() {
        if *key == "invoice_type" {
            *value = "1".to_string();
        }
    }
    let answer = mall.post_form(&mall.path("submit"), &form).await;
    assert!(
        answer.success(),
        "an ordinary invoice needs no VAT fields: {}",
        answer.desc()
    );
    assert!(mall.call("pools", &[]).await.success(), "still serving");
    mall.supplier.shutdown().await;

    // The admin endpoints exist only with --admin.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let addr = "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}"));
    let plain = supplier::start(profile(), SupplierConfig::default(), addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let response = reqwest::Client::new()
        .post(format!("{}/__admin/clock", plain.base_url()))
        .form(&[("advance_seconds", "1")])
        .send()
        .await;
    assert_eq!(
        response.map(|r| r.status()).ok(),
        Some(StatusCode::NOT_FOUND)
    );
    plain.shutdown().await;
}

#[test]
fn unknown_faults_are_refused_by_name() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let config = SupplierConfig {
        faults: vec!["no-such-fault".into()],
        ..SupplierConfig::default()
    };
    let addr = "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}"));
    let outcome = runtime.block_on(supplier::start(profile(), config, addr));
    let message = outcome.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.contains("no-such-fault") && message.contains("dead-image-link"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_submits_never_oversell_and_cancels_release() {
    let mall = Arc::new(mall(&[]).await);
    let sku = mall.first_sku().await;
    mall.set_stock(&sku, 5).await;
    let tasks: Vec<_> = (0..50)
        .map(|n| {
            let mall = mall.clone();
            tokio::spawn(async move { mall.submit_as(&format!("RACE{n}"), 1, None).await })
        })
        .collect();
    let mut sold = Vec::new();
    let mut refused = 0;
    for task in tasks {
        let answer = task.await.unwrap_or_else(|e| panic!("{e}"));
        if answer.success() {
            sold.push(text(&answer.result()["order_id"]));
        } else {
            assert!(answer.desc().contains("库存不足"), "{}", answer.desc());
            refused += 1;
        }
    }
    assert_eq!(sold.len(), 5, "exactly the stock is sold");
    assert_eq!(refused, 45);
    assert_eq!(mall.stock(&sku).await, 0);
    let cancels: Vec<_> = sold
        .iter()
        .cloned()
        .map(|order| {
            let mall = mall.clone();
            tokio::spawn(
                async move { mall.call("cancel", &[("order_id", &order)]).await.success() },
            )
        })
        .collect();
    for cancel in cancels {
        assert!(cancel.await.unwrap_or(false));
    }
    assert_eq!(mall.stock(&sku).await, 5, "cancels release every lock");
}

#[tokio::test]
async fn tokens_live_thirty_six_hours_on_the_supplier_clock() {
    let mall = mall(&[]).await;
    let token = mall.fresh_token().await;
    let pools = |token: String| {
        let mall = &mall;
        async move {
            mall.post_form(&mall.path("pools"), &[("token", token)])
                .await
        }
    };
    mall.advance(35 * 3600 + 59 * 60).await;
    assert!(
        pools(token.clone()).await.success(),
        "still valid at +35h59m"
    );
    mall.advance(2 * 60).await;
    let expired = pools(token).await;
    assert!(!expired.success(), "refused at +36h01m");
    assert!(
        expired.desc().contains("token_expired"),
        "{}",
        expired.desc()
    );
}

/// What a catalogue looks like through the interfaces, with the supplier's address left out.
async fn catalogue_fingerprint(mall: &Mall) -> String {
    let (skus, batch) = mall.batch().await;
    let mut parts = vec![
        mall.call("pools", &[]).await.body.to_string(),
        mall.call("prices", &[("sku", &batch)])
            .await
            .body
            .to_string(),
        mall.call("new_skus", &[]).await.body.to_string(),
    ];
    for sku in skus.iter().take(3) {
        parts.push(mall.call("detail", &[("sku", sku)]).await.body.to_string());
    }
    parts.push(skus.join(","));
    parts.join("\n").replace(&mall.base, "BASE")
}

#[tokio::test]
async fn same_seed_same_catalogue() {
    let one = mall_with(&[], 42).await;
    let two = mall_with(&[], 42).await;
    let other = mall_with(&[], 43).await;
    let fingerprint = catalogue_fingerprint(&one).await;
    assert_eq!(fingerprint, catalogue_fingerprint(&two).await);
    assert_ne!(fingerprint, catalogue_fingerprint(&other).await);
}

// ---- variant profiles ----

// The jd-style wire format as its README gives it, written out rather than read from the profile.
const JD_DETAIL: &str = "/api/product/getDetail";
const JD_PRICES: &str = "/api/price/getSellPrice";
const JD_SUBMIT: &str = "/api/order/submitOrder";
const JD_SELECT: &str = "/api/order/selectJdOrder";

/// Wire parameters from literal names and texts.
fn wire(params: &[(&str, &str)]) -> Vec<(String, Value)> {
    params
        .iter()
        .map(|(name, value)| (name.to_string(), Value::String(value.to_string())))
        .collect()
}

/// Whether an answer names `key` anywhere in its result.
fn names_key(result: &Value, key: &str) -> bool {
    match result {
        Value::Object(map) => map.contains_key(key) || map.values().any(|v| names_key(v, key)),
        Value::Array(items) => items.iter().any(|v| names_key(v, key)),
        _ => false,
    }
}

#[test]
fn variant_profiles_load_and_their_examples_pass_their_own_schemas() {
    for name in ["jd-style", "json-token"] {
        let profile = variant(name);
        assert_eq!(profile.settings.name, name);
        for interface in &profile.interfaces {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("profiles")
                .join(name)
                .join("examples")
                .join(format!("{}.json", interface.id));
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let example: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            validate(&profile, &interface.id, &example);
        }
    }
    let jd = variant("jd-style");
    assert_eq!(jd.fields.wire("market_price"), "mall_price");
    assert_eq!(jd.fields.wire("yggc_order"), "po_order");
    let json_token = variant("json-token");
    assert_eq!(json_token.settings.encoding, Encoding::Json);
    assert_eq!(json_token.settings.token_param, "access_token");
}

#[tokio::test]
async fn jd_style_supplier_speaks_its_paths_and_field_names() {
    let mall = mall_on(variant("jd-style"), &[], 1).await;
    let token = mall.token.clone();
    let (skus, batch) = mall.batch().await;
    let sku = skus.first().cloned().unwrap_or_default();

    let prices = mall
        .post(JD_PRICES, wire(&[("token", &token), ("sku", &batch)]))
        .await;
    assert!(prices.success(), "{}", prices.desc());
    let entries = prices.result().as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), skus.len());
    for entry in &entries {
        assert!(entry["mall_price"].is_number(), "{entry}");
        assert!(entry.get("market_price").is_none(), "{entry}");
    }
    let detail = mall
        .post(JD_DETAIL, wire(&[("token", &token), ("sku", &sku)]))
        .await;
    assert_eq!(text(&detail.result()["sku"]), sku, "{}", detail.desc());

    // A pre-order in wire names everywhere.
    let price = entries[0]["price"].clone();
    let lines = json!([{"sku": sku, "num": 1, "price": price}]).to_string();
    let total = price.to_string();
    let order_params = |number_name: &str| {
        let mut params = vec![
            ("token", token.as_str()),
            (number_name, "JD-PO-1"),
            ("sku", lines.as_str()),
            ("order_price", total.as_str()),
        ];
        params.extend_from_slice(ORDER_FIELDS);
        wire(&params)
    };
    let submit = mall.post(JD_SUBMIT, order_params("po_order")).await;
    assert!(submit.success(), "{}", submit.desc());
    assert_eq!(submit.result()["po_order"], json!("JD-PO-1"));
    assert!(
        !names_key(submit.result(), "yggc_order"),
        "{}",
        submit.result()
    );
    let order = text(&submit.result()["order_id"]);
    let select = mall
        .post(JD_SELECT, wire(&[("token", &token), ("order_id", &order)]))
        .await;
    assert!(select.success(), "{}", select.desc());
    assert_eq!(select.result()["po_order"], json!("JD-PO-1"));
    assert!(
        !names_key(select.result(), "yggc_order"),
        "{}",
        select.result()
    );

    // The default's name is not this wire's field: the refusal names the one to send.
    let stale = mall.post(JD_SUBMIT, order_params("yggc_order")).await;
    assert!(!stale.success());
    assert!(stale.desc().contains("po_order"), "{}", stale.desc());

    // The default paths of the four renamed interfaces are not served.
    for path in [
        "/api/product/detail",
        "/api/product/prices",
        "/api/order/submit",
        "/api/order/select",
    ] {
        let answer = mall.post(path, wire(&[("token", &token)])).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!answer.success(), "{path}");
    }
    mall.supplier.shutdown().await;
}

#[tokio::test]
async fn json_token_supplier_reads_json_bodies_and_its_token_parameter() {
    let mall = mall_on(variant("json-token"), &[], 1).await;
    let url = format!("{}{}", mall.base, mall.path("pools"));
    let post_json = |body: Value| {
        mall.client
            .post(&url)
            .header("content-type", "application/json")
            .body(body.to_string())
    };
    let answer = mall
        .send(post_json(json!({"access_token": mall.token})))
        .await;
    assert!(answer.success(), "{}", answer.desc());
    for refused in [json!({}), json!({"token": mall.token})] {
        let answer = mall.send(post_json(refused.clone())).await;
        assert!(!answer.success(), "{refused}");
        assert!(
            answer.desc().contains("token_expired"),
            "{refused}: {}",
            answer.desc()
        );
    }
    // Order lines travel as a JSON array inside the JSON body.
    let sku = mall.first_sku().await;
    let price = mall.agreement_price(&sku).await;
    let mut body = serde_json::Map::new();
    body.insert("access_token".into(), json!(mall.token));
    body.insert("yggc_order".into(), json!("JSON-1"));
    body.insert(
        "sku".into(),
        json!([{"sku": sku, "num": 1, "price": money(price)}]),
    );
    body.insert("order_price".into(), money(price));
    for (name, value) in ORDER_FIELDS {
        body.insert(name.to_string(), json!(value));
    }
    let request = mall
        .client
        .post(format!("{}{}", mall.base, mall.path("submit")))
        .header("content-type", "application/json")
        .body(Value::Object(body).to_string());
    let submit = mall.send(request).await;
    assert!(submit.success(), "{}", submit.desc());
    assert_eq!(submit.result()["yggc_order"], json!("JSON-1"));
    mall.supplier.shutdown().await;
}

#[tokio::test]
async fn faults_apply_under_a_variant_profile() {
    for (faults, expect_above) in [(&[][..], false), (&["price-above-market"][..], true)] {
        let mall = mall_on(variant("jd-style"), faults, 1).await;
        let (_, batch) = mall.batch().await;
        let prices = mall
            .post(JD_PRICES, wire(&[("token", &mall.token), ("sku", &batch)]))
            .await;
        let entries = prices.result().as_array().cloned().unwrap_or_default();
        assert!(!entries.is_empty(), "{faults:?}: {}", prices.desc());
        let above = entries
            .iter()
            .any(|entry| decimal(&entry["price"]) > decimal(&entry["mall_price"]));
        assert_eq!(above, expect_above, "{faults:?}: {}", prices.result());
        assert!(!names_key(prices.result(), "market_price"));
        mall.supplier.shutdown().await;
    }
}

#[tokio::test]
async fn serve_with_a_profile_folder_serves_that_profile() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/jd-style");
    let dir = dir.to_string_lossy().into_owned();
    let serve = crate::common::Serve::start(&["--profile", &dir, "--skus", "50"]);
    let client = reqwest::Client::new();
    let post = |path: &str| {
        client
            .post(format!("{}{path}", serve.url))
            .form(&[("sku", "1")])
            .send()
    };
    let served = post(JD_PRICES).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(served.status(), StatusCode::OK);
    let body: Value =
        serde_json::from_slice(&served.bytes().await.unwrap_or_default()).unwrap_or(Value::Null);
    assert!(
        text(&body["desc"]).contains("token_expired"),
        "served, and asks for a token: {body}"
    );
    let default_path = post("/api/product/prices")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(default_path.status(), StatusCode::NOT_FOUND);
}

// ---- 2.20 SKU filters ----

/// The distinct SKUs a 2.20 answer covers, in order.
fn answered_skus(result: &Value) -> Vec<String> {
    let mut seen = HashSet::new();
    result
        .as_array()
        .into_iter()
        .flatten()
        .map(|entry| text(&entry["sku"]))
        .filter(|sku| seen.insert(sku.clone()))
        .collect()
}

#[tokio::test]
async fn promotion_filters_take_one_sku_or_a_list() {
    let mall = mall(&[]).await;
    for id in ["accessory_links", "group_buys", "specials", "tiered_rates"] {
        let all = answered_skus(mall.call(id, &[]).await.result());
        assert!(all.len() >= 3, "{id}: {all:?}");
        let one = mall.call(id, &[("sku", &all[0])]).await;
        assert!(one.success(), "{id}: {}", one.desc());
        assert_eq!(answered_skus(one.result()), vec![all[0].clone()], "{id}");
        let list = format!("{},{}", all[2], all[1]);
        let two = mall.call(id, &[("sku", &list)]).await;
        assert!(two.success(), "{id}: {}", two.desc());
        assert_eq!(
            answered_skus(two.result()),
            vec![all[2].clone(), all[1].clone()],
            "{id}: in the order asked"
        );
        let unknown = mall
            .call(id, &[("sku", &format!("{},000000001", all[0]))])
            .await;
        assert!(
            !unknown.success() && unknown.desc().contains("000000001"),
            "{id}"
        );
    }
    mall.supplier.shutdown().await;
}

// ---- faults ----

/// Whether the requirement a fault breaks holds on this supplier. The clean supplier must hold
/// it, the supplier started with the fault must not.
async fn holds(mall: &Mall, fault: &str) -> bool {
    match fault {
        "prices-get-only" => {
            let sku = mall.first_sku().await;
            let answer = mall.call("prices", &[("sku", &sku)]).await;
            answer.status == StatusCode::OK && answer.success()
        }
        "html-error-page" => {
            let answer = mall.call("detail", &[("sku", "000000001")]).await;
            answer.content_type.starts_with("application/json") && answer.body.is_object()
        }
        "success-as-string" => {
            let ok = mall.call("pools", &[]).await;
            let failed = mall.call("detail", &[("sku", "000000001")]).await;
            ok.body["success"] == json!(true) && failed.body["success"] == json!(false)
        }
        "newlines-in-body" => {
            let answer = mall.call("pools", &[]).await;
            !answer.raw.contains(&b'\n') && !answer.raw.contains(&b'\r')
        }
        "no-desc-on-failure" => {
            let answer = mall.call("detail", &[("sku", "000000001")]).await;
            !answer.success() && !answer.desc().is_empty()
        }
        "http-500-on-failure" => {
            let answer = mall.call("detail", &[("sku", "000000001")]).await;
            !answer.success() && answer.status == StatusCode::OK
        }
        "token-any-credentials" => !mall
            .token_answer(USERNAME, "wrong password")
            .await
            .success(),
        "no-token-check" => !mall.call_without_token("pools", &[]).await.success(),
        "no-expired-marker" => {
            let answer = mall
                .post_form(&mall.path("pools"), &[("token", "bogus".into())])
                .await;
            !answer.success() && answer.desc().contains("token_expired")
        }
        "token-ttl-12h" => {
            let token = mall.token_answer(USERNAME, PASSWORD).await;
            let fresh = text(&token.result()["access_token"]);
            mall.advance(13 * 3600).await;
            let later = mall
                .post_form(&mall.path("pools"), &[("token", fresh)])
                .await;
            token.result()["expires_in"] == json!(129600) && later.success()
        }
        "token-never-expires" => {
            let token = mall.token_answer(USERNAME, PASSWORD).await;
            let fresh = text(&token.result()["access_token"]);
            mall.advance(37 * 3600).await;
            let later = mall
                .post_form(&mall.path("pools"), &[("token", fresh)])
                .await;
            !later.success()
        }
        "duplicate-pool-ids" => {
            let pools = mall.pools().await;
            pools.iter().collect::<HashSet<_>>().len() == pools.len()
        }
        "duplicate-skus" => {
            let skus = mall.first_pool_skus().await;
            skus.iter().collect::<HashSet<_>>().len() == skus.len()
        }
        "detail-missing-brand" => {
            let sku = mall.first_sku().await;
            let answer = mall.call("detail", &[("sku", &sku)]).await;
            !text(&answer.result()["brand_name"]).is_empty()
        }
        "detail-wrong-sku" => {
            let sku = mall.first_sku().await;
            let answer = mall.call("detail", &[("sku", &sku)]).await;
            text(&answer.result()["sku"]) == sku
        }
        "shelf-drops-sku" => batch_complete(mall, "shelf_states").await,
        "images-drop-sku" => batch_complete(mall, "images").await,
        "prices-drop-sku" => batch_complete(mall, "prices").await,
        "stocks-drop-sku" | "batch-extra-sku" => batch_complete(mall, "stocks").await,
        "stock-desc-contradicts" => {
            let sku = mall.first_sku().await;
            mall.set_stock(&sku, 0).await;
            let answer = mall
                .call("stocks", &[("sku", &sku), ("area_id", COUNTY)])
                .await;
            answer.result()[0]["desc"] == json!("无货")
        }
        "dead-image-link" | "relative-image-path" | "some-dead-images" => {
            images_reachable(mall).await
        }
        "detail-reset-some" => {
            let sku = mall.first_sku().await;
            detail_arrives_whole(mall, &sku).await
        }
        "price-above-market" => {
            let (_, batch) = mall.batch().await;
            let answer = mall.call("prices", &[("sku", &batch)]).await;
            each(answer.result(), |entry| {
                decimal(&entry["price"]) <= decimal(&entry["market_price"])
            })
        }
        "three-decimal-prices" => {
            let (_, batch) = mall.batch().await;
            let answer = mall.call("prices", &[("sku", &batch)]).await;
            each(answer.result(), |entry| {
                decimal(&entry["price"]).normalize().scale() <= 2
                    && decimal(&entry["market_price"]).normalize().scale() <= 2
            })
        }
        "no-counties" => {
            let answer = mall.call("counties", &[("id", "120100")]).await;
            answer
                .result()
                .as_object()
                .is_some_and(|map| !map.is_empty())
        }
        "duplicate-county-names" | "tianjin-district-missing" => tianjin_districts_ok(mall).await,
        "new-skus-not-in-pool" => {
            let feed = mall.call("new_skus", &[]).await;
            let first = &feed.result()[0];
            let pool = mall
                .call("skus", &[("catalog_id", &text(&first["catalog_id"]))])
                .await;
            let sku = first["sku"].clone();
            pool.result()
                .as_array()
                .is_some_and(|skus| skus.contains(&sku))
        }
        "changed-skus-fails" => mall.call("changed_skus", &[]).await.success(),
        "submit-no-order-id" => {
            let answer = mall.submit(1).await;
            answer.success() && !text(&answer.result()["order_id"]).is_empty()
        }
        "no-price-check" => {
            let sku = mall.first_sku().await;
            let wrong = mall.agreement_price(&sku).await - Decimal::new(100, 2);
            !mall
                .submit_as("WRONG-PRICE", 1, Some(wrong))
                .await
                .success()
        }
        "no-stock-lock" => {
            let sku = mall.first_sku().await;
            mall.set_stock(&sku, 1).await;
            let first = mall.submit(1).await.success();
            let second = mall.submit(1).await.success();
            first && !second && mall.stock(&sku).await == 0
        }
        "confirm-noop" => {
            let order = mall.confirmed_order().await;
            let select = mall.call("select", &[("order_id", &order)]).await;
            select.result()["submit_state"] == json!(1)
        }
        "cancel-refused" => {
            let order = mall.submitted_order().await;
            mall.call("cancel", &[("order_id", &order)]).await.success()
        }
        "cancel-after-confirm" => {
            let order = mall.confirmed_order().await;
            !mall.call("cancel", &[("order_id", &order)]).await.success()
        }
        "confirm-after-cancel" => {
            let order = mall.submitted_order().await;
            let cancelled = mall.call("cancel", &[("order_id", &order)]).await.success();
            cancelled
                && !mall
                    .call("confirm", &[("order_id", &order)])
                    .await
                    .success()
        }
        "duplicate-order-on-resubmit" => {
            let first = mall.submit_as("SAME-ORDER", 1, None).await;
            let second = mall.submit_as("SAME-ORDER", 1, None).await;
            first.result()["order_id"] == second.result()["order_id"]
        }
        "order-never-completes" => {
            let order = mall.completed_order().await;
            let select = mall.call("select", &[("order_id", &order)]).await;
            select.result()["state"] == json!(1)
        }
        "ships-unconfirmed" => {
            let order = mall.submitted_order().await;
            mall.advance(3600).await;
            let select = mall.call("select", &[("order_id", &order)]).await;
            select.result()["state"] == json!(0)
        }
        "wrong-order-total" => {
            let order = mall.submitted_order().await;
            let select = mall.call("select", &[("order_id", &order)]).await;
            let result = select.result();
            let lines: Decimal = result["skus"]
                .as_array()
                .map(|lines| {
                    lines
                        .iter()
                        .map(|l| decimal(&l["price"]) * decimal(&l["num"]))
                        .sum()
                })
                .unwrap_or_default();
            decimal(&result["order_price"]) == lines + decimal(&result["freight"])
        }
        "track-no-waybill" => {
            let order = mall.confirmed_order().await;
            let track = mall.call("track", &[("order_id", &order)]).await;
            track.result()["waybill"]
                .as_array()
                .is_some_and(|w| !w.is_empty() && !text(&w[0]["logistic_no"]).is_empty())
        }
        "sku-without-detail" => {
            let sku = mall.first_sku().await;
            mall.call("detail", &[("sku", &sku)]).await.success()
        }
        "onshelf-incomplete" => {
            let sku = mall.first_sku().await;
            let detail = mall.call("detail", &[("sku", &sku)]).await;
            detail.result()["state"] == json!(1)
                && !text(&detail.result()["introduction"]).is_empty()
        }
        "special-above-agreement" => {
            let specials = mall.call("specials", &[]).await;
            let mut fine = specials.result().as_array().is_some_and(|s| !s.is_empty());
            for special in specials.result().as_array().cloned().unwrap_or_default() {
                let price = mall.agreement_price(&text(&special["sku"])).await;
                fine &= decimal(&special["price"]) <= price;
            }
            fine
        }
        "ratings-out-of-range" => {
            let (_, batch) = mall.batch().await;
            let answer = mall.call("ratings", &[("sku", &batch)]).await;
            each(answer.result(), |entry| {
                let average = decimal(&entry["average"]);
                average >= Decimal::ZERO && average <= Decimal::new(5, 0)
            })
        }
        "after-sale-refused" => {
            let order = mall.completed_order().await;
            let sku = mall.first_sku().await;
            let lines = json!([{"sku": sku, "num": 1}]).to_string();
            mall.call(
                "after_sale",
                &[("order_id", &order), ("skus", &lines), ("type", "5")],
            )
            .await
            .success()
        }
        "reconcile-wrong-count" => {
            mall.submitted_order().await;
            mall.submitted_order().await;
            let today = (Utc::now() + Duration::hours(8))
                .format("%Y-%m-%d")
                .to_string();
            let answer = mall
                .call("reconcile", &[("bdate", &today), ("edate", &today)])
                .await;
            let listed = answer.result()["orders"].as_array().map(Vec::len);
            answer.result()["count"].as_u64().map(|c| c as usize) == listed && listed == Some(2)
        }
        "accessory-bad-kind" => {
            let (_, batch) = mall.batch().await;
            let answer = mall.call("accessories", &[("sku", &batch)]).await;
            let kinds: Vec<Value> = answer
                .result()
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|entry| entry["items"].as_array().cloned().unwrap_or_default())
                .map(|item| item["kind"].clone())
                .collect();
            !kinds.is_empty() && kinds.iter().all(|k| *k == json!(1) || *k == json!(2))
        }
        "credit-transfer-lost" => {
            let order = mall.completed_order().await;
            let select = mall.call("select", &[("order_id", &order)]).await;
            let amount = decimal(&select.result()["order_price"]).to_string();
            let paid = mall
                .call(
                    "credit_payment",
                    &[
                        ("order_id", &order),
                        ("pay_amount", &amount),
                        ("pay_time", &cst_now()),
                        ("transfer_no", "T1"),
                    ],
                )
                .await;
            let query = mall
                .call("credit_payment_query", &[("order_id", &order)])
                .await;
            paid.success() && query.result()["pay_state"] == json!(2)
        }
        "warranty-missing-price" => {
            let sku = mall.first_sku().await;
            let answer = mall
                .call("warranty", &[("sku", &sku), ("area_id", COUNTY)])
                .await;
            let services = answer.result()[0]["services"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            !services.is_empty() && services.iter().all(|s| s["price"].is_number())
        }
        "links-empty-sku-refused" => {
            let answer = mall.call("accessory_links", &[("sku", "")]).await;
            answer.success() && answer.result().as_array().is_some_and(|l| !l.is_empty())
        }
        "group-buy-ends-before-start" => {
            let answer = mall.call("group_buys", &[]).await;
            each(answer.result(), |g| {
                text(&g["end_time"]) >= text(&g["start_time"])
            })
        }
        "special-missing-id" => {
            let answer = mall.call("specials", &[]).await;
            each(answer.result(), |s| !text(&s["id"]).is_empty())
        }
        "tiers-unordered" => {
            let answer = mall.call("tiered_rates", &[]).await;
            each(answer.result(), |entry| {
                let mins: Vec<u64> = entry["tiers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|t| t["min_num"].as_u64())
                    .collect();
                mins.windows(2).all(|w| w[0] < w[1])
            })
        }
        "einvoice-relative-url" => {
            let order = mall.confirmed_order().await;
            let answer = mall.call("einvoice", &[("order_id", &order)]).await;
            text(&answer.result()[0]["url"]).starts_with("http://")
        }
        "slow-stocks" => {
            let sku = mall.first_sku().await;
            let started = std::time::Instant::now();
            let answer = mall
                .call("stocks", &[("sku", &sku), ("area_id", COUNTY)])
                .await;
            answer.success() && started.elapsed() < std::time::Duration::from_secs(1)
        }
        other => panic!("no check for fault {other}"),
    }
}

/// A non-empty array whose every entry passes.
fn each(result: &Value, check: impl Fn(&Value) -> bool) -> bool {
    result
        .as_array()
        .is_some_and(|entries| !entries.is_empty() && entries.iter().all(check))
}

/// A batch of 20 is answered once per SKU asked, and for no other SKU.
async fn batch_complete(mall: &Mall, id: &str) -> bool {
    let (skus, batch) = mall.batch().await;
    let answer = mall.call(id, &[("sku", &batch), ("area_id", COUNTY)]).await;
    let mut answered: Vec<String> = answer
        .result()
        .as_array()
        .into_iter()
        .flatten()
        .map(|entry| text(&entry["sku"]))
        .collect();
    answered.sort();
    let mut asked = skus;
    asked.sort();
    answer.success() && answered == asked
}

/// Every image of the first SKUs is an absolute URL answering a PNG.
/// The detail of `sku` arrives whole, as JSON naming that SKU (a connection closed mid-answer
/// is no answer).
async fn detail_arrives_whole(mall: &Mall, sku: &str) -> bool {
    let mut params = vec![mall.token_param()];
    params.extend(mall.wire_params("detail", &[("sku", sku)]));
    let form: Vec<(String, String)> = params
        .into_iter()
        .map(|(name, value)| match value {
            Value::String(text) => (name, text),
            other => (name, other.to_string()),
        })
        .collect();
    let url = format!("{}{}", mall.base, mall.path("detail"));
    let Ok(response) = mall.client.post(url).form(&form).send().await else {
        return false;
    };
    let Ok(body) = response.bytes().await else {
        return false;
    };
    serde_json::from_slice::<Value>(&body).is_ok_and(|answer| answer["result"]["sku"] == json!(sku))
}

async fn images_reachable(mall: &Mall) -> bool {
    let (_, batch) = mall.batch().await;
    let answer = mall.call("images", &[("sku", &batch)]).await;
    let paths: Vec<String> = answer
        .result()
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|entry| entry["images"].as_array().cloned().unwrap_or_default())
        .map(|image| text(&image["path"]))
        .take(5)
        .collect();
    if paths.is_empty() {
        return false;
    }
    for path in paths {
        if !path.starts_with("http://") {
            return false;
        }
        let Ok(response) = mall.client.get(&path).send().await else {
            return false;
        };
        let is_png = response
            .headers()
            .get("content-type")
            .is_some_and(|v| v.as_bytes() == b"image/png");
        if response.status() != StatusCode::OK || !is_png {
            return false;
        }
    }
    true
}

/// Tianjin's 16 districts, each name once.
async fn tianjin_districts_ok(mall: &Mall) -> bool {
    let answer = mall.call("counties", &[("id", "120100")]).await;
    let raw = String::from_utf8_lossy(&answer.raw).into_owned();
    let names = [
        "和平区",
        "河东区",
        "河西区",
        "南开区",
        "河北区",
        "红桥区",
        "东丽区",
        "西青区",
        "津南区",
        "北辰区",
        "武清区",
        "宝坻区",
        "滨海新区",
        "宁河区",
        "静海区",
        "蓟州区",
    ];
    names
        .iter()
        .all(|name| raw.matches(&format!("\"{name}\"")).count() == 1)
}

/// The clean supplier holds the requirement; the one started with the fault breaks it.
async fn assert_fault(fault: &str) {
    let clean = mall(&[]).await;
    assert!(
        holds(&clean, fault).await,
        "the clean supplier breaks what {fault} checks"
    );
    clean.supplier.shutdown().await;
    let faulty = mall(&[fault]).await;
    assert!(
        !holds(&faulty, fault).await,
        "fault {fault} changes nothing"
    );
    faulty.supplier.shutdown().await;
}

async fn assert_faults(faults: &[&str]) {
    for fault in faults {
        assert_fault(fault).await;
    }
}

// The fault families, each tested below; together they must be every fault.
const ENVELOPE_FAULTS: &[&str] = &[
    "prices-get-only",
    "html-error-page",
    "success-as-string",
    "newlines-in-body",
    "no-desc-on-failure",
    "http-500-on-failure",
];

const TOKEN_FAULTS: &[&str] = &[
    "token-any-credentials",
    "no-token-check",
    "no-expired-marker",
    "token-ttl-12h",
    "token-never-expires",
];

const CATALOGUE_FAULTS: &[&str] = &[
    "duplicate-pool-ids",
    "duplicate-skus",
    "detail-missing-brand",
    "detail-wrong-sku",
    "shelf-drops-sku",
    "images-drop-sku",
    "dead-image-link",
    "relative-image-path",
    "some-dead-images",
    "detail-reset-some",
    "prices-drop-sku",
    "price-above-market",
    "three-decimal-prices",
    "new-skus-not-in-pool",
    "changed-skus-fails",
    "sku-without-detail",
    "onshelf-incomplete",
];

const AREA_AND_STOCK_FAULTS: &[&str] = &[
    "no-counties",
    "duplicate-county-names",
    "tianjin-district-missing",
    "stocks-drop-sku",
    "stock-desc-contradicts",
    "batch-extra-sku",
    "slow-stocks",
];

const ORDER_FAULTS: &[&str] = &[
    "submit-no-order-id",
    "no-price-check",
    "no-stock-lock",
    "confirm-noop",
    "cancel-refused",
    "cancel-after-confirm",
    "confirm-after-cancel",
    "duplicate-order-on-resubmit",
    "order-never-completes",
    "ships-unconfirmed",
    "wrong-order-total",
    "track-no-waybill",
];

const OPTIONAL_INTERFACE_FAULTS: &[&str] = &[
    "special-above-agreement",
    "ratings-out-of-range",
    "after-sale-refused",
    "reconcile-wrong-count",
    "accessory-bad-kind",
    "credit-transfer-lost",
    "warranty-missing-price",
    "links-empty-sku-refused",
    "group-buy-ends-before-start",
    "special-missing-id",
    "tiers-unordered",
    "einvoice-relative-url",
];

#[tokio::test]
async fn envelope_faults() {
    assert_faults(ENVELOPE_FAULTS).await;
}

#[tokio::test]
async fn token_faults() {
    assert_faults(TOKEN_FAULTS).await;
}

#[tokio::test]
async fn catalogue_faults() {
    assert_faults(CATALOGUE_FAULTS).await;
}

#[tokio::test]
async fn area_and_stock_faults() {
    assert_faults(AREA_AND_STOCK_FAULTS).await;
}

#[tokio::test]
async fn order_faults() {
    assert_faults(ORDER_FAULTS).await;
}

#[tokio::test]
async fn optional_interface_faults() {
    assert_faults(OPTIONAL_INTERFACE_FAULTS).await;
}

#[test]
fn every_fault_is_tested_and_names_known_requirements() {
    let tested: BTreeSet<&str> = [
        ENVELOPE_FAULTS,
        TOKEN_FAULTS,
        CATALOGUE_FAULTS,
        AREA_AND_STOCK_FAULTS,
        ORDER_FAULTS,
        OPTIONAL_INTERFACE_FAULTS,
    ]
    .concat()
    .into_iter()
    .collect();
    let known: BTreeSet<&str> = supplier::faults().iter().map(|f| f.id).collect();
    assert_eq!(tested, known, "every fault has a test above");
    let profile = profile();
    for fault in supplier::faults() {
        assert!(!fault.description_zh.is_empty() && !fault.description_en.is_empty());
        for requirement in fault.requirements {
            assert!(
                profile.requirement(requirement).is_some(),
                "{}: unknown requirement {requirement}",
                fault.id
            );
        }
    }
}

// ---- the command line ----

#[cfg(unix)]
#[test]
fn serve_prints_its_url_first_and_stops_on_sigterm() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    let mut child = crate::common::mallcheck_command()
        .args(["serve", "--addr", "127.0.0.1:0", "--skus", "50"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("mallcheck serve: {e}"));
    let mut first_line = String::new();
    if let Some(stdout) = child.stdout.take() {
        let _ = std::io::BufReader::new(stdout).read_line(&mut first_line);
    }
    let url = first_line.trim().to_string();
    let host = url.strip_prefix("http://").unwrap_or_default().to_string();
    let accepts = std::net::TcpStream::connect(&host).is_ok();
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            _ => {
                let _ = child.kill();
                break None;
            }
        }
    };
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "first line: {first_line:?}"
    );
    assert!(accepts, "it accepts connections once the URL is printed");
    assert!(
        status.is_some_and(|s| s.success()),
        "stops cleanly on SIGTERM: {status:?}"
    );
}

#[test]
fn faults_command_lists_every_fault_as_json() {
    let output = crate::common::mallcheck_command()
        .args(["faults", "--json"])
        .output()
        .unwrap_or_else(|e| panic!("mallcheck faults: {e}"));
    assert!(output.status.success());
    let listed: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    let ids: Vec<&str> = listed
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|fault| fault["id"].as_str())
        .collect();
    let known: Vec<&str> = supplier::faults().iter().map(|f| f.id).collect();
    assert_eq!(ids, known);
    assert!(listed[0]["requirements"].is_array() && listed[0]["description_zh"].is_string());
}

/// Faults are confined to what they name: the neighbouring behaviour stays correct.
#[tokio::test]
async fn faults_stay_narrow() {
    // no-desc-on-failure keeps the token marker; no-token-check still refuses unknown tokens.
    for fault in ["no-desc-on-failure", "no-token-check"] {
        let mall = self::mall(&[fault]).await;
        let answer = mall
            .post_form(&mall.path("pools"), &[("token", "bogus".into())])
            .await;
        assert!(
            !answer.success() && answer.desc().contains("token_expired"),
            "{fault}"
        );
        mall.supplier.shutdown().await;
    }
    // price-above-market: the supplier's own (wrong) price is the one orders carry.
    let mall = self::mall(&["price-above-market"]).await;
    let answer = mall.submit(1).await;
    assert!(answer.success(), "{}", answer.desc());
    mall.supplier.shutdown().await;
    // three-decimal-prices touches the market price only: orders go through.
    let mall = self::mall(&["three-decimal-prices"]).await;
    assert!(mall.submit(1).await.success());
    mall.supplier.shutdown().await;
    // relative-image-path is confined to 2.7: the detail's main image stays absolute.
    let mall = self::mall(&["relative-image-path"]).await;
    let sku = mall.first_sku().await;
    let detail = mall.call("detail", &[("sku", &sku)]).await;
    assert!(text(&detail.result()["image_path"]).starts_with("http://"));
    mall.supplier.shutdown().await;
    // new-skus-not-in-pool: the new SKUs still have detail and prices.
    let mall = self::mall(&["new-skus-not-in-pool"]).await;
    let feed = mall.call("new_skus", &[]).await;
    let new_sku = text(&feed.result()[0]["sku"]);
    assert!(mall.call("detail", &[("sku", &new_sku)]).await.success());
    assert!(mall.call("prices", &[("sku", &new_sku)]).await.success());
    mall.supplier.shutdown().await;
    // cancel-after-confirm: the cancelled shipment keeps its waybill.
    let mall = self::mall(&["cancel-after-confirm"]).await;
    let order = mall.confirmed_order().await;
    assert!(mall.call("cancel", &[("order_id", &order)]).await.success());
    let track = mall.call("track", &[("order_id", &order)]).await;
    assert!(
        track.result()["waybill"]
            .as_array()
            .is_some_and(|w| !w.is_empty())
    );
    mall.supplier.shutdown().await;
}

#[tokio::test]
async fn order_rules() {
    let mall = mall(&[]).await;
    // Before confirmation: no invoice, no credit payment; confirm and cancel are idempotent.
    let order = mall.submitted_order().await;
    assert!(
        !mall
            .call("einvoice", &[("order_id", &order)])
            .await
            .success()
    );
    let pay = |order: &str, amount: &str| {
        let order = order.to_string();
        let amount = amount.to_string();
        let mall = &mall;
        async move {
            mall.call(
                "credit_payment",
                &[
                    ("order_id", &order),
                    ("pay_amount", &amount),
                    ("pay_time", &cst_now()),
                    ("transfer_no", "T-1"),
                ],
            )
            .await
        }
    };
    assert!(
        !pay(&order, "1.00").await.success(),
        "not before confirmation"
    );
    for _ in 0..2 {
        assert!(
            mall.call("confirm", &[("order_id", &order)])
                .await
                .success()
        );
    }
    // A transfer of the wrong amount is rejected by the supplier's check.
    assert!(pay(&order, "1.00").await.success());
    let query = mall
        .call("credit_payment_query", &[("order_id", &order)])
        .await;
    assert_eq!(query.result()["pay_state"], json!(-1));
    // After-sale needs delivery; then not more than bought.
    let sku = mall.first_sku().await;
    let two = json!([{"sku": sku, "num": 2}]).to_string();
    let one = json!([{"sku": sku, "num": 1}]).to_string();
    let after_sale = |lines: String| {
        let order = order.clone();
        let mall = &mall;
        async move {
            mall.call(
                "after_sale",
                &[("order_id", &order), ("skus", &lines), ("type", "4")],
            )
            .await
        }
    };
    assert!(
        !after_sale(one.clone()).await.success(),
        "not before delivery"
    );
    mall.advance(25 * 3600).await;
    assert!(!after_sale(two).await.success(), "only one was bought");
    assert!(after_sale(one).await.success());
    let select = mall.call("select", &[("order_id", &order)]).await;
    assert_eq!(
        select.result()["state"],
        json!(4),
        "in return after an after-sale request"
    );
    // Cancel is idempotent before confirmation; unknown orders are refused.
    let other = mall.submitted_order().await;
    for _ in 0..2 {
        assert!(mall.call("cancel", &[("order_id", &other)]).await.success());
    }
    assert!(
        !mall
            .call("select", &[("order_id", "no-such-order")])
            .await
            .success()
    );
    // A reversed date range is refused.
    let reversed = mall
        .call(
            "reconcile",
            &[("bdate", "2026-02-01"), ("edate", "2026-01-01")],
        )
        .await;
    assert!(!reversed.success());
    mall.supplier.shutdown().await;
}

#[tokio::test]
async fn feeds_filter_by_time() {
    let mall = mall(&[]).await;
    let all = mall.call("new_skus", &[]).await;
    let times: Vec<String> = all
        .result()
        .as_array()
        .into_iter()
        .flatten()
        .map(|entry| text(&entry["time"]))
        .collect();
    assert_eq!(times.len(), 5);
    let newest = times.iter().max().cloned().unwrap_or_default();
    let only_newest = mall.call("new_skus", &[("start_time", &newest)]).await;
    assert_eq!(only_newest.result().as_array().map(Vec::len), Some(1));
    let before_all = mall
        .call("changed_skus", &[("end_time", "2000-01-01 00:00:00")])
        .await;
    assert_eq!(before_all.result(), &json!([]));
    assert!(
        !mall
            .call("new_skus", &[("start_time", "yesterday")])
            .await
            .success()
    );
    mall.supplier.shutdown().await;
}

// ---- the test-environment options ----

/// A supplier like a test environment (no admin endpoints, own area ids, a valid token handed
/// out again) whose orders ship 1 s and are delivered 2 s after confirmation.
fn test_env(faults: &[&str]) -> SupplierConfig {
    SupplierConfig {
        faults: faults.iter().map(|f| f.to_string()).collect(),
        ship_after_seconds: 1,
        deliver_after_seconds: 2,
        ..SupplierConfig::test_env()
    }
}

/// Waits for the next tick of the wall clock. The supplier clock counts whole seconds, so an
/// order confirmed just after a tick stays unshipped for nearly all of a 1-second delay.
async fn just_after_a_tick() {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_millis())
        .unwrap_or(0);
    tokio::time::sleep(std::time::Duration::from_millis(
        u64::from(1000 - millis) + 20,
    ))
    .await;
}

impl Mall {
    /// Asks `id` about an order until `done` holds for its result, for at most 10 s: the
    /// supplier clock runs in real time.
    async fn poll(&self, id: &str, order: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let answer = self.call(id, &[("order_id", order)]).await;
            if done(answer.result()) {
                return answer.result().clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{id} of {order} did not reach the awaited state in 10 s: {}",
                answer.result()
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// The id a province, city or county answer gives `name`.
    async fn area_id(&self, id: &str, params: &[(&str, &str)], name: &str) -> String {
        let answer = self.call(id, params).await;
        assert!(answer.success(), "{id}: {}", answer.desc());
        text(&answer.result()[name])
    }

    /// 天津市 / 天津市 / a district of it, in this supplier's area ids.
    async fn tianjin(&self, district: &str) -> (String, String, String) {
        let province = self.area_id("provinces", &[], "天津市").await;
        let city = self.area_id("cities", &[("id", &province)], "天津市").await;
        let county = self.area_id("counties", &[("id", &city)], district).await;
        (province, city, county)
    }

    /// A valid pre-order of one unit of the first SKU, delivered to these area ids.
    async fn submit_to(&self, yggc: &str, province: &str, city: &str, county: &str) -> Answer {
        let sku = self.first_sku().await;
        let price = self.agreement_price(&sku).await;
        let lines = json!([{"sku": sku, "num": 1, "price": money(price)}]).to_string();
        let total = price.to_string();
        let mut params = vec![
            ("yggc_order", yggc),
            ("sku", lines.as_str()),
            ("order_price", total.as_str()),
        ];
        params.extend(ORDER_FIELDS.iter().map(|&(name, value)| match name {
            "province" => (name, province),
            "city" => (name, city),
            "county" => (name, county),
            _ => (name, value),
        }));
        self.call("submit", &params).await
    }
}

/// The order lines of a select result as (sku, num), sorted.
fn line_nums(lines: &Value) -> Vec<(String, u64)> {
    let mut nums: Vec<(String, u64)> = lines
        .as_array()
        .into_iter()
        .flatten()
        .map(|line| (text(&line["sku"]), line["num"].as_u64().unwrap_or(0)))
        .collect();
    nums.sort();
    nums
}

#[tokio::test]
async fn orders_ship_and_are_delivered_by_themselves() {
    let mall = mall_configured(profile(), test_env(&[])).await;
    let (province, city, county) = mall.tianjin("和平区").await;
    let submitted = mall
        .submit_to("YG-DELAYED", &province, &city, &county)
        .await;
    assert!(submitted.success(), "{}", submitted.desc());
    let order = text(&submitted.result()["order_id"]);
    let sku = mall.first_sku().await;
    let one = json!([{"sku": sku, "num": 1}]).to_string();
    let after_sale = [("order_id", order.as_str()), ("skus", &one), ("type", "4")];
    // Confirmed just after a tick, the order stays unshipped for the next calls.
    just_after_a_tick().await;
    assert!(
        mall.call("confirm", &[("order_id", &order)])
            .await
            .success()
    );

    // Confirmed, not shipped: new, confirmed, nothing delivered, no waybill, no cancel.
    let select = mall.call("select", &[("order_id", &order)]).await;
    let status = &select.result();
    assert_eq!(
        (
            &status["state"],
            &status["submit_state"],
            &status["deliver_state"]
        ),
        (&json!(0), &json!(1), &json!(0)),
        "{status}"
    );
    let lines = line_nums(&status["skus"]);
    let track = mall.call("track", &[("order_id", &order)]).await;
    assert_eq!(track.result()["waybill"], json!([]), "{}", track.result());
    assert!(
        !mall.call("after_sale", &after_sale).await.success(),
        "not before delivery"
    );
    let cancel = mall.call("cancel", &[("order_id", &order)]).await;
    assert!(!cancel.success(), "a confirmed order is not cancelled");

    // Shipped: state 5 and a waybill of the order lines.
    let shipped = mall
        .poll("select", &order, |r| r["state"] != json!(0))
        .await;
    assert_eq!(
        (&shipped["state"], &shipped["deliver_state"]),
        (&json!(5), &json!(0)),
        "{shipped}"
    );
    let track = mall.call("track", &[("order_id", &order)]).await;
    let waybill = &track.result()["waybill"];
    assert_eq!(waybill.as_array().map(Vec::len), Some(1), "{waybill}");
    assert_eq!(line_nums(&waybill[0]["shipment_items"]), lines);
    assert!(!text(&waybill[0]["logistic_no"]).is_empty());

    // Delivered: state 1, everything delivered; after-sale is open.
    let delivered = mall
        .poll("select", &order, |r| r["state"] != json!(5))
        .await;
    assert_eq!(
        (&delivered["state"], &delivered["deliver_state"]),
        (&json!(1), &json!(1)),
        "{delivered}"
    );
    assert!(!mall.call("cancel", &[("order_id", &order)]).await.success());
    let accepted = mall.call("after_sale", &after_sale).await;
    assert!(accepted.success(), "{}", accepted.desc());
    mall.supplier.shutdown().await;
}

#[tokio::test]
async fn own_area_ids_are_used_everywhere_an_area_id_is() {
    let standard = mall(&[]).await;
    let own = mall_configured(
        profile(),
        SupplierConfig {
            area_ids: supplier::AreaIds::Own,
            admin: true,
            ..SupplierConfig::default()
        },
    )
    .await;
    // The same names under other ids, at every level.
    let mut pairs = Vec::new();
    for (id, standard_params, own_params) in [
        ("provinces", &[][..], &[][..]),
        ("cities", &[("id", "120000")][..], &[("id", "2")][..]),
        ("counties", &[("id", "120100")][..], &[("id", "2802")][..]),
    ] {
        let a = standard.call(id, standard_params).await;
        let b = own.call(id, own_params).await;
        let (Some(a), Some(b)) = (a.result().as_object(), b.result().as_object()) else {
            panic!("{id}: no area map");
        };
        let names_a: Vec<&String> = a.keys().collect();
        let names_b: Vec<&String> = b.keys().collect();
        assert_eq!(names_a, names_b, "{id}: the same names, in the same order");
        for name in a.keys() {
            assert_ne!(a[name], b[name], "{id} {name}");
            pairs.push((text(&a[name]), text(&b[name])));
        }
    }
    assert!(pairs.contains(&("120101".to_string(), "50966".to_string())));
    let (province, city, county) = own.tianjin("和平区").await;
    assert_eq!((province.as_str(), city.as_str()), ("2", "2802"));
    // GB/T ids are unknown to the own-id supplier, its ids unknown to the standard one.
    assert!(!own.call("cities", &[("id", "120000")]).await.success());
    assert!(!standard.call("cities", &[("id", "2")]).await.success());
    assert!(!own.call("counties", &[("id", "120100")]).await.success());

    // Stock by area: asked and answered in own ids; a GB/T county is refused.
    let sku = own.first_sku().await;
    let stock = own
        .call("stocks", &[("sku", &sku), ("area_id", &county)])
        .await;
    assert!(stock.success(), "{}", stock.desc());
    assert_eq!(stock.result()[0]["area_id"], json!(county));
    assert!(
        !own.call("stocks", &[("sku", &sku), ("area_id", COUNTY)])
            .await
            .success()
    );
    own.admin(
        "/__admin/stock",
        &[
            ("sku", sku.clone()),
            ("num", "7".to_string()),
            ("area_id", county.clone()),
        ],
    )
    .await;
    let stock = own
        .call("stocks", &[("sku", &sku), ("area_id", &county)])
        .await;
    assert_eq!(stock.result()[0]["num"], json!(7));

    // Submit takes own ids, and locks the stock of that county; GB/T ids are refused.
    let accepted = own.submit_to("YG-OWN", &province, &city, &county).await;
    assert!(accepted.success(), "{}", accepted.desc());
    let stock = own
        .call("stocks", &[("sku", &sku), ("area_id", &county)])
        .await;
    assert_eq!(stock.result()[0]["num"], json!(6));
    let refused = own.submit_to("YG-GBT", "120000", "120100", COUNTY).await;
    assert!(!refused.success(), "GB/T codes are not this supplier's ids");
    let mixed = own.submit_to("YG-MIXED", &province, &city, COUNTY).await;
    assert!(!mixed.success());
    let standard_submit = standard
        .submit_to("YG-GBT", "120000", "120100", COUNTY)
        .await;
    assert!(standard_submit.success(), "{}", standard_submit.desc());
    standard.supplier.shutdown().await;
    own.supplier.shutdown().await;
}

#[tokio::test]
async fn a_valid_token_is_handed_out_again() {
    let reissuing = mall_configured(
        profile(),
        SupplierConfig {
            reissue_valid_token: true,
            admin: true,
            ..SupplierConfig::default()
        },
    )
    .await;
    let first = reissuing.token_answer(USERNAME, PASSWORD).await;
    assert_eq!(first.result()["access_token"], json!(reissuing.token));
    just_after_a_tick().await;
    let again = reissuing.token_answer(USERNAME, PASSWORD).await;
    assert_eq!(
        again.result()["access_token"],
        first.result()["access_token"]
    );
    assert_eq!(again.result()["expires_at"], first.result()["expires_at"]);
    let left = again.result()["expires_in"].as_i64().unwrap_or(0);
    assert!(left > 0 && left < 36 * 3600, "what is left: {left}");
    assert!(!reissuing.token_answer(USERNAME, "wrong").await.success());
    reissuing.supplier.shutdown().await;

    // An expired token is not handed out again (token-any-credentials: a token request after
    // moving the clock need not carry the supplier's time).
    let expiring = mall_configured(
        profile(),
        SupplierConfig {
            reissue_valid_token: true,
            admin: true,
            faults: vec!["token-any-credentials".to_string()],
            ..SupplierConfig::default()
        },
    )
    .await;
    expiring.advance(36 * 3600).await;
    let fresh = expiring.token_answer(USERNAME, PASSWORD).await;
    assert_ne!(fresh.result()["access_token"], json!(expiring.token));
    assert_eq!(fresh.result()["expires_in"], json!(36 * 3600));
    expiring.supplier.shutdown().await;

    // By default every request gets a fresh token.
    let plain = mall(&[]).await;
    let other = plain.fresh_token().await;
    assert_ne!(other, plain.token);
    plain.supplier.shutdown().await;
}

#[tokio::test]
async fn test_env_has_no_admin_and_its_faults_act_on_the_delays_and_own_ids() {
    let mall = mall_configured(
        profile(),
        test_env(&[
            "order-never-completes",
            "track-no-waybill",
            "cancel-after-confirm",
            "tianjin-district-missing",
            "duplicate-county-names",
            "token-ttl-12h",
        ]),
    )
    .await;
    let admin = mall
        .post_form("/__admin/clock", &[("advance_seconds", "1".to_string())])
        .await;
    assert_eq!(admin.status, StatusCode::NOT_FOUND);
    // token-ttl-12h: the token handed out again keeps its 12 h.
    let again = mall.token_answer(USERNAME, PASSWORD).await;
    assert_eq!(again.result()["access_token"], json!(mall.token));
    let left = again.result()["expires_in"].as_i64().unwrap_or(0);
    assert!(left > 0 && left <= 12 * 3600, "{left}");
    // The Tianjin faults, on its own city id (和平区 is the name given twice).
    let (province, city, county) = mall.tianjin("河东区").await;
    let counties = mall.call("counties", &[("id", &city)]).await;
    let raw = String::from_utf8_lossy(&counties.raw).into_owned();
    assert_eq!(raw.matches("\"和平区\"").count(), 2, "{raw}");
    assert!(!raw.contains("蓟州区"), "{raw}");
    // cancel-after-confirm: cancelled between confirmation and shipping, it never ships.
    let cancelled = mall.submit_to("YG-C", &province, &city, &county).await;
    let cancelled = text(&cancelled.result()["order_id"]);
    just_after_a_tick().await;
    assert!(
        mall.call("confirm", &[("order_id", &cancelled)])
            .await
            .success()
    );
    assert!(
        mall.call("cancel", &[("order_id", &cancelled)])
            .await
            .success()
    );
    // order-never-completes and track-no-waybill, on the delayed schedule.
    let order = mall.submit_to("YG-N", &province, &city, &county).await;
    let order = text(&order.result()["order_id"]);
    assert!(
        mall.call("confirm", &[("order_id", &order)])
            .await
            .success()
    );
    let shipped = mall
        .poll("select", &order, |r| r["state"] == json!(5))
        .await;
    assert_eq!(shipped["submit_state"], json!(1));
    // Signed for on the delivery time, yet never completed.
    let track = mall
        .poll("track", &order, |r| {
            r["track"]
                .as_array()
                .is_some_and(|t| t.iter().any(|e| text(&e["content"]).contains("签收")))
        })
        .await;
    assert_eq!(track["waybill"], json!([]));
    let select = mall.call("select", &[("order_id", &order)]).await;
    assert_eq!(select.result()["state"], json!(5));
    let cancelled_track = mall.call("track", &[("order_id", &cancelled)]).await;
    assert_eq!(cancelled_track.result()["waybill"], json!([]));
    let select = mall.call("select", &[("order_id", &cancelled)]).await;
    assert_eq!(select.result()["state"], json!(-2));
    mall.supplier.shutdown().await;
}

#[test]
fn serve_refuses_test_env_with_admin_and_a_delivery_before_shipping() {
    let serve = |args: &[&str]| {
        crate::common::mallcheck_command()
            .arg("serve")
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("mallcheck serve: {e}"))
    };
    let both = serve(&["--test-env", "--admin"]);
    assert_eq!(both.status.code(), Some(2));
    let reversed = serve(&["--ship-after", "5", "--deliver-after", "3"]);
    assert_eq!(reversed.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&reversed.stderr);
    assert!(stderr.contains("ship-after"), "{stderr}");
}

#[tokio::test]
async fn serve_test_env_has_own_ids_reissued_tokens_and_no_admin() {
    use std::io::BufRead;
    use std::process::Stdio;

    let _ = rustls::crypto::ring::default_provider().install_default();
    /// Stops the server however the test ends.
    struct Stopped(std::process::Child);
    impl Drop for Stopped {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Stopped(
        crate::common::mallcheck_command()
            .args(["serve", "--test-env", "--skus", "50"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("mallcheck serve: {e}")),
    );
    let mut first_line = String::new();
    if let Some(stdout) = child.0.stdout.take() {
        let _ = std::io::BufReader::new(stdout).read_line(&mut first_line);
    }
    let base = first_line.trim().to_string();
    let client = reqwest::Client::new();
    let post = |path: &str, form: Vec<(&str, String)>| {
        let request = client.post(format!("{base}{path}")).form(&form);
        let path = path.to_string();
        async move {
            match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let body = response.bytes().await.unwrap_or_default();
                    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
                }
                Err(e) => panic!("{path}: {e}"),
            }
        }
    };
    let path = |id: &str| {
        profile()
            .interface(id)
            .map(|i| i.path.clone())
            .unwrap_or_default()
    };
    let token = || {
        let password = md5_hex(PASSWORD);
        let timestamp = cst_now();
        let sign = md5_hex(&format!("{USERNAME}{password}{timestamp}{password}"));
        post(
            &path("token"),
            vec![
                ("username", USERNAME.to_string()),
                ("password", password),
                ("timestamp", timestamp),
                ("sign", sign),
            ],
        )
    };
    let (admin, _) = post("/__admin/clock", vec![("advance_seconds", "1".into())]).await;
    let (_, first) = token().await;
    let (_, again) = token().await;
    let access_token = text(&first["result"]["access_token"]);
    let (_, provinces) = post(
        &path("provinces"),
        vec![(
            profile().settings.token_param.as_str(),
            access_token.clone(),
        )],
    )
    .await;
    drop(child);
    assert_eq!(admin, StatusCode::NOT_FOUND, "no admin endpoints");
    assert!(!access_token.is_empty(), "{first}");
    assert_eq!(again["result"]["access_token"], json!(access_token));
    assert_eq!(provinces["result"]["天津市"], json!("2"), "{provinces}");
}
