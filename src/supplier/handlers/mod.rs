//! The interfaces, keyed by profile interface id. Each handler reads its parameters and answers a
//! `result` or a failure `desc`; `routes` wraps that in the envelope.

use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rust_decimal::Decimal;
use serde_json::{Number, Value, json};

mod catalogue;
mod extras;
mod orders;

use extras::OfferKind;

use super::areas::AreaIds;
use super::catalog::Catalog;
use super::clock::{Clock, Instant};
use super::faults::{Fault, FaultSet};
use super::orders::OrderBook;
use super::params::Params;
use super::token::{self, TIMESTAMP_TOLERANCE_SECONDS, TokenState, TokenStore};
use crate::profile::{Interface, Profile};

/// The interfaces the supplier implements, by profile interface id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Iface {
    Token,
    Pools,
    Skus,
    Detail,
    ShelfStates,
    Images,
    Ratings,
    Prices,
    Provinces,
    Cities,
    Counties,
    Stocks,
    Submit,
    Confirm,
    Cancel,
    Select,
    AfterSale,
    Track,
    Reconcile,
    Accessories,
    CreditPayment,
    CreditPaymentQuery,
    Warranty,
    AccessoryLinks,
    GroupBuys,
    Specials,
    TieredRates,
    Einvoice,
    NewSkus,
    ChangedSkus,
}

impl Iface {
    pub fn from_id(id: &str) -> Option<Iface> {
        Some(match id {
            "token" => Iface::Token,
            "pools" => Iface::Pools,
            "skus" => Iface::Skus,
            "detail" => Iface::Detail,
            "shelf_states" => Iface::ShelfStates,
            "images" => Iface::Images,
            "ratings" => Iface::Ratings,
            "prices" => Iface::Prices,
            "provinces" => Iface::Provinces,
            "cities" => Iface::Cities,
            "counties" => Iface::Counties,
            "stocks" => Iface::Stocks,
            "submit" => Iface::Submit,
            "confirm" => Iface::Confirm,
            "cancel" => Iface::Cancel,
            "select" => Iface::Select,
            "after_sale" => Iface::AfterSale,
            "track" => Iface::Track,
            "reconcile" => Iface::Reconcile,
            "accessories" => Iface::Accessories,
            "credit_payment" => Iface::CreditPayment,
            "credit_payment_query" => Iface::CreditPaymentQuery,
            "warranty" => Iface::Warranty,
            "accessory_links" => Iface::AccessoryLinks,
            "group_buys" => Iface::GroupBuys,
            "specials" => Iface::Specials,
            "tiered_rates" => Iface::TieredRates,
            "einvoice" => Iface::Einvoice,
            "new_skus" => Iface::NewSkus,
            "changed_skus" => Iface::ChangedSkus,
            _ => return None,
        })
    }
}

/// The logical name of the SKU code (a role of the profile's `[fields]`).
pub const SKU_FIELD: &str = "sku";

/// A successful `result`: a JSON value, or raw JSON text for answers serde_json cannot build (an
/// object with a duplicate key).
pub enum Reply {
    Json(Value),
    Raw(Vec<u8>),
}

impl From<Value> for Reply {
    fn from(value: Value) -> Reply {
        Reply::Json(value)
    }
}

pub type Outcome = Result<Reply, String>;

/// The state shared by every request.
pub struct App {
    pub profile: Arc<Profile>,
    pub catalog: Catalog,
    pub clock: Clock,
    pub faults: FaultSet,
    pub tokens: TokenStore,
    pub book: Mutex<OrderBook>,
    pub base_url: String,
    pub seed: u64,
    pub username: String,
    pub password_md5: String,
    pub area_ids: AreaIds,
    /// Hand out the last token again while it is valid.
    pub reissue_token: bool,
    /// How long a pre-order's answer is held.
    pub submit_delay: std::time::Duration,
}

/// A money amount as a JSON number with its exact decimal text ("19.90").
pub fn money(amount: Decimal) -> Value {
    Number::from_str(&amount.to_string())
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// Reads an amount: positive (or zero when `zero_ok`) with at most two decimals.
fn parse_money(text: &str, field: &str, zero_ok: bool) -> Result<Decimal, String> {
    let invalid =
        || format!("金额格式错误 {field} must be an amount with at most two decimals: {text}");
    let amount = Decimal::from_str(text.trim()).map_err(|_| invalid())?;
    if amount.normalize().scale() > 2 || amount < Decimal::ZERO || (!zero_ok && amount.is_zero()) {
        return Err(invalid());
    }
    Ok(amount)
}

fn parse_int<T: FromStr>(text: &str, field: &str) -> Result<T, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("参数格式错误 {field} must be an integer: {text}"))
}

/// A JSON value that may be a number or a string, as text.
fn value_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(text) => Some(text.trim().to_string()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn lock(book: &Mutex<OrderBook>) -> MutexGuard<'_, OrderBook> {
    book.lock().unwrap_or_else(PoisonError::into_inner)
}

