//! The only module that speaks HTTP. It encodes parameters (form or JSON), fetches and reuses the
//! access token, caps body size, times every call, keeps the raw bytes and hands back an
//! [`Exchange`], with secrets redacted at the moment the exchange is recorded.
//!
//! Every call yields an exchange, never a panic and never a `Result`: what went wrong below HTTP
//! is `exchange.error`, and judging the answer is the checks' job.

mod config;
mod encode;

mod redact;
mod token;
mod transport;

pub use crate::exchange::{Exchange, RecordedRequest, RecordedResponse, TransportError};
pub use config::{ClientConfig, ClientError, DEFAULT_MAX_BODY_BYTES, DEFAULT_TIMEOUT};
pub use redact::MASK;
pub use token::IssuedToken;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use reqwest::{Method, Url};
use serde_json::{Map, Value};
use tokio::time::Instant;

use crate::profile::{Interface, Profile, Settings};
use transport::{RawOutcome, RawResponse};

/// Which token a call carries.
#[derive(Clone, PartialEq, Eq)]
pub enum TokenUse {
    /// The client's current token, fetched on first need and reused until it expires. Adds
    /// nothing to an interface that needs no token (the token interface itself).
    Auto,
    /// No token parameter at all.
    Omit,
    /// This value (an unknown token, an old saved one...). It is masked in the exchange.
    Explicit(String),
}

impl std::fmt::Debug for TokenUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenUse::Auto => f.write_str("Auto"),
            TokenUse::Omit => f.write_str("Omit"),
            TokenUse::Explicit(_) => f.write_str("Explicit(***)"),
        }
    }
}

/// The interface id of harness calls that are not interfaces of the profile.
pub const ADMIN: &str = "admin";

/// Ways a token call can break the sign rule on purpose (TOK-ISSUE: refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    None,
    WrongSign,
    StaleTimestamp,
}

/// Talks to one supplier. Cheap to clone: clones share the connection pool, the exchange ids, the
/// known secrets and the current token ([`Client::detached`] gives one with its own token).
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
    token: Arc<TokenSlot>,
}

struct Shared {
    profile: Arc<Profile>,
    http: reqwest::Client,
    /// For resources (images, invoices): follows redirects to other hosts.
    http_resources: reqwest::Client,
    /// Without a trailing slash; interface paths start with one.
    base_url: String,
    /// The URL of every interface path of the profile, parsed once (a URL per call was a parse
    /// per call); a path not here is parsed when it is called.
    interface_urls: std::collections::HashMap<String, Url>,
    username: String,
    password_md5: String,
    timeout: Duration,
    max_body_bytes: usize,
    next_id: AtomicU64,
    /// How far the supplier's clock is ahead of ours (ms): the reference supplier's clock can be
    /// moved, and a token timestamp must be on the supplier's time to be accepted.
    supplier_skew_ms: std::sync::atomic::AtomicI64,
    /// Token value → when it was first handed out in this run.
    first_seen: Mutex<std::collections::HashMap<String, u64>>,
    /// Token answers fetched on the way to another call, not yet judged: the first issue of a
    /// run may be one of them, and its stated lifetime must be judged like any other.
    unjudged_issues: Mutex<Vec<(Exchange, IssuedToken)>>,
    /// Every token value the client has seen (issued or explicit) and every md5 password sent:
    /// searched for in everything recorded.
    known_secrets: Mutex<Vec<String>>,
    /// `known_secrets` ready to search, rebuilt when one is added (not per exchange).
    searchable: Mutex<Arc<redact::Secrets>>,
    /// Calls to the supplier that timed out since the last one it answered in full.
    timeouts_in_a_row: AtomicU64,
    /// Set once [`SILENT_AFTER`] calls in a row timed out: the supplier has stopped answering.
    silenced: Mutex<Option<String>>,
    /// Interfaces a call to timed out, with why: they are not asked again in this run.
    timed_out: Mutex<std::collections::HashMap<String, String>>,
    /// Set by [`Client::ask_again_after_timeouts`]: a timeout does not close its interface.
    ask_again: std::sync::atomic::AtomicBool,
}

