//! One run from start to end, without a command line: load the config and the scenarios, pick the
//! target (the embedded reference supplier when none is given), feed the reporters, run, and say
//! how it ended. `mallcheck run` and the end-to-end tests both go through here.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::client::{Client, ClientConfig};
use crate::config::{Config, Credentials};
use crate::events::{Event, Verdict};
use crate::profile::Profile;
use crate::report::Reporter;
use crate::report::record::Outputs;
pub use crate::runner::SampleSize;
use crate::runner::{self, RunOptions, Selection};
use crate::scenario::{Scenario, ScenarioSource, load_scenarios};
use crate::supplier::{self, SupplierConfig};

/// What a run is asked to do (plain values; the command line fills them).
#[derive(Debug, Clone)]
pub struct RunArgs {
    pub target: Option<String>,
    pub config: Option<PathBuf>,
    /// Scenarios of this folder (or file) beside the embedded ones.
    pub scenarios: Option<PathBuf>,
    /// Scenarios of this folder (or file) instead of the embedded ones.
    pub only_scenarios: Option<PathBuf>,
    pub out: Option<PathBuf>,
    /// Per-call deadline in seconds (default: `timeout_seconds` of the config).
    pub timeout: Option<u64>,
    pub state_dir: PathBuf,
    pub jobs: Option<usize>,
    pub allow_orders: bool,
    /// Faults of the embedded reference supplier.
    pub faults: Vec<String>,
    pub selection: Selection,
    /// SKUs per pool read in detail (default [`SampleSize::DEFAULT`]).
    pub sample: Option<SampleSize>,
    /// The sample's seed (default: a new one each run).
    pub seed: Option<u64>,
    /// Time limit of the whole run (default: `max_time_seconds` of the config).
    pub max_time: Option<Duration>,
    /// Accepted known failures (`--baseline FILE`, see [`crate::baseline`]).
    pub baseline: Option<PathBuf>,
}

impl Default for RunArgs {
    fn default() -> RunArgs {
        RunArgs {
            target: None,
            config: None,
            scenarios: None,
            only_scenarios: None,
            out: None,
            timeout: None,
            state_dir: PathBuf::from(".mallcheck"),
            jobs: None,
            allow_orders: false,
            faults: Vec::new(),
            selection: Selection::default(),
            sample: None,
            seed: None,
            max_time: None,
            baseline: None,
        }
    }
}

/// Why a run could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// A usage or input error (exit code 2).
    #[error("{0}")]
    Input(String),
    /// A runtime error (exit code 3).
    #[error("{0}")]
    Runtime(String),
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub verdict: Verdict,
    /// A runtime error that stopped the run early (unreachable supplier, Ctrl-C).
    pub aborted: Option<String>,
    pub report_dir: PathBuf,
    /// What the baseline accepted, when the run had one.
    pub baseline: Option<crate::events::BaselineSummary>,
}

/// Everything checked before a single request is sent.
pub struct Prepared {
    pub profile: Arc<Profile>,
    pub config: Config,
    pub scenarios: Vec<Scenario>,
    pub target: Option<String>,
    /// Optional interfaces the supplier's declaration leaves out.
    pub not_implemented: Vec<String>,
    pub baseline: Option<crate::baseline::Baseline>,
}

impl Prepared {
    /// Whether the run may create orders: on the embedded supplier always, elsewhere with
    /// `--allow-orders` or `environment = "test"`.
    pub fn orders_allowed(&self, args: &RunArgs) -> bool {
        self.target.is_none() || args.allow_orders || self.config.is_test_environment()
    }
}

