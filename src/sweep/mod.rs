//! `mallcheck sweep`: the standard's data-quality verdict over a whole catalogue. Every pool,
//! every SKU of every pool, the detail of each SKU (one call each) and its prices, shelf state,
//! images and stock (batches at the profile's limit), judged by the same functions of `checks/`
//! as `run`; what it finds is written down SKU by SKU as it goes (`sweep.jsonl`), so that memory
//! stays flat, a stopped sweep resumes where it was, and shares of the catalogue swept on
//! several machines merge into the result of one sweep. This module does I/O and ordering only:
//! every finding comes from `checks/`.
//!
//! Order of work: the pool list; every pool's SKU list, read compactly
//! ([`checks::judge_sku_list`]) into one sorted set ([`checks::PooledSkus`], first pool wins);
//! then the SKUs in sorted order, in batches, at most `--jobs` calls in flight and `--rps` calls
//! a second. Results are written in batch order whatever order they finish in.

pub mod report;
pub mod summary;

use crate::checks::key_text;
use std::collections::{BTreeMap, HashMap};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::checks::{self, CheckRun, ExchangeInput, Finding, Knowledge, PooledSkus};
use crate::client::{Client, TokenUse, TransportError};
use crate::config::Config;
use crate::exchange::Exchange;
use crate::profile::{Profile, iface};
use crate::session::{self, SessionError};
use crate::supplier::SupplierConfig;
use summary::{
    AnswerLine, Coverage, InterfaceTally, Line, Reason, SkuLine, SkuStatus, State, SweepSummary,
};

/// Which image URLs are fetched (IMG-REACHABLE); every URL's form is judged in any case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Images {
    /// None: the URLs are judged on their form only.
    None,
    /// Every image of one SKU in [`IMAGE_SAMPLE_EVERY`], chosen by the hash of its code.
    #[default]
    Sample,
    /// Every image of every SKU.
    All,
}

/// One SKU in this many has its images fetched under `--images sample`.
pub const IMAGE_SAMPLE_EVERY: u64 = 100;

impl Images {
    pub fn parse(text: &str) -> Result<Images, String> {
        match text {
            "none" => Ok(Images::None),
            "sample" => Ok(Images::Sample),
            "all" => Ok(Images::All),
            other => Err(format!("--images none|sample|all, not {other:?}")),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Images::None => "none",
            Images::Sample => "sample",
            Images::All => "all",
        }
    }

    fn fetches(self, sku: &str) -> bool {
        match self {
            Images::None => false,
            Images::Sample => fnv1a(sku.as_bytes()).is_multiple_of(IMAGE_SAMPLE_EVERY),
            Images::All => true,
        }
    }
}

/// `--partition K/N`: share K (1-based) of N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    pub index: u64,
    pub count: u64,
}

impl Partition {
    pub fn parse(text: &str) -> Result<Partition, String> {
        let bad = || format!("--partition K/N with 1 ≤ K ≤ N, not {text:?}");
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let index: u64 = k.trim().parse().map_err(|_| bad())?;
        let count: u64 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index == 0 || index > count {
            return Err(bad());
        }
        Ok(Partition { index, count })
    }

    /// Whether the SKU is in this share: FNV-1a of its code, the same on every machine.
    pub fn holds(&self, sku: &str) -> bool {
        fnv1a(sku.as_bytes()) % self.count == self.index - 1
    }
}

impl std::fmt::Display for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// FNV-1a, 64 bits: a fixed hash (std's is seeded per process).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// What a sweep is asked to do.
#[derive(Debug, Clone)]
pub struct SweepArgs {
    pub target: Option<String>,
    pub config: Option<PathBuf>,
    pub out: PathBuf,
    pub jobs: usize,
    pub rps: Option<f64>,
    pub images: Images,
    pub resume: bool,
    pub partition: Option<Partition>,
    /// The embedded reference supplier: its faults and catalogue size.
    pub faults: Vec<String>,
    pub skus: Option<u64>,
    /// Stop after this many SKUs in this session (as an interruption would).
    pub max_skus: Option<u64>,
    /// Bars on a terminal, plain lines otherwise; none in tests.
    pub progress: bool,
    /// The language report.html opens in.
    pub lang: crate::events::Lang,
}

impl Default for SweepArgs {
    fn default() -> SweepArgs {
        SweepArgs {
            target: None,
            config: None,
            out: PathBuf::from("sweep"),
            jobs: 16,
            rps: None,
            images: Images::Sample,
            resume: false,
            partition: None,
            faults: Vec::new(),
            skus: None,
            max_skus: None,
            progress: false,
            lang: crate::events::Lang::default(),
        }
    }
}

/// How a sweep ended.
#[derive(Debug, Clone)]
pub struct SweepOutcome {
    pub summary: SweepSummary,
    pub verdict: crate::events::SweepVerdict,
    pub dir: PathBuf,
    /// Why it stopped before the end (Ctrl-C, `--max-skus`).
    pub stopped: Option<String>,
}

/// Transient transport errors are sent again this many times, after 100 ms, 200 ms, 400 ms.
const RETRIES: u32 = 3;
const BACKOFF: Duration = Duration::from_millis(100);
/// The record is synced to disk at least this often (and at the end).
const SYNC_EVERY: Duration = Duration::from_secs(1);
const IMAGE_PROBE_BYTES: usize = 4096;

/// A request-rate limit: calls start at least `interval` apart.
struct Limiter {
    interval: Duration,
    next: Mutex<Instant>,
}

