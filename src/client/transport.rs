//! One HTTP request under a deadline and a body cap, whatever the other side does.
//!
//! reqwest's own timeout would throw away what was received; a deadline of our own around each
//! step keeps the head and the bytes that did arrive before a slow drip stalled.

use std::error::Error as StdError;

use reqwest::{Response, Url, redirect};
use tokio::time::{Instant, timeout_at};

use super::TransportError;

/// Same-origin redirects followed at most this many times.
pub const MAX_REDIRECTS: usize = 5;

/// What came back, before redaction.
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub truncated: bool,
}

pub struct RawOutcome {
    pub response: Option<RawResponse>,
    pub error: Option<TransportError>,
}

/// Follow a redirect only to the same scheme, host and port as the original request, and at most
/// [`MAX_REDIRECTS`] times; otherwise the 3xx answer itself comes back.
pub fn redirect_policy() -> redirect::Policy {
    redirect::Policy::custom(|attempt| {
        let same_origin = attempt
            .previous()
            .first()
            .is_some_and(|first| same_origin(first, attempt.url()));
        if same_origin && attempt.previous().len() <= MAX_REDIRECTS {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}

/// For resources (images, invoices): follow redirects to any host, as a browser does, at most
/// [`MAX_REDIRECTS`] times; then the last 3xx answer comes back.
pub fn resource_redirect_policy() -> redirect::Policy {
    redirect::Policy::custom(|attempt| {
        if attempt.previous().len() <= MAX_REDIRECTS {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}

pub fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// How one request is read.
pub struct Limits {
    pub deadline: Instant,
    /// Bytes of the body kept; the rest is not read.
    pub max_body: usize,
    /// Sent with the resource client, which follows redirects to any origin.
    pub any_origin: bool,
}

/// Sends `request` and reads the answer until the deadline, keeping at most `max_body` bytes.
pub async fn execute(
    http: &reqwest::Client,
    request: reqwest::Request,
    started: Instant,
    limits: Limits,
) -> RawOutcome {
    let Limits {
        deadline,
        max_body,
        any_origin,
    } = limits;
    let original = request.url().clone();
    let timed_out = || TransportError::Timeout {
        after_ms: elapsed_ms(started),
    };
    let mut response = match timeout_at(deadline, http.execute(request)).await {
        Err(_) => {
            return RawOutcome {
                response: None,
                error: Some(timed_out()),
            };
        }
        Ok(Err(err)) => {
            return RawOutcome {
                response: None,
                error: Some(classify(&err, started)),
            };
        }
        Ok(Ok(response)) => response,
    };

    let mut error = stopped_redirect(&response, &original, any_origin);
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();

    // Sized once from Content-Length (within the cap): growing by doubling would hold one and
    // a half copies of a large answer at the moment it arrives.
    let announced = response
        .content_length()
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(0);
    let mut body = Vec::with_capacity(announced.min(max_body));
    let mut truncated = false;
    loop {
        match timeout_at(deadline, response.chunk()).await {
            Err(_) => {
                error = Some(timed_out());
                break;
            }
            Ok(Err(err)) => {
                error = Some(if err.is_timeout() {
                    timed_out()
                } else {
                    broken(describe(&err))
                });
                break;
            }
            Ok(Ok(None)) => break,
            Ok(Ok(Some(chunk))) => {
                let room = max_body.saturating_sub(body.len());
                if chunk.len() > room {
                    // Keep up to the cap and stop reading: dropping the response closes the
                    // connection, so a 100 MB answer is never held.
                    body.extend_from_slice(&chunk[..room]);
                    truncated = true;
                    break;
                }
                body.extend_from_slice(&chunk);
            }
        }
    }
    RawOutcome {
        response: Some(RawResponse {
            status,
            headers,
            body,
            truncated,
        }),
        error,
    }
}

/// A 3xx answer the redirect policy stopped at: one leading to another origin (not followed on
/// purpose), or one still redirecting after [`MAX_REDIRECTS`] hops (a loop).
fn stopped_redirect(
    response: &Response,
    original: &Url,
    any_origin: bool,
) -> Option<TransportError> {
    if !response.status().is_redirection() {
        return None;
    }
    let location = response.headers().get(reqwest::header::LOCATION)?;
    let location = String::from_utf8_lossy(location.as_bytes()).into_owned();
    let Ok(target) = response.url().join(&location) else {
        // An unreadable Location is not followed either; say what it was.
        return Some(TransportError::Redirect { location });
    };
    if any_origin || same_origin(&target, original) {
        // The policy follows these; one that came back is past the limit.
        return Some(TransportError::RedirectLoop {
            location: target.to_string(),
            hops: MAX_REDIRECTS,
        });
    }
    Some(TransportError::Redirect {
        location: target.to_string(),
    })
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The transport error of a failed send.
fn classify(err: &reqwest::Error, started: Instant) -> TransportError {
    let message = describe(err);
    if err.is_timeout() {
        TransportError::Timeout {
            after_ms: elapsed_ms(started),
        }
    } else if is_tls(err) {
        TransportError::Tls { message }
    } else if err.is_connect() {
        TransportError::Connect { message }
    } else {
        // The connection was made but broke before a whole answer head arrived.
        broken(message)
    }
}

/// A connection that broke: closed or reset by the other side (said plainly, since hyper's
/// words for it are cryptic), or something else.
fn broken(message: String) -> TransportError {
    let lower = message.to_ascii_lowercase();
    let closed = [
        "reset",
        "connection closed",
        "incomplete",
        "unexpected eof",
        "broken pipe",
        "aborted",
        "end of file",
        // hyper, of a pooled connection the other side closed meanwhile.
        "connection was not ready",
    ]
    .iter()
    .any(|sign| lower.contains(sign));
    if closed {
        TransportError::Closed { message }
    } else {
        TransportError::Read { message }
    }
}

/// Whether a rustls error is anywhere in the chain. io::Error hides its inner error from
/// `source()` (and hyper-rustls nests one io::Error in another), so step through `get_ref()`.
fn is_tls(err: &reqwest::Error) -> bool {
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = current {
        if e.is::<rustls::Error>() {
            return true;
        }
        current = match e.downcast_ref::<std::io::Error>() {
            Some(io) => io.get_ref().map(|inner| inner as &(dyn StdError + 'static)),
            None => e.source(),
        };
    }
    let text = describe(err).to_ascii_lowercase();
    text.contains("certificate") || text.contains("tls") || text.contains("handshake")
}

/// The error and its causes on one line ("a: b: c"), without repeats.
fn describe(err: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = current {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}
