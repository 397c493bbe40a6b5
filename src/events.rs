//! The one contract between a run and its outputs (a leaf module: it depends on `exchange` only).
//! The runner emits these events, in order; every reporter (terminal, JSON, ...) is built from
//! them alone, so a report can be rendered again later from what a run wrote down.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::exchange::Exchange;

/// Bilingual text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    pub zh: String,
    pub en: String,
}

/// The language a person reads first: reports open in it (both are always there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    /// `zh` or `en` (also `zh-CN`, `en_US.UTF-8` and the like, as `LANG` holds them).
    pub fn parse(text: &str) -> Result<Lang, String> {
        let lower = text.to_ascii_lowercase();
        if lower.starts_with("zh") {
            Ok(Lang::Zh)
        } else if lower.starts_with("en") {
            Ok(Lang::En)
        } else {
            Err(format!(
                "unknown language {text:?}: zh or en / 语言只能是 zh 或 en"
            ))
        }
    }
}

/// How much a broken requirement weighs: MUST fails; SHOULD and BEYOND warn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Level {
    #[serde(rename = "MUST")]
    Must,
    #[serde(rename = "SHOULD")]
    Should,
    #[serde(rename = "BEYOND")]
    Beyond,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
            Level::Beyond => "BEYOND",
        }
    }

    /// The status of a finding against a requirement of this level.
    pub fn finding_status(self) -> Status {
        match self {
            Level::Must => Status::Fail,
            Level::Should | Level::Beyond => Status::Warn,
        }
    }
}

/// The standard's required interfaces (必需) and its optional ones (非必需), judged apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RequirementSet {
    Required,
    Optional,
}

impl RequirementSet {
    pub fn as_str(self) -> &'static str {
        match self {
            RequirementSet::Required => "required",
            RequirementSet::Optional => "optional",
        }
    }
}

/// What one result row says about one requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
    Warn,
    Skip,
    Blocked,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Warn => "warn",
            Status::Skip => "skip",
            Status::Blocked => "blocked",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioInfo {
    pub id: String,
    pub title: Text,
    pub set: RequirementSet,
    pub tags: Vec<String>,
    pub file: String,
}

/// One judged fact: a check (or a scenario expectation) on one requirement.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResultRow {
    pub check: String,
    pub requirement: String,
    /// Decides whether a broken requirement fails or warns.
    pub level: Level,
    pub interface: Option<String>,
    pub scenario: String,
    pub set: RequirementSet,
    /// The scenario step that produced the row (0-based) and its line in the scenario file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub status: Status,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    /// The exchange that shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<u64>,
    /// A curl line that repeats that exchange (secrets redacted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curl: Option<String>,
    /// How many identical passes this row stands for.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub count: u64,
    /// A failure or warning the run's baseline (`--baseline FILE`) accepts: its reason. Still
    /// a failure; shown as accepted, never hidden.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted: Option<String>,
}

impl ResultRow {
    /// A row with what every row has; pointer, expected, actual, evidence, step and line are
    /// filled in where there are any.
    pub fn new(
        check: &str,
        requirement: &str,
        level: Level,
        scenario: &str,
        set: RequirementSet,
        status: Status,
        message: String,
    ) -> ResultRow {
        ResultRow {
            check: check.to_string(),
            requirement: requirement.to_string(),
            level,
            interface: None,
            scenario: scenario.to_string(),
            set,
            step: None,
            line: None,
            status,
            message,
            pointer: None,
            expected: None,
            actual: None,
            exchange: None,
            curl: None,
            count: 1,
            accepted: None,
        }
    }
}

fn one() -> u64 {
    1
}

fn is_one(n: &u64) -> bool {
    *n == 1
}

/// What a run says of one set (required or optional). Only `Pass` can be signed: every MUST
/// requirement of the set in scope was judged and none failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SetVerdict {
    Pass,
    /// A MUST requirement of the set failed.
    Fail,
    /// Nothing failed, but MUST requirements of the set were not judged (orders not allowed, a
    /// selection, a blocked scenario, a wait that ran out); `untested_must` lists them.
    Incomplete,
    /// Nothing of the set could be judged.
    NotTested,
    /// The run never reached the supplier or was interrupted: it proves nothing either way.
    Error,
}

impl SetVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            SetVerdict::Pass => "pass",
            SetVerdict::Fail => "fail",
            SetVerdict::Incomplete => "incomplete",
            SetVerdict::NotTested => "not_tested",
            SetVerdict::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub required: SetVerdict,
    pub optional: SetVerdict,
}