impl Limiter {
    async fn wait(&self) {
        let at = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            let at = (*next).max(now);
            *next = at + self.interval;
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

struct Ctx {
    profile: Arc<Profile>,
    client: Client,
    config: Config,
    slots: Semaphore,
    limiter: Option<Limiter>,
    tallies: Mutex<BTreeMap<String, InterfaceTally>>,
    coverage: Mutex<Coverage>,
    images_probed: AtomicU64,
    images: Images,
    /// The county stock is asked for (the supplier's id); `None`: stock is not asked.
    area: Option<String>,
    shelf_on: Option<Value>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

fn transient(exchange: &Exchange) -> bool {
    matches!(
        exchange.error,
        Some(
            TransportError::Timeout { .. }
                | TransportError::Connect { .. }
                | TransportError::Closed { .. }
        )
    )
}

impl Ctx {
    /// One call, within the rate and the concurrency, sent again on a transient transport
    /// error; every attempt is counted and timed under its interface.
    async fn send<F, Fut>(&self, label: &str, make: F) -> Exchange
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Exchange>,
    {
        let mut attempt = 0;
        loop {
            if let Some(limiter) = &self.limiter {
                limiter.wait().await;
            }
            let permit = self.slots.acquire().await;
            let started = Instant::now();
            let exchange = make().await;
            let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            drop(permit);
            let failed = transient(&exchange);
            let retry = failed && attempt < RETRIES;
            {
                let mut tallies = lock(&self.tallies);
                // A token fetched on the way is the token interface's call.
                let name = if exchange.interface == label || label == "image" {
                    label
                } else {
                    exchange.interface.as_str()
                };
                let tally = tallies.entry(name.to_string()).or_default();
                tally.calls += 1;
                tally.latency.record(micros);
                if failed {
                    tally.transport_errors += 1;
                    if retry {
                        tally.retries += 1;
                    } else {
                        tally.failed += 1;
                    }
                }
            }
            if !retry {
                return exchange;
            }
            tokio::time::sleep(BACKOFF * 2u32.pow(attempt)).await;
            attempt += 1;
        }
    }

    async fn call(&self, interface: &str, params: &Map<String, Value>) -> Exchange {
        self.send(interface, || {
            self.client.call(interface, params, TokenUse::Auto)
        })
        .await
    }

    /// Judges an answer and notes in `coverage` what it judged.
    fn judge(
        &self,
        interface: &str,
        params: &Map<String, Value>,
        exchange: &Exchange,
        coverage: &mut Coverage,
    ) -> Option<checks::Judged> {
        let definition = self.profile.interface(interface)?;
        let judged = checks::judge_exchange(&self.input(definition, exchange, params));
        self.note_coverage(coverage, interface, &judged.runs, judged.unread.as_deref());
        Some(judged)
    }

    /// A batch answer judged again one item at a time, as if the supplier had answered each SKU
    /// alone: each requested SKU's findings on its item, none left out by a cap (which a batch
    /// of a hundred SKUs with a defect each would reach). Each requested SKU is judged once (its
    /// first item: the others are BATCH-COMPLETE's), so a hostile answer repeating one SKU costs
    /// no more than the batch. `None` when the body cannot be read again as JSON.
    fn judge_items(
        &self,
        interface: &str,
        params: &Map<String, Value>,
        exchange: &Exchange,
        result: &Value,
        batch: &HashMap<&str, usize>,
    ) -> Option<ByItem> {
        let definition = self.profile.interface(interface)?;
        let param = self.profile.batch_param(definition)?;
        let response = exchange.response.as_ref()?;
        let Value::Object(mut envelope) = serde_json::from_slice::<Value>(&response.body).ok()?
        else {
            return None;
        };
        let result_key = self.profile.fields.wire("result").to_string();
        let Some(Value::Array(items)) = envelope.remove(&result_key) else {
            return None;
        };
        // The envelope without its items, and the exchange without its body: copied once.
        let mut single = exchange.clone();
        if let Some(response) = single.response.as_mut() {
            response.body = Vec::new();
        }
        let mut by_item = ByItem {
            findings: Vec::new(),
            judged: std::collections::HashSet::new(),
            items: items.len(),
        };
        let mut skus_judged = std::collections::HashSet::new();
        for (n, item) in items.into_iter().enumerate() {
            let sku = result.get(n).and_then(|l| l.get("sku")).and_then(key_text);
            let Some((sku, &i)) = sku.and_then(|s| batch.get(s.as_str()).map(|i| (s, i))) else {
                continue;
            };
            if !skus_judged.insert(i) {
                continue;
            }
            envelope.insert(result_key.clone(), Value::Array(vec![item]));
            if let Some(response) = single.response.as_mut() {
                response.body = serde_json::to_vec(&envelope).ok()?;
            }
            let mut own_params = params.clone();
            own_params.insert(param.to_string(), Value::String(sku));
            let judged = checks::judge_exchange(&self.input(definition, &single, &own_params));
            for finding in judged.runs.into_iter().flat_map(|r| r.findings) {
                let of_item = finding
                    .pointer
                    .as_deref()
                    .is_some_and(|p| p == "/result/0" || p.starts_with("/result/0/"));
                if of_item || checks::is_more_findings(&finding) {
                    by_item.findings.push((i, at_item(finding, n)));
                }
            }
            by_item.judged.insert(n);
        }
        Some(by_item)
    }

    /// What an answer judged; when it was not read (or never came), the requirements of its
    /// interface are not judged for what it would have shown.
    fn note_coverage(
        &self,
        coverage: &mut Coverage,
        interface: &str,
        runs: &[CheckRun],
        unread: Option<&str>,
    ) {
        coverage.note_runs(runs);
        if let Some(why) = unread {
            self.interface_unjudged(coverage, interface, why);
        }
    }

    fn interface_unjudged(&self, coverage: &mut Coverage, interface: &str, why: &str) {
        let reason = format!("{interface}: {}", crate::excerpt::shorten(why, 200));
        for requirement in self
            .profile
            .interface(interface)
            .map_or(&[][..], |i| &i.requirements[..])
        {
            coverage.unjudged_because(requirement, &reason);
        }
    }

    /// What the judge is given for an answer of the sweep: success expected, the config's
    /// limits and stock latency bound.
    fn input<'a>(
        &'a self,
        interface: &'a crate::profile::Interface,
        exchange: &'a Exchange,
        params: &'a Map<String, Value>,
    ) -> ExchangeInput<'a> {
        ExchangeInput {
            profile: &self.profile,
            interface,
            exchange,
            params,
            expect_success: true,
            token_first_issued_ms: None,
            latency_bound_ms: self.config.stock_latency_ms,
            limits: self.config.answer_limits(),
        }
    }

    /// The token answers the client fetched on its own: judged like any answer (the first
    /// once, under the key `token`).
    fn token_lines(&self, out: &mut Vec<Line>, coverage: &mut Coverage) {
        for (exchange, _) in self.client.take_unjudged_issues() {
            if let Some(judged) = self.judge(iface::TOKEN, &Map::new(), &exchange, coverage) {
                out.push(answer_line(iface::TOKEN, Some("token"), &judged.runs));
            }
        }
    }
}

fn reason(interface: &str, finding: &Finding) -> Reason {
    Reason {
        requirement: finding.requirement.clone(),
        check: finding.check.clone(),
        interface: interface.to_string(),
        message: finding.message.clone(),
    }
}

fn answer_line(interface: &str, key: Option<&str>, runs: &[CheckRun]) -> Line {
    Line::Answer(AnswerLine {
        interface: interface.to_string(),
        key: key.map(str::to_string),
        findings: runs
            .iter()
            .flat_map(|r| &r.findings)
            .map(|f| reason(interface, f))
            .collect(),
    })
}

fn one_param(name: &str, value: &str) -> Map<String, Value> {
    let mut params = Map::new();
    params.insert(name.to_string(), Value::String(value.to_string()));
    params
}

/// The runtime a sweep runs on: one worker for every two cores (at least one). A sweep waits
/// on the supplier most of the time and judges in between; more workers than that wake each
/// other for every answer (futex calls and cache misses that cost more than the judging), and
/// where the supplier shares the machine its CPU is taken from it.
pub fn runtime() -> Result<tokio::runtime::Runtime, String> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads((cores / 2).max(1))
        .enable_all()
        .build()
        .map_err(|e| format!("无法启动运行时 cannot start the async runtime: {e}"))
}

