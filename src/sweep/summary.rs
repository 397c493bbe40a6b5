//! The sweep's record on disk and its summary: `sweep.jsonl` (one line per SKU, and lines for
//! the findings on answers that belong to no single SKU), `sweep.state.json` (what a session
//! measured: requests, retries, latencies), and from both, at the end, `sweep.json` (the
//! [`SweepSummary`], for reporters) and `unsellable.csv`. The summary is always computed from
//! the files, so a resumed or merged sweep ends with the same counts as an uninterrupted one.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use crate::events::SkuReason as Reason;
pub use crate::events::{DefectCount, DefectExample, InterfaceSummary, SkuCounts, SweepSummary};
use crate::events::{Unjudged, UnsellableSku};

pub const JSONL: &str = "sweep.jsonl";
pub const STATE: &str = "sweep.state.json";
pub const SUMMARY: &str = "sweep.json";
pub const CSV: &str = "unsellable.csv";

/// Whether a SKU may be sold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkuStatus {
    /// Every check held.
    Sellable,
    /// At least one reason: it may not be sold (不合格数据，不可在商城中进行售卖).
    Unsellable,
    /// Some of its data could not be read (no answer, cut short, beyond the limits), and
    /// nothing read was wrong: neither sellable nor not.
    NotJudged,
}

/// One line of `sweep.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Line {
    /// A SKU judged.
    Sku(SkuLine),
    /// Findings on an answer that belongs to no single SKU: the pool list, a pool's SKU list
    /// (`key` = the pool: written once per pool, also when sessions or shares repeat it), the
    /// token, or a batch answer as a whole.
    Answer(AnswerLine),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SkuLine {
    pub sku: String,
    pub pool: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub status: SkuStatus,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<Reason>,
    /// Why part of its data was not read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_judged: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AnswerLine {
    pub interface: String,
    /// For answers every share reads (pools, SKU lists, token): counted once per key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub findings: Vec<Reason>,
}

/// Latencies of one interface, in microseconds, as a log histogram (16 steps per doubling,
/// about 6 %): shares and sessions add up exactly.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Histogram {
    /// (bucket, count), sparse.
    pub buckets: BTreeMap<u32, u64>,
}

impl Histogram {
    fn bucket(us: u64) -> u32 {
        if us < 32 {
            return us as u32;
        }
        let e = 63 - us.leading_zeros();
        32 + (e - 5) * 16 + ((us >> (e - 4)) & 15) as u32
    }

    fn lower_bound(bucket: u32) -> u64 {
        if bucket < 32 {
            return u64::from(bucket);
        }
        let e = (bucket - 32) / 16 + 5;
        let sub = u64::from((bucket - 32) % 16);
        (16 + sub) << (e - 4)
    }

    pub fn record(&mut self, us: u64) {
        *self.buckets.entry(Self::bucket(us)).or_insert(0) += 1;
    }

    pub fn add(&mut self, other: &Histogram) {
        for (bucket, count) in &other.buckets {
            *self.buckets.entry(*bucket).or_insert(0) += count;
        }
    }

    pub fn count(&self) -> u64 {
        self.buckets.values().sum()
    }

    /// The latency below which `q` (0..=1) of the calls fell, in ms.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        let total = self.count();
        if total == 0 {
            return 0.0;
        }
        let rank = ((total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (bucket, count) in &self.buckets {
            seen += count;
            if seen >= rank {
                return Self::lower_bound(*bucket) as f64 / 1000.0;
            }
        }
        0.0
    }
}

/// What the sessions of a sweep measured, per interface.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceTally {
    pub calls: u64,
    /// Calls sent again after a transient transport error (timeout, refused or closed
    /// connection).
    pub retries: u64,
    /// Transport errors seen, retried or not: each is a GEN-HTTP-STATUS failure of the
    /// interface, reported even when a retry then got an answer.
    pub transport_errors: u64,
    /// Calls that got no answer after every retry (their SKUs are not judged).
    pub failed: u64,
    pub latency: Histogram,
}

