//! A supplier that answers everything badly: HTML error pages, invalid UTF-8, pretty-printed
//! JSON, `"success": "true"`, an empty body, a body over the size cap, redirects elsewhere. The
//! run completes, every scenario is accounted for, the answers are findings, nothing panics.
//! Each path gets one kind of bad answer (chosen by the path), pools and SKUs excepted.

use axum::Router;
use axum::body::Body;
use axum::http::{StatusCode, Uri, header};
use axum::response::Response;
use mallcheck::events::Status;
use mallcheck::events::{Event, SetVerdict};
use mallcheck::session::RunArgs;

use crate::common::{run_session, scenario_counts};

/// Runs a session against `app` served on 127.0.0.1:0, with `config` as mallcheck.toml in a
/// fresh folder named after `name`; the report text comes back beside the events.
async fn run_against(
    app: Router,
    name: &str,
    config: &str,
    allow_orders: bool,
) -> (mallcheck::session::RunOutcome, Vec<Event>, String) {
    let (outcome, events, report, _) =
        run_against_with(app, name, config, allow_orders, RunArgs::default()).await;
    (outcome, events, report)
}

/// The files of a run's output folder with their sizes.
type Folder = Vec<(String, u64)>;

/// [`run_against`] with other arguments (target, config, folders and orders are set here).
async fn run_against_with(
    app: Router,
    name: &str,
    config: &str,
    allow_orders: bool,
    base: RunArgs,
) -> (mallcheck::session::RunOutcome, Vec<Event>, String, Folder) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let dir = std::env::temp_dir().join(format!("mallcheck-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let config_file = dir.join("mallcheck.toml");
    std::fs::write(&config_file, config).expect("config");
    let args = RunArgs {
        target: Some(format!("http://{addr}")),
        config: Some(config_file),
        state_dir: dir.join("state"),
        out: Some(dir.join("out")),
        allow_orders,
        ..base
    };
    let (outcome, events) = run_session(&args).await;
    server.abort();
    let report = std::fs::read_to_string(dir.join("out").join("report.json")).unwrap_or_default();
    let folder = std::fs::read_dir(dir.join("out"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| {
                    let size = e.metadata().map(|m| m.len()).unwrap_or(0);
                    (e.file_name().to_string_lossy().into_owned(), size)
                })
                .collect()
        })
        .unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    (outcome, events, report, folder)
}

fn answer(status: StatusCode, content_type: &str, body: Vec<u8>) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap_or_default()
}

