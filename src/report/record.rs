//! `events.jsonl`: the run as it happened, one event a line, exchanges included (their bodies
//! already cut to `evidence_kib` by the runner). The session writes it before any reporter sees
//! an event; reporters read evidence back from it when they write, and `mallcheck report DIR`
//! renders any format again by replaying it. What stays in memory is a line offset per exchange.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::{ReportError, Reporter};
use crate::events::Event;
use crate::exchange::Exchange;

/// The file of a run folder that holds every event.
pub const EVENTS_FILE: &str = "events.jsonl";

/// Where each exchange's line is, by exchange id.
#[derive(Debug, Default)]
struct LineIndex {
    /// (exchange id, offset, length), sorted by id once writing ends.
    lines: Vec<(u64, u64, u64)>,
}

impl LineIndex {
    fn find(&self, id: u64) -> Option<(u64, u64)> {
        let at = self.lines.binary_search_by_key(&id, |l| l.0).ok()?;
        let (_, offset, length) = self.lines[at];
        Some((offset, length))
    }
}

/// Writes `events.jsonl` as a run goes.
pub struct RecordWriter {
    path: PathBuf,
    writer: Option<BufWriter<File>>,
    written: u64,
    index: LineIndex,
    /// The first write that failed: the evidence cannot be read back then, and reports say so.
    error: Option<String>,
}

impl RecordWriter {
    pub fn new(dir: &Path) -> RecordWriter {
        RecordWriter {
            path: dir.join(EVENTS_FILE),
            writer: None,
            written: 0,
            index: LineIndex::default(),
            error: None,
        }
    }

    pub fn append(&mut self, event: &Event) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = self.try_append(event) {
            self.error = Some(format!("{}: {e}", self.path.display()));
        }
    }

    fn try_append(&mut self, event: &Event) -> std::io::Result<()> {
        let writer = match &mut self.writer {
            Some(writer) => writer,
            None => {
                if let Some(dir) = self.path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                self.writer
                    .insert(BufWriter::new(File::create(&self.path)?))
            }
        };
        let mut line = serde_json::to_vec(event).map_err(std::io::Error::other)?;
        line.push(b'\n');
        writer.write_all(&line)?;
        if let Event::Exchange(exchange) = event {
            self.index
                .lines
                .push((exchange.id, self.written, line.len() as u64));
        }
        self.written += line.len() as u64;
        Ok(())
    }

    /// Ends writing: the file is flushed and can be read.
    pub fn finish(mut self) -> Record {
        if let Some(mut writer) = self.writer.take()
            && let Err(e) = writer.flush()
            && self.error.is_none()
        {
            self.error = Some(format!("{}: {e}", self.path.display()));
        }
        self.index.lines.sort_unstable_by_key(|l| l.0);
        Record {
            path: Some(self.path),
            index: self.index,
            error: self.error,
        }
    }
}

/// A written `events.jsonl`, for reading exchanges back.
#[derive(Debug, Default)]
pub struct Record {
    /// None when the run kept no record (only reporters that need none).
    path: Option<PathBuf>,
    index: LineIndex,
    error: Option<String>,
}

impl Record {
    /// No record: reporters that ask for exchanges get none.
    pub fn none() -> Record {
        Record::default()
    }

    /// Why the record is not whole, when it is not (a write failed during the run).
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// The exchanges with these ids (in id order; ids not in the record are left out).
    pub fn exchanges(
        &self,
        ids: impl IntoIterator<Item = u64>,
    ) -> Result<Vec<Exchange>, ReportError> {
        if let Some(error) = &self.error {
            return Err(self.failed(error));
        }
        let Some(path) = &self.path else {
            return Ok(Vec::new());
        };
        let mut ids: Vec<u64> = ids.into_iter().collect();
        ids.sort_unstable();
        ids.dedup();
        let mut file = File::open(path).map_err(|e| self.failed(&e))?;
        let mut found = Vec::new();
        for id in ids {
            let Some((offset, length)) = self.index.find(id) else {
                continue;
            };
            let mut line = vec![0; usize::try_from(length).unwrap_or(0)];
            file.seek(SeekFrom::Start(offset))
                .map_err(|e| self.failed(&e))?;
            file.read_exact(&mut line).map_err(|e| self.failed(&e))?;
            if let Event::Exchange(exchange) =
                serde_json::from_slice(&line).map_err(|e| self.failed(&e))?
            {
                found.push(*exchange);
            }
        }
        Ok(found)
    }