/// `sweep.state.json`: what the sessions of one share measured, added up across sessions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub target: String,
    #[serde(default)]
    pub partition: Option<String>,
    pub images: String,
    pub in_scope: u64,
    /// Whether the last session swept every SKU in scope.
    pub complete: bool,
    pub sessions: u64,
    pub elapsed_seconds: f64,
    pub interfaces: BTreeMap<String, InterfaceTally>,
    pub images_probed: u64,
    /// When the first session started (RFC 3339), and whether it swept the embedded supplier.
    #[serde(default)]
    pub started_at: String,
    #[serde(default)]
    pub embedded: bool,
    /// The fingerprint of the config that judged it (`session::config_sha256`).
    #[serde(default)]
    pub config_sha256: String,
    /// The supplier's name and the departures from the standard it declares (the config's
    /// `[declaration]`), for the reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deviations: Vec<crate::events::Deviation>,
    /// What the answers judged and left unjudged, requirement by requirement.
    #[serde(flatten)]
    pub coverage: Coverage,
}

/// Which requirements the sweep's answers judged, and which some answer left unjudged with the
/// smallest reason (the same whatever order batches end in, and for shares merged): the
/// coverage its report shows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    #[serde(default)]
    pub judged: BTreeSet<String>,
    #[serde(default)]
    pub unjudged: BTreeMap<String, String>,
}

impl Coverage {
    pub fn note_runs(&mut self, runs: &[crate::checks::CheckRun]) {
        for run in runs {
            for requirement in &run.requirements {
                match run.unjudged.iter().find(|u| &u.requirement == requirement) {
                    Some(u) => self.unjudged_because(requirement, &u.reason),
                    None if !self.judged.contains(requirement) => {
                        self.judged.insert(requirement.clone());
                    }
                    None => {}
                }
            }
        }
    }

    pub fn add(&mut self, other: &Coverage) {
        self.judged.extend(other.judged.iter().cloned());
        for (requirement, reason) in &other.unjudged {
            self.unjudged_because(requirement, reason);
        }
    }

    pub fn unjudged_because(&mut self, requirement: &str, reason: &str) {
        match self.unjudged.get_mut(requirement) {
            Some(kept) if reason < kept.as_str() => *kept = reason.to_string(),
            Some(_) => {}
            None => {
                self.unjudged
                    .insert(requirement.to_string(), reason.to_string());
            }
        }
    }
}

impl State {
    pub fn read(dir: &Path) -> Option<State> {
        let text = std::fs::read_to_string(dir.join(STATE)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Written beside the record, atomically.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        let temporary = dir.join(format!("{STATE}.tmp"));
        let text = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&temporary, text)?;
        std::fs::rename(&temporary, dir.join(STATE))
    }

    pub fn add(&mut self, other: &State) {
        self.in_scope += other.in_scope;
        self.complete &= other.complete;
        self.sessions += other.sessions;
        self.elapsed_seconds = self.elapsed_seconds.max(other.elapsed_seconds);
        self.images_probed += other.images_probed;
        if self.started_at.is_empty()
            || (!other.started_at.is_empty() && other.started_at < self.started_at)
        {
            self.started_at = other.started_at.clone();
        }
        self.embedded |= other.embedded;
        if self.config_sha256.is_empty() {
            self.config_sha256 = other.config_sha256.clone();
        }
        if self.supplier.is_none() {
            self.supplier = other.supplier.clone();
        }
        if self.deviations.is_empty() {
            self.deviations = other.deviations.clone();
        }
        self.coverage.add(&other.coverage);
        for (interface, tally) in &other.interfaces {
            let mine = self.interfaces.entry(interface.clone()).or_default();
            mine.calls += tally.calls;
            mine.retries += tally.retries;
            mine.transport_errors += tally.transport_errors;
            mine.failed += tally.failed;
            mine.latency.add(&tally.latency);
        }
    }
}

