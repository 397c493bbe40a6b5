//! Two runs compared (`mallcheck diff RUN_A RUN_B`): the failures new in B, those fixed, those
//! still there, and the results that changed although the supplier need not have (a requirement
//! or a scenario moving between pass, skip and not judged); and whether the runs are comparable
//! at all (target, profile, config, selection, sample seed).
//!
//! A failure is named as a baseline names it (requirement, check, interface, scenario), never
//! by its message. Pure functions over two `report.json`s.

use crate::lang::{Lang, message, pick};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;

use crate::events::{CoverageStatus, Status};
use crate::report::json::Report;

/// A run folder as read for a diff.
#[derive(Debug, Clone)]
pub struct RunFolder {
    pub dir: String,
    pub report: Report,
    /// `config_sha256` of its manifest.json, when it has one.
    pub config_sha256: Option<String>,
}

impl RunFolder {
    /// Reads `DIR/report.json` (and `DIR/manifest.json` when present); `dir` may also be the
    /// report.json itself.
    pub fn read(dir: &Path) -> Result<RunFolder, String> {
        let (folder, file) = if dir.is_file() {
            (dir.parent().unwrap_or(Path::new(".")), dir.to_path_buf())
        } else {
            (dir, dir.join(crate::report::json::REPORT_FILE))
        };
        let text = std::fs::read_to_string(&file).map_err(|e| {
            format!(
                "无法读取 / cannot read {}: {e} (a run folder, the --out of a run, holds report.json)",
                file.display()
            )
        })?;
        let report: Report = serde_json::from_str(&text).map_err(|e| {
            format!(
                "{}:{}:{}: 不是 mallcheck 的 report.json / not a mallcheck report.json: {e}",
                file.display(),
                e.line(),
                e.column()
            )
        })?;
        let config_sha256 = std::fs::read_to_string(folder.join("manifest.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|m| m.get("config_sha256")?.as_str().map(str::to_string));
        Ok(RunFolder {
            dir: dir.display().to_string(),
            report,
            config_sha256,
        })
    }
}

/// A failure (or warning) of a run, by its identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub requirement: String,
    pub check: String,
    pub interface: Option<String>,
    pub scenario: String,
    /// `MUST`, `SHOULD` or `BEYOND`.
    pub level: String,
    /// `fail` or `warn`.
    pub status: String,
    /// Rows with this identity in A and in B.
    pub rows_a: usize,
    pub rows_b: usize,
    /// One message, as an example (B's when it has one).
    pub example: String,
}

impl Finding {
    pub fn identity(&self) -> String {
        format!(
            "{} / {} / {} / {}",
            self.requirement,
            self.check,
            self.interface.as_deref().unwrap_or("*"),
            self.scenario
        )
    }
}

/// A requirement or scenario whose result changed between pass, partial, skipped, blocked and
/// not judged: the supplier need not have changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// `requirement` or `scenario`.
    pub kind: String,
    pub id: String,
    pub a: String,
    pub b: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunInfo {
    pub dir: String,
    pub run_id: String,
    pub target: String,
    pub tool: String,
    pub profile_sha256: String,
    pub config_sha256: Option<String>,
    pub seed: u64,
    pub sample: String,
    pub narrowed_by: Vec<String>,
    pub verdict_required: String,
    pub verdict_optional: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunDiff {
    pub a: RunInfo,
    pub b: RunInfo,
    /// Same target, profile, config and selection: a new failure is the supplier's doing (or
    /// the sample's, when `same_sample` is false).
    pub comparable: bool,
    /// Why not, one phrase each.
    pub not_comparable_because: Vec<String>,
    /// Same seed and sample size: the same SKUs were read.
    pub same_sample: bool,
    pub new_failures: Vec<Finding>,
    pub fixed: Vec<Finding>,
    pub still_failing: Vec<Finding>,
    /// Failing in A, not judged in B (not selected, skipped, blocked): neither fixed nor new.
    pub not_judged_in_b: Vec<Finding>,
    pub changed: Vec<Change>,
}

impl RunDiff {
    /// A failure of a MUST requirement new in B: `mallcheck diff` exits 1.
    pub fn has_new_must_failures(&self) -> bool {
        self.new_failures.iter().any(|f| f.status == "fail")
    }
}

type Key = (String, String, Option<String>, String);

struct Side {
    findings: BTreeMap<Key, (String, String, usize, String)>,
    /// Identities with a passing row.
    held: BTreeSet<Key>,
}

fn side(report: &Report) -> Side {
    let mut findings = BTreeMap::new();
    let mut held = BTreeSet::new();
    for row in &report.results {
        let key = (
            row.requirement.clone(),
            row.check.clone(),
            row.interface.clone(),
            row.scenario.clone(),
        );
        match row.status {
            Status::Fail | Status::Warn => {
                let entry = findings.entry(key).or_insert_with(|| {
                    (
                        row.level.as_str().to_string(),
                        row.status.as_str().to_string(),
                        0,
                        row.message.clone(),
                    )
                });
                entry.2 += 1;
                // A failure outweighs a warning on the same identity.
                if row.status == Status::Fail {
                    entry.1 = "fail".into();
                }
            }
            Status::Pass => {
                held.insert(key);
            }
            Status::Skip | Status::Blocked => {}
        }
    }
    Side { findings, held }
}

fn info(run: &RunFolder) -> RunInfo {
    let r = &run.report;
    RunInfo {
        dir: run.dir.clone(),
        run_id: r.run_id.clone(),
        target: r.target.clone(),
        tool: r.tool.clone(),
        profile_sha256: r.profile_sha256.clone(),
        config_sha256: run.config_sha256.clone(),
        seed: r.scope.seed,
        sample: r.scope.sample.clone(),
        narrowed_by: r.narrowed_by.clone(),
        verdict_required: r.verdict.required.as_str().into(),
        verdict_optional: r.verdict.optional.as_str().into(),
    }
}

/// Whether a status says nothing about the supplier's conformance either way.
fn neutral_coverage(status: CoverageStatus) -> bool {
    !matches!(status, CoverageStatus::Fail | CoverageStatus::Warn)
}

pub fn diff(a: &RunFolder, b: &RunFolder) -> RunDiff {
    let (ra, rb) = (&a.report, &b.report);
    let mut because = Vec::new();
    // The embedded supplier listens on a new port each run: it is the same supplier.
    let same_target = (ra.embedded && rb.embedded) || ra.target == rb.target;
    if !same_target {
        let (a, b) = (&ra.target, &rb.target);
        because.push(format!("目标不同：{a} → {b} / different target: {a} → {b}"));
    }
    if ra.profile_sha256 != rb.profile_sha256 {
        because.push("协议配置不同（profile_sha256） / different profile (profile_sha256)".into());
    }
    if let (Some(x), Some(y)) = (&a.config_sha256, &b.config_sha256)
        && x != y
    {
        because.push(
            "配置文件不同（manifest config_sha256） / different config (manifest config_sha256)"
                .into(),
        );
    }
    if ra.narrowed_by != rb.narrowed_by {
        // Each side of the scope in its own language, so that the line stays one text of two.
        let scope = |narrowed: &[String], lang| {
            narrowed
                .iter()
                .map(|n| message(n, Some(lang)).replace(" / ", ", "))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let zh = |n: &[String]| scope(n, Lang::Zh);
        let en = |n: &[String]| scope(n, Lang::En);
        because.push(format!(
            "范围不同：[{}] → [{}] / different scope: [{}] → [{}]",
            zh(&ra.narrowed_by),
            zh(&rb.narrowed_by),
            en(&ra.narrowed_by),
            en(&rb.narrowed_by)
        ));
    }
    if ra.tool != rb.tool {
        let (a, b) = (&ra.tool, &rb.tool);
        because.push(format!("版本不同：{a} → {b} / different tool: {a} → {b}"));
    }
    let same_sample = ra.scope.seed == rb.scope.seed && ra.scope.sample == rb.scope.sample;

    let (sa, sb) = (side(ra), side(rb));
    let finding = |key: &Key,
                   from_a: Option<&(String, String, usize, String)>,
                   from_b: Option<&(String, String, usize, String)>| {
        let first = from_b.or(from_a);
        Finding {
            requirement: key.0.clone(),
            check: key.1.clone(),
            interface: key.2.clone(),
            scenario: key.3.clone(),
            level: first.map(|f| f.0.clone()).unwrap_or_default(),
            status: first.map(|f| f.1.clone()).unwrap_or_default(),
            rows_a: from_a.map_or(0, |f| f.2),
            rows_b: from_b.map_or(0, |f| f.2),
            example: first.map(|f| f.3.clone()).unwrap_or_default(),
        }
    };
    let mut new_failures = Vec::new();
    let mut still_failing = Vec::new();
    for (key, fb) in &sb.findings {
        match sa.findings.get(key) {
            None => new_failures.push(finding(key, None, Some(fb))),
            Some(fa) => still_failing.push(finding(key, Some(fa), Some(fb))),
        }
    }
    let mut fixed = Vec::new();
    let mut not_judged_in_b = Vec::new();
    for (key, fa) in &sa.findings {
        if sb.findings.contains_key(key) {
            continue;
        }
        if sb.held.contains(key) {
            fixed.push(finding(key, Some(fa), None));
        } else {
            not_judged_in_b.push(finding(key, Some(fa), None));
        }
    }

    let mut changed = Vec::new();
    let coverage_b: BTreeMap<&str, CoverageStatus> = rb
        .requirements
        .iter()
        .map(|c| (c.id.as_str(), c.status))
        .collect();
    for c in &ra.requirements {
        if let Some(&status_b) = coverage_b.get(c.id.as_str())
            && status_b != c.status
            && neutral_coverage(c.status)
            && neutral_coverage(status_b)
        {
            changed.push(Change {
                kind: "requirement".into(),
                id: c.id.clone(),
                a: c.status.as_str().into(),
                b: status_b.as_str().into(),
            });
        }
    }
    let scenario_b: BTreeMap<&str, Option<Status>> = rb
        .scenarios
        .iter()
        .map(|s| (s.info.id.as_str(), s.status))
        .collect();
    let neutral = |s: Option<Status>| !matches!(s, Some(Status::Fail | Status::Warn));
    let name = |s: Option<Status>| s.map_or("not run", Status::as_str).to_string();
    for s in &ra.scenarios {
        let status_b = scenario_b.get(s.info.id.as_str()).copied().flatten();
        if status_b != s.status && neutral(s.status) && neutral(status_b) {
            changed.push(Change {
                kind: "scenario".into(),
                id: s.info.id.clone(),
                a: name(s.status),
                b: name(status_b),
            });
        }
    }
    RunDiff {
        a: info(a),
        b: info(b),
        comparable: because.is_empty(),
        not_comparable_because: because,
        same_sample,
        new_failures,
        fixed,
        still_failing,
        not_judged_in_b,
        changed,
    }
}

/// The diff for a person, one item a line, in `lang` (both languages without one).
pub fn render(d: &RunDiff, lang: Option<Lang>) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let run = |r: &RunInfo| {
        let (id, seed, sample, required) = (&r.run_id, r.seed, &r.sample, &r.verdict_required);
        let info = crate::lang::tr(
            &format!("运行 {id}，种子 {seed}，抽样 {sample}，必需接口 {required}"),
            &format!("run {id}, seed {seed}, sample {sample}, required {required}"),
            lang,
        );
        format!("{} ({info})", r.dir)
    };
    let label = format!("{} A:", crate::lang::tr("比较", "diff", lang));
    let _ = writeln!(out, "{label} {}", run(&d.a));
    // B under A: a Chinese character takes two columns.
    let width: usize = label
        .chars()
        .map(|c| if crate::lang::is_han(c) { 2 } else { 1 })
        .sum();
    let _ = writeln!(out, "{:>width$} {}", "B:", run(&d.b));
    let each_reason = |lang| {
        d.not_comparable_because
            .iter()
            .map(|r| pick(r, Some(lang)))
            .collect::<Vec<_>>()
            .join("; ")
    };
    if d.comparable {
        let _ = writeln!(
            out,
            "{}",
            pick(
                "可比：目标、配置、范围相同 / comparable: same target, profile, config and scope",
                lang
            )
        );
    } else {
        let _ = writeln!(
            out,
            "! {}",
            pick(
                &format!(
                    "不可直接比较：{} / not comparable: {}",
                    each_reason(Lang::Zh),
                    each_reason(Lang::En)
                ),
                lang
            )
        );
    }
    if !d.same_sample {
        let _ = writeln!(
            out,
            "! {}",
            pick(
                &format!(
                    "抽样不同（种子 {sa} → {sb}，抽样 {na} → {nb}）：抽样 SKU 上的问题可能在供应商未改动时出现或消失；--seed {sa} 重现 A 的抽样 / different sample (seed {sa} → {sb}, sample {na} → {nb}): a finding on sampled SKUs may come or go without a change of the supplier; --seed {sa} repeats A's",
                    sa = d.a.seed,
                    sb = d.b.seed,
                    na = d.a.sample,
                    nb = d.b.sample
                ),
                lang
            )
        );
    }
    let mut list = |title: &str, mark: &str, items: &[Finding]| {
        let _ = writeln!(out, "\n{} ({}):", pick(title, lang), items.len());
        for f in items {
            let _ = writeln!(
                out,
                "  {mark} {} ({} {}, A {} / B {} rows): {}",
                f.identity(),
                f.level,
                f.status,
                f.rows_a,
                f.rows_b,
                crate::excerpt::shorten(&message(&one_line(&f.example), lang), 160)
            );
        }
    };
    list("新失败 / new failures", "+", &d.new_failures);
    list("已修复 / fixed", "-", &d.fixed);
    list("仍未通过 / still failing", "=", &d.still_failing);
    if !d.not_judged_in_b.is_empty() {
        list(
            "B 中未判定 / not judged in B (neither fixed nor new)",
            "?",
            &d.not_judged_in_b,
        );
    }
    let _ = writeln!(
        out,
        "\n{} ({}):",
        pick(
            "未改动供应商也可能变化的结果 / changed without a change of the supplier",
            lang
        ),
        d.changed.len()
    );
    for c in &d.changed {
        let _ = writeln!(out, "  ~ {} {}: {} → {}", c.kind, c.id, c.a, c.b);
    }
    out
}

fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Level, RequirementCoverage, RequirementSet, ResultRow};

