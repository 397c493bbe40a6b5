//! Everything a running scenario shares with the others, and the values every template sees.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};
use tokio::sync::mpsc::UnboundedSender;

use super::orders::OrderBook;
use super::plan::RunOptions;
use super::verdict::Tally;
use crate::checks::Knowledge;
use crate::client::{Client, Exchange};
use crate::config::Config;
use crate::events::{Event, ResultRow, Status};
use crate::profile::Profile;

/// Everything a running scenario shares with the others.
pub(crate) struct Shared {
    pub profile: Arc<Profile>,
    pub client: Client,
    pub config: Config,
    pub options: RunOptions,
    pub events: Emitter,
    pub knowledge: Mutex<Knowledge>,
    /// Captures of finished scenarios, by scenario id.
    pub captures: Mutex<HashMap<String, Arc<Value>>>,
    pub orders: OrderBook,
    /// Image URLs already probed in this run (each is fetched once).
    pub probed_images: Mutex<HashSet<String>>,
    pub image_slots: tokio::sync::Semaphore,
    /// One permit: large answers are parsed and judged one at a time.
    pub large_answers: tokio::sync::Semaphore,
    /// Set when the supplier cannot be reached at all: the rest of the run is blocked.
    pub unreachable: Mutex<Option<String>>,
    /// What the rows so far add up to.
    pub tally: Mutex<Tally>,
}

impl Shared {
    /// The curl line that repeats an exchange: the embedded supplier's base URL, gone after the
    /// run, as `$MALLCHECK_TARGET`, and a warning before a call that changes an order.
    pub(crate) fn curl_line(&self, exchange: &crate::exchange::Exchange) -> String {
        let base = self.options.embedded.then(|| self.client.base_url());
        let line = exchange.curl_line(base);
        if self
            .profile
            .interface(&exchange.interface)
            .is_some_and(|i| i.changes_state())
        {
            format!("# {}\n{line}", crate::exchange::REPLAY_WARNING)
        } else {
            line
        }
    }

    /// Why the supplier can no longer be asked anything: it could not be reached, or it
    /// stopped answering.
    pub(crate) fn client_unreachable(&self) -> Option<String> {
        self.unreachable
            .lock()
            .ok()
            .and_then(|u| u.clone())
            .or_else(|| self.client.silenced())
    }

    pub(crate) fn note_result(&self, row: &ResultRow) {
        if let Ok(mut tally) = self.tally.lock() {
            tally.note(row);
        }
    }

    pub(crate) fn emit(&self, event: Event) {
        self.events.send(event);
    }

    /// Sends the copy of `exchange` a report keeps (see [`Emitter::exchange`]).
    pub(crate) fn emit_exchange(&self, exchange: &Exchange) {
        self.events.exchange(exchange);
    }
}

/// The run's end of the event stream. An exchange goes out as the copy a report keeps, its body
/// cut to `evidence_kib`: the whole answer is judged where it was received and then dropped, so
/// what the reporters hold does not grow with what a supplier sends.
#[derive(Clone)]
pub(crate) struct Emitter {
    sender: UnboundedSender<Event>,
    evidence_bytes: usize,
}

impl Emitter {
    pub(crate) fn new(sender: UnboundedSender<Event>, evidence_kib: u64) -> Emitter {
        let evidence_bytes =
            usize::try_from(evidence_kib.saturating_mul(1024)).unwrap_or(usize::MAX);
        Emitter {
            sender,
            evidence_bytes,
        }
    }

    pub(crate) fn send(&self, event: Event) {
        // A closed channel means nobody listens any more; the run goes on regardless.
        let _ = self.sender.send(event);
    }

    pub(crate) fn exchange(&self, exchange: &Exchange) {
        self.send(Event::Exchange(Box::new(
            exchange.evidence(self.evidence_bytes),
        )));
    }
}

/// How a scenario ended, for its dependents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Ran all its steps (with or without failures): its captures exist.
    Completed(Status),
    /// Stopped early, was skipped or blocked: dependents are blocked.
    NotCompleted(Status),
}

/// Values every template can use: `${config.…}`, `${run.…}`, `${profile.…}`.
pub(crate) fn global_vars(shared: &Shared) -> Map<String, Value> {
    let mut vars = Map::new();
    let test_data = &shared.config.test_data;
    let config = serde_json::to_value(test_data).unwrap_or(Value::Null);
    vars.insert("config".into(), json!({ "test_data": config }));
    // `${area.…}`: the configured ids, else the supplier's own, found by name; before the areas
    // scenario has run (or where it found nothing) the GB/T 2260 codes of Tianjin's 和平区.
    let found = shared
        .knowledge
        .lock()
        .map(|k| k.test_area(&test_data.province_name, &test_data.county_name))
        .unwrap_or_default();
    let pick = |configured: &Option<String>, found: Option<String>, fallback: &str| {
        configured
            .clone()
            .or(found)
            .unwrap_or_else(|| fallback.to_string())
    };
    vars.insert(
        "area".into(),
        json!({
            "province": pick(&test_data.province, found.province, "120000"),
            "city": pick(&test_data.city, found.city, "120100"),
            "county": pick(&test_data.county, found.county, "120101"),
        }),
    );
    // Times in the profile's zone (China Standard Time by default), in its format.
    let offset = chrono::FixedOffset::east_opt(shared.profile.settings.utc_offset_seconds)
        .unwrap_or_else(|| chrono::Offset::fix(&chrono::Utc));
    // On the supplier's clock (the reference supplier's can have been moved).
    let now = (chrono::Utc::now()
        + chrono::Duration::milliseconds(shared.client.supplier_skew_ms()))
    .with_timezone(&offset);
    let format = &shared.profile.settings.timestamp_format;
    let day = |days: i64| {
        (now + chrono::Duration::days(days))
            .format("%Y-%m-%d")
            .to_string()
    };
    vars.insert(
        "run".into(),
        json!({
            "id": shared.options.run_id,
            "sample": shared.options.sample.count(),
            "seed": shared.options.seed,
            "embedded": shared.options.embedded,
            "username": shared.client.username(),
            "now": now.format(format).to_string(),
            // A week back, in the timestamp format: the window asked of new_skus / changed_skus.
            "week_ago_time": (now - chrono::Duration::days(7)).format(format).to_string(),
            "today": day(0),
            "yesterday": day(-1),
            "week_ago": day(-7),
            "in_3_days": day(3),
        }),
    );
    let auth: Vec<&str> = shared
        .profile
        .interfaces_in_test_order()
        .filter(|i| i.auth)
        .map(|i| i.id.as_str())
        .collect();
    let required_auth: Vec<&str> = shared
        .profile
        .interfaces_in_test_order()
        .filter(|i| i.auth && i.required)
        .map(|i| i.id.as_str())
        .collect();
    let optional_auth: Vec<&str> = shared
        .profile
        .interfaces_in_test_order()
        .filter(|i| i.auth && !i.required)
        .map(|i| i.id.as_str())
        .collect();
    vars.insert(
        "profile".into(),
        json!({
            "auth_interfaces": auth,
            "required_auth_interfaces": required_auth,
            "optional_auth_interfaces": optional_auth,
            "batch_max": shared.profile.settings.batch_max,
            "expired_marker": shared.profile.settings.expired_marker,
            "codes": shared.profile.codes,
        }),
    );
    vars
}