/// `mallcheck-sweep/1`: the format of `sweep.json`.
pub const FORMAT: &str = "mallcheck-sweep/1";

/// The summary a folder's `sweep.json` holds.
pub fn read_summary(dir: &Path) -> Option<SweepSummary> {
    let text = std::fs::read_to_string(dir.join(SUMMARY)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Reads `sweep.jsonl` line by line; a line that does not parse (the last one, cut by a kill)
/// is skipped. Calls `each(line, offset, length)`.
pub fn for_each_line(path: &Path, mut each: impl FnMut(Line, u64, usize)) -> std::io::Result<()> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut buffer = Vec::new();
    let mut offset = 0u64;
    loop {
        buffer.clear();
        let read = reader.read_until(b'\n', &mut buffer)?;
        if read == 0 {
            break;
        }
        if buffer.ends_with(b"\n")
            && let Ok(line) = serde_json::from_slice::<Line>(&buffer)
        {
            each(line, offset, read);
        }
        offset += read as u64;
    }
    Ok(())
}

/// The length of the record up to its last whole line: what a resumed sweep keeps.
pub fn whole_length(path: &Path) -> std::io::Result<u64> {
    let mut whole = 0;
    for_each_line(path, |_, offset, length| whole = offset + length as u64)?;
    Ok(whole)
}

/// Defects by (requirement, check): how many, and the first case.
type Tallies = BTreeMap<(String, String), (u64, Option<DefectExample>)>;

/// Counts one case; the example kept is the smallest by SKU code, then message, so that shares
/// merged show the example one full sweep shows.
fn tally(map: &mut Tallies, requirement: &str, check: &str, case: DefectExample) {
    let (count, first) = map
        .entry((requirement.to_string(), check.to_string()))
        .or_insert((0, None));
    *count += 1;
    let smaller = first
        .as_ref()
        .is_none_or(|f| (&case.sku, &case.message) < (&f.sku, &f.message));
    if smaller {
        *first = Some(case);
    }
}

fn counts(map: Tallies) -> Vec<DefectCount> {
    let mut list: Vec<DefectCount> = map
        .into_iter()
        .map(|((requirement, check), (count, first))| DefectCount {
            requirement,
            check,
            count,
            first,
        })
        .collect();
    list.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(a.requirement.cmp(&b.requirement))
    });
    list
}

/// The kind of a not-judged note: its text up to the first colon ("detail: no answer: …").
fn note_kind(note: &str) -> String {
    let mut parts = note.splitn(3, ": ");
    match (parts.next(), parts.next()) {
        (Some(interface), Some(what)) => {
            format!("{interface}: {}", crate::excerpt::shorten(what, 60))
        }
        _ => crate::excerpt::shorten(note, 60),
    }
}

