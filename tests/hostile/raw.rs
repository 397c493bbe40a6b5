//! A supplier that writes raw bytes on a TCP socket: an HTTP library would refuse to send a
//! wrong status line, a body shorter than its Content-Length or a chunked body that never ends.
//!
//! It reads one request per connection (head and Content-Length body), counts it by path, and
//! answers by its [`Behaviour`]: the token interface (a path ending in `/access_token`) gets a
//! valid token and `get_pools` / `skus` small valid lists unless the behaviour is about them;
//! every other path (the admin probe included) gets the behaviour. Every answer closes the
//! connection. Nothing read from the socket is trusted: no `unwrap`, sizes capped.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// The token the supplier issues.
pub const TOKEN: &str = "0123456789abcdef0123456789abcdef";

pub const TOKEN_ANSWER: &str = r#"{"success":true,"desc":"ok","result":{"access_token":"0123456789abcdef0123456789abcdef","expires_at":"2099-01-01 00:00:00"}}"#;
pub const POOLS_ANSWER: &str =
    r#"{"success":true,"desc":"ok","result":[{"id":"A0101","name":"台式计算机"}]}"#;
pub const SKUS_ANSWER: &str =
    r#"{"success":true,"desc":"ok","result":["100000001","100000002","100000003"]}"#;
/// A valid area answer (name → id); a plausible answer of the area interfaces.
pub const AREAS_ANSWER: &str =
    r#"{"success":true,"desc":"ok","result":{"北京市":"110000","天津市":"120000"}}"#;
/// A valid empty list: a plausible answer of the list interfaces.
pub const EMPTY_LIST_ANSWER: &str = r#"{"success":true,"desc":"ok","result":[]}"#;

/// The longest request head read (bytes); a longer one is not a request of the harness.
const MAX_HEAD: usize = 64 * 1024;
/// The longest request body read (bytes).
const MAX_BODY: usize = 4 * 1024 * 1024;
/// How long a connection may take to send its request.
const READ_DEADLINE: Duration = Duration::from_secs(30);
/// Longest a misbehaving connection is kept busy (drips, floods, silence): the harness gives
/// up long before, and the test stops the supplier anyway.
const MISBEHAVE_FOR: Duration = Duration::from_secs(60);

/// A canned answer: a status line, headers and a body, written as given (a Content-Length is
/// added unless the headers carry one or `length` says otherwise).
#[derive(Clone)]
pub struct Canned {
    pub status_line: String,
    pub headers: Vec<(String, String)>,
    pub body: Arc<[u8]>,
}

impl Canned {
    pub fn new(status_line: &str, content_type: &str, body: impl Into<Arc<[u8]>>) -> Canned {
        Canned {
            status_line: status_line.to_string(),
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
        }
    }

    pub fn json(body: impl Into<Arc<[u8]>>) -> Canned {
        Canned::new("HTTP/1.1 200 OK", "application/json", body)
    }

