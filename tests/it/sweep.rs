//! `mallcheck sweep` end to end: against the reference supplier on 127.0.0.1:0, in process (and
//! once as the built binary, killed with SIGKILL and resumed). The partial faults of the supplier
//! break a known share of SKUs (`supplier::fault_targets`): the sweep must list exactly those,
//! for the right reason; what could not be read is "not judged", never sellable; a resumed sweep
//! and merged shares end with the result of one uninterrupted sweep.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mallcheck::events::Lang;
use mallcheck::profile::Profile;
use mallcheck::supplier::{self, SupplierConfig};
use mallcheck::sweep::summary::{self, Line, SkuStatus, SweepSummary};
use mallcheck::sweep::{self, Images, Partition, SweepArgs};

use crate::common::profile;

/// SKUs of every test catalogue: three batches and a bit per pool-walk, quick on 2 cores.
const SKUS: u64 = 260;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mallcheck-sweep-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

struct Supplier {
    running: supplier::RunningSupplier,
    config: SupplierConfig,
    /// A config file with its credentials.
    credentials: PathBuf,
}

async fn start(config: SupplierConfig, name: &str) -> Supplier {
    let running = supplier::start(
        Arc::new(profile()),
        config.clone(),
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .expect("the reference supplier starts");
    let dir = temp_dir(&format!("{name}-config"));
    std::fs::create_dir_all(&dir).expect("config folder");
    let credentials = dir.join("mallcheck.toml");
    std::fs::write(
        &credentials,
        format!(
            "[credentials]\nusername = \"{}\"\npassword = \"{}\"\n",
            config.username, config.password
        ),
    )
    .expect("config file");
    Supplier {
        running,
        config,
        credentials,
    }
}

fn supplier_config(faults: &[&str]) -> SupplierConfig {
    SupplierConfig {
        skus: SKUS,
        faults: faults.iter().map(|f| f.to_string()).collect(),
        ..SupplierConfig::default()
    }
}

fn args(supplier: &Supplier, out: &Path) -> SweepArgs {
    SweepArgs {
        target: Some(supplier.running.base_url()),
        config: Some(supplier.credentials.clone()),
        out: out.to_path_buf(),
        jobs: 8,
        images: Images::All,
        ..SweepArgs::default()
    }
}

async fn sweep_with(profile: Profile, args: &SweepArgs) -> sweep::SweepOutcome {
    match sweep::sweep(profile, args).await {
        Ok(outcome) => outcome,
        Err(e) => panic!("the sweep failed: {e}"),
    }
}

/// The SKU lines of a folder, by status.
fn skus_with(dir: &Path, status: SkuStatus) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    summary::for_each_line(&dir.join(summary::JSONL), |line, _, _| {
        if let Line::Sku(sku) = line
            && sku.status == status
        {
            found.insert(sku.sku);
        }
    })
    .expect("sweep.jsonl reads");
    found
}

/// Requirements of the reasons of each unsellable SKU.
fn reasons(dir: &Path) -> Vec<(String, BTreeSet<String>)> {
    let mut found = Vec::new();
    summary::for_each_line(&dir.join(summary::JSONL), |line, _, _| {
        if let Line::Sku(sku) = line
            && sku.status == SkuStatus::Unsellable
        {
            let requirements = sku.reasons.iter().map(|r| r.requirement.clone()).collect();
            found.push((sku.sku, requirements));
        }
    })
    .expect("sweep.jsonl reads");
    found
}

fn csv(dir: &Path) -> String {
    std::fs::read_to_string(dir.join(summary::CSV)).expect("unsellable.csv")
}

/// What must be equal between two sweeps of one catalogue (not the times).
/// The folder's report.json, checked against its schema.
fn report(dir: &Path) -> serde_json::Value {
    crate::common::schema_checked_report(&dir.join("report.json"))
}

/// What report.json's coverage says of one requirement.
fn coverage(report: &serde_json::Value, id: &str) -> String {
    report["requirements"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["id"] == id)
        .and_then(|c| c["status"].as_str())
        .unwrap_or("absent")
        .to_string()
}

