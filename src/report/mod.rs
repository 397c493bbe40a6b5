//! Outputs of a run. Reporters read events and never call a supplier; the terminal reporter
//! renders live on stderr, the file reporters aggregate and write at the end (atomically).

pub mod har;
pub mod html;
pub mod json;
pub mod junit;
pub mod latency;
pub mod manifest;
pub mod record;
pub mod summary;
pub mod terminal;

use std::io::Write as _;
use std::path::Path;

use crate::events::Event;

pub trait Reporter: Send {
    fn event(&mut self, event: &Event);
    /// Called once after the last event; writes files. `record` gives the run's exchanges back
    /// (none when no reporter of the run asked for them).
    fn finish(&mut self, record: &record::Record) -> Result<(), ReportError>;
    /// Whether this reporter reads exchanges back when it writes: the run keeps its record
    /// (`events.jsonl`) only when one does.
    fn needs_record(&self) -> bool {
        true
    }
}

/// How to bring the embedded supplier back for the curl lines of a run against it (they say
/// `$MALLCHECK_TARGET`).
pub const REPLAY_EMBEDDED: &str = "mallcheck serve --admin --addr 127.0.0.1:18080 & export MALLCHECK_TARGET=http://127.0.0.1:18080";

/// The files every run writes into its folder, besides `events.jsonl` and `manifest.json`:
/// the [`reports`] and exchanges.har.
pub fn file_reporters(dir: &Path, lang: crate::events::Lang) -> Vec<Box<dyn Reporter>> {
    let mut reporters = reports(dir, lang);
    reporters.push(Box::new(har::HarReporter::new(dir.join(har::HAR_FILE))));
    reporters
}

/// The reports of a run or a sweep: report.json, junit.xml, summary.md and report.html
/// (opening in `lang`).
pub fn reports(dir: &Path, lang: crate::events::Lang) -> Vec<Box<dyn Reporter>> {
    vec![
        Box::new(json::JsonReporter::new(dir.join(json::REPORT_FILE))),
        Box::new(junit::JunitReporter::new(dir.join(junit::JUNIT_FILE))),
        Box::new(summary::SummaryReporter::new(
            dir.join(summary::SUMMARY_FILE),
        )),
        Box::new(html::HtmlReporter::new(dir.join(html::HTML_FILE), lang)),
    ]
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

/// The note a set's `fail` verdict gets when the run's baseline accepted every failure that
/// made it fail: the verdict stays `fail`, never PASS. `tr` picks the language(s).
pub fn baseline_note(
    baseline: Option<&crate::events::BaselineSummary>,
    set: crate::events::RequirementSet,
    verdict: &crate::events::Verdict,
    tr: impl Fn(&str, &str) -> String,
) -> Option<String> {
    let baseline = baseline?;
    baseline.accepts_all(set, verdict).then(|| {
        format!(
            "{} {}",
            tr("已接受的已知问题", "all failures accepted by baseline"),
            baseline.file
        )
    })
}

/// What the baseline did, in lines: the counts, every stale entry, the entries not judged.
pub fn baseline_lines(
    baseline: &crate::events::BaselineSummary,
    tr: impl Fn(&str, &str) -> String,
) -> Vec<String> {
    use crate::events::BaselineEntryState;
    let mut lines = vec![format!(
        "{} {}: {} {}; {} {}; {} {}",
        tr("基线", "baseline"),
        baseline.file,
        tr("已接受", "accepted"),
        baseline.accepted,
        tr("新失败", "new failures"),
        baseline.new_failures,
        tr("新警告", "new warnings"),
        baseline.new_warnings
    )];
    for entry in baseline.stale() {
        lines.push(format!(
            "  ? {}:{} {} — {}",
            baseline.file,
            entry.line,
            entry.identity,
            tr(
                "已通过，是否已修复？请从基线中删除",
                "judged and held: fixed? remove it from the baseline"
            )
        ));
    }
    let unjudged: Vec<String> = baseline
        .entries
        .iter()
        .filter(|e| e.state == BaselineEntryState::NotJudged)
        .map(|e| format!("{}:{}", baseline.file, e.line))
        .collect();
    if !unjudged.is_empty() {
        lines.push(format!(
            "  - {} {}: {}",
            unjudged.len(),
            tr(
                "条基线条目本次未判定",
                "baseline entries not judged in this run (not selected, skipped or blocked)"
            ),
            unjudged.join(", ")
        ));
    }
    lines
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

    fn finish(&mut self, _: &record::Record) -> Result<(), ReportError> {
        Ok(())
    }

    fn needs_record(&self) -> bool {
        false
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("无法写入报告 {path}：{message} / cannot write report {path}: {message}")]
    Write { path: String, message: String },
}

/// Writes `bytes` to `path` through a temporary file and a rename, so a reader never sees half a
/// report and an interrupted write leaves the old one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    write_atomically_with(path, |out| out.write_all(bytes).map_err(|e| e.to_string()))
}

/// Like [`write_atomically`], for a file written piece by piece (it need not fit in memory).
pub fn write_atomically_with(
    path: &Path,
    write: impl FnOnce(&mut dyn std::io::Write) -> Result<(), String>,
) -> Result<(), ReportError> {
    let error = |message: String| ReportError::Write {
        path: path.display().to_string(),
        message,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| error(e.to_string()))?;
    }
    let temporary = path.with_extension(format!("tmp{}", std::process::id()));
    let written = std::fs::File::create(&temporary)
        .map_err(|e| e.to_string())
        .and_then(|file| {
            let mut out = std::io::BufWriter::new(file);
            write(&mut out)?;
            out.flush().map_err(|e| e.to_string())
        });
    if let Err(message) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(error(message));
    }
    std::fs::rename(&temporary, path).map_err(|e| error(e.to_string()))
}
