//! The interfaces, keyed by profile interface id. Each handler reads its parameters and answers a
//! `result` or a failure `desc`; `routes` wraps that in the envelope.

use std::collections::HashSet;
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{Map, Number, Value, json};

use super::areas;
use super::catalog::{Catalog, OFFER_SKUS, Offer, POOLS, Sku};
use super::clock::{Clock, Instant};
use super::faults::{Fault, FaultSet};
use super::orders::{LineRequest, Order, OrderBook, SubmitRequest, SubmitRules};
use super::params::Params;
use super::rng::MixState;
use super::token::{self, TIMESTAMP_TOLERANCE_SECONDS, TokenState, TokenStore};
use crate::profile::Profile;

/// The interfaces of the default profile, by id.
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
            TokenState::Expired => Err(refuse("token 已过期 the access token has expired")),
            TokenState::Unknown => Err(refuse("token 无效 unknown access token")),
        }
    }

    pub fn handle(&self, iface: Iface, params: &Params) -> Outcome {
        let now = self.clock.now();
        match iface {
            Iface::Token => self.token(params, now),
            Iface::Pools => Ok(self.pools()),
            Iface::Skus => self.skus(params),
            Iface::Detail => self.detail(params),
            Iface::ShelfStates => self.shelf_states(params),
            Iface::Images => self.images(params),
            Iface::Ratings => self.ratings(params),
            Iface::Prices => self.prices(params),
            Iface::Provinces => Ok(self.provinces()),
            Iface::Cities => self.cities(params),
            Iface::Counties => self.counties(params),
            Iface::Stocks => self.stocks(params),
            Iface::Submit => self.submit(params, now),
            Iface::Confirm => self.confirm(params, now),
            Iface::Cancel => self.cancel(params, now),
            Iface::Select => self.select(params, now),
            Iface::AfterSale => self.after_sale(params, now),
            Iface::Track => self.track(params, now),
            Iface::Reconcile => self.reconcile(params),
            Iface::Accessories => self.accessories(params),
            Iface::CreditPayment => self.credit_payment(params),
            Iface::CreditPaymentQuery => self.credit_payment_query(params),
            Iface::Warranty => self.warranty(params),
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
        let expires_at = now.saturating_add(ttl);
        let access_token = self.tokens.issue(self.seed, now, expires_at);
        Ok(json!({
            "access_token": access_token,
            "expires_at": self.clock.format(expires_at),
            "expires_in": ttl,
        })
        .into())
    }

    // ---- catalogue: 2.3 – 2.9 ----

    fn pools(&self) -> Reply {
        let pools = POOLS.iter().enumerate().map(|(position, pool)| {
            let id = if position == 1 && self.has(Fault::DuplicatePoolIds) {
                POOLS[0].id
            } else {
                pool.id
            };
            json!({"id": id, "name": pool.name})
        });
        Value::Array(pools.collect()).into()
    }

    fn skus(&self, params: &Params) -> Outcome {
        let pool_id = params.required("catalog_id")?;
        let Some(pool) = self.catalog.pool_index(&pool_id) else {
            return Err(format!("品目池不存在 unknown pool: {pool_id}"));
        };
        // Under new-skus-not-in-pool the new SKUs exist (detail, price, stock) but no pool lists
        // them.
        let hide_new = self.has(Fault::NewSkusNotInPool);
        let mut codes: Vec<Value> = self
            .catalog
            .pool_skus(pool)
            .filter(|&index| !(hide_new && self.catalog.in_new_feed(index)))
            .map(|index| Value::String(self.catalog.code(index)))
            .collect();
        if self.has(Fault::DuplicateSkus)
            && let Some(first) = codes.first().cloned()
        {
            codes.insert(1.min(codes.len()), first);
        }
        Ok(Value::Array(codes).into())
    }

    fn image_url(&self, code: &str, number: u64) -> String {
        format!("{}/images/{code}/{number}.png", self.base_url)
    }

    fn detail(&self, params: &Params) -> Outcome {
        let code = params.required("sku")?;
        let Some(mut index) = self.catalog.index_of(&code) else {
            return Err(format!("商品不存在 unknown sku: {code}"));
        };
        if self.has(Fault::SkuWithoutDetail) && index == 0 {
            return Err(format!("商品不存在 unknown sku: {code}"));
        }
        let target = self.catalog.is_fault_target(index);
        if self.has(Fault::DetailWrongSku) && target && self.catalog.sku_count() > 1 {
            index = (index + 1) % self.catalog.sku_count();
        }
        let sku = self.catalog.sku(index);
        let brand = if self.has(Fault::DetailMissingBrand) && target {
            ""
        } else {
            sku.brand
        };
        let introduction = if self.has(Fault::OnshelfIncomplete) && target && sku.on_shelf {
            String::new()
        } else {
            format!(
                "<div class=\"detail\"><h3>{}</h3><p>{}{}，型号 {}，{}。</p><p><img src=\"{}\" alt=\"{}\"/></p></div>",
                sku.name,
                sku.brand,
                sku.noun,
                sku.model,
                sku.spec,
                self.image_url(&sku.code, 1),
                sku.noun
            )
        };
        let param = format!(
            "<table class=\"param\"><tr><th>品牌</th><td>{}</td></tr><tr><th>型号</th><td>{}</td></tr><tr><th>规格</th><td>{}</td></tr><tr><th>单位</th><td>{}</td></tr></table>",
            sku.brand, sku.model, sku.spec, sku.unit
        );
        Ok(json!({
            "sku": sku.code,
            "url": format!("{}/product/{}.html", self.base_url, sku.code),
            "model": sku.model,
            "weight": money(sku.weight),
            "image_path": self.image_url(&sku.code, 0),
            "state": u8::from(sku.on_shelf),
            "brand_name": brand,
            "name": sku.name,
            "product_area": sku.origin,
            "upc": sku.upc,
            "unit": sku.unit,
            "category": sku.category,
            "service": sku.service,
            "introduction": introduction,
            "param": param,
            "ware": format!("{}×1、说明书×1、保修卡×1", sku.noun),
            "is_energy_saving": sku.energy_saving,
            "is_environmental": sku.environmental,
            "is_imported": sku.imported,
        })
        .into())
    }

    /// The SKU indices of a batch parameter: distinct, in the order asked, all known, at most
    /// batch_max.
    fn batch_indices(&self, params: &Params) -> Result<Vec<u64>, String> {
        let text = params.required("sku")?;
        let mut seen: HashSet<&str, MixState> =
            HashSet::with_capacity_and_hasher(32, MixState::default());
        let codes: Vec<&str> = text
            .split(',')
            .map(str::trim)
            .filter(|code| !code.is_empty() && seen.insert(*code))
            .collect();
        if codes.is_empty() {
            return Err("缺少参数 missing parameter: sku".to_string());
        }
        let max = self.profile.settings.batch_max;
        if codes.len() > max {
            return Err(format!(
                "批量超过上限 at most {max} SKUs per call, got {}",
                codes.len()
            ));
        }
        let indices: Vec<Option<u64>> = codes
            .iter()
            .map(|code| self.catalog.index_of(code))
            .collect();
        let unknown: Vec<&str> = codes
            .iter()
            .zip(&indices)
            .filter(|(_, index)| index.is_none())
            .map(|(code, _)| *code)
            .collect();
        if !unknown.is_empty() {
            return Err(format!("商品不存在 unknown sku: {}", unknown.join(",")));
        }
        Ok(indices.into_iter().flatten().collect())
    }

    /// The SKUs of a batch parameter, derived in full.
    fn batch(&self, params: &Params) -> Result<Vec<Sku>, String> {
        Ok(self
            .batch_indices(params)?
            .into_iter()
            .map(|index| self.catalog.sku(index))
            .collect())
    }

    /// Batch answers under a drop-one fault leave out the last SKU asked.
    fn batch_answer(&self, mut entries: Vec<Value>, drop_fault: Fault) -> Outcome {
        if self.has(drop_fault) {
            entries.pop();
        }
        Ok(Value::Array(entries).into())
    }

    fn shelf_states(&self, params: &Params) -> Outcome {
        let entries = self
            .batch(params)?
            .into_iter()
            .map(|sku| json!({"sku": sku.code, "state": u8::from(sku.on_shelf)}))
            .collect();
        self.batch_answer(entries, Fault::ShelfDropsSku)
    }

    fn images(&self, params: &Params) -> Outcome {
        let entries = self
            .batch(params)?
            .into_iter()
            .map(|sku| {
                let images: Vec<Value> = (0..sku.image_count)
                    .map(|n| {
                        // The fault is confined to 2.7; the detail's main image stays absolute.
                        let path = if self.has(Fault::RelativeImagePath) {
                            format!("/images/{}/{n}.png", sku.code)
                        } else {
                            self.image_url(&sku.code, n)
                        };
                        json!({"path": path, "order": n})
                    })
                    .collect();
                json!({"sku": sku.code, "images": images})
            })
            .collect();
        self.batch_answer(entries, Fault::ImagesDropSku)
    }

    fn ratings(&self, params: &Params) -> Outcome {
        let entries = self
            .batch(params)?
            .into_iter()
            .map(|sku| {
                let rating = self.catalog.rating(sku.index);
                let average = if self.has(Fault::RatingsOutOfRange)
                    && self.catalog.is_fault_target(sku.index)
                {
                    Decimal::new(75, 1)
                } else {
                    rating.average
                };
                json!({
                    "sku": sku.code,
                    "average": money(average),
                    "good": money(rating.good),
                    "medium": money(rating.medium),
                    "bad": money(rating.bad),
                })
            })
            .collect();
        Ok(Value::Array(entries).into())
    }

    /// The agreement price as answered, and as orders must carry it: under price-above-market
    /// the supplier's own price list is wrong, consistently.
    fn answered_price(&self, sku: &Sku) -> Decimal {
        if self.has(Fault::PriceAboveMarket) && self.catalog.is_fault_target(sku.index) {
            return sku.market_price + Decimal::new(500, 2);
        }
        sku.price
    }

    /// The market price as answered: a third decimal under three-decimal-prices (raised by
    /// 0.001, so it stays above the agreement price and orders are unaffected).
    fn answered_market_price(&self, sku: &Sku) -> Decimal {
        if self.has(Fault::ThreeDecimalPrices) {
            return sku.market_price + Decimal::new(1, 3);
        }
        sku.market_price
    }

    fn prices(&self, params: &Params) -> Outcome {
        let entries = self
            .batch(params)?
            .into_iter()
            .map(|sku| {
                json!({
                    "sku": sku.code,
                    "price": money(self.answered_price(&sku)),
                    "market_price": money(self.answered_market_price(&sku)),
                })
            })
            .collect();
        self.batch_answer(entries, Fault::PricesDropSku)
    }

    // ---- 2.10 areas ----

    fn area_map(entries: &[(&str, &str)]) -> Value {
        Value::Object(
            entries
                .iter()
                .map(|(name, code)| (name.to_string(), Value::String(code.to_string())))
                .collect::<Map<String, Value>>(),
        )
    }

    fn provinces(&self) -> Reply {
        Self::area_map(areas::PROVINCES).into()
    }

    fn cities(&self, params: &Params) -> Outcome {
        let id = params.required("id")?;
        match areas::cities(&id) {
            Some(cities) => Ok(Self::area_map(&cities).into()),
            None => Err(format!("地区不存在 unknown province id: {id}")),
        }
    }

    fn counties(&self, params: &Params) -> Outcome {
        let id = params.required("id")?;
        let Some(mut counties) = areas::counties(&id) else {
            return Err(format!("地区不存在 unknown city id: {id}"));
        };
        if self.has(Fault::NoCounties) {
            return Ok(json!({}).into());
        }
        if id == areas::TIANJIN_CITY {
            if self.has(Fault::TianjinDistrictMissing) {
                counties.retain(|(name, _)| *name != "蓟州区");
            }
            if self.has(Fault::DuplicateCountyNames) {
                // A JSON object cannot hold one key twice in serde_json: write the text.
                let text = Self::area_map(&counties).to_string();
                let body = text.strip_suffix('}').unwrap_or(&text);
                return Ok(Reply::Raw(
                    format!("{body},\"和平区\":\"120199\"}}").into_bytes(),
                ));
            }
        }
        Ok(Self::area_map(&counties).into())
    }

    // ---- 2.11 stock ----

    fn known_area(params: &Params) -> Result<String, String> {
        let area = params.required("area_id")?;
        if areas::is_known(&area) {
            Ok(area)
        } else {
            Err(format!("地区不存在 unknown area_id: {area}"))
        }
    }

    fn stocks(&self, params: &Params) -> Outcome {
        let mut skus = self.batch_indices(params)?;
        let area = Self::known_area(params)?;
        if self.has(Fault::BatchExtraSku) {
            let asked: HashSet<u64> = skus.iter().copied().collect();
            if let Some(extra) = (0..self.catalog.sku_count()).find(|index| !asked.contains(index))
            {
                skus.push(extra);
            }
        }
        // Read every number under one lock, build the answer after releasing it.
        let nums: Vec<u64> = {
            let book = lock(&self.book);
            skus.iter()
                .map(|&index| book.available(&self.catalog, index, &area))
                .collect()
        };
        let mut entries: Vec<StockEntry<'_>> = skus
            .iter()
            .zip(nums)
            .map(|(&index, num)| StockEntry {
                sku: SkuCode(self.catalog.code_number(index)),
                area_id: &area,
                num,
                desc: if num > 0 { "有货" } else { "无货" },
            })
            .collect();
        if self.has(Fault::StocksDropSku) {
            entries.pop();
        }
        // Stock is asked while buyers browse: written without building a Value tree.
        let mut text = Vec::with_capacity(96 * entries.len() + 2);
        serde_json::to_writer(&mut text, &entries)
            .map_err(|e| format!("内部错误 internal error: {e}"))?;
        Ok(Reply::Raw(text))
    }

    // ---- 2.12 – 2.16 orders ----

    fn order_lines(
        &self,
        params: &Params,
        field: &str,
        with_price: bool,
    ) -> Result<Vec<LineRequest>, String> {
        let Value::Array(items) = params.json(field)? else {
            return Err(format!("参数格式错误 {field} must be a JSON array"));
        };
        if items.is_empty() {
            return Err(format!("参数格式错误 {field} must hold at least one line"));
        }
        items
            .iter()
            .map(|item| {
                let sku = value_text(item.get("sku"))
                    .filter(|sku| !sku.is_empty())
                    .ok_or_else(|| format!("参数格式错误 every line of {field} needs a sku"))?;
                let num_text = value_text(item.get("num"))
                    .ok_or_else(|| format!("参数格式错误 line {sku} of {field} needs num"))?;
                let num: u64 = parse_int(&num_text, "num")?;
                if num == 0 {
                    return Err(format!("数量须大于 0 num of sku {sku} must be at least 1"));
                }
                let price = if with_price {
                    let text = value_text(item.get("price"))
                        .ok_or_else(|| format!("参数格式错误 line {sku} of {field} needs price"))?;
                    parse_money(&text, "price", false)?
                } else {
                    Decimal::ZERO
                };
                Ok(LineRequest { sku, num, price })
            })
            .collect()
    }

    fn submit(&self, params: &Params, now: Instant) -> Outcome {
        let yggc_order = params.required("yggc_order")?;
        if yggc_order.chars().count() > 50 {
            return Err("商城订单号过长 yggc_order is longer than 50 characters".to_string());
        }
        let lines = self.order_lines(params, "sku", true)?;
        let max_lines = self.profile.settings.batch_max;
        if lines.len() > max_lines {
            return Err(format!(
                "订单行过多 at most {max_lines} lines per order, got {}",
                lines.len()
            ));
        }
        for field in ["name", "address"] {
            params.required(field)?;
        }
        let province = params.required("province")?;
        let city = params.required("city")?;
        let county = params.required("county")?;
        if areas::city_of_county(&county) != Some(city.as_str())
            || areas::province_of_city(&city) != Some(province.as_str())
        {
            return Err(format!(
                "收货地区不匹配 province/city/county do not match: {province}/{city}/{county}"
            ));
        }
        let mobile = params.text("mobile");
        if params.text("phone").is_none() && mobile.is_none() {
            return Err("缺少联系电话 one of phone / mobile is required".to_string());
        }
        if let Some(mobile) = mobile
            && !(mobile.len() == 11
                && mobile.starts_with('1')
                && mobile.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(format!(
                "手机号格式错误 mobile must be 11 digits starting with 1: {mobile}"
            ));
        }
        let invoice_type: u8 = parse_int(&params.required("invoice_type")?, "invoice_type")?;
        if !(1..=3).contains(&invoice_type) {
            return Err(format!(
                "发票类型错误 invoice_type must be 1, 2 or 3: {invoice_type}"
            ));
        }
        params.required("invoice_title")?;
        params.required("invoice_org_code")?;
        if invoice_type == 2 {
            for field in [
                "invoice_name",
                "invoice_phone",
                "invoice_bank",
                "invoice_bank_code",
                "invoice_address",
                "invoice_mobile",
                "invoice_receipt_address",
            ] {
                params.required(field).map_err(|_| {
                    format!("增值税专用发票缺少 {field}: required when invoice_type = 2")
                })?;
            }
        }
        if let Some(content) = params.text("invoice_content") {
            let content: u8 = parse_int(&content, "invoice_content")?;
            if ![1, 3, 19, 22].contains(&content) {
                return Err(format!(
                    "发票内容错误 invoice_content must be 1, 3, 19 or 22: {content}"
                ));
            }
        }
        let payment: u8 = parse_int(&params.required("payment")?, "payment")?;
        if !(1..=6).contains(&payment) {
            return Err(format!("支付方式错误 payment must be 1 to 6: {payment}"));
        }
        let freight = parse_money(&params.required("freight")?, "freight", true)?;
        let order_price = parse_money(&params.required("order_price")?, "order_price", false)?;
        let request = SubmitRequest {
            yggc_order,
            lines,
            county,
            freight,
            order_price,
            payment,
        };
        let rules = SubmitRules {
            check_prices: !self.has(Fault::NoPriceCheck),
            lock_stock: !self.has(Fault::NoStockLock),
            idempotent: !self.has(Fault::DuplicateOrderOnResubmit),
        };
        let mut book = lock(&self.book);
        let order = book.submit(
            &self.catalog,
            |sku| self.answered_price(sku),
            request,
            rules,
            now,
        )?;
        let mut result = Map::new();
        if !self.has(Fault::SubmitNoOrderId) {
            result.insert("order_id".into(), Value::String(order.id.clone()));
        }
        result.insert("yggc_order".into(), Value::String(order.yggc_order.clone()));
        result.insert("order_price".into(), money(order.order_price));
        result.insert("freight".into(), money(order.freight));
        result.insert("sku".into(), Self::lines_json(order));
        Ok(Value::Object(result).into())
    }

    fn lines_json(order: &Order) -> Value {
        order
            .lines
            .iter()
            .map(|line| json!({"sku": line.sku, "num": line.num, "price": money(line.price)}))
            .collect()
    }

    fn confirm(&self, params: &Params, now: Instant) -> Outcome {
        let id = params.required("order_id")?;
        lock(&self.book).confirm(
            &id,
            now,
            !self.has(Fault::ConfirmNoop),
            self.has(Fault::ConfirmAfterCancel),
        )?;
        Ok(Value::Bool(true).into())
    }

    fn cancel(&self, params: &Params, now: Instant) -> Outcome {
        let id = params.required("order_id")?;
        if self.has(Fault::CancelRefused) {
            return Err(format!("取消失败 cancel failed for order {id}"));
        }
        lock(&self.book).cancel(&id, now, self.has(Fault::CancelAfterConfirm))?;
        Ok(Value::Bool(true).into())
    }

    /// Runs `f` on an existing order.
    fn with_order<T>(
        &self,
        params: &Params,
        f: impl FnOnce(&Order) -> Result<T, String>,
    ) -> Result<T, String> {
        let id = params.required("order_id")?;
        let book = lock(&self.book);
        match book.order(&id) {
            Some(order) => f(order),
            None => Err(format!("订单不存在 unknown order: {id}")),
        }
    }

    fn select(&self, params: &Params, now: Instant) -> Outcome {
        let completes = !self.has(Fault::OrderNeverCompletes);
        let wrong_total = self.has(Fault::WrongOrderTotal);
        self.with_order(params, |order| {
            let status = order.status(now, completes);
            let order_price = if wrong_total {
                order.order_price + Decimal::new(1, 2)
            } else {
                order.order_price
            };
            Ok(json!({
                "order_id": order.id,
                "yggc_order": order.yggc_order,
                "state": status.state,
                "submit_state": status.submit_state,
                "deliver_state": status.deliver_state,
                "order_price": money(order_price),
                "freight": money(order.freight),
                "skus": Self::lines_json(order),
            })
            .into())
        })
    }

    fn after_sale(&self, params: &Params, now: Instant) -> Outcome {
        let id = params.required("order_id")?;
        let lines = self.order_lines(params, "skus", false)?;
        if lines.len() > self.profile.settings.batch_max {
            return Err(format!("退换货行过多 too many lines: {}", lines.len()));
        }
        let kind: u8 = parse_int(&params.required("type")?, "type")?;
        if ![4, 5, 6].contains(&kind) {
            return Err(format!("退换货类型错误 type must be 4, 5 or 6: {kind}"));
        }
        if self.has(Fault::AfterSaleRefused) {
            return Err(format!("暂不受理退换货 after-sale refused for order {id}"));
        }
        let lines: Vec<(String, u64)> =
            lines.into_iter().map(|line| (line.sku, line.num)).collect();
        let (service_id, order_id) = lock(&self.book).after_sale(&id, &lines, now)?;
        Ok(json!({"order_service_id": service_id, "order_id": order_id, "type": kind}).into())
    }

    fn track(&self, params: &Params, now: Instant) -> Outcome {
        let no_waybill = self.has(Fault::TrackNoWaybill);
        self.with_order(params, |order| {
            let mut track = vec![json!({
                "content": "您的订单已提交，等待确认",
                "operate_time": self.clock.format(order.created_at),
                "operator": "系统",
            })];
            let mut waybill = Vec::new();
            if let Some(confirmed_at) = order.shipped_at() {
                let items: Vec<Value> = order
                    .lines
                    .iter()
                    .map(|line| json!({"sku": line.sku, "name": line.name, "num": line.num}))
                    .collect();
                if !no_waybill {
                    waybill.push(json!({
                        "logistic_name": "顺丰速运",
                        "logistic_no": format!("SF{}", order.id),
                        "shipment_id": format!("FY{}", order.id),
                        "shipment_items": items,
                    }));
                }
                track.push(json!({
                    "content": "您的订单已确认，商品已出库",
                    "operate_time": self.clock.format(confirmed_at),
                    "operator": "天津仓",
                }));
                track.push(json!({
                    "content": "运输中：快件已从天津分拨中心发出",
                    "operate_time": self.clock.format(confirmed_at),
                    "operator": "顺丰速运",
                }));
                if let Some(delivered_at) = order.delivered_at().filter(|at| now >= *at) {
                    track.push(json!({
                        "content": "已签收，签收人：本人",
                        "operate_time": self.clock.format(delivered_at),
                        "operator": "顺丰速运",
                    }));
                }
            }
            if let super::orders::Phase::Cancelled { at, .. } = order.phase {
                track.push(json!({
                    "content": "订单已取消",
                    "operate_time": self.clock.format(at),
                    "operator": "系统",
                }));
            }
            Ok(json!({"order_id": order.id, "waybill": waybill, "track": track}).into())
        })
    }

    fn reconcile(&self, params: &Params) -> Outcome {
        let bdate = params.required("bdate")?;
        let edate = params.required("edate")?;
        let invalid = |date: &str| format!("日期格式错误 dates must be yyyy-MM-dd: {date}");
        let (from, _) = self
            .clock
            .parse_day(&bdate)
            .ok_or_else(|| invalid(&bdate))?;
        let (_, to) = self
            .clock
            .parse_day(&edate)
            .ok_or_else(|| invalid(&edate))?;
        if from > to {
            return Err(format!(
                "起始日期晚于结束日期 bdate {bdate} is after edate {edate}"
            ));
        }
        let book = lock(&self.book);
        let orders: Vec<&Order> = book
            .orders()
            .iter()
            .filter(|order| (from..=to).contains(&order.created_at))
            .filter(|order| !matches!(order.phase, super::orders::Phase::Cancelled { .. }))
            .collect();
        let amount: Decimal = orders.iter().map(|order| order.order_price).sum();
        let now = self.clock.now();
        let entries: Vec<Value> = orders
            .iter()
            .map(|order| {
                json!({
                    "order_id": order.id,
                    "state": order.status(now, true).state,
                    "invoice_state": u8::from(order.confirmed_at().is_some()),
                    "order_price": money(order.order_price),
                })
            })
            .collect();
        let count = entries.len() + usize::from(self.has(Fault::ReconcileWrongCount));
        Ok(json!({"orders": entries, "count": count, "amount": money(amount)}).into())
    }

    fn credit_payment(&self, params: &Params) -> Outcome {
        let id = params.required("order_id")?;
        let amount = parse_money(&params.required("pay_amount")?, "pay_amount", false)?;
        let pay_time = params.required("pay_time")?;
        if self.clock.parse(&pay_time).is_none() {
            return Err(format!(
                "时间格式错误 pay_time must be yyyy-MM-dd HH:mm:ss: {pay_time}"
            ));
        }
        let transfer_no = params.required("transfer_no")?;
        lock(&self.book).credit_payment(&id, amount, &transfer_no)?;
        Ok(Value::Bool(true).into())
    }

    fn credit_payment_query(&self, params: &Params) -> Outcome {
        let never_verified = self.has(Fault::CreditNeverVerified);
        self.with_order(params, |order| {
            let (state, amount, desc) = match &order.credit {
                None => (0, Decimal::ZERO, "未付款 unpaid".to_string()),
                Some(credit) if never_verified => (
                    1,
                    credit.amount,
                    format!(
                        "转账信息已提交，待核实 transfer {} submitted",
                        credit.transfer_no
                    ),
                ),
                Some(credit) if credit.amount == order.order_price => (
                    2,
                    credit.amount,
                    format!("转账已核实 transfer {} verified", credit.transfer_no),
                ),
                Some(credit) => (
                    -1,
                    credit.amount,
                    format!(
                        "转账金额与订单金额不符 amount mismatch: order {}, paid {}",
                        order.order_price, credit.amount
                    ),
                ),
            };
            Ok(json!({
                "order_id": order.id,
                "pay_state": state,
                "pay_amount": money(amount),
                "verify_desc": desc,
            })
            .into())
        })
    }

    fn einvoice(&self, params: &Params) -> Outcome {
        let relative = self.has(Fault::EinvoiceRelativeUrl);
        self.with_order(params, |order| {
            let Some(confirmed_at) = order.confirmed_at() else {
                return Err(format!(
                    "订单未确认，尚未开票 order {} is not confirmed: no invoice yet",
                    order.id
                ));
            };
            let path = format!("/einvoice/{}.pdf", order.id);
            let url = if relative {
                path
            } else {
                format!("{}{path}", self.base_url)
            };
            Ok(json!([{
                "order_id": order.id,
                "invoice_no": format!("FP{}", order.id),
                "invoice_date": self.clock.format_date(confirmed_at),
                "invoice_amount": money(order.order_price),
                "url": url,
            }])
            .into())
        })
    }

    // ---- 2.17, 2.19, 2.20: accessories, warranty, promotions ----

    fn accessories(&self, params: &Params) -> Outcome {
        let bad_kind = self.has(Fault::AccessoryBadKind);
        let entries = self
            .batch(params)?
            .into_iter()
            .map(|sku| {
                let items: Vec<Value> = self
                    .catalog
                    .accessories(&sku)
                    .into_iter()
                    .map(|item| {
                        json!({
                            "id": item.id,
                            "kind": if bad_kind { 3 } else { item.kind },
                            "name": item.name,
                            "param": item.param,
                            "price": money(item.price),
                        })
                    })
                    .collect();
                json!({"sku": sku.code, "items": items})
            })
            .collect();
        Ok(Value::Array(entries).into())
    }

    fn warranty(&self, params: &Params) -> Outcome {
        let skus = self.batch(params)?;
        Self::known_area(params)?;
        let no_price = self.has(Fault::WarrantyMissingPrice);
        let entries = skus
            .into_iter()
            .map(|sku| {
                let services: Vec<Value> = self
                    .catalog
                    .warranty(&sku)
                    .into_iter()
                    .map(|service| {
                        let mut entry = json!({
                            "id": service.id,
                            "name": service.name,
                            "content": service.content,
                            "price": money(service.price),
                            "years": service.years,
                        });
                        if no_price && let Value::Object(map) = &mut entry {
                            map.remove("price");
                        }
                        entry
                    })
                    .collect();
                json!({"sku": sku.code, "services": services})
            })
            .collect();
        Ok(Value::Array(entries).into())
    }

    /// One optional SKU (2.20): None when absent or empty, meaning all.
    fn optional_sku(&self, params: &Params) -> Result<Option<Sku>, String> {
        match params.text("sku") {
            None => Ok(None),
            Some(code) => match self.catalog.index_of(&code) {
                Some(index) => Ok(Some(self.catalog.sku(index))),
                None => Err(format!("商品不存在 unknown sku: {code}")),
            },
        }
    }

    /// The SKUs an "all" answer of 2.20 covers.
    fn offer_skus(&self, only: Option<Sku>) -> Vec<Sku> {
        match only {
            Some(sku) => vec![sku],
            None => (0..OFFER_SKUS.min(self.catalog.sku_count()))
                .map(|index| self.catalog.sku(index))
                .collect(),
        }
    }

    fn accessory_links(&self, params: &Params) -> Outcome {
        let only = self.optional_sku(params)?;
        if only.is_none() && self.has(Fault::LinksEmptySkuRefused) {
            return Err("缺少参数 missing parameter: sku".to_string());
        }
        let all = only.is_none();
        let entries = self
            .offer_skus(only)
            .into_iter()
            .filter_map(|sku| {
                let links: Vec<Value> = self
                    .catalog
                    .accessories(&sku)
                    .into_iter()
                    .map(|item| json!({"id": item.id, "name": item.name, "kind": item.kind}))
                    .collect();
                (!all || !links.is_empty()).then(|| json!({"sku": sku.code, "links": links}))
            })
            .collect();
        Ok(Value::Array(entries).into())
    }

    fn offers(&self, params: &Params, kind: OfferKind) -> Outcome {
        let only = self.optional_sku(params)?;
        let entries = self
            .offer_skus(only)
            .into_iter()
            .filter_map(|sku| {
                let offer = match kind {
                    OfferKind::GroupBuy => self.catalog.group_buy(&sku),
                    OfferKind::Special => self.catalog.special(&sku),
                }?;
                Some(self.offer_json(&sku, offer, kind))
            })
            .collect();
        Ok(Value::Array(entries).into())
    }

    fn offer_json(&self, sku: &Sku, offer: Offer, kind: OfferKind) -> Value {
        let mut entry = Map::new();
        let mut end_at = offer.end_at;
        let mut price = offer.price;
        match kind {
            OfferKind::GroupBuy => {
                if self.has(Fault::GroupBuyEndsBeforeStart) {
                    end_at = offer.start_at - 86_400;
                }
            }
            OfferKind::Special => {
                if self.has(Fault::SpecialAboveAgreement) {
                    price = sku.price + Decimal::new(100, 2);
                }
            }
        }
        if !(kind == OfferKind::Special && self.has(Fault::SpecialMissingId)) {
            entry.insert("id".into(), Value::String(offer.id));
        }
        entry.insert("sku".into(), Value::String(sku.code.clone()));
        entry.insert("price".into(), money(price));
        if kind == OfferKind::GroupBuy {
            entry.insert("num".into(), Value::from(offer.num));
        }
        entry.insert(
            "apply_date".into(),
            Value::String(self.clock.format_date(offer.apply_at)),
        );
        entry.insert(
            "start_time".into(),
            Value::String(self.clock.format(offer.start_at)),
        );
        entry.insert("end_time".into(), Value::String(self.clock.format(end_at)));
        Value::Object(entry)
    }

    fn tiered_rates(&self, params: &Params) -> Outcome {
        let only = self.optional_sku(params)?;
        let reversed = self.has(Fault::TiersUnordered);
        let entries = self
            .offer_skus(only)
            .into_iter()
            .filter_map(|sku| {
                let mut tiers = self.catalog.tiers(&sku)?;
                if reversed {
                    tiers.reverse();
                }
                let tiers: Vec<Value> = tiers
                    .into_iter()
                    .map(|(min_num, rate)| json!({"min_num": min_num, "rate": money(rate)}))
                    .collect();
                Some(json!({"sku": sku.code, "tiers": tiers}))
            })
            .collect();
        Ok(Value::Array(entries).into())
    }

    // ---- 2.22, 2.23 feeds ----

    /// The optional start_time / end_time window of the feeds.
    fn window(&self, params: &Params) -> Result<(Instant, Instant), String> {
        let bound = |field: &str, default: Instant| match params.text(field) {
            None => Ok(default),
            Some(text) => self
                .clock
                .parse(&text)
                .ok_or_else(|| format!("时间格式错误 {field} must be yyyy-MM-dd HH:mm:ss: {text}")),
        };
        Ok((
            bound("start_time", Instant::MIN)?,
            bound("end_time", Instant::MAX)?,
        ))
    }

    fn new_skus(&self, params: &Params) -> Outcome {
        let (from, to) = self.window(params)?;
        let entries = self
            .catalog
            .new_feed()
            .into_iter()
            .filter(|(_, at)| (from..=to).contains(at))
            .map(|(index, at)| {
                json!({
                    "sku": self.catalog.code(index),
                    "catalog_id": POOLS[(index % POOLS.len() as u64) as usize].id,
                    "time": self.clock.format(at),
                })
            })
            .collect();
        Ok(Value::Array(entries).into())
    }

    fn changed_skus(&self, params: &Params) -> Outcome {
        if self.has(Fault::ChangedSkusFails) {
            return Err("服务暂不可用 the changed-SKU feed is unavailable".to_string());
        }
        let (from, to) = self.window(params)?;
        let entries = self
            .catalog
            .changed_feed()
            .into_iter()
            .filter(|(_, _, at)| (from..=to).contains(at))
            .map(|(index, change, at)| {
                json!({"sku": self.catalog.code(index), "change_type": change, "time": self.clock.format(at)})
            })
            .collect();
        Ok(Value::Array(entries).into())
    }
}

/// A SKU code written as a JSON string straight from its number, without an allocation.
struct SkuCode(u64);

impl Serialize for SkuCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

/// One entry of the stocks answer (2.11).
#[derive(Serialize)]
struct StockEntry<'a> {
    sku: SkuCode,
    area_id: &'a str,
    num: u64,
    desc: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OfferKind {
    GroupBuy,
    Special,
}
