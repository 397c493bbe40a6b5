//! Facts learned from successful answers during a run (which SKUs are pooled, their prices,
//! shelf states, stock, ...), for the checks that cross interfaces and for choosing what to order.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde_json::{Map, Value};

use crate::checks::decimal_of;

#[derive(Debug, Default, Clone)]
pub struct Knowledge {
    /// Pools whose SKU list was read, and the SKUs found in them.
    pub pools_listed: BTreeSet<String>,
    pub pooled_skus: BTreeSet<String>,
    /// SKU → (agreement price, market price).
    pub prices: BTreeMap<String, (Decimal, Decimal)>,
    /// SKU → shelf state (1 on, 0 off).
    pub shelf: BTreeMap<String, i64>,
    /// SKUs whose detail answered with success.
    pub detail_answered: BTreeSet<String>,
    /// SKU → whether its detail answered and passed every check.
    pub detail_ok: BTreeMap<String, bool>,
    /// SKU → number of images answered.
    pub images: BTreeMap<String, usize>,
    /// SKU → stock in the area asked for last.
    pub stock: BTreeMap<String, i64>,
    /// SKUs of the new-SKU feed.
    pub new_skus: BTreeSet<String>,
}

fn items(result: &Value) -> impl Iterator<Item = &Map<String, Value>> {
    result
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
}

fn sku_of(item: &Map<String, Value>) -> Option<String> {
    match item.get("sku")? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Knowledge {
    /// Learns from one successful answer. `clean` says whether every check on it passed.
    pub fn learn(
        &mut self,
        interface: &str,
        params: &Map<String, Value>,
        result: &Value,
        clean: bool,
    ) {
        match interface {
            "skus" => {
                if let Some(pool) = params.get("catalog_id").and_then(Value::as_str) {
                    self.pools_listed.insert(pool.to_string());
                }
                for sku in result.as_array().into_iter().flatten() {
                    if let Some(s) = sku.as_str() {
                        self.pooled_skus.insert(s.to_string());
                    }
                }
            }
            "prices" => {
                for item in items(result) {
                    let (Some(sku), Some(price), Some(market)) = (
                        sku_of(item),
                        item.get("price").and_then(decimal_of),
                        item.get("market_price").and_then(decimal_of),
                    ) else {
                        continue;
                    };
                    self.prices.insert(sku, (price, market));
                }
            }
            "shelf_states" => {
                for item in items(result) {
                    if let (Some(sku), Some(state)) =
                        (sku_of(item), item.get("state").and_then(Value::as_i64))
                    {
                        self.shelf.insert(sku, state);
                    }
                }
            }
            "images" => {
                for item in items(result) {
                    if let Some(sku) = sku_of(item) {
                        let count = item
                            .get("images")
                            .and_then(Value::as_array)
                            .map_or(0, Vec::len);
                        self.images.insert(sku, count);
                    }
                }
            }
            "stocks" => {
                for item in items(result) {
                    if let (Some(sku), Some(num)) =
                        (sku_of(item), item.get("num").and_then(Value::as_i64))
                    {
                        self.stock.insert(sku, num);
                    }
                }
            }
            "detail" => {
                if let Some(sku) = params.get("sku").and_then(Value::as_str) {
                    self.detail_answered.insert(sku.to_string());
                    self.detail_ok.insert(sku.to_string(), clean);
                }
            }
            "new_skus" => {
                for item in items(result) {
                    if let Some(sku) = sku_of(item) {
                        self.new_skus.insert(sku);
                    }
                }
            }
            _ => {}
        }
    }

    /// A failed detail call still tells something: the SKU has no usable detail.
    pub fn learn_failure(&mut self, interface: &str, params: &Map<String, Value>) {
        if interface == "detail"
            && let Some(sku) = params.get("sku").and_then(Value::as_str)
        {
            self.detail_ok.insert(sku.to_string(), false);
        }
    }
}
