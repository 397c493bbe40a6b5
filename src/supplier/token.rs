//! Access tokens (2.2): credential check and a store of issued tokens with their expiry on the
//! supplier clock.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError, RwLock};

use super::clock::Instant;
use super::rng::MixState;

/// How far a token request's timestamp may be off the supplier clock.
pub const TIMESTAMP_TOLERANCE_SECONDS: i64 = 600;

/// lower-hex md5 of a text.
pub fn md5_hex(text: &str) -> String {
    format!("{:x}", md5::compute(text.as_bytes()))
}

/// sign = md5(username + md5(password) + timestamp + md5(password)), lower hex.
pub fn sign(username: &str, password_md5: &str, timestamp: &str) -> String {
    md5_hex(&format!(
        "{username}{password_md5}{timestamp}{password_md5}"
    ))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    Valid,
    Expired,
    Unknown,
}

#[derive(Debug, Default)]
pub struct TokenStore {
    expiries: RwLock<HashMap<String, Instant, MixState>>,
    issued: AtomicU64,
    /// The last token issued and its expiry (what `reissue` hands out again).
    last: Mutex<Option<(String, Instant)>>,
}

impl TokenStore {
    /// Issues a fresh token valid until `expires_at`.
    fn issue(&self, seed: u64, now: Instant, expires_at: Instant) -> String {
        let serial = self.issued.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let token = md5_hex(&format!("{seed}:{serial}:{now}:{nanos}"));
        let mut expiries = self
            .expiries
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        // Forget tokens long expired, so that a long run of token calls does not grow the map.
        if serial % 1024 == 1023 {
            expiries.retain(|_, expiry| *expiry > now - 86_400);
        }
        expiries.insert(token.clone(), expires_at);
        token
    }

    /// The token for a token request and its expiry. With `reissue`, the last token issued is
    /// handed out again, with its own expiry, for as long as it is valid (as some suppliers'
    /// test environments do); otherwise, or once it has expired, a fresh one valid until
    /// `expires_at`.
    pub fn issue_or_reissue(
        &self,
        seed: u64,
        now: Instant,
        expires_at: Instant,
        reissue: bool,
    ) -> (String, Instant) {
        // Held across the issue, so that concurrent requests agree on one token.
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        if reissue
            && let Some((token, expiry)) = last.as_ref()
            && now < *expiry
        {
            return (token.clone(), *expiry);
        }
        let token = self.issue(seed, now, expires_at);
        *last = Some((token.clone(), expires_at));
        (token, expires_at)
    }

    pub fn check(&self, token: &str, now: Instant) -> TokenState {
        let expiries = self.expiries.read().unwrap_or_else(PoisonError::into_inner);
        match expiries.get(token) {
            Some(expiry) if now < *expiry => TokenState::Valid,
            Some(_) => TokenState::Expired,
            None => TokenState::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_is_md5_of_the_concatenation() {
        let password = md5_hex("tjmall-test");
        assert_eq!(password.len(), 32);
        assert_eq!(
            sign("tjmall", &password, "2026-01-01 08:00:00"),
            md5_hex(&format!("tjmall{password}2026-01-01 08:00:00{password}"))
        );
        assert_eq!(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
    }

    #[test]
    fn tokens_expire() {
        let store = TokenStore::default();
        let token = store.issue(1, 100, 200);
        assert_eq!(store.check(&token, 199), TokenState::Valid);
        assert_eq!(store.check(&token, 200), TokenState::Expired);
        assert_eq!(store.check("nope", 150), TokenState::Unknown);
    }

    #[test]
    fn a_valid_token_is_handed_out_again_only_when_asked() {
        let store = TokenStore::default();
        let first = store.issue_or_reissue(1, 100, 200, true);
        assert_eq!(store.issue_or_reissue(1, 150, 250, true), first);
        let fresh = store.issue_or_reissue(1, 200, 300, true);
        assert_ne!(fresh.0, first.0);
        assert_eq!(fresh.1, 300);
        let other = store.issue_or_reissue(1, 210, 310, false);
        assert_ne!(other.0, fresh.0);
    }
}
