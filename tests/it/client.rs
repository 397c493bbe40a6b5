//! The client against in-process servers on loopback: encodings, the token sign rule and reuse,
//! redaction, and hostile answers (huge bodies, slow drips, refused connections, redirects to
//! another host, HTML error pages, invalid UTF-8). Deterministic: no sleeps waiting for luck.

use crate::common::copy_dir;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use chrono::{FixedOffset, NaiveDateTime, Utc};
use mallcheck::client::{Client, ClientConfig, ClientError, Exchange, TokenUse, TransportError};
use mallcheck::profile::Profile;
use reqwest::Url;
use serde_json::{Map, Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const USER: &str = "mall-user";
const PASSWORD: &str = "s3cret-pass";

fn md5_hex(text: &str) -> String {
    format!("{:x}", md5::compute(text.as_bytes()))
}

/// Loaded once: compiling the validators is the slow part of a test.
fn embedded() -> Arc<Profile> {
    static PROFILE: OnceLock<Arc<Profile>> = OnceLock::new();
    Arc::clone(
        PROFILE.get_or_init(|| Arc::new(Profile::embedded().expect("the embedded profile loads"))),
    )
}

fn client_for(profile: Arc<Profile>, base_url: &str, timeout: Duration, cap: usize) -> Client {
    let mut config = ClientConfig::new(base_url, USER, PASSWORD);
    config.timeout = timeout;
    config.max_body_bytes = cap;
    Client::new(profile, config).expect("the client builds")
}

fn client(base_url: &str) -> Client {
    client_for(embedded(), base_url, Duration::from_secs(10), 1 << 20)
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

async fn serve(router: Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}

/// Form pairs of a urlencoded body, in order.
fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(body);
    let url = Url::parse(&format!("http://x.invalid/?{text}")).expect("form body parses");
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn pair<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

// ---------------------------------------------------------------------------------------------
// A small supplier: a token endpoint that checks the sign rule, and an echo for everything else.

#[derive(Clone, Debug)]
struct Captured {
    method: String,
    path: String,
    query: String,
    content_type: String,
    body: Vec<u8>,
}

#[derive(Default)]
struct Supplier {
    token_calls: AtomicUsize,
    /// Issue tokens whose expires_at is already past (a supplier with a wrong clock).
    issue_expired: bool,
    requests: Mutex<Vec<Captured>>,
}

impl Supplier {
    fn requests(&self) -> Vec<Captured> {
        self.requests.lock().expect("lock").clone()
    }
    fn last(&self) -> Captured {
        self.requests()
            .pop()
            .expect("a request reached the supplier")
    }
}

fn cst_now() -> chrono::DateTime<FixedOffset> {
    Utc::now().with_timezone(&FixedOffset::east_opt(8 * 3600).expect("CST"))
}

fn envelope(success: bool, desc: &str, result: Value) -> Response {
    axum::Json(json!({"success": success, "desc": desc, "result": result})).into_response()
}

async fn token_endpoint(
    State(supplier): State<Arc<Supplier>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let pairs = if headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"))
    {
        let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        value
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        form_pairs(&body)
    };
    let get = |name: &str| pair(&pairs, name).unwrap_or_default().to_string();
    let (username, password, timestamp, sign) = (
        get("username"),
        get("password"),
        get("timestamp"),
        get("sign"),
    );
    let fresh = NaiveDateTime::parse_from_str(&timestamp, "%Y-%m-%d %H:%M:%S")
        .is_ok_and(|t| (t - cst_now().naive_local()).num_seconds().abs() <= 600);
    let expected_sign = md5_hex(&format!("{username}{password}{timestamp}{password}"));
    if username != USER || password != md5_hex(PASSWORD) || sign != expected_sign || !fresh {
        return envelope(false, "签名错误 bad credentials", Value::Null);
    }
    let n = supplier.token_calls.fetch_add(1, Ordering::SeqCst) + 1;
    let expires = if supplier.issue_expired {
        cst_now() - chrono::Duration::hours(1)
    } else {
        cst_now() + chrono::Duration::hours(36)
    };
    envelope(
        true,
        "",
        json!({
            "access_token": format!("issued-token-{n}-7f3a9c"),
            "expires_at": expires.format("%Y-%m-%d %H:%M:%S").to_string(),
        }),
    )
}

/// Records the request and echoes its token (and the md5 password, as a careless supplier might)
/// in the answer, so that body redaction can be seen.
async fn echo(
    State(supplier): State<Arc<Supplier>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let token = if content_type.starts_with("application/json") {
        serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v.get("token").and_then(Value::as_str).map(str::to_string))
    } else {
        pair(&form_pairs(&body), "token").map(str::to_string)
    };
    supplier.requests.lock().expect("lock").push(Captured {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: uri.query().unwrap_or_default().to_string(),
        content_type,
        body: body.to_vec(),
    });
    envelope(
        true,
        &format!(
            "token {} pw {}",
            token.unwrap_or_default(),
            md5_hex(PASSWORD)
        ),
        json!([]),
    )
}

async fn supplier_with(supplier: Supplier) -> (String, Arc<Supplier>) {
    let supplier = Arc::new(supplier);
    let router = Router::new()
        .route("/api/auth2/access_token", post(token_endpoint))
        .fallback(echo)
        .with_state(Arc::clone(&supplier));
    (serve(router).await, supplier)
}

async fn supplier() -> (String, Arc<Supplier>) {
    supplier_with(Supplier::default()).await
}

fn assert_no_secret(exchange: &Exchange, secrets: &[&str]) {
    let json = serde_json::to_string(exchange).expect("exchange serializes");
    let curl = exchange.curl_line(None);
    let debug = format!("{exchange:?}");
    for secret in secrets {
        assert!(!json.contains(secret), "{secret} in {json}");
        assert!(!curl.contains(secret), "{secret} in {curl}");
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }
}

// ---------------------------------------------------------------------------------------------
// Encodings

#[tokio::test]
async fn form_encoding_keeps_number_text_and_sends_nested_values_as_json_text() {
    let (base, supplier) = supplier().await;
    let client = client(&base);
    let params: Value = serde_json::from_str(
        r#"{"yggc_order": "Y-1", "sku": [{"sku": "100001", "num": 2, "price": 19.90}],
            "order_price": 39.80, "freight": 0, "invoice_type": 1, "urgent": true, "name": "张 三&"}"#,
    )
    .expect("params");
    let exchange = client.call("submit", &object(params), TokenUse::Auto).await;
    assert_eq!(exchange.error, None, "{exchange:?}");
    assert_eq!(exchange.interface, "submit");
    assert_eq!(exchange.response.as_ref().map(|r| r.status), Some(200));

    let seen = supplier.last();
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.path, "/api/order/submit");
    assert_eq!(seen.content_type, "application/x-www-form-urlencoded");
    let pairs = form_pairs(&seen.body);
    assert_eq!(
        pairs[0],
        ("token".to_string(), "issued-token-1-7f3a9c".to_string())
    );
    assert_eq!(
        pair(&pairs, "sku"),
        Some(r#"[{"sku":"100001","num":2,"price":19.90}]"#)
    );
    assert_eq!(pair(&pairs, "order_price"), Some("39.80"));
    assert_eq!(pair(&pairs, "freight"), Some("0"));
    assert_eq!(pair(&pairs, "urgent"), Some("true"));
    assert_eq!(pair(&pairs, "name"), Some("张 三&"));

    // The record: the same texts, the token masked.
    let recorded = &exchange.request;
    assert_eq!(recorded.method, "POST");
    assert_eq!(recorded.url, format!("{base}/api/order/submit"));
    assert_eq!(recorded.content_type, "application/x-www-form-urlencoded");
    assert_eq!(recorded.params[0], ("token".to_string(), "***".to_string()));
    assert_eq!(pair(&recorded.params, "order_price"), Some("39.80"));
    assert_eq!(pair(&recorded.params, "sku"), pair(&pairs, "sku"));
}

