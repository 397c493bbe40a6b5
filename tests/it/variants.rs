//! The variant profiles of `profiles/`: the reference supplier serves each one, the harness judges
//! it with the same profile, the clean supplier passes and the faults that matter most for a
//! variant (the renamed price pair, the renamed order number, the totals) are caught. A supplier
//! that does not follow its variant (it still says `market_price`) must never pass.

use mallcheck::events::{Event, ResultRow, SetVerdict, Status};
use mallcheck::profile::Profile;
use mallcheck::session::RunArgs;

use crate::common::{Serve, copy_dir, findings, run_session_with};

const VARIANTS: &[&str] = &["jd-style", "json-token"];

fn variant(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("profiles")
        .join(name)
}

fn state(name: &str) -> std::path::PathBuf {
    let dir =
        std::env::temp_dir().join(format!("mallcheck-variants-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

async fn run(profile: &str, faults: &[&str]) -> (mallcheck::session::RunOutcome, Vec<ResultRow>) {
    let state = state(&format!("{profile}-{}", faults.join("+")));
    let args = RunArgs {
        faults: faults.iter().map(|f| f.to_string()).collect(),
        state_dir: state.clone(),
        out: Some(state.join("report")),
        ..RunArgs::default()
    };
    let loaded = Profile::from_dir(&variant(profile)).expect("the variant loads");
    let (outcome, events) = run_session_with(loaded, &args).await;
    let _ = std::fs::remove_dir_all(&state);
    let rows = events
        .into_iter()
        .filter_map(|e| match e {
            Event::Result(row) => Some(*row),
            _ => None,
        })
        .collect();
    (outcome, rows)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_variant_served_and_judged_by_itself_passes_clean() {
    for name in VARIANTS {
        let (outcome, rows) = run(name, &[]).await;
        let findings = findings(&rows);
        assert!(
            findings.is_empty(),
            "{name}: findings on the clean supplier:\n{}",
            findings.join("\n")
        );
        assert_eq!(outcome.verdict.required, SetVerdict::Pass, "{name}");
        assert_eq!(outcome.verdict.optional, SetVerdict::Pass, "{name}");
        assert!(
            rows.iter().filter(|r| r.status == Status::Pass).count() > 100,
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_are_caught_under_each_variant() {
    let cases = [
        ("price-above-market", "PRC-NOT-ABOVE-MARKET"),
        ("duplicate-order-on-resubmit", "ORD-IDEMPOTENT"),
        ("wrong-order-total", "X-ORDER-TOTAL"),
        ("no-token-check", "TOK-REQUIRED"),
    ];
    let mut missed = Vec::new();
    for name in VARIANTS {
        for (fault, requirement) in cases {
            let (outcome, rows) = run(name, &[fault]).await;
            let caught = rows.iter().any(|r| {
                r.requirement == requirement && matches!(r.status, Status::Fail | Status::Warn)
            });
            if !caught {
                missed.push(format!("{name} {fault}: no finding on {requirement}"));
            }
            if outcome.verdict.required == SetVerdict::Pass
                && rows.iter().any(|r| r.status == Status::Fail)
            {
                missed.push(format!("{name} {fault}: a failure, yet required: pass"));
            }
        }
    }
    assert!(missed.is_empty(), "{}", missed.join("\n"));
}

#[test]
fn a_supplier_that_ignores_its_variant_never_passes() {
    // The supplier serves the JD paths and the po_order name but still says `market_price`:
    // the harness, reading the variant's `mall_price`, cannot compare the price pair.
    let dir = state("market-price-kept");
    copy_dir(&variant("jd-style"), &dir);
    let catalogue = std::fs::read_to_string(dir.join("interfaces.toml")).expect("catalogue");
    let kept = catalogue.replace(
        r#"market_price = "mall_price""#,
        r#"market_price = "market_price""#,
    );
    assert_ne!(kept, catalogue, "the variant renames the market price");
    std::fs::write(dir.join("interfaces.toml"), kept).expect("write");
    rename_in_json_files(&dir, "mall_price", "market_price");
    let serve = Serve::start(&[
        "--profile",
        &dir.display().to_string(),
        "--fault",
        "price-above-market",
    ]);
    let out_dir = dir.join("out");
    let out = crate::common::mallcheck_command()
        .args([
            "--profile",
            &variant("jd-style").display().to_string(),
            "run",
            "--target",
            &serve.url,
            "--allow-orders",
            "--required-only",
        ])
        .arg("--out")
        .arg(&out_dir)
        .arg("--state-dir")
        .arg(dir.join("state"))
        .env("MALLCHECK_USERNAME", "tjmall")
        .env("MALLCHECK_PASSWORD", "tjmall-test")
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the required set must not pass:\n{stderr}"
    );
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out_dir.join("report.json")).expect("report written"),
    )
    .expect("report JSON");
    let price_rule_failed = report["results"].as_array().into_iter().flatten().any(|r| {
        r["requirement"] == "PRC-NOT-ABOVE-MARKET"
            && r["status"] == "fail"
            && r["pointer"]
                .as_str()
                .is_some_and(|p| p.ends_with("/mall_price"))
    });
    assert!(
        price_rule_failed,
        "the missing mall_price is a failure pointed at /…/mall_price:\n{stderr}"
    );
    drop(serve);
    let _ = std::fs::remove_dir_all(&dir);
}

fn rename_in_json_files(dir: &std::path::Path, from: &str, to: &str) {
    for entry in std::fs::read_dir(dir).expect("read").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rename_in_json_files(&path, from, to);
        } else if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).expect("read");
            std::fs::write(&path, text.replace(from, to)).expect("write");
        }
    }
}
