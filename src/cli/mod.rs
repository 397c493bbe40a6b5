//! The command line. Only this module knows clap: it parses, calls the library and maps outcomes
//! to the documented exit codes (see `crate::exit`).

mod baseline;
mod catalogue;
mod doctor;
mod lang;
mod run;
mod serve;
mod sweep;
mod table;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::exit;
use crate::profile::Profile;

#[derive(Debug, Parser)]
#[command(
    name = "mallcheck",
    version,
    about = "天津市政府采购中心网上商城 供应商接口一致性测试 / Conformance harness for the Tianjin mall supplier interfaces"
)]
struct Cli {
    /// 从此目录加载协议配置而非内置配置 / Load the protocol profile from this folder instead of the embedded one (same shape as schemas/).
    #[arg(long, global = true, value_name = "DIR", env = "MALLCHECK_PROFILE")]
    profile: Option<PathBuf>,
    /// 语言：帮助、消息、终端与报告页面 / Language of help, messages, the terminal and the HTML page: zh or en (default: MALLCHECK_LANG, then LC_ALL / LC_MESSAGES / LANG; both when none is zh or en).
    #[arg(long, global = true, value_name = "zh|en", value_parser = crate::events::Lang::parse)]
    lang: Option<crate::events::Lang>,
    /// 不使用颜色，也可设 NO_COLOR / No colours (NO_COLOR does the same).
    #[arg(long, global = true)]
    no_color: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// 列出接口目录 / List the interface catalogue.
    List {
        /// 输出 JSON 数组而非表格 / A JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// 列出标准的需求条目 / List the requirements of the standard.
    Requirements {
        /// 输出 JSON 数组而非表格 / A JSON array (id, level, set, text) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// 输出一个接口的 JSON Schema / Print one interface's JSON Schema (its result by default).
    Schema {
        /// 接口编号，见 mallcheck list / Interface id, as in `mallcheck list`.
        id: String,
        /// 输出请求的 Schema / The request schema instead of the result schema.
        #[arg(long)]
        request: bool,
    },
    /// 输出 OpenAPI 3.1 文档 / Print an OpenAPI 3.1 document of the whole supplier interface.
    Openapi,
    /// 运行参考供应商 / Run the reference supplier.
    Serve(serve::ServeFlags),
    /// 运行一致性测试 / Run the conformance scenarios against a supplier (by default the embedded reference supplier).
    Run(RunFlags),
    /// 取消以往运行遗留的订单 / Cancel the orders earlier runs left open on a target (from the ledger in the state folder).
    Cleanup {
        /// 供应商地址 / Base URL of the supplier (default: target in the config).
        #[arg(long, value_name = "URL")]
        target: Option<String>,
        /// 配置文件 / Config file (default: ./mallcheck.toml when present).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// 状态目录 / Where mallcheck keeps its order ledger.
        #[arg(long, value_name = "DIR", default_value = ".mallcheck")]
        state_dir: PathBuf,
    },
    /// 离线校验运行目录 / Check a run folder offline against its manifest.json: names every file changed, missing or added.
    Verify {
        /// 运行目录 / The run folder (the --out of the run).
        dir: PathBuf,
    },
    /// 从运行目录重新生成报告 / Render a report of a run again from its folder (its events.jsonl).
    Report {
        /// 运行目录 / The run folder (the --out of the run).
        dir: PathBuf,
        /// 格式 / The format to render.
        #[arg(long, value_enum, default_value = "html")]
        format: run::ReportFormat,
        /// 输出文件 / Where to write (default: the format's file in DIR; report.en.html for --lang en).
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// 写出带注释的 mallcheck.toml / Write a commented mallcheck.toml (asks for the target and environment on a terminal, nothing otherwise).
    Init {
        /// 供应商地址 / Base URL of the supplier.
        #[arg(long, value_name = "URL")]
        target: Option<String>,
        /// 环境 / test (order scenarios may run) or production.
        #[arg(long, value_name = "test|production")]
        environment: Option<String>,
        /// 覆盖已有文件 / Overwrite an existing file.
        #[arg(long)]
        force: bool,
        /// 输出文件 / Where to write.
        #[arg(
            long,
            short = 'o',
            value_name = "FILE",
            default_value = "mallcheck.toml"
        )]
        output: PathBuf,
    },
    /// 检查配置、网络、TLS、凭据、token 与时钟，并说明如何修正 / Check the config, network, TLS, credentials, token and clock, and say what to fix.
    Doctor {
        /// 供应商地址 / Base URL of the supplier (default: target in the config).
        #[arg(long, value_name = "URL")]
        target: Option<String>,
        /// 配置文件 / Config file (default: ./mallcheck.toml when present).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// 输出 shell 补全脚本 / Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions {
        /// 目标 shell / The shell.
        shell: clap_complete::Shell,
    },
    /// 扫描整个商品目录，列出不可售的 SKU / Judge every SKU of the catalogue and list those that may not be sold.
    Sweep(sweep::SweepCommand),
    /// 从运行目录生成基线 / Write a baseline from a run folder: every failure and warning as an accepted one, each with a reason to fill in.
    Baseline {
        /// 运行目录 / The run folder (the --out of the run).
        dir: PathBuf,
        /// 输出文件 / Where to write (default: stdout).
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// 比较两次运行 / Compare two run folders: new failures, fixed ones, results that changed without a change of the supplier; exit 1 on a new failure.
    Diff {
        /// 较早的运行目录 / The earlier run folder.
        run_a: PathBuf,
        /// 较新的运行目录 / The later run folder.
        run_b: PathBuf,
        /// 输出 JSON / JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// 列出参考供应商的故障 / List the faults of the reference supplier.
    Faults {
        /// 输出 JSON 数组而非表格 / A JSON array (id, requirements it breaks) instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Args)]
struct RunFlags {
    /// 被测供应商的基础地址；不给则启动并测试内置参考供应商 / Base URL of the supplier under test; without it the embedded reference supplier is started and tested.
    #[arg(long, value_name = "URL")]
    target: Option<String>,
    /// 配置文件 / Config file (default: ./mallcheck.toml when present).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// 在内置场景之外加载此目录（或文件）中的场景 / Load the scenarios of this folder (or file) beside the built-in ones.
    #[arg(long, value_name = "DIR", conflicts_with = "only_scenarios")]
    scenarios: Option<PathBuf>,
    /// 只运行此目录（或文件）中的场景，不用内置场景 / Load the scenarios of this folder (or file) instead of the built-in ones.
    #[arg(long, value_name = "DIR")]
    only_scenarios: Option<PathBuf>,
    /// 每次调用的超时（秒，默认 20，或配置 timeout_seconds） / Deadline of each call in seconds (default 20, or timeout_seconds in the config).
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    timeout: Option<u64>,
    /// 报告目录 / Where the reports go (default: reports/<run id>/).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// 状态目录 / Where mallcheck keeps state between runs (saved token, order ledger).
    #[arg(long, value_name = "DIR", default_value = ".mallcheck")]
    state_dir: PathBuf,
    /// 同时运行的场景数 / Scenarios run at the same time.
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    jobs: Option<u16>,
    /// 允许对该目标运行下单场景 / Let scenarios that create orders run against this target (they always run on the embedded supplier).
    #[arg(long)]
    allow_orders: bool,
    /// 打开内置参考供应商的一个故障 / Switch on a fault of the embedded reference supplier (repeatable; see `mallcheck faults`).
    #[arg(long = "fault", value_name = "ID")]
    faults: Vec<String>,
    /// 只运行调用此接口的场景 / Only scenarios that call this interface (repeatable), plus what they require.
    #[arg(long = "interface", value_name = "ID")]
    interfaces: Vec<String>,
    /// 只运行此场景 / Only this scenario (repeatable), plus what it requires.
    #[arg(long = "scenario", value_name = "ID")]
    scenario_ids: Vec<String>,
    /// 只运行带此标签的场景 / Only scenarios with this tag (repeatable), plus what they require.
    #[arg(long = "tag", value_name = "TAG")]
    tags: Vec<String>,
    /// 只测必需接口 / Only the required set.
    #[arg(long)]
    required_only: bool,
    /// 每个品目池抽查的 SKU 数 / SKUs per pool whose detail, images and prices are read: a number or `all`.
    #[arg(long, value_name = "N|all", value_parser = crate::runner::SampleSize::parse)]
    sample: Option<crate::runner::SampleSize>,
    /// 抽样种子（报告中记录） / Seed of the sample, recorded in the report: the same seed reads the same SKUs again (default: a new seed each run).
    #[arg(long, value_name = "SEED")]
    seed: Option<u64>,
    /// 整次运行的时间上限（秒，默认 1800，或配置 max_time_seconds） / Time limit of the whole run in seconds (default 1800, or max_time_seconds in the config): then it stops, cancels its orders and reports as interrupted.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    max_time: Option<u64>,
    /// 终端中也列出跳过与受阻的检查 / Also list skipped and blocked checks in the live view.
    #[arg(long, short = 'v')]
    verbose: bool,
    /// 只列出会改变供应商状态的调用（下单、确认、取消、售后、账期支付），不发送任何请求 / Print every call that would change the supplier's state (submit, confirm, cancel, after-sale, credit payment) and send nothing.
    #[arg(long)]
    plan: bool,
    /// 基线：已接受的已知问题 / Accepted known failures (TOML, `mallcheck baseline` writes one): they are shown as accepted and do not fail the exit code; anything new does. The verdict still says fail.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// 只重跑上次失败的场景 / Rerun only the scenarios that failed, warned or were blocked in this earlier run folder, plus what they require, with its sample and seed; a selection, so the verdict is at best incomplete (exit 4).
    #[arg(long, value_name = "DIR")]
    rerun_failed: Option<PathBuf>,
}

/// The async runtime every command that calls a supplier runs on.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("无法启动运行时 / cannot start the async runtime: {e}"))
}

/// Prints one of mallcheck's own texts ("中文 / English", both sides saying everything) to stderr
/// in the chosen language.
pub(crate) fn say(text: impl std::fmt::Display) {
    eprintln!("{}", crate::lang::say(&text.to_string()));
}

/// An error of this command: `mallcheck: …` on stderr, in the chosen language (an error's
/// Chinese half may only name the problem, so Chinese keeps both; see `crate::lang::message`).
pub(crate) fn complain(error: impl std::fmt::Display) {
    eprintln!(
        "mallcheck: {}",
        crate::lang::say_message(&error.to_string())
    );
}

/// Writes to stdout; a closed pipe (`mallcheck list | head`) is not an error.
pub(crate) fn stdout(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

pub fn main() -> ExitCode {
    use clap::{CommandFactory, FromArgMatches};
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let chosen = lang::chosen(&args);
    crate::lang::choose(chosen);
    let parsed = lang::localize(Cli::command(), chosen)
        .try_get_matches_from(&args)
        .and_then(|matches| Cli::from_arg_matches(&matches));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help and version to stdout with success, mistakes to stderr.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(exit::USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(message) => {
            complain(message);
            ExitCode::from(exit::USAGE)
        }
    }
}

/// Errors at this level are input errors (a broken profile, an unknown id): exit code 2.
fn run(cli: Cli) -> Result<ExitCode, String> {
    if cli.no_color {
        colored::control::set_override(false);
    }
    // The flag, else MALLCHECK_LANG, else the locale (read before clap, see `lang::chosen`).
    let lang = cli.lang.or(crate::lang::chosen());
    let load = || Profile::load_optional(cli.profile.as_deref()).map_err(|e| e.to_string());
    match cli.command {
        Command::List { json } => catalogue::list(&load()?, json),
        Command::Requirements { json } => catalogue::requirements(&load()?, json),
        Command::Schema { id, request } => catalogue::schema(&load()?, &id, request),
        Command::Openapi => catalogue::openapi(&load()?),
        Command::Serve(flags) => Ok(serve::serve_command(load()?, flags)),
        Command::Faults { json } => Ok(serve::faults_command(json)),
        Command::Sweep(command) => Ok(sweep::sweep_command(load()?, command)),
        Command::Baseline { dir, output } => Ok(baseline::baseline_command(&dir, output)),
        Command::Diff { run_a, run_b, json } => Ok(baseline::diff_command(&run_a, &run_b, json)),
        Command::Verify { dir } => Ok(run::verify_command(&dir)),
        Command::Init {
            target,
            environment,
            force,
            output,
        } => Ok(doctor::init_command(&output, target, environment, force)),
        Command::Doctor { target, config } => Ok(doctor::doctor_command(
            load()?,
            crate::doctor::DoctorArgs { target, config },
            lang,
        )),
        Command::Report {
            dir,
            format,
            output,
        } => Ok(run::report_command(
            &dir,
            format,
            lang.unwrap_or_default(),
            output,
        )),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut buffer = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "mallcheck", &mut buffer);
            stdout(&String::from_utf8_lossy(&buffer));
            Ok(ExitCode::SUCCESS)
        }
        Command::Cleanup {
            target,
            config,
            state_dir,
        } => Ok(run::cleanup_command(
            load()?,
            crate::session::CleanupArgs {
                target,
                config,
                state_dir,
            },
        )),
        Command::Run(mut flags) => {
            let profile = load()?;
            if let Some(dir) = &flags.rerun_failed {
                let rerun = baseline::rerun_of(dir)?;
                let (count, from) = (rerun.scenarios.len(), dir.display());
                let seed = flags.seed.unwrap_or(rerun.seed);
                let list = rerun.scenarios.join(", ");
                eprintln!(
                    "{}",
                    crate::lang::say(&format!(
                        "重跑 {from} 中的 {count} 个场景（及其前置），种子 {seed}：{list} / rerun: {count} scenarios from {from} (and what they require), seed {seed}: {list}"
                    ))
                );
                flags.scenario_ids.extend(rerun.scenarios);
                flags.seed = flags.seed.or(Some(rerun.seed));
                flags.sample = flags.sample.or(rerun.sample);
            }
            if let Some(unknown) = flags
                .interfaces
                .iter()
                .find(|id| profile.interface(id).is_none())
            {
                return Err(format!(
                    "未知接口 / unknown interface {unknown:?}; `mallcheck list` shows the ids"
                ));
            }
            Ok(run::run_command(
                profile,
                crate::session::RunArgs {
                    target: flags.target,
                    config: flags.config,
                    scenarios: flags.scenarios,
                    only_scenarios: flags.only_scenarios,
                    out: flags.out,
                    timeout: flags.timeout,
                    state_dir: flags.state_dir,
                    jobs: flags.jobs.map(usize::from),
                    allow_orders: flags.allow_orders,
                    faults: flags.faults,
                    selection: crate::runner::Selection {
                        interfaces: flags.interfaces,
                        scenarios: flags.scenario_ids,
                        tags: flags.tags,
                        required_only: flags.required_only,
                    },
                    sample: flags.sample,
                    seed: flags.seed,
                    max_time: flags.max_time.map(std::time::Duration::from_secs),
                    baseline: flags.baseline,
                },
                flags.verbose,
                flags.plan,
                lang,
            ))
        }
    }
}