fn counts(summary: &SweepSummary) -> impl PartialEq + std::fmt::Debug {
    // A defect's first case is the same SKU however the catalogue was cut; its words may not
    // be (a batch answer's message counts what that batch held).
    let kinds = |defects: &[summary::DefectCount]| -> Vec<(String, String, u64, Option<String>)> {
        defects
            .iter()
            .map(|d| {
                let first = d.first.as_ref().map(|f| f.sku.clone());
                (d.requirement.clone(), d.check.clone(), d.count, first)
            })
            .collect()
    };
    (
        summary.skus.in_scope,
        summary.skus.swept,
        summary.skus.sellable,
        summary.skus.unsellable,
        summary.skus.not_judged,
        kinds(&summary.defects),
        kinds(&summary.answer_defects),
        summary.complete,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_catalogue_is_sellable_through_and_the_summary_adds_up() {
    let supplier = start(supplier_config(&[]), "clean").await;
    let out = temp_dir("clean");
    let outcome = sweep_with(profile(), &args(&supplier, &out)).await;
    let s = &outcome.summary;
    assert_eq!(s.skus.in_scope, SKUS);
    assert_eq!((s.skus.swept, s.skus.sellable), (SKUS, SKUS), "{s:?}");
    assert_eq!((s.skus.unsellable, s.skus.not_judged), (0, 0));
    assert!(s.defects.is_empty() && s.answer_defects.is_empty(), "{s:?}");
    assert!(s.complete);
    // One detail per SKU, every image fetched, latencies per interface.
    let detail = s.interfaces.iter().find(|i| i.interface == "detail");
    assert_eq!(detail.map(|d| d.calls), Some(SKUS));
    assert!(detail.is_some_and(|d| d.p50_ms > 0.0 && d.p99_ms >= d.p50_ms));
    // Every image, each once (the main image is also the gallery's first).
    assert_eq!(s.images_probed, supplier::image_urls(&supplier.config));
    let text = csv(&out);
    assert!(text.starts_with('\u{feff}'), "the CSV starts with a BOM");
    assert_eq!(text.lines().count(), 1, "a header only: {text}");
    assert_eq!(summary::read_summary(&out).as_ref(), Some(s));
    // The reporters of a run wrote it: report.json (valid by its schema) says the catalogue is
    // sellable, and the standard is never PASS from a sweep, whose scope is the data.
    let report = report(&out);
    assert_eq!(report["sweep"]["verdict"], "sellable");
    assert_eq!(report["verdict"]["required"], "incomplete");
    assert_eq!(coverage(&report, "DET-COMPLETE"), "pass");
    assert_eq!(coverage(&report, "ORD-PREORDER"), "not_tested");
    assert!(
        report["sweep"]["summary"]["unjudged"]
            .as_array()
            .is_some_and(Vec::is_empty)
    );
    let md = std::fs::read_to_string(out.join("summary.md")).expect("summary.md");
    assert!(md.starts_with("# mallcheck sweep: `sellable`"), "{md}");
    assert!(!md.contains("PASS") && !md.contains("`pass`"), "{md}");
    for file in ["junit.xml", "report.html", "events.jsonl", "manifest.json"] {
        assert!(out.join(file).is_file(), "{file}");
    }
    supplier.running.shutdown().await;
}

/// Each partial fault: exactly the SKUs it breaks are listed, with its requirement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_partial_fault_lists_exactly_the_skus_it_breaks() {
    for (fault, requirement) in [
        ("detail-missing-brand", "DET-COMPLETE"),
        ("price-above-market", "PRC-NOT-ABOVE-MARKET"),
        ("some-dead-images", "IMG-REACHABLE"),
        ("detail-wrong-sku", "DET-SAME-SKU"),
    ] {
        let supplier = start(supplier_config(&[fault]), fault).await;
        let expected: BTreeSet<String> = supplier::fault_targets(&supplier.config)
            .into_iter()
            .collect();
        assert!(!expected.is_empty() && expected.len() < SKUS as usize);
        let out = temp_dir(fault);
        let outcome = sweep_with(profile(), &args(&supplier, &out)).await;
        let listed = skus_with(&out, SkuStatus::Unsellable);
        assert_eq!(listed, expected, "{fault}: the SKUs listed");
        for (sku, found) in reasons(&out) {
            assert!(found.contains(requirement), "{fault}: {sku} has {found:?}");
        }
        assert_eq!(outcome.summary.skus.unsellable, expected.len() as u64);
        assert!(
            outcome
                .summary
                .defects
                .iter()
                .any(|d| d.requirement == requirement && d.count == expected.len() as u64),
            "{fault}: {:?}",
            outcome.summary.defects
        );
        // The CSV lists them sorted, one line each.
        let text = csv(&out);
        let rows: Vec<&str> = text
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap_or(""))
            .collect();
        let sorted: Vec<&str> = expected.iter().map(String::as_str).collect();
        assert_eq!(rows, sorted, "{fault}: unsellable.csv");
        // The pages for people say the same: the count, the kind, the first SKU.
        let md = std::fs::read_to_string(out.join("summary.md")).expect("summary.md");
        assert!(md.starts_with("# mallcheck sweep: `unsellable`"), "{md}");
        assert!(
            md.contains(&format!("**{} unsellable**", expected.len())),
            "{md}"
        );
        assert!(md.contains(&format!("| {requirement} |")), "{md}");
        // report.json: the requirement failed, one row for the kind with its count, the first
        // case the smallest SKU code.
        let report = report(&out);
        assert_eq!(report["sweep"]["verdict"], "unsellable");
        // The standard's verdict follows the level: a MUST fails, a BEYOND warns.
        let must = report["requirements"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["id"] == requirement && c["level"] == "MUST");
        let (verdict, status) = if must {
            ("fail", "fail")
        } else {
            ("incomplete", "warn")
        };
        assert_eq!(report["verdict"]["required"], verdict, "{fault}");
        assert_eq!(coverage(&report, requirement), status, "{fault}");
        let defect = report["sweep"]["summary"]["defects"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|d| d["requirement"] == requirement)
            .cloned()
            .unwrap_or_default();
        assert_eq!(defect["first"]["sku"], sorted[0], "{fault}: {defect}");
        let row = report["results"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["requirement"] == requirement && r["status"] == status)
            .cloned()
            .unwrap_or_default();
        let said = row["message"].as_str().unwrap_or_default();
        assert!(
            said.contains(&format!("{} SKUs may not be sold", expected.len())),
            "{said}"
        );
        let html = std::fs::read_to_string(out.join("report.html")).expect("report.html");
        assert!(
            html.contains(sorted[0]) && html.contains(requirement),
            "{fault}: the page"
        );
        assert!(
            !html.contains("src=\"http") && !html.contains("<link"),
            "loads nothing"
        );
        supplier.running.shutdown().await;
    }
}

