//! Orders without harm, from outside: a run killed (SIGKILL) or stopped (SIGTERM) while
//! pre-orders are in flight leaves nothing open, after `mallcheck cleanup` or the next run; a
//! target not cleared for orders gets no order, even when it checks neither token nor price;
//! `--plan` sends nothing. The supplier's own record (`/__admin/orders`) is the judge.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::Serve;

const CREDENTIALS: [(&str, &str); 2] = [
    ("MALLCHECK_USERNAME", "tjmall"),
    ("MALLCHECK_PASSWORD", "tjmall-test"),
];

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mallcheck-orders-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn command(args: &[&str], dir: &Path) -> Command {
    let mut command = crate::common::mallcheck_command();
    command
        .args(args)
        .current_dir(dir)
        .env_remove("MALLCHECK_TARGET")
        .env("NO_COLOR", "1")
        .envs(CREDENTIALS);
    command
}

fn run(args: &[&str], dir: &Path) -> Output {
    command(args, dir).output().expect("the binary runs")
}

fn spawn(args: &[&str], dir: &Path) -> Child {
    command(args, dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts")
}

/// The supplier's own record: (yggc_order, phase) of every order it holds.
fn supplier_orders(url: &str) -> Vec<(String, String)> {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let profile = std::sync::Arc::new(crate::common::profile());
    let client = mallcheck::client::Client::new(
        profile,
        mallcheck::client::ClientConfig::new(url, "tjmall", "tjmall-test"),
    )
    .expect("client");
    let exchange = runtime.block_on(client.post_path_within("/__admin/orders", &[], None));
    let answer = exchange.answer().expect("the admin orders answer");
    answer["result"]
        .as_array()
        .expect("a list of orders")
        .iter()
        .map(|o| {
            (
                o["yggc_order"].as_str().unwrap_or_default().to_string(),
                o["phase"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn still_open(url: &str) -> Vec<String> {
    supplier_orders(url)
        .into_iter()
        .filter(|(_, phase)| phase == "submitted")
        .map(|(yggc, _)| yggc)
        .collect()
}

/// Pre-orders the ledger shows sent and not yet answered.
fn in_flight(ledger: &str) -> usize {
    let mut sent = 0i64;
    for line in ledger.lines() {
        if line.contains("\"event\":\"submit\"") {
            sent += 1;
        } else if ["\"accepted\"", "\"refused\"", "\"unanswered\""]
            .iter()
            .any(|e| line.contains(&format!("\"event\":{e}")))
        {
            sent -= 1;
        }
    }
    usize::try_from(sent).unwrap_or(0)
}

/// Waits until the run has `submits` pre-orders written down and one of them in flight (the
/// supplier holds every answer, so this comes); false when the run ended first.
/// Only the lines written after `from` bytes count: those of the run just started.
fn wait_for_submit_in_flight(
    child: &mut Child,
    ledger: &Path,
    from: usize,
    submits: usize,
) -> bool {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        let all = std::fs::read_to_string(ledger).unwrap_or_default();
        let text = all.get(from..).unwrap_or_default();
        let sent = text.matches("\"event\":\"submit\"").count();
        if sent >= submits && in_flight(text) > 0 {
            return true;
        }
        if child.try_wait().ok().flatten().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

fn ledger_len(ledger: &Path) -> usize {
    std::fs::metadata(ledger).map_or(0, |m| m.len() as usize)
}

fn order_run_args(url: &str) -> Vec<String> {
    [
        "run",
        "--target",
        url,
        "--allow-orders",
        "--tag",
        "orders",
        "--out",
        "out",
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn a_run_killed_while_pre_orders_are_in_flight_leaves_nothing_open_after_cleanup_and_after_the_next_run()
 {
    let serve = Serve::start(&["--admin", "--submit-delay-ms", "300"]);
    let url = serve.url.clone();
    let dir = temp_dir("kill");
    let ledger = dir.join(".mallcheck/ledger.jsonl");
    let args = order_run_args(&url);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // Killed at several points of the order scenarios, each time with a pre-order in flight.
    for submits in [1, 3, 6] {
        let from = ledger_len(&ledger);
        let mut child = spawn(&args, &dir);
        let caught = wait_for_submit_in_flight(&mut child, &ledger, from, submits);
        let _ = child.kill();
        let _ = child.wait();
        assert!(caught, "the run ended before its pre-order {submits}");
    }
    assert!(
        !still_open(&url).is_empty(),
        "the kills left pre-orders open (else this test proves nothing)"
    );
    let out = run(&["cleanup", "--target", &url], &dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("已取消") && stderr.contains("cancelled"),
        "{stderr}"
    );
    assert_eq!(still_open(&url), Vec::<String>::new(), "{stderr}");

    // Killed again (at the first point that leaves an order open: some pre-orders are sent
    // to be refused); the next run closes what this one left before it starts.
    for submits in 1..=8 {
        let from = ledger_len(&ledger);
        let mut child = spawn(&args, &dir);
        assert!(wait_for_submit_in_flight(
            &mut child, &ledger, from, submits
        ));
        let _ = child.kill();
        let _ = child.wait();
        if !still_open(&url).is_empty() {
            break;
        }
    }
    assert!(!still_open(&url).is_empty());
    let out = run(
        &[
            "run",
            "--target",
            &url,
            "--allow-orders",
            "--scenario",
            "token",
            "--out",
            "out2",
        ],
        &dir,
    );
    assert_eq!(
        still_open(&url),
        Vec::<String>::new(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[test]
fn a_run_stopped_by_sigterm_waits_for_its_pre_orders_in_flight_and_cancels_them() {
    let serve = Serve::start(&["--admin", "--submit-delay-ms", "300"]);
    let url = serve.url.clone();
    let dir = temp_dir("term");
    let ledger = dir.join(".mallcheck/ledger.jsonl");
    let args = order_run_args(&url);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    for submits in [1, 4] {
        let from = ledger_len(&ledger);
        let mut child = spawn(&args, &dir);
        assert!(wait_for_submit_in_flight(
            &mut child, &ledger, from, submits
        ));
        let pid = child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(killed.is_ok_and(|s| s.success()));
        let status = child.wait().expect("the run ends");
        assert_eq!(status.code(), Some(3), "an interrupted run is an error");
        assert_eq!(
            still_open(&url),
            Vec::<String>::new(),
            "nothing open after SIGTERM at pre-order {submits}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_target_not_cleared_for_orders_gets_no_order_even_when_it_checks_neither_token_nor_price() {
    let serve = Serve::start(&[
        "--admin",
        "--fault",
        "no-token-check",
        "--fault",
        "no-price-check",
    ]);
    let url = serve.url.clone();
    let dir = temp_dir("not-cleared");
    let out = run(&["run", "--target", &url, "--out", "out"], &dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(supplier_orders(&url), Vec::new(), "{stderr}");
    // The token checks of order interfaces were sent, harmless, and their refusal of an
    // unknown SKU proves nothing about the token: TOK-REQUIRED still fails on the others.
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("out/report.json")).expect("report"),
    )
    .expect("json");
    assert_eq!(report["verdict"]["required"], "fail", "{stderr}");
    let ledger = std::fs::read_to_string(dir.join(".mallcheck/ledger.jsonl")).unwrap_or_default();
    assert!(!ledger.contains("\"accepted\""), "{ledger}");
    assert!(
        ledger
            .lines()
            .filter(|l| l.contains("\"submit\""))
            .all(|l| l.contains("MALLCHECK-NO-SUCH-SKU")),
        "{ledger}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn plan_lists_every_state_changing_call_and_sends_nothing() {
    let serve = Serve::start(&["--admin"]);
    let url = serve.url.clone();
    let dir = temp_dir("plan");
    let out = run(&["run", "--plan", "--target", &url, "--allow-orders"], &dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    for interface in [
        "submit",
        "confirm",
        "cancel",
        "after_sale",
        "credit_payment",
    ] {
        assert!(
            stdout.contains(&format!(" {interface} ")),
            "{interface} missing:\n{stdout}"
        );
    }
    assert!(stdout.contains("concurrent_preorders"), "{stdout}");
    // Not cleared for orders: only the token checks, with harmless parameters.
    let out = run(&["run", "--plan", "--target", &url], &dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("MALLCHECK-NO-SUCH-SKU"), "{stdout}");
    assert!(!stdout.contains("sent to succeed"), "{stdout}");
    assert_eq!(supplier_orders(&url), Vec::new(), "--plan sent an order");
    assert!(
        !dir.join(".mallcheck/ledger.jsonl").exists(),
        "--plan wrote a ledger"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_second_run_in_the_same_folder_judges_the_saved_token_on_the_suppliers_moved_clock() {
    let serve = Serve::start(&["--admin"]);
    let url = serve.url.clone();
    let dir = temp_dir("clock");
    let args = [
        "run",
        "--target",
        &url,
        "--scenario",
        "token-across-runs",
        "--scenario",
        "token-lifetime",
        "--out",
    ];
    for round in ["first", "second"] {
        let out = run(&[&args[..], &[round]].concat(), &dir);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let report: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(round).join("report.json")).expect("report"),
        )
        .expect("json");
        let failed: Vec<&serde_json::Value> = report["results"]
            .as_array()
            .expect("results")
            .iter()
            .filter(|r| r["status"] == "fail")
            .collect();
        assert!(
            failed.is_empty(),
            "{round} run failed: {failed:?}\n{stderr}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The transition table of a run of `order-transitions` on the embedded supplier with `faults`.
fn transitions(faults: &[&str], name: &str) -> (serde_json::Value, serde_json::Value) {
    let dir = temp_dir(name);
    let mut args = vec!["run", "--scenario", "order-transitions", "--out", "out"];
    for fault in faults {
        args.extend(["--fault", fault]);
    }
    let out = run(&args, &dir);
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("out/report.json")).expect("report"),
    )
    .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let _ = std::fs::remove_dir_all(&dir);
    (report["transitions"].clone(), report["results"].clone())
}

fn transition_failures(results: &serde_json::Value) -> Vec<String> {
    results
        .as_array()
        .expect("results")
        .iter()
        .filter(|r| r["check"] == "order-transition" && r["status"] != "pass")
        .map(|r| format!("{} {}", r["requirement"], r["status"]))
        .collect()
}

#[test]
fn every_transition_of_the_order_life_is_driven_and_judged() {
    let (table, results) = transitions(&[], "transitions-clean");
    let table = table.as_array().expect("a transition table");
    assert_eq!(table.len(), 10, "{table:?}");
    for row in table {
        let seen = row["seen"].as_str().unwrap_or_default();
        match row["expected"].as_str() {
            Some("accept") => assert_eq!(seen, "accepted", "{row}"),
            Some("refuse") => assert_eq!(seen, "refused", "{row}"),
            _ => assert!(seen == "accepted" || seen == "refused", "{row}"),
        }
    }
    assert_eq!(transition_failures(&results), Vec::<String>::new());
    for (fault, requirement, status) in [
        (
            "cancel-after-confirm",
            "ORD-NO-CANCEL-AFTER-CONFIRM",
            "fail",
        ),
        (
            "confirm-after-cancel",
            "ORD-NO-CONFIRM-AFTER-CANCEL",
            "warn",
        ),
        ("cancel-refused", "ORD-CANCEL", "fail"),
    ] {
        let (_, results) = transitions(&[fault], fault);
        let failures = transition_failures(&results);
        assert!(
            failures.contains(&format!("\"{requirement}\" \"{status}\"")),
            "{fault}: {failures:?}"
        );
    }
}

#[test]
fn guards_hold_every_pre_order_to_a_target_other_than_the_embedded_supplier() {
    let serve = Serve::start(&["--admin"]);
    let url = serve.url.clone();
    for (name, guard, reason) in [
        ("max-orders", "max_orders = 2", "max_orders = 2"),
        ("max-amount", "max_amount = 0.5", "max_amount = 0.5"),
        ("max-quantity", "max_quantity = 0", "max_quantity = 0"),
    ] {
        let dir = temp_dir(name);
        std::fs::write(dir.join("mallcheck.toml"), format!("[orders]\n{guard}\n")).expect("config");
        let before = supplier_orders(&url).len();
        let out = run(
            &[
                "run",
                "--target",
                &url,
                "--allow-orders",
                "--tag",
                "orders",
                "--out",
                "out",
            ],
            &dir,
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        let made = supplier_orders(&url).len() - before;
        let report = std::fs::read_to_string(dir.join("out/report.json")).expect("report");
        assert!(
            report.contains(reason),
            "{name}: no row says why:\n{stderr}"
        );
        match name {
            // Refused pre-orders count too: at most two reach the supplier.
            "max-orders" => assert!(made <= 2, "{name}: {made} orders made"),
            // Only pre-orders sent to be refused (a wrong price, beyond the stock) go out, and
            // the supplier makes none of them.
            _ => assert_eq!(made, 0, "{name}: {made} orders made\n{stderr}"),
        }
        assert_ne!(out.status.code(), Some(0), "a guarded run is never a pass");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