/// Runs a sweep and writes its folder; the summary is computed from what is on disk.
pub async fn sweep(profile: Profile, args: &SweepArgs) -> Result<SweepOutcome, SessionError> {
    let config =
        Config::load(args.config.as_deref()).map_err(|e| SessionError::Input(e.to_string()))?;
    checks::validate_profile(&profile).map_err(SessionError::Input)?;
    let profile = Arc::new(profile);
    let target = args.target.clone().or_else(|| config.target.clone());
    if target.is_some() && (!args.faults.is_empty() || args.skus.is_some()) {
        return Err(SessionError::Input(
            "--fault / --skus apply to the embedded reference supplier only; start `mallcheck serve` for an external one".into(),
        ));
    }
    let dir = args.out.clone();
    std::fs::create_dir_all(&dir).map_err(|e| {
        SessionError::Input(format!("无法创建 / cannot create {}: {e}", dir.display()))
    })?;
    let jsonl = dir.join(summary::JSONL);
    let earlier = if args.resume {
        State::read(&dir)
    } else {
        if std::fs::metadata(&jsonl).is_ok_and(|m| m.len() > 0) {
            return Err(SessionError::Input(format!(
                "{0} 已有一次扫描：--resume 继续它，或另给 --out / {0} already holds a sweep: --resume continues it, or give another --out",
                jsonl.display()
            )));
        }
        None
    };
    if let (Some(earlier), Some(partition)) = (&earlier, args.partition)
        && earlier.partition.as_deref() != Some(partition.to_string().as_str())
    {
        return Err(SessionError::Input(format!(
            "{0} 是分片 {1:?} 的记录，不是 {partition} / {0} holds share {1:?}, not {partition}",
            dir.display(),
            earlier.partition
        )));
    }
    let supplier_config = SupplierConfig {
        faults: args.faults.clone(),
        skus: args.skus.unwrap_or(SupplierConfig::default().skus),
        ..SupplierConfig::default()
    };
    let connected = session::connect(&profile, &config, target.as_deref(), supplier_config).await?;
    let client = connected.client.clone();
    client.ask_again_after_timeouts();
    let _ = session::admin_available(&client, &profile).await;
    let shelf_on = profile.code("shelf_state", "on").cloned();
    let jobs = args.jobs.max(1);
    let ctx = Arc::new(Ctx {
        profile: Arc::clone(&profile),
        client,
        config,
        slots: Semaphore::new(jobs),
        limiter: args.rps.filter(|r| *r > 0.0).map(|rps| Limiter {
            interval: Duration::from_secs_f64(1.0 / rps),
            next: Mutex::new(Instant::now()),
        }),
        tallies: Mutex::new(BTreeMap::new()),
        coverage: Mutex::new(Coverage::default()),
        images_probed: AtomicU64::new(0),
        images: args.images,
        area: None,
        shelf_on,
    });
    let embedded = connected.embedded.is_some();
    let result = walk(ctx, args, &dir, earlier, &connected.target_label, embedded).await;
    if let Some(supplier) = connected.embedded {
        supplier.shutdown().await;
    }
    let stopped = result?;
    let partitions = args
        .partition
        .map(|p| vec![p.to_string()])
        .unwrap_or_default();
    let finalized = summary::finalize(&dir, partitions)
        .map_err(|e| SessionError::Runtime(format!("cannot write the summary: {e}")))?;
    let summary = report::write(&dir, &profile, finalized, stopped.as_deref(), args.lang)?;
    Ok(SweepOutcome {
        verdict: report::verdict(&summary, &profile, stopped.is_some()),
        summary,
        dir,
        stopped,
    })
}