/// A different bad answer per path; the token call works so the run gets past it.
async fn hostile(uri: Uri) -> Response {
    let path = uri.path().to_string();
    if path.ends_with("/access_token") {
        let body = r#"{"success":true,"desc":"ok","result":{"access_token":"0123456789abcdef0123456789abcdef","expires_at":"2099-01-01 00:00:00"}}"#;
        return answer(StatusCode::OK, "application/json", body.as_bytes().to_vec());
    }
    // Pools and SKUs answer well, so the run reaches the interfaces that answer badly.
    if path.ends_with("/get_pools") {
        let body = r#"{"success":true,"result":[{"id":"A0101","name":"台式计算机"}]}"#;
        return answer(StatusCode::OK, "application/json", body.as_bytes().to_vec());
    }
    if path.ends_with("/skus") {
        let body = r#"{"success":true,"result":["100000001","100000002","100000003"]}"#;
        return answer(StatusCode::OK, "application/json", body.as_bytes().to_vec());
    }
    let pick = path.bytes().map(usize::from).sum::<usize>() % 8;
    match pick {
        0 => answer(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/html",
            b"<html><body><h1>502 Bad Gateway</h1></body></html>".to_vec(),
        ),
        1 => answer(
            StatusCode::OK,
            "application/json",
            vec![0xff, 0xfe, b'{', 0x80, b'}'],
        ),
        2 => answer(
            StatusCode::OK,
            "application/json",
            b"{\n  \"success\": true,\n  \"result\": []\n}".to_vec(),
        ),
        3 => answer(
            StatusCode::OK,
            "application/json",
            br#"{"success":"true","result":[{"sku":1e400,"price":-0.001}]}"#.to_vec(),
        ),
        4 => answer(StatusCode::OK, "application/json", Vec::new()),
        // Over the 1 MiB cap set below.
        5 => answer(
            StatusCode::OK,
            "application/json",
            [
                b"{\"success\":true,\"result\":[\"".to_vec(),
                vec![b'9'; 2 * 1024 * 1024],
                b"\"]}".to_vec(),
            ]
            .concat(),
        ),
        6 => Response::builder()
            .status(StatusCode::FOUND)
            .header(header::LOCATION, "http://example.invalid/elsewhere")
            .body(Body::empty())
            .unwrap_or_default(),
        _ => answer(
            StatusCode::OK,
            "application/json",
            br#"{"success":true,"result":{"nested":[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]}}"#
                .to_vec(),
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_supplier_yields_findings_not_crashes() {
    let (outcome, events, _) = run_against(
        Router::new().fallback(hostile),
        "hostile",
        "timeout_seconds = 5\nmax_body_mib = 1\n[credentials]\nusername = \"u\"\npassword = \"p\"\n",
        true,
    )
    .await;

    assert_eq!(outcome.verdict.required, SetVerdict::Fail);
    let (announced, finished) = scenario_counts(&events);
    assert_eq!(announced, finished, "every scenario is accounted for");
    let failed: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event::Result(r) if r.status == Status::Fail => Some(r.requirement.as_str()),
            _ => None,
        })
        .collect();
    for requirement in ["GEN-JSON", "GEN-ENVELOPE", "DET-FIELDS", "STK-BATCH"] {
        assert!(
            failed.contains(&requirement),
            "{requirement} not found among {failed:?}"
        );
    }
    // No internal error: hostile answers are findings, not harness failures.
    assert!(
        !events.iter().any(
            |e| matches!(e, Event::ScenarioFinished { note: Some(n), .. } if n.contains("内部错误"))
        ),
        "a scenario crashed"
    );
}

/// A supplier that answers everything but its token interface and unknown paths (the admin
/// probe), which never answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_interface_that_never_answers_is_waited_for_once() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let token_calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&token_calls);
    let app = Router::new().fallback(move |uri: Uri| {
        let counter = Arc::clone(&counter);
        async move {
            if uri.path().contains("access_token") {
                counter.fetch_add(1, Ordering::SeqCst);
                // Never answers (the harness gives up at its timeout).
                std::future::pending::<()>().await;
            }
            if uri.path().starts_with("/__admin") {
                std::future::pending::<()>().await;
            }
            answer(
                StatusCode::OK,
                "application/json",
                br#"{"success":false,"desc":"token_expired"}"#.to_vec(),
            )
        }
    });
    let (outcome, events, _) = run_against(
        app,
        "silent-token",
        "timeout_seconds = 4\n[credentials]\nusername = \"u\"\npassword = \"p\"\n",
        false,
    )
    .await;
    // The token interface was asked once by the token scenario and at most once on the way to
    // the others (the two may overlap); everything after was blocked at once, not after a
    // deadline of its own.
    let asked = token_calls.load(Ordering::SeqCst);
    assert!(
        (1..=2).contains(&asked),
        "the token interface was asked {asked} times"
    );
    assert_ne!(outcome.verdict.required, SetVerdict::Pass);
    let (announced, finished) = scenario_counts(&events);
    assert_eq!(announced, finished);
    assert!(events.iter().any(|e| matches!(
        e,
        // Blocked at once: the token interface is not asked again, or (after the admin probe
        // and the token calls timed out in a row) the supplier as a whole is not.
        Event::ScenarioFinished { note: Some(n), .. } if n.contains("not asked")
    )));
}

