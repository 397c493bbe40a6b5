//! The reporters from a fixed sequence of events, built by hand: the terminal view as a snapshot
//! (plain text, no progress bar) and report.json against its schema.

use mallcheck::events::{
    CoverageStatus, Event, Level, RequirementCoverage, RequirementSet, ResultRow, ScenarioInfo,
    SetVerdict, Status, Text, Verdict,
};
use mallcheck::exchange::{Exchange, RecordedRequest, RecordedResponse};
use mallcheck::report::Reporter;
use mallcheck::report::json::JsonReporter;
use mallcheck::report::record::Outputs;
use mallcheck::report::terminal::TerminalReporter;
use serde_json::Value;

fn info(id: &str, zh: &str, en: &str, set: RequirementSet, tags: &[&str]) -> ScenarioInfo {
    let folder = set.as_str();
    ScenarioInfo {
        id: id.into(),
        title: Text {
            zh: zh.into(),
            en: en.into(),
        },
        set,
        tags: tags.iter().map(|t| t.to_string()).collect(),
        file: format!("scenarios/{folder}/{id}.yaml"),
    }
}

/// A row with only what every row has; the failures fill in the rest.
fn row(scenario: &str, set: RequirementSet, requirement: &str, status: Status) -> ResultRow {
    ResultRow {
        check: "expect".into(),
        requirement: requirement.into(),
        level: Level::Must,
        interface: None,
        scenario: scenario.into(),
        set,
        step: None,
        line: None,
        status,
        message: String::new(),
        pointer: None,
        expected: None,
        actual: None,
        exchange: None,
        curl: None,
        count: 1,
    }
}

fn exchange(id: u64, interface: &str, body: &str) -> Exchange {
    Exchange {
        id,
        interface: interface.into(),
        request: RecordedRequest {
            method: "POST".into(),
            url: format!("http://supplier.test/api/{interface}"),
            content_type: "application/x-www-form-urlencoded".into(),
            params: vec![
                ("token".into(), "***".into()),
                ("sku".into(), "100001".into()),
            ],
        },
        response: Some(RecordedResponse {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
            truncated: false,
            full_body: None,
        }),
        error: None,
        started_at_ms: 1_767_225_600_000 + id,
        duration_ms: 12,
    }
}

fn coverage(id: &str, set: RequirementSet, status: CoverageStatus) -> RequirementCoverage {
    RequirementCoverage {
        id: id.into(),
        level: Level::Must,
        set,
        text_zh: format!("{id} 的要求"),
        text_en: format!("what {id} asks"),
        status,
    }
}

