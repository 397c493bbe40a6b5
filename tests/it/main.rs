//! The one integration-test binary of mallcheck; each module tests one part end to end.

mod audit;
mod baseline;
mod checks;
mod client;
mod common;
mod faults;
mod hostile;
mod orders_safety;
mod profile;
mod report;
mod requirement_ids;
mod run_cli;
mod scenarios;
mod supplier;
mod sweep;
mod variants;