    /// Every exchange, in the order the record holds them, one at a time.
    pub fn each_exchange(&self, mut visit: impl FnMut(&Exchange)) -> Result<(), ReportError> {
        if let Some(error) = &self.error {
            return Err(self.failed(error));
        }
        let Some(path) = &self.path else {
            return Ok(());
        };
        let file = File::open(path).map_err(|e| self.failed(&e))?;
        each_line(BufReader::new(file), |_, line| {
            // Only exchange lines are parsed: the prefix says which they are.
            if line.starts_with(b"{\"Exchange\":")
                && let Event::Exchange(exchange) =
                    serde_json::from_slice(line).map_err(|e| e.to_string())?
            {
                visit(&exchange);
            }
            Ok(())
        })
        .map_err(|e| self.failed(&e))
    }

    fn failed(&self, error: &dyn std::fmt::Display) -> ReportError {
        ReportError::Write {
            path: self
                .path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| EVENTS_FILE.into()),
            message: format!("cannot read the run's record back: {error}"),
        }
    }
}

/// The reporters of a run and its record, fed together: the record is written before any
/// reporter sees an event, and only when a reporter reads exchanges back.
pub struct Outputs {
    record: Option<RecordWriter>,
    reporters: Vec<Box<dyn Reporter>>,
}

impl Outputs {
    pub fn new(dir: &Path, reporters: Vec<Box<dyn Reporter>>) -> Outputs {
        Outputs {
            record: reporters
                .iter()
                .any(|r| r.needs_record())
                .then(|| RecordWriter::new(dir)),
            reporters,
        }
    }

    pub fn event(&mut self, event: &Event) {
        if let Some(record) = &mut self.record {
            record.append(event);
        }
        for reporter in self.reporters.iter_mut() {
            reporter.event(event);
        }
    }

    /// Lets every reporter write; the errors of those that could not.
    pub fn finish(self) -> Vec<ReportError> {
        let record = self.record.map(RecordWriter::finish).unwrap_or_default();
        let mut reporters = self.reporters;
        reporters
            .iter_mut()
            .filter_map(|r| r.finish(&record).err())
            .collect()
    }
}

/// Each line of `reader` with its offset; stops at the first error `visit` returns.
fn each_line(
    mut reader: impl BufRead,
    mut visit: impl FnMut(u64, &[u8]) -> Result<(), String>,
) -> Result<(), String> {
    let mut line = Vec::new();
    let mut offset = 0u64;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| e.to_string())?;
        if n == 0 {
            return Ok(());
        }
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        if !text.is_empty() {
            visit(offset, text)?;
        }
        offset += n as u64;
    }
}