/// A run: a required scenario that passes, one that fails twice, one skipped, an optional one
/// blocked, and MUST requirements left untested.
fn events() -> Vec<Event> {
    use RequirementSet::{Optional, Required};
    let curl = |interface: &str| {
        format!(
            "curl -sS -X POST 'http://supplier.test/api/{interface}' --data-urlencode 'token=***' --data-urlencode 'sku=100001'"
        )
    };
    let prices = exchange(
        1,
        "prices",
        r#"{"success":true,"result":[{"sku":"100001","price":"99.00","mall_price":"88.00"}]}"#,
    );
    let detail = exchange(
        2,
        "detail",
        r#"{"success":true,"result":{"sku":"100001","name":null}}"#,
    );
    let mut passes = row("token", Required, "TOK-ISSUE", Status::Pass);
    passes.interface = Some("token".into());
    passes.count = 3;
    let mut above_market = row("catalogue", Required, "PRC-NOT-ABOVE-MARKET", Status::Fail);
    above_market.check = "price-not-above-market".into();
    above_market.interface = Some("prices".into());
    above_market.step = Some(7);
    above_market.line = Some(48);
    above_market.message = "协议价高于市场价 price above the market price".into();
    above_market.pointer = Some("/result/0/price".into());
    above_market.expected = Some("<= 88.00".into());
    above_market.actual = Some("99.00".into());
    above_market.exchange = Some(1);
    above_market.curl = Some(curl("prices"));
    let mut name = row("catalogue", Required, "DET-FIELDS", Status::Fail);
    name.check = "schema".into();
    name.interface = Some("detail".into());
    name.step = Some(3);
    name.line = Some(27);
    name.message = "类型不符 wrong type".into();
    name.pointer = Some("/result/name".into());
    name.expected = Some("string".into());
    name.actual = Some("null".into());
    name.exchange = Some(2);
    name.curl = Some(curl("detail"));
    let mut pools = row("catalogue", Required, "POOL-LIST", Status::Pass);
    pools.interface = Some("pools".into());
    let skip_note = "需要参考供应商的管理接口 skipped: needs the reference supplier's admin endpoints (clock, stock)";
    let mut skipped = row("token-lifetime", Required, "TOK-TTL-36H", Status::Skip);
    skipped.message = skip_note.into();
    let block_note =
        "前置场景未完成 blocked: prerequisite scenario `order-lifecycle` did not complete";
    let mut blocked = row("after-sale", Optional, "OPT-AFTERSALE", Status::Blocked);
    blocked.message = block_note.into();
    let finished =
        |scenario: &str, status, duration_ms, note: Option<&str>| Event::ScenarioFinished {
            scenario: scenario.into(),
            status,
            duration_ms,
            note: note.map(str::to_string),
        };
    let started = |scenario: &str| Event::ScenarioStarted {
        scenario: scenario.into(),
    };
    vec![
        Event::RunStarted {
            run_id: "20260101-000000-0001".into(),
            target: "http://supplier.test/api".into(),
            embedded: false,
            profile: "tjgp-mall 1.0".into(),
            tool: String::new(),
            profile_name: String::new(),
            profile_sha256: String::new(),
            interfaces: Vec::new(),
            started_at: "2026-01-01T00:00:00+08:00".into(),
            scenarios: vec![
                info("token", "获取 token", "Get a token", Required, &["token"]),
                info(
                    "catalogue",
                    "品目池 → SKU → 详情",
                    "Pools → SKUs → detail",
                    Required,
                    &["catalogue"],
                ),
                info(
                    "token-lifetime",
                    "token 有效期 36 小时",
                    "A token lives 36 hours",
                    Required,
                    &["token", "admin"],
                ),
                info(
                    "after-sale",
                    "退换货",
                    "Return of a completed order",
                    Optional,
                    &["orders"],
                ),
            ],
            in_scope: [
                "TOK-ISSUE",
                "POOL-LIST",
                "PRC-NOT-ABOVE-MARKET",
                "DET-FIELDS",
                "TOK-TTL-36H",
                "OPT-AFTERSALE",
            ]
            .map(String::from)
            .to_vec(),
            scope: mallcheck::events::RunScope {
                orders_allowed: false,
                admin: false,
                ..Default::default()
            },
        },
        started("token"),
        Event::Result(Box::new(passes)),
        finished("token", Status::Pass, 240, None),
        started("catalogue"),
        Event::Exchange(Box::new(prices)),
        Event::Exchange(Box::new(detail)),
        Event::Result(Box::new(pools)),
        Event::Result(Box::new(name)),
        Event::Result(Box::new(above_market)),
        finished("catalogue", Status::Fail, 1530, None),
        started("token-lifetime"),
        Event::Result(Box::new(skipped)),
        finished("token-lifetime", Status::Skip, 0, Some(skip_note)),
        started("after-sale"),
        Event::Result(Box::new(blocked)),
        finished("after-sale", Status::Blocked, 0, Some(block_note)),
        Event::RunFinished {
            verdict: Verdict {
                required: SetVerdict::Fail,
                optional: SetVerdict::NotTested,
            },
            duration_ms: 1770,
            aborted: None,
            coverage: vec![
                coverage("TOK-ISSUE", Required, CoverageStatus::Pass),
                coverage("POOL-LIST", Required, CoverageStatus::Pass),
                coverage("PRC-NOT-ABOVE-MARKET", Required, CoverageStatus::Fail),
                coverage("DET-FIELDS", Required, CoverageStatus::Fail),
                coverage("TOK-TTL-36H", Required, CoverageStatus::NotTested),
                coverage("OPT-AFTERSALE", Optional, CoverageStatus::NotTested),
            ],
            untested_must: vec!["TOK-TTL-36H".into(), "OPT-AFTERSALE".into()],
            clock_only: Vec::new(),
        },
    ]
}

#[test]
fn the_terminal_view_of_a_run() {
    let mut reporter =
        TerminalReporter::with_writer(Vec::new(), false, false, Some("out/report.json".into()));
    for event in &events() {
        reporter.event(event);
    }
    reporter
        .finish(&mallcheck::report::record::Record::none())
        .expect("nothing to write");
    let text = String::from_utf8(reporter.into_writer()).expect("UTF-8");
    // The version moves with every release; the view around it should not.
    let text = text.replacen(env!("CARGO_PKG_VERSION"), "[version]", 1);
    insta::assert_snapshot!("terminal_view", text);
}

