//! The reference supplier (`mallcheck serve`): an embedded axum server implementing the profile it
//! is given completely and correctly, with named faults that each break one requirement.
//!
//! It shares only the profile (interface ids, paths, settings, field names) with the harness,
//! never its checks or client. Handlers speak logical field names; the profile's wire names are
//! translated at the edge, once: request parameters right after parsing (`params`), every
//! `result` right before it is written (`routes`). Choices the profile leaves open:
//! - A batch holding an unknown SKU is refused as a whole (`success: false`, desc naming the
//!   unknown SKUs), so that a successful batch always answers every SKU asked exactly once. A SKU
//!   asked twice is answered once; more than `batch_max` SKUs are refused. The optional SKU
//!   filter of 2.20 takes one SKU or such a list.
//! - Stock is per SKU and area; orders lock stock in their county.
//! - Reconciliation lists the orders submitted in the date range that are not cancelled;
//!   `invoice_state` is 1 once an order is confirmed (the invoice is issued on confirmation, which
//!   is also when the e-invoice becomes available).
//! - A credit-term payment (order paid with `payment = 5`) is accepted once the order is confirmed
//!   and verified at once: `pay_state` 2 when the amount equals the order price, -1 otherwise.
//!
//! Besides the interfaces it serves, over GET, what its answers link to: product images
//! (`/images/<sku>/<n>.png`), product pages (`/product/<sku>.html`) and e-invoices
//! (`/einvoice/<order_id>.pdf`). With `admin` on, two POST endpoints (form or JSON) drive tests:
//! `/__admin/clock` (`advance_seconds`: moves the supplier clock forward; token expiry,
//! shipping and delivery follow it) and `/__admin/stock` (`sku`, `num`, optional `area_id` in
//! the supplier's area ids, all counties without it: sets the units available); their
//! parameters keep these names under every profile.
//! Faults that touch "some SKUs" always include the first SKU of every pool and the SKUs of the
//! new-SKU feed, the ones a harness samples first.
//!
//! Options that make it behave like a supplier's test environment, for black-box tests of the
//! harness (all off by default; `SupplierConfig::test_env` and `serve --test-env` turn them on,
//! without admin endpoints):
//! - `ship_after_seconds` / `deliver_after_seconds`: a confirmed order ships, then is
//!   delivered, by itself after these delays on the supplier clock (real time, plus what the
//!   admin clock added). Until it ships select answers state 0 with submit_state 1 and track no
//!   waybill; shipped: state 5 and a waybill of the order lines; delivered: state 1,
//!   deliver_state 1, and only then after-sale. Defaults: shipped at once, delivered after 24 h.
//! - `area_ids`: `Own` gives areas the supplier's own ids (provinces `1`…`34`, cities from
//!   `2801`, counties from `50950`) in every interface that takes or answers one, GB/T codes
//!   being unknown then; names stay the same.
//! - `reissue_valid_token`: while the last token issued is valid, a token request gets it
//!   again with the same `expires_at`.
//!
//! Every fault keeps working with these options on: the order faults act on the delayed
//! schedule, the area faults on the own ids.

mod areas;
mod catalog;
mod clock;
mod faults;
mod handlers;
mod orders;
mod params;
mod rng;
mod routes;
mod token;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::profile::Profile;

pub use areas::AreaIds;
pub use catalog::MAX_SKUS;
pub use faults::FaultInfo;
use faults::{Fault, FaultSet};

/// How to run the reference supplier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupplierConfig {
    /// Number of SKUs in the generated catalogue.
    pub skus: u64,
    /// Seed of the generated catalogue: the same seed gives the same catalogue.
    pub seed: u64,
    /// Fault ids (see [`faults`]).
    pub faults: Vec<String>,
    /// Serve `/__admin/clock` and `/__admin/stock`.
    pub admin: bool,
    pub username: String,
    /// The plain password; the token call carries its md5.
    pub password: String,
    /// Seconds after confirmation until an order ships (state 5, a waybill); 0: at once.
    pub ship_after_seconds: i64,
    /// Seconds after confirmation until an order is delivered (state 1); at least
    /// `ship_after_seconds`.
    pub deliver_after_seconds: i64,
    /// The area id scheme of the interfaces (areas, stock, submit, admin stock).
    pub area_ids: AreaIds,
    /// While the last token issued is valid, a token request gets it again, with the same
    /// `expires_at`.
    pub reissue_valid_token: bool,
    /// Milliseconds every pre-order answer is held (after the order is made): a slow supplier,
    /// for tests that stop the harness while pre-orders are in flight.
    pub submit_delay_ms: u64,
}

impl Default for SupplierConfig {
    fn default() -> Self {
        SupplierConfig {
            skus: 1000,
            seed: 1,
            faults: Vec::new(),
            admin: false,
            username: "tjmall".to_string(),
            password: "tjmall-test".to_string(),
            ship_after_seconds: 0,
            deliver_after_seconds: orders::DELIVERY_SECONDS,
            area_ids: AreaIds::Standard,
            reissue_valid_token: false,
            submit_delay_ms: 0,
        }
    }
}

