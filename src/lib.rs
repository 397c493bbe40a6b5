//! mallcheck: a conformance harness for the supplier interfaces of the Tianjin Government
//! Procurement Center online mall (天津市政府采购中心网上商城).
//!
//! Data flows `profile` → `runner` → `client` → supplier, and back through `checks` into events
//! that `report` renders. `supplier` is the embedded reference supplier; it shares only `profile`
//! with the harness. See `../shared/DESIGN.md` and `schemas/README.md`.

pub mod checks;
pub mod cli;
pub mod client;
pub mod config;
pub mod exit;
pub mod profile;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod session;
pub mod supplier;