/// What the results on one requirement add up to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CoverageStatus {
    Fail,
    Warn,
    /// Judged in part; the rest was skipped or blocked.
    Partial,
    Pass,
    NotTested,
}

impl CoverageStatus {
    /// Fail, warn, partial, pass or not tested, from the statuses of a requirement's rows.
    pub fn of(statuses: &BTreeSet<Status>) -> CoverageStatus {
        let has = |s: Status| statuses.contains(&s);
        if has(Status::Fail) {
            CoverageStatus::Fail
        } else if has(Status::Warn) {
            CoverageStatus::Warn
        } else if has(Status::Pass) && (has(Status::Skip) || has(Status::Blocked)) {
            CoverageStatus::Partial
        } else if has(Status::Pass) {
            CoverageStatus::Pass
        } else {
            CoverageStatus::NotTested
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CoverageStatus::Fail => "fail",
            CoverageStatus::Warn => "warn",
            CoverageStatus::Partial => "partial",
            CoverageStatus::Pass => "pass",
            CoverageStatus::NotTested => "not_tested",
        }
    }

    /// Not fully judged: a verdict says nothing about it.
    pub fn is_untested(self) -> bool {
        matches!(self, CoverageStatus::Partial | CoverageStatus::NotTested)
    }
}

/// One requirement of the standard and what the run found on it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RequirementCoverage {
    pub id: String,
    pub level: Level,
    pub set: RequirementSet,
    pub text_zh: String,
    pub text_en: String,
    pub status: CoverageStatus,
}

/// A departure from the standard a supplier declares (`[[declaration.deviations]]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deviation {
    pub requirement: String,
    pub note: String,
}

/// What a run was asked to cover and what it was allowed to do, as the report records it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunScope {
    pub scenarios: Vec<String>,
    pub tags: Vec<String>,
    pub interfaces: Vec<String>,
    pub required_only: bool,
    /// Scenarios tagged `orders` ran (a test environment, `--allow-orders`, or the embedded supplier).
    pub orders_allowed: bool,
    /// The reference supplier's admin endpoints answered (its clock and stock could be moved).
    pub admin: bool,
    /// SKUs per pool whose detail, images and prices were read (`all`, or a number).
    #[serde(default)]
    pub sample: String,
    /// The seed that chose them: `--seed` with it picks the same SKUs again.
    #[serde(default)]
    pub seed: u64,
    /// The supplier's name, as it declares it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier: Option<String>,
    /// Optional interfaces the supplier's declaration leaves out: not called, shown as not
    /// implemented, out of the optional set's verdict.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_implemented: Vec<String>,
    /// Departures from the standard the supplier declares (judged all the same).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deviations: Vec<Deviation>,
    /// A sweep of the whole catalogue (`mallcheck sweep`): only the catalogue's data is judged.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sweep: bool,
}

impl RunScope {
    /// Why the run covers less than the whole standard, one phrase each (empty: nothing narrowed it).
    pub fn narrowed_by(&self) -> Vec<String> {
        let mut why = Vec::new();
        if self.sweep {
            // Orders and admin are no part of a sweep: saying they were not allowed is noise.
            return vec![
                "全量商品扫描：只判定商品数据，不判定订单与其他接口 / a catalogue sweep: only the catalogue's data is judged, not orders nor the other interfaces"
                    .into(),
            ];
        }
        if !self.scenarios.is_empty() {
            why.push(format!("--scenario {}", self.scenarios.join(",")));
        }
        if !self.tags.is_empty() {
            why.push(format!("--tag {}", self.tags.join(",")));
        }
        if !self.interfaces.is_empty() {
            why.push(format!("--interface {}", self.interfaces.join(",")));
        }
        if self.required_only {
            why.push("--required-only".into());
        }
        if !self.orders_allowed {
            why.push(
                "不下单（没有 --allow-orders，也没有 environment = \"test\"） / orders not allowed (no --allow-orders, not environment = \"test\")"
                    .into(),
            );
        }
        if !self.admin {
            why.push("无管理接口 / no admin endpoints".into());
        }
        if !self.not_implemented.is_empty() {
            let list = self.not_implemented.join(", ");
            why.push(format!(
                "供应商声明未实现：{list} / declared not implemented: {list}"
            ));
        }
        why
    }
}

/// One interface of the profile, as reports list them (in the standard's section order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceInfo {
    pub id: String,
    /// The standard's section, e.g. `2.12.1`.
    pub section: String,
    pub name: Text,
    pub set: RequirementSet,
    pub requirements: Vec<String>,
}

