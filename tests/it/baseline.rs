//! Baselines, diffs and reruns as a pipeline meets them, through the binary against the embedded
//! reference supplier with faults: accepted failures pass the exit code but never the verdict,
//! anything new fails, a stale entry is named, a broken baseline stops before anything is sent;
//! `diff` names new and fixed failures; `--rerun-failed` runs only what failed and what it needs.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

/// A fixed sample: every run of these tests reads the same SKUs (one test changes it on purpose).
const SEED: &str = "424242";

fn temp_dir(name: &str) -> PathBuf {
    crate::common::temp_dir("baseline", name)
}

use crate::common::mallcheck;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A run against the embedded supplier with these faults, its folder `out`.
fn run(dir: &Path, out: &str, faults: &[&str], extra: &[&str]) -> Output {
    let mut args = vec!["run", "--out", out, "--seed", SEED];
    for fault in faults {
        args.extend(["--fault", fault]);
    }
    args.extend(extra);
    mallcheck(&args, dir, &[])
}

/// report.json of a run folder, checked against its schema.
fn report(dir: &Path) -> Value {
    crate::common::schema_checked_report(&dir.join("report.json"))
}

fn rows<'a>(report: &'a Value, status: &str) -> Vec<&'a Value> {
    report["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|r| r["status"] == status)
        .collect()
}

