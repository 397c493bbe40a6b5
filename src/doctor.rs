//! `mallcheck doctor`: what stands between the user and a first run, checked in the order a
//! call meets it (config, the base URL's shape, DNS, the connection, TLS, credentials, the token
//! call, the clock), each problem with what to do about it. Nothing here judges the supplier:
//! these are the user's set-up and the way to it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::client::{Client, ClientConfig};
use crate::config::Config;
use crate::exchange::TransportError;
use crate::profile::Profile;

/// How far the supplier's clock may be from ours before the signed timestamp is at risk.
const CLOCK_WARN_SECONDS: i64 = 60;
const NETWORK_DEADLINE: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Ok,
    /// Works, but something deserves a look.
    Warn,
    /// A run would fail or prove nothing until it is fixed.
    Problem,
}

/// A text in both languages, and data shown after it in either (a host, an error, a desc).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Said {
    pub zh: String,
    pub en: String,
    pub data: String,
}

impl Said {
    fn new(zh: impl Into<String>, en: impl Into<String>) -> Said {
        Said {
            zh: zh.into(),
            en: en.into(),
            data: String::new(),
        }
    }

    /// Data alone: the same in both languages.
    fn data(data: impl Into<String>) -> Said {
        Said {
            data: data.into(),
            ..Said::default()
        }
    }

    fn with(mut self, data: impl Into<String>) -> Said {
        self.data = data.into();
        self
    }