/// A supplier that echoes every request (its form body) into `desc`, into a header and into the
/// body again in upper case: nothing it saw of a secret reaches the events, in any form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_are_masked_however_a_supplier_echoes_them() {
    use std::sync::{Arc, Mutex};
    let seen: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    const TOKEN: &str = "Tok/en+9f86d081884c7d65";
    let app = Router::new().fallback(move |uri: Uri, body: String| {
        let record = Arc::clone(&record);
        async move {
            let mut secrets = Vec::new();
            for pair in body.split('&') {
                if let Some((name, value)) = pair.split_once('=')
                    && matches!(name, "sign" | "password" | "token")
                {
                    secrets.push(value.to_string());
                }
            }
            if let Ok(mut seen) = record.lock() {
                seen.extend(secrets);
            }
            let echo = serde_json::to_string(&format!("{body} {}", body.to_uppercase()))
                .unwrap_or_default();
            let text = if uri.path().contains("access_token") {
                format!(
                    r#"{{"success":true,"desc":{echo},"result":{{"access_token":"{}","expires_at":"2099-01-01 00:00:00"}}}}"#,
                    TOKEN.replace('/', "\\/")
                )
            } else {
                format!(r#"{{"success":false,"desc":{echo}}}"#)
            };
            Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, "application/json")
                .header("x-echo", body.replace(['\r', '\n'], " "))
                .body(Body::from(text))
                .unwrap_or_default()
        }
    });
    let (_, events, report) = run_against(
        app,
        "echo",
        "timeout_seconds = 5\n[credentials]\nusername = \"echo-user\"\npassword = \"echo-password\"\n",
        false,
    )
    .await;
    let text = events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
        + &report;
    let lower = text.to_lowercase();
    let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
    assert!(seen.len() > 3, "the supplier saw secrets: {seen:?}");
    let md5 = format!("{:x}", md5::compute("echo-password"));
    let mut forms = vec![
        md5,
        TOKEN.to_lowercase(),
        "tok%2fen%2b9f86d081884c7d65".into(),
    ];
    forms.extend(
        seen.iter()
            .filter(|s| s.len() >= 6)
            .map(|s| s.to_lowercase()),
    );
    for secret in forms {
        assert!(!lower.contains(&secret), "a secret leaked: {secret}");
    }
    assert!(!lower.contains("tok\\/en"), "the JSON-escaped token leaked");
}

/// A supplier that answers everything correctly but slowly: the run's time limit stops it, the
/// report is written and says why, and nothing claims a pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_run_time_limit_stops_the_run_and_reports_it() {
    let app = Router::new().fallback(|uri: Uri| async move {
        if !uri.path().ends_with("/access_token") {
            tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        }
        hostile(uri).await
    });
    let started = std::time::Instant::now();
    let (outcome, events, report, _) = run_against_with(
        app,
        "max-time",
        "timeout_seconds = 5\n[credentials]\nusername = \"u\"\npassword = \"p\"\n",
        false,
        RunArgs {
            max_time: Some(std::time::Duration::from_secs(2)),
            ..RunArgs::default()
        },
    )
    .await;
    let aborted = outcome.aborted.clone().unwrap_or_default();
    assert!(aborted.contains("run time limit"), "{aborted:?}");
    assert_eq!(outcome.verdict.required, SetVerdict::Error);
    // Stopped at the limit, not after every scenario (in-flight calls end within their 5 s).
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    let (announced, finished) = scenario_counts(&events);
    assert!(finished <= announced);
    let report: serde_json::Value = serde_json::from_str(&report).expect("a report was written");
    assert!(
        report.to_string().contains("run time limit"),
        "the report says why it stopped"
    );
}

/// Every answer valid but 3 MiB large: judged whole, while the report keeps 16 KiB of each body
/// with its size and SHA-256, and every exchange goes to events.jsonl beside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_answers_are_judged_whole_and_cut_in_the_report() {
    let padding = "x".repeat(3 * 1024 * 1024);
    let app = Router::new().fallback(move |uri: Uri| {
        let padding = padding.clone();
        async move {
            let path = uri.path();
            let result = if path.ends_with("/access_token") {
                r#"{"access_token":"0123456789abcdef0123456789abcdef","expires_at":"2099-01-01 00:00:00"}"#
            } else if path.ends_with("/get_pools") {
                r#"[{"id":"A0101","name":"台式计算机"}]"#
            } else if path.ends_with("/skus") {
                r#"["100000001","100000002"]"#
            } else {
                "null"
            };
            let body = format!(r#"{{"success":true,"desc":"{padding}","result":{result}}}"#);
            answer(StatusCode::OK, "application/json", body.into_bytes())
        }
    });
    let (_, events, report, folder) = run_against_with(
        app,
        "large",
        "evidence_kib = 16\n[credentials]\nusername = \"u\"\npassword = \"p\"\n",
        false,
        RunArgs::default(),
    )
    .await;
    let exchanged = events
        .iter()
        .filter(|e| matches!(e, Event::Exchange(_)))
        .count();
    assert!(exchanged > 5, "{exchanged} exchanges");
    // The events carry the cut copy already: nothing downstream holds a whole body.
    for event in &events {
        if let Event::Exchange(x) = event
            && let Some(response) = &x.response
        {
            assert!(
                response.body.len() <= 16 * 1024,
                "an uncut body in the events"
            );
            let full = response.full_body.as_ref().expect("size and hash kept");
            assert!(full.cut && full.bytes > 3 * 1024 * 1024, "{full:?}");
            assert_eq!(full.sha256.len(), 64);
        }
    }
    let size = |name: &str| folder.iter().find(|(n, _)| n == name).map(|(_, s)| *s);
    let report_size = size("report.json").expect("report.json written");
    assert!(
        report_size < 4 * 1024 * 1024,
        "report.json is {report_size} bytes"
    );
    assert!(
        size("events.jsonl").is_some(),
        "events.jsonl written: {folder:?}"
    );
    assert!(report.contains("\"sha256\""));
}

