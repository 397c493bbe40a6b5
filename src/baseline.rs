//! Baselines: the failures a supplier's pipeline has accepted, each with a reason, so that it
//! passes on those and fails on anything new (`mallcheck run --baseline FILE`), and the file
//! written from a run (`mallcheck baseline DIR`).
//!
//! A failure is named by what does not move when the run is repeated with another sample seed:
//! its requirement, check, interface and scenario, and, to narrow it, a pattern of its JSON
//! pointer (`/result/*/price`: `*` one segment, `**` any number). Never by its message, which
//! quotes SKU ids and prices.
//!
//! Accepted failures stay failures: their rows carry the reason (`ResultRow::accepted`), the
//! verdict of the run stays `fail`, and [`Applier`] adds a `Baseline` event with what the
//! verdict would be with them counted as judged; only the exit code follows that.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use crate::events::{
    BaselineEntryState, BaselineEntryUse, BaselineSummary, Event, RequirementSet, ResultRow, Status,
};
use crate::profile::Profile;
use crate::report::json::Report;

/// The reason `mallcheck baseline` writes: a baseline that still has it is refused.
pub const PLACEHOLDER_REASON: &str = "TODO: why this is accepted";

/// One accepted failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its line in the file (1-based).
    pub line: usize,
    pub requirement: String,
    /// `None`: any check, interface, scenario or pointer.
    pub check: Option<String>,
    pub interface: Option<String>,
    pub scenario: Option<String>,
    pub pointer: Option<String>,
    pub reason: String,
    pub accepted_by: Option<String>,
    pub accepted_on: Option<String>,
}

impl Entry {
    /// Whether `row` is the failure this entry names (its status is not looked at).
    pub fn matches(&self, row: &ResultRow) -> bool {
        self.matches_ignoring_pointer(row)
            && match &self.pointer {
                None => true,
                Some(pattern) => row
                    .pointer
                    .as_deref()
                    .is_some_and(|p| pointer_matches(pattern, p)),
            }
    }

    fn matches_ignoring_pointer(&self, row: &ResultRow) -> bool {
        let same = |want: &Option<String>, have: Option<&str>| {
            want.as_deref().is_none_or(|w| Some(w) == have)
        };
        self.requirement == row.requirement
            && same(&self.check, Some(&row.check))
            && same(&self.interface, row.interface.as_deref())
            && same(&self.scenario, Some(&row.scenario))
    }

    /// `requirement / check / interface / scenario`, `*` for any, and the pointer pattern.
    pub fn identity(&self) -> String {
        let any = |v: &Option<String>| v.clone().unwrap_or_else(|| "*".into());
        let mut text = format!(
            "{} / {} / {} / {}",
            self.requirement,
            any(&self.check),
            any(&self.interface),
            any(&self.scenario)
        );
        if let Some(pointer) = &self.pointer {
            let _ = write!(text, " at {pointer}");
        }
        text
    }
}

/// A loaded baseline file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Baseline {
    /// The path as given.
    pub file: String,
    pub entries: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    accept: Vec<toml::Spanned<RawEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    requirement: String,
    check: Option<String>,
    interface: Option<String>,
    scenario: Option<String>,
    pointer: Option<String>,
    reason: Option<String>,
    accepted_by: Option<String>,
    accepted_on: Option<toml::Value>,
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

