//! The behaviours, one test each. Every test holds [`serial`], starts a raw supplier with one
//! behaviour, runs a small selection of scenarios against it (two seconds per call), checks what
//! every run must be ([`Run::assert_sound`]) and then the finding the behaviour must give.
//! Clear messages are part of the contract: a redirect loop is named as one, a connection
//! closed early says "closed the connection", and a token whose stated expiry is already past is
//! a TOK-TTL-36H failure without being fetched before every call.

use std::sync::Arc;

use mallcheck::events::Status;

use crate::raw::{AREAS_ANSWER, Behaviour, Canned, ECHO_TOKEN, RawSupplier, Seen, TOKEN};
use crate::run::{MIB, PASSWORD, Run, Setup, USERNAME, run};
use crate::serial;

/// Starts `behaviour`, runs `setup` against it, stops it, and checks the run is sound.
async fn against(behaviour: Behaviour, setup: Setup) -> (Run, Arc<Seen>) {
    let supplier = RawSupplier::start(behaviour).await;
    let seen = Arc::clone(&supplier.seen);
    let run = run(&supplier.url(), setup).await;
    supplier.stop().await;
    run.assert_sound();
    (run, seen)
}

fn canned_json(body: &[u8]) -> Behaviour {
    Behaviour::Canned(Canned::json(body))
}

/// `{"success":true,"desc":"ok","result":<result>}`.
fn envelope(result: &[u8]) -> Vec<u8> {
    [
        br#"{"success":true,"desc":"ok","result":"#.as_slice(),
        result,
        b"}",
    ]
    .concat()
}