/// Computes the summary from the folder's record and state, and writes `sweep.json` and
/// `unsellable.csv` (sorted by SKU, UTF-8 with a BOM).
pub fn finalize(dir: &Path, partitions: Vec<String>) -> std::io::Result<Finalized> {
    let state = State::read(dir).unwrap_or_default();
    let path = dir.join(JSONL);
    let mut skus = SkuCounts {
        in_scope: state.in_scope,
        ..SkuCounts::default()
    };
    let mut defects = Tallies::new();
    let mut answer_defects = Tallies::new();
    let mut not_judged = Tallies::new();
    let mut keys_seen = std::collections::BTreeSet::new();
    // The unsellable lines, to write sorted: the codes end to end, and where each line is.
    let mut codes = String::new();
    let mut rows: Vec<(u32, u32, u64, u32)> = Vec::new();
    for_each_line(&path, |line, offset, length| match line {
        Line::Sku(sku) => {
            skus.swept += 1;
            match sku.status {
                SkuStatus::Sellable => skus.sellable += 1,
                SkuStatus::Unsellable => {
                    skus.unsellable += 1;
                    let start = codes.len() as u32;
                    codes.push_str(&sku.sku);
                    rows.push((start, codes.len() as u32, offset, length as u32));
                }
                SkuStatus::NotJudged => skus.not_judged += 1,
            }
            // Each kind once per SKU (its first reason of the kind as the case).
            let mut reasons: Vec<&Reason> = sku.reasons.iter().collect();
            reasons.sort_by(|a, b| (&a.requirement, &a.check).cmp(&(&b.requirement, &b.check)));
            reasons.dedup_by(|a, b| a.requirement == b.requirement && a.check == b.check);
            for r in reasons {
                let case = DefectExample {
                    sku: sku.sku.clone(),
                    interface: r.interface.clone(),
                    message: r.message.clone(),
                };
                tally(&mut defects, &r.requirement, &r.check, case);
            }
            let mut notes: Vec<(String, &String)> =
                sku.not_judged.iter().map(|n| (note_kind(n), n)).collect();
            notes.sort_unstable();
            notes.dedup_by(|a, b| a.0 == b.0);
            for (kind, note) in notes {
                let case = DefectExample {
                    sku: sku.sku.clone(),
                    interface: kind.split(": ").next().unwrap_or_default().to_string(),
                    message: note.clone(),
                };
                tally(&mut not_judged, &kind, "", case);
            }
        }
        Line::Answer(answer) => {
            if let Some(key) = &answer.key
                && !keys_seen.insert((answer.interface.clone(), key.clone()))
            {
                return;
            }
            // Each kind once per answer (its first finding of the kind as the case).
            let mut findings: Vec<&Reason> = answer.findings.iter().collect();
            findings.sort_by(|a, b| (&a.requirement, &a.check).cmp(&(&b.requirement, &b.check)));
            findings.dedup_by(|a, b| a.requirement == b.requirement && a.check == b.check);
            for finding in findings {
                let case = DefectExample {
                    sku: String::new(),
                    interface: finding.interface.clone(),
                    message: finding.message.clone(),
                };
                tally(
                    &mut answer_defects,
                    &finding.requirement,
                    &finding.check,
                    case,
                );
            }
        }
    })?;
    rows.sort_unstable_by(|a, b| {
        let text = |r: &(u32, u32, u64, u32)| codes.get(r.0 as usize..r.1 as usize).unwrap_or("");
        text(a).cmp(text(b))
    });
    let examples = write_csv(dir, &path, &rows)?;
    let mut interfaces = Vec::new();
    let (mut requests, mut retries, mut transport_errors) = (0, 0, 0);
    for (interface, tally) in &state.interfaces {
        requests += tally.calls;
        retries += tally.retries;
        transport_errors += tally.transport_errors;
        interfaces.push(InterfaceSummary {
            interface: interface.clone(),
            calls: tally.calls,
            retries: tally.retries,
            transport_errors: tally.transport_errors,
            failed: tally.failed,
            p50_ms: tally.latency.quantile_ms(0.50),
            p90_ms: tally.latency.quantile_ms(0.90),
            p99_ms: tally.latency.quantile_ms(0.99),
            max_ms: tally.latency.quantile_ms(1.0),
        });
    }
    let summary = SweepSummary {
        format: FORMAT.to_string(),
        target: state.target.clone(),
        partitions,
        complete: state.complete && skus.swept >= skus.in_scope,
        images: state.images.clone(),
        skus_per_second: if state.elapsed_seconds > 0.0 {
            skus.swept as f64 / state.elapsed_seconds
        } else {
            0.0
        },
        skus,
        defects: counts(defects),
        answer_defects: counts(answer_defects),
        not_judged: counts(not_judged),
        judged: state.coverage.judged.iter().cloned().collect(),
        unjudged: state
            .coverage
            .unjudged
            .iter()
            .map(|(requirement, reason)| Unjudged {
                requirement: requirement.clone(),
                reason: reason.clone(),
            })
            .collect(),
        interfaces,
        requests,
        retries,
        transport_errors,
        images_probed: state.images_probed,
        elapsed_seconds: state.elapsed_seconds,
        sessions: state.sessions,
    };
    let text = serde_json::to_vec_pretty(&summary).map_err(std::io::Error::other)?;
    std::fs::write(dir.join(SUMMARY), text)?;
    Ok(Finalized {
        summary,
        unsellable: examples,
        state,
    })
}

