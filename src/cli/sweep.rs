//! `mallcheck sweep`: every SKU of the catalogue judged, the unsellable ones listed (exit 0 none
//! unsellable and every SKU judged, 1 some unsellable, 4 some not judged or the sweep stopped
//! early, 2 input error, 3 runtime error); `mallcheck sweep merge`: shares into one result.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::events::SweepVerdict;
use crate::exit;
use crate::profile::Profile;
use crate::session::SessionError;
use crate::sweep::summary::SweepSummary;
use crate::sweep::{self, Images, Partition, SweepArgs};

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SweepCommand {
    #[command(subcommand)]
    action: Option<SweepAction>,
    #[command(flatten)]
    flags: SweepFlags,
}

#[derive(Debug, clap::Subcommand)]
enum SweepAction {
    /// 合并各分片的结果 / Merge the folders of `--partition` shares into the result of one full sweep.
    Merge {
        /// 各分片的目录 / The shares' folders (their --out).
        #[arg(required = true, value_name = "DIR")]
        dirs: Vec<PathBuf>,
        /// 合并结果目录 / Where the merged result goes.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

#[derive(Debug, clap::Args)]
struct SweepFlags {
    /// 供应商地址 / Base URL of the supplier; without it the embedded reference supplier is started and swept.
    #[arg(long, value_name = "URL")]
    target: Option<String>,
    /// 配置文件 / Config file (default: ./mallcheck.toml when present).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// 结果目录 / Where sweep.jsonl, unsellable.csv and sweep.json go.
    #[arg(long, value_name = "DIR", default_value = "sweep")]
    out: PathBuf,
    /// 同时进行的请求数 / Requests in flight at once.
    #[arg(long, short = 'j', value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=512))]
    jobs: u16,
    /// 每秒请求上限（生产环境请设置） / At most this many requests a second (set it for a production supplier).
    #[arg(long, value_name = "R")]
    rps: Option<f64>,
    /// 检查哪些图片能否访问 / Which images are fetched: none, sample (one SKU in 100), all.
    #[arg(long, value_name = "none|sample|all", default_value = "sample", value_parser = Images::parse)]
    images: Images,
    /// 继续中断的扫描 / Continue the sweep in --out: finished SKUs are not asked again.
    #[arg(long)]
    resume: bool,
    /// 只扫描第 K 份（共 N 份） / Sweep share K of N (by a hash of the SKU code); merge the shares with `sweep merge`.
    #[arg(long, value_name = "K/N", value_parser = Partition::parse)]
    partition: Option<Partition>,
    /// 内置参考供应商的故障 / A fault of the embedded reference supplier (repeatable; see `mallcheck faults`).
    #[arg(long = "fault", value_name = "ID")]
    faults: Vec<String>,
    /// 内置参考供应商的商品数 / SKUs of the embedded reference supplier.
    #[arg(long, value_name = "N")]
    skus: Option<u64>,
    /// 本次最多扫描的 SKU 数（之后可 --resume） / Stop after this many SKUs in this session (continue with --resume).
    #[arg(long, value_name = "N")]
    max_skus: Option<u64>,
    /// 不显示进度 / No progress on stderr.
    #[arg(long, short = 'q')]
    quiet: bool,
}

pub fn sweep_command(profile: Profile, command: SweepCommand) -> ExitCode {
    let lang = crate::lang::chosen().unwrap_or_default();
    if let Some(SweepAction::Merge { dirs, out }) = command.action {
        return match sweep::merge(&profile, &dirs, &out, lang) {
            Ok(summary) => {
                let verdict = sweep::report::verdict(&summary, &profile, false);
                print_summary(&summary, verdict, &out);
                exit_code(verdict)
            }
            Err(e) => fail(&e),
        };
    }
    let flags = command.flags;
    let args = SweepArgs {
        target: flags.target,
        config: flags.config,
        out: flags.out,
        jobs: usize::from(flags.jobs),
        rps: flags.rps,
        images: flags.images,
        resume: flags.resume,
        partition: flags.partition,
        faults: flags.faults,
        skus: flags.skus,
        max_skus: flags.max_skus,
        progress: !flags.quiet,
        lang,
    };
    if args.rps.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
        super::complain("--rps 必须是正数 / --rps must be a positive number");
        return ExitCode::from(exit::USAGE);
    }
    let runtime = match sweep::runtime() {
        Ok(r) => r,
        Err(e) => {
            super::complain(&e);
            return ExitCode::from(exit::RUNTIME);
        }
    };
    match runtime.block_on(sweep::sweep(profile, &args)) {
        Ok(outcome) => {
            print_summary(&outcome.summary, outcome.verdict, &outcome.dir);
            if let Some(why) = &outcome.stopped {
                // The reason whole on the Chinese side (its values are in its English half).
                let lang = crate::lang::chosen();
                let en = crate::lang::message(why, Some(crate::lang::Lang::En));
                eprintln!(
                    "{}",
                    crate::lang::tr(
                        &format!("已停止：{why}；`--resume` 继续"),
                        &format!("stopped: {en}; `--resume` continues it"),
                        lang
                    )
                );
            }
            exit_code(outcome.verdict)
        }
        Err(e) => fail(&e),
    }
}

fn exit_code(verdict: SweepVerdict) -> ExitCode {
    ExitCode::from(match verdict {
        SweepVerdict::Unsellable => exit::CONFORMANCE_FAILURE,
        SweepVerdict::Incomplete => exit::INCOMPLETE,
        SweepVerdict::Sellable => exit::OK,
    })
}

fn print_summary(summary: &SweepSummary, verdict: SweepVerdict, dir: &std::path::Path) {
    let lang = crate::lang::chosen();
    let tr = |zh: &str, en: &str| crate::lang::tr(zh, en, lang);
    let said = verdict.text();
    let s = &summary.skus;
    let of = if summary.complete {
        String::new()
    } else {
        format!(" / {} ({})", s.in_scope, tr("未完成", "incomplete"))
    };
    let share = if summary.partitions.is_empty() {
        String::new()
    } else {
        format!(
            " [{} {}]",
            tr("分片", "share"),
            summary.partitions.join(", ")
        )
    };
    let mut text = format!(
        "{}\n{} {}: {} SKU{of} — {} {}, {} {}, {} {}{share}\n",
        tr(&said.zh, &said.en),
        tr("扫描", "sweep of"),
        crate::lang::pick(&summary.target, lang),
        s.swept,
        tr("可售", "sellable"),
        s.sellable,
        tr("不可售", "unsellable"),
        s.unsellable,
        tr("未判定", "not judged"),
        s.not_judged,
    );
    for defect in summary.defects.iter().take(12) {
        text.push_str(&format!(
            "  ✗ {:<22} {:<18} {} SKU\n",
            defect.requirement, defect.check, defect.count
        ));
    }
    for defect in summary.answer_defects.iter().take(6) {
        text.push_str(&format!(
            "  ✗ {:<22} {:<18} {} {}\n",
            defect.requirement,
            defect.check,
            defect.count,
            tr("个应答", "answers")
        ));
    }
    for note in summary.not_judged.iter().take(6) {
        text.push_str(&format!(
            "  ? {} ({} SKU)\n",
            crate::lang::message(&note.requirement, lang),
            note.count
        ));
    }
    text.push_str(&format!(
        "  {} {}, {} {}, {} {}, {:.1} s, {:.0} SKU/s\n",
        summary.requests,
        tr("次请求", "requests"),
        summary.retries,
        tr("次重试", "retries"),
        summary.transport_errors,
        tr("次传输错误", "transport errors"),
        summary.elapsed_seconds,
        summary.skus_per_second
    ));
    for i in &summary.interfaces {
        text.push_str(&format!(
            "  {:<14} {:>8} {}  p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  max {:.2} ms\n",
            i.interface,
            i.calls,
            tr("次调用", "calls"),
            i.p50_ms,
            i.p90_ms,
            i.p99_ms,
            i.max_ms
        ));
    }
    text.push_str(&format!(
        "  → {}/{} · {} · {} · {} · {} · {}\n",
        dir.display(),
        crate::report::html::HTML_FILE,
        sweep::summary::CSV,
        crate::report::summary::SUMMARY_FILE,
        crate::report::json::REPORT_FILE,
        sweep::summary::JSONL,
        sweep::summary::SUMMARY,
    ));
    eprint!("{text}");
}

fn fail(error: &SessionError) -> ExitCode {
    super::complain(error);
    match error {
        SessionError::Input(_) => ExitCode::from(exit::USAGE),
        SessionError::Runtime(_) => ExitCode::from(exit::RUNTIME),
    }
}
