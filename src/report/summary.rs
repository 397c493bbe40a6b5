//! `summary.md`: a short Markdown summary for `$GITHUB_STEP_SUMMARY` or a merge-request note:
//! the verdicts, every failed requirement with one line, what was not fully judged, and the next
//! steps, without links (the reports sit beside it).

pub const SUMMARY_FILE: &str = "summary.md";

use std::fmt::Write as _;
use std::path::PathBuf;

use super::{ByRequirement, ReportError, Reporter, write_atomically};
use crate::events::{
    BaselineSummary, Event, OrderCleanup, RequirementSet, RunScope, Status, SweepFinished, Verdict,
};

/// What the end of the run says.
struct Finished {
    verdict: Verdict,
    duration_ms: u64,
    aborted: Option<String>,
    untested: Vec<String>,
    clock_only: Vec<String>,
}

#[derive(Default)]
pub struct SummaryReporter {
    path: PathBuf,
    run_id: String,
    target: String,
    started_at: String,
    scope: RunScope,
    failed: ByRequirement,
    warned: ByRequirement,
    /// Failures and warnings the baseline accepted (`--baseline`).
    accepted: ByRequirement,
    baseline: Option<BaselineSummary>,
    finished: Option<Finished>,
    not_cancelled: usize,
    /// What a sweep found (`mallcheck sweep` only).
    sweep: Option<SweepFinished>,
}

impl SummaryReporter {
    pub fn new(path: PathBuf) -> SummaryReporter {
        SummaryReporter {
            path,
            ..SummaryReporter::default()
        }
    }

    fn render(&self) -> String {
        let mut md = String::new();
        let Some(Finished {
            verdict,
            duration_ms,
            aborted,
            untested,
            clock_only,
        }) = &self.finished
        else {
            return "# mallcheck\n\nThe run did not finish.\n".to_string();
        };
        let shown = |set| match super::baseline_note(
            self.baseline.as_ref(),
            set,
            verdict,
            crate::lang::both,
        ) {
            Some(note) => format!(" ({note})"),
            None => String::new(),
        };
        if let Some(sweep) = &self.sweep {
            let said = sweep.verdict.text();
            let _ = writeln!(
                md,
                "# mallcheck sweep: `{}` — {} {}\n",
                sweep.verdict.as_str(),
                said.zh,
                said.en
            );
        }
        let _ = writeln!(
            md,
            "{} required `{}`{} · optional `{}`{}\n",
            if self.sweep.is_some() {
                "标准 standard:"
            } else {
                "# mallcheck:"
            },
            verdict.required.as_str(),
            shown(RequirementSet::Required),
            verdict.optional.as_str(),
            shown(RequirementSet::Optional)
        );
        let _ = writeln!(md, "| | |\n|---|---|");
        let _ = writeln!(md, "| 目标 target | `{}` |", self.target);
        let _ = writeln!(md, "| 运行 run | `{}`, {} |", self.run_id, self.started_at);
        let _ = writeln!(
            md,
            "| 用时 duration | {:.1} s |",
            *duration_ms as f64 / 1000.0
        );
        if self.sweep.is_none() {
            let _ = writeln!(
                md,
                "| 抽样 sample | {} SKU/pool, seed {} |",
                self.scope.sample, self.scope.seed
            );
        }
        let narrowed = self.scope.narrowed_by();
        if !narrowed.is_empty() {
            let _ = writeln!(md, "| 范围 scope | {} |", narrowed.join("; "));
        }
        if let Some(reason) = aborted {
            let _ = writeln!(md, "\n**运行中止 run aborted:** {}", one_line(reason));
        }
        if let Some(sweep) = &self.sweep {
            sweep_section(&mut md, sweep);
        }
        let mut list = |title: &str, broken: &ByRequirement| {
            if broken.is_empty() {
                return;
            }
            let _ = writeln!(md, "\n## {title}\n");
            for (requirement, count, first) in broken.iter() {
                let _ = writeln!(
                    md,
                    "- **{requirement}** ({}, {count} finding{}; {}): {}",
                    first.level.as_str(),
                    if count == 1 { "" } else { "s" },
                    first.scenario,
                    one_line(&first.message)
                );
            }
        };
        list("未通过的需求 Failed requirements", &self.failed);
        list("警告 Warnings (SHOULD / BEYOND)", &self.warned);
        if let Some(baseline) = &self.baseline {
            let _ = writeln!(md, "\n## 基线 Baseline\n");
            for line in super::baseline_lines(baseline, crate::lang::both) {
                let _ = writeln!(md, "- {}", one_line(&line));
            }
            for (requirement, count, first) in self.accepted.iter() {
                let _ = writeln!(
                    md,
                    "- **{requirement}** ({}, {count} finding{}; {}): 基线已接受 accepted by baseline: {}",
                    first.level.as_str(),
                    if count == 1 { "" } else { "s" },
                    first.scenario,
                    one_line(first.accepted.as_deref().unwrap_or_default())
                );
            }
        }
        if !untested.is_empty() && self.sweep.is_some() {
            let _ = writeln!(
                md,
                "\n扫描只判定商品数据 A sweep judges the catalogue's data only: {} MUST requirements of the standard are left to `mallcheck run` (report.json, untested_must).",
                untested.len()
            );
        } else if !untested.is_empty() {
            let _ = writeln!(
                md,
                "\n## 未完整测试的 MUST 需求 MUST requirements not fully judged\n\n{}",
                untested.join(", ")
            );
        }
        let _ = writeln!(md, "\n## 下一步 Next steps\n");
        for step in self.next_steps(aborted.as_deref(), untested, clock_only) {
            let _ = writeln!(md, "- {step}");
        }
        md
    }