/// Calls in a row that time out, with no whole answer between them, after which the supplier
/// is taken as no longer answering: the rest of the run is blocked at once, instead of waiting
/// out one deadline per call (a supplier that drips every answer would take hours).
pub const SILENT_AFTER: u64 = 3;

#[derive(Default)]
struct TokenSlot {
    current: Mutex<Option<IssuedToken>>,
    /// Held while a token is being fetched, so that concurrent Auto calls fetch one, not many.
    fetching: tokio::sync::Mutex<()>,
    /// A token call the supplier never answered (timed out, refused the connection): every
    /// later call that needs a token fails at once with it, instead of waiting out its own
    /// deadline one after another.
    unanswered: Mutex<Option<Exchange>>,
}

/// A request about to be sent, with its parameters as text (not yet redacted).
struct Outgoing {
    interface: String,
    method: Method,
    url: Url,
    content_type: &'static str,
    body: Option<Vec<u8>>,
    params: Vec<(String, String)>,
    /// A resource (image, invoice) rather than an interface: redirects to other hosts (a CDN,
    /// http → https) are followed, as a browser would.
    resource: bool,
    /// A deadline shorter than the configured one (the admin probe).
    deadline: Option<Duration>,
    /// A body cap below the configured one (an image probe needs only the first bytes).
    max_body: Option<usize>,
}

/// A request as sent and what came back, before redaction.
struct Performed {
    id: u64,
    outgoing: Outgoing,
    raw: RawOutcome,
    started_at_ms: u64,
    duration_ms: u64,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.shared.base_url)
            .field("username", &self.shared.username)
            .field("profile", &self.shared.profile.origin)
            .field("timeout", &self.shared.timeout)
            .field("max_body_bytes", &self.shared.max_body_bytes)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere while holding the lock leaves plain data behind; keep using it.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn is_json(settings: &Settings) -> bool {
    // `Encoding` is not re-exported by `profile`; its serde name is its documented spelling.
    matches!(serde_json::to_value(settings.encoding), Ok(Value::String(name)) if name == "json")
}

