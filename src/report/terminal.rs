//! The live view on stderr (or any writer): a progress bar on a terminal, one line per scenario
//! under 必需接口 / 非必需接口 headings, in the order the run announced them (whatever order they
//! finish in), and under each failed scenario its problems grouped by requirement: one example
//! (interface, JSON pointer, expected and actual, a shortened curl line) and how many more. After
//! the scenarios: the order transitions, every failed requirement once, the verdicts.

use std::collections::{BTreeMap, HashMap};
use std::io::{IsTerminal, Stderr, Write};

use colored::{ColoredString, Colorize};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{ReportError, Reporter};
use crate::events::{
    Event, Lang, OrderCleanup, OrderNote, RequirementSet, ResultRow, ScenarioInfo, SetVerdict,
    Status, TransitionSeen,
};

/// Writes to stderr by default; any writer (a `Vec<u8>` in tests) gets the same lines without
/// the progress bar.
pub struct TerminalReporter<W: Write + Send = Stderr> {
    out: W,
    bar: ProgressBar,
    /// Styles the text; `colored`'s own switch (NO_COLOR, ...) still applies on top.
    color: bool,
    scenarios: HashMap<String, ScenarioInfo>,
    rows: HashMap<String, Vec<ResultRow>>,
    heading: Option<RequirementSet>,
    /// The scenarios in the order the run announced them: their blocks are printed in it,
    /// whatever order they finish in, so two runs read the same.
    order: Vec<String>,
    /// Blocks of finished scenarios not printed yet (an earlier one is still running).
    finished: HashMap<String, (RequirementSet, Vec<String>)>,
    printed: usize,
    /// Every failed requirement of the run: its findings and its first row, for the summary
    /// after the scenario lines.
    failed: super::ByRequirement,
    /// Failures the baseline accepted, listed apart (`--baseline`).
    accepted: super::ByRequirement,
    baseline: Option<crate::events::BaselineSummary>,
    transitions: Vec<TransitionSeen>,
    /// Print passing scenarios' checks too.
    verbose: bool,
    /// Most failures printed per scenario before "… and N more".
    max_failures: usize,
    report_path: Option<String>,
    /// The target was the embedded supplier, gone after the run: its curl lines need it started.
    embedded: bool,
    /// The language of the reporter's own words (both when none; findings stay bilingual).
    lang: Option<Lang>,
}

/// Supplier text shown on a terminal: control characters (escape sequences that could rewrite
/// the screen or a CI log) are written as `\u{..}`.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

impl TerminalReporter<Stderr> {
    /// The live view on stderr, with the progress bar only when stderr is a terminal.
    pub fn stderr(verbose: bool, color: bool, report_path: Option<String>) -> Self {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Self::build(std::io::stderr(), target, verbose, color, report_path)
    }
}

impl<W: Write + Send> TerminalReporter<W> {
    /// The same lines written to `out`, with no progress bar (it is not known to be a terminal).
    pub fn with_writer(out: W, verbose: bool, color: bool, report_path: Option<String>) -> Self {
        Self::build(
            out,
            ProgressDrawTarget::hidden(),
            verbose,
            color,
            report_path,
        )
    }

    /// The reporter's own words in `lang` (both when `None`).
    pub fn in_language(mut self, lang: Option<Lang>) -> Self {
        self.lang = lang;
        self
    }

    /// One of the two texts, or both.
    fn tr(&self, zh: &str, en: &str) -> String {
        crate::lang::tr(zh, en, self.lang)
    }

    /// A message of a check, a reason or an error in the reporter's language (see
    /// `crate::lang::message`).
    fn say(&self, text: &str) -> String {
        crate::lang::message(text, self.lang)
    }

    fn build(
        out: W,
        target: ProgressDrawTarget,
        verbose: bool,
        color: bool,
        report_path: Option<String>,
    ) -> Self {
        let bar = ProgressBar::with_draw_target(Some(0), target);
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} 场景 scenarios {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        TerminalReporter {
            embedded: false,
            lang: None,
            out,
            bar,
            color,
            scenarios: HashMap::new(),
            rows: HashMap::new(),
            heading: None,
            order: Vec::new(),
            finished: HashMap::new(),
            printed: 0,
            failed: super::ByRequirement::default(),
            accepted: super::ByRequirement::default(),
            baseline: None,
            transitions: Vec::new(),
            verbose,
            max_failures: 8,
            report_path,
        }
    }

