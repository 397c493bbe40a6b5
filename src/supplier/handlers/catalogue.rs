//! The catalogue (2.3 – 2.11) and its feeds (2.22, 2.23).

use std::collections::HashSet;

use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{App, Outcome, Reply, lock, money};
use crate::supplier::areas;
use crate::supplier::catalog::{POOLS, Sku};
use crate::supplier::clock::Instant;
use crate::supplier::faults::Fault;
use crate::supplier::params::Params;
use crate::supplier::rng::MixState;

impl App {
    // ---- catalogue: 2.3 – 2.9 ----

    pub(super) fn pools(&self) -> Reply {
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

    pub(super) fn skus(&self, params: &Params) -> Outcome {
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

    pub(super) fn image_url(&self, code: &str, number: u64) -> String {
        format!("{}/images/{code}/{number}.png", self.base_url)
    }

    pub(super) fn detail(&self, params: &Params) -> Outcome {
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
    pub(super) fn batch_indices(
        &self,
        params: &Params,
        batch_param: &str,
    ) -> Result<Vec<u64>, String> {
        let text = params.required(batch_param)?;
        self.sku_list(&text)?
            .ok_or_else(|| params.missing(batch_param))
    }

    /// The SKUs of a comma-separated list: distinct, in the order given, all known, at most
    /// batch_max; None when it names none.
    pub(super) fn sku_list(&self, text: &str) -> Result<Option<Vec<u64>>, String> {
        let mut seen: HashSet<&str, MixState> =
            HashSet::with_capacity_and_hasher(32, MixState::default());
        let codes: Vec<&str> = text
            .split(',')
            .map(str::trim)
            .filter(|code| !code.is_empty() && seen.insert(*code))
            .collect();
        if codes.is_empty() {
            return Ok(None);
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
        Ok(Some(indices.into_iter().flatten().collect()))
    }

    /// The SKUs of a batch parameter, derived in full.
    pub(super) fn batch(&self, params: &Params, batch_param: &str) -> Result<Vec<Sku>, String> {
        Ok(self
            .batch_indices(params, batch_param)?
            .into_iter()
            .map(|index| self.catalog.sku(index))
            .collect())
    }

    /// Batch answers under a drop-one fault leave out the last SKU asked.
    pub(super) fn batch_answer(&self, mut entries: Vec<Value>, drop_fault: Fault) -> Outcome {
        if self.has(drop_fault) {
            entries.pop();
        }
        Ok(Value::Array(entries).into())
    }

    pub(super) fn shelf_states(&self, params: &Params, batch_param: &str) -> Outcome {
        let entries = self
            .batch(params, batch_param)?
            .into_iter()
            .map(|sku| json!({"sku": sku.code, "state": u8::from(sku.on_shelf)}))
            .collect();
        self.batch_answer(entries, Fault::ShelfDropsSku)
    }

    pub(super) fn images(&self, params: &Params, batch_param: &str) -> Outcome {
        let entries = self
            .batch(params, batch_param)?
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

    pub(super) fn ratings(&self, params: &Params, batch_param: &str) -> Outcome {
        let entries = self
            .batch(params, batch_param)?
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
    pub(super) fn answered_price(&self, sku: &Sku) -> Decimal {
        if self.has(Fault::PriceAboveMarket) && self.catalog.is_fault_target(sku.index) {
            return sku.market_price + Decimal::new(500, 2);
        }
        sku.price
    }

    /// The market price as answered: a third decimal under three-decimal-prices (raised by
    /// 0.001, so it stays above the agreement price and orders are unaffected).
    pub(super) fn answered_market_price(&self, sku: &Sku) -> Decimal {
        if self.has(Fault::ThreeDecimalPrices) {
            return sku.market_price + Decimal::new(1, 3);
        }
        sku.market_price
    }

    pub(super) fn prices(&self, params: &Params, batch_param: &str) -> Outcome {
        let entries = self
            .batch(params, batch_param)?
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

    /// `{name: id}` in table order, ids in the supplier's scheme.
    pub(super) fn area_map(&self, entries: &[(&str, &'static str)]) -> Value {
        Value::Object(
            entries
                .iter()
                .map(|(name, code)| {
                    let id = self.area_ids.public(code).into_owned();
                    (name.to_string(), Value::String(id))
                })
                .collect::<Map<String, Value>>(),
        )
    }

    pub(super) fn provinces(&self) -> Reply {
        self.area_map(areas::PROVINCES).into()
    }

    pub(super) fn cities(&self, params: &Params) -> Outcome {
        let id = params.required("id")?;
        match self.area_ids.code(&id).and_then(areas::cities) {
            Some(cities) => Ok(self.area_map(&cities).into()),
            None => Err(format!("地区不存在 unknown province id: {id}")),
        }
    }

    pub(super) fn counties(&self, params: &Params) -> Outcome {
        let id = params.required("id")?;
        let code = self.area_ids.code(&id);
        let Some(mut counties) = code.and_then(areas::counties) else {
            return Err(format!("地区不存在 unknown city id: {id}"));
        };
        if self.has(Fault::NoCounties) {
            return Ok(json!({}).into());
        }
        if code == Some(areas::TIANJIN_CITY) {
            if self.has(Fault::TianjinDistrictMissing) {
                counties.retain(|(name, _)| *name != "蓟州区");
            }
            if self.has(Fault::DuplicateCountyNames) {
                // A JSON object cannot hold one key twice in serde_json: write the text.
                let text = self.area_map(&counties).to_string();
                let body = text.strip_suffix('}').unwrap_or(&text);
                let stray = self.area_ids.stray_county();
                return Ok(Reply::Raw(
                    format!("{body},\"和平区\":\"{stray}\"}}").into_bytes(),
                ));
            }
        }
        Ok(self.area_map(&counties).into())
    }

    // ---- 2.11 stock ----

    /// The `area_id` of a request as given, and the area code it names.
    pub(super) fn known_area(&self, params: &Params) -> Result<(String, &'static str), String> {
        let area = params.required("area_id")?;
        match self.area_ids.code(&area) {
            Some(code) => Ok((area, code)),
            None => Err(format!("地区不存在 unknown area_id: {area}")),
        }
    }

    pub(super) fn stocks(&self, params: &Params, batch_param: &str) -> Outcome {
        let mut skus = self.batch_indices(params, batch_param)?;
        let (area, code) = self.known_area(params)?;
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
                .map(|&index| book.available(&self.catalog, index, code))
                .collect()
        };
        let mut entries: Vec<StockEntry<'_>> = skus
            .iter()
            .zip(nums)
            .map(|(&index, num)| StockEntry {
                sku: SkuCode(self.catalog.code_number(index)),
                area_id: &area,
                num,
                desc: if num > 0 || self.has(Fault::StockDescContradicts) {
                    "有货"
                } else {
                    "无货"
                },
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

    // ---- 2.22, 2.23 feeds ----

    /// The optional start_time / end_time window of the feeds.
    pub(super) fn window(&self, params: &Params) -> Result<(Instant, Instant), String> {
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

    pub(super) fn new_skus(&self, params: &Params) -> Outcome {
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

    pub(super) fn changed_skus(&self, params: &Params) -> Outcome {
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
