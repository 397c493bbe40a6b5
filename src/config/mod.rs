//! `mallcheck.toml` and its environment overrides. Every key is optional; the defaults test the
//! embedded reference supplier. Credentials come from the environment (or the file), never from
//! the command line, so they stay out of shell history and CI logs.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What `environment` may say: `test` lets order scenarios run against the target.
pub const ENVIRONMENTS: [&str; 2] = ["test", "production"];

/// The file looked for in the working folder when `--config` is not given.
pub const DEFAULT_FILE: &str = "mallcheck.toml";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Base URL of the supplier; absent = the embedded reference supplier.
    pub target: Option<String>,
    /// `test` lets scenarios tagged `orders` run against this target; anything else keeps them skipped
    /// unless `--allow-orders` is given.
    pub environment: Option<String>,
    pub timeout_seconds: u64,
    pub max_body_mib: u64,
    /// Body bytes a report keeps of each exchange (KiB), with the size and SHA-256 of the whole.
    pub evidence_kib: u64,
    /// Values in one answer (array items and object members, nested ones too) beyond which it
    /// is not parsed: its checks are not judged, and the row says so.
    pub max_answer_items: u64,
    /// Nesting of arrays and objects in one answer beyond which it is not parsed.
    pub max_answer_depth: u64,
    /// The whole run (`--max-time`): when it runs out, the run stops, cancels its orders and
    /// reports as interrupted.
    pub max_time_seconds: u64,
    pub jobs: usize,
    pub image_concurrency: usize,
    /// Stock interface answers slower than this are reported (STK-REALTIME).
    pub stock_latency_ms: u64,
    pub credentials: CredentialSources,
    pub test_data: TestData,
    pub orders: OrdersConfig,
    /// What the supplier says it implements and how it departs from the default profile.
    pub declaration: Declaration,
}

/// The supplier's declaration (the role of a conformance suite's discovery file): the optional
/// interfaces it implements, the variant profile it follows, the deviations it claims. The run
/// tests what is declared; an optional interface left out is shown as not implemented, never
/// as failed, and is out of the optional set's verdict.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Declaration {
    /// The supplier's name, shown in reports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supplier: Option<String>,
    /// Ids of the optional interfaces it implements (`mallcheck list`); absent: all of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optional: Option<Vec<String>>,
    /// The `[profile] name` it follows (`profiles/jd-style` is `jd-style`); the run refuses
    /// another profile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Departures from the standard it claims; listed in the reports, judged all the same.
    pub deviations: Vec<crate::events::Deviation>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            target: None,
            environment: None,
            timeout_seconds: 20,
            max_body_mib: 8,
            evidence_kib: 64,
            max_answer_items: crate::checks::AnswerLimits::default().max_items,
            max_answer_depth: crate::checks::AnswerLimits::default().max_depth,
            max_time_seconds: 1800,
            jobs: 4,
            image_concurrency: 8,
            stock_latency_ms: 2000,
            credentials: CredentialSources::default(),
            test_data: TestData::default(),
            orders: OrdersConfig::default(),
            declaration: Declaration::default(),
        }
    }
}

/// How long the order scenarios wait for what a supplier does on its own schedule (shipping,
/// delivery, verifying a transfer) when no admin clock can move it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OrdersConfig {
    /// The longest wait for one order event; what has not happened by then is not judged.
    pub wait_seconds: u64,
    /// The first pause between two polls; each later pause is half as long again (at most 30 s).
    pub poll_seconds: f64,
    /// Guards on every pre-order sent to a target other than the embedded supplier (with
    /// `test_data.order_skus`, the SKUs an order may hold), checked before it is written down or
    /// sent; a call beyond them is not sent, and what needed it is not judged. Most units of one
    /// SKU in an order meant to be accepted.
    pub max_quantity: u64,
    /// Highest `order_price` of an order meant to be accepted, in yuan.
    pub max_amount: f64,
    /// Most pre-orders one run may send.
    pub max_orders: u64,
}