/// A defect on every item of every batch answer gives more findings than a check keeps on one
/// answer: each SKU still gets its own (the answer is judged again item by item), none is left
/// sellable, and no "… and N more" stands in for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_defect_on_every_sku_of_a_batch_lists_every_sku() {
    for (fault, requirement) in [
        ("relative-image-path", "IMG-REACHABLE"),
        ("three-decimal-prices", "PRC-MONEY"),
    ] {
        let supplier = start(supplier_config(&[fault]), fault).await;
        let out = temp_dir(&format!("every-{fault}"));
        let mut args = args(&supplier, &out);
        args.images = Images::None;
        let outcome = sweep_with(profile(), &args).await;
        assert_eq!(
            outcome.summary.skus.unsellable, SKUS,
            "{fault}: {:?}",
            outcome.summary
        );
        for (sku, found) in reasons(&out) {
            assert!(found.contains(requirement), "{fault}: {sku} has {found:?}");
        }
        let counted = outcome
            .summary
            .defects
            .iter()
            .find(|d| d.requirement == requirement)
            .map(|d| d.count);
        assert_eq!(counted, Some(SKUS), "{fault}");
        assert!(
            outcome.summary.answer_defects.is_empty(),
            "{fault}: {:?}",
            outcome.summary.answer_defects
        );
        supplier.running.shutdown().await;
    }
}

