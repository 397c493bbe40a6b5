//! `mallcheck serve` and `mallcheck faults`: run the reference supplier, list its faults.
//! Takes plain values; the clap definitions live in `cli/mod.rs`.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use serde_json::{Value, json};

use super::table::Table;
use crate::exit;
use crate::profile::Profile;
use crate::supplier::{self, SupplierConfig, SupplierError};

/// Starts the supplier on `addr`, prints its base URL as the first line on stdout once it
/// accepts connections, and runs until SIGINT or SIGTERM.
pub fn serve_command(profile: Profile, addr: SocketAddr, config: SupplierConfig) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("mallcheck: 无法启动运行时 cannot start the async runtime: {e}");
            return ExitCode::from(exit::RUNTIME);
        }
    };
    runtime.block_on(serve(Arc::new(profile), addr, config))
}

async fn serve(profile: Arc<Profile>, addr: SocketAddr, config: SupplierConfig) -> ExitCode {
    let skus = config.skus;
    let seed = config.seed;
    let fault_list = config.faults.join(", ");
    let admin = config.admin;
    let signals = StopSignals::install();
    let running = match supplier::start(profile, config, addr).await {
        Ok(running) => running,
        Err(e) => {
            eprintln!("mallcheck: {e}");
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
    let faults = if fault_list.is_empty() {
        "无 none".to_string()
    } else {
        fault_list
    };
    eprintln!(
        "参考供应商已启动 reference supplier listening on {} — {skus} 个商品 SKUs, 种子 seed {seed}, 故障 faults: {faults}{}; Ctrl-C 停止 to stop",
        running.base_url(),
        if admin {
            ", 管理接口 admin endpoints on"
        } else {
            ""
        }
    );
    signals.wait().await;
    eprintln!("正在停止 stopping…");
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
                eprintln!("mallcheck: {e}");
                return ExitCode::from(exit::RUNTIME);
            }
        }
        return ExitCode::SUCCESS;
    }
    let mut table = Table::new(["id", "需求 requirements", "说明", "description"]);
    for fault in faults {
        table.row(vec![
            fault.id.to_string(),
            fault.requirements.join(", "),
            fault.description_zh.to_string(),
            fault.description_en.to_string(),
        ]);
    }
    super::stdout(&table.render());
    super::stdout(&format!("{} 个故障 faults\n", faults.len()));
    ExitCode::SUCCESS
}