#[test]
fn the_json_report_of_a_run_follows_its_schema_and_keeps_the_coverage() {
    let dir = std::env::temp_dir().join(format!("mallcheck-report-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("report.json");
    let events = events();
    let mut outputs = Outputs::new(&dir, vec![Box::new(JsonReporter::new(path.clone()))]);
    for event in &events {
        outputs.event(event);
    }
    assert!(outputs.finish().is_empty(), "report.json written");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("report.json")).expect("JSON");
    let _ = std::fs::remove_dir_all(&dir);

    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string("schemas/mallcheck/report.schema.json").expect("report schema"),
    )
    .expect("schema JSON");
    let validator = jsonschema::validator_for(&schema).expect("the report schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "report.json breaks its schema: {errors:#?}"
    );

    let Some(Event::RunFinished {
        coverage,
        untested_must,
        ..
    }) = events.last()
    else {
        panic!("the run ends with RunFinished");
    };
    assert_eq!(
        report["requirements"],
        serde_json::to_value(coverage).expect("coverage as JSON")
    );
    assert_eq!(
        report["untested_must"],
        serde_json::to_value(untested_must).expect("untested_must as JSON")
    );
}

/// `junit.xml` beside report.json: one testsuite per scenario, the failure of a fault carrying
/// its requirement and evidence, and no secret.
#[test]
fn junit_xml_has_a_suite_per_scenario_and_the_fault_as_a_failure() {
    let dir = std::env::temp_dir().join(format!("mallcheck-junit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let run = |fault: Option<&str>, out: &str| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_mallcheck"));
        command
            .args(["run", "--out", out])
            .current_dir(&dir)
            .env("NO_COLOR", "1");
        if let Some(fault) = fault {
            command.args(["--fault", fault]);
        }
        command.output().expect("runs");
        let junit = std::fs::read_to_string(dir.join(out).join("junit.xml")).expect("junit.xml");
        let report: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(out).join("report.json")).expect("report"),
        )
        .expect("json");
        (junit, report)
    };
    let (junit, report) = run(None, "clean");
    // The start time carries its offset (RFC 3339), so a report read elsewhere means one moment.
    let started = report["started_at"].as_str().expect("started_at");
    assert!(
        chrono::DateTime::parse_from_rfc3339(started).is_ok(),
        "started_at {started:?} has no offset"
    );
    let scenarios = report["scenarios"].as_array().expect("scenarios").len();
    assert_eq!(junit.matches("<testsuite ").count(), scenarios);
    assert!(junit.contains("failures=\"0\""), "{}", &junit[..300]);
    let (junit, _) = run(Some("price-above-market"), "fault");
    assert!(junit.contains("<failure"), "no failure");
    assert!(junit.contains("type=\"PRC-NOT-ABOVE-MARKET\""));
    assert!(junit.contains("expected: ≤ "), "evidence missing");
    assert!(junit.contains("curl: curl -sS"), "curl missing");
    let md5 = format!("{:x}", md5::compute("tjmall-test"));
    assert!(
        !junit.contains("tjmall-test") && !junit.contains(&md5),
        "a secret in junit.xml"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `summary.md`: the verdicts, each failed requirement on one line, and the next steps.
#[test]
fn summary_md_names_the_verdicts_the_failed_requirements_and_the_next_steps() {
    let dir = std::env::temp_dir().join(format!("mallcheck-summary-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let summary = |args: &[&str], out: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_mallcheck"))
            .args(["run", "--out", out])
            .args(args)
            .current_dir(&dir)
            .output()
            .expect("runs");
        std::fs::read_to_string(dir.join(out).join("summary.md")).expect("summary.md")
    };
    let clean = summary(&[], "clean");
    assert!(
        clean.starts_with("# mallcheck: required `pass` · optional `pass`"),
        "{clean}"
    );
    assert!(!clean.contains("Failed requirements"), "{clean}");
    assert!(
        clean.contains("every MUST requirement in scope was judged and held"),
        "{clean}"
    );
    let fault = summary(&["--fault", "price-above-market"], "fault");
    assert!(fault.starts_with("# mallcheck: required `fail`"), "{fault}");
    let line = fault
        .lines()
        .find(|l| l.starts_with("- **PRC-NOT-ABOVE-MARKET** (MUST"))
        .unwrap_or_else(|| panic!("no line for the failed requirement:\n{fault}"));
    assert!(line.contains("price"), "{line}");
    assert!(
        fault.contains("Fix the failed requirements (PRC-NOT-ABOVE-MARKET)"),
        "{fault}"
    );
    assert!(
        !fault.contains("http://") || !fault.contains("]("),
        "links in the summary"
    );
    let narrowed = summary(&["--scenario", "token"], "narrowed");
    assert!(narrowed.contains("A selection ran"), "{narrowed}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `manifest.json` lists every file of the run folder; `mallcheck verify` names what changed.
#[test]
fn verify_names_every_file_changed_missing_or_added_since_the_run() {
    let dir = std::env::temp_dir().join(format!("mallcheck-verify-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let mallcheck = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_mallcheck"))
            .args(args)
            .current_dir(&dir)
            .output()
            .expect("runs")
    };
    mallcheck(&["run", "--scenario", "token", "--out", "out"]);
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("out/manifest.json")).expect("manifest.json"),
    )
    .expect("json");
    for file in ["report.json", "events.jsonl", "junit.xml", "summary.md"] {
        assert!(
            manifest["files"][file]["sha256"].is_string(),
            "{file} not listed"
        );
    }
    assert_eq!(manifest["config_sha256"].as_str().map(str::len), Some(64));
    let verify = || mallcheck(&["verify", "out"]);
    assert_eq!(verify().status.code(), Some(0));
    std::fs::write(dir.join("out/summary.md"), "# edited\n").expect("edit");
    std::fs::remove_file(dir.join("out/junit.xml")).expect("remove");
    std::fs::write(dir.join("out/extra.txt"), "x").expect("add");
    let out = verify();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("changed: summary.md"), "{stderr}");
    assert!(stderr.contains("missing: junit.xml"), "{stderr}");
    assert!(
        stderr.contains("not in the manifest: extra.txt"),
        "{stderr}"
    );
    std::fs::remove_file(dir.join("out/manifest.json")).expect("remove");
    assert_eq!(verify().status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}