/// A supplier whose token answers but everything else never does: after a few timeouts in a
/// row the supplier is taken as no longer answering and the rest is blocked at once, instead of
/// one deadline per call. (Where some interfaces still answer, each hanging one is asked once:
/// `an_interface_that_timed_out_is_not_asked_again`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supplier_that_stops_answering_is_not_waited_for_call_by_call() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let silent_calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&silent_calls);
    let app = Router::new().fallback(move |uri: Uri| {
        let counter = Arc::clone(&counter);
        async move {
            let path = uri.path();
            let answers = path.ends_with("/access_token");
            if !answers {
                counter.fetch_add(1, Ordering::SeqCst);
                std::future::pending::<()>().await;
            }
            hostile(uri).await
        }
    });
    let (outcome, events, _) = run_against(
        app,
        "stops-answering",
        "timeout_seconds = 1\n[credentials]\nusername = \"u\"\npassword = \"p\"\n",
        false,
    )
    .await;
    assert_ne!(outcome.verdict.required, SetVerdict::Pass);
    // The admin probe, one call to each interface that hangs before the run stops or what
    // follows is blocked, and no more.
    let asked = silent_calls.load(Ordering::SeqCst);
    let most = mallcheck::client::SILENT_AFTER as usize + 8;
    assert!(asked <= most, "{asked} calls waited out (at most {most})");
    let (announced, finished) = scenario_counts(&events);
    assert_eq!(announced, finished);
}

/// An interface that never answers is asked once: later calls to it are blocked at once (and
/// their requirements not judged), while the rest of the run goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interface_that_timed_out_is_not_asked_again() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let hanging_calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hanging_calls);
    let app = Router::new().fallback(move |uri: Uri| {
        let counter = Arc::clone(&counter);
        async move {
            if uri.path().ends_with("/new_skus") {
                counter.fetch_add(1, Ordering::SeqCst);
                std::future::pending::<()>().await;
            }
            hostile(uri).await
        }
    });
    let (outcome, events, _) = run_against(
        app,
        "interface-times-out",
        "timeout_seconds = 1\n[credentials]\nusername = \"u\"\npassword = \"p\"\n",
        false,
    )
    .await;
    assert_eq!(
        hanging_calls.load(Ordering::SeqCst),
        1,
        "new_skus asked again"
    );
    assert!(outcome.aborted.is_none(), "{:?}", outcome.aborted);
    let blocked = events.iter().any(|e| match e {
        Event::ScenarioFinished {
            note: Some(note), ..
        } => note.contains("new_skus timed out earlier"),
        _ => false,
    });
    let row = events.iter().any(|e| match e {
        Event::Result(r) => r.message.contains("timed out earlier"),
        _ => false,
    });
    assert!(
        blocked || row,
        "no row or note says why new_skus was not asked again"
    );
}

/// Three calls in a row that time out, to any interfaces, and the client takes the supplier as
/// no longer answering: the runner then blocks the rest at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_timeouts_in_a_row_and_the_supplier_is_taken_as_silent() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = Router::new().fallback(std::future::pending::<String>);
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let profile = std::sync::Arc::new(crate::common::profile());
    let mut config = mallcheck::client::ClientConfig::new(format!("http://{addr}"), "u", "p");
    config.timeout = std::time::Duration::from_millis(300);
    let client = mallcheck::client::Client::new(profile, config).expect("client");
    let none = serde_json::Map::new();
    let token = mallcheck::client::TokenUse::Explicit("0123456789abcdef0123456789abcdef".into());
    for (n, interface) in ["pools", "provinces", "new_skus"].into_iter().enumerate() {
        assert!(client.silenced().is_none(), "silenced after {n} timeouts");
        let exchange = client.call(interface, &none, token.clone()).await;
        assert!(exchange.error.is_some());
        assert!(client.timed_out_before(interface).is_some());
    }
    let why = client.silenced().unwrap_or_default();
    assert!(why.contains("stopped answering"), "{why:?}");
    server.abort();
}
