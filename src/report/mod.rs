//! Outputs of a run. Reporters read events and never call a supplier; the terminal reporter
//! renders live on stderr, the file reporters aggregate and write at the end (atomically).

pub mod json;
pub mod junit;
pub mod manifest;
pub mod summary;
pub mod terminal;

use std::path::Path;

use crate::events::Event;

pub trait Reporter: Send {
    fn event(&mut self, event: &Event);
    /// Called once after the last event; writes files.
    fn finish(&mut self) -> Result<(), ReportError>;
}

/// Rows grouped by requirement, in requirement order: how many, and the first, for one line
/// each (the terminal's and summary.md's lists of failed requirements).
#[derive(Debug, Default)]
pub struct ByRequirement(std::collections::BTreeMap<String, (usize, crate::events::ResultRow)>);

impl ByRequirement {
    pub fn note(&mut self, row: &crate::events::ResultRow) {
        self.0
            .entry(row.requirement.clone())
            .and_modify(|(count, _)| *count += 1)
            .or_insert_with(|| (1, row.clone()));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Requirement, how many rows, the first row.
    pub fn iter(&self) -> impl Iterator<Item = (&str, usize, &crate::events::ResultRow)> {
        self.0.iter().map(|(r, (n, row))| (r.as_str(), *n, row))
    }
}

/// Keeps every event in a shared list: for running mallcheck in process (tests, tools) and
/// looking at the stream afterwards.
pub struct Collector(pub std::sync::Arc<std::sync::Mutex<Vec<Event>>>);

impl Reporter for Collector {
    fn event(&mut self, event: &Event) {
        if let Ok(mut events) = self.0.lock() {
            events.push(event.clone());
        }
    }

    fn finish(&mut self) -> Result<(), ReportError> {
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write report {path}: {message} / 无法写入报告")]
    Write { path: String, message: String },
}

/// Writes `bytes` to `path` through a temporary file and a rename, so a reader never sees half a
/// report and an interrupted write leaves the old one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let error = |e: std::io::Error| ReportError::Write {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(error)?;
    }
    let temporary = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&temporary, bytes).map_err(error)?;
    std::fs::rename(&temporary, path).map_err(error)
}