pub fn prepare(profile: Profile, args: &RunArgs) -> Result<Prepared, SessionError> {
    let mut config =
        Config::load(args.config.as_deref()).map_err(|e| SessionError::Input(e.to_string()))?;
    if let Some(seconds) = args.timeout {
        config.timeout_seconds = seconds.max(1);
    }
    // A profile naming a check mallcheck does not have is refused before anything is sent.
    crate::checks::validate_profile(&profile).map_err(SessionError::Input)?;
    let not_implemented =
        runner::not_implemented(&profile, &config.declaration).map_err(SessionError::Input)?;
    let profile = Arc::new(profile);
    let source = match (&args.scenarios, &args.only_scenarios) {
        (Some(_), Some(_)) => {
            return Err(SessionError::Input(
                "--scenarios 在内置场景之外添加，--only-scenarios 替换内置场景：二者只能选一 / --scenarios adds to the built-in scenarios, --only-scenarios replaces them: give one".into(),
            ));
        }
        (Some(dir), None) => ScenarioSource::EmbeddedAnd(dir.clone()),
        (None, Some(dir)) => ScenarioSource::Dir(dir.clone()),
        (None, None) => ScenarioSource::Embedded,
    };
    let all = load_scenarios(&source, &profile).map_err(|e| SessionError::Input(e.to_string()))?;
    let scenarios = runner::select(&all, &args.selection);
    if scenarios.is_empty() {
        return Err(SessionError::Input(
            "没有符合条件的场景（--scenario、--tag、--interface） / no scenario matches the selection (--scenario, --tag, --interface)".into(),
        ));
    }
    let target = args
        .target
        .clone()
        .or_else(|| config.target.clone())
        .map(|url| crate::target::check_base_url(&url, &profile))
        .transpose()
        .map_err(SessionError::Input)?;
    // Found now, not after every scenario ran (orders included).
    check_writable(args.out.as_deref().unwrap_or(Path::new("reports")))?;
    if target.is_some() && !args.faults.is_empty() {
        return Err(SessionError::Input(
            "--fault applies to the embedded reference supplier only; start `mallcheck serve --fault …` for an external one".into(),
        ));
    }
    // A broken baseline is an input error, found before anything is sent.
    let baseline = match &args.baseline {
        Some(path) => {
            Some(crate::baseline::Baseline::load(path, &profile).map_err(SessionError::Input)?)
        }
        None => None,
    };
    Ok(Prepared {
        profile,
        config,
        scenarios,
        target,
        not_implemented,
        baseline,
    })
}