/// A copy of `schemas/` with JSON encoding, in a fresh temporary folder.
fn json_profile() -> Arc<Profile> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir: PathBuf = std::env::temp_dir().join(format!(
        "mallcheck-client-json-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(Path::new("schemas"), &dir);
    let catalogue = dir.join("interfaces.toml");
    let text = std::fs::read_to_string(&catalogue).expect("read catalogue");
    assert!(text.contains(r#"encoding = "form""#));
    std::fs::write(
        &catalogue,
        text.replacen(r#"encoding = "form""#, r#"encoding = "json""#, 1),
    )
    .expect("write catalogue");
    let profile = Profile::from_dir(&dir).expect("the JSON profile loads");
    let _ = std::fs::remove_dir_all(&dir);
    Arc::new(profile)
}

#[tokio::test]
async fn json_encoding_sends_the_object_as_is() {
    let (base, supplier) = supplier().await;
    let client = client_for(json_profile(), &base, Duration::from_secs(10), 1 << 20);
    let params: Value = serde_json::from_str(
        r#"{"sku": "100001,100002", "price": 19.90, "lines": [{"sku": "1", "num": 2}]}"#,
    )
    .expect("params");
    let exchange = client.call("prices", &object(params), TokenUse::Auto).await;
    assert_eq!(exchange.error, None, "{exchange:?}");
    // The token call went as JSON too, and passed the sign check.
    assert_eq!(supplier.token_calls.load(Ordering::SeqCst), 1);

    let seen = supplier.last();
    assert_eq!(seen.content_type, "application/json");
    let body = String::from_utf8(seen.body).expect("utf-8 body");
    assert_eq!(
        body,
        r#"{"token":"issued-token-1-7f3a9c","sku":"100001,100002","price":19.90,"lines":[{"sku":"1","num":2}]}"#
    );
    assert_eq!(exchange.request.content_type, "application/json");
    assert_eq!(pair(&exchange.request.params, "token"), Some("***"));
    assert_eq!(pair(&exchange.request.params, "price"), Some("19.90"));
    assert_eq!(
        pair(&exchange.request.params, "lines"),
        Some(r#"[{"sku":"1","num":2}]"#)
    );
}

// ---------------------------------------------------------------------------------------------
// Token

#[tokio::test]
async fn token_is_fetched_once_and_reused_until_forgotten() {
    let (base, supplier) = supplier().await;
    let client = client(&base);
    for _ in 0..3 {
        let exchange = client.call("pools", &Map::new(), TokenUse::Auto).await;
        assert_eq!(exchange.response.as_ref().map(|r| r.status), Some(200));
    }
    assert_eq!(supplier.token_calls.load(Ordering::SeqCst), 1);
    let tokens: Vec<String> = supplier
        .requests()
        .iter()
        .map(|c| {
            pair(&form_pairs(&c.body), "token")
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(tokens, vec!["issued-token-1-7f3a9c"; 3]);

    client.forget_token();
    client.call("pools", &Map::new(), TokenUse::Auto).await;
    assert_eq!(supplier.token_calls.load(Ordering::SeqCst), 2);
    assert_eq!(
        pair(&form_pairs(&supplier.last().body), "token"),
        Some("issued-token-2-7f3a9c")
    );
    let current = client.current_token().await.expect("a token");
    assert_eq!(current.value, "issued-token-2-7f3a9c");
    assert!(current.expires_at.is_some());
    // The token value never shows in Debug.
    assert!(!format!("{current:?}").contains("issued-token"));
}

#[tokio::test]
async fn concurrent_auto_calls_fetch_one_token() {
    let (base, supplier) = supplier().await;
    let client = client(&base);
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            client.call("pools", &Map::new(), TokenUse::Auto).await
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        let exchange = task.await.expect("task");
        assert_eq!(exchange.error, None);
        ids.push(exchange.id);
    }
    assert_eq!(supplier.token_calls.load(Ordering::SeqCst), 1);
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 6, "exchange ids are unique");
}

#[tokio::test]
async fn a_token_stated_expired_on_arrival_is_not_fetched_before_every_call() {
    // A wrong clock or zone on the supplier's side: its stated expiry is already past when the
    // token arrives. Trusting it would fetch a token before every call; the token is used until
    // the supplier refuses it (token_expired), and TOK-TTL-36H judges the date.
    let (base, supplier) = supplier_with(Supplier {
        issue_expired: true,
        ..Supplier::default()
    })
    .await;
    let client = client(&base);
    for _ in 0..5 {
        client.call("pools", &Map::new(), TokenUse::Auto).await;
    }
    assert_eq!(supplier.token_calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn token_call_follows_the_sign_rule_and_is_redacted() {
    let (base, supplier) = supplier().await;
    let client = client(&base);
    let (exchange, issued) = client.fetch_token().await;
    let issued = issued.expect("the sign rule is accepted");
    assert_eq!(supplier.token_calls.load(Ordering::SeqCst), 1);
    assert_eq!(exchange.interface, "token");
    assert_eq!(
        exchange.request.url,
        format!("{base}/api/auth2/access_token")
    );

    let names: Vec<&str> = exchange
        .request
        .params
        .iter()
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(names, ["username", "password", "timestamp", "sign"]);
    assert_eq!(pair(&exchange.request.params, "username"), Some(USER));
    assert_eq!(pair(&exchange.request.params, "password"), Some("***"));
    assert_eq!(pair(&exchange.request.params, "sign"), Some("***"));
    // The issued token is masked in the token answer itself.
    assert!(
        exchange.body_text().contains(r#""access_token":"***""#),
        "{}",
        exchange.body_text()
    );
    assert_no_secret(&exchange, &[PASSWORD, &md5_hex(PASSWORD), &issued.value]);

    // Stored for Auto use: no second token call.
    client.call("pools", &Map::new(), TokenUse::Auto).await;
    assert_eq!(supplier.token_calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn bad_credentials_are_refused_and_never_stored() {
    let (base, supplier) = supplier().await;
    let client = client(&base);
    let (exchange, issued) = client.fetch_token_with(USER, "wrong-password").await;
    assert!(issued.is_none());
    assert!(exchange.body_text().contains(r#""success":false"#));
    assert_no_secret(&exchange, &[&md5_hex("wrong-password")]);

    // Auto still fetches with the configured credentials.
    let exchange = client.call("pools", &Map::new(), TokenUse::Auto).await;
    assert_eq!(exchange.interface, "pools");
    assert_eq!(supplier.token_calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn auto_call_without_a_token_to_be_had_returns_the_token_exchange() {
    let (base, supplier) = supplier().await;
    let mut config = ClientConfig::new(&base, USER, "not-the-password");
    config.timeout = Duration::from_secs(10);
    let client = Client::new(embedded(), config).expect("client");
    let exchange = client.call("pools", &Map::new(), TokenUse::Auto).await;
    assert_eq!(exchange.interface, "token");
    assert!(supplier.requests().is_empty(), "pools was not called");
    let failed = client.current_token().await.expect_err("no token");
    assert_eq!(failed.interface, "token");
}

#[tokio::test]
async fn omit_sends_no_token_and_explicit_sends_the_given_one_masked() {
    let (base, supplier) = supplier().await;
    let client = client(&base);

    let exchange = client.call("pools", &Map::new(), TokenUse::Omit).await;
    assert_eq!(exchange.error, None);
    assert!(form_pairs(&supplier.last().body).is_empty());
    assert!(exchange.request.params.is_empty());
    assert_eq!(supplier.token_calls.load(Ordering::SeqCst), 0);

    let saved = "old-saved-token-0042";
    let params = object(json!({"catalog_id": "A0101", "token": "ignored"}));
    let exchange = client
        .call("skus", &params, TokenUse::Explicit(saved.to_string()))
        .await;
    let pairs = form_pairs(&supplier.last().body);
    assert_eq!(
        pairs,
        [
            ("token".to_string(), saved.to_string()),
            ("catalog_id".to_string(), "A0101".to_string())
        ]
    );
    assert_eq!(pair(&exchange.request.params, "token"), Some("***"));
    // The supplier echoed the token and the md5 password: both masked in the body.
    let body = exchange.body_text();
    assert!(body.contains("token *** pw ***"), "{body}");
    assert_no_secret(&exchange, &[saved, &md5_hex(PASSWORD)]);
    assert_eq!(supplier.token_calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn client_debug_shows_no_secret() {
    let client = client("http://127.0.0.1:9/mall/");
    assert_eq!(client.base_url(), "http://127.0.0.1:9/mall");
    let debug = format!("{client:?}");
    assert!(debug.contains("127.0.0.1:9"));
    assert!(
        !debug.contains(PASSWORD) && !debug.contains(&md5_hex(PASSWORD)),
        "{debug}"
    );
    let config = ClientConfig::new("http://x", USER, PASSWORD);
    assert!(!format!("{config:?}").contains(PASSWORD));
    assert_eq!(
        format!("{:?}", TokenUse::Explicit("abc".into())),
        "Explicit(***)"
    );
}

#[test]
fn bad_base_urls_are_refused() {
    for bad in [
        "not a url",
        "ftp://example.cn/",
        "http://example.cn/?a=1",
        "file:///tmp",
    ] {
        let result = Client::new(embedded(), ClientConfig::new(bad, USER, PASSWORD));
        assert!(
            matches!(result, Err(ClientError::BadBaseUrl { .. })),
            "{bad}: {result:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Other calls

#[tokio::test]
async fn get_post_path_call_get_and_unknown_interfaces() {
    let (base, supplier) = supplier().await;
    let client = client(&base);

    let image = client.get(&format!("{base}/img/a.jpg"), "image").await;
    assert_eq!(image.interface, "image");
    assert_eq!(image.request.method, "GET");
    assert_eq!(image.response.as_ref().map(|r| r.status), Some(200));
    assert_eq!(supplier.last().path, "/img/a.jpg");

    let admin = client
        .post_path("/__admin/clock", &[("advance_seconds", "3600".to_string())])
        .await;
    assert_eq!(admin.interface, "admin");
    let seen = supplier.last();
    assert_eq!(
        (seen.method.as_str(), seen.path.as_str()),
        ("POST", "/__admin/clock")
    );
    assert_eq!(
        form_pairs(&seen.body),
        [("advance_seconds".to_string(), "3600".to_string())]
    );

    let got = client
        .call_get(
            "detail",
            &object(json!({"sku": "100001"})),
            TokenUse::Explicit("explicit-token-99".into()),
        )
        .await;
    let seen = supplier.last();
    assert_eq!(seen.method, "GET");
    assert_eq!(seen.query, "token=explicit-token-99&sku=100001");
    assert_eq!(
        got.request.url,
        format!("{base}/api/product/detail?token=***&sku=100001")
    );
    assert_no_secret(&got, &["explicit-token-99"]);

    let unknown = client
        .call("no_such_interface", &Map::new(), TokenUse::Omit)
        .await;
    assert!(matches!(
        unknown.error,
        Some(TransportError::InvalidRequest { .. })
    ));
    assert!(unknown.response.is_none());
    for bad in ["/relative/path.jpg", "not a url", "ftp://x/y"] {
        let exchange = client.get(bad, "image").await;
        assert!(
            matches!(exchange.error, Some(TransportError::InvalidRequest { .. })),
            "{bad}: {exchange:?}"
        );
    }
    let ids = [image.id, admin.id, got.id, unknown.id];
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
}

// ---------------------------------------------------------------------------------------------
// Hostile answers

#[tokio::test]
async fn html_error_page_is_recorded_with_its_status() {
    let html = "<html><body><h1>500 Internal Server Error</h1></body></html>";
    let router = Router::new().fallback(any(move || async move {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/html")],
            html,
        )
    }));
    let base = serve(router).await;
    let exchange = client(&base)
        .call("pools", &Map::new(), TokenUse::Omit)
        .await;
    assert_eq!(exchange.error, None);
    let response = exchange.response.expect("a response");
    assert_eq!(response.status, 500);
    assert_eq!(response.body, html.as_bytes());
    assert_eq!(response.header("content-type"), Some("text/html"));
    assert!(!response.truncated);
}

#[tokio::test]
async fn invalid_utf8_and_empty_bodies_are_kept_as_bytes() {
    let router = Router::new()
        .route(
            "/api/product/get_pools",
            post(|| async {
                Bytes::from_static(b"{\"success\":true,\"desc\":\"\xff\xfe\xc3\x28\"}")
            }),
        )
        .fallback(any(|| async { StatusCode::OK }));
    let base = serve(router).await;
    let client = client(&base);
    let exchange = client.call("pools", &Map::new(), TokenUse::Omit).await;
    assert_eq!(exchange.error, None);
    let body = &exchange.response.as_ref().expect("a response").body;
    assert_eq!(
        body.as_slice(),
        b"{\"success\":true,\"desc\":\"\xff\xfe\xc3\x28\"}"
    );

    let empty = client.call("provinces", &Map::new(), TokenUse::Omit).await;
    assert_eq!(empty.error, None);
    assert!(empty.response.expect("a response").body.is_empty());
}

/// A raw TCP server: each connection gets `head`, then `body_bytes` bytes of `x` in 64 KiB writes
/// (stopping when the client hangs up), then holds the connection open for `hold`.
async fn raw_server(head: String, body_bytes: u64, hold: Duration) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let written = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&written);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counter = Arc::clone(&counter);
            let head = head.clone();
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = vec![b'x'; 64 * 1024];
                let mut left = body_bytes;
                while left > 0 {
                    let n = usize::try_from(left.min(chunk.len() as u64)).unwrap_or(chunk.len());
                    if socket.write_all(&chunk[..n]).await.is_err() {
                        return;
                    }
                    counter.fetch_add(n, Ordering::SeqCst);
                    left -= n as u64;
                }
                let _ = socket.flush().await;
                // A timer that outlives the client's timeout: the connection stays open, silent.
                tokio::time::sleep(hold).await;
            });
        }
    });
    (format!("http://{addr}"), written)
}

#[tokio::test]
async fn a_huge_body_is_capped_and_not_read() {
    const HUNDRED_MB: u64 = 100 * 1024 * 1024;
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {HUNDRED_MB}\r\n\r\n"
    );
    let (base, written) = raw_server(head, HUNDRED_MB, Duration::ZERO).await;
    let cap = 256 * 1024;
    let client = client_for(embedded(), &base, Duration::from_secs(20), cap);
    let started = Instant::now();
    let exchange = client.call("pools", &Map::new(), TokenUse::Omit).await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "returns promptly"
    );
    assert_eq!(exchange.error, None, "{:?}", exchange.error);
    let response = exchange.response.expect("a response");
    assert_eq!(response.status, 200);
    assert!(response.truncated);
    assert_eq!(response.body.len(), cap);
    // The client hung up: the server could not push all 100 MB (socket buffers hold a few MB).
    assert!((written.load(Ordering::SeqCst) as u64) < HUNDRED_MB / 2);
}

#[tokio::test]
async fn an_image_probe_reads_only_the_first_bytes() {
    const TEN_MB: u64 = 10 * 1024 * 1024;
    let head =
        format!("HTTP/1.1 200 OK\r\ncontent-type: image/png\r\ncontent-length: {TEN_MB}\r\n\r\n");
    let (base, _) = raw_server(head, TEN_MB, Duration::from_secs(30)).await;
    let exchange = client(&base)
        .get_prefix(&format!("{base}/big.png"), "image", 4096)
        .await;
    assert_eq!(exchange.error, None);
    let response = exchange.response.expect("a response");
    assert_eq!(response.body.len(), 4096);
    assert!(response.truncated, "the rest was not read");
}

#[tokio::test]
async fn a_body_exactly_at_the_cap_is_not_truncated() {
    let head = "HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n".to_string();
    let (base, _) = raw_server(head, 1000, Duration::ZERO).await;
    let exchange = client_for(embedded(), &base, Duration::from_secs(10), 1000)
        .call("pools", &Map::new(), TokenUse::Omit)
        .await;
    let response = exchange.response.expect("a response");
    assert_eq!((response.body.len(), response.truncated), (1000, false));
}

#[tokio::test]
async fn a_slow_drip_times_out_and_keeps_what_arrived() {
    let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n"
        .to_string();
    let (base, _) = raw_server(head, 1, Duration::from_secs(60)).await;
    let client = client_for(embedded(), &base, Duration::from_millis(300), 1 << 20);
    let started = Instant::now();
    let exchange = client.call("pools", &Map::new(), TokenUse::Omit).await;
    assert!(started.elapsed() < Duration::from_secs(5), "no hang");
    match exchange.error {
        Some(TransportError::Timeout { after_ms }) => {
            assert!((300..5000).contains(&after_ms), "{after_ms}")
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    let response = exchange.response.expect("the head arrived");
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"x");
    assert!(exchange.duration_ms >= 300);
}

#[tokio::test]
async fn a_silent_server_times_out_without_a_response() {
    let (base, _) = raw_server(String::new(), 0, Duration::from_secs(60)).await;
    let client = client_for(embedded(), &base, Duration::from_millis(200), 1 << 20);
    let exchange = client.call("pools", &Map::new(), TokenUse::Omit).await;
    assert!(
        matches!(exchange.error, Some(TransportError::Timeout { .. })),
        "{exchange:?}"
    );
    assert!(exchange.response.is_none());
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let exchange = client(&format!("http://127.0.0.1:{port}"))
        .call("pools", &Map::new(), TokenUse::Omit)
        .await;
    assert!(
        matches!(exchange.error, Some(TransportError::Connect { .. })),
        "{exchange:?}"
    );
    assert!(exchange.response.is_none());
    // Auto: the token call fails the same way and is what comes back.
    let exchange = client(&format!("http://127.0.0.1:{port}"))
        .call("pools", &Map::new(), TokenUse::Auto)
        .await;
    assert_eq!(exchange.interface, "token");
    assert!(matches!(
        exchange.error,
        Some(TransportError::Connect { .. })
    ));
}

#[tokio::test]
async fn a_redirect_to_another_host_is_not_followed() {
    let hits = Arc::new(AtomicUsize::new(0));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let counter = Arc::clone(&hits);
    let router = Router::new()
        .route(
            "/api/product/get_pools",
            post(move || async move {
                (
                    StatusCode::FOUND,
                    [(header::LOCATION, format!("http://localhost:{port}/landed"))],
                    "moved",
                )
            }),
        )
        .route(
            "/api/product/skus",
            post(|| async {
                (
                    StatusCode::TEMPORARY_REDIRECT,
                    [(header::LOCATION, "/landed")],
                )
            }),
        )
        .route(
            "/cdn-image",
            get(move || async move {
                (
                    StatusCode::FOUND,
                    [(header::LOCATION, format!("http://localhost:{port}/landed"))],
                )
            }),
        )
        .route(
            "/landed",
            any(move || {
                let counter = Arc::clone(&counter);
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    "landed"
                }
            }),
        );
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let client = client(&format!("http://127.0.0.1:{port}"));

    let exchange = client.call("pools", &Map::new(), TokenUse::Omit).await;
    assert_eq!(
        exchange.error,
        Some(TransportError::Redirect {
            location: format!("http://localhost:{port}/landed")
        })
    );
    let response = exchange.response.expect("the 3xx is recorded");
    assert_eq!(response.status, 302);
    assert_eq!(response.body, b"moved");
    assert_eq!(hits.load(Ordering::SeqCst), 0);

    // Same host: followed (307 keeps the method and body).
    let exchange = client.call("skus", &Map::new(), TokenUse::Omit).await;
    assert_eq!(exchange.error, None);
    let response = exchange.response.expect("a response");
    assert_eq!(
        (response.status, response.body.as_slice()),
        (200, b"landed".as_slice())
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1);

    // A resource (an image behind a CDN) follows a redirect to another host, as a browser does.
    let exchange = client
        .get(&format!("http://127.0.0.1:{port}/cdn-image"), "image")
        .await;
    assert_eq!(exchange.error, None);
    assert_eq!(exchange.response.expect("a response").status, 200);
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_same_host_redirect_loop_stops() {
    let router = Router::new().fallback(any(|uri: Uri| async move {
        let n: u32 = uri.path().trim_start_matches("/loop/").parse().unwrap_or(0);
        (
            StatusCode::FOUND,
            [(header::LOCATION, format!("/loop/{}", n + 1))],
        )
    }));
    let base = serve(router).await;
    let client = client(&base);
    // A resource and an interface alike: the last 3xx is recorded, and the error says loop.
    for exchange in [
        client.get(&format!("{base}/loop/0"), "image").await,
        client.call("pools", &Map::new(), TokenUse::Omit).await,
    ] {
        let error = exchange.error.clone().expect("a redirect loop is an error");
        assert!(
            matches!(error, TransportError::RedirectLoop { .. }),
            "{error:?}"
        );
        assert!(
            error.describe().contains("redirect loop"),
            "{}",
            error.describe()
        );
        let response = exchange.response.expect("the last 3xx is recorded");
        assert_eq!(response.status, 302);
    }
}

#[tokio::test]
async fn a_connection_closed_before_the_answer_says_so() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            // Closed after the request, with nothing said.
            drop(socket);
        }
    });
    let exchange = client(&format!("http://{addr}"))
        .call("pools", &Map::new(), TokenUse::Omit)
        .await;
    let error = exchange.error.expect("an error");
    assert!(matches!(error, TransportError::Closed { .. }), "{error:?}");
    assert!(
        error.describe().contains("closed the connection"),
        "{}",
        error.describe()
    );
}

#[tokio::test]
async fn https_to_a_plain_http_server_is_a_tls_or_read_error_not_a_panic() {
    let (base, _) = supplier().await;
    let exchange = client(&base.replace("http://", "https://"))
        .call("pools", &Map::new(), TokenUse::Omit)
        .await;
    assert!(
        matches!(exchange.error, Some(TransportError::Tls { .. })),
        "{:?}",
        exchange.error
    );
}