/// A proxy in front of the reference supplier that adds items to every stock answer: `extra`
/// copies of the first item under SKU codes nobody asked for, and `repeats` copies of it as it
/// is. Returns its base URL.
async fn stock_padding_proxy(upstream: String, extra: usize, repeats: usize) -> String {
    use axum::body::Bytes;
    use axum::http::Uri;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let app = axum::Router::new().fallback(move |uri: Uri, body: Bytes| {
        let client = client.clone();
        let url = format!("{upstream}{}", uri.path());
        async move {
            let answer = client
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .expect("the supplier answers");
            let text = answer.bytes().await.expect("its body");
            let mut value: serde_json::Value = serde_json::from_slice(&text).expect("JSON");
            if uri.path().contains("stock")
                && let Some(items) = value["result"].as_array_mut()
                && let Some(first) = items.first().cloned()
            {
                for n in 0..extra {
                    let mut item = first.clone();
                    item["sku"] = serde_json::Value::String(format!("99{n:07}"));
                    items.push(item);
                }
                items.extend(std::iter::repeat_n(first, repeats));
            }
            (
                [("content-type", "application/json")],
                serde_json::to_vec(&value).expect("JSON out"),
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

/// A batch answer padded with more unasked or repeated items than a check keeps findings for:
/// judging it again item by item must not drop what only the whole answer shows (BATCH-COMPLETE
/// on extras and duplicates: a BEYOND, so a warning, once per stock answer); the stock of the
/// requested SKUs is still judged SKU by SKU, and a SKU repeated a thousand times costs one
/// judgement again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extra_and_repeated_items_of_a_batch_answer_are_reported() {
    let supplier = start(supplier_config(&[]), "padded").await;
    for (name, extra, repeats) in [("extra", 150, 0), ("repeated", 0, 1000)] {
        let proxy = stock_padding_proxy(supplier.running.base_url(), extra, repeats).await;
        let out = temp_dir(&format!("padded-{name}"));
        let mut args = args(&supplier, &out);
        args.target = Some(proxy);
        args.images = Images::None;
        let outcome = sweep_with(profile(), &args).await;
        let batch = outcome
            .summary
            .answer_defects
            .iter()
            .find(|d| d.requirement == "BATCH-COMPLETE")
            .map(|d| d.count);
        assert_eq!(
            batch,
            Some(3),
            "{name}: one per stock answer: {:?}",
            outcome.summary
        );
        assert_eq!(coverage(&report(&out), "BATCH-COMPLETE"), "warn", "{name}");
        // Extras belong to no requested SKU; a repeated item is its SKU's (answered twice):
        // the first SKU of each of the three batches.
        let unsellable = if repeats > 0 { 3 } else { 0 };
        assert_eq!(outcome.summary.skus.unsellable, unsellable, "{name}");
    }
    supplier.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_detail_that_cannot_be_read_is_not_judged_never_sellable() {
    let supplier = start(supplier_config(&["detail-reset-some"]), "reset").await;
    let expected: BTreeSet<String> = supplier::fault_targets(&supplier.config)
        .into_iter()
        .collect();
    let out = temp_dir("reset");
    let mut args = args(&supplier, &out);
    args.images = Images::None;
    let outcome = sweep_with(profile(), &args).await;
    assert_eq!(skus_with(&out, SkuStatus::NotJudged), expected);
    assert!(skus_with(&out, SkuStatus::Unsellable).is_empty());
    assert_eq!(outcome.summary.skus.sellable, SKUS - expected.len() as u64);
    // The report: judged for the others, not for those (partial); the resets break
    // GEN-HTTP-STATUS (a BEYOND: a warning) though every retry is counted.
    let report = report(&out);
    assert_eq!(report["sweep"]["verdict"], "incomplete");
    assert_eq!(coverage(&report, "DET-COMPLETE"), "partial");
    assert_eq!(coverage(&report, "X-SKU-HAS-DATA"), "partial");
    assert_eq!(coverage(&report, "GEN-HTTP-STATUS"), "warn");
    // --images none: the URLs' form judged, their reachability not: partial, never pass.
    assert_eq!(coverage(&report, "IMG-REACHABLE"), "partial");
    // Retried, counted, and still reported: a reset is a failure of the interface.
    let detail = outcome
        .summary
        .interfaces
        .iter()
        .find(|i| i.interface == "detail")
        .cloned()
        .expect("detail tallied");
    assert_eq!(detail.failed, expected.len() as u64);
    assert_eq!(detail.retries, 3 * expected.len() as u64);
    assert_eq!(detail.transport_errors, 4 * expected.len() as u64);
    supplier.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_sweep_resumed_ends_like_an_uninterrupted_one() {
    let supplier = start(supplier_config(&["price-above-market"]), "resume").await;
    let full_dir = temp_dir("resume-full");
    let full = sweep_with(profile(), &args(&supplier, &full_dir)).await;
    let dir = temp_dir("resume-parts");
    let mut part = args(&supplier, &dir);
    part.max_skus = Some(130);
    let first = sweep_with(profile(), &part).await;
    assert!(first.stopped.is_some());
    assert!(!first.summary.complete);
    assert_eq!(first.summary.skus.swept, 130);
    // A new sweep into the same folder is refused: only --resume continues it.
    part.max_skus = None;
    assert!(sweep::sweep(profile(), &part).await.is_err());
    part.resume = true;
    let resumed = sweep_with(profile(), &part).await;
    assert_eq!(counts(&resumed.summary), counts(&full.summary));
    assert_eq!(resumed.summary.sessions, 2);
    assert_eq!(csv(&dir), csv(&full_dir));
    let detail_calls = |s: &SweepSummary| {
        s.interfaces
            .iter()
            .find(|i| i.interface == "detail")
            .map(|i| i.calls)
    };
    assert_eq!(
        detail_calls(&resumed.summary),
        Some(SKUS),
        "no SKU asked twice"
    );
    supplier.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_shares_merged_equal_one_full_sweep() {
    let supplier = start(
        supplier_config(&["detail-missing-brand", "duplicate-skus"]),
        "shares",
    )
    .await;
    let full_dir = temp_dir("shares-full");
    let full = sweep_with(profile(), &args(&supplier, &full_dir)).await;
    let mut dirs = Vec::new();
    let mut in_scope = 0;
    for k in 1..=2 {
        let dir = temp_dir(&format!("share-{k}"));
        let mut share = args(&supplier, &dir);
        share.partition = Some(Partition { index: k, count: 2 });
        let outcome = sweep_with(profile(), &share).await;
        assert!(outcome.summary.skus.swept > 0 && outcome.summary.skus.swept < SKUS);
        in_scope += outcome.summary.skus.in_scope;
        dirs.push(dir);
    }
    assert_eq!(in_scope, SKUS, "the shares cover the catalogue once");
    let merged_dir = temp_dir("shares-merged");
    let merged = sweep::merge(&profile(), &dirs, &merged_dir, Lang::Zh).expect("merge");
    assert_eq!(counts(&merged), counts(&full.summary));
    assert_eq!(merged.partitions, vec!["1/2", "2/2"]);
    assert_eq!(csv(&merged_dir), csv(&full_dir));
    let counted = |dir: &Path| {
        let page = std::fs::read_to_string(dir.join("summary.md")).expect("summary.md");
        page.lines()
            .find(|l| l.contains("SKUs swept"))
            .and_then(|l| l.split(" (").next())
            .map(str::to_string)
    };
    assert!(counted(&merged_dir).is_some());
    assert_eq!(
        counted(&merged_dir),
        counted(&full_dir),
        "the merged summary counts as the full one"
    );
    // The same kinds, counts and first SKUs in report.json too.
    let firsts = |dir: &Path| -> Vec<(String, u64, String)> {
        report(dir)["sweep"]["summary"]["defects"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| {
                let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
                (
                    text(&d["requirement"]),
                    d["count"].as_u64().unwrap_or(0),
                    text(&d["first"]["sku"]),
                )
            })
            .collect()
    };
    assert_eq!(firsts(&merged_dir), firsts(&full_dir));
    // The SKU lists every share read count once: duplicate-skus is one finding per pool.
    assert!(
        merged
            .answer_defects
            .iter()
            .any(|d| d.requirement == "SKU-LIST"),
        "{:?}",
        merged.answer_defects
    );
    // One share alone is not the whole.
    let half = sweep::merge(&profile(), &dirs[..1], &temp_dir("shares-half"), Lang::Zh)
        .expect("merge one");
    assert!(!half.complete);
    supplier.running.shutdown().await;
}

/// A supplier like a real test environment (no admin, its own area ids), by URL only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_environment_is_swept_black_box() {
    let config = SupplierConfig {
        skus: SKUS,
        faults: vec!["price-above-market".into()],
        ..SupplierConfig::test_env()
    };
    let supplier = start(config, "test-env").await;
    let expected: BTreeSet<String> = supplier::fault_targets(&supplier.config)
        .into_iter()
        .collect();
    // The supplier's declaration reaches the reports, as a run's does.
    let declared = std::fs::read_to_string(&supplier.credentials).expect("config")
        + "\n[declaration]\nsupplier = \"测试供应商 Test Supplier\"\ndeviations = [{requirement = \"IMG-REACHABLE\", note = \"images behind a CDN\"}]\n";
    std::fs::write(&supplier.credentials, declared).expect("config");
    let out = temp_dir("test-env");
    let outcome = sweep_with(profile(), &args(&supplier, &out)).await;
    assert_eq!(skus_with(&out, SkuStatus::Unsellable), expected);
    // Stock was asked in the supplier's own county id, found by name.
    let stocks = outcome
        .summary
        .interfaces
        .iter()
        .find(|i| i.interface == "stocks")
        .map(|i| i.calls);
    assert_eq!(stocks, Some(SKUS.div_ceil(100)));
    assert!(
        outcome.summary.answer_defects.is_empty(),
        "{:?}",
        outcome.summary.answer_defects
    );
    let report = report(&out);
    assert_eq!(report["scope"]["supplier"], "测试供应商 Test Supplier");
    assert_eq!(
        report["scope"]["deviations"][0]["requirement"],
        "IMG-REACHABLE"
    );
    // No secret in anything the sweep wrote: its record, its state, every report.
    let md5 = format!("{:x}", md5::compute(&supplier.config.password));
    for entry in std::fs::read_dir(&out).expect("the folder") {
        let path = entry.expect("an entry").path();
        let written = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(!written.is_empty(), "{}", path.display());
        assert!(
            !written.contains(&supplier.config.password) && !written.contains(&md5),
            "{}",
            path.display()
        );
    }
    supplier.running.shutdown().await;
}

/// The built binary, killed with SIGKILL mid-sweep, then resumed: the same result as a sweep
/// that was never interrupted.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_sweep_resumes_to_the_same_result() {
    let supplier = start(supplier_config(&["detail-wrong-sku"]), "kill").await;
    let full_dir = temp_dir("kill-full");
    let full = sweep_with(profile(), &args(&supplier, &full_dir)).await;
    let dir = temp_dir("kill-parts");
    let command = |resume: bool| {
        let mut command = crate::common::mallcheck_command();
        command
            .arg("sweep")
            .arg("--target")
            .arg(supplier.running.base_url())
            .arg("--config")
            .arg(&supplier.credentials)
            .arg("--out")
            .arg(&dir)
            .args(["--images", "all", "--jobs", "4", "--quiet"])
            .stderr(std::process::Stdio::null());
        if resume {
            command.arg("--resume");
        } else {
            // Slow enough to be killed mid-way.
            command.args(["--rps", "400"]);
        }
        command
    };
    let mut child = command(false).spawn().expect("the sweep starts");
    // Killed once some SKUs are on disk (the first batch), whatever the machine's speed.
    let jsonl = dir.join(summary::JSONL);
    let mut waited = 0;
    loop {
        let lines = std::fs::read_to_string(&jsonl)
            .map(|t| t.matches("\"kind\":\"sku\"").count())
            .unwrap_or(0);
        if lines > 0 || waited > 3000 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        waited += 1;
    }
    let _ = child.kill();
    let _ = child.wait();
    let before =
        skus_with(&dir, SkuStatus::Sellable).len() + skus_with(&dir, SkuStatus::Unsellable).len();
    assert!(
        before > 0 && before < SKUS as usize,
        "killed mid-way: {before}"
    );
    let status = command(true).status().expect("the resumed sweep runs");
    assert_eq!(status.code(), Some(1), "unsellable SKUs: exit 1");
    let resumed = summary::read_summary(&dir).expect("sweep.json");
    assert_eq!(counts(&resumed), counts(&full.summary));
    assert_eq!(csv(&dir), csv(&full_dir));
    supplier.running.shutdown().await;
}

/// A catalogue that could not be read is never "all sellable": a supplier that refuses the pool
/// list (or whose areas name no test area) leaves the sweep incomplete, with why, and the
/// refusal fails it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catalogue_that_was_not_read_is_never_sellable() {
    use axum::Router;
    use axum::http::Uri;
    let app = Router::new().fallback(|uri: Uri| async move {
        let body = if uri.path().ends_with("/access_token") {
            r#"{"success":true,"desc":"","result":{"access_token":"0123456789abcdef0123456789abcdef","expires_at":"2099-01-01 00:00:00"}}"#
        } else {
            r#"{"success":false,"desc":"系统维护 under maintenance","result":null}"#
        };
        ([("content-type", "application/json")], body)
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let dir = temp_dir("unread-catalogue");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("mallcheck.toml"),
        "[credentials]\nusername = \"u\"\npassword = \"p\"\n",
    )
    .expect("config");
    let outcome = sweep_with(
        profile(),
        &SweepArgs {
            target: Some(format!("http://{addr}")),
            config: Some(dir.join("mallcheck.toml")),
            out: dir.join("out"),
            jobs: 2,
            images: Images::None,
            ..SweepArgs::default()
        },
    )
    .await;
    server.abort();
    assert!(!outcome.summary.complete, "{:?}", outcome.summary);
    let why = outcome.stopped.clone().unwrap_or_default();
    assert!(why.contains("the pool list was not read"), "{why}");
    assert_eq!(outcome.summary.skus.sellable, 0);
    // The pool list refused breaks a MUST: the sweep fails, and says why.
    let page = std::fs::read_to_string(dir.join("out/summary.md")).expect("summary.md");
    assert!(
        page.starts_with("# mallcheck sweep: `unsellable`"),
        "{page}"
    );
    let report = report(&dir.join("out"));
    assert!(
        !report["sweep"]["summary"]["complete"]
            .as_bool()
            .unwrap_or(true)
    );
    assert_eq!(report["verdict"]["required"], "fail");
}

/// A MUST broken by an answer of no single SKU (here the pool list holds an id twice) fails the
/// sweep, though every SKU may be sold; a clean catalogue exits 0. The built binary, so the
/// folder's reports are also rendered again by `mallcheck report` and checked by `verify`.
#[test]
fn a_broken_pool_list_fails_the_sweep_though_every_sku_is_sellable() {
    let dir = temp_dir("broken-pool-list");
    std::fs::create_dir_all(&dir).expect("dir");
    let sweep = |fault: Option<&str>, out: &str| {
        let mut args = vec![
            "sweep", "--skus", "200", "--images", "none", "-q", "--out", out,
        ];
        if let Some(fault) = fault {
            args.extend(["--fault", fault]);
        }
        crate::common::mallcheck(&args, &dir, &[]).status.code()
    };
    assert_eq!(sweep(None, "clean"), Some(0));
    assert_eq!(sweep(Some("duplicate-pool-ids"), "broken"), Some(1));
    // The reports render again from the folder's record, byte for byte, and the folder verifies.
    for (format, file) in [
        ("json", "report.json"),
        ("md", "summary.md"),
        ("junit", "junit.xml"),
        ("html", "report.html"),
    ] {
        let again = dir.join(format!("again.{format}"));
        let again_text = again.display().to_string();
        let rendered = crate::common::mallcheck(
            &["report", "broken", "--format", format, "-o", &again_text],
            &dir,
            &[],
        );
        assert!(rendered.status.success(), "{format}: {rendered:?}");
        assert_eq!(
            std::fs::read(&again).expect("rendered"),
            std::fs::read(dir.join("broken").join(file)).expect("written"),
            "{format}"
        );
    }
    let verified = crate::common::mallcheck(&["verify", "broken"], &dir, &[]);
    assert!(verified.status.success(), "{verified:?}");
    let summary: SweepSummary = serde_json::from_str(
        &std::fs::read_to_string(dir.join("broken").join(summary::SUMMARY)).expect("sweep.json"),
    )
    .expect("the summary");
    assert_eq!(summary.skus.unsellable, 0);
    assert!(
        summary
            .answer_defects
            .iter()
            .any(|d| d.requirement == "POOL-LIST")
    );
}
