//! Exit codes of the `mallcheck` binary (documented in the README).

/// The required set passed (or the command did what it was asked).
pub const OK: u8 = 0;
/// The required set did not pass: a required check failed or was blocked, or nothing of the
/// required set could be tested.
pub const CONFORMANCE_FAILURE: u8 = 1;
/// A usage or input error: a bad flag, a broken profile, scenario or config file.
pub const USAGE: u8 = 2;
/// A runtime error: the supplier is unreachable, TLS failed, a report could not be written.
pub const RUNTIME: u8 = 3;