/// A baseline written from the run folder `from`, its reasons filled in.
fn written_baseline(dir: &Path, from: &str, file: &str) -> String {
    let out = mallcheck(&["baseline", from, "-o", file], dir, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(dir.join(file)).expect("baseline written");
    assert!(
        text.contains("reason = \"TODO: why this is accepted\""),
        "{text}"
    );
    let edited = text.replace(
        "TODO: why this is accepted",
        "known: the price feed lags; fix due in release 4.2",
    );
    std::fs::write(dir.join(file), &edited).expect("edit the baseline");
    edited
}

#[test]
fn a_baseline_accepts_known_failures_honestly_and_fails_on_new_ones() {
    let dir = temp_dir("accept");
    let first = run(&dir, "f1", &["price-above-market"], &[]);
    assert_eq!(first.status.code(), Some(1), "{}", stderr(&first));

    // Written as is, the placeholder reasons are refused, naming the line.
    let out = mallcheck(&["baseline", "f1", "-o", "b.toml"], &dir, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let refused = run(
        &dir,
        "f0",
        &["price-above-market"],
        &["--baseline", "b.toml"],
    );
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("b.toml:") && stderr(&refused).contains("placeholder"),
        "{}",
        stderr(&refused)
    );
    let baseline = written_baseline(&dir, "f1", "b.toml");
    assert!(
        baseline.contains("requirement = \"PRC-NOT-ABOVE-MARKET\""),
        "{baseline}"
    );
    assert!(
        !baseline.contains("\nrequirement = \"SKU-LIST\""),
        "only what failed is accepted: {baseline}"
    );

    // The same fault, another sample seed: every failure is a known one. Exit 0, but the
    // verdict says fail, with the reason shown.
    let again = mallcheck(
        &[
            "run",
            "--out",
            "f2",
            "--seed",
            "7",
            "--fault",
            "price-above-market",
            "--baseline",
            "b.toml",
        ],
        &dir,
        &[],
    );
    let text = stderr(&again);
    assert_eq!(again.status.code(), Some(0), "{text}");
    assert!(
        text.contains("未通过 FAIL (已接受的已知问题 all failures accepted by baseline b.toml)"),
        "{text}"
    );
    assert!(
        !text.contains("通过 PASS"),
        "an accepted failure is never PASS: {text}"
    );
    assert!(
        text.contains("基线已接受 accepted by baseline: known: the price feed lags"),
        "accepted failures are shown: {text}"
    );
    let f2 = report(&dir.join("f2"));
    assert_eq!(f2["verdict"]["required"], "fail");
    assert_eq!(f2["baseline"]["residual"]["required"], "pass");
    assert_eq!(f2["baseline"]["new_failures"], 0);
    let failed = rows(&f2, "fail");
    assert!(!failed.is_empty());
    assert!(
        failed.iter().all(|r| r["accepted"].as_str().is_some()),
        "every failure carries its reason"
    );
    let page = std::fs::read_to_string(dir.join("f2/report.html")).expect("report.html");
    assert!(
        page.contains("accepted by baseline b.toml") && page.contains("Accepted because"),
        "report.html shows the accepted failures and why"
    );
    assert!(
        page.contains("the price feed lags"),
        "the reason is on the page"
    );
    let summary = std::fs::read_to_string(dir.join("f2/summary.md")).expect("summary.md");
    assert!(
        summary.contains("`fail` (已接受的已知问题 all failures accepted by baseline b.toml)")
            && summary.contains("**PRC-NOT-ABOVE-MARKET** (MUST")
            && summary.contains("accepted by baseline: known: the price feed lags"),
        "{summary}"
    );
    // The record replays to the same report.
    let replayed = dir.join("replayed.json");
    let out = mallcheck(
        &[
            "report",
            "f2",
            "--format",
            "json",
            "-o",
            replayed.to_str().expect("utf-8"),
        ],
        &dir,
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let replayed: Value =
        serde_json::from_str(&std::fs::read_to_string(&replayed).expect("replayed")).expect("json");
    assert_eq!(replayed["baseline"], f2["baseline"]);

    // A second fault is new: it fails, and is named; the known one is still shown as accepted.
    let new = run(
        &dir,
        "f3",
        &["price-above-market", "duplicate-skus"],
        &["--baseline", "b.toml"],
    );
    let text = stderr(&new);
    assert_eq!(new.status.code(), Some(1), "{text}");
    let failed_list = text
        .split("未通过的需求 failed requirements:")
        .nth(1)
        .expect("a list of failed requirements");
    assert!(failed_list.contains("SKU-LIST"), "{text}");
    assert!(
        !failed_list
            .split("基线已接受的已知问题")
            .next()
            .unwrap_or_default()
            .contains("PRC-NOT-ABOVE-MARKET"),
        "the accepted one is not listed as new: {text}"
    );
    let f3 = report(&dir.join("f3"));
    assert!(f3["baseline"]["new_failures"].as_u64() > Some(0));
    assert_eq!(f3["baseline"]["residual"]["required"], "fail");
    assert!(
        rows(&f3, "fail")
            .iter()
            .filter(|r| r["requirement"] == "SKU-LIST")
            .all(|r| r.get("accepted").is_none())
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_entry_that_matches_nothing_is_stale_unless_it_was_not_judged() {
    let dir = temp_dir("stale");
    let first = run(&dir, "f1", &["price-above-market"], &[]);
    assert_eq!(first.status.code(), Some(1), "{}", stderr(&first));
    written_baseline(&dir, "f1", "b.toml");

    // The supplier was fixed: a clean run passes, and every entry is named as stale.
    let clean = run(&dir, "c1", &[], &["--baseline", "b.toml"]);
    let text = stderr(&clean);
    assert_eq!(clean.status.code(), Some(0), "{text}");
    assert!(text.contains("必需接口 required: 通过 PASS"), "{text}");
    assert!(
        text.contains("b.toml:") && text.contains("fixed? remove it from the baseline"),
        "{text}"
    );
    let c1 = report(&dir.join("c1"));
    let entries = c1["baseline"]["entries"].as_array().expect("entries");
    assert!(!entries.is_empty());
    assert!(entries.iter().all(|e| e["state"] == "stale"), "{entries:?}");

    // A run that never judged them says so, and does not call them stale.
    let areas = run(
        &dir,
        "a1",
        &[],
        &["--baseline", "b.toml", "--scenario", "areas"],
    );
    let text = stderr(&areas);
    assert_eq!(areas.status.code(), Some(4), "{text}");
    assert!(!text.contains("fixed? remove it"), "{text}");
    assert!(
        text.contains("baseline entries not judged in this run"),
        "{text}"
    );
    let a1 = report(&dir.join("a1"));
    assert!(
        a1["baseline"]["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .all(|e| e["state"] == "not_judged")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_broken_baseline_is_an_input_error_before_anything_is_sent() {
    let dir = temp_dir("broken");
    // A supplier that only listens: any connection would wait in its backlog.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let target = format!("http://{}", listener.local_addr().expect("addr"));
    let cases = [
        (
            "syntax.toml",
            "[[accept]\nrequirement = \"PRC-MONEY\"\n",
            "syntax.toml:1:",
        ),
        (
            "typo.toml",
            "# accepted\n\n[[accept]]\nrequirment = \"PRC-MONEY\"\nreason = \"x\"\n",
            "typo.toml:4:",
        ),
        (
            "unknown.toml",
            "[[accept]]\nrequirement = \"PRC-NOPE\"\nreason = \"x\"\n",
            "unknown requirement",
        ),
        (
            "reasonless.toml",
            "[[accept]]\nrequirement = \"PRC-MONEY\"\n\n[[accept]]\nrequirement = \"PRC-MONEY\"\nreason = \"  \"\n",
            "reasonless.toml:1:",
        ),
    ];
    for (file, text, expected) in cases {
        std::fs::write(dir.join(file), text).expect("write");
        let out = mallcheck(
            &[
                "run",
                "--target",
                &target,
                "--out",
                "out",
                "--baseline",
                file,
            ],
            &dir,
            &[("MALLCHECK_USERNAME", "u"), ("MALLCHECK_PASSWORD", "p")],
        );
        assert_eq!(out.status.code(), Some(2), "{file}: {}", stderr(&out));
        assert!(stderr(&out).contains(expected), "{file}: {}", stderr(&out));
    }
    let missing = mallcheck(
        &["run", "--out", "out", "--baseline", "nowhere.toml"],
        &dir,
        &[],
    );
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("nowhere.toml"),
        "{}",
        stderr(&missing)
    );
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("something was sent to the supplier: {other:?}"),
    }
    assert!(!dir.join("out").exists(), "no report folder was written");
    let _ = std::fs::remove_dir_all(&dir);
}

fn new_failures(diff: &Value, key: &str) -> BTreeSet<String> {
    diff[key]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["requirement"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn diff_names_new_and_fixed_failures_and_what_changed_the_runs() {
    let dir = temp_dir("diff");
    assert_eq!(run(&dir, "clean", &[], &[]).status.code(), Some(0));
    assert_eq!(
        run(&dir, "faulted", &["price-above-market"], &[])
            .status
            .code(),
        Some(1)
    );

    let out = mallcheck(&["diff", "clean", "faulted"], &dir, &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    let new_section = text
        .split("新失败 / new failures")
        .nth(1)
        .and_then(|s| s.split("已修复 / fixed").next())
        .expect("a new-failures section");
    assert!(
        new_section.contains("+ PRC-NOT-ABOVE-MARKET / price-rule / prices / catalogue"),
        "{text}"
    );
    assert!(
        text.contains("可比：") && text.contains("comparable:"),
        "{text}"
    );
    assert!(!text.contains("抽样不同"), "the same seed: {text}");

    let out = mallcheck(&["diff", "faulted", "clean", "--json"], &dir, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let back: Value = serde_json::from_str(&stdout(&out)).expect("diff --json is JSON");
    assert!(new_failures(&back, "new_failures").is_empty());
    assert!(
        new_failures(&back, "fixed").contains("PRC-NOT-ABOVE-MARKET"),
        "{back}"
    );
    assert_eq!(back["comparable"], true);
    assert_eq!(back["same_sample"], true);

    // Another seed, and a selection: said, and what only the selection changed is listed.
    let narrow = mallcheck(
        &[
            "run",
            "--out",
            "narrow",
            "--seed",
            "9",
            "--scenario",
            "areas",
        ],
        &dir,
        &[],
    );
    assert_eq!(narrow.status.code(), Some(4), "{}", stderr(&narrow));
    let out = mallcheck(&["diff", "clean", "narrow", "--json"], &dir, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let d: Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(d["comparable"], false, "{d}");
    assert_eq!(d["same_sample"], false);
    assert!(
        d["changed"]
            .as_array()
            .expect("changed")
            .iter()
            .any(|c| c["kind"] == "scenario" && c["id"] == "catalogue" && c["b"] == "not run"),
        "{d}"
    );
    let text = stdout(&mallcheck(&["diff", "clean", "narrow"], &dir, &[]));
    assert!(text.contains("different sample (seed 424242 → 9"), "{text}");
    assert!(
        text.contains("范围不同：[] → [--scenario areas]")
            && text.contains("different scope: [] → [--scenario areas]"),
        "{text}"
    );

    // Not a run folder: exit 2, naming it.
    let bad = mallcheck(&["diff", "clean", "nowhere"], &dir, &[]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("nowhere"), "{}", stderr(&bad));
    std::fs::create_dir_all(dir.join("junk")).expect("dir");
    std::fs::write(dir.join("junk/report.json"), "{\"format\": 1}").expect("write");
    let junk = mallcheck(&["diff", "junk", "clean"], &dir, &[]);
    assert_eq!(junk.status.code(), Some(2));
    assert!(
        stderr(&junk).contains("report.json:1:"),
        "{}",
        stderr(&junk)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn scenarios(report: &Value) -> Vec<(String, String)> {
    report["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap_or_default().to_string(),
                s["status"].as_str().unwrap_or("none").to_string(),
            )
        })
        .collect()
}

#[test]
fn rerun_failed_runs_only_what_failed_and_what_it_needs() {
    let dir = temp_dir("rerun");
    let first = mallcheck(
        &[
            "run",
            "--out",
            "f1",
            "--seed",
            "5",
            "--fault",
            "duplicate-skus",
        ],
        &dir,
        &[],
    );
    assert_eq!(first.status.code(), Some(1), "{}", stderr(&first));
    let all = scenarios(&report(&dir.join("f1")));
    let failed: BTreeSet<String> = all
        .iter()
        .filter(|(_, s)| matches!(s.as_str(), "fail" | "warn" | "blocked"))
        .map(|(id, _)| id.clone())
        .collect();
    assert!(failed.contains("catalogue"), "{all:?}");

    // No --seed: the earlier run's seed is used again.
    let again = mallcheck(
        &[
            "run",
            "--out",
            "r1",
            "--fault",
            "duplicate-skus",
            "--rerun-failed",
            "f1",
        ],
        &dir,
        &[],
    );
    let text = stderr(&again);
    assert_eq!(again.status.code(), Some(1), "{text}");
    let r1 = report(&dir.join("r1"));
    assert_eq!(r1["scope"]["seed"], 5);
    let rerun = scenarios(&r1);
    let ids: BTreeSet<String> = rerun.iter().map(|(id, _)| id.clone()).collect();
    assert!(failed.is_subset(&ids), "{failed:?} ⊄ {ids:?}");
    assert!(ids.len() < all.len(), "only a part ran: {ids:?}");
    // What else ran is what the failed scenarios require (areas, before the catalogue).
    assert!(ids.contains("areas"), "{ids:?}");
    assert!(
        !ids.contains("token-required") && !ids.contains("order-transitions"),
        "{ids:?}"
    );

    // Fixed: the rerun holds, but a selection is never a full pass.
    let fixed = mallcheck(&["run", "--out", "r2", "--rerun-failed", "f1"], &dir, &[]);
    let text = stderr(&fixed);
    assert_eq!(fixed.status.code(), Some(4), "{text}");
    assert!(text.contains("未完整测试 INCOMPLETE"), "{text}");
    assert_eq!(report(&dir.join("r2"))["verdict"]["required"], "incomplete");

    // Nothing failed in the earlier run: nothing to rerun.
    let nothing = mallcheck(&["run", "--out", "r3", "--rerun-failed", "r2"], &dir, &[]);
    assert_eq!(nothing.status.code(), Some(2), "{}", stderr(&nothing));
    assert!(
        stderr(&nothing).contains("nothing to rerun"),
        "{}",
        stderr(&nothing)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
