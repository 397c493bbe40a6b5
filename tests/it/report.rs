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
    ResultRow::new(
        "expect",
        requirement,
        Level::Must,
        scenario,
        set,
        status,
        String::new(),
    )
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
    let report = crate::common::schema_checked_report(&path);
    let _ = std::fs::remove_dir_all(&dir);

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
        let mut command = crate::common::mallcheck_command();
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
        crate::common::mallcheck_command()
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
        crate::common::mallcheck_command()
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

/// The fixed run with the profile's interfaces announced, as a real run announces them.
fn events_with_interfaces() -> Vec<Event> {
    let profile = crate::common::profile();
    let mut events = events();
    if let Some(Event::RunStarted {
        tool,
        profile_name,
        profile_sha256,
        interfaces,
        ..
    }) = events.first_mut()
    {
        *tool = "mallcheck [version]".into();
        *profile_name = profile.settings.name.clone();
        *profile_sha256 = "0123456789abcdef".repeat(4);
        *interfaces = profile
            .interfaces
            .iter()
            .filter(|i| ["token", "pools", "detail", "prices"].contains(&i.id.as_str()))
            .map(|i| mallcheck::events::InterfaceInfo {
                id: i.id.clone(),
                section: i.section.clone(),
                name: Text {
                    zh: i.name_zh.clone(),
                    en: i.name_en.clone(),
                },
                set: RequirementSet::Required,
                requirements: i.requirements.clone(),
            })
            .collect();
    }
    events
}

/// Every file reporter over `events`, into a fresh folder; the folder's files by name.
fn write_every_format(name: &str, events: &[Event]) -> std::collections::BTreeMap<String, String> {
    let dir = std::env::temp_dir().join(format!("mallcheck-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut outputs = Outputs::new(
        &dir,
        mallcheck::report::file_reporters(&dir, mallcheck::events::Lang::Zh),
    );
    for event in events {
        outputs.event(event);
    }
    let errors = outputs.finish();
    assert!(errors.is_empty(), "{errors:?}");
    let files = std::fs::read_dir(&dir)
        .expect("the folder")
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read_to_string(e.path()).expect("UTF-8 text"),
            )
        })
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    files
}

/// Each format from the fixed run, as a snapshot: a change to any of them shows in review.
#[test]
fn every_format_of_a_fixed_run_matches_its_snapshot() {
    let files = write_every_format("formats", &events_with_interfaces());
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "events.jsonl",
            "exchanges.har",
            "junit.xml",
            "report.html",
            "report.json",
            "summary.md"
        ]
    );
    for (name, text) in &files {
        if name == "events.jsonl" {
            continue;
        }
        let text = text.replace(env!("CARGO_PKG_VERSION"), "[version]");
        insta::assert_snapshot!(format!("format_{}", name.replace('.', "_")), text);
    }
}