    fn row(requirement: &str, scenario: &str, status: Status) -> ResultRow {
        ResultRow {
            interface: Some("prices".into()),
            ..ResultRow::new(
                "price-rule",
                requirement,
                Level::Must,
                scenario,
                RequirementSet::Required,
                status,
                "sku 1 price 9".into(),
            )
        }
    }

    fn coverage(id: &str, status: CoverageStatus) -> RequirementCoverage {
        RequirementCoverage {
            id: id.into(),
            level: Level::Must,
            set: RequirementSet::Required,
            text_zh: String::new(),
            text_en: String::new(),
            status,
        }
    }

    fn folder(rows: Vec<ResultRow>, seed: u64, cov: Vec<RequirementCoverage>) -> RunFolder {
        let mut report = crate::report::json::JsonReporter::new("x.json".into())
            .report()
            .clone();
        report.results = rows;
        report.scope.seed = seed;
        report.embedded = true;
        report.requirements = cov;
        RunFolder {
            dir: "d".into(),
            report,
            config_sha256: Some("c".into()),
        }
    }

    #[test]
    fn new_fixed_still_and_not_judged() {
        let a = folder(
            vec![
                row("A", "s1", Status::Fail),
                row("B", "s1", Status::Fail),
                row("C", "s2", Status::Fail),
            ],
            1,
            vec![coverage("X", CoverageStatus::Pass)],
        );
        let b = folder(
            vec![
                row("A", "s1", Status::Fail),
                row("A", "s1", Status::Fail),
                row("B", "s1", Status::Pass),
                row("D", "s1", Status::Fail),
            ],
            2,
            vec![coverage("X", CoverageStatus::NotTested)],
        );
        let d = diff(&a, &b);
        let ids = |f: &[Finding]| f.iter().map(|f| f.requirement.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&d.new_failures), ["D"]);
        assert_eq!(ids(&d.fixed), ["B"]);
        assert_eq!(ids(&d.still_failing), ["A"]);
        assert_eq!(d.still_failing[0].rows_b, 2);
        assert_eq!(ids(&d.not_judged_in_b), ["C"]);
        assert!(d.has_new_must_failures());
        assert!(d.comparable, "{:?}", d.not_comparable_because);
        assert!(!d.same_sample);
        assert_eq!(d.changed.len(), 1);
        assert_eq!(
            (d.changed[0].a.as_str(), d.changed[0].b.as_str()),
            ("pass", "not_tested")
        );
        let text = render(&d, None);
        assert!(text.contains("+ D / price-rule / prices / s1"), "{text}");
        assert!(text.contains("different sample"), "{text}");
        // The other way round: B's pass failing again is new, D was not judged (not fixed).
        let back = diff(&b, &a);
        assert_eq!(ids(&back.new_failures), ["B", "C"]);
        assert_eq!(ids(&back.fixed), Vec::<String>::new());
        assert_eq!(ids(&back.not_judged_in_b), ["D"]);
    }

    #[test]
    fn a_different_config_or_target_is_not_comparable() {
        let a = folder(vec![], 1, vec![]);
        let mut b = folder(vec![], 1, vec![]);
        b.config_sha256 = Some("other".into());
        b.report.embedded = false;
        b.report.target = "https://x".into();
        let d = diff(&a, &b);
        assert!(!d.comparable);
        assert_eq!(
            d.not_comparable_because.len(),
            2,
            "{:?}",
            d.not_comparable_because
        );
        assert!(d.same_sample);
    }
}