    /// In one language, or both (`中文 English`) without one; the data after it.
    pub fn render(&self, lang: Option<crate::events::Lang>) -> String {
        let words = match lang {
            None if self.zh == self.en => self.zh.clone(),
            _ => crate::lang::tr(&self.zh, &self.en, lang),
        };
        [words.trim(), self.data.as_str()]
            .into_iter()
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// One thing checked.
#[derive(Debug, Clone)]
pub struct Probe {
    /// What was checked.
    pub what: Said,
    pub health: Health,
    pub detail: Said,
    /// What to do about it, when something is wrong.
    pub fix: Option<Said>,
}

impl Probe {
    fn ok(what: (&str, &str), detail: Said) -> Probe {
        Probe {
            what: Said::new(what.0, what.1),
            health: Health::Ok,
            detail,
            fix: None,
        }
    }

    fn problem(what: (&str, &str), detail: Said, fix: Said) -> Probe {
        Probe {
            what: Said::new(what.0, what.1),
            health: Health::Problem,
            detail,
            fix: Some(fix),
        }
    }

    fn warn(what: (&str, &str), detail: Said, fix: Said) -> Probe {
        Probe {
            health: Health::Warn,
            ..Probe::problem(what, detail, fix)
        }
    }
}

const CONFIG: (&str, &str) = ("配置", "config");
const PROFILE: (&str, &str) = ("协议配置", "profile");
const TARGET: (&str, &str) = ("目标", "target");
const BASE_URL: (&str, &str) = ("地址", "base URL");
const DNS: (&str, &str) = ("域名解析", "DNS");
const CONNECTION: (&str, &str) = ("连接", "connection");
const CREDENTIALS: (&str, &str) = ("凭据", "credentials");
const CLIENT: (&str, &str) = ("客户端", "client");
const TOKEN: (&str, &str) = ("token", "token");
const CLOCK: (&str, &str) = ("时钟", "clock");

pub struct DoctorArgs {
    pub target: Option<String>,
    pub config: Option<std::path::PathBuf>,
}

/// Every probe, in order; the later ones are left out once one fails that they depend on.
pub async fn examine(profile: Profile, args: &DoctorArgs) -> Vec<Probe> {
    let mut probes = Vec::new();
    let config = match Config::load(args.config.as_deref()) {
        Ok(config) => {
            let source = args
                .config
                .as_ref()
                .map(|p| p.display().to_string())
                .or_else(|| {
                    std::path::Path::new(crate::config::DEFAULT_FILE)
                        .is_file()
                        .then(|| crate::config::DEFAULT_FILE.to_string())
                })
                .map(Said::data)
                .unwrap_or_else(|| {
                    Said::new(
                        "默认值（此处没有 mallcheck.toml）",
                        "defaults (no mallcheck.toml here)",
                    )
                });
            probes.push(Probe::ok(CONFIG, source));
            config
        }
        Err(e) => {
            probes.push(Probe::problem(
                CONFIG,
                Said::data(e.to_string()),
                Said::new(
                    "修正上面指出的键；`mallcheck init` 可写出带注释的 mallcheck.toml",
                    "fix the key named above; `mallcheck init` writes a commented mallcheck.toml",
                ),
            ));
            return probes;
        }
    };
    if let Err(e) = crate::checks::validate_profile(&profile) {
        probes.push(Probe::problem(
            PROFILE,
            Said::data(e),
            Said::new(
                "修正 --profile 指定的目录",
                "fix the profile folder given with --profile",
            ),
        ));
        return probes;
    }
    let Some(raw) = args.target.clone().or_else(|| config.target.clone()) else {
        probes.push(Probe::warn(
            TARGET,
            Said::new("未设置供应商地址", "no target set"),
            Said::new(
                "用 --target URL 或 mallcheck.toml 中的 target = 指定（不指定时 `mallcheck run` 测试内置参考供应商）",
                "pass --target URL or set target = in mallcheck.toml (without one, `mallcheck run` tests the embedded reference supplier)",
            ),
        ));
        return probes;
    };
    let base = match crate::target::check_base_url(&raw, &profile) {
        Ok(base) => {
            probes.push(Probe::ok(
                BASE_URL,
                Said::data(crate::target::without_password(&base)),
            ));
            base
        }
        Err(message) => {
            probes.push(Probe::problem(
                BASE_URL,
                Said::data(message),
                Said::new("按上述提示修正 --target", "fix --target as said"),
            ));
            return probes;
        }
    };
    let Ok(url) = url::Url::parse(&base) else {
        return probes;
    };
    let host = url.host_str().unwrap_or_default().to_string();
    let port = url.port_or_known_default().unwrap_or(80);

    // DNS, then a plain TCP connection: the two failures people confuse with a broken supplier.
    let lookup = tokio::time::timeout(
        NETWORK_DEADLINE,
        tokio::net::lookup_host((host.trim_matches(['[', ']']), port)),
    )
    .await;
    let addresses: Vec<std::net::SocketAddr> = match lookup {
        Ok(Ok(found)) => found.collect(),
        Ok(Err(e)) => {
            probes.push(Probe::problem(
                DNS,
                Said::data(format!("{host}: {e}")),
                Said::new(
                    "检查主机名拼写、DNS 或代理",
                    "check the host name's spelling, the DNS and any proxy",
                ),
            ));
            return probes;
        }
        Err(_) => {
            probes.push(Probe::problem(
                DNS,
                within(NETWORK_DEADLINE).with(host.clone()),
                Said::new("检查 DNS 设置", "check the DNS settings"),
            ));
            return probes;
        }
    };
    let Some(address) = addresses.first().copied() else {
        probes.push(Probe::problem(
            DNS,
            Said::new("没有地址", "no address").with(host.clone()),
            Said::new("检查该主机的 DNS 记录", "check the host's DNS records"),
        ));
        return probes;
    };
    probes.push(Probe::ok(
        DNS,
        Said::data(format!("{host} → {}", address.ip())),
    ));
    let started = Instant::now();
    match tokio::time::timeout(NETWORK_DEADLINE, tokio::net::TcpStream::connect(address)).await {
        Ok(Ok(_)) => probes.push(Probe::ok(
            CONNECTION,
            Said::data(format!("{address}, {} ms", started.elapsed().as_millis())),
        )),
        Ok(Err(e)) => {
            probes.push(Probe::problem(
                CONNECTION,
                Said::data(format!("{address}: {e}")),
                Said::new(
                    format!("确认供应商在端口 {port} 上运行，且防火墙放行"),
                    format!("make sure the supplier listens on port {port} and no firewall is in the way"),
                ),
            ));
            return probes;
        }
        Err(_) => {
            probes.push(Probe::problem(
                CONNECTION,
                within(NETWORK_DEADLINE).with(address.to_string()),
                Said::new(
                    "检查本机与供应商之间的网络、防火墙或 VPN",
                    "check the network, firewall or VPN between here and the supplier",
                ),
            ));
            return probes;
        }
    }

    let Some(credentials) = config.credentials(None) else {
        let (user, password) = (
            &config.credentials.username_env,
            &config.credentials.password_env,
        );
        probes.push(Probe::problem(
            CREDENTIALS,
            Said::new("未设置", "not set"),
            Said::new(
                format!("设置环境变量 {user} 和 {password}（或 mallcheck.toml 的 [credentials]）"),
                format!("set {user} and {password} (or [credentials] in mallcheck.toml)"),
            ),
        ));
        return probes;
    };
    let source = if std::env::var(&config.credentials.password_env).is_ok_and(|v| !v.is_empty()) {
        config.credentials.password_env.clone()
    } else {
        "mallcheck.toml".into()
    };
    probes.push(Probe::ok(
        CREDENTIALS,
        Said::new(
            format!("用户名 {:?}，密码来自 {source}", credentials.username),
            format!(
                "username {:?}, password from {source}",
                credentials.username
            ),
        ),
    ));
    let client = match Client::new(
        Arc::new(profile),
        ClientConfig {
            base_url: base.clone(),
            username: credentials.username,
            password: credentials.password,
            timeout: Duration::from_secs(config.timeout_seconds.clamp(1, 30)),
            max_body_bytes: 1024 * 1024,
        },
    ) {
        Ok(client) => client,
        Err(e) => {
            probes.push(Probe::problem(
                CLIENT,
                Said::data(e.to_string()),
                Said::new("检查 --target", "check --target"),
            ));
            return probes;
        }
    };
    let sent_ms = now_ms();
    let (exchange, issued) = client.fetch_token().await;
    let token_path = client
        .profile()
        .interface("token")
        .map(|i| i.path.clone())
        .unwrap_or_default();
    let vars = format!(
        "{} / {}",
        config.credentials.username_env, config.credentials.password_env
    );
    probes.push(match (&exchange.error, &exchange.response, &issued) {
        (_, _, Some(token)) => Probe::ok(
            TOKEN,
            Said::new("已获取", "issued").with(
                token
                    .expires_at
                    .as_ref()
                    .map(|e| format!("expires_at {e}"))
                    .unwrap_or_default(),
            ),
        ),
        (Some(error), _, _) => Probe::problem(
            TOKEN,
            Said::data(error.describe()),
            transport_fix(error, &url),
        ),
        (None, Some(response), None) => {
            let answer = exchange.answer();
            let desc = answer
                .as_ref()
                .and_then(|a| a.get("desc"))
                .and_then(|d| d.as_str())
                .unwrap_or_default()
                .to_string();
            if answer.is_none() {
                let kind = if exchange.body_text().trim_start().starts_with('<') {
                    "an HTML page"
                } else {
                    "no JSON"
                };
                let base = crate::target::without_password(&base);
                Probe::problem(
                    TOKEN,
                    Said::data(format!(
                        "HTTP {} with {kind} at {}",
                        response.status, exchange.request.url
                    )),
                    Said::new(
                        format!("token 接口应在 {base}{token_path}：检查基础地址，或供应商前面的网关、登录页"),
                        format!("the token interface should answer at {base}{token_path}: check the base URL, or a gateway or login page in front of the supplier"),
                    ),
                )
            } else {
                Probe::problem(
                    TOKEN,
                    Said::new("供应商拒绝", "refused")
                        .with(format!("desc {desc:?} (HTTP {})", response.status)),
                    Said::new(
                        format!("检查凭据 {vars}（用户名、明文密码；只发送其 md5）；若 desc 提到时间，见下面的时钟"),
                        format!("check the credentials in {vars} (username, plain password: only its md5 is sent); if desc speaks of time, see the clock below"),
                    ),
                )
            }
        }
        (None, None, None) => Probe::problem(
            TOKEN,
            Said::new("无回答", "no answer"),
            Said::new("重试", "try again"),
        ),
    });

    // The sign carries a timestamp the supplier checks against its clock.
    let date = exchange
        .response
        .as_ref()
        .and_then(|r| r.header("date"))
        .and_then(|d| chrono::DateTime::parse_from_rfc2822(d).ok());
    match date {
        Some(date) => {
            let midpoint = sent_ms + exchange.duration_ms / 2;
            let offset_s = (date.timestamp_millis() - midpoint as i64) / 1000;
            if offset_s.abs() > CLOCK_WARN_SECONDS {
                probes.push(Probe::warn(
                    CLOCK,
                    Said::new(
                        format!("供应商时钟与本机相差 {offset_s:+} 秒"),
                        format!("the supplier's clock is {offset_s:+} s from this machine's"),
                    ),
                    Said::new(
                        "签名中的时间戳可能被拒绝（TOK-TIMESTAMP-WINDOW）：用 NTP 同步时钟",
                        "the signed timestamp may be refused (TOK-TIMESTAMP-WINDOW): sync the clocks with NTP",
                    ),
                ));
            } else {
                probes.push(Probe::ok(
                    CLOCK,
                    Said::new(
                        format!("与本机相差 {offset_s:+} 秒（Date 头）"),
                        format!("{offset_s:+} s from this machine's (Date header)"),
                    ),
                ));
            }
        }
        None if exchange.response.is_some() => probes.push(Probe::warn(
            CLOCK,
            Said::new(
                "回答没有 Date 头，无法比较",
                "the answer has no Date header: the offset is not known",
            ),
            Said::new(
                "确认本机时钟准确（NTP）",
                "make sure this machine's clock is right (NTP)",
            ),
        )),
        None => {}
    }
    probes
}

/// What to try for a transport error of the token call.
fn transport_fix(error: &TransportError, url: &url::Url) -> Said {
    match error {
        TransportError::Tls { .. } if url.scheme() == "https" => {
            let mut plain = url.clone();
            let _ = plain.set_scheme("http");
            if plain.password().is_some() {
                let _ = plain.set_password(Some(crate::exchange::MASKED));
            }
            let plain = plain.as_str().trim_end_matches('/').to_string();
            Said::new(
                format!("该端口可能是普通 HTTP：试试 {plain}"),
                format!("this port may speak plain HTTP: try {plain}"),
            )
        }
        TransportError::Tls { .. } => {
            Said::new("检查供应商的证书", "check the supplier's certificate")
        }
        TransportError::Timeout { .. } => Said::new(
            "供应商未在时限内回答：检查其前面的网关，或用 --timeout 放宽",
            "the supplier did not answer in time: check a gateway in front of it, or allow more with --timeout",
        ),
        TransportError::Closed { .. } => Said::new(
            "连接被关闭：若该端口是 HTTPS，请用 https://",
            "the connection was closed: if this port speaks TLS, use https://",
        ),
        TransportError::Redirect { .. } | TransportError::RedirectLoop { .. } => Said::new(
            "基础地址被重定向：使用重定向后的地址",
            "the base URL is redirected: use the address it redirects to",
        ),
        _ => Said::new("检查 --target 与网络", "check --target and the network"),
    }
}

/// "No answer within N s", in both languages.
fn within(deadline: Duration) -> Said {
    Said::new(
        format!("{} 秒内没有回答", deadline.as_secs()),
        format!("no answer within {} s", deadline.as_secs()),
    )
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
