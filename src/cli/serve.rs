//! `mallcheck serve` and `mallcheck faults`: run the reference supplier, list its faults.
//! The flags of `serve` live here, beside what they configure; `cli/mod.rs` holds the rest.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use serde_json::{Value, json};

use super::table::Table;
use crate::exit;
use crate::lang::Lang;
use crate::profile::Profile;
use crate::supplier::{self, AreaIds, SupplierConfig, SupplierError};

/// The flags of `mallcheck serve`.
#[derive(Debug, clap::Args)]
pub struct ServeFlags {
    /// 监听地址（端口 0：任一空闲端口） / Address to listen on (port 0: any free port); the base URL is the first line on stdout.
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// 生成目录的 SKU 数 / Number of SKUs in the generated catalogue (a million start in a fraction of a second).
    #[arg(long, default_value_t = 1000)]
    skus: u64,
    /// 目录种子 / Seed of the generated catalogue: the same seed gives the same catalogue.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// 注入一个故障 / A fault to inject (repeatable); see `mallcheck faults`.
    #[arg(long = "fault", value_name = "ID")]
    faults: Vec<String>,
    /// 提供管理接口 / Serve /__admin/clock and /__admin/stock.
    #[arg(long)]
    admin: bool,
    /// 接受的用户名 / The username the supplier accepts.
    #[arg(long, env = "MALLCHECK_USERNAME", default_value = "tjmall")]
    username: String,
    /// 接受的密码 / The password the supplier accepts (its md5 travels; prefer the environment variable).
    #[arg(
        long,
        env = "MALLCHECK_PASSWORD",
        default_value = "tjmall-test",
        hide_env_values = true
    )]
    password: String,
    /// 确认后多少秒发货，此前订单为新建（state 0）且无运单 / Seconds after confirmation until an order ships; until then it is new (state 0) without a waybill [default: 0, at once; 2 with --test-env]
    #[arg(long = "ship-after", value_name = "SECS", value_parser = clap::value_parser!(i64).range(0..))]
    ship_after: Option<i64>,
    /// 确认后多少秒送达，不少于 --ship-after / Seconds after confirmation until an order is delivered, not less than --ship-after [default: 86400, 24 h; 4 with --test-env]
    #[arg(long = "deliver-after", value_name = "SECS", value_parser = clap::value_parser!(i64).range(0..))]
    deliver_after: Option<i64>,
    /// 地区编号：standard（GB/T 2260）或 own（自有编号：省 1…34，市自 2801，区县自 50950，仿京东） / Area ids: standard (GB/T 2260), or own (provinces 1…34, cities from 2801, counties from 50950, like JD's) [default: standard; own with --test-env]
    #[arg(long = "area-ids", value_enum, value_name = "SCHEME")]
    area_ids: Option<AreaIdsFlag>,
    /// 上次发放的 token 未过期时，再次申请返回同一 token 及同一 expires_at / While the last token is valid, a token request gets it again, with the same expires_at
    #[arg(long = "reissue-token")]
    reissue_token: bool,
    /// 预下单答复延迟（毫秒，订单已建立） / Hold every pre-order answer this many milliseconds, after the order is made (a slow supplier)
    #[arg(long = "submit-delay-ms", value_name = "MS", default_value_t = 0)]
    submit_delay_ms: u64,
    /// 模拟供应商测试环境：无管理接口，--ship-after 2 --deliver-after 4 --area-ids own --reissue-token（前三项可另行指定） / Behave like a supplier's test environment: no admin endpoints, --ship-after 2 --deliver-after 4 --area-ids own --reissue-token (the first three can be given to override)
    #[arg(long = "test-env", conflicts_with = "admin")]
    test_env: bool,
}

/// The values of `--area-ids` (clap stays in `cli`).
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum AreaIdsFlag {
    Standard,
    Own,
}

impl ServeFlags {
    fn config(self) -> (SocketAddr, SupplierConfig) {
        let base = if self.test_env {
            SupplierConfig::test_env()
        } else {
            SupplierConfig::default()
        };
        let area_ids = match self.area_ids {
            Some(AreaIdsFlag::Standard) => AreaIds::Standard,
            Some(AreaIdsFlag::Own) => AreaIds::Own,
            None => base.area_ids,
        };
        let config = SupplierConfig {
            skus: self.skus,
            seed: self.seed,
            faults: self.faults,
            admin: self.admin,
            username: self.username,
            password: self.password,
            ship_after_seconds: self.ship_after.unwrap_or(base.ship_after_seconds),
            deliver_after_seconds: self.deliver_after.unwrap_or(base.deliver_after_seconds),
            area_ids,
            reissue_valid_token: self.reissue_token || base.reissue_valid_token,
            submit_delay_ms: self.submit_delay_ms,
        };
        (self.addr, config)
    }
}