    fn next_steps(
        &self,
        aborted: Option<&str>,
        untested: &[String],
        clock_only: &[String],
    ) -> Vec<String> {
        let mut steps = Vec::new();
        if let Some(sweep) = &self.sweep {
            if sweep.summary.skus.unsellable > 0 {
                steps.push("修正 unsellable.csv 中每个 SKU 的数据 Fix the data of every SKU in unsellable.csv: each line gives its reasons.".to_string());
            }
            if !sweep.summary.complete {
                steps.push("扫描未完成 The sweep did not end: `mallcheck sweep --resume` with the same --out continues it.".to_string());
            }
            if sweep.summary.skus.not_judged > 0 {
                steps.push("有 SKU 未判定 Some SKUs were not judged: sweep.jsonl says why for each (`not_judged`).".to_string());
            }
            steps.push("全部 MUST 需求的判定用 `mallcheck run` For a verdict on the whole standard, `mallcheck run`.".to_string());
            return steps;
        }
        if aborted.is_some() {
            steps.push("运行被中止：先解决上面的原因再运行 The run stopped early: deal with the reason above and run again.".to_string());
        }
        if !self.failed.is_empty() {
            steps.push(format!(
                "修复未通过的 MUST 需求 Fix the failed requirements ({}): each failure in junit.xml and report.json has the request as a curl line.",
                self.failed
                    .iter()
                    .map(|(requirement, _, _)| requirement)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !self.accepted.is_empty() {
            steps.push(format!(
                "基线接受的已知问题仍是失败 The failures the baseline accepts still fail the verdict ({}): fix them, then remove their entries.",
                self.accepted
                    .iter()
                    .map(|(requirement, _, _)| requirement)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if let Some(baseline) = &self.baseline
            && baseline.stale().next().is_some()
        {
            steps.push(format!(
                "基线中有过期条目 Stale entries in {}: what they name was judged and held; remove them.",
                baseline.file
            ));
        }
        if self.not_cancelled > 0 {
            steps.push(format!(
                "{} 个订单未能取消 orders could not be cancelled: run `mallcheck cleanup --target URL`, and ask the supplier about what it cannot cancel.",
                self.not_cancelled
            ));
        }
        if !untested.is_empty() {
            if !self.scope.orders_allowed {
                steps.push("订单场景被跳过 The order scenarios were skipped: against a test environment, declare `environment = \"test\"` in mallcheck.toml or pass `--allow-orders`.".to_string());
            }
            let selected = !self.scope.scenarios.is_empty()
                || !self.scope.tags.is_empty()
                || !self.scope.interfaces.is_empty();
            if selected {
                steps.push("本次只运行了部分场景 A selection ran: run without --scenario / --tag / --interface for a verdict on the whole standard.".to_string());
            }
            steps.push("其余未判定项见 report.json 的 untested_must 与各行说明 For the rest, each not-judged row of report.json says why.".to_string());
        }
        // An aborted run judged nothing: what it could not have judged anyway is noise.
        if !clock_only.is_empty() && aborted.is_none() {
            steps.push(format!(
                "36 小时后在同一目录再运行一次以判定 Run again in the same folder 36 h or more later to judge {}.",
                clock_only.join(", ")
            ));
        }
        if steps.is_empty() {
            steps.push("无 None: every MUST requirement in scope was judged and held.".to_string());
        }
        steps
    }
}

/// The sweep's counts, its defects by kind, what was not judged, and the first unsellable SKUs.
fn sweep_section(md: &mut String, sweep: &SweepFinished) {
    let summary = &sweep.summary;
    let counts = &summary.skus;
    let _ = writeln!(
        md,
        "\n{} / {} SKUs swept: **{} unsellable**, {} sellable, {} not judged ({:.0} SKU/s, {} requests, {} retries){}",
        counts.swept,
        counts.in_scope,
        counts.unsellable,
        counts.sellable,
        counts.not_judged,
        summary.skus_per_second,
        summary.requests,
        summary.retries,
        if summary.partitions.is_empty() {
            String::new()
        } else {
            format!(", shares {}", summary.partitions.join(", "))
        }
    );
    let mut table = |title: &str, unit: &str, defects: &[crate::events::DefectCount]| {
        if defects.is_empty() {
            return;
        }
        let _ = writeln!(
            md,
            "\n## {title}\n\n| requirement | check | {unit} | first |\n|---|---|---:|---|"
        );
        for d in defects {
            let first = d.first.as_ref().map_or(String::new(), |f| {
                let sku = if f.sku.is_empty() {
                    String::new()
                } else {
                    format!("{}: ", code(&f.sku))
                };
                format!("{sku}{}", one_line(&f.message))
            });
            let _ = writeln!(
                md,
                "| {} | {} | {} | {first} |",
                d.requirement, d.check, d.count
            );
        }
    };
    table(
        "不可售原因 Why SKUs may not be sold",
        "SKUs",
        &summary.defects,
    );
    table(
        "不属于单个 SKU 的应答缺陷 Defects of answers of no single SKU",
        "answers",
        &summary.answer_defects,
    );
    if !summary.not_judged.is_empty() {
        let _ = writeln!(md, "\n## 未判定 Not judged\n");
        for d in &summary.not_judged {
            let _ = writeln!(md, "- {} ({} SKUs)", one_line(&d.requirement), d.count);
        }
    }
    if !sweep.unsellable.is_empty() {
        let shown = sweep.unsellable.len().min(20);
        let _ = writeln!(
            md,
            "\n## 前 {shown} 个不可售 SKU The first {shown} unsellable SKUs (all in unsellable.csv)\n"
        );
        for sku in sweep.unsellable.iter().take(shown) {
            let mut reasons: Vec<&str> =
                sku.reasons.iter().map(|r| r.requirement.as_str()).collect();
            reasons.dedup();
            let _ = writeln!(
                md,
                "- {} ({}) {}: {}",
                code(&sku.sku),
                code(&sku.pool),
                one_line(&sku.name),
                reasons.join(", ")
            );
        }
    }
}

/// A supplier's code (a SKU, a pool id) as inline code on one line: whitespace collapsed, `|`
/// escaped, in a fence longer than any run of backticks it holds.
fn code(text: &str) -> String {
    let text = one_line(text);
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    if longest > 0 {
        format!("{fence} {text} {fence}")
    } else {
        format!("{fence}{text}{fence}")
    }
}

/// A message on one line, cut to keep the summary short.
fn one_line(text: &str) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    crate::excerpt::shorten(&line, 240).replace('|', "\\|")
}

impl Reporter for SummaryReporter {
    fn event(&mut self, event: &Event) {
        match event {
            Event::RunStarted {
                run_id,
                target,
                started_at,
                scope,
                ..
            } => {
                self.run_id = run_id.clone();
                self.target = target.clone();
                self.started_at = started_at.clone();
                self.scope = scope.clone();
            }
            Event::Result(row) if row.accepted.is_some() => self.accepted.note(row),
            Event::Result(row) => match row.status {
                Status::Fail => self.failed.note(row),
                Status::Warn => self.warned.note(row),
                _ => {}
            },
            Event::Baseline(summary) => self.baseline = Some(summary.clone()),
            Event::SweepFinished(sweep) => self.sweep = Some((**sweep).clone()),
            Event::OrdersClosed(OrderCleanup { not_cancelled, .. }) => {
                self.not_cancelled = not_cancelled.len();
            }
            Event::RunFinished {
                verdict,
                duration_ms,
                aborted,
                untested_must,
                clock_only,
                ..
            } => {
                self.finished = Some(Finished {
                    verdict: *verdict,
                    duration_ms: *duration_ms,
                    aborted: aborted.clone(),
                    untested: untested_must.clone(),
                    clock_only: clock_only.clone(),
                });
            }
            Event::ScenarioStarted { .. }
            | Event::Exchange(_)
            | Event::ScenarioFinished { .. }
            | Event::OrderTransitions(_) => {}
        }
    }

    fn needs_record(&self) -> bool {
        false
    }

    fn finish(&mut self, _: &super::record::Record) -> Result<(), ReportError> {
        write_atomically(&self.path, self.render().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::code;

    /// A supplier's code can neither end the code span nor break a table row or a line.
    #[test]
    fn supplier_codes_stay_inside_their_code_span() {
        assert_eq!(code("125921000"), "`125921000`");
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(code("x`y"), "`` x`y ``");
        assert_eq!(
            code("A01\n# mallcheck sweep: `sellable`"),
            "`` A01 # mallcheck sweep: `sellable` ``"
        );
    }
}