// RunStarted is the large one and is sent once a run: boxing it would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Event {
    RunStarted {
        run_id: String,
        target: String,
        embedded: bool,
        /// Where the profile came from ("embedded" or its folder).
        profile: String,
        /// `mallcheck <version>` that ran.
        #[serde(default)]
        tool: String,
        /// The profile's `[profile] name` and its fingerprint ([`crate::profile::Profile::sha256`]).
        #[serde(default)]
        profile_name: String,
        #[serde(default)]
        profile_sha256: String,
        /// The interfaces of the profile, in section order.
        #[serde(default)]
        interfaces: Vec<InterfaceInfo>,
        started_at: String,
        scenarios: Vec<ScenarioInfo>,
        /// The requirements the verdict answers for: all of them (the required set's only with
        /// `--required-only`), whatever the selection; a selection is therefore never a pass.
        in_scope: Vec<String>,
        /// What narrowed the run (the selection, orders not allowed, no admin endpoints).
        #[serde(default)]
        scope: RunScope,
    },
    ScenarioStarted {
        scenario: String,
    },
    Exchange(Box<Exchange>),
    Result(Box<ResultRow>),
    ScenarioFinished {
        scenario: String,
        status: Status,
        duration_ms: u64,
        /// Why it was skipped or blocked, or why it stopped early.
        note: Option<String>,
    },
    /// What became of the orders left open (this run's, and those earlier runs left), after the
    /// scenarios ended; sent only when there were any.
    OrdersClosed(OrderCleanup),
    /// The transitions of the order's life a run drove, with what the supplier did.
    OrderTransitions(Vec<TransitionSeen>),
    /// What the baseline (`--baseline FILE`) accepted and what it did not, sent just before
    /// `RunFinished` when the run has one.
    Baseline(BaselineSummary),
    /// What a sweep of the whole catalogue found (`mallcheck sweep`): sent once, before
    /// `RunFinished`, by sweeps only.
    SweepFinished(Box<SweepFinished>),
    RunFinished {
        verdict: Verdict,
        duration_ms: u64,
        /// A runtime error that ended the run early (unreachable supplier, ...).
        aborted: Option<String>,
        /// Every requirement of the profile, with what the run found on it (computed once, by
        /// the runner; reporters only show it).
        coverage: Vec<RequirementCoverage>,
        /// MUST requirements in scope that were not fully judged (skipped or blocked).
        untested_must: Vec<String>,
        /// Requirements with a part only the reference supplier's admin clock or a run 36 h
        /// later can judge (expiry after 36 h, concurrent pre-orders on a set stock).
        #[serde(default)]
        clock_only: Vec<String>,
    },
}

/// One order the harness left open, and what closing it came to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderNote {
    /// The mall's order number the harness sent.
    pub yggc_order: String,
    /// The supplier's order id, when one is known.
    pub order_id: Option<String>,
    /// The run that created it.
    pub run_id: String,
    /// What happened, or why it could not be cancelled.
    pub note: String,
}

/// The orders left open, sorted by what closing them came to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCleanup {
    pub cancelled: Vec<OrderNote>,
    /// Cancelled or finished before the harness came to them.
    pub already_closed: Vec<OrderNote>,
    /// Still open, or not known to be closed: kept in the ledger, tried again by the next run
    /// and by `mallcheck cleanup`.
    pub not_cancelled: Vec<OrderNote>,
}

impl OrderCleanup {
    pub fn is_empty(&self) -> bool {
        self.cancelled.is_empty() && self.already_closed.is_empty() && self.not_cancelled.is_empty()
    }
}

/// One transition of the order's life (`[[order_life]]` of the profile) and what a run saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitionSeen {
    pub from: String,
    pub action: String,
    /// `accept`, `refuse`, or `either` (the standard is silent).
    pub expected: String,
    /// `accepted`, `refused`, `no answer`, or `not reached`.
    pub seen: String,
    pub requirement: Option<String>,
}

/// What a baseline did to a run: which of its entries matched, which are stale, and what the
/// verdict would be with the accepted failures counted as judged (the exit code follows it; the
/// verdict of `RunFinished` stays what the supplier did).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineSummary {
    /// The baseline file as given.
    pub file: String,
    /// Failure and warning rows it accepted.
    pub accepted: u64,
    /// Failure rows (MUST) it did not accept: new.
    pub new_failures: u64,
    /// Warning rows (SHOULD, BEYOND) it did not accept.
    pub new_warnings: u64,
    pub entries: Vec<BaselineEntryUse>,
    /// The verdict once accepted failures count as judged: `pass` here with `fail` in
    /// `RunFinished` is "every failure is a known, accepted one", never PASS.
    pub residual: Verdict,
}

