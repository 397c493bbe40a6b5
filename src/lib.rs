//! mallcheck: a conformance harness for the supplier interfaces of the Tianjin Government
//! Procurement Center online mall (天津市政府采购中心网上商城).
//!
//! Data flows `profile` → `session` → `runner` → `client` → supplier; every call comes back as an
//! `exchange`, which `checks` judge and `report` renders from the runner's events. `supplier` is
//! the embedded reference supplier; it shares only `profile` with the harness. See `DESIGN.md`
//! in the shared folder and `schemas/README.md`.

pub mod baseline;
pub mod checks;
pub mod cli;
pub mod client;
pub mod config;
pub mod diff;
pub mod doctor;
pub mod events;
pub(crate) mod excerpt;
pub mod exchange;
pub(crate) mod exit;
#[doc(hidden)]
pub mod fuzzing;
pub mod lang;
pub mod profile;
pub mod report;
pub(crate) mod runner;
pub mod scenario;
pub mod session;
pub mod supplier;
pub mod sweep;
pub mod target;