    pub fn header(mut self, name: &str, value: &str) -> Canned {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// How the supplier misbehaves on the paths the behaviour is about.
#[derive(Clone)]
pub enum Behaviour {
    /// This answer, on every path but token, pools and SKUs.
    Canned(Canned),
    /// The SKU list of every pool is this body; every other path answers plausibly.
    SkuList(Arc<[u8]>),
    /// The token interface reads the request and never answers; other paths answer
    /// `token_expired`.
    TokenSilent,
    /// The token is issued with an `expires_at` already past; every other path answers
    /// plausibly.
    TokenPastExpiry,
    /// The connection is reset (SO_LINGER 0) as soon as it is accepted, on every path.
    ResetOnAccept,
    /// The request is read, then the connection is reset.
    ResetAfterRequest,
    /// The request is read, then the connection is closed (FIN) without a byte of answer.
    CloseAfterRequest,
    /// A whole head with a Content-Length, then the body one byte every 200 ms.
    DripBody,
    /// The status line and head one byte every 200 ms.
    DripHead,
    /// A chunked body that never ends, 16 KiB chunks as fast as the socket takes them.
    EndlessChunked,
    /// `Transfer-Encoding: chunked` with a chunk size that is not hexadecimal.
    MalformedChunked,
    /// A Content-Length of 4096 for a 60-byte valid answer, then the connection closes.
    ShortBody,
    /// `HTTP/1.1 abc`.
    GarbageStatus,
    /// A response header of 1 MB before a valid answer.
    HugeHeader,
    /// HTTP/1.0 with no Content-Length: the body ends when the connection closes (legal).
    Http10CloseDelimited,
    /// 307 to the same path, on every path (the token interface included).
    RedirectLoop,
    /// Echoes the request body into `desc`, a header and the body again in upper case, on
    /// every path; the token interface issues [`ECHO_TOKEN`].
    Echo,
}

/// The token of [`Behaviour::Echo`]: a slash and a plus, so that its JSON-escaped and
/// URL-encoded forms differ from it.
pub const ECHO_TOKEN: &str = "Tok/en+9f86d081884c7d65";

/// What the supplier saw: requests per path, and every request body (for the echo test).
#[derive(Default)]
pub struct Seen {
    counts: Mutex<HashMap<String, usize>>,
    bodies: Mutex<Vec<String>>,
}

impl Seen {
    fn note(&self, path: &str, body: &[u8]) {
        if let Ok(mut counts) = self.counts.lock() {
            *counts.entry(path.to_string()).or_default() += 1;
        }
        if let Ok(mut bodies) = self.bodies.lock() {
            bodies.push(String::from_utf8_lossy(body).into_owned());
        }
    }

    /// Requests to paths ending in `suffix`.
    pub fn count(&self, suffix: &str) -> usize {
        self.counts
            .lock()
            .map(|c| {
                c.iter()
                    .filter(|(path, _)| path.ends_with(suffix))
                    .map(|(_, n)| n)
                    .sum()
            })
            .unwrap_or(0)
    }

    /// Every request (connections reset on accept count under `<accept>`).
    pub fn total(&self) -> usize {
        self.counts.lock().map(|c| c.values().sum()).unwrap_or(0)
    }

    /// The request bodies, in arrival order.
    pub fn bodies(&self) -> Vec<String> {
        self.bodies.lock().map(|b| b.clone()).unwrap_or_default()
    }
}

/// The supplier, listening on 127.0.0.1 (a port of the system's choosing) until stopped.
pub struct RawSupplier {
    pub addr: SocketAddr,
    pub seen: Arc<Seen>,
    accept: JoinHandle<()>,
}

impl RawSupplier {
    pub async fn start(behaviour: Behaviour) -> RawSupplier {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the raw supplier binds 127.0.0.1:0");
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let seen = Arc::new(Seen::default());
        let behaviour = Arc::new(behaviour);
        let accept = tokio::spawn(accept_loop(listener, behaviour, Arc::clone(&seen)));
        RawSupplier { addr, seen, accept }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting and ends every connection still open (a drip, a flood, a silence).
    pub async fn stop(mut self) {
        self.accept.abort();
        let _ = (&mut self.accept).await;
    }
}

impl Drop for RawSupplier {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn accept_loop(listener: TcpListener, behaviour: Arc<Behaviour>, seen: Arc<Seen>) {
    // Dropped with this task (when the supplier stops): every connection task is aborted.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve(stream, Arc::clone(&behaviour), Arc::clone(&seen)));
                }
                // Out of descriptors or the like: try again shortly.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// A request as read: the path and the body.
struct Request {
    path: String,
    body: Vec<u8>,
}

async fn serve(mut stream: TcpStream, behaviour: Arc<Behaviour>, seen: Arc<Seen>) {
    if matches!(*behaviour, Behaviour::ResetOnAccept) {
        seen.note("<accept>", b"");
        reset(stream);
        return;
    }
    let request = match tokio::time::timeout(READ_DEADLINE, read_request(&mut stream)).await {
        Ok(Some(request)) => request,
        _ => return,
    };
    seen.note(&request.path, &request.body);
    // A write that fails means the harness hung up: nothing more to do either way.
    if answer(&mut stream, &behaviour, &request).await.is_ok() {
        let _ = stream.shutdown().await;
    }
}

/// Closes with an RST instead of a FIN.
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

/// Reads a request head and its Content-Length body; `None` on anything unreadable.
async fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut buffer = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = find(&buffer, b"\r\n\r\n") {
            break end + 4;
        }
        if buffer.len() > MAX_HEAD {
            return None;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let path = lines
        .next()?
        .split_whitespace()
        .nth(1)?
        .split('?')
        .next()?
        .to_string();
    let length = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_BODY);
    let mut body = buffer.split_off(head_end);
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Some(Request { path, body })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A plausible valid answer for `path`: an area object for the area interfaces, an empty list
/// for the rest.
pub fn plausible(path: &str) -> &'static str {
    if path.starts_with("/api/area/") {
        AREAS_ANSWER
    } else {
        EMPTY_LIST_ANSWER
    }
}

async fn answer(
    stream: &mut TcpStream,
    behaviour: &Behaviour,
    request: &Request,
) -> std::io::Result<()> {
    let path = request.path.as_str();
    let token = path.ends_with("/access_token");
    // Behaviours about the token interface, or about every path.
    match behaviour {
        Behaviour::RedirectLoop => {
            let head = format!(
                "HTTP/1.1 307 Temporary Redirect\r\nLocation: {path}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            return stream.write_all(head.as_bytes()).await;
        }
        Behaviour::Echo => return echo(stream, request).await,
        Behaviour::TokenSilent if token => {
            tokio::time::sleep(MISBEHAVE_FOR).await;
            return Ok(());
        }
        Behaviour::TokenSilent => {
            return write_canned(
                stream,
                &Canned::json(&br#"{"success":false,"desc":"token_expired","result":null}"#[..]),
            )
            .await;
        }
        Behaviour::TokenPastExpiry if token => {
            let body = TOKEN_ANSWER.replace("2099-01-01 00:00:00", "2020-01-01 00:00:00");
            return write_canned(stream, &Canned::json(body.as_bytes())).await;
        }
        Behaviour::TokenPastExpiry => {
            return write_canned(stream, &Canned::json(plausible(path).as_bytes())).await;
        }
        _ => {}
    }
    if token {
        return write_canned(stream, &Canned::json(TOKEN_ANSWER.as_bytes())).await;
    }
    if path.ends_with("/get_pools") {
        return write_canned(stream, &Canned::json(POOLS_ANSWER.as_bytes())).await;
    }
    if path.ends_with("/skus") {
        return match behaviour {
            Behaviour::SkuList(body) => write_canned(stream, &Canned::json(Arc::clone(body))).await,
            _ => write_canned(stream, &Canned::json(SKUS_ANSWER.as_bytes())).await,
        };
    }
    misbehave(stream, behaviour, path).await
}

async fn misbehave(
    stream: &mut TcpStream,
    behaviour: &Behaviour,
    path: &str,
) -> std::io::Result<()> {
    let valid = plausible(path).as_bytes();
    match behaviour {
        Behaviour::Canned(canned) => write_canned(stream, canned).await,
        Behaviour::SkuList(_) | Behaviour::TokenPastExpiry | Behaviour::TokenSilent => {
            write_canned(stream, &Canned::json(valid)).await
        }
        // Handled before (every connection, or every path).
        Behaviour::ResetOnAccept | Behaviour::RedirectLoop | Behaviour::Echo => Ok(()),
        Behaviour::ResetAfterRequest => {
            // The stream is borrowed here; an RST needs it owned, so linger 0 and let the
            // caller's shutdown fail (it does after a reset) and the drop close it.
            stream.set_zero_linger()?;
            Err(std::io::Error::other("reset"))
        }
        Behaviour::CloseAfterRequest => {
            stream.shutdown().await?;
            Err(std::io::Error::other("closed"))
        }
        Behaviour::DripBody => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                valid.len()
            );
            stream.write_all(head.as_bytes()).await?;
            drip(stream, valid).await
        }
        Behaviour::DripHead => {
            let whole = [
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    valid.len()
                )
                .as_bytes(),
                valid,
            ]
            .concat();
            drip(stream, &whole).await
        }
        Behaviour::EndlessChunked => {
            stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
                .await?;
            let opening = br#"{"success":true,"desc":"ok","result":["#;
            stream
                .write_all(format!("{:x}\r\n", opening.len()).as_bytes())
                .await?;
            stream.write_all(opening).await?;
            stream.write_all(b"\r\n").await?;
            let item: &[u8] = br#""100000001","#;
            let chunk: Vec<u8> = item
                .iter()
                .copied()
                .cycle()
                .take(item.len() * 1365)
                .collect();
            let size = format!("{:x}\r\n", chunk.len());
            let started = tokio::time::Instant::now();
            while started.elapsed() < MISBEHAVE_FOR {
                stream.write_all(size.as_bytes()).await?;
                stream.write_all(&chunk).await?;
                stream.write_all(b"\r\n").await?;
            }
            Ok(())
        }
        Behaviour::MalformedChunked => {
            let text = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
                String::from_utf8_lossy(valid)
            );
            stream.write_all(text.as_bytes()).await
        }
        Behaviour::ShortBody => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4096\r\nConnection: close\r\n\r\n";
            stream.write_all(head.as_bytes()).await?;
            stream.write_all(valid).await
        }
        Behaviour::GarbageStatus => {
            let text = format!(
                "HTTP/1.1 abc\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                valid.len(),
                String::from_utf8_lossy(valid)
            );
            stream.write_all(text.as_bytes()).await
        }
        Behaviour::HugeHeader => {
            stream.write_all(b"HTTP/1.1 200 OK\r\nX-Padding: ").await?;
            let slab = [b'a'; 16 * 1024];
            for _ in 0..64 {
                stream.write_all(&slab).await?;
            }
            let rest = format!(
                "\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                valid.len()
            );
            stream.write_all(rest.as_bytes()).await?;
            stream.write_all(valid).await
        }
        Behaviour::Http10CloseDelimited => {
            stream
                .write_all(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n")
                .await?;
            stream.write_all(valid).await
        }
    }
}

/// One byte every 200 ms.
async fn drip(stream: &mut TcpStream, bytes: &[u8]) -> std::io::Result<()> {
    for byte in bytes {
        stream.write_all(std::slice::from_ref(byte)).await?;
        stream.flush().await?;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

async fn write_canned(stream: &mut TcpStream, canned: &Canned) -> std::io::Result<()> {
    let mut head = format!("{}\r\n", canned.status_line);
    let has_length = canned
        .headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("content-length"));
    for (name, value) in &canned.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !has_length {
        head.push_str(&format!("Content-Length: {}\r\n", canned.body.len()));
    }
    head.push_str("Connection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(&canned.body).await
}

/// The request body echoed into `desc`, a header and the body again in upper case.
async fn echo(stream: &mut TcpStream, request: &Request) -> std::io::Result<()> {
    let body = String::from_utf8_lossy(&request.body).into_owned();
    let echoed = serde_json::to_string(&format!("{body} {}", body.to_uppercase()))
        .unwrap_or_else(|_| "\"\"".to_string());
    let text = if request.path.ends_with("/access_token") {
        format!(
            r#"{{"success":true,"desc":{echoed},"result":{{"access_token":"{}","expires_at":"2099-01-01 00:00:00"}}}}"#,
            ECHO_TOKEN.replace('/', "\\/")
        )
    } else {
        format!(r#"{{"success":false,"desc":{echoed},"result":null}}"#)
    };
    let header: String = body
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .collect();
    let canned = Canned::json(text.into_bytes())
        .header("X-Echo", &header)
        .header("X-Echo-Upper", &header.to_uppercase());
    write_canned(stream, &canned).await
}
