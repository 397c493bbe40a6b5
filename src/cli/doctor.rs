//! `mallcheck doctor` and `mallcheck init`: from nothing to a first run.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use crate::doctor::{DoctorArgs, Health};
use crate::exit;
use crate::profile::Profile;

/// 0 when nothing needs fixing, 1 when something does.
pub fn doctor_command(
    profile: Profile,
    args: DoctorArgs,
    lang: Option<crate::events::Lang>,
) -> ExitCode {
    let runtime = match super::runtime() {
        Ok(r) => r,
        Err(e) => {
            super::complain(&e);
            return ExitCode::from(exit::RUNTIME);
        }
    };
    let probes = runtime.block_on(crate::doctor::examine(profile, &args));
    let mut text = String::from("mallcheck doctor\n");
    for probe in &probes {
        let mark = match probe.health {
            Health::Ok => "✔",
            Health::Warn => "!",
            Health::Problem => "✘",
        };
        text.push_str(&format!(
            "  {mark} {}: {}\n",
            probe.what.render(lang),
            probe.detail.render(lang)
        ));
        if let Some(fix) = &probe.fix {
            text.push_str(&format!("      → {}\n", fix.render(lang)));
        }
    }
    let problems = probes
        .iter()
        .filter(|p| p.health == Health::Problem)
        .count();
    let say = |zh: String, en: String| match lang {
        Some(crate::events::Lang::Zh) => zh,
        Some(crate::events::Lang::En) => en,
        None => format!("{zh} {en}"),
    };
    text.push_str(&if problems == 0 {
        say(
            "可以运行：`mallcheck run`（只对测试环境加 --allow-orders）".into(),
            "ready: `mallcheck run` (add --allow-orders only against a test environment)".into(),
        )
    } else {
        say(
            format!("{problems} 个问题需要在运行前修正"),
            format!("{problems} problem(s) to fix before a run"),
        )
    });
    text.push('\n');
    super::stdout(&text);
    ExitCode::from(if problems == 0 {
        exit::OK
    } else {
        exit::CONFORMANCE_FAILURE
    })
}

/// The commented config `init` writes (every key at its default but the target and the
/// environment).
pub fn config_template(target: &str, environment: &str) -> String {
    format!(
        r#"# mallcheck.toml — 配置 / configuration (`mallcheck init` wrote it; every key is optional)
# 凭据只从环境变量读取，不要写在这里 / Credentials come from the environment, not from this file:
#   export MALLCHECK_USERNAME=…  MALLCHECK_PASSWORD=…

# 供应商接口的基础地址（不含 /api）/ Base URL of the supplier (without /api).
target = {target}
# "test"：允许下单场景（会创建并取消真实订单）；"production"：不下单
# "test" lets the order scenarios run (they create and cancel real orders); "production" never orders.
environment = {environment}

# 每次调用的超时（秒）/ Deadline of one call, in seconds (--timeout).
timeout_seconds = 20
# 整次运行的上限（秒）/ Limit of the whole run, in seconds (--max-time).
max_time_seconds = 1800
# 同时运行的场景数 / Scenarios at the same time (--jobs).
jobs = 4
image_concurrency = 8
# 库存接口慢于此值时提示（毫秒）/ Stock answers slower than this are reported (STK-REALTIME).
stock_latency_ms = 2000
# 读取的回答上限与报告中保留的证据 / What is read of an answer, and kept of it in reports.
max_body_mib = 8
evidence_kib = 64
max_answer_items = {items}
max_answer_depth = {depth}

[credentials]
username_env = "MALLCHECK_USERNAME"
password_env = "MALLCHECK_PASSWORD"

[orders]
# 等待供应商自行发货、妥投的最长时间（秒）/ Longest wait for the supplier to ship or deliver.
wait_seconds = 300
poll_seconds = 1.0
# 每个订单与每次运行的保护上限 / Guards on every order and run.
max_quantity = 100
max_amount = 100000.0
max_orders = 100

[test_data]
# 地区编号默认按名称从供应商的地区接口查得 / Area ids are found by name through the supplier's area interfaces.
province_name = "天津"
county_name = "和平区"
# 可下单的 SKU（空：从目录中选有货的上架商品）/ SKUs the harness may order (empty: on-shelf SKUs in stock).
order_skus = []
"#,
        target = toml::Value::String(target.to_string()),
        environment = toml::Value::String(environment.to_string()),
        items = crate::checks::AnswerLimits::default().max_items,
        depth = crate::checks::AnswerLimits::default().max_depth,
    )
}

/// `mallcheck init`: writes a commented config. On a terminal it asks for the target and the
/// environment; otherwise it asks nothing and takes the flags (or placeholders).
pub fn init_command(
    output: &Path,
    target: Option<String>,
    environment: Option<String>,
    force: bool,
) -> ExitCode {
    if output.exists() && !force {
        super::complain(format!(
            "{0} 已存在，--force 覆盖 / {0} already exists; --force overwrites it",
            output.display()
        ));
        return ExitCode::from(exit::USAGE);
    }
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let ask = |question: &str, default: &str| -> String {
        if !interactive {
            return default.to_string();
        }
        eprint!("{question} [{default}]: ");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        let _ = std::io::stdin().lock().read_line(&mut line);
        let answer = line.trim();
        if answer.is_empty() {
            default.to_string()
        } else {
            answer.to_string()
        }
    };
    let target = target.unwrap_or_else(|| {
        ask(
            &crate::lang::say("供应商基础地址 / supplier base URL"),
            "https://test.supplier.example.cn",
        )
    });
    let environment = environment.unwrap_or_else(|| {
        ask(
            &crate::lang::say(
                "环境（test 可下单，production 不下单） / environment (test = orders allowed, production = none)",
            ),
            "production",
        )
    });
    if !crate::config::ENVIRONMENTS.contains(&environment.as_str()) {
        super::complain(format!(
            "environment {environment:?}: 只能是 {0} / must be one of {0}",
            crate::config::ENVIRONMENTS.join(", ")
        ));
        return ExitCode::from(exit::USAGE);
    }
    let text = config_template(&target, &environment);
    if let Err(e) = crate::report::write_atomically(output, text.as_bytes()) {
        super::complain(&e);
        return ExitCode::from(exit::USAGE);
    }
    super::say(format!(
        "已写入 {0}；下一步：export MALLCHECK_USERNAME=… MALLCHECK_PASSWORD=…，然后 `mallcheck doctor` / wrote {0}; next: export MALLCHECK_USERNAME=… MALLCHECK_PASSWORD=…, then `mallcheck doctor`",
        output.display()
    ));
    ExitCode::from(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The template is a config that loads, and says what the defaults are.
    #[test]
    fn the_init_template_loads_with_the_defaults() {
        let text = config_template("https://test.supplier.example.cn", "test");
        let config: crate::config::Config = toml::from_str(&text).expect("the template loads");
        config.validate().expect("and is valid");
        let defaults = crate::config::Config::default();
        assert_eq!(
            config.target.as_deref(),
            Some("https://test.supplier.example.cn")
        );
        assert!(config.is_test_environment());
        assert_eq!(config.timeout_seconds, defaults.timeout_seconds);
        assert_eq!(config.max_answer_items, defaults.max_answer_items);
        assert_eq!(config.orders.max_orders, defaults.orders.max_orders);
        assert_eq!(
            config.test_data.province_name,
            defaults.test_data.province_name
        );
    }
}