/// The page loads nothing from outside, and what a supplier sends is text, never markup: in
/// the rows (HTML-escaped) and in the evidence kept as JSON in the page (`<` escaped).
#[test]
fn the_html_page_loads_nothing_and_escapes_what_suppliers_send() {
    let hostile = "</script><script>alert(1)</script><img src=http://evil.test/x>";
    let mut events = events_with_interfaces();
    for event in &mut events {
        match event {
            Event::Result(row) if row.status == Status::Fail => {
                row.message = format!("{hostile} {}", row.message);
                row.actual = Some(hostile.into());
            }
            Event::Exchange(exchange) => {
                if let Some(response) = exchange.response.as_mut() {
                    response.body = format!(r#"{{"desc":"{hostile}"}}"#).into_bytes();
                    response.headers.push(("x-evil".into(), hostile.into()));
                }
            }
            _ => {}
        }
    }
    let files = write_every_format("html-escape", &events);
    let html = &files["report.html"];
    assert!(
        !html.contains("alert(1)</script>"),
        "markup of the supplier reached the page"
    );
    assert!(
        !html.contains("<img"),
        "an image tag of the supplier reached the page"
    );
    assert!(html.contains("&lt;&#x2f;script&gt;") || html.contains("&lt;/script&gt;"));
    // Our two scripts (the evidence as JSON, and the one that draws it) and nothing else.
    assert_eq!(html.matches("<script").count(), 2, "scripts in the page");
    for outside in [
        "src=\"http",
        "href=\"http",
        "<link",
        "@import",
        "url(",
        "<iframe",
    ] {
        assert!(!html.contains(outside), "the page loads {outside}");
    }
    // The evidence is there, for the page to draw: JSON that reads back to the supplier's text.
    let start = html
        .find(r#"<script type="application/json" id="evidence">"#)
        .expect("evidence");
    let json = &html[start..];
    let json = &json[json.find('>').expect(">") + 1..json.find("</script>").expect("end")];
    let evidence: serde_json::Value = serde_json::from_str(json).expect("the evidence is JSON");
    let body = evidence["1"]["response_body"].as_str().expect("a body");
    assert!(body.contains(hostile), "{body}");
}

/// A failing run's folder read back by other means: `mallcheck report` renders every format
/// again from events.jsonl byte for byte; junit.xml parses back with a JUnit reader; the HAR
/// has one entry per exchange with the fields HAR 1.2 requires.
#[test]
fn a_run_folder_renders_again_and_reads_back() {
    let dir = std::env::temp_dir().join(format!("mallcheck-rerender-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let mallcheck = |args: &[&str]| {
        let out = crate::common::mallcheck_command()
            .args(args)
            .current_dir(&dir)
            .env("NO_COLOR", "1")
            .output()
            .expect("runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, _) = mallcheck(&["run", "--out", "out", "--fault", "price-above-market"]);
    assert_eq!(code, Some(1));
    for (format, file) in [
        ("html", "report.html"),
        ("junit", "junit.xml"),
        ("md", "summary.md"),
        ("har", "exchanges.har"),
        ("json", "report.json"),
    ] {
        let again = format!("again-{file}");
        let (code, stderr) = mallcheck(&["report", "out", "--format", format, "-o", &again]);
        assert_eq!(code, Some(0), "{stderr}");
        let read = |path: std::path::PathBuf| std::fs::read(&path).expect("written");
        assert!(
            read(dir.join("out").join(file)) == read(dir.join(&again)),
            "{file} rendered again differs from the run's"
        );
    }
    // The English page is the same page opening in English.
    let (code, stderr) = mallcheck(&["report", "out", "--lang", "en"]);
    assert_eq!(code, Some(0), "{stderr}");
    let english = std::fs::read_to_string(dir.join("out/report.en.html")).expect("report.en.html");
    assert!(english.contains(r#"<html lang="en" data-lang="en">"#));

    let junit = std::fs::read_to_string(dir.join("out/junit.xml")).expect("junit");
    let parsed = quick_junit::Report::deserialize_from_str(&junit).expect("junit.xml parses back");
    let failures: usize = parsed
        .test_suites
        .iter()
        .flat_map(|s| &s.test_cases)
        .filter(|c| matches!(c.status, quick_junit::TestCaseStatus::NonSuccess { .. }))
        .count();
    assert!(failures > 0, "the fault is a failure in junit.xml");

    let events = std::fs::read_to_string(dir.join("out/events.jsonl")).expect("events");
    let exchanges = events
        .lines()
        .filter(|l| l.starts_with(r#"{"Exchange":"#))
        .count();
    let har: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out/exchanges.har")).expect("har"))
            .expect("the HAR is JSON");
    assert_eq!(har["log"]["version"], "1.2");
    let entries = har["log"]["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), exchanges, "one entry per exchange");
    for entry in entries {
        for field in [
            "startedDateTime",
            "time",
            "request",
            "response",
            "cache",
            "timings",
        ] {
            assert!(!entry[field].is_null(), "{field} missing in {entry}");
        }
        for field in [
            "method",
            "url",
            "httpVersion",
            "cookies",
            "headers",
            "queryString",
        ] {
            assert!(
                !entry["request"][field].is_null(),
                "request.{field} missing"
            );
        }
        for field in [
            "status",
            "statusText",
            "httpVersion",
            "cookies",
            "headers",
            "content",
        ] {
            assert!(
                !entry["response"][field].is_null(),
                "response.{field} missing"
            );
        }
        assert!(
            chrono::DateTime::parse_from_rfc3339(entry["startedDateTime"].as_str().unwrap_or(""))
                .is_ok()
        );
    }
    // The secret the run used is in no file of the folder.
    let md5 = format!("{:x}", md5::compute("tjmall-test"));
    for entry in std::fs::read_dir(dir.join("out")).expect("out").flatten() {
        let text =
            String::from_utf8_lossy(&std::fs::read(entry.path()).expect("file")).to_lowercase();
        assert!(
            !text.contains("tjmall-test") && !text.contains(&md5),
            "a secret in {}",
            entry.path().display()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
