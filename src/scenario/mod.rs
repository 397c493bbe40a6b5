//! Scripted scenarios: YAML files under `scenarios/required/` and `scenarios/optional/`, checked
//! against `schemas/mallcheck/scenario.schema.json` and against the profile when loaded, so an
//! error points at `file:line:column` before anything is sent.

mod loader;
pub mod model;
pub mod template;
pub mod yaml;

pub use loader::{LoadError, ScenarioSource, load_scenarios};
pub use model::{Scenario, Step};