/// The options that differ from the defaults, for the start line.
fn options_note(config: &SupplierConfig) -> String {
    let default = SupplierConfig::default();
    let mut notes = Vec::new();
    if config.admin {
        notes.push("管理接口已开启 / admin endpoints on".to_string());
    }
    if (config.ship_after_seconds, config.deliver_after_seconds)
        != (default.ship_after_seconds, default.deliver_after_seconds)
    {
        notes.push(format!(
            "确认后 {0} 秒发货、{1} 秒送达 / orders ship {0} s and are delivered {1} s after confirmation",
            config.ship_after_seconds,
            config.deliver_after_seconds
        ));
    }
    if config.area_ids == AreaIds::Own {
        notes.push("自有地区编号 / own area ids".to_string());
    }
    if config.reissue_valid_token {
        notes.push("有效 token 重复发放 / valid tokens handed out again".to_string());
    }
    notes
        .iter()
        .map(|note| format!(", {}", crate::lang::say(note)))
        .collect()
}

/// Starts the supplier on `--addr`, prints its base URL as the first line on stdout once it
/// accepts connections, and runs until SIGINT or SIGTERM.
pub fn serve_command(profile: Profile, flags: ServeFlags) -> ExitCode {
    let (addr, config) = flags.config();
    let runtime = match super::runtime() {
        Ok(runtime) => runtime,
        Err(e) => {
            super::complain(&e);
            return ExitCode::from(exit::RUNTIME);
        }
    };
    runtime.block_on(serve(Arc::new(profile), addr, config))
}

async fn serve(profile: Arc<Profile>, addr: SocketAddr, config: SupplierConfig) -> ExitCode {
    let skus = config.skus;
    let seed = config.seed;
    let fault_list = config.faults.join(", ");
    let options = options_note(&config);
    let signals = StopSignals::install();
    let running = match supplier::start(profile, config, addr).await {
        Ok(running) => running,
        Err(e) => {
            super::complain(&e);
            let code = match e {
                SupplierError::Bind { .. } => exit::RUNTIME,
                _ => exit::USAGE,
            };
            return ExitCode::from(code);
        }
    };
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "{}", running.base_url());
    let _ = stdout.flush();
    let lang = crate::lang::chosen();
    let faults = if fault_list.is_empty() {
        crate::lang::tr("无", "none", lang)
    } else {
        fault_list
    };
    let url = running.base_url();
    eprintln!(
        "{}",
        crate::lang::tr(
            &format!(
                "参考供应商已启动 {url} — {skus} 个商品，种子 {seed}，故障：{faults}{options}；Ctrl-C 停止"
            ),
            &format!(
                "reference supplier listening on {url} — {skus} SKUs, seed {seed}, faults: {faults}{options}; Ctrl-C to stop"
            ),
            lang
        )
    );
    signals.wait().await;
    super::say("正在停止… / stopping…");
    running.shutdown().await;
    ExitCode::SUCCESS
}

/// SIGINT / SIGTERM, listened to from before the URL is printed: a caller may stop the server
/// as soon as it reads the URL.
struct StopSignals {
    #[cfg(unix)]
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl StopSignals {
    fn install() -> StopSignals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let streams = signal(SignalKind::interrupt())
                .and_then(|interrupt| Ok((interrupt, signal(SignalKind::terminate())?)))
                .ok();
            StopSignals { streams }
        }
        #[cfg(not(unix))]
        StopSignals {}
    }

    async fn wait(self) {
        #[cfg(unix)]
        if let Some((mut interrupt, mut terminate)) = self.streams {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Lists the faults as a table, or as a JSON array with `json`.
pub fn faults_command(json: bool) -> ExitCode {
    let faults = supplier::faults();
    if json {
        let entries: Vec<Value> = faults
            .iter()
            .map(|fault| {
                json!({
                    "id": fault.id,
                    "requirements": fault.requirements,
                    "description_zh": fault.description_zh,
                    "description_en": fault.description_en,
                })
            })
            .collect();
        match serde_json::to_string_pretty(&Value::Array(entries)) {
            Ok(text) => super::stdout(&format!("{text}\n")),
            Err(e) => {
                super::complain(&e);
                return ExitCode::from(exit::RUNTIME);
            }
        }
        return ExitCode::SUCCESS;
    }
    let lang = crate::lang::chosen();
    let mut table = Table::new(match lang {
        Some(Lang::Zh) => vec!["id", "需求", "说明"],
        Some(Lang::En) => vec!["id", "requirements", "description"],
        None => vec!["id", "需求 requirements", "说明", "description"],
    });
    for fault in faults {
        let mut row = vec![fault.id.to_string(), fault.requirements.join(", ")];
        if lang != Some(Lang::En) {
            row.push(fault.description_zh.to_string());
        }
        if lang != Some(Lang::Zh) {
            row.push(fault.description_en.to_string());
        }
        table.row(row);
    }
    super::stdout(&table.render());
    super::stdout(&format!(
        "{}\n",
        crate::lang::say(&format!("{0} 个故障 / {0} faults", faults.len()))
    ));
    ExitCode::SUCCESS
}