impl Baseline {
    /// Reads and checks a baseline file: every error names the file and line.
    pub fn load(path: &Path, profile: &Profile) -> Result<Baseline, String> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "无法读取基线文件 / cannot read the baseline {}: {e}",
                path.display()
            )
        })?;
        Baseline::parse(&path.display().to_string(), &text, profile)
    }

    /// Parses a baseline's text; `file` names it in errors.
    pub fn parse(file: &str, text: &str, profile: &Profile) -> Result<Baseline, String> {
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(1, |s| line_of(text, s.start));
            format!(
                "{file}:{line}: 基线文件格式错误：{0} / {file}:{line}: malformed baseline: {0}",
                e.message().trim()
            )
        })?;
        let mut entries = Vec::new();
        for spanned in raw.accept {
            let line = line_of(text, spanned.span().start);
            let raw = spanned.into_inner();
            let at = |what: String| format!("{file}:{line}: {what}");
            if profile.requirement(&raw.requirement).is_none() {
                return Err(at(format!(
                    "未知需求 / unknown requirement {:?}; `mallcheck requirements` lists them",
                    raw.requirement
                )));
            }
            if let Some(id) = &raw.interface
                && profile.interface(id).is_none()
            {
                return Err(at(format!(
                    "未知接口 / unknown interface {id:?}; `mallcheck list` shows the ids"
                )));
            }
            if let Some(pointer) = &raw.pointer
                && !(pointer.is_empty() || pointer.starts_with('/'))
            {
                return Err(at(format!(
                    "指针应以「/」开头（如 /result/*/price），而不是 {pointer:?} / a pointer pattern starts with / (like /result/*/price), not {pointer:?}"
                )));
            }
            let reason = raw.reason.unwrap_or_default().trim().to_string();
            if reason.is_empty() {
                return Err(at(
                    "缺少接受理由 / reason = \"…\" is missing: every accepted failure says why"
                        .into(),
                ));
            }
            if reason.starts_with("TODO") {
                return Err(at(format!(
                    "接受理由仍是占位符 / the reason is still the placeholder {reason:?}: write why this failure is accepted"
                )));
            }
            entries.push(Entry {
                line,
                requirement: raw.requirement,
                check: raw.check,
                interface: raw.interface,
                scenario: raw.scenario,
                pointer: raw.pointer,
                reason,
                accepted_by: raw.accepted_by,
                accepted_on: raw.accepted_on.map(|v| match v {
                    toml::Value::String(s) => s,
                    other => other.to_string(),
                }),
            });
        }
        Ok(Baseline {
            file: file.to_string(),
            entries,
        })
    }

    /// The first entry that accepts `row`, a failure or a warning.
    pub fn accepting(&self, row: &ResultRow) -> Option<usize> {
        // A scenario that broke (a panic, an internal error) is the harness's failure, not a
        // known issue of the supplier: never accepted.
        if !matches!(row.status, Status::Fail | Status::Warn)
            || row.check == crate::checks::ids::SCENARIO
        {
            return None;
        }
        self.entries.iter().position(|e| e.matches(row))
    }
}

/// Whether a JSON pointer matches a pattern: `*` stands for one segment, `**` for any number.
pub fn pointer_matches(pattern: &str, pointer: &str) -> bool {
    fn go(pattern: &[&str], pointer: &[&str]) -> bool {
        match pattern.split_first() {
            None => pointer.is_empty(),
            Some((&"**", rest)) => (0..=pointer.len()).any(|skip| go(rest, &pointer[skip..])),
            Some((first, rest)) => pointer
                .split_first()
                .is_some_and(|(p, more)| (*first == "*" || first == p) && go(rest, more)),
        }
    }
    let pattern: Vec<&str> = pattern.split('/').collect();
    let pointer: Vec<&str> = pointer.split('/').collect();
    go(&pattern, &pointer)
}