// ---------------------------------------------------------------------------------------------
// Bodies that are not (clean) JSON.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_html_502_page_is_a_json_and_status_finding() {
    let _serial = serial().await;
    let page = b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>";
    let behaviour = Behaviour::Canned(Canned::new(
        "HTTP/1.1 502 Bad Gateway",
        "text/html",
        &page[..],
    ));
    let (run, _) = against(behaviour, Setup::areas("html-502")).await;
    run.assert_finding("GEN-JSON", "HTML");
    run.assert_finding("GEN-HTTP-STATUS", "502");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_200_body_is_a_json_finding() {
    let _serial = serial().await;
    let (run, _) = against(canned_json(b""), Setup::areas("empty-body")).await;
    run.assert_finding("GEN-JSON", "empty body");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_is_a_json_finding() {
    let _serial = serial().await;
    let body = [
        &b"{\"success\":true,\"desc\":\""[..],
        &[0xff, 0xfe, 0x80],
        b"\"}",
    ]
    .concat();
    let (run, _) = against(canned_json(&body), Setup::areas("invalid-utf8")).await;
    run.assert_finding("GEN-JSON", "not valid UTF-8");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_utf8_bom_is_a_json_finding() {
    let _serial = serial().await;
    let body = [b"\xef\xbb\xbf".as_slice(), AREAS_ANSWER.as_bytes()].concat();
    let (run, _) = against(canned_json(&body), Setup::areas("bom")).await;
    run.assert_finding("GEN-JSON", "byte-order mark");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pretty_printed_json_is_a_newline_finding() {
    let _serial = serial().await;
    let body = "{\n  \"success\": true,\n  \"desc\": \"ok\",\n  \"result\": {\n    \"北京市\": \"110000\",\n    \"天津市\": \"120000\"\n  }\n}";
    let (run, _) = against(canned_json(body.as_bytes()), Setup::areas("pretty")).await;
    run.assert_finding("GEN-NO-NEWLINE", "line break");
    // Several lines are still JSON: read and judged.
    run.assert_row("GEN-JSON", &[Status::Pass], "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn success_as_a_string_is_an_envelope_finding() {
    let _serial = serial().await;
    let body = r#"{"success":"true","desc":"ok","result":{"北京市":"110000","天津市":"120000"}}"#;
    let (run, _) = against(canned_json(body.as_bytes()), Setup::areas("success-string")).await;
    run.assert_finding("GEN-ENVELOPE", "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compressed_body_the_mall_did_not_ask_for_names_content_encoding() {
    let _serial = serial().await;
    let behaviour = Behaviour::Canned(
        Canned::json(gzip_stored(AREAS_ANSWER.as_bytes())).header("Content-Encoding", "gzip"),
    );
    let (run, _) = against(behaviour, Setup::areas("gzip")).await;
    run.assert_finding("GEN-JSON", "Content-Encoding: gzip");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_brotli_body_the_mall_did_not_ask_for_names_content_encoding() {
    let _serial = serial().await;
    // Not JSON, whatever brotli would make of it: the mall must not guess.
    let bytes: &[u8] = &[
        0x1b, 0x4a, 0x00, 0xf8, 0x8d, 0x94, 0x6e, 0xde, 0xb4, 0xd7, 0x0b,
    ];
    let behaviour = Behaviour::Canned(Canned::json(bytes).header("Content-Encoding", "br"));
    let (run, _) = against(behaviour, Setup::areas("brotli")).await;
    run.assert_finding("GEN-JSON", "Content-Encoding: br");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_with_a_valid_envelope_is_a_status_finding() {
    let _serial = serial().await;
    let behaviour = Behaviour::Canned(Canned::new(
        "HTTP/1.1 500 Internal Server Error",
        "application/json",
        r#"{"success":false,"desc":"系统繁忙 system busy","result":null}"#.as_bytes(),
    ));
    let (run, _) = against(behaviour, Setup::areas("500-envelope")).await;
    run.assert_finding("GEN-HTTP-STATUS", "500");
    // The body is JSON all the same.
    run.assert_row("GEN-JSON", &[Status::Pass], "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_served_as_text_plain_is_judged_as_json() {
    let _serial = serial().await;
    let behaviour = Behaviour::Canned(Canned::new(
        "HTTP/1.1 200 OK",
        "text/plain; charset=utf-8",
        AREAS_ANSWER.as_bytes(),
    ));
    let (run, _) = against(behaviour, Setup::areas("text-plain")).await;
    let judged = run.misbehaved_rows("GEN-JSON");
    assert!(
        !judged.is_empty() && judged.iter().all(|r| r.status == Status::Pass),
        "text/plain JSON is read as JSON: {}",
        run.digest()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_top_level_keys_are_an_envelope_finding() {
    let _serial = serial().await;
    let body = r#"{"success":true,"desc":"ok","success":false,"result":{"北京市":"110000","天津市":"120000"}}"#;
    let (run, _) = against(canned_json(body.as_bytes()), Setup::areas("duplicate-keys")).await;
    run.assert_finding("GEN-ENVELOPE", "more than once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbers_like_1e400_and_negative_prices_are_findings_not_crashes() {
    let _serial = serial().await;
    let body = envelope(
        br#"[{"sku":"100000001","price":-0.001,"market_price":1e400},{"sku":"100000002","price":1e400,"market_price":-1e-400}]"#,
    );
    let setup = Setup::areas("extreme-numbers").scenarios(&["catalogue"]);
    let (run, _) = against(canned_json(&body), setup).await;
    run.assert_finding("PRC-MONEY", "");
}

// ---------------------------------------------------------------------------------------------
// Answers beyond what the harness reads: never a pass, never a fail, said so.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_cap_is_not_judged() {
    let _serial = serial().await;
    let body: Arc<[u8]> =
        envelope(&[b"[\"".as_slice(), &vec![b'9'; 2 * MIB], b"\"]"].concat()).into();
    let setup = Setup::areas("over-cap").config("timeout_seconds = 5\nmax_body_mib = 1");
    let (run, _) = against(Behaviour::Canned(Canned::json(body)), setup).await;
    run.assert_json_not_judged("max_body_mib");
    assert_nothing_passes_on_unread(&run);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_chunked_body_is_cut_at_the_cap_and_not_judged() {
    let _serial = serial().await;
    let setup = Setup::areas("endless-chunked").config("timeout_seconds = 5\nmax_body_mib = 1");
    let (run, _) = against(Behaviour::EndlessChunked, setup).await;
    run.assert_json_not_judged("max_body_mib");
    assert_nothing_passes_on_unread(&run);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_values_than_max_answer_items_are_not_judged() {
    let _serial = serial().await;
    let items = vec![r#""100000001""#; 5000].join(",");
    let body = envelope(format!("[{items}]").as_bytes());
    let setup = Setup::areas("many-values").config("timeout_seconds = 2\nmax_answer_items = 1000");
    let (run, _) = against(canned_json(&body), setup).await;
    run.assert_json_not_judged("max_answer_items");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nesting_deeper_than_max_answer_depth_is_not_judged() {
    let _serial = serial().await;
    let depth = 100;
    let body = envelope(format!("{}{}", "[".repeat(depth), "]".repeat(depth)).as_bytes());
    let (run, _) = against(canned_json(&body), Setup::areas("deep")).await;
    run.assert_json_not_judged("max_answer_depth");
}

/// On an exchange whose body was not read in full, only what came before the body (the
/// status, the method) may pass.
fn assert_nothing_passes_on_unread(run: &Run) {
    let unread: Vec<u64> = run
        .misbehaved()
        .filter(|e| e.response.as_ref().is_some_and(|r| r.truncated))
        .map(|e| e.id)
        .collect();
    assert!(
        !unread.is_empty(),
        "{}: no answer was cut at the cap",
        run.name
    );
    let passed: Vec<String> = run
        .results()
        .filter(|r| r.status == Status::Pass)
        .filter(|r| r.exchange.is_some_and(|id| unread.contains(&id)))
        .filter(|r| !matches!(r.requirement.as_str(), "GEN-HTTP-STATUS" | "GEN-POST"))
        .map(|r| format!("{} ({})", r.requirement, r.check))
        .collect();
    assert!(
        passed.is_empty(),
        "{}: passes on answers that were cut at the cap and not read in full: {passed:?}",
        run.name
    );
}

// ---------------------------------------------------------------------------------------------
// Big answers: memory stays bounded, the report keeps a prefix.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_valid_answers_keep_memory_bounded_and_the_report_small() {
    let _serial = serial().await;
    // ~7.5 MiB: a list of 21,800 products with a 300-character introduction each. Their SKUs
    // are the three pooled ones, so that the cross-interface checks have little to say (a flood
    // of findings is the next test's subject).
    let intro = "高".repeat(100);
    let items: Vec<String> = (0..21_800)
        .map(|i| {
            format!(
                r#"{{"sku":"{}","name":"商品 {i}","introduction":"{intro}"}}"#,
                100_000_001 + i % 3
            )
        })
        .collect();
    let body: Arc<[u8]> = envelope(format!("[{}]", items.join(",")).as_bytes()).into();
    drop(items);
    let size = body.len();
    assert!(
        (7 * MIB..8 * MIB).contains(&size),
        "the big answer is {size} bytes"
    );
    let setup = Setup::areas("big-answers")
        .config("timeout_seconds = 10")
        .scenarios(&["catalogue"])
        .bound(90);
    let (run, _) = against(Behaviour::Canned(Canned::json(Arc::clone(&body))), setup).await;
    let big: Vec<_> = run
        .misbehaved()
        .filter(|e| e.response.as_ref().is_some_and(|r| !r.truncated))
        .collect();
    assert!(
        big.len() >= 5,
        "{}: few big answers read: {}",
        run.name,
        big.len()
    );
    // Read whole and judged (valid JSON, the wrong shape for most interfaces).
    run.assert_row("GEN-JSON", &[Status::Pass], "");
    // Each exchange an event carries is cut to evidence_kib, with the whole size and hash.
    for exchange in &big {
        let response = exchange.response.as_ref().expect("a response");
        assert!(
            response.body.len() <= 64 * 1024,
            "an event holds a {} byte body",
            response.body.len()
        );
        let full = response
            .full_body
            .as_ref()
            .expect("the size of the whole body");
        assert_eq!(full.bytes as usize, size, "the whole size is recorded");
        assert!(full.cut && full.sha256.len() == 64);
    }
    for (path, text) in &run.out_files {
        assert!(
            text.len() < 8 * MIB,
            "{} is {} bytes",
            path.display(),
            text.len()
        );
    }
}

/// 50,000 new SKUs in no pool: one finding each would be a report of tens of MB; findings on
/// one requirement are capped (like a check's, at about a hundred) and the rest counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_new_skus_in_no_pool_keeps_the_report_small() {
    let _serial = serial().await;
    let items: Vec<String> = (0..50_000)
        .map(|i| {
            format!(
                r#"{{"sku":"{}","catalog_id":"A0101","time":"2026-01-01 00:00:00"}}"#,
                200_000_000 + i
            )
        })
        .collect();
    let body: Arc<[u8]> = envelope(format!("[{}]", items.join(",")).as_bytes()).into();
    drop(items);
    let setup = Setup::areas("new-sku-flood")
        .config("timeout_seconds = 10")
        .scenarios(&["catalogue"])
        .bound(90);
    let (run, _) = against(Behaviour::Canned(Canned::json(body)), setup).await;
    let rows = run
        .results()
        .filter(|r| r.requirement == "X-NEW-IN-POOL" && r.status != Status::Pass)
        .count();
    assert!(rows >= 1, "X-NEW-IN-POOL found nothing:\n{}", run.digest());
    assert!(
        rows <= 2 * 101,
        "{rows} X-NEW-IN-POOL rows for one answer: findings are not capped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_skus_keep_memory_bounded() {
    let _serial = serial().await;
    let ids: Vec<String> = (0..1_000_000)
        .map(|i| format!("\"{}\"", 100_000_000 + i))
        .collect();
    let body: Arc<[u8]> = envelope(format!("[{}]", ids.join(",")).as_bytes()).into();
    drop(ids);
    let setup = Setup::areas("million-skus")
        .config("timeout_seconds = 20\nmax_body_mib = 16")
        .scenarios(&["catalogue"])
        .bound(120)
        // Read compactly (no value tree): ~57 MiB at the peak, the 12 MB answer included.
        .memory(100 * MIB);
    let (run, seen) = against(Behaviour::SkuList(body), setup).await;
    assert!(seen.count("/skus") >= 1);
    run.assert_row("SKU-LIST", &[Status::Pass], "");
    // The sample, not the million, is read in detail.
    let details = seen.count("/detail");
    assert!(
        (1..=100).contains(&details),
        "{} details read of a million SKUs",
        details
    );
}

// ---------------------------------------------------------------------------------------------
// The token interface.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_interface_that_never_answers_fails_fast() {
    let _serial = serial().await;
    let setup = Setup::areas("token-silent").scenarios(&[]).bound(90);
    let (run, seen) = against(Behaviour::TokenSilent, setup).await;
    let asked = seen.count("/access_token");
    println!("[hostile] token-silent: the token asked {asked} times");
    assert!(
        (1..=2).contains(&asked),
        "the token interface was asked {asked} times"
    );
    assert!(
        run.elapsed.as_secs() < 45,
        "the run took {:?}: calls waited on the token one after another",
        run.elapsed
    );
    assert!(
        run.events.iter().any(|e| matches!(
            e,
            mallcheck::events::Event::ScenarioFinished { note: Some(n), .. } if n.contains("not asked again")
        )),
        "no scenario says the token interface was not asked again:\n{}",
        run.digest()
    );
    run.assert_transport_error("timed out");
}

/// a TOK-TTL-36H failure, and the token fetched at most 3 times in the
/// whole run, not before every call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_already_expired_on_arrival_is_a_finding_and_not_fetched_before_every_call() {
    let _serial = serial().await;
    let setup = Setup::areas("token-past-expiry").scenarios(&["catalogue"]);
    let (run, seen) = against(Behaviour::TokenPastExpiry, setup).await;
    let calls = seen.total();
    let asked = seen.count("/access_token");
    println!("[hostile] token-past-expiry: the token asked {asked} times in {calls} calls");
    assert!(calls > 10, "the run made only {calls} calls");
    assert!(
        asked <= 3,
        "the token interface was asked {asked} times in {calls} calls"
    );
    run.assert_row("TOK-TTL-36H", &[Status::Fail], "");
}

// ---------------------------------------------------------------------------------------------
// Connections that break.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_is_a_transport_error() {
    let _serial = serial().await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let run = run(&format!("http://{addr}"), Setup::areas("refused")).await;
    run.assert_sound();
    run.assert_transport_error("cannot connect");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_on_accept_is_a_transport_error() {
    let _serial = serial().await;
    let (run, seen) = against(Behaviour::ResetOnAccept, Setup::areas("reset-on-accept")).await;
    assert!(seen.count("<accept>") >= 1);
    // Every connection is reset, the token call's too: every exchange says so.
    let calls: Vec<_> = run.exchanges().collect();
    assert!(!calls.is_empty(), "no exchange recorded");
    for exchange in calls {
        let text = exchange
            .error
            .as_ref()
            .map(|e| e.describe())
            .unwrap_or_default();
        assert!(
            text.contains("reset") || text.contains("closed the connection"),
            "{} does not say the connection was reset or closed: {text:?}",
            exchange.interface
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_after_the_request_is_a_transport_error() {
    let _serial = serial().await;
    let (run, _) = against(
        Behaviour::ResetAfterRequest,
        Setup::areas("reset-after-request"),
    )
    .await;
    assert_transport_failure(&run);
}

/// the error says the supplier closed the connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_closed_before_any_answer_says_so() {
    let _serial = serial().await;
    let (run, _) = against(Behaviour::CloseAfterRequest, Setup::areas("closed-early")).await;
    assert_transport_failure(&run);
    run.assert_transport_error("closed the connection");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_shorter_than_its_content_length_is_a_transport_error() {
    let _serial = serial().await;
    let (run, _) = against(Behaviour::ShortBody, Setup::areas("short-body")).await;
    assert_transport_failure(&run);
    run.assert_finding("GEN-HTTP-STATUS", "");
    // What came is valid JSON, but the answer was not whole.
    assert_nothing_judged_on_cut(&run);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_chunked_body_is_a_transport_error() {
    let _serial = serial().await;
    let (run, _) = against(
        Behaviour::MalformedChunked,
        Setup::areas("malformed-chunked"),
    )
    .await;
    assert_transport_failure(&run);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_garbage_status_line_is_a_transport_error() {
    let _serial = serial().await;
    let (run, _) = against(Behaviour::GarbageStatus, Setup::areas("garbage-status")).await;
    assert_transport_failure(&run);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_1_mb_response_header_is_a_transport_error() {
    let _serial = serial().await;
    let (run, _) = against(Behaviour::HugeHeader, Setup::areas("huge-header")).await;
    assert_transport_failure(&run);
}

/// An answer the transport cut (a deadline, a connection closed before its Content-Length)
/// was not read whole: nothing after the status is judged on it, neither a pass nor a
/// GEN-JSON failure (the bytes that did come prove nothing either way).
fn assert_nothing_judged_on_cut(run: &Run) {
    let cut: Vec<u64> = run
        .misbehaved()
        .filter(|e| e.error.is_some() && e.response.is_some())
        .map(|e| e.id)
        .collect();
    assert!(
        !cut.is_empty(),
        "{}: no answer was cut by the transport",
        run.name
    );
    let judged: Vec<String> = run
        .results()
        .filter(|r| r.exchange.is_some_and(|id| cut.contains(&id)))
        .filter(|r| !matches!(r.requirement.as_str(), "GEN-HTTP-STATUS" | "GEN-POST"))
        .filter(|r| {
            r.status == Status::Pass || (r.requirement == "GEN-JSON" && r.status != Status::Skip)
        })
        .map(|r| {
            format!(
                "{} {:?} ({})",
                r.requirement,
                r.status,
                r.message.chars().take(80).collect::<String>()
            )
        })
        .collect();
    assert!(
        judged.is_empty(),
        "{}: judged on answers the transport cut short: {judged:?}",
        run.name
    );
}

/// Every misbehaving call ended in a transport error that says what happened (no answer
/// judged as if it had come whole), and it is in the report too.
fn assert_transport_failure(run: &Run) {
    let calls: Vec<_> = run.misbehaved().collect();
    assert!(
        !calls.is_empty(),
        "{}: no call reached the behaviour",
        run.name
    );
    for exchange in &calls {
        let error = exchange.error.as_ref().unwrap_or_else(|| {
            panic!(
                "{}: {} came back without a transport error:\n{}",
                run.name,
                exchange.interface,
                run.digest()
            )
        });
        let text = error.describe();
        assert!(
            text.len() > 20,
            "{}: a transport error that says little: {text:?}",
            run.name
        );
    }
    let in_report = run
        .report
        .get("exchanges")
        .and_then(serde_json::Value::as_array)
        .is_some_and(|all| {
            all.iter()
                .any(|e| e.get("error").is_some_and(|v| !v.is_null()))
        });
    assert!(
        in_report,
        "{}: the report keeps no exchange with its transport error",
        run.name
    );
}

// ---------------------------------------------------------------------------------------------
// Slow suppliers: the per-call deadline ends them.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_dripped_a_byte_every_200_ms_times_out() {
    let _serial = serial().await;
    let (run, _) = against(Behaviour::DripBody, Setup::areas("drip-body")).await;
    run.assert_transport_error("timed out");
    assert_transport_failure(&run);
    // Ten bytes of a dripped answer are no evidence that it is not JSON.
    assert_nothing_judged_on_cut(&run);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dripped_status_line_times_out() {
    let _serial = serial().await;
    let (run, _) = against(Behaviour::DripHead, Setup::areas("drip-head")).await;
    run.assert_transport_error("timed out");
    assert_transport_failure(&run);
}

// ---------------------------------------------------------------------------------------------
// Legal but unusual framing, and redirects.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_1_0_close_delimited_body_is_judged_normally() {
    let _serial = serial().await;
    let (run, _) = against(Behaviour::Http10CloseDelimited, Setup::areas("http10")).await;
    let errors: Vec<String> = run
        .misbehaved()
        .filter_map(|e| e.error.as_ref().map(|err| err.describe()))
        .collect();
    assert!(
        errors.is_empty(),
        "a legal HTTP/1.0 answer failed: {errors:?}"
    );
    let json = run.misbehaved_rows("GEN-JSON");
    assert!(
        !json.is_empty() && json.iter().all(|r| r.status == Status::Pass),
        "a legal HTTP/1.0 answer is read as JSON:\n{}",
        run.digest()
    );
    let status = run.misbehaved_rows("GEN-HTTP-STATUS");
    assert!(
        status.iter().all(|r| r.status == Status::Pass),
        "a legal HTTP/1.0 answer has a status finding:\n{}",
        run.digest()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_to_another_origin_is_not_followed() {
    let _serial = serial().await;
    let behaviour = Behaviour::Canned(
        Canned::new("HTTP/1.1 302 Found", "text/html", &b""[..])
            .header("Location", "http://example.invalid/elsewhere"),
    );
    let (run, _) = against(behaviour, Setup::areas("foreign-redirect")).await;
    run.assert_transport_error(
        "redirect to another host not followed: http://example.invalid/elsewhere",
    );
    // Not followed: no attempt to reach example.invalid.
    let reached: Vec<String> = run
        .transport_errors()
        .into_iter()
        .filter(|e| e.contains("cannot connect"))
        .collect();
    assert!(reached.is_empty(), "the redirect was followed: {reached:?}");
}

/// a transport error naming the redirect loop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_loop_is_named() {
    let _serial = serial().await;
    let (run, seen) = against(Behaviour::RedirectLoop, Setup::areas("redirect-loop")).await;
    let asked = seen.total();
    assert!(asked < 100, "the loop was followed {asked} times");
    run.assert_transport_error("redirect loop");
}

// ---------------------------------------------------------------------------------------------
// Secrets.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echoed_secrets_reach_neither_events_nor_the_out_folder() {
    let _serial = serial().await;
    // The whole suite, orders included: every interface's calls, echoed back, in every file.
    let setup = Setup::areas("echo").scenarios(&[]);
    let (run, seen) = against(Behaviour::Echo, setup).await;
    // What the supplier saw of each secret field.
    let mut secrets: Vec<String> = Vec::new();
    for body in seen.bodies() {
        for pair in body.split('&') {
            if let Some((name, value)) = pair.split_once('=')
                && matches!(name, "sign" | "password" | "token")
                && value.len() >= 6
            {
                secrets.push(value.to_string());
            }
        }
    }
    assert!(
        secrets.len() >= 4,
        "the supplier saw few secrets: {}",
        secrets.len()
    );
    secrets.push(PASSWORD.to_string());
    secrets.push(format!("{:x}", md5::compute(PASSWORD)));
    secrets.push(ECHO_TOKEN.to_string());
    secrets.push(TOKEN.to_string());
    let mut forms: Vec<String> = Vec::new();
    for secret in &secrets {
        let decoded = percent_decode(secret);
        for form in [
            secret.clone(),
            decoded.clone(),
            percent_encode(&decoded),
            decoded.replace('/', "\\/"),
        ] {
            // As written, and as it reads inside a JSON string (events and reports are JSON:
            // a body holding `\/` is written `\\/` there).
            let quoted = serde_json::to_string(&form).unwrap_or_default();
            forms.push(quoted.trim_matches('"').to_lowercase());
            forms.push(form.to_lowercase());
        }
    }
    forms.sort();
    forms.dedup();
    for file in [
        "events.jsonl",
        "report.json",
        "report.html",
        "exchanges.har",
        "junit.xml",
        "summary.md",
    ] {
        assert!(
            run.out_files.iter().any(|(path, _)| path.ends_with(file)),
            "{file} not written: every file of the folder is searched"
        );
    }
    let events: String = run
        .events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
        .to_lowercase();
    // The echo did reach the events (the username is no secret): the search below sees it.
    assert!(
        events.contains(USERNAME),
        "the echoed request is not in the events"
    );
    for form in &forms {
        assert!(
            !events.contains(form),
            "a secret reached the events: {form}"
        );
        for (path, text) in &run.out_files {
            assert!(
                !text.to_lowercase().contains(form),
                "a secret reached {}: {form}",
                path.display()
            );
        }
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                (b as char).to_string()
            }
            b' ' => "+".to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// A gzip stream by hand (one stored deflate block), so that no compression crate is needed.

fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let length = u16::try_from(data.len()).expect("a short body");
    let mut out = vec![0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff];
    out.push(0x01);
    out.extend_from_slice(&length.to_le_bytes());
    out.extend_from_slice(&(!length).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