impl App {
    fn has(&self, fault: Fault) -> bool {
        self.faults.has(fault)
    }

    fn marker(&self) -> &str {
        &self.profile.settings.expired_marker
    }

    /// Every interface but the token one needs a valid token.
    pub fn check_token(&self, params: &Params) -> Result<(), String> {
        let refuse = |why: &str| {
            if self.has(Fault::NoExpiredMarker) {
                "invalid token".to_string()
            } else {
                format!("{}: {why}", self.marker())
            }
        };
        let Some(token) = params.text(&self.profile.settings.token_param) else {
            // Under no-token-check a call without any token goes through; an unknown or expired
            // token is still refused with the marker (that is TOK-EXPIRED-MARKER's business).
            if self.has(Fault::NoTokenCheck) {
                return Ok(());
            }
            return Err(refuse("缺少 token missing access token"));
        };
        match self.tokens.check(&token, self.clock.now()) {
            TokenState::Valid => Ok(()),
            TokenState::Expired if self.has(Fault::TokenNeverExpires) => Ok(()),
            TokenState::Expired => Err(refuse("token 已过期 the access token has expired")),
            TokenState::Unknown => Err(refuse("token 无效 unknown access token")),
        }
    }

    /// Answers one call of `interface` (whose kind is `iface`), in logical names.
    pub fn handle(&self, iface: Iface, interface: &Interface, params: &Params) -> Outcome {
        let now = self.clock.now();
        // An interface the catalogue gives no batch parameter takes its SKUs in the SKU field.
        let batch_param = self.profile.batch_param(interface).unwrap_or(SKU_FIELD);
        match iface {
            Iface::Token => self.token(params, now),
            Iface::Pools => Ok(self.pools()),
            Iface::Skus => self.skus(params),
            Iface::Detail => self.detail(params),
            Iface::ShelfStates => self.shelf_states(params, batch_param),
            Iface::Images => self.images(params, batch_param),
            Iface::Ratings => self.ratings(params, batch_param),
            Iface::Prices => self.prices(params, batch_param),
            Iface::Provinces => Ok(self.provinces()),
            Iface::Cities => self.cities(params),
            Iface::Counties => self.counties(params),
            Iface::Stocks => self.stocks(params, batch_param),
            Iface::Submit => self.submit(params, now),
            Iface::Confirm => self.confirm(params, now),
            Iface::Cancel => self.cancel(params, now),
            Iface::Select => self.select(params, now),
            Iface::AfterSale => self.after_sale(params, now),
            Iface::Track => self.track(params, now),
            Iface::Reconcile => self.reconcile(params),
            Iface::Accessories => self.accessories(params, batch_param),
            Iface::CreditPayment => self.credit_payment(params),
            Iface::CreditPaymentQuery => self.credit_payment_query(params),
            Iface::Warranty => self.warranty(params, batch_param),
            Iface::AccessoryLinks => self.accessory_links(params),
            Iface::GroupBuys => self.offers(params, OfferKind::GroupBuy),
            Iface::Specials => self.offers(params, OfferKind::Special),
            Iface::TieredRates => self.tiered_rates(params),
            Iface::Einvoice => self.einvoice(params),
            Iface::NewSkus => self.new_skus(params),
            Iface::ChangedSkus => self.changed_skus(params),
        }
    }

    // ---- 2.2 token ----

    fn token(&self, params: &Params, now: Instant) -> Outcome {
        if !self.has(Fault::TokenAnyCredentials) {
            let username = params.required("username")?;
            let password = params.required("password")?;
            let timestamp = params.required("timestamp")?;
            let sign = params.required("sign")?;
            if username != self.username || !password.eq_ignore_ascii_case(&self.password_md5) {
                return Err("用户名或密码错误 wrong username or password".to_string());
            }
            let Some(sent_at) = self.clock.parse(&timestamp) else {
                return Err(format!(
                    "时间戳格式错误 timestamp must be yyyy-MM-dd HH:mm:ss: {timestamp}"
                ));
            };
            if (sent_at - now).abs() > TIMESTAMP_TOLERANCE_SECONDS {
                return Err(format!(
                    "时间戳偏差超过10分钟 timestamp is more than 10 minutes off the supplier clock ({})",
                    self.clock.format(now)
                ));
            }
            let expected = token::sign(&username, &self.password_md5, &timestamp);
            if !sign.eq_ignore_ascii_case(&expected) {
                return Err("签名错误 wrong sign".to_string());
            }
        }
        let ttl = if self.has(Fault::TokenTtl12h) {
            12 * 3600
        } else {
            self.profile.settings.token_ttl_seconds
        };
        let (access_token, expires_at) = self.tokens.issue_or_reissue(
            self.seed,
            now,
            now.saturating_add(ttl),
            self.reissue_token,
        );
        // What is left of the token's life: the whole ttl for a fresh token.
        let expires_in = expires_at.saturating_sub(now);
        Ok(json!({
            "access_token": access_token,
            "expires_at": self.clock.format(expires_at),
            "expires_in": expires_in,
        })
        .into())
    }
}