/// A pointer with its array indexes as `*`: the same place whatever SKUs the sample drew.
pub fn pointer_pattern(pointer: &str) -> String {
    pointer
        .split('/')
        .map(|segment| {
            if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
                "*"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Applies a baseline to the event stream as it goes to the reporters: marks accepted rows,
/// and before `RunFinished` adds the `Baseline` event.
pub struct Applier {
    baseline: Baseline,
    profile: Arc<Profile>,
    matched: Vec<u64>,
    /// Something the entry names (its pointer aside) was judged and held.
    held: Vec<bool>,
    tally: crate::runner::Tally,
    sets: HashMap<String, RequirementSet>,
    statuses: Vec<(RequirementSet, Status)>,
    in_scope: Vec<String>,
    accepted: u64,
    new_failures: u64,
    new_warnings: u64,
}

impl Applier {
    pub fn new(baseline: Baseline, profile: Arc<Profile>) -> Applier {
        let n = baseline.entries.len();
        Applier {
            baseline,
            profile,
            matched: vec![0; n],
            held: vec![false; n],
            tally: crate::runner::Tally::default(),
            sets: HashMap::new(),
            statuses: Vec::new(),
            in_scope: Vec::new(),
            accepted: 0,
            new_failures: 0,
            new_warnings: 0,
        }
    }

    /// The event as the reporters get it, preceded by the `Baseline` event on `RunFinished`.
    pub fn apply(&mut self, mut event: Event) -> Vec<Event> {
        match &mut event {
            Event::RunStarted {
                scenarios,
                in_scope,
                ..
            } => {
                self.in_scope = in_scope.clone();
                self.sets = scenarios.iter().map(|s| (s.id.clone(), s.set)).collect();
            }
            Event::Result(row) => self.row(row),
            Event::ScenarioFinished {
                scenario, status, ..
            } => {
                if let Some(set) = self.sets.get(scenario) {
                    self.statuses.push((*set, *status));
                }
            }
            Event::RunFinished { aborted, .. } => {
                let summary = self.summary(aborted.is_some());
                return vec![Event::Baseline(summary), event];
            }
            _ => {}
        }
        vec![event]
    }

    fn row(&mut self, row: &mut ResultRow) {
        match self.baseline.accepting(row) {
            Some(i) => {
                self.matched[i] += 1;
                self.accepted += 1;
                row.accepted = Some(self.baseline.entries[i].reason.clone());
                // Judged, and a known failure: for the residual verdict it counts as held.
                let mut judged = row.clone();
                judged.status = Status::Pass;
                self.tally.note(&judged);
            }
            None => {
                match row.status {
                    Status::Fail => self.new_failures += 1,
                    Status::Warn => self.new_warnings += 1,
                    Status::Pass => {
                        for (i, entry) in self.baseline.entries.iter().enumerate() {
                            if entry.matches_ignoring_pointer(row) {
                                self.held[i] = true;
                            }
                        }
                    }
                    Status::Skip | Status::Blocked => {}
                }
                self.tally.note(row);
            }
        }
    }

    fn summary(&self, aborted: bool) -> BaselineSummary {
        let coverage = self.tally.coverage(&self.profile);
        let untested = crate::runner::untested_must(&coverage, &self.in_scope);
        let residual = self
            .tally
            .verdict(&self.statuses, &coverage, &untested, aborted);
        let entries = self
            .baseline
            .entries
            .iter()
            .enumerate()
            .map(|(i, entry)| BaselineEntryUse {
                line: entry.line,
                identity: entry.identity(),
                reason: entry.reason.clone(),
                matched: self.matched[i],
                state: if self.matched[i] > 0 {
                    BaselineEntryState::Used
                } else if self.held[i] {
                    BaselineEntryState::Stale
                } else {
                    BaselineEntryState::NotJudged
                },
            })
            .collect();
        BaselineSummary {
            file: self.baseline.file.clone(),
            accepted: self.accepted,
            new_failures: self.new_failures,
            new_warnings: self.new_warnings,
            entries,
            residual,
        }
    }
}

/// What one failure identity of a run adds up to.
struct Seen {
    level: &'static str,
    rows: usize,
    pointers: BTreeSet<String>,
    message: String,
}

/// A text for a TOML comment: one line, no control characters, shortened.
fn comment_text(text: &str) -> String {
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
    crate::excerpt::shorten(&line, 160)
}

fn quoted(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// A baseline accepting every failure and warning of `report` (one entry per requirement,
/// check, interface and scenario), each with the placeholder reason the user must replace.
/// `source` names the run folder in the file's head.
pub fn write_from_report(report: &Report, source: &str) -> (String, usize) {
    type Key = (String, String, Option<String>, String);
    let mut seen: BTreeMap<Key, Seen> = BTreeMap::new();
    for row in report
        .results
        .iter()
        .filter(|r| matches!(r.status, Status::Fail | Status::Warn))
        .filter(|r| r.check != crate::checks::ids::SCENARIO)
    {
        let key = (
            row.requirement.clone(),
            row.check.clone(),
            row.interface.clone(),
            row.scenario.clone(),
        );
        let entry = seen.entry(key).or_insert_with(|| Seen {
            level: row.level.as_str(),
            rows: 0,
            pointers: BTreeSet::new(),
            message: row.message.clone(),
        });
        entry.rows += 1;
        if let Some(pointer) = &row.pointer {
            entry.pointers.insert(pointer_pattern(pointer));
        }
    }
    let mut text = String::new();
    let _ = writeln!(
        text,
        "# mallcheck 基线：已接受的已知问题 baseline: accepted known failures.\n\
         # Written by `mallcheck baseline` from {} (run {}, seed {}, target {}).\n\
         #\n\
         # 每条 [[accept]] 以需求、检查、接口、场景标识一个问题（不是消息文本，其中的 SKU 与价格随抽样种子变化）。\n\
         # Each [[accept]] names a failure by requirement, check, interface and scenario, not by its\n\
         # message (its SKU ids and prices change with the sample seed); leave a key out to match any.\n\
         # `pointer = \"/result/*/price\"` narrows an entry (`*` one segment, `**` any number).\n\
         # 请为每条填写理由，理由仍为 TODO 的基线会被拒绝 Replace every reason: a baseline whose\n\
         # reasons still say TODO is refused. accepted_by and accepted_on sign an entry.",
        comment_text(source),
        comment_text(&report.run_id),
        report.scope.seed,
        comment_text(&report.target),
    );
    for ((requirement, check, interface, scenario), s) in &seen {
        let _ = writeln!(text, "\n[[accept]]");
        let _ = writeln!(text, "requirement = {}", quoted(requirement));
        let _ = writeln!(text, "check = {}", quoted(check));
        if let Some(interface) = interface {
            let _ = writeln!(text, "interface = {}", quoted(interface));
        }
        let _ = writeln!(text, "scenario = {}", quoted(scenario));
        let _ = writeln!(text, "reason = {}", quoted(PLACEHOLDER_REASON));
        let _ = writeln!(text, "# accepted_by = \"\"\n# accepted_on = \"\"");
        let _ = writeln!(
            text,
            "# {}, {} row{}, e.g. {}",
            s.level,
            s.rows,
            if s.rows == 1 { "" } else { "s" },
            comment_text(&s.message)
        );
        for pointer in s.pointers.iter().take(5) {
            let _ = writeln!(text, "# pointer = {}", quoted(pointer));
        }
    }
    (text, seen.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Level;

    fn profile() -> Profile {
        Profile::embedded().expect("the embedded profile loads")
    }

    fn row(requirement: &str, status: Status, pointer: Option<&str>) -> ResultRow {
        ResultRow {
            interface: Some("prices".into()),
            pointer: pointer.map(str::to_string),
            ..ResultRow::new(
                "price-rule",
                requirement,
                Level::Must,
                "catalogue",
                RequirementSet::Required,
                status,
                "sku 125921000 price 7139.90 > market_price 7134.90".into(),
            )
        }
    }

    const ONE: &str = r#"
[[accept]]
requirement = "PRC-NOT-ABOVE-MARKET"
check = "price-rule"
interface = "prices"
scenario = "catalogue"
reason = "the market price feed lags a day"
"#;

    #[test]
    fn an_entry_matches_its_identity_whatever_the_message_and_index() {
        let baseline = Baseline::parse("b.toml", ONE, &profile()).expect("parses");
        assert_eq!(baseline.entries[0].line, 2);
        let fail = row(
            "PRC-NOT-ABOVE-MARKET",
            Status::Fail,
            Some("/result/7/price"),
        );
        assert_eq!(baseline.accepting(&fail), Some(0));
        let mut other = fail.clone();
        other.message = "sku 1 price 2 > market_price 1".into();
        assert_eq!(baseline.accepting(&other), Some(0));
        other.scenario = "catalogue-extensions".into();
        assert_eq!(baseline.accepting(&other), None);
        assert_eq!(
            baseline.accepting(&row("PRC-MONEY", Status::Fail, None)),
            None
        );
        // A pass is never "accepted".
        assert_eq!(
            baseline.accepting(&row("PRC-NOT-ABOVE-MARKET", Status::Pass, None)),
            None
        );
    }

    #[test]
    fn pointer_patterns() {
        assert!(pointer_matches("/result/*/price", "/result/12/price"));
        assert!(!pointer_matches(
            "/result/*/price",
            "/result/12/market_price"
        ));
        assert!(!pointer_matches("/result/*/price", "/result/price"));
        assert!(pointer_matches("/result/**", "/result/1/a/b"));
        assert!(pointer_matches("/**/price", "/result/3/price"));
        assert!(!pointer_matches("/**/price", "/result/3/prices"));
        assert_eq!(pointer_pattern("/result/12/sku/0"), "/result/*/sku/*");
        let text = format!("{ONE}pointer = \"/result/*/price\"\n");
        let baseline = Baseline::parse("b.toml", &text, &profile()).expect("parses");
        let at =
            |p: Option<&str>| baseline.accepting(&row("PRC-NOT-ABOVE-MARKET", Status::Fail, p));
        assert_eq!(at(Some("/result/3/price")), Some(0));
        assert_eq!(at(Some("/result/3/market_price")), None);
        assert_eq!(at(None), None);
    }

    #[test]
    fn a_broken_baseline_names_its_line() {
        let p = profile();
        let cases = [
            ("[[accept]\nrequirement = 1\n", "b.toml:1:"),
            (
                "\n\n[[accept]]\nrequirment = \"PRC-MONEY\"\nreason = \"x\"\n",
                "b.toml:4:",
            ),
            (
                "[[accept]]\nrequirement = \"NO-SUCH\"\nreason = \"x\"\n",
                "unknown requirement",
            ),
            (
                "[[accept]]\nrequirement = \"PRC-MONEY\"\ninterface = \"nope\"\nreason = \"x\"\n",
                "unknown interface",
            ),
            (
                "[[accept]]\nrequirement = \"PRC-MONEY\"\n",
                "b.toml:1: 缺少接受理由",
            ),
            (
                "# head\n[[accept]]\nrequirement = \"PRC-MONEY\"\nreason = \"TODO: why this is accepted\"\n",
                "b.toml:2: 接受理由仍是占位符",
            ),
            (
                "[[accept]]\nrequirement = \"PRC-MONEY\"\npointer = \"result/*\"\nreason = \"x\"\n",
                "a pointer pattern starts with /",
            ),
        ];
        for (text, expected) in cases {
            let error = Baseline::parse("b.toml", text, &p).expect_err(text);
            assert!(error.contains(expected), "{text:?}: {error}");
        }
        assert!(
            Baseline::parse("b.toml", "", &p)
                .expect("empty")
                .entries
                .is_empty()
        );
    }

    #[test]
    fn a_written_baseline_reads_back_once_its_reasons_are_written() {
        let p = profile();
        let mut report = crate::report::json::JsonReporter::new("unused.json".into())
            .report()
            .clone();
        report.results = vec![
            row(
                "PRC-NOT-ABOVE-MARKET",
                Status::Fail,
                Some("/result/0/price"),
            ),
            row(
                "PRC-NOT-ABOVE-MARKET",
                Status::Fail,
                Some("/result/9/price"),
            ),
            row("PRC-MONEY", Status::Pass, None),
        ];
        report.results[1].message = "a \"quoted\"\nline".into();
        let (text, n) = write_from_report(&report, "reports/x");
        assert_eq!(n, 1);
        assert!(text.contains("# pointer = \"/result/*/price\""), "{text}");
        let refused = Baseline::parse("b.toml", &text, &p).expect_err("TODO refused");
        assert!(refused.contains("占位符"), "{refused}");
        let edited = text.replace(PLACEHOLDER_REASON, "known: prices are fixed weekly");
        let baseline = Baseline::parse("b.toml", &edited, &p).expect("reads back");
        assert_eq!(baseline.entries.len(), 1);
        assert_eq!(
            baseline.accepting(&report.results[0]),
            Some(0),
            "it accepts what it was written from"
        );
    }
}