/// Reads a run folder's `events.jsonl` and feeds every event to `reporters`, then lets them
/// write: the reports of the run, rendered again. A line that cannot be read is an error
/// naming its line number (a record cut short by a killed run ends early: its last line may
/// be half written, and is left out with a warning returned).
pub fn replay(dir: &Path, reporters: &mut [Box<dyn Reporter>]) -> Result<Vec<String>, String> {
    let path = dir.join(EVENTS_FILE);
    let file = File::open(&path).map_err(|e| {
        format!(
            "{0}：{e}；运行目录中应有 {EVENTS_FILE}（mallcheck 0.1 之前的运行没有） / {0}: {e}; a run folder holds {EVENTS_FILE} (runs before mallcheck 0.1 kept none)",
            path.display()
        )
    })?;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut index = LineIndex::default();
    let mut warnings = Vec::new();
    let mut number = 0usize;
    each_line(BufReader::new(file), |offset, line| {
        number += 1;
        match serde_json::from_slice::<Event>(line) {
            Ok(event) => {
                if let Event::Exchange(exchange) = &event {
                    index.lines.push((exchange.id, offset, line.len() as u64));
                }
                for reporter in reporters.iter_mut() {
                    reporter.event(&event);
                }
                Ok(())
            }
            // The last line of a run that was killed while writing.
            Err(_) if offset + line.len() as u64 + 1 >= total => {
                warnings.push(format!(
                    "{}:{number}: the last line is cut short (the run was killed?) and was left out",
                    path.display()
                ));
                Ok(())
            }
            Err(e) => Err(format!("{}:{number}: {e}", path.display())),
        }
    })?;
    index.lines.sort_unstable_by_key(|l| l.0);
    let record = Record {
        path: Some(path),
        index,
        error: None,
    };
    for reporter in reporters.iter_mut() {
        reporter.finish(&record).map_err(|e| e.to_string())?;
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::{RecordedRequest, RecordedResponse};

    fn exchange(id: u64) -> Event {
        Event::Exchange(Box::new(Exchange {
            id,
            interface: "prices".into(),
            request: RecordedRequest {
                method: "POST".into(),
                url: "http://127.0.0.1:1/api/price".into(),
                content_type: "application/x-www-form-urlencoded".into(),
                params: vec![("sku".into(), id.to_string())],
            },
            response: Some(RecordedResponse {
                status: 200,
                headers: Vec::new(),
                body: format!("{{\"n\":{id}}}").into_bytes(),
                truncated: false,
                full_body: None,
            }),
            error: None,
            started_at_ms: 0,
            duration_ms: 1,
        }))
    }

    /// Counts the exchanges it is shown, and reads some back when it writes.
    #[derive(Default, Clone)]
    struct Reader(std::sync::Arc<std::sync::Mutex<(usize, Vec<u64>)>>);

    impl Reporter for Reader {
        fn event(&mut self, event: &Event) {
            if matches!(event, Event::Exchange(_))
                && let Ok(mut seen) = self.0.lock()
            {
                seen.0 += 1;
            }
        }

        fn finish(&mut self, record: &Record) -> Result<(), ReportError> {
            let read: Vec<u64> = record.exchanges([3, 1, 99])?.iter().map(|e| e.id).collect();
            if let Ok(mut seen) = self.0.lock() {
                seen.1 = read;
            }
            Ok(())
        }
    }

    fn dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("mallcheck-record-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn exchanges_are_read_back_by_id_and_in_order() {
        let dir = dir("ids");
        let mut writer = RecordWriter::new(&dir);
        // Out of id order, as concurrent scenarios finish their calls.
        for id in [2, 3, 1] {
            writer.append(&exchange(id));
            writer.append(&Event::ScenarioStarted {
                scenario: format!("s{id}"),
            });
        }
        let record = writer.finish();
        let ids = |list: Vec<Exchange>| list.iter().map(|e| e.id).collect::<Vec<_>>();
        assert_eq!(ids(record.exchanges([3, 1, 7]).expect("read")), [1, 3]);
        let mut order = Vec::new();
        record
            .each_exchange(|e| order.push(e.id))
            .expect("read in order");
        assert_eq!(order, [2, 3, 1]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_replay_feeds_every_event_and_leaves_out_a_last_line_cut_short() {
        let dir = dir("replay");
        let mut writer = RecordWriter::new(&dir);
        for id in 1..=3 {
            writer.append(&exchange(id));
        }
        drop(writer.finish());
        // A run killed while writing its last line.
        let path = dir.join(EVENTS_FILE);
        let mut text = std::fs::read(&path).expect("written");
        text.extend_from_slice(br#"{"Exchange":{"id":4,"interf"#);
        std::fs::write(&path, &text).expect("cut");
        let reader = Reader::default();
        let mut reporters: Vec<Box<dyn Reporter>> = vec![Box::new(reader.clone())];
        let warnings = replay(&dir, &mut reporters).expect("replayed");
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains(":4:"), "{warnings:?}");
        let seen = reader.0.lock().expect("seen").clone();
        assert_eq!(seen, (3, vec![1, 3]), "three exchanges fed, two read back");

        // A broken line in the middle is an error naming its line.
        let mut broken = b"{\"nonsense\":1}\n".to_vec();
        broken.extend_from_slice(&text);
        std::fs::write(&path, &broken).expect("broken");
        let error = replay(&dir, &mut reporters).expect_err("a broken line");
        assert!(error.contains("events.jsonl:1:"), "{error}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
