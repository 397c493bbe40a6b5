//! Exit codes of the `mallcheck` binary (documented in the README).

/// The required set passed: every MUST requirement in scope was judged and held (or the command
/// did what it was asked).
pub const OK: u8 = 0;
/// The required set failed: a MUST requirement of it failed.
pub const CONFORMANCE_FAILURE: u8 = 1;
/// A usage or input error: a bad flag, a broken profile, scenario or config file.
pub const USAGE: u8 = 2;
/// A runtime error: the supplier is unreachable, TLS failed, the run was interrupted, a report
/// could not be written (verdict `error`).
pub const RUNTIME: u8 = 3;
/// Nothing of the required set failed, but not every MUST requirement of it was judged (verdict
/// `incomplete` or `not_tested`): no pass to sign.
pub const INCOMPLETE: u8 = 4;
