//! `mallcheck run`: the session with the terminal and JSON reporters, and the verdict as an exit
//! code (0 required set passed, 1 conformance failure, 2 input error, 3 runtime error).

use std::process::ExitCode;

use crate::events::{Lang, SetVerdict};
use crate::exit;
use crate::profile::Profile;
use crate::report::Reporter;
use crate::report::terminal::TerminalReporter;
use crate::session::{self, RunArgs, SessionError};

pub fn run_command(
    profile: Profile,
    args: RunArgs,
    verbose: bool,
    plan: bool,
    lang: Option<Lang>,
) -> ExitCode {
    let prepared = match session::prepare(profile, &args) {
        Ok(p) => p,
        Err(e) => return fail(&e),
    };
    if plan {
        print_plan(&prepared, &args);
        return ExitCode::from(exit::OK);
    }
    let runtime = match runtime() {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let outcome = runtime.block_on(session::execute(prepared, &args, |dir| {
        let page = dir.join(crate::report::html::HTML_FILE);
        let terminal = TerminalReporter::stderr(
            verbose,
            colored::control::SHOULD_COLORIZE.should_colorize(),
            Some(page.display().to_string()),
        )
        .in_language(lang);
        let mut reporters: Vec<Box<dyn Reporter>> = vec![Box::new(terminal)];
        reporters.extend(crate::report::file_reporters(dir, lang.unwrap_or_default()));
        reporters
    }));
    match outcome {
        Err(e) => fail(&e),
        Ok(o) if o.aborted.is_some() => ExitCode::from(exit::RUNTIME),
        // Every failure of the required set is an accepted one: the exit code follows what is
        // left (pass or incomplete); the verdict printed and written still says fail.
        Ok(o)
            if o.baseline.as_ref().is_some_and(|b| {
                b.accepts_all(crate::events::RequirementSet::Required, &o.verdict)
            }) =>
        {
            let left = o
                .baseline
                .as_ref()
                .map_or(o.verdict.required, |b| b.residual.required);
            ExitCode::from(exit_of(left))
        }
        Ok(o) => ExitCode::from(exit_of(o.verdict.required)),
    }
}

/// The exit code of the required set's verdict.
fn exit_of(verdict: SetVerdict) -> u8 {
    match verdict {
        SetVerdict::Pass => exit::OK,
        SetVerdict::Fail => exit::CONFORMANCE_FAILURE,
        SetVerdict::Incomplete | SetVerdict::NotTested => exit::INCOMPLETE,
        SetVerdict::Error => exit::RUNTIME,
    }
}

/// `mallcheck cleanup`: 0 when nothing is left open, 1 when an order could not be cancelled.
pub fn cleanup_command(profile: Profile, args: session::CleanupArgs) -> ExitCode {
    let runtime = match runtime() {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    match runtime.block_on(session::cleanup(profile, &args)) {
        Err(e) => fail(&e),
        Ok(closed) => {
            for line in crate::report::terminal::order_cleanup_lines(&closed, crate::lang::chosen())
            {
                eprintln!("{}", line.trim_start_matches('\n'));
            }
            for note in closed.cancelled.iter().chain(&closed.already_closed) {
                eprintln!(
                    "  ✓ {} {}: {}",
                    note.yggc_order,
                    note.order_id.as_deref().unwrap_or(""),
                    crate::lang::say_message(&note.note)
                );
            }
            if closed.not_cancelled.is_empty() {
                ExitCode::from(exit::OK)
            } else {
                ExitCode::from(exit::CONFORMANCE_FAILURE)
            }
        }
    }
}

/// The calls that would change the supplier's state, one per line, and nothing sent.
fn print_plan(prepared: &session::Prepared, args: &RunArgs) {
    let (changes, allow_orders) = session::plan(prepared, args);
    let target = prepared
        .target
        .as_deref()
        .unwrap_or("the embedded reference supplier");
    let mut text = format!(
        "{}\n",
        crate::lang::tr(
            &format!(
                "计划：{count} 个调用会改变 {target} 的状态（下单{orders}）；未发送任何请求",
                count = changes.len(),
                orders = if allow_orders {
                    "：允许"
                } else {
                    "：不允许，订单场景跳过，token 检查发送无害参数"
                }
            ),
            &format!(
                "plan: {count} calls would change the state of {target} (orders {orders}); nothing was sent",
                count = changes.len(),
                orders = if allow_orders {
                    "allowed"
                } else {
                    "not allowed: order scenarios are skipped, token checks send harmless parameters"
                }
            ),
            crate::lang::chosen()
        )
    );
    for change in &changes {
        text.push_str(&format!(
            "  {:<22} {:<14} {}  {}\n      {}\n",
            change.scenario, change.interface, change.at, change.note, change.params
        ));
    }
    super::stdout(&text);
}

/// `mallcheck verify DIR`: 0 when every file matches its manifest, 1 when one changed, is missing
/// or was added, 2 without a readable manifest.
pub fn verify_command(dir: &std::path::Path) -> ExitCode {
    match crate::report::manifest::verify(dir) {
        Err(message) => {
            super::complain(&message);
            ExitCode::from(exit::USAGE)
        }
        Ok(found) => {
            for (what, names) in [
                ("已改动 / changed", &found.changed),
                ("缺失 / missing", &found.missing),
                ("清单外 / not in the manifest", &found.unlisted),
            ] {
                for name in names {
                    eprintln!("  ✗ {}: {name}", crate::lang::say(what));
                }
            }
            if found.is_empty() {
                super::say(format!(
                    "校验通过：{0} 个文件与 manifest.json 一致 / verified: {0} files match manifest.json",
                    found.checked
                ));
                ExitCode::from(exit::OK)
            } else {
                super::say(
                    "校验失败：该目录不是运行写出的样子 / not verified: the folder is not the one the run wrote",
                );
                ExitCode::from(exit::CONFORMANCE_FAILURE)
            }
        }
    }
}

/// `mallcheck report DIR --format F`: the run's record replayed through one reporter.
pub fn report_command(
    dir: &std::path::Path,
    format: ReportFormat,
    lang: Lang,
    output: Option<std::path::PathBuf>,
) -> ExitCode {
    use crate::report::{har, html, json, junit, summary};
    let default_name = match (format, lang) {
        (ReportFormat::Html, Lang::En) => "report.en.html",
        (ReportFormat::Html, Lang::Zh) => html::HTML_FILE,
        (ReportFormat::Junit, _) => junit::JUNIT_FILE,
        (ReportFormat::Md, _) => summary::SUMMARY_FILE,
        (ReportFormat::Har, _) => har::HAR_FILE,
        (ReportFormat::Json, _) => json::REPORT_FILE,
    };
    let path = output.unwrap_or_else(|| dir.join(default_name));
    let reporter: Box<dyn Reporter> = match format {
        ReportFormat::Html => Box::new(html::HtmlReporter::new(path.clone(), lang)),
        ReportFormat::Junit => Box::new(junit::JunitReporter::new(path.clone())),
        ReportFormat::Md => Box::new(summary::SummaryReporter::new(path.clone())),
        ReportFormat::Har => Box::new(har::HarReporter::new(path.clone())),
        ReportFormat::Json => Box::new(json::JsonReporter::new(path.clone())),
    };
    match crate::report::record::replay(dir, &mut [reporter]) {
        Err(message) => {
            super::complain(&message);
            ExitCode::from(exit::USAGE)
        }
        Ok(warnings) => {
            for warning in warnings {
                eprintln!("  ! {}", crate::lang::say_message(&warning));
            }
            super::say(format!("已生成 {0} / written: {0}", path.display()));
            ExitCode::from(exit::OK)
        }
    }
}

/// The formats `mallcheck report` renders again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Html,
    Junit,
    Md,
    Har,
    Json,
}

fn runtime() -> Result<tokio::runtime::Runtime, SessionError> {
    super::runtime().map_err(SessionError::Runtime)
}

fn fail(error: &SessionError) -> ExitCode {
    super::complain(error);
    match error {
        SessionError::Input(_) => ExitCode::from(exit::USAGE),
        SessionError::Runtime(_) => ExitCode::from(exit::RUNTIME),
    }
}
