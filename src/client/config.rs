//! How the client is set up: the target, the credentials and the limits of every call.

use std::time::Duration;

/// Per call, the whole call including the body.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);
/// The most body bytes kept of one answer; the rest is not read.
pub const DEFAULT_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// The supplier to call and with what. The password is kept in plain text only until the client
/// is built; the client keeps its md5 form, which is what travels.
#[derive(Clone)]
pub struct ClientConfig {
    /// e.g. `http://127.0.0.1:38217` or `https://supplier.example.cn/mall`; interface paths are
    /// appended to it.
    pub base_url: String,
    pub username: String,
    /// Plain text; never travels: the wire carries md5(password).
    pub password: String,
    /// Per call, whole call including the body.
    pub timeout: Duration,
    /// The most body bytes kept of one answer.
    pub max_body_bytes: usize,
}

impl ClientConfig {
    /// A configuration with the default timeout (20 s) and body cap (8 MiB).
    pub fn new(
        base_url: impl Into<String>,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> ClientConfig {
        ClientConfig {
            base_url: base_url.into(),
            username: username.into(),
            password: password.into(),
            timeout: DEFAULT_TIMEOUT,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

// By hand so that the password never reaches a log.
impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &self.base_url)
            .field("username", &self.username)
            .field("password", &"***")
            .field("timeout", &self.timeout)
            .field("max_body_bytes", &self.max_body_bytes)
            .finish()
    }
}

/// Why a client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("供应商地址无效 invalid supplier base URL {url:?}: {reason}")]
    BadBaseUrl { url: String, reason: String },
    #[error("无法创建 HTTP 客户端 cannot build the HTTP client: {message}")]
    Build { message: String },
}