impl Default for OrdersConfig {
    fn default() -> OrdersConfig {
        OrdersConfig {
            wait_seconds: 300,
            poll_seconds: 1.0,
            max_quantity: 100,
            max_amount: 100_000.0,
            max_orders: 100,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CredentialSources {
    /// Environment variable holding the username.
    pub username_env: String,
    /// Environment variable holding the password (plain text; only its md5 travels).
    pub password_env: String,
    /// A username written in the file (the environment variable wins).
    pub username: Option<String>,
    /// A password written in the file: discouraged, prefer the environment variable.
    pub password: Option<String>,
}

impl Default for CredentialSources {
    fn default() -> CredentialSources {
        CredentialSources {
            username_env: "MALLCHECK_USERNAME".into(),
            password_env: "MALLCHECK_PASSWORD".into(),
            username: None,
            password: None,
        }
    }
}

/// The data scenarios use for orders and area queries (`${config.test_data.…}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TestData {
    /// Area ids of the delivery address and of stock queries. Unset (the default), they are the
    /// supplier's own ids, found by name through its area interfaces (`province_name`, the first
    /// city, `county_name`): suppliers number areas their own way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub county: Option<String>,
    pub province_name: String,
    pub county_name: String,
    pub address: String,
    pub name: String,
    pub mobile: String,
    pub zip: String,
    pub email: String,
    pub invoice_type: u8,
    pub invoice_title: String,
    pub invoice_org_code: String,
    pub payment: u8,
    /// SKUs the harness may order; empty = choose on-shelf SKUs with stock from the catalogue.
    pub order_skus: Vec<String>,
}

impl Default for TestData {
    fn default() -> TestData {
        TestData {
            province: None,
            city: None,
            county: None,
            province_name: "天津".into(),
            county_name: "和平区".into(),
            address: "天津市和平区南京路 1 号 mallcheck 测试地址".into(),
            name: "测试收货人".into(),
            mobile: "13800000000".into(),
            zip: "300041".into(),
            email: "mallcheck@example.cn".into(),
            invoice_type: 1,
            invoice_title: "天津市政府采购中心测试单位".into(),
            invoice_org_code: "12120000MB0000000X".into(),
            payment: 2,
            order_skus: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("无法读取配置文件 {path}：{source} / config file {path}: cannot read: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: String, message: String },
    #[error("environment variable {name}: {message}")]
    Env { name: String, message: String },
}

/// Plain-text credentials, resolved from the environment or the file.
#[derive(Clone)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"***")
            .finish()
    }
}

impl Config {
    /// Reads `path` if given (it must exist), else `mallcheck.toml` if present, else defaults;
    /// then applies `MALLCHECK_TARGET`, `MALLCHECK_ENVIRONMENT`, `MALLCHECK_TIMEOUT_SECONDS`.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let file: Option<PathBuf> = match path {
            Some(p) => Some(p.to_path_buf()),
            None => Some(PathBuf::from(DEFAULT_FILE)).filter(|p| p.is_file()),
        };
        let mut config = match file {
            None => Config::default(),
            Some(file) => {
                let text = std::fs::read_to_string(&file).map_err(|source| ConfigError::Read {
                    path: file.display().to_string(),
                    source,
                })?;
                toml::from_str(&text).map_err(|e| ConfigError::Parse {
                    path: file.display().to_string(),
                    message: e.to_string().trim_end().to_string(),
                })?
            }
        };
        if let Ok(target) = std::env::var("MALLCHECK_TARGET")
            && !target.is_empty()
        {
            config.target = Some(target);
        }
        if let Ok(environment) = std::env::var("MALLCHECK_ENVIRONMENT")
            && !environment.is_empty()
        {
            config.environment = Some(environment);
        }
        if let Ok(timeout) = std::env::var("MALLCHECK_TIMEOUT_SECONDS") {
            config.timeout_seconds = timeout.parse().map_err(|_| ConfigError::Env {
                name: "MALLCHECK_TIMEOUT_SECONDS".into(),
                message: format!("not a whole number of seconds: {timeout:?}"),
            })?;
        }
        config.validate().map_err(|message| ConfigError::Parse {
            path: match (path, Path::new(DEFAULT_FILE).is_file()) {
                (Some(p), _) => p.display().to_string(),
                (None, true) => DEFAULT_FILE.into(),
                (None, false) => "environment".into(),
            },
            message,
        })?;
        Ok(config)
    }

    /// Values outside their allowed sets, each named with what it may be (a typo such as
    /// `environment = "tset"` would otherwise pass silently and change what a run does).
    pub fn validate(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        if let Some(environment) = &self.environment
            && !ENVIRONMENTS.contains(&environment.as_str())
        {
            problems.push(format!(
                "environment = {environment:?}: 只能是 {0}（\"test\" 允许下单场景） / must be one of {0} (\"test\" lets order scenarios run)",
                ENVIRONMENTS.join(", ")
            ));
        }
        let at_least_one = [
            ("timeout_seconds", self.timeout_seconds),
            ("max_body_mib", self.max_body_mib),
            ("evidence_kib", self.evidence_kib),
            ("max_answer_items", self.max_answer_items),
            ("max_answer_depth", self.max_answer_depth),
            ("max_time_seconds", self.max_time_seconds),
            ("jobs", self.jobs as u64),
            ("image_concurrency", self.image_concurrency as u64),
        ];
        // 0 is a guard of its own for the [orders] limits (no order at all, none accepted).
        for (key, value) in at_least_one {
            if value == 0 {
                problems.push(format!("{key} = 0: 至少为 1 / must be at least 1"));
            }
        }
        if self.jobs > 64 {
            problems.push(format!(
                "jobs = {}: 至多 64 / must be at most 64",
                self.jobs
            ));
        }
        if !(self.orders.poll_seconds.is_finite() && self.orders.poll_seconds > 0.0) {
            problems.push(format!(
                "orders.poll_seconds = {}: 必须大于 0 / must be above 0",
                self.orders.poll_seconds
            ));
        }
        if !(self.orders.max_amount.is_finite() && self.orders.max_amount >= 0.0) {
            problems.push(format!(
                "orders.max_amount = {}: 不能为负 / must not be negative",
                self.orders.max_amount
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    /// The parsing bounds of one answer (`max_answer_items`, `max_answer_depth`).
    pub fn answer_limits(&self) -> crate::checks::AnswerLimits {
        crate::checks::AnswerLimits {
            max_items: self.max_answer_items,
            max_depth: self.max_answer_depth,
        }
    }

    pub fn is_test_environment(&self) -> bool {
        self.environment.as_deref() == Some("test")
    }

    /// Credentials from the environment variables, else the file, else `fallback` (the embedded
    /// supplier's own); `None` when neither gives both.
    pub fn credentials(&self, fallback: Option<Credentials>) -> Option<Credentials> {
        let from_env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let username =
            from_env(&self.credentials.username_env).or_else(|| self.credentials.username.clone());
        let password =
            from_env(&self.credentials.password_env).or_else(|| self.credentials.password.clone());
        match (username, password) {
            (Some(username), Some(password)) => Some(Credentials { username, password }),
            _ => fallback,
        }
    }
}
