//! The sweep's record on disk and its summary: `sweep.jsonl` (one line per SKU, and lines for
//! the findings on answers that belong to no single SKU), `sweep.state.json` (what a session
//! measured: requests, retries, latencies), and from both, at the end, `sweep.json` (the
//! [`SweepSummary`], for reporters) and `unsellable.csv`. The summary is always computed from
//! the files, so a resumed or merged sweep ends with the same counts as an uninterrupted one.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

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

/// One reason a SKU may not be sold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub requirement: String,
    pub check: String,
    /// The interface whose answer showed it.
    pub interface: String,
    pub message: String,
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

/// A defect and how often it was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefectCount {
    pub requirement: String,
    pub check: String,
    /// SKUs with this reason (per-SKU defects) or answers with it (the others).
    pub count: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkuCounts {
    /// SKUs in this share (all pooled SKUs without a partition).
    pub in_scope: u64,
    /// SKUs judged or found not judgeable (lines in sweep.jsonl).
    pub swept: u64,
    pub sellable: u64,
    pub unsellable: u64,
    pub not_judged: u64,
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

/// Latency percentiles and counts of one interface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InterfaceSummary {
    pub interface: String,
    pub calls: u64,
    pub retries: u64,
    pub transport_errors: u64,
    pub failed: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// `sweep.json`: the sweep's verdict over the catalogue, for a reader or a reporter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepSummary {
    /// `mallcheck-sweep/1`.
    pub format: String,
    pub target: String,
    /// The shares it covers: `["1/2"]`, `["1/2", "2/2"]` after a merge, `[]` for a full sweep.
    pub partitions: Vec<String>,
    /// Every SKU in scope was swept (a sweep stopped early says false; `--resume` continues).
    pub complete: bool,
    pub images: String,
    pub skus: SkuCounts,
    /// Reasons SKUs may not be sold, by kind: how many SKUs have each.
    pub defects: Vec<DefectCount>,
    /// Findings on answers that belong to no single SKU (pool list, SKU lists, batch
    /// envelopes, the token), by kind: how many answers had each.
    pub answer_defects: Vec<DefectCount>,
    /// Why SKUs were not judged, by reason kind.
    pub not_judged: Vec<DefectCount>,
    pub interfaces: Vec<InterfaceSummary>,
    pub requests: u64,
    pub retries: u64,
    pub transport_errors: u64,
    pub images_probed: u64,
    pub elapsed_seconds: f64,
    pub skus_per_second: f64,
    pub sessions: u64,
}

impl SweepSummary {
    pub const FORMAT: &'static str = "mallcheck-sweep/1";

    pub fn read(dir: &Path) -> Option<SweepSummary> {
        let text = std::fs::read_to_string(dir.join(SUMMARY)).ok()?;
        serde_json::from_str(&text).ok()
    }
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

fn tally(map: &mut BTreeMap<(String, String), u64>, requirement: &str, check: &str) {
    *map.entry((requirement.to_string(), check.to_string()))
        .or_insert(0) += 1;
}

fn counts(map: BTreeMap<(String, String), u64>) -> Vec<DefectCount> {
    let mut list: Vec<DefectCount> = map
        .into_iter()
        .map(|((requirement, check), count)| DefectCount {
            requirement,
            check,
            count,
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
pub fn finalize(dir: &Path, partitions: Vec<String>) -> std::io::Result<SweepSummary> {
    let state = State::read(dir).unwrap_or_default();
    let path = dir.join(JSONL);
    let mut skus = SkuCounts {
        in_scope: state.in_scope,
        ..SkuCounts::default()
    };
    let mut defects = BTreeMap::new();
    let mut answer_defects = BTreeMap::new();
    let mut not_judged: BTreeMap<(String, String), u64> = BTreeMap::new();
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
            // Each kind once per SKU.
            let mut kinds: Vec<(&str, &str)> = sku
                .reasons
                .iter()
                .map(|r| (r.requirement.as_str(), r.check.as_str()))
                .collect();
            kinds.sort_unstable();
            kinds.dedup();
            for (requirement, check) in kinds {
                tally(&mut defects, requirement, check);
            }
            let mut notes: Vec<String> = sku.not_judged.iter().map(|n| note_kind(n)).collect();
            notes.sort_unstable();
            notes.dedup();
            for note in notes {
                *not_judged.entry((note, String::new())).or_insert(0) += 1;
            }
        }
        Line::Answer(answer) => {
            if let Some(key) = &answer.key
                && !keys_seen.insert((answer.interface.clone(), key.clone()))
            {
                return;
            }
            for finding in &answer.findings {
                tally(&mut answer_defects, &finding.requirement, &finding.check);
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
        format: SweepSummary::FORMAT.to_string(),
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
    super::pages::write(dir, &summary, &examples)?;
    Ok(summary)
}

/// `unsellable.csv`: sku, pool, name, reasons; a BOM so that Excel reads the Chinese as UTF-8.
/// Writes unsellable.csv; returns the first [`super::pages::EXAMPLES`] of its SKUs, for the
/// pages.
fn write_csv(
    dir: &Path,
    jsonl: &Path,
    rows: &[(u32, u32, u64, u32)],
) -> std::io::Result<Vec<SkuLine>> {
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
        if examples.len() < super::pages::EXAMPLES {
            examples.push(sku);
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