impl SupplierConfig {
    /// Like a supplier's test environment (`serve --test-env`): no admin endpoints, orders that
    /// ship 2 s and are delivered 4 s after confirmation, its own area ids, and a valid token
    /// handed out again.
    pub fn test_env() -> SupplierConfig {
        SupplierConfig {
            admin: false,
            ship_after_seconds: 2,
            deliver_after_seconds: 4,
            area_ids: AreaIds::Own,
            reissue_valid_token: true,
            ..SupplierConfig::default()
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SupplierError {
    #[error("未知故障 unknown fault id `{id}`; known faults: {known}")]
    UnknownFault { id: String, known: String },
    #[error("商品数过多 at most {max} SKUs, got {skus}")]
    TooManySkus { skus: u64, max: u64 },
    #[error(
        "发货/送达时间无效 ship-after ({ship_after} s) and deliver-after ({deliver_after} s) must satisfy 0 <= ship-after <= deliver-after"
    )]
    BadSchedule { ship_after: i64, deliver_after: i64 },
    #[error("接口路径重复 two interfaces of the profile share the path {path}")]
    DuplicatePath { path: String },
    #[error("无法监听 cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// All faults the supplier knows, in a stable order.
pub fn faults() -> &'static [FaultInfo] {
    faults::all()
}

/// The SKU codes a "some SKUs" fault (detail-missing-brand, detail-wrong-sku,
/// price-above-market, some-dead-images, detail-reset-some, …) applies to in the catalogue of
/// `config`: for tests that check a sweep lists exactly those.
pub fn fault_targets(config: &SupplierConfig) -> Vec<String> {
    let catalog = catalog::Catalog::new(config.seed, config.skus.min(MAX_SKUS), 0);
    (0..catalog.sku_count())
        .filter(|&index| catalog.is_fault_target(index))
        .map(|index| catalog.code(index))
        .collect()
}

/// How many distinct image URLs the catalogue of `config` shows (the detail's main image is
/// the gallery's first): what a sweep with `--images all` must fetch, each once.
pub fn image_urls(config: &SupplierConfig) -> u64 {
    let catalog = catalog::Catalog::new(config.seed, config.skus.min(MAX_SKUS), 0);
    (0..catalog.sku_count())
        .map(|index| catalog.sku(index).image_count)
        .sum()
}

/// A started supplier; dropping it stops the server too, `shutdown` waits for it.
#[derive(Debug)]
pub struct RunningSupplier {
    addr: SocketAddr,
    base_url: String,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningSupplier {
    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, lets requests in flight finish, and waits for the server task.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

fn parse_faults(ids: &[String]) -> Result<FaultSet, SupplierError> {
    let mut set = FaultSet::default();
    for id in ids {
        match Fault::from_id(id.trim()) {
            Some(fault) => set.insert(fault),
            None => {
                let known: Vec<&str> = faults().iter().map(|info| info.id).collect();
                return Err(SupplierError::UnknownFault {
                    id: id.clone(),
                    known: known.join(", "),
                });
            }
        }
    }
    Ok(set)
}

/// The address URLs are built on: a wildcard bind is reached through loopback.
fn public_base_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

/// Binds `addr` (`127.0.0.1:0` picks a free port) and spawns the server on the current tokio
/// runtime. It accepts connections as soon as this returns.
pub async fn start(
    profile: Arc<Profile>,
    config: SupplierConfig,
    addr: SocketAddr,
) -> Result<RunningSupplier, SupplierError> {
    let faults = parse_faults(&config.faults)?;
    if config.skus > MAX_SKUS {
        return Err(SupplierError::TooManySkus {
            skus: config.skus,
            max: MAX_SKUS,
        });
    }
    let schedule = orders::Schedule {
        ship_after: config.ship_after_seconds,
        deliver_after: config.deliver_after_seconds,
    };
    // Delivered before shipped would make no sense to a mall.
    if schedule.ship_after < 0 || schedule.deliver_after < schedule.ship_after {
        return Err(SupplierError::BadSchedule {
            ship_after: schedule.ship_after,
            deliver_after: schedule.deliver_after,
        });
    }
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| SupplierError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| SupplierError::Bind { addr, source })?;
    let base_url = public_base_url(local);
    let clock = clock::Clock::new(
        profile.settings.utc_offset_seconds,
        &profile.settings.timestamp_format,
    );
    let catalog = catalog::Catalog::new(config.seed, config.skus, clock.now());
    let app = Arc::new(handlers::App {
        profile,
        catalog,
        clock,
        faults,
        tokens: token::TokenStore::default(),
        book: Mutex::new(orders::OrderBook::new(schedule)),
        base_url: base_url.clone(),
        seed: config.seed,
        username: config.username,
        password_md5: token::md5_hex(&config.password),
        area_ids: config.area_ids,
        reissue_token: config.reissue_valid_token,
        submit_delay: std::time::Duration::from_millis(config.submit_delay_ms),
    });
    let router = routes::router(app, config.admin)?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                // A dropped sender stops the server as well.
                let _ = stopped.await;
            })
            .await
    });
    Ok(RunningSupplier {
        addr: local,
        base_url,
        stop,
        task,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fault_names_the_id_and_the_known_ones() {
        let error = parse_faults(&["no-such-fault".to_string()]).err();
        let message = error.map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("no-such-fault"), "{message}");
        assert!(message.contains("prices-get-only"), "{message}");
        assert!(parse_faults(&["dead-image-link".to_string()]).is_ok());
    }

    #[test]
    fn wildcard_binds_are_reached_through_loopback() {
        let addr: SocketAddr = "0.0.0.0:8080"
            .parse()
            .unwrap_or(SocketAddr::from(([0, 0, 0, 0], 8080)));
        assert_eq!(public_base_url(addr), "http://127.0.0.1:8080");
    }
}