impl Client {
    pub fn new(profile: Arc<Profile>, config: ClientConfig) -> Result<Client, ClientError> {
        let base_url = check_base_url(&config.base_url)?;
        // reqwest is built without a crypto provider; https needs one installed process-wide.
        // An Err means one is installed already, which is just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let build = |policy| {
            reqwest::Client::builder()
                .redirect(policy)
                .user_agent(concat!("mallcheck/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(config.timeout)
                .build()
                .map_err(|e| ClientError::Build {
                    message: e.to_string(),
                })
        };
        let http = build(transport::redirect_policy())?;
        let http_resources = build(transport::resource_redirect_policy())?;
        let password_md5 = token::md5_hex(&config.password);
        let interface_urls = profile
            .interfaces
            .iter()
            .filter_map(|interface| {
                let url = Url::parse(&join_path(&base_url, &interface.path)).ok()?;
                Some((interface.path.clone(), url))
            })
            .collect();
        Ok(Client {
            shared: Arc::new(Shared {
                profile,
                http,
                http_resources,
                base_url,
                interface_urls,
                username: config.username,
                known_secrets: Mutex::new(vec![password_md5.clone()]),
                searchable: Mutex::new(Arc::new(redact::Secrets::new([password_md5.clone()]))),
                password_md5,
                timeout: config.timeout,
                max_body_bytes: config.max_body_bytes,
                next_id: AtomicU64::new(0),
                supplier_skew_ms: std::sync::atomic::AtomicI64::new(0),
                first_seen: Mutex::new(std::collections::HashMap::new()),
                unjudged_issues: Mutex::new(Vec::new()),
                timeouts_in_a_row: AtomicU64::new(0),
                silenced: Mutex::new(None),
                timed_out: Mutex::new(std::collections::HashMap::new()),
                ask_again: std::sync::atomic::AtomicBool::new(false),
            }),
            token: Arc::new(TokenSlot::default()),
        })
    }

    /// Tells the client how far the supplier's clock is ahead of the local one (after the
    /// reference supplier's clock was moved), so token timestamps stay within its window.
    pub fn set_supplier_skew_ms(&self, skew_ms: i64) {
        self.shared
            .supplier_skew_ms
            .store(skew_ms, Ordering::Relaxed);
    }

    pub fn profile(&self) -> &Arc<Profile> {
        &self.shared.profile
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// The configured username (not a secret; scenarios use it to try a wrong password).
    pub fn username(&self) -> &str {
        &self.shared.username
    }

    /// How far the supplier's clock is ahead of ours, as last learned (ms).
    pub fn supplier_skew_ms(&self) -> i64 {
        self.shared.supplier_skew_ms.load(Ordering::Relaxed)
    }

    /// Calls interface `id` with logical parameters (without the token) over POST in the
    /// profile's encoding. The token is added per `token` (a token value in `params` under the
    /// token parameter's name is replaced by it, unless `Omit`). With `Auto` and no token to be
    /// had, the failed token exchange is returned instead (its interface is the token one).
    pub async fn call(&self, id: &str, params: &Map<String, Value>, token: TokenUse) -> Exchange {
        self.call_with(Method::POST, id, params, token).await
    }

    /// Like [`Client::call`] but over GET with the parameters in the query string (to test that
    /// an interface is served over POST).
    pub async fn call_get(
        &self,
        id: &str,
        params: &Map<String, Value>,
        token: TokenUse,
    ) -> Exchange {
        self.call_with(Method::GET, id, params, token).await
    }

    async fn call_with(
        &self,
        method: Method,
        id: &str,
        params: &Map<String, Value>,
        token: TokenUse,
    ) -> Exchange {
        let Some(interface) = self.shared.profile.interface(id) else {
            return self.not_sent(
                id,
                method,
                self.shared.base_url.clone(),
                format!("接口不在配置中 / unknown interface {id:?}"),
            );
        };
        // One deadline per interface that does not answer: it is not asked again in this run.
        if let Some(why) = self.timed_out_before(id) {
            let url = self.shared.base_url.clone();
            return self.not_sent(
                id,
                method,
                url,
                format!("未发送 / not sent: {id} timed out earlier in this run ({why})"),
            );
        }
        let token_value = match token {
            TokenUse::Auto if interface.auth => match self.current_token().await {
                Ok(issued) => Some(issued.value),
                Err(token_exchange) => return token_exchange,
            },
            TokenUse::Auto | TokenUse::Omit => None,
            TokenUse::Explicit(value) => {
                self.remember_secret(&value);
                Some(value)
            }
        };
        let token_param = &self.shared.profile.settings.token_param;
        let mut list: Vec<(String, Value)> = Vec::with_capacity(params.len() + 1);
        if let Some(value) = token_value {
            list.push((token_param.clone(), Value::String(value)));
        }
        // The harness speaks logical field names; the supplier gets the profile's wire names.
        let fields = &self.shared.profile.fields;
        for (name, value) in params {
            let name = fields.wire(name);
            if list.first().is_some_and(|(first, _)| first == name) {
                continue;
            }
            list.push((name.to_string(), fields.to_wire_value(value)));
        }
        match self.outgoing(interface, method, &list) {
            Ok(outgoing) => {
                let performed = self.perform(outgoing).await;
                self.record(performed)
            }
            Err(exchange) => *exchange,
        }
    }

    /// The request for `interface` with `params` (token included), in the profile's encoding.
    fn outgoing(
        &self,
        interface: &Interface,
        method: Method,
        params: &[(String, Value)],
    ) -> Result<Outgoing, Box<Exchange>> {
        let mut url = self.url_for(&interface.id, method.clone(), &interface.path)?;
        if method == Method::GET {
            let texts: Vec<(String, String)> = params
                .iter()
                .map(|(name, value)| (name.clone(), encode::value_text(value)))
                .collect();
            if !texts.is_empty() {
                url.query_pairs_mut().extend_pairs(&texts);
            }
            return Ok(Outgoing {
                interface: interface.id.clone(),
                method,
                url,
                content_type: "",
                body: None,
                params: Vec::new(),
                resource: false,
                deadline: None,
                max_body: None,
            });
        }
        let encoded = encode::encode(params, is_json(&self.shared.profile.settings));
        Ok(Outgoing {
            interface: interface.id.clone(),
            method,
            url,
            content_type: encoded.content_type,
            body: Some(encoded.body),
            params: encoded.params,
            resource: false,
            deadline: None,
            max_body: None,
        })
    }

    fn url_for(&self, interface: &str, method: Method, path: &str) -> Result<Url, Box<Exchange>> {
        if let Some(url) = self.shared.interface_urls.get(path) {
            return Ok(url.clone());
        }
        let text = join_path(&self.shared.base_url, path);
        Url::parse(&text).map_err(|e| {
            let message = format!("地址无效 / invalid URL: {e}");
            Box::new(self.not_sent(interface, method, text.clone(), message))
        })
    }

    /// A new token call with the profile's sign rule and the configured credentials. On success
    /// the token becomes the current one for `TokenUse::Auto`.
    pub async fn fetch_token(&self) -> (Exchange, Option<IssuedToken>) {
        let username = self.shared.username.clone();
        let password_md5 = self.shared.password_md5.clone();
        let (exchange, issued) = self.token_call(&username, password_md5, Tamper::None).await;
        if let Some(issued) = &issued {
            *lock(&self.token.current) = Some(issued.clone());
        }
        (exchange, issued)
    }

    /// A token call with these credentials (plain password); the token is never stored.
    pub async fn fetch_token_with(
        &self,
        username: &str,
        password: &str,
    ) -> (Exchange, Option<IssuedToken>) {
        self.token_call(username, token::md5_hex(password), Tamper::None)
            .await
    }

    /// A token call with the configured credentials but a broken sign rule (a wrong sign, or a
    /// timestamp an hour off): a supplier must refuse it. The token is never stored.
    pub async fn fetch_token_tampered(&self, tamper: Tamper) -> (Exchange, Option<IssuedToken>) {
        let username = self.shared.username.clone();
        self.token_call(&username, self.shared.password_md5.clone(), tamper)
            .await
    }

    async fn token_call(
        &self,
        username: &str,
        password_md5: String,
        tamper: Tamper,
    ) -> (Exchange, Option<IssuedToken>) {
        let profile = Arc::clone(&self.shared.profile);
        let Some(interface) = token_interface(&profile) else {
            let exchange = self.not_sent(
                "token",
                Method::POST,
                self.shared.base_url.clone(),
                "配置中没有令牌接口 / the profile has no token interface".to_string(),
            );
            return (exchange, None);
        };
        self.remember_secret(&password_md5);
        let skew = self.shared.supplier_skew_ms.load(Ordering::Relaxed);
        let skew = match tamper {
            Tamper::StaleTimestamp => skew - 3_600_000,
            _ => skew,
        };
        let timestamp = token::now_timestamp(&profile.settings, skew);
        let mut sign = token::sign(username, &password_md5, &timestamp);
        if tamper == Tamper::WrongSign {
            // The sign of another timestamp: well formed, but not this request's.
            sign = token::sign(username, &password_md5, &format!("{timestamp}0"));
        }
        let params = [
            ("username".to_string(), Value::String(username.to_string())),
            ("password".to_string(), Value::String(password_md5)),
            ("timestamp".to_string(), Value::String(timestamp)),
            ("sign".to_string(), Value::String(sign.clone())),
        ];
        // With the username and timestamp beside it, a sign allows guessing the password offline.
        self.remember_secret(&sign);
        let outgoing = match self.outgoing(interface, Method::POST, &params) {
            Ok(outgoing) => outgoing,
            Err(exchange) => return (*exchange, None),
        };
        let performed = self.perform(outgoing).await;
        let issued = performed
            .raw
            .response
            .as_ref()
            .filter(|r| !r.truncated)
            .and_then(|r| token::parse_issued(&r.body, token::now_ms()))
            .map(|mut issued| {
                let mut first_seen = lock(&self.shared.first_seen);
                issued.first_issued_ms = *first_seen
                    .entry(issued.value.clone())
                    .or_insert(issued.obtained_at_ms);
                issued
            });
        // Known before the exchange is recorded, so the token answer itself is redacted, also
        // when the answer is not a valid issue (a token behind `"success": "true"`).
        if let Some(issued) = &issued {
            self.remember_secret(&issued.value);
        } else if let Some(text) = performed
            .raw
            .response
            .as_ref()
            .and_then(|r| token::token_text(&r.body))
        {
            self.remember_secret(&text);
        }
        (self.record(performed), issued)
    }

    /// The current token for Auto use, fetching one if there is none or it has expired by its
    /// expires_at / expires_in. `Err` carries the failed token exchange.
    pub async fn current_token(&self) -> Result<IssuedToken, Exchange> {
        if let Some(issued) = self.usable_token() {
            return Ok(issued);
        }
        let _fetching = self.token.fetching.lock().await;
        // Another task may have fetched one while this one waited.
        if let Some(issued) = self.usable_token() {
            return Ok(issued);
        }
        if let Some(unanswered) = lock(&self.token.unanswered).clone() {
            return Err(unanswered);
        }
        match self.fetch_token().await {
            (exchange, Some(issued)) => {
                lock(&self.shared.unjudged_issues).push((exchange, issued.clone()));
                Ok(issued)
            }
            (exchange, None) => {
                self.note_token_exchange(&exchange);
                Err(exchange)
            }
        }
    }

    /// The token answers fetched on the way to other calls since the last time this was asked.
    pub fn take_unjudged_issues(&self) -> Vec<(Exchange, IssuedToken)> {
        std::mem::take(&mut *lock(&self.shared.unjudged_issues))
    }

    /// Remembers a token call that timed out, could not connect, had its connection closed
    /// before any answer or redirected in a loop: the token interface is then not asked again
    /// in this run.
    pub fn note_token_exchange(&self, exchange: &Exchange) {
        if matches!(
            exchange.error,
            Some(
                TransportError::Timeout { .. }
                    | TransportError::Connect { .. }
                    | TransportError::Closed { .. }
                    | TransportError::RedirectLoop { .. }
            )
        ) {
            lock(&self.token.unanswered).get_or_insert_with(|| exchange.clone());
        }
    }

    /// Why the token interface is not asked again: an earlier token call timed out or could not
    /// connect (once is enough to block what needs a token).
    pub fn token_unanswered(&self) -> Option<String> {
        lock(&self.token.unanswered)
            .as_ref()
            .and_then(|e| e.error.as_ref().map(TransportError::describe))
    }

    /// Why the supplier is taken as no longer answering ([`SILENT_AFTER`] calls in a row timed
    /// out), if it is.
    pub fn silenced(&self) -> Option<String> {
        lock(&self.shared.silenced).clone()
    }

    /// Why `interface` is not asked again: a call to it timed out earlier in this run (a second
    /// call would most likely wait out the same deadline).
    pub fn timed_out_before(&self, interface: &str) -> Option<String> {
        lock(&self.shared.timed_out).get(interface).cloned()
    }

    /// A sweep asks one interface a hundred thousand times: one call that timed out must not
    /// leave the rest unasked. After this, a timeout no longer closes its interface for the
    /// run (the caller retries and counts; the silence after [`SILENT_AFTER`] is still told).
    pub fn ask_again_after_timeouts(&self) {
        self.shared.ask_again.store(true, Ordering::Relaxed);
    }

    /// Counts a call to the supplier (resources elsewhere do not count): a timeout adds one, a
    /// whole answer starts again from none.
    fn note_answered(&self, interface: &str, raw: &RawOutcome, duration_ms: u64) {
        match (&raw.error, &raw.response) {
            (Some(error @ TransportError::Timeout { .. }), _) => {
                if !self.shared.ask_again.load(Ordering::Relaxed) {
                    lock(&self.shared.timed_out)
                        .entry(interface.to_string())
                        .or_insert_with(|| error.describe());
                }
                let in_a_row = self
                    .shared
                    .timeouts_in_a_row
                    .fetch_add(1, Ordering::Relaxed)
                    + 1;
                if in_a_row >= SILENT_AFTER {
                    lock(&self.shared.silenced).get_or_insert_with(|| {
                        format!(
                            "供应商不再应答 / the supplier stopped answering: {in_a_row} calls in a row timed out (the last, {interface}, after {duration_ms} ms); the rest is not asked"
                        )
                    });
                }
            }
            (None, Some(_)) => self.shared.timeouts_in_a_row.store(0, Ordering::Relaxed),
            _ => {}
        }
    }

    fn usable_token(&self) -> Option<IssuedToken> {
        let settings = &self.shared.profile.settings;
        lock(&self.token.current)
            .as_ref()
            .filter(|t| t.usable_at(token::now_ms(), settings))
            .cloned()
    }

    /// A token an earlier run was given first at `first_issued_ms`: if the supplier hands it out
    /// again, its 36 hours run from then, not from now.
    pub fn know_issued(&self, token: &str, first_issued_ms: u64) {
        lock(&self.shared.first_seen)
            .entry(token.to_string())
            .or_insert(first_issued_ms);
    }

    /// Forget the current token; the next Auto call fetches a new one.
    pub fn forget_token(&self) {
        *lock(&self.token.current) = None;
    }

    /// GET an absolute http(s) URL (image reachability, e-invoice download) under the same body
    /// cap, timeout and redirect rules; `purpose` becomes `exchange.interface`.
    pub async fn get(&self, url: &str, purpose: &str) -> Exchange {
        self.get_within(url, purpose, None).await
    }

    /// [`Client::get`] reading at most the first `bytes` of the body (then the connection is
    /// dropped, `truncated` is set): enough for an image's magic number, whatever its size.
    pub async fn get_prefix(&self, url: &str, purpose: &str, bytes: usize) -> Exchange {
        self.get_within(url, purpose, Some(bytes)).await
    }

    async fn get_within(&self, url: &str, purpose: &str, max_body: Option<usize>) -> Exchange {
        let parsed = match Url::parse(url.trim()) {
            Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.has_host() => {
                parsed
            }
            Ok(_) => {
                return self.not_sent(
                    purpose,
                    Method::GET,
                    url.to_string(),
                    "不是 http(s) 绝对地址 / not an absolute http(s) URL".to_string(),
                );
            }
            Err(e) => {
                return self.not_sent(
                    purpose,
                    Method::GET,
                    url.to_string(),
                    format!("地址无效 / invalid URL: {e}"),
                );
            }
        };
        let outgoing = Outgoing {
            interface: purpose.to_string(),
            method: Method::GET,
            url: parsed,
            content_type: "",
            body: None,
            params: Vec::new(),
            resource: true,
            deadline: None,
            max_body,
        };
        let performed = self.perform(outgoing).await;
        self.record(performed)
    }

    /// POST form parameters to a path under the base URL that is not an interface (the reference
    /// supplier's `/__admin/clock`); `exchange.interface` is `admin`.
    pub async fn post_path(&self, path: &str, params: &[(&str, String)]) -> Exchange {
        self.post_path_within(path, params, None).await
    }

    /// [`Client::post_path`] with a deadline of its own, at most the configured one.
    pub async fn post_path_within(
        &self,
        path: &str,
        params: &[(&str, String)],
        deadline: Option<Duration>,
    ) -> Exchange {
        let url = match self.url_for(ADMIN, Method::POST, path) {
            Ok(url) => url,
            Err(exchange) => return *exchange,
        };
        let texts: Vec<(String, String)> = params
            .iter()
            .map(|(name, value)| (name.to_string(), value.clone()))
            .collect();
        let outgoing = Outgoing {
            interface: ADMIN.to_string(),
            method: Method::POST,
            url,
            content_type: encode::FORM,
            body: Some(encode::form_urlencode(&texts).into_bytes()),
            params: texts,
            resource: false,
            deadline,
            max_body: None,
        };
        let performed = self.perform(outgoing).await;
        self.record(performed)
    }

    fn next_id(&self) -> u64 {
        self.shared.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn remember_secret(&self, value: &str) {
        if value.len() < redact::MIN_SEARCHED_LEN {
            return;
        }
        let mut known = lock(&self.shared.known_secrets);
        // However a supplier echoes it: as sent, in the other case (hex), URL-encoded, JSON-escaped.
        let before = known.len();
        for form in redact::forms(value) {
            if !known.contains(&form) {
                known.push(form);
            }
        }
        if known.len() != before {
            // Under the lock of the list, so that the searchable set is never older than it.
            let secrets = redact::Secrets::new(known.iter().cloned());
            *lock(&self.shared.searchable) = Arc::new(secrets);
        }
    }

    async fn perform(&self, mut outgoing: Outgoing) -> Performed {
        let id = self.next_id();
        let started_at_ms = token::now_ms();
        let started = Instant::now();
        let deadline = started
            + outgoing
                .deadline
                .map_or(self.shared.timeout, |d| d.min(self.shared.timeout));
        let http = if outgoing.resource {
            &self.shared.http_resources
        } else {
            &self.shared.http
        };
        let mut builder = http.request(outgoing.method.clone(), outgoing.url.clone());
        // The body is sent, not recorded (the record keeps the parameters): no copy of it.
        if let Some(body) = outgoing.body.take() {
            builder = builder
                .header(reqwest::header::CONTENT_TYPE, outgoing.content_type)
                .body(body);
        }
        let raw = match builder.build() {
            Ok(request) => {
                let limits = transport::Limits {
                    deadline,
                    max_body: outgoing.max_body.map_or(self.shared.max_body_bytes, |cap| {
                        cap.min(self.shared.max_body_bytes)
                    }),
                    any_origin: outgoing.resource,
                };
                transport::execute(http, request, started, limits).await
            }
            Err(e) => RawOutcome {
                response: None,
                error: Some(TransportError::InvalidRequest {
                    message: e.to_string(),
                }),
            },
        };
        Performed {
            id,
            outgoing,
            raw,
            started_at_ms,
            duration_ms: elapsed_ms(started),
        }
    }

    /// An exchange for a call of `interface` the harness itself could not make.
    pub(crate) fn internal_failure(&self, interface: &str, message: String) -> Exchange {
        let url = self.shared.base_url.clone();
        self.not_sent(interface, Method::POST, url, message)
    }

    /// An exchange for a request that could not be sent at all.
    fn not_sent(&self, interface: &str, method: Method, url: String, message: String) -> Exchange {
        let secrets = self.searchable_secrets();
        let url = match Url::parse(&url) {
            Ok(parsed) => {
                recorded_url(parsed, &self.shared.profile.settings.token_param).to_string()
            }
            Err(_) => url,
        };
        Exchange {
            id: self.next_id(),
            interface: interface.to_string(),
            request: RecordedRequest {
                method: method.to_string(),
                url: redact::text(&url, &secrets),
                content_type: String::new(),
                params: Vec::new(),
            },
            response: None,
            error: Some(TransportError::InvalidRequest {
                message: redact::text(&message, &secrets),
            }),
            started_at_ms: token::now_ms(),
            duration_ms: 0,
        }
    }

    fn searchable_secrets(&self) -> Arc<redact::Secrets> {
        Arc::clone(&lock(&self.shared.searchable))
    }

    /// The exchange of `performed`, with every secret masked: by parameter name, and every known
    /// secret value wherever it appears (URL, parameters, headers, body, error messages).
    fn record(&self, performed: Performed) -> Exchange {
        let secrets = self.searchable_secrets();
        let token_param = &self.shared.profile.settings.token_param;
        let Performed {
            id,
            outgoing,
            raw,
            started_at_ms,
            duration_ms,
        } = performed;
        if !outgoing.resource {
            self.note_answered(&outgoing.interface, &raw, duration_ms);
        }
        let params = outgoing
            .params
            .into_iter()
            .map(|(name, value)| {
                let value = if redact::is_secret_name(&name, token_param) {
                    MASK.to_string()
                } else {
                    redact::owned(value, &secrets)
                };
                (name, value)
            })
            .collect();
        let url = redact::text(recorded_url(outgoing.url, token_param).as_str(), &secrets);
        let response = raw.response.map(
            |RawResponse {
                 status,
                 headers,
                 body,
                 truncated,
             }| RecordedResponse {
                status,
                headers: headers
                    .into_iter()
                    .map(|(name, value)| (name, redact::owned(value, &secrets)))
                    .collect(),
                body: redact::bytes(body, &secrets),
                truncated,
                full_body: None,
            },
        );
        let error = raw.error.map(|e| redact_error(e, &secrets));
        Exchange {
            id,
            interface: outgoing.interface,
            request: RecordedRequest {
                method: outgoing.method.to_string(),
                url,
                content_type: outgoing.content_type.to_string(),
                params,
            },
            response,
            error,
            started_at_ms,
            duration_ms,
        }
    }
}

/// The base URL and a path under it.
fn join_path(base_url: &str, path: &str) -> String {
    if path.starts_with('/') {
        format!("{base_url}{path}")
    } else {
        format!("{base_url}/{path}")
    }
}

fn token_interface(profile: &Profile) -> Option<&Interface> {
    profile
        .interface("token")
        .or_else(|| profile.interfaces.iter().find(|i| !i.auth))
}

/// The URL for the record: no userinfo password, secret query parameters masked.
fn recorded_url(mut url: Url, token_param: &str) -> Url {
    if url.password().is_some() {
        let _ = url.set_password(Some(MASK));
    }
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(name, value)| {
                let value = if redact::is_secret_name(&name, token_param) {
                    MASK.to_string()
                } else {
                    value.into_owned()
                };
                (name.into_owned(), value)
            })
            .collect();
        if !pairs.is_empty() {
            url.query_pairs_mut().clear().extend_pairs(&pairs);
        }
    }
    url
}

fn redact_error(error: TransportError, secrets: &redact::Secrets) -> TransportError {
    match error {
        TransportError::Connect { message } => TransportError::Connect {
            message: redact::text(&message, secrets),
        },
        TransportError::Tls { message } => TransportError::Tls {
            message: redact::text(&message, secrets),
        },
        TransportError::Read { message } => TransportError::Read {
            message: redact::text(&message, secrets),
        },
        TransportError::Closed { message } => TransportError::Closed {
            message: redact::text(&message, secrets),
        },
        TransportError::RedirectLoop { location, hops } => TransportError::RedirectLoop {
            location: redact::text(&location, secrets),
            hops,
        },
        TransportError::InvalidRequest { message } => TransportError::InvalidRequest {
            message: redact::text(&message, secrets),
        },
        TransportError::Redirect { location } => TransportError::Redirect {
            location: redact::text(&location, secrets),
        },
        timeout @ TransportError::Timeout { .. } => timeout,
    }
}

/// The base URL without its trailing slash, if it is an absolute http(s) URL with a host and no
/// query or fragment (interface paths are appended to it).
fn check_base_url(text: &str) -> Result<String, ClientError> {
    let bad = |reason: &str| ClientError::BadBaseUrl {
        url: text.to_string(),
        reason: reason.to_string(),
    };
    let url = Url::parse(text.trim()).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("需要 http 或 https / must be http or https"));
    }
    if !url.has_host() {
        return Err(bad("缺少主机 / no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("不能带查询或片段 / must not have a query or fragment"));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}