/// Whether reports can be written under `dir`: a probe file is written and removed in it, or
/// in the nearest folder above it that exists (nothing is created yet).
fn check_writable(dir: &Path) -> Result<(), SessionError> {
    let failed = |e: &dyn std::fmt::Display| {
        SessionError::Input(format!(
            "无法写入报告目录 / cannot write reports to {}: {e} (choose another --out)",
            dir.display()
        ))
    };
    let existing = dir
        .ancestors()
        .find(|a| a.as_os_str().is_empty() || a.exists())
        .map(|a| {
            if a.as_os_str().is_empty() {
                Path::new(".")
            } else {
                a
            }
        })
        .unwrap_or(Path::new("."));
    if !existing.is_dir() {
        return Err(failed(&format!("{} is not a folder", existing.display())));
    }
    let probe = existing.join(format!(".mallcheck-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| failed(&e))?;
    std::fs::remove_file(&probe).map_err(|e| failed(&e))
}

fn new_run_id() -> String {
    let now = chrono::Local::now();
    let salt = (now.timestamp_subsec_nanos() ^ std::process::id()) % 0xffff;
    format!("{}-{salt:04x}", now.format("%Y%m%d-%H%M%S"))
}

/// Runs a prepared plan and feeds every event to the reporters (the report file is written by
/// the reporters the caller passes; `report_dir` is where the caller asked them to write).
pub async fn execute(
    prepared: Prepared,
    args: &RunArgs,
    make_reporters: impl FnOnce(&std::path::Path) -> Vec<Box<dyn Reporter>>,
) -> Result<RunOutcome, SessionError> {
    let allow_orders = prepared.orders_allowed(args);
    let Prepared {
        profile,
        config,
        scenarios,
        target,
        not_implemented,
        baseline,
    } = prepared;
    let supplier_config = SupplierConfig {
        admin: true,
        faults: args.faults.clone(),
        ..SupplierConfig::default()
    };
    let Connected {
        client,
        embedded,
        target_label,
        ..
    } = connect(&profile, &config, target.as_deref(), supplier_config).await?;
    let (admin, admin_probe) = admin_available(&client, &profile).await;
    let run_id = new_run_id();
    let report_dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("reports").join(&run_id));
    let options = RunOptions {
        run_id: run_id.clone(),
        target_label,
        embedded: embedded.is_some(),
        admin,
        allow_orders,
        jobs: args.jobs.unwrap_or(config.jobs),
        state_dir: args.state_dir.clone(),
        selection: args.selection.clone(),
        sample: args.sample.unwrap_or(SampleSize::DEFAULT),
        seed: args.seed.unwrap_or_else(crate::runner::fresh_seed),
        preflight: vec![admin_probe],
        not_implemented,
    };

    // For the manifest: what judged this run (the config without its credentials).
    let profile_sha256 = profile.sha256();
    let config_sha256 = config_sha256(&config);
    // The run's record (events.jsonl) goes beside the reports, so that what a reporter shows
    // can always be rendered again from it.
    let mut outputs = Outputs::new(&report_dir, make_reporters(&report_dir));
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<Event>();
    // The baseline marks accepted rows on their way to the record and the reporters.
    let mut applier = baseline.map(|b| crate::baseline::Applier::new(b, Arc::clone(&profile)));
    let consumer = tokio::spawn(async move {
        let mut summary = None;
        while let Some(event) = receiver.recv().await {
            let events = match applier.as_mut() {
                Some(applier) => applier.apply(event),
                None => vec![event],
            };
            for event in events {
                if let Event::Baseline(s) = &event {
                    summary = Some(s.clone());
                }
                outputs.event(&event);
            }
        }
        let errors: Vec<String> = outputs.finish().iter().map(|e| e.to_string()).collect();
        (errors, summary)
    });

    // Ctrl-C, SIGTERM or the run's time limit asks the runner to stop: it cancels the orders
    // it left and still reports, saying why it stopped.
    let max_time = args
        .max_time
        .unwrap_or(Duration::from_secs(config.max_time_seconds.max(1)));
    let (interrupt, interrupted) = tokio::sync::watch::channel(None::<String>);
    let signals = tokio::spawn(async move {
        let reason = tokio::select! {
            () = wait_for_stop_signal() => "被中断 / interrupted".to_string(),
            () = tokio::time::sleep(max_time) => format!(
                "运行时间上限已到 / run time limit reached after {} s (--max-time, max_time_seconds)",
                max_time.as_secs()
            ),
        };
        let _ = interrupt.send(Some(reason));
    });
    let (verdict, aborted) = runner::run(
        Arc::clone(&profile),
        client,
        config,
        options,
        scenarios,
        sender,
        interrupted,
    )
    .await;
    signals.abort();
    let (errors, baseline) = consumer
        .await
        .map_err(|e| SessionError::Runtime(e.to_string()))?;
    if let Some(supplier) = embedded {
        supplier.shutdown().await;
    }
    if !errors.is_empty() {
        return Err(SessionError::Runtime(errors.join("; ")));
    }
    // Last, over every file the reporters wrote.
    if report_dir.is_dir() {
        crate::report::manifest::write(&report_dir, &profile_sha256, &config_sha256)
            .map_err(|e| SessionError::Runtime(e.to_string()))?;
    }
    Ok(RunOutcome {
        verdict,
        aborted,
        report_dir,
        baseline,
    })
}

/// The config's fingerprint for the manifest: what judged the run, without its credentials.
pub fn config_sha256(config: &Config) -> String {
    let mut shown = config.clone();
    shown.credentials.username = None;
    shown.credentials.password = None;
    crate::report::manifest::sha256_of(&shown)
}

/// A client for the target: the supplier at `target` with the configured credentials, or,
/// without one, the embedded reference supplier started on 127.0.0.1 with `supplier_config`
/// (its own credentials). `run` and `sweep` both start here.
pub struct Connected {
    pub client: Client,
    /// Without a trailing slash.
    pub base_url: String,
    /// The embedded supplier, to shut down at the end.
    pub embedded: Option<supplier::RunningSupplier>,
    /// The target as reports show it (no password).
    pub target_label: String,
}

pub async fn connect(
    profile: &Arc<Profile>,
    config: &Config,
    target: Option<&str>,
    supplier_config: SupplierConfig,
) -> Result<Connected, SessionError> {
    let mut embedded = None;
    let (base_url, credentials) = match target {
        Some(url) => (
            url.trim_end_matches('/').to_string(),
            credentials_for(config, url)?,
        ),
        None => {
            let credentials = Credentials {
                username: supplier_config.username.clone(),
                password: supplier_config.password.clone(),
            };
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
            let running = supplier::start(Arc::clone(profile), supplier_config, addr)
                .await
                .map_err(|e| SessionError::Input(e.to_string()))?;
            let url = running.base_url();
            embedded = Some(running);
            (url, credentials)
        }
    };
    let client = client_for(profile, config, &base_url, credentials)?;
    let target_label = if embedded.is_some() {
        format!("{base_url}: 内置参考供应商 / embedded reference supplier")
    } else {
        crate::target::without_password(&base_url)
    };
    Ok(Connected {
        client,
        base_url,
        embedded,
        target_label,
    })
}

fn credentials_for(config: &Config, url: &str) -> Result<Credentials, SessionError> {
    config.credentials(None).ok_or_else(|| {
        SessionError::Input(format!(
            "缺少凭据 / no credentials for {url}: set {} and {} (or username/password under [credentials] in mallcheck.toml)",
            config.credentials.username_env, config.credentials.password_env
        ))
    })
}

fn client_for(
    profile: &Arc<Profile>,
    config: &Config,
    base_url: &str,
    credentials: Credentials,
) -> Result<Client, SessionError> {
    let client_config = ClientConfig {
        base_url: base_url.to_string(),
        username: credentials.username,
        password: credentials.password,
        timeout: Duration::from_secs(config.timeout_seconds.max(1)),
        max_body_bytes: (config.max_body_mib.max(1) * 1024 * 1024) as usize,
    };
    Client::new(Arc::clone(profile), client_config).map_err(|e| SessionError::Input(e.to_string()))
}

/// What `mallcheck cleanup` is asked to do.
#[derive(Debug, Clone)]
pub struct CleanupArgs {
    pub target: Option<String>,
    pub config: Option<PathBuf>,
    pub state_dir: PathBuf,
}

/// `mallcheck cleanup`: closes the orders earlier runs left open on the target (the config's
/// when none is given), and says what became of each.
pub async fn cleanup(
    profile: Profile,
    args: &CleanupArgs,
) -> Result<crate::events::OrderCleanup, SessionError> {
    let config =
        Config::load(args.config.as_deref()).map_err(|e| SessionError::Input(e.to_string()))?;
    let Some(url) = args.target.clone().or_else(|| config.target.clone()) else {
        let open = runner::targets_with_open_orders(&args.state_dir);
        let listed = if open.is_empty() {
            format!(
                "the ledger in {} shows no open order",
                args.state_dir.display()
            )
        } else {
            open.iter()
                .map(|(target, n)| format!("{target} ({n} open)"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(SessionError::Input(format!(
            "缺少 --target / no target: give --target URL (or target in mallcheck.toml); open orders: {listed}"
        )));
    };
    let base_url = url.trim_end_matches('/').to_string();
    let profile = Arc::new(profile);
    let client = client_for(
        &profile,
        &config,
        &base_url,
        credentials_for(&config, &url)?,
    )?;
    // The reference supplier's clock may have been moved: tokens are signed on its time.
    let _ = admin_available(&client, &profile).await;
    Ok(runner::cleanup_orders(
        &client,
        &profile,
        &args.state_dir,
        &crate::target::without_password(&base_url),
    )
    .await)
}

/// `mallcheck run --plan`: every call the run would send that changes the supplier's state,
/// and whether the target is cleared for orders; nothing is sent.
pub fn plan(prepared: &Prepared, args: &RunArgs) -> (Vec<runner::PlannedChange>, bool) {
    let allow_orders = prepared.orders_allowed(args);
    let changes = runner::state_changes(&prepared.profile, &prepared.scenarios, allow_orders);
    (changes, allow_orders)
}

/// The target as shown in reports: a password in the URL's user part is masked.
pub(crate) async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The admin probe's deadline: the reference supplier answers on loopback in milliseconds.
const ADMIN_PROBE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(2);

/// The reference supplier (`mallcheck serve --admin`) answers its admin clock; a real supplier
/// answers 404 or something else, and the scenarios that need it are skipped.
pub(crate) async fn admin_available(
    client: &Client,
    profile: &Profile,
) -> (bool, crate::exchange::Exchange) {
    // Short: a supplier that does not answer unknown paths must not cost a whole deadline here.
    let probe = client
        .post_path_within(
            "/__admin/clock",
            &[("advance_seconds", "0".to_string())],
            Some(ADMIN_PROBE_DEADLINE),
        )
        .await;
    // A supplier started earlier may have a moved clock: sign tokens on its time.
    runner::learn_supplier_clock(client, &profile.settings, &probe);
    // A supplier that answers every unknown path with success is not an admin endpoint: the
    // reference supplier answers its clock's time.
    let admin = probe.response.as_ref().is_some_and(|r| r.status == 200)
        && probe.succeeded()
        && probe
            .answer()
            .and_then(|a| {
                let now = a.pointer("/result/now")?.as_str()?.to_string();
                chrono::NaiveDateTime::parse_from_str(&now, &profile.settings.timestamp_format).ok()
            })
            .is_some();
    (admin, probe)
}