impl BaselineSummary {
    /// Whether the baseline accepted every failure of `set` that made its verdict fail.
    pub fn accepts_all(&self, set: RequirementSet, verdict: &Verdict) -> bool {
        let (seen, left) = match set {
            RequirementSet::Required => (verdict.required, self.residual.required),
            RequirementSet::Optional => (verdict.optional, self.residual.optional),
        };
        seen == SetVerdict::Fail && left != SetVerdict::Fail
    }

    pub fn stale(&self) -> impl Iterator<Item = &BaselineEntryUse> {
        self.entries
            .iter()
            .filter(|e| e.state == BaselineEntryState::Stale)
    }
}

/// One `[[accept]]` entry of a baseline and what it matched in the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineEntryUse {
    /// Its line in the baseline file.
    pub line: usize,
    /// `requirement / check / interface / scenario [pointer]`.
    pub identity: String,
    pub reason: String,
    /// Rows it accepted.
    pub matched: u64,
    pub state: BaselineEntryState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BaselineEntryState {
    /// It accepted at least one failure or warning.
    Used,
    /// What it names was judged and held: fixed? remove it from the baseline.
    Stale,
    /// What it names was not judged in this run (not selected, skipped, blocked).
    NotJudged,
}

// The sweep (`mallcheck sweep`): what a sweep of the whole catalogue found, for the reporters.

/// One reason a SKU may not be sold (a line of `sweep.jsonl` carries them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkuReason {
    pub requirement: String,
    pub check: String,
    /// The interface whose answer showed it.
    pub interface: String,
    pub message: String,
}

/// The first case of a defect, by the smallest SKU code (then message): the same whether the
/// catalogue was swept at once or in shares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefectExample {
    /// Empty for a defect of an answer that belongs to no single SKU.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sku: String,
    pub interface: String,
    pub message: String,
}

/// A defect and how often it was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefectCount {
    pub requirement: String,
    pub check: String,
    /// SKUs with this reason (per-SKU defects) or answers with it (the others).
    pub count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<DefectExample>,
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

/// Latency percentiles and counts of one interface over a sweep.
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

/// `sweep.json`, and the `sweep` section of a sweep's report.json.
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
    /// Requirements some answer of the sweep judged.
    #[serde(default)]
    pub judged: Vec<String>,
    /// Requirements left unjudged somewhere (an answer not read, a check that could not read
    /// its input), with the first reason.
    #[serde(default)]
    pub unjudged: Vec<Unjudged>,
    pub interfaces: Vec<InterfaceSummary>,
    pub requests: u64,
    pub retries: u64,
    pub transport_errors: u64,
    pub images_probed: u64,
    pub elapsed_seconds: f64,
    pub skus_per_second: f64,
    pub sessions: u64,
}

/// A requirement a sweep could not judge everywhere, and why (the first reason).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unjudged {
    pub requirement: String,
    pub reason: String,
}

/// What a sweep says of the catalogue. Never a PASS: a sweep judges the catalogue's data, not
/// the standard (its run verdict is `incomplete` at best).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SweepVerdict {
    /// Every SKU in scope was judged and may be sold; no MUST broken by any answer.
    Sellable,
    /// Some SKU may not be sold, or an answer of no single SKU broke a MUST.
    Unsellable,
    /// Not every SKU was swept or judged, and nothing read was wrong.
    Incomplete,
}

impl SweepVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            SweepVerdict::Sellable => "sellable",
            SweepVerdict::Unsellable => "unsellable",
            SweepVerdict::Incomplete => "incomplete",
        }
    }

    pub fn text(self) -> Text {
        let (zh, en) = match self {
            SweepVerdict::Sellable => ("全部 SKU 可售", "every SKU may be sold"),
            SweepVerdict::Unsellable => (
                "不合格：有不可售的 SKU，或有应答违反 MUST 需求",
                "failed: unsellable SKUs, or answers that break a MUST",
            ),
            SweepVerdict::Incomplete => (
                "未完成：有 SKU 未扫描或未判定",
                "incomplete: SKUs not swept or not judged",
            ),
        };
        Text {
            zh: zh.into(),
            en: en.into(),
        }
    }
}

/// A SKU that may not be sold, as the reports show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsellableSku {
    pub sku: String,
    pub pool: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub reasons: Vec<SkuReason>,
}

/// The end of a sweep, sent after its result rows and before `RunFinished`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepFinished {
    pub verdict: SweepVerdict,
    pub summary: SweepSummary,
    /// The first unsellable SKUs in code order (every one is in `unsellable.csv`).
    pub unsellable: Vec<UnsellableSku>,
}
