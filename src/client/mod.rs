//! The only module that speaks HTTP. It encodes parameters (form or JSON), fetches and reuses the
//! access token, caps body size, times every call, keeps the raw bytes and hands back an
//! [`Exchange`], with secrets redacted at the moment the exchange is recorded.

mod exchange;

pub use exchange::{Exchange, RecordedRequest, RecordedResponse, TransportError};