/// The whole walk; returns why it stopped early, if it did.
async fn walk(
    mut ctx: Arc<Ctx>,
    args: &SweepArgs,
    dir: &Path,
    earlier: Option<State>,
    target_label: &str,
    embedded: bool,
) -> Result<Option<String>, SessionError> {
    let started = Instant::now();
    let io = |e: std::io::Error| SessionError::Runtime(format!("{}: {e}", dir.display()));
    let jsonl = dir.join(summary::JSONL);
    // What earlier sessions finished: their SKUs are not asked again. A line cut by a kill is
    // dropped from the record first.
    let mut done = PooledSkus::default();
    if args.resume {
        let whole = summary::whole_length(&jsonl).map_err(io)?;
        if let Ok(file) = std::fs::OpenOptions::new().write(true).open(&jsonl) {
            file.set_len(whole).map_err(io)?;
        }
        let mut text = String::new();
        let mut ends: Vec<usize> = Vec::new();
        summary::for_each_line(&jsonl, |line, _, _| {
            if let Line::Sku(sku) = line {
                text.push_str(&sku.sku);
                ends.push(text.len());
            }
        })
        .map_err(io)?;
        let spans = ends.iter().scan(0, |start, end| {
            let code = text.get(*start..*end).unwrap_or_default();
            *start = *end;
            Some(code)
        });
        done.add_pool("done", spans);
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&jsonl)
        .map_err(io)?;
    let mut head: Vec<Line> = Vec::new();
    let bars = Progress::new(args.progress);

    // Pools, then every pool's SKU list into one sorted set; a SKU a second pool lists again is
    // a SKU-LIST finding on that SKU.
    let pools_exchange = ctx.call(iface::POOLS, &Map::new()).await;
    ctx.token_lines(&mut head, &mut lock(&ctx.coverage));
    let mut pool_ids = Vec::new();
    // What of the catalogue could not be read: then the sweep is not complete, whatever the
    // SKUs it did read say (a catalogue never read is never "all sellable").
    let mut unread: Vec<String> = Vec::new();
    let pools_judged = ctx.judge(
        iface::POOLS,
        &Map::new(),
        &pools_exchange,
        &mut lock(&ctx.coverage),
    );
    if !pools_judged.as_ref().is_some_and(|j| j.succeeded()) {
        unread.push("品目池未读取 / the pool list was not read".into());
    }
    if let Some(judged) = pools_judged {
        head.push(answer_line(iface::POOLS, Some("pools"), &judged.runs));
        if judged.succeeded() {
            for pool in judged.result().as_array().into_iter().flatten() {
                if let Some(id) = pool.get("id").and_then(key_text)
                    && !pool_ids.contains(&id)
                {
                    pool_ids.push(id);
                }
            }
        }
    }
    let area = find_area(&ctx, &mut head).await;
    if area.is_none() {
        let why = "库存未查询：未找到测试地区 / stock not asked: no test area found by name (set [test_data] province, city, county)";
        ctx.interface_unjudged(&mut lock(&ctx.coverage), iface::STOCKS, why);
        unread.push(why.into());
    }
    match Arc::get_mut(&mut ctx) {
        Some(ctx) => ctx.area = area,
        None => unread.push("库存未查询 / stock not asked: the area could not be set".into()),
    }
    bars.pools(pool_ids.len() as u64);
    let mut pooled = PooledSkus::default();
    let mut twice: HashMap<String, (String, String)> = HashMap::new();
    let interface = ctx.profile.interface(iface::SKUS).cloned();
    for pool in &pool_ids {
        let params = one_param("catalog_id", pool);
        let exchange = ctx.call(iface::SKUS, &params).await;
        let Some(interface) = interface.as_ref() else {
            break;
        };
        let judged = checks::judge_sku_list(&ctx.input(interface, &exchange, &params));
        drop(exchange);
        ctx.note_coverage(
            &mut lock(&ctx.coverage),
            iface::SKUS,
            &judged.runs,
            judged.unread.as_deref(),
        );
        head.push(answer_line(iface::SKUS, Some(pool), &judged.runs));
        if judged.codes.is_none() {
            unread.push(format!(
                "品目池 {pool} 的 SKU 列表未读取 / the SKU list of pool {pool} was not read"
            ));
        }
        if let Some(codes) = &judged.codes {
            for code in codes.texts() {
                if let Some(first) = pooled.get(code)
                    && first != pool
                {
                    twice
                        .entry(code.to_string())
                        .or_insert_with(|| (first.to_string(), pool.clone()));
                }
            }
            pooled.add_pool(pool, codes.texts());
        }
        bars.pool_done();
    }
    let in_scope = pooled
        .iter()
        .filter(|(sku, _)| args.partition.is_none_or(|p| p.holds(sku)))
        .count() as u64;
    let remaining = pooled
        .iter()
        .filter(|(sku, _)| args.partition.is_none_or(|p| p.holds(sku)) && !done.contains_key(sku))
        .count() as u64;
    bars.skus(in_scope, in_scope - remaining);
    let mut text = Vec::new();
    for line in &head {
        write_line(&mut text, line);
    }
    file.write_all(&text).map_err(io)?;
    drop(head);

    let mut state = earlier.unwrap_or_default();
    state.target = target_label.to_string();
    state.partition = args.partition.map(|p| p.to_string());
    state.images = ctx.images.name().to_string();
    state.in_scope = in_scope;
    state.sessions += 1;
    if state.started_at.is_empty() {
        state.started_at = chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
    }
    state.embedded = embedded;
    state.config_sha256 = session::config_sha256(&ctx.config);
    state.supplier = ctx.config.declaration.supplier.clone();
    state.deviations = ctx.config.declaration.deviations.clone();
    let elapsed_before = state.elapsed_seconds;

    // The SKUs, batch by batch; results written in batch order.
    let batch_max = ctx.profile.settings.batch_max.max(1);
    let in_flight = (ctx.slots.available_permits() / batch_max + 2).max(2);
    let twice = Arc::new(twice);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(None::<String>);
    let signals = tokio::spawn(async move {
        session::wait_for_stop_signal().await;
        let _ = stop_tx.send(Some("被中断 / interrupted".to_string()));
    });
    let mut tasks = tokio::task::JoinSet::new();
    let mut ready: BTreeMap<u64, (Vec<u8>, Coverage)> = BTreeMap::new();
    let (mut next_seq, mut next_write) = (0u64, 0u64);
    let mut last_sync = Instant::now();
    let mut swept_now = 0u64;
    let mut stopped = None;
    let mut todo = pooled
        .iter()
        .filter(|(sku, _)| args.partition.is_none_or(|p| p.holds(sku)) && !done.contains_key(sku));
    let mut exhausted = false;
    loop {
        while !exhausted && stopped.is_none() && tasks.len() < in_flight {
            if let Some(why) = stop_rx.borrow().clone() {
                stopped = Some(why);
                break;
            }
            let mut take = batch_max;
            if let Some(max) = args.max_skus {
                let left = max.saturating_sub(swept_now + (tasks.len() * batch_max) as u64);
                take = take.min(left as usize);
                if take == 0 {
                    stopped = Some(format!("--max-skus {max}"));
                    break;
                }
            }
            let batch: Vec<(String, String)> = todo
                .by_ref()
                .take(take)
                .map(|(sku, pool)| (sku.to_string(), pool.to_string()))
                .collect();
            if batch.is_empty() {
                exhausted = true;
                break;
            }
            let seq = next_seq;
            next_seq += 1;
            let ctx = Arc::clone(&ctx);
            let twice = Arc::clone(&twice);
            tasks.spawn(async move { (seq, judge_batch(&ctx, batch, &twice).await) });
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        let (seq, (bytes, counted, coverage)) =
            joined.map_err(|e| SessionError::Runtime(format!("a batch failed: {e}")))?;
        swept_now += counted.0;
        bars.batch(counted);
        ready.insert(seq, (bytes, coverage));
        while let Some((bytes, coverage)) = ready.remove(&next_write) {
            file.write_all(&bytes).map_err(io)?;
            lock(&ctx.coverage).add(&coverage);
            next_write += 1;
        }
        if last_sync.elapsed() >= SYNC_EVERY {
            file.sync_data().map_err(io)?;
            save_state(&ctx, &mut state, elapsed_before, started, false, dir)?;
            last_sync = Instant::now();
        }
    }
    signals.abort();
    file.sync_data().map_err(io)?;
    if pool_ids.is_empty() {
        unread.push("没有品目池 / no pool to sweep".into());
    }
    let stopped = stopped.or_else(|| {
        (!unread.is_empty()).then(|| {
            let more = unread.len().saturating_sub(3);
            let mut why: Vec<String> = unread.iter().take(3).cloned().collect();
            if more > 0 {
                why.push(format!("… +{more}"));
            }
            // Each reason on its own side, so that the message stays one text of two.
            let side = |one: &dyn Fn(&str) -> String| {
                why.iter().map(|w| one(w)).collect::<Vec<_>>().join("; ")
            };
            let zh = side(&|w| crate::lang::pick(w, Some(crate::lang::Lang::Zh)));
            let en = side(&|w| crate::lang::message(w, Some(crate::lang::Lang::En)));
            format!("目录未读全：{zh} / the catalogue was not read whole: {en}")
        })
    });
    let complete = stopped.is_none() && exhausted;
    save_state(&ctx, &mut state, elapsed_before, started, complete, dir)?;
    bars.finish();
    Ok(stopped)
}

/// Adds this session's tallies to the state (once: they are taken) and writes it.
fn save_state(
    ctx: &Ctx,
    state: &mut State,
    elapsed_before: f64,
    started: Instant,
    complete: bool,
    dir: &Path,
) -> Result<(), SessionError> {
    let taken = std::mem::take(&mut *lock(&ctx.tallies));
    let coverage = std::mem::take(&mut *lock(&ctx.coverage));
    let session = State {
        interfaces: taken,
        coverage,
        images_probed: ctx.images_probed.swap(0, Ordering::Relaxed),
        complete: true,
        ..State::default()
    };
    state.add(&session);
    state.elapsed_seconds = elapsed_before + started.elapsed().as_secs_f64();
    state.complete = complete;
    state
        .write(dir)
        .map_err(|e| SessionError::Runtime(format!("{}: {e}", dir.display())))
}

fn write_line(out: &mut Vec<u8>, line: &Line) {
    if serde_json::to_writer(&mut *out, line).is_ok() {
        out.push(b'\n');
    }
}

/// The county stock is asked for: the config's, or the supplier's own id of
/// `test_data.county_name` found through its area interfaces, as `run` finds it.
async fn find_area(ctx: &Ctx, head: &mut Vec<Line>) -> Option<String> {
    let data = &ctx.config.test_data;
    if let Some(county) = &data.county {
        return Some(county.clone());
    }
    let mut knowledge = Knowledge::new(None);
    area_call(ctx, head, &mut knowledge, iface::PROVINCES, Map::new()).await;
    let province = knowledge
        .test_area(&data.province_name, &data.county_name)
        .province?;
    area_call(
        ctx,
        head,
        &mut knowledge,
        iface::CITIES,
        one_param("id", &province),
    )
    .await;
    let city = knowledge
        .test_area(&data.province_name, &data.county_name)
        .city?;
    area_call(
        ctx,
        head,
        &mut knowledge,
        iface::COUNTIES,
        one_param("id", &city),
    )
    .await;
    knowledge
        .test_area(&data.province_name, &data.county_name)
        .county
}

async fn area_call(
    ctx: &Ctx,
    head: &mut Vec<Line>,
    knowledge: &mut Knowledge,
    interface: &str,
    params: Map<String, Value>,
) {
    let exchange = ctx.call(interface, &params).await;
    if let Some(judged) = ctx.judge(interface, &params, &exchange, &mut lock(&ctx.coverage)) {
        let key = format!(
            "{interface}:{}",
            params.get("id").map_or(String::new(), Value::to_string)
        );
        head.push(answer_line(interface, Some(&key), &judged.runs));
        if judged.succeeded() {
            knowledge.learn(interface, &params, judged.result(), judged.content_clean());
        }
    }
}

/// A batch answer judged again item by item ([`Ctx::judge_items`]).
struct ByItem {
    /// (SKU index in the batch, finding) for every requested SKU's item.
    findings: Vec<(usize, Finding)>,
    /// The items (their index in the answer) judged again: all of them unless some were
    /// unrequested, unreadable or repeated.
    judged: std::collections::HashSet<usize>,
    /// Items in the answer.
    items: usize,
}

impl ByItem {
    /// Whether a finding on the whole answer is found again item by item: one on an item
    /// judged again, or a cap's count when every item was; never BATCH-COMPLETE's (duplicates
    /// and extras show only in the whole answer).
    fn covers(&self, finding: &Finding) -> bool {
        if finding.check == checks::ids::BATCH_COMPLETE {
            return false;
        }
        if checks::is_more_findings(finding) {
            return self.judged.len() == self.items;
        }
        finding
            .pointer
            .as_deref()
            .and_then(item_index)
            .is_some_and(|n| self.judged.contains(&n))
    }
}

/// A finding on item 0 of a one-item answer, pointed at item `n` of the whole answer.
fn at_item(mut finding: Finding, n: usize) -> Finding {
    if let Some(rest) = finding
        .pointer
        .as_deref()
        .and_then(|p| p.strip_prefix("/result/0"))
    {
        finding.pointer = Some(format!("/result/{n}{rest}"));
    }
    finding
}

/// `(sku index in the batch)` of a finding on a batch answer: by `/result/<i>` and the SKU
/// that item answers, or by the SKU a missing-SKU finding expected.
fn finding_sku(finding: &Finding, result: &Value, batch: &HashMap<&str, usize>) -> Option<usize> {
    let pointer = finding.pointer.as_deref()?;
    if pointer == "/result" {
        return batch.get(finding.expected.as_deref()?).copied();
    }
    item_sku(pointer, result, batch)
}

/// The item `/result/<n>…` points into.
fn item_index(pointer: &str) -> Option<usize> {
    pointer
        .strip_prefix("/result/")?
        .split('/')
        .next()?
        .parse()
        .ok()
}

/// `(sku index in the batch)` of the item `/result/<n>…` points into, by the SKU it answers.
fn item_sku(pointer: &str, result: &Value, batch: &HashMap<&str, usize>) -> Option<usize> {
    let sku = result
        .get(item_index(pointer)?)?
        .get("sku")
        .and_then(key_text)?;
    batch.get(sku.as_str()).copied()
}

/// Counted per batch: (SKUs, sellable, unsellable, not judged).
type Counted = (u64, u64, u64, u64);

/// One batch: its four batch answers, every detail and (per `--images`) every image, judged;
/// the SKUs' lines and the batch's own findings as `sweep.jsonl` text.
async fn judge_batch(
    ctx: &Arc<Ctx>,
    batch: Vec<(String, String)>,
    twice: &HashMap<String, (String, String)>,
) -> (Vec<u8>, Counted, Coverage) {
    let codes: Vec<&str> = batch.iter().map(|(sku, _)| sku.as_str()).collect();
    let index: HashMap<&str, usize> = codes.iter().enumerate().map(|(i, s)| (*s, i)).collect();
    let joined = codes.join(",");
    let mut calls = tokio::task::JoinSet::new();
    let mut batch_interfaces = vec![iface::PRICES, iface::SHELF_STATES, iface::IMAGES];
    if ctx.area.is_some() {
        batch_interfaces.push(iface::STOCKS);
    }
    for interface in batch_interfaces {
        let Some(definition) = ctx.profile.interface(interface) else {
            continue;
        };
        let param = ctx.profile.batch_param(definition).unwrap_or("sku");
        let mut params = one_param(param, &joined);
        if interface == iface::STOCKS
            && let Some(area) = &ctx.area
        {
            params.insert("area_id".into(), Value::String(area.clone()));
        }
        let ctx = Arc::clone(ctx);
        calls.spawn(async move {
            let exchange = ctx.call(interface, &params).await;
            (interface, None, params, exchange)
        });
    }
    for (i, sku) in codes.iter().enumerate() {
        let params = one_param("sku", sku);
        let ctx = Arc::clone(ctx);
        calls.spawn(async move {
            let exchange = ctx.call(iface::DETAIL, &params).await;
            (iface::DETAIL, Some(i), params, exchange)
        });
    }
    // What this batch judged: noted when its lines are written, so a state saved meanwhile
    // speaks only of SKUs in the record.
    let mut coverage = Coverage::default();
    let mut reasons: Vec<Vec<Reason>> = vec![Vec::new(); codes.len()];
    let mut notes: Vec<Vec<String>> = vec![Vec::new(); codes.len()];
    let mut names: Vec<String> = vec![String::new(); codes.len()];
    let mut answer_lines = Vec::new();
    let mut knowledge = Knowledge::new(ctx.shelf_on.clone());
    // (sku index, pointer, url) of the images to fetch.
    let mut to_probe: Vec<(usize, String, String)> = Vec::new();
    // A task that panicked loses its own result, not those after it.
    while let Some(joined) = calls.join_next().await {
        let Ok((interface, sku_index, params, exchange)) = joined else {
            continue;
        };
        let Some(judged) = ctx.judge(interface, &params, &exchange, &mut coverage) else {
            continue;
        };
        let unread = judged.unread.clone().or_else(|| {
            // An answer cut short or that never came is not judged.
            exchange.response.is_none().then(|| {
                exchange
                    .error
                    .as_ref()
                    .map_or("no answer".to_string(), TransportError::describe)
            })
        });
        if judged.succeeded() || unread.is_none() {
            knowledge.learn_judged(interface, &params, &judged);
        }
        match sku_index {
            Some(i) => {
                if let Some(why) = unread {
                    notes[i].push(format!(
                        "{interface}: {}",
                        crate::excerpt::shorten(&why, 200)
                    ));
                    continue;
                }
                for finding in judged.runs.iter().flat_map(|r| &r.findings) {
                    reasons[i].push(reason(interface, finding));
                }
                if judged.succeeded() {
                    if let Some(name) = judged.result().get("name").and_then(Value::as_str) {
                        names[i] = crate::excerpt::shorten(name, 200);
                    }
                    if ctx.images.fetches(codes[i]) {
                        for (pointer, url) in checks::image_urls(interface, judged.result()) {
                            to_probe.push((i, pointer, url));
                        }
                    }
                }
            }
            None => {
                if let Some(why) = unread {
                    let note = format!("{interface}: {}", crate::excerpt::shorten(&why, 200));
                    notes.iter_mut().for_each(|n| n.push(note.clone()));
                    continue;
                }
                let result = judged.result();
                // A check that kept only its first findings left SKUs without theirs: the
                // answer is judged again item by item, and those findings replace the items'.
                let capped = judged
                    .runs
                    .iter()
                    .flat_map(|r| &r.findings)
                    .any(checks::is_more_findings);
                let by_item = capped
                    .then(|| ctx.judge_items(interface, &params, &exchange, result, &index))
                    .flatten();
                let mut own = Vec::new();
                for finding in judged.runs.iter().flat_map(|r| &r.findings) {
                    if by_item.as_ref().is_some_and(|b| b.covers(finding)) {
                        continue;
                    }
                    match finding_sku(finding, result, &index) {
                        Some(i) => reasons[i].push(reason(interface, finding)),
                        None => own.push(reason(interface, finding)),
                    }
                }
                for (i, finding) in by_item.into_iter().flat_map(|b| b.findings) {
                    reasons[i].push(reason(interface, &finding));
                }
                if !own.is_empty() {
                    answer_lines.push(Line::Answer(AnswerLine {
                        interface: interface.to_string(),
                        key: None,
                        findings: own,
                    }));
                }
                // Which images to fetch: with `--images none`, none (their form is judged above).
                if judged.succeeded() && interface == iface::IMAGES && ctx.images != Images::None {
                    for (pointer, url) in checks::image_urls(interface, result) {
                        if let Some(i) = item_sku(&pointer, result, &index)
                            && ctx.images.fetches(codes[i])
                        {
                            to_probe.push((i, pointer, url));
                        }
                    }
                }
            }
        }
    }
    // Images: each URL once per SKU of the batch (the main image is also the gallery's first,
    // under another pointer).
    to_probe.sort_by(|a, b| (a.0, &a.2, &a.1).cmp(&(b.0, &b.2, &b.1)));
    to_probe.dedup_by(|a, b| a.0 == b.0 && a.2 == b.2);
    let mut probes = tokio::task::JoinSet::new();
    for (i, pointer, url) in to_probe {
        let ctx = Arc::clone(ctx);
        probes.spawn(async move {
            let probe = ctx
                .send("image", || {
                    ctx.client.get_prefix(&url, "image", IMAGE_PROBE_BYTES)
                })
                .await;
            ctx.images_probed.fetch_add(1, Ordering::Relaxed);
            (i, pointer, url, probe)
        });
    }
    // A task that panicked loses its own result, not those after it.
    while let Some(joined) = probes.join_next().await {
        let Ok((i, pointer, url, probe)) = joined else {
            continue;
        };
        if transient(&probe) {
            let why = probe
                .error
                .as_ref()
                .map_or(String::new(), TransportError::describe);
            coverage.note_runs(&[checks::image_probe_not_judged(&why)]);
            notes[i].push(format!("image: {why}"));
            continue;
        }
        let run = checks::judge_image_probe(&pointer, &url, &probe, ctx.client.base_url());
        for finding in &run.findings {
            reasons[i].push(reason("image", finding));
        }
        coverage.note_runs(&[run]);
    }
    let mut out = Vec::new();
    let mut counted: Counted = (0, 0, 0, 0);
    for (i, (sku, pool)) in batch.iter().enumerate() {
        let mut reasons = std::mem::take(&mut reasons[i]);
        let notes = std::mem::take(&mut notes[i]);
        if let Some((first, second)) = twice.get(sku) {
            reasons.push(reason(
                iface::SKUS,
                &checks::sku_in_two_pools(sku, first, second),
            ));
        }
        // What crosses interfaces needs every answer: with one unread it is not judged.
        let crossing = match notes.first() {
            None => checks::sku_consistency(&knowledge, sku),
            Some(why) => checks::sku_consistency_not_judged(why),
        };
        for finding in crossing.iter().flat_map(|r| &r.findings) {
            reasons.push(reason("catalogue", finding));
        }
        coverage.note_runs(&crossing);
        let status = if !reasons.is_empty() {
            counted.2 += 1;
            SkuStatus::Unsellable
        } else if !notes.is_empty() {
            counted.3 += 1;
            SkuStatus::NotJudged
        } else {
            counted.1 += 1;
            SkuStatus::Sellable
        };
        counted.0 += 1;
        write_line(
            &mut out,
            &Line::Sku(SkuLine {
                sku: sku.clone(),
                pool: pool.clone(),
                name: std::mem::take(&mut names[i]),
                status,
                reasons,
                not_judged: notes,
            }),
        );
    }
    let mut tokens = Vec::new();
    ctx.token_lines(&mut tokens, &mut coverage);
    for line in answer_lines.iter().chain(&tokens) {
        write_line(&mut out, line);
    }
    (out, counted, coverage)
}

/// Merges the folders of shares into `out`: their records one after the other (the answers
/// every share read counted once), their measurements added, then the same summary as a sweep.
pub fn merge(
    profile: &Profile,
    dirs: &[PathBuf],
    out: &Path,
    lang: crate::events::Lang,
) -> Result<SweepSummary, SessionError> {
    let io =
        |path: &Path, e: std::io::Error| SessionError::Runtime(format!("{}: {e}", path.display()));
    std::fs::create_dir_all(out).map_err(|e| io(out, e))?;
    let target = out.join(summary::JSONL);
    if dirs.iter().any(|d| d.join(summary::JSONL) == target) {
        return Err(SessionError::Input(
            "--out 不能是被合并的目录之一 / --out must be a new folder, not one of the shares"
                .into(),
        ));
    }
    let mut merged = State {
        complete: true,
        ..State::default()
    };
    let mut partitions: Vec<String> = Vec::new();
    let mut count = None;
    for dir in dirs {
        let state = State::read(dir).ok_or_else(|| {
            SessionError::Input(format!(
                "{0} 不是一次扫描的目录（没有 {1}） / {0} holds no {1}",
                dir.display(),
                summary::STATE
            ))
        })?;
        let share = state.partition.clone().unwrap_or_else(|| "1/1".to_string());
        if partitions.contains(&share) {
            return Err(SessionError::Input(format!(
                "分片 {share} 出现两次 / share {share} given twice"
            )));
        }
        let n = share.split_once('/').map(|(_, n)| n.to_string());
        if count.get_or_insert_with(|| n.clone()) != &n {
            return Err(SessionError::Input(format!(
                "分片数不一致 / the shares are not of one partition: {share}"
            )));
        }
        if merged.target.is_empty() {
            merged.target = state.target.clone();
            merged.images = state.images.clone();
        }
        merged.add(&state);
        partitions.push(share);
    }
    let total: Option<u64> = count.flatten().and_then(|n| n.parse().ok());
    if total != Some(partitions.len() as u64) {
        merged.complete = false;
    }
    let mut file = std::io::BufWriter::new(std::fs::File::create(&target).map_err(|e| io(out, e))?);
    let mut seen = std::collections::BTreeSet::new();
    for dir in dirs {
        let path = dir.join(summary::JSONL);
        let mut failed = None;
        summary::for_each_line(&path, |line, _, _| {
            if let Line::Answer(answer) = &line
                && let Some(key) = &answer.key
                && !seen.insert((answer.interface.clone(), key.clone()))
            {
                return;
            }
            let mut text = Vec::new();
            write_line(&mut text, &line);
            if let Err(e) = file.write_all(&text) {
                failed.get_or_insert(e);
            }
        })
        .map_err(|e| io(&path, e))?;
        if let Some(e) = failed {
            return Err(io(&target, e));
        }
    }
    file.flush().map_err(|e| io(&target, e))?;
    drop(file);
    // Shares ran side by side: the merged sweep took as long as the longest.
    merged.write(out).map_err(|e| io(out, e))?;
    partitions.sort();
    let finalized = summary::finalize(out, partitions).map_err(|e| io(out, e))?;
    report::write(out, profile, finalized, None, lang)
}

/// Bars on a terminal (pools, SKUs with rate and ETA); a plain line every 5 s otherwise.
struct Progress {
    bars: Option<(indicatif::ProgressBar, indicatif::ProgressBar)>,
    plain: bool,
    state: Mutex<(u64, u64, u64, u64, Instant, Instant)>,
}

impl Progress {
    fn new(enabled: bool) -> Progress {
        let terminal = enabled && std::io::stderr().is_terminal();
        let bars = terminal.then(|| {
            let multi = indicatif::MultiProgress::new();
            let style = |template: &str| {
                indicatif::ProgressStyle::with_template(template)
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            };
            let pools = multi.add(indicatif::ProgressBar::new(0));
            let pools_label = crate::lang::tr("品目池", "pools", crate::lang::chosen());
            pools.set_style(style(&format!("{pools_label} {{bar:30}} {{pos}}/{{len}}")));
            let skus = multi.add(indicatif::ProgressBar::new(0));
            skus.set_style(style("SKU {bar:30} {pos}/{len} {per_sec} ETA {eta} {msg}"));
            (pools, skus)
        });
        let now = Instant::now();
        Progress {
            bars,
            plain: enabled && !terminal,
            state: Mutex::new((0, 0, 0, 0, now, now)),
        }
    }

    fn pools(&self, n: u64) {
        if let Some((pools, _)) = &self.bars {
            pools.set_length(n);
        }
    }

    fn pool_done(&self) {
        if let Some((pools, _)) = &self.bars {
            pools.inc(1);
        }
    }

    fn skus(&self, total: u64, done: u64) {
        if let Some((pools, skus)) = &self.bars {
            pools.finish();
            skus.set_length(total);
            skus.set_position(done);
        }
        let mut state = lock(&self.state);
        state.0 = total;
        state.1 = done;
    }

    fn batch(&self, counted: Counted) {
        let mut state = lock(&self.state);
        state.1 += counted.0;
        state.2 += counted.2;
        state.3 += counted.3;
        if let Some((_, skus)) = &self.bars {
            skus.set_position(state.1);
            skus.set_message(crate::lang::tr(
                &format!("不可售 {} 未判定 {}", state.2, state.3),
                &format!("unsellable {} not judged {}", state.2, state.3),
                crate::lang::chosen(),
            ));
        }
        if self.plain && state.5.elapsed() >= Duration::from_secs(5) {
            state.5 = Instant::now();
            let rate = state.1 as f64 / state.4.elapsed().as_secs_f64().max(0.001);
            let (done, total, unsellable, unjudged) = (state.1, state.0, state.2, state.3);
            eprintln!(
                "sweep: {done}/{total} SKUs, {rate:.0}/s, {}",
                crate::lang::tr(
                    &format!("不可售 {unsellable}，未判定 {unjudged}"),
                    &format!("unsellable {unsellable}, not judged {unjudged}"),
                    crate::lang::chosen(),
                )
            );
        }
    }

    fn finish(&self) {
        if let Some((_, skus)) = &self.bars {
            skus.finish();
        }
    }
}