/// What [`finalize`] computed: the summary and the first unsellable SKUs (for the reports),
/// with the state it read (its start, target, config and declaration).
pub struct Finalized {
    pub summary: SweepSummary,
    pub unsellable: Vec<UnsellableSku>,
    pub state: State,
}

/// Unsellable SKUs the reports show with their reasons (all of them are in unsellable.csv).
pub const EXAMPLES: usize = 200;

/// `unsellable.csv`: sku, pool, name, reasons; a BOM so that Excel reads the Chinese as UTF-8.
/// Returns the first [`EXAMPLES`] of its SKUs, for the reports.
fn write_csv(
    dir: &Path,
    jsonl: &Path,
    rows: &[(u32, u32, u64, u32)],
) -> std::io::Result<Vec<UnsellableSku>> {
    let mut examples = Vec::new();
    let mut out = BufWriter::new(std::fs::File::create(dir.join(CSV))?);
    out.write_all(b"\xEF\xBB\xBF")?;
    out.write_all("sku,pool,name,reasons\r\n".as_bytes())?;
    let mut source = match std::fs::File::open(jsonl) {
        Ok(file) => Some(file),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let mut buffer = Vec::new();
    for &(_, _, offset, length) in rows {
        let Some(file) = source.as_mut() else { break };
        file.seek(SeekFrom::Start(offset))?;
        buffer.resize(length as usize, 0);
        file.read_exact(&mut buffer)?;
        let Ok(Line::Sku(sku)) = serde_json::from_slice::<Line>(&buffer) else {
            continue;
        };
        let reasons: Vec<String> = sku
            .reasons
            .iter()
            .map(|r| format!("{}: {}", r.requirement, r.message))
            .collect();
        let fields = [
            csv_field(&sku.sku),
            csv_field(&sku.pool),
            csv_field(&sku.name),
            csv_field(&reasons.join("; ")),
        ];
        out.write_all(fields.join(",").as_bytes())?;
        out.write_all(b"\r\n")?;
        if examples.len() < EXAMPLES {
            examples.push(UnsellableSku {
                sku: sku.sku,
                pool: sku.pool,
                name: sku.name,
                reasons: sku.reasons,
            });
        }
    }
    out.flush()?;
    Ok(examples)
}

/// A CSV field: quoted when it holds a comma, quote or line break; a leading `=`, `+`, `-` or
/// `@` (a formula to a spreadsheet: the supplier writes the names) is kept as text with `'`.
fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_round_down_within_six_percent() {
        for us in [
            0u64, 1, 31, 32, 33, 100, 1_000, 12_345, 1_000_000, 98_765_432,
        ] {
            let low = Histogram::lower_bound(Histogram::bucket(us));
            assert!(
                low <= us && (us - low) as f64 <= us as f64 * 0.07,
                "{us} → {low}"
            );
        }
        let mut h = Histogram::default();
        (1..=100).for_each(|ms| h.record(ms * 1000));
        assert!(
            (h.quantile_ms(0.5) - 50.0).abs() < 4.0,
            "{}",
            h.quantile_ms(0.5)
        );
        assert!(h.quantile_ms(1.0) >= 94.0);
    }

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"x\""), "\"say \"\"x\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_field("联想"), "联想");
    }
}