    /// The writer, with everything written so far.
    pub fn into_writer(self) -> W {
        self.out
    }

    fn line(&mut self, text: String) {
        if self.bar.is_hidden() {
            // A closed stderr or a full disk must not end the run; the report file still tells.
            let _ = writeln!(self.out, "{text}");
        } else {
            self.bar.println(text);
        }
    }

    /// Prints the finished blocks whose turn has come (all of them at the end of the run).
    fn flush(&mut self, all: bool) {
        while self.printed < self.order.len() {
            let id = self.order[self.printed].clone();
            let Some((set, block)) = self.finished.remove(&id) else {
                if all {
                    // Never finished (the run was stopped): its place is left empty.
                    self.printed += 1;
                    continue;
                }
                return;
            };
            self.printed += 1;
            if self.heading != Some(set) {
                self.heading = Some(set);
                let title = match set {
                    RequirementSet::Required => self.tr("必需接口", "Required interfaces"),
                    RequirementSet::Optional => self.tr("非必需接口", "Optional interfaces"),
                };
                let title = self.paint(title.bold().underline());
                self.line(format!("\n{title}"));
            }
            for line in block {
                self.line(line);
            }
        }
    }

    /// A scenario's line, its note, and its problems grouped by requirement: one example each,
    /// with how many there are, in requirement order.
    fn block(
        &self,
        info: &ScenarioInfo,
        status: Status,
        duration_ms: u64,
        note: Option<&str>,
        rows: &[ResultRow],
    ) -> Vec<String> {
        let mut lines = Vec::new();
        let checks: u64 = rows.iter().map(|r| r.count).sum();
        let title = match self.lang {
            Some(Lang::Zh) => info.title.zh.clone(),
            Some(Lang::En) => info.title.en.clone(),
            None => format!("{} / {}", info.title.zh, info.title.en),
        };
        lines.push(format!(
            "  {} {:<28} {title} {}",
            self.paint(symbol(status, self.lang)),
            info.id,
            self.paint(
                format!(
                    "({checks} {}, {:.1}s)",
                    // Both languages: the English word alone, the line is long enough.
                    if self.lang == Some(Lang::Zh) {
                        "项检查"
                    } else {
                        "checks"
                    },
                    duration_ms as f64 / 1000.0
                )
                .dimmed()
            )
        ));
        if let Some(note) = note {
            lines.push(format!(
                "      {}",
                self.paint(printable(&self.say(note)).dimmed())
            ));
        }
        let mut groups: BTreeMap<(u8, &str), Vec<&ResultRow>> = BTreeMap::new();
        for row in rows.iter().filter(|r| {
            matches!(r.status, Status::Fail | Status::Warn)
                || (self.verbose && r.status != Status::Pass)
        }) {
            // Failures first, then warnings, then what the baseline accepted, then (verbose)
            // what was not judged.
            let rank = match row.status {
                _ if row.accepted.is_some() => 2,
                Status::Fail => 0,
                Status::Warn => 1,
                _ => 3,
            };
            groups
                .entry((rank, row.requirement.as_str()))
                .or_default()
                .push(row);
        }
        for ((_, requirement), group) in groups.iter().take(self.max_failures) {
            let row = group[0];
            let mark = self.paint(match row.status {
                Status::Fail => "✘".red(),
                Status::Warn => "!".yellow(),
                _ => "-".dimmed(),
            });
            let place = [row.interface.clone(), row.pointer.clone()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            let more = match group.len() {
                1 => String::new(),
                n => self
                    .paint(format!(" (+{} {})", n - 1, self.tr("条同类", "more like it")).dimmed()),
            };
            lines.push(format!(
                "    {mark} [{}] {} {}{more}",
                self.paint(requirement.bold()),
                self.paint(printable(&place).cyan()),
                printable(&self.say(&row.message))
            ));
            if let Some(reason) = &row.accepted {
                lines.push(format!(
                    "        {} {}",
                    self.paint(
                        format!("{}:", self.tr("基线已接受", "accepted by baseline")).green()
                    ),
                    printable(reason)
                ));
            }
            if let (Some(expected), Some(actual)) = (&row.expected, &row.actual) {
                lines.push(format!(
                    "        {}: {}\n        {}:   {}",
                    self.tr("期望", "expected"),
                    printable(&crate::lang::pick(expected, self.lang)),
                    self.tr("实际", "actual"),
                    printable(&crate::checks::say_marker(actual, self.lang))
                ));
            }
            // A warning line (`# …`) may come before the command.
            for line in row.curl.iter().flat_map(|c| c.lines()) {
                // The warning line is mallcheck's own words; the command is as it was sent.
                let line = match line.strip_prefix('#') {
                    Some(warning) => format!("# {}", self.say(warning.trim_start())),
                    None => short_curl(line),
                };
                lines.push(format!("        {}", self.paint(printable(&line).dimmed())));
            }
        }
        if groups.len() > self.max_failures {
            let rest = groups.len() - self.max_failures;
            lines.push(format!(
                "    … {}",
                self.tr(
                    &format!("另有 {rest} 项需求（见报告）"),
                    &format!("and {rest} more requirements (see the report)")
                )
            ));
        }
        lines
    }

    /// The styled text, or the plain one when colors are off.
    fn paint(&self, text: ColoredString) -> String {
        if self.color {
            text.to_string()
        } else {
            text.input
        }
    }
}

fn symbol(status: Status, lang: Option<Lang>) -> ColoredString {
    // One word: both languages would make every scenario line long. Chinese words are padded to
    // one width (two columns a character), so that the ids line up.
    let word = |zh: &str, en: &str| match lang {
        Some(Lang::Zh) => format!(
            "{zh}{}",
            "  ".repeat(3usize.saturating_sub(zh.chars().count()))
        ),
        _ => en.to_string(),
    };
    match status {
        Status::Pass => format!("✔ {}", word("通过", "PASS")).green(),
        Status::Fail => format!("✘ {}", word("未通过", "FAIL")).red().bold(),
        Status::Warn => format!("! {}", word("警告", "WARN")).yellow(),
        Status::Skip => format!("- {}", word("跳过", "SKIP")).dimmed(),
        Status::Blocked => format!("■ {}", word("受阻", "BLOCKED")).magenta(),
    }
}

fn verdict_text(v: SetVerdict, tr: impl Fn(&str, &str) -> String) -> ColoredString {
    match v {
        SetVerdict::Pass => tr("通过", "PASS").green().bold(),
        SetVerdict::Fail => tr("未通过", "FAIL").red().bold(),
        SetVerdict::Incomplete => tr("未完整测试", "INCOMPLETE").yellow().bold(),
        SetVerdict::NotTested => tr("未测试", "NOT TESTED").dimmed(),
        SetVerdict::Error => tr("运行错误", "ERROR").magenta().bold(),
    }
}

impl<W: Write + Send> Reporter for TerminalReporter<W> {
    fn event(&mut self, event: &Event) {
        match event {
            Event::RunStarted {
                run_id,
                target,
                embedded,
                profile,
                scenarios,
                scope,
                ..
            } => {
                self.embedded = *embedded;
                self.line(format!(
                    "{} {}",
                    self.paint("mallcheck".bold()),
                    env!("CARGO_PKG_VERSION")
                ));
                self.line(format!(
                    "{}:  {}",
                    self.tr("目标", "target"),
                    printable(&crate::lang::pick(target, self.lang))
                ));
                self.line(format!(
                    "{}: {profile}    {}: {run_id}",
                    self.tr("配置", "profile"),
                    self.tr("运行", "run")
                ));
                if !scope.sample.is_empty() {
                    let (sample, seed) = (&scope.sample, scope.seed);
                    self.line(format!(
                        "{}: {}  (--seed {seed} {})",
                        self.tr("抽样", "sample"),
                        self.tr(
                            &format!("每个品目池 {sample} 个 SKU，种子 {seed}"),
                            &format!("{sample} SKU/pool, seed {seed}")
                        ),
                        self.tr("重现", "repeats it")
                    ));
                }
                if let Some(supplier) = &scope.supplier {
                    self.line(format!(
                        "{}: {}",
                        self.tr("供应商", "supplier"),
                        printable(supplier)
                    ));
                }
                for deviation in &scope.deviations {
                    self.line(format!(
                        "{}: {} {}",
                        self.tr(
                            "声明的偏离（仍按标准判定）",
                            "declared deviation (judged all the same)"
                        ),
                        deviation.requirement,
                        printable(&deviation.note)
                    ));
                }
                let narrowed = scope.narrowed_by();
                if !narrowed.is_empty() {
                    // Said up front: such a run cannot pass for the whole standard.
                    self.line(format!(
                        "{}: {}",
                        self.tr("范围", "scope"),
                        narrowed
                            .iter()
                            .map(|n| crate::lang::pick(n, self.lang))
                            .collect::<Vec<_>>()
                            .join("; ")
                    ));
                }
                self.bar.set_length(scenarios.len() as u64);
                for s in scenarios {
                    self.scenarios.insert(s.id.clone(), s.clone());
                }
                // The required set runs first, and is shown first.
                let mut order: Vec<&ScenarioInfo> = scenarios.iter().collect();
                order.sort_by_key(|s| s.set);
                self.order = order.into_iter().map(|s| s.id.clone()).collect();
            }
            Event::ScenarioStarted { scenario } => self.bar.set_message(scenario.clone()),
            Event::Exchange(_) => {}
            Event::Result(row) => {
                self.rows
                    .entry(row.scenario.clone())
                    .or_default()
                    .push((**row).clone());
            }
            Event::ScenarioFinished {
                scenario,
                status,
                duration_ms,
                note,
            } => {
                self.bar.inc(1);
                let Some(info) = self.scenarios.get(scenario).cloned() else {
                    return;
                };
                let rows = self.rows.remove(scenario).unwrap_or_default();
                for row in rows.iter().filter(|r| r.status == Status::Fail) {
                    if row.accepted.is_some() {
                        self.accepted.note(row);
                    } else {
                        self.failed.note(row);
                    }
                }
                let block = self.block(&info, *status, *duration_ms, note.as_deref(), &rows);
                self.finished.insert(scenario.clone(), (info.set, block));
                self.flush(false);
            }
            Event::OrderTransitions(seen) => self.transitions = seen.clone(),
            Event::Baseline(summary) => self.baseline = Some(summary.clone()),
            Event::SweepFinished(sweep) => {
                let said = sweep.verdict.text();
                let skus = &sweep.summary.skus;
                self.line(format!(
                    "{}: {} {} SKU — {} {}, {} {}, {} {}",
                    self.tr(&said.zh, &said.en),
                    self.tr("已扫描", "swept"),
                    skus.swept,
                    self.tr("可售", "sellable"),
                    skus.sellable,
                    self.tr("不可售", "unsellable"),
                    skus.unsellable,
                    self.tr("未判定", "not judged"),
                    skus.not_judged
                ));
            }
            Event::OrdersClosed(closed) => {
                for line in order_cleanup_lines(closed, self.lang) {
                    self.line(line);
                }
            }
            Event::RunFinished {
                verdict,
                duration_ms,
                aborted,
                untested_must,
                clock_only,
                ..
            } => {
                self.flush(true);
                self.bar.finish_and_clear();
                if !self.transitions.is_empty() {
                    self.line(String::new());
                    for line in transition_lines(&self.transitions, self.lang) {
                        self.line(line);
                    }
                }
                if !self.failed.is_empty() {
                    let title = self.tr("未通过的需求", "failed requirements");
                    let title = self.paint(format!("{title}:").red().bold());
                    self.line(format!("\n{title}"));
                    let failed: Vec<String> = self
                        .failed
                        .iter()
                        .map(|(requirement, count, row)| {
                            format!(
                                "  ✘ {requirement} ({count}×, {}): {}",
                                row.scenario,
                                crate::excerpt::shorten(&printable(&self.say(&row.message)), 160)
                            )
                        })
                        .collect();
                    for line in failed {
                        self.line(line);
                    }
                }
                if !self.accepted.is_empty() {
                    let title = self.paint(
                        format!(
                            "{}:",
                            self.tr("基线已接受的已知问题", "failed, accepted by the baseline")
                        )
                        .yellow()
                        .bold(),
                    );
                    self.line(format!("\n{title}"));
                    let accepted: Vec<String> = self
                        .accepted
                        .iter()
                        .map(|(requirement, count, row)| {
                            format!(
                                "  ✘ {requirement} ({count}×, {}): {}",
                                row.scenario,
                                printable(row.accepted.as_deref().unwrap_or_default())
                            )
                        })
                        .collect();
                    for line in accepted {
                        self.line(line);
                    }
                }
                if let Some(baseline) = &self.baseline {
                    let lines = super::baseline_lines(baseline, |zh, en| self.tr(zh, en));
                    self.line(String::new());
                    for line in lines {
                        self.line(printable(&line));
                    }
                }
                if let Some(reason) = aborted {
                    self.line(format!(
                        "\n{} {}",
                        self.paint(
                            format!("{}:", self.tr("运行中止", "run aborted"))
                                .red()
                                .bold()
                        ),
                        printable(&self.say(reason))
                    ));
                }
                let tr = |zh: &str, en: &str| self.tr(zh, en);
                let shown =
                    |set| match super::baseline_note(self.baseline.as_ref(), set, verdict, tr) {
                        Some(note) => format!(" ({})", printable(&note)),
                        None => String::new(),
                    };
                self.line(format!(
                    "\n{}: {}{}    {}: {}{}    ({:.1}s)",
                    self.tr("必需接口", "required"),
                    self.paint(verdict_text(verdict.required, tr)),
                    shown(RequirementSet::Required),
                    self.tr("非必需接口", "optional"),
                    self.paint(verdict_text(verdict.optional, tr)),
                    shown(RequirementSet::Optional),
                    *duration_ms as f64 / 1000.0
                ));
                let untested: Vec<&str> = untested_must.iter().map(String::as_str).collect();
                if !untested.is_empty() {
                    self.line(format!(
                        "{} {} {}: {}",
                        self.paint("!".yellow()),
                        untested.len(),
                        self.tr(
                            "条 MUST 需求未完整测试（跳过或受阻）",
                            "MUST requirements not fully tested (skipped or blocked)"
                        ),
                        untested.join(", ")
                    ));
                }
                // An aborted run judged nothing: what it could not have judged anyway is noise.
                if !clock_only.is_empty() && aborted.is_none() {
                    self.line(format!(
                        "  {}: {}",
                        self.tr(
                            "仅在管理时钟或 36 小时后再次运行时判定",
                            "judged only with the admin clock or a run 36 h later"
                        ),
                        clock_only.join(", ")
                    ));
                }
                if self.embedded && !self.failed.is_empty() {
                    self.line(format!(
                        "  {}: {}",
                        self.tr(
                            "curl 行中的 $MALLCHECK_TARGET 是已停止的内置供应商，重现时先启动（用同样的 --fault），$TOKEN 等秘密需自行填入",
                            "$MALLCHECK_TARGET in the curl lines is the embedded supplier, gone now; start it (with the same --fault flags), and fill in $TOKEN and the like"
                        ),
                        super::REPLAY_EMBEDDED
                    ));
                }
                if let Some(path) = self.report_path.clone() {
                    self.line(format!("{}: {path}", self.tr("报告", "report")));
                }
            }
        }
    }

