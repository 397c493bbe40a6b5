//! The one integration-test binary of mallcheck; each module tests one part end to end.

mod checks;
mod client;
mod profile;
mod supplier;