    fn needs_record(&self) -> bool {
        false
    }

    fn finish(&mut self, _: &super::record::Record) -> Result<(), ReportError> {
        Ok(())
    }
}

/// What closing the orders left open came to: counts, and every order that is still open with
/// why (those need a person).
pub fn order_cleanup_lines(closed: &OrderCleanup, lang: Option<Lang>) -> Vec<String> {
    let (cancelled, already, not) = (
        closed.cancelled.len(),
        closed.already_closed.len(),
        closed.not_cancelled.len(),
    );
    let mut lines = vec![format!(
        "\n{}",
        crate::lang::tr(
            &format!("订单清理：{cancelled} 已取消，{already} 早已关闭，{not} 未能取消"),
            &format!(
                "orders left open: {cancelled} cancelled, {already} already closed, {not} not cancelled"
            ),
            lang
        )
    )];
    let name = |note: &OrderNote| match &note.order_id {
        Some(id) => format!("{} (order_id {id}, run {})", note.yggc_order, note.run_id),
        None => format!("{} (run {})", note.yggc_order, note.run_id),
    };
    for note in &closed.not_cancelled {
        lines.push(format!(
            "  ✗ {}: {}",
            printable(&name(note)),
            printable(&crate::lang::message(&note.note, lang))
        ));
    }
    if !closed.not_cancelled.is_empty() {
        lines.push(format!(
            "  {}",
            crate::lang::tr(
                "这些订单记录在状态目录的账本中；下次运行或 `mallcheck cleanup` 会再次尝试",
                "kept in the ledger of the state folder: the next run and `mallcheck cleanup` try again",
                lang
            )
        ));
    }
    lines
}

/// The order's life as driven: one line per transition, expected and seen; a mismatch on a
/// judged transition is marked.
pub fn transition_lines(seen: &[TransitionSeen], lang: Option<Lang>) -> Vec<String> {
    let mut lines = vec![format!(
        "  {}",
        crate::lang::tr(
            "订单状态转换（起点 --动作--> 期望，所见）：",
            "order transitions (from --action--> expected, seen):",
            lang
        )
    )];
    for t in seen {
        let mismatch = t.requirement.is_some()
            && matches!(
                (t.expected.as_str(), t.seen.as_str()),
                ("accept", "refused") | ("refuse", "accepted")
            );
        lines.push(format!(
            "    {} {:<12} --{}--> {:<7} {:<11} {}",
            if mismatch { "✗" } else { " " },
            t.from,
            t.action,
            t.expected,
            t.seen,
            t.requirement
                .as_deref()
                .unwrap_or("(not judged: the standard is silent)")
        ));
    }
    lines
}

/// A curl line for the terminal: a quoted argument longer than 60 characters keeps its first
/// 40 and says how long it was (the whole line is in junit.xml and report.json).
pub fn short_curl(curl: &str) -> String {
    let mut out = String::with_capacity(curl.len().min(400));
    let mut rest = curl;
    while let Some(open) = rest.find('\'') {
        out.push_str(&rest[..=open]);
        rest = &rest[open + 1..];
        let Some(close) = rest.find('\'') else {
            out.push_str(rest);
            return out;
        };
        let argument = &rest[..close];
        let chars = argument.chars().count();
        if chars > 60 {
            out.extend(argument.chars().take(40));
            out.push_str(&format!("…[{chars} chars]"));
        } else {
            out.push_str(argument);
        }
        out.push('\'');
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Text;

    #[test]
    fn long_curl_arguments_are_elided_and_short_ones_kept() {
        let long = "x".repeat(300);
        let curl = format!("curl -sS -X POST 'http://s/api/prices' --data-urlencode 'sku={long}'");
        let short = short_curl(&curl);
        assert!(short.contains("'http://s/api/prices'"));
        assert!(short.contains("…[304 chars]'"), "{short}");
        assert!(short.len() < 140, "{short}");
        assert_eq!(short_curl("curl 'a' 'b'"), "curl 'a' 'b'");
    }

    #[test]
    fn scenarios_are_shown_in_the_announced_order_whatever_order_they_finish_in() {
        let info = |id: &str, set| ScenarioInfo {
            id: id.into(),
            title: Text {
                zh: id.into(),
                en: id.into(),
            },
            set,
            tags: Vec::new(),
            file: String::new(),
        };
        let mut reporter = TerminalReporter::with_writer(Vec::new(), false, false, None);
        reporter.event(&Event::RunStarted {
            run_id: "r".into(),
            target: "t".into(),
            embedded: false,
            profile: "p".into(),
            tool: String::new(),
            profile_name: String::new(),
            profile_sha256: String::new(),
            interfaces: Vec::new(),
            started_at: String::new(),
            scenarios: vec![
                info("optional-one", RequirementSet::Optional),
                info("first", RequirementSet::Required),
                info("second", RequirementSet::Required),
            ],
            in_scope: Vec::new(),
            scope: Default::default(),
        });
        for id in ["optional-one", "second", "first"] {
            reporter.event(&Event::ScenarioFinished {
                scenario: id.into(),
                status: Status::Pass,
                duration_ms: 0,
                note: None,
            });
        }
        let text = String::from_utf8(reporter.into_writer()).expect("utf-8");
        let at = |id: &str| text.find(&format!(" {id} ")).unwrap_or(usize::MAX);
        assert!(at("first") < at("second"), "{text}");
        assert!(at("second") < at("optional-one"), "{text}");
    }
}
