//! Facts learned from successful answers during a run (which SKUs are pooled, their prices,
//! shelf states, stock, ...), for the checks that cross interfaces and for choosing what to order.
//! Answers are read in logical field names; state codes come from the profile's `[codes]`.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde_json::{Map, Value};

use super::decimal_of;

#[derive(Debug, Default, Clone)]
pub struct Knowledge {
    /// The profile's code of an on-shelf state (`[codes] shelf_state.on`).
    shelf_on: Option<Value>,
    /// Pools whose SKU list was read: pool → (count, first SKU, last SKU), to see pools that
    /// all answer the same list.
    pub pools_listed: BTreeMap<String, (usize, Option<String>, Option<String>)>,
    /// SKU → the pool that listed it (the first one, if several did).
    pub pooled_skus: PooledSkus,
    /// SKU → (agreement price, market price).
    pub prices: BTreeMap<String, (Decimal, Decimal)>,
    /// SKU → whether its shelf state says on shelf.
    pub shelf: BTreeMap<String, bool>,
    /// SKUs whose detail answered with success.
    pub detail_answered: BTreeSet<String>,
    /// SKU → whether its detail answered and passed every check.
    pub detail_ok: BTreeMap<String, bool>,
    /// SKU → number of images answered.
    pub images: BTreeMap<String, usize>,
    /// SKU → stock in the area asked for last.
    pub stock: BTreeMap<String, i64>,
    /// SKUs of the new-SKU feed → the pool (`catalog_id`) the feed puts them in.
    pub new_skus: BTreeMap<String, String>,
    /// How many entries the changed-SKU feed answered.
    pub changed_skus: usize,
    /// The supplier's own area ids, by Chinese name: provinces, then the cities of a province
    /// id (in the supplier's order), then the counties of a city id.
    pub provinces: BTreeMap<String, String>,
    pub cities: BTreeMap<String, Vec<(String, String)>>,
    pub counties: BTreeMap<String, BTreeMap<String, String>>,
    /// Interface → why its first refusal said it refused (its `desc`): named when what a later
    /// scenario needs never came.
    pub refusals: BTreeMap<String, String>,
}

impl Knowledge {
    /// A pool's SKU list read compactly ([`super::SkuCodes`]): learnt as [`Knowledge::learn`]
    /// learns the same list as values.
    pub fn learn_pool_codes(&mut self, params: &Map<String, Value>, codes: &super::SkuCodes) {
        let last = codes.len().checked_sub(1);
        self.note_pool(
            params,
            codes.len(),
            (
                codes.text(0).map(str::to_string),
                last.and_then(|i| codes.text(i)).map(str::to_string),
            ),
            codes.texts(),
        );
    }

    /// The pool of `params` has `len` SKUs, these at its ends, and these codes.
    fn note_pool<'a>(
        &mut self,
        params: &Map<String, Value>,
        len: usize,
        (first, last): (Option<String>, Option<String>),
        codes: impl Iterator<Item = &'a str>,
    ) {
        let Some(pool) = params.get("catalog_id").and_then(Value::as_str) else {
            return;
        };
        self.pools_listed
            .insert(pool.to_string(), (len, first, last));
        self.pooled_skus.add_pool(pool, codes);
    }

    /// Why no SKU can be ordered: the interfaces that refused, else how far the sample got
    /// (priced, on shelf, with stock), so that a blocked order scenario names what blocked it.
    pub fn why_nothing_to_order(&self, min_stock: i64) -> String {
        let refused: Vec<String> = ["prices", "shelf_states", "stocks", "detail"]
            .iter()
            .filter_map(|i| {
                self.refusals
                    .get(*i)
                    .map(|desc| format!("{i} refused: {desc}"))
            })
            .collect();
        if !refused.is_empty() {
            return refused.join("; ");
        }
        let priced = self.prices.len();
        let on_shelf = self.prices.keys().filter(|s| self.on_shelf(s)).count();
        let stocked = self
            .prices
            .keys()
            .filter(|s| self.on_shelf(s) && self.stock.get(*s).is_some_and(|n| *n >= min_stock))
            .count();
        format!(
            "{priced} SKUs priced, {on_shelf} of them on shelf, {stocked} of those with stock ≥ {min_stock} (stock answered for {} SKUs)",
            self.stock.len()
        )
    }
}

/// SKU → the first pool that listed it, kept compactly: the codes sorted, end to end in one
/// text, with where each ends and its pool's index beside it: a SKU costs its length plus 8
/// bytes. A catalogue of a million SKUs takes about 17 MB here, not the 120 MB of a map of
/// strings.
#[derive(Debug, Default, Clone)]
pub struct PooledSkus {
    pools: Vec<String>,
    /// The codes, sorted, without repeats, end to end.
    text: String,
    /// `ends[i]`: where code `i` ends in `text`.
    ends: Vec<u32>,
    /// `pool_of[i]`: the index in `pools` of the pool that listed code `i` first.
    pool_of: Vec<u32>,
}

/// Item `i` of texts kept end to end in `text`, item `i` ending at `ends[i]` (SKU codes held
/// compactly: one allocation, 4 bytes of offset each).
pub(crate) fn span_of<'a>(text: &'a str, ends: &[u32], i: usize) -> &'a str {
    let start = match i.checked_sub(1) {
        Some(before) => ends.get(before).copied().unwrap_or(0),
        None => 0,
    };
    let end = ends.get(i).copied().unwrap_or(start);
    text.get(start as usize..end as usize).unwrap_or_default()
}

impl PooledSkus {
    fn code(&self, i: usize) -> &str {
        span_of(&self.text, &self.ends, i)
    }

    fn find(&self, sku: &str) -> Option<usize> {
        let (mut low, mut high) = (0, self.ends.len());
        while low < high {
            let middle = low + (high - low) / 2;
            match self.code(middle).cmp(sku) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => return Some(middle),
            }
        }
        None
    }

    /// Adds the SKUs a pool listed; a SKU listed before keeps its first pool.
    pub fn add_pool<'a>(&mut self, pool: &str, skus: impl Iterator<Item = &'a str>) {
        let index = match self.pools.iter().position(|p| p == pool) {
            Some(index) => index,
            None => {
                self.pools.push(pool.to_string());
                self.pools.len() - 1
            }
        };
        let index = u32::try_from(index).unwrap_or(u32::MAX);
        let mut listed: Vec<&str> = skus.collect();
        listed.sort_unstable();
        listed.dedup();
        // Merge two sorted lists: linear, and earlier pools win on a SKU listed twice.
        let mut merged = PooledSkus {
            pools: Vec::new(),
            text: String::with_capacity(
                self.text.len() + listed.iter().map(|s| s.len()).sum::<usize>(),
            ),
            ends: Vec::with_capacity(self.ends.len() + listed.len()),
            pool_of: Vec::with_capacity(self.ends.len() + listed.len()),
        };
        let mut push = |code: &str, pool: u32| {
            merged.text.push_str(code);
            merged
                .ends
                .push(u32::try_from(merged.text.len()).unwrap_or(u32::MAX));
            merged.pool_of.push(pool);
        };
        let (mut old, mut new) = (0, 0);
        while old < self.ends.len() || new < listed.len() {
            let order = match (old < self.ends.len(), listed.get(new)) {
                (true, Some(next)) => self.code(old).cmp(next),
                (true, None) => std::cmp::Ordering::Less,
                (false, _) => std::cmp::Ordering::Greater,
            };
            if order == std::cmp::Ordering::Greater {
                push(listed[new], index);
                new += 1;
            } else {
                if order == std::cmp::Ordering::Equal {
                    new += 1;
                }
                push(self.code(old), self.pool_of[old]);
                old += 1;
            }
        }
        self.text = merged.text;
        self.ends = merged.ends;
        self.pool_of = merged.pool_of;
    }

    /// The pool that listed `sku` first.
    pub fn get(&self, sku: &str) -> Option<&str> {
        let pool = *self.pool_of.get(self.find(sku)?)?;
        self.pools
            .get(usize::try_from(pool).ok()?)
            .map(String::as_str)
    }

    pub fn contains_key(&self, sku: &str) -> bool {
        self.find(sku).is_some()
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Every SKU with the pool that listed it first, in sorted order of the codes.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        (0..self.len()).map(|i| {
            let pool = self
                .pool_of
                .get(i)
                .and_then(|p| self.pools.get(*p as usize))
                .map_or("", String::as_str);
            (self.code(i), pool)
        })
    }

    /// At most `n` SKUs for which `wanted` holds, in a fixed (sorted) order.
    pub fn take(&self, n: usize, mut wanted: impl FnMut(&str) -> bool) -> Vec<String> {
        (0..self.len())
            .map(|i| self.code(i))
            .filter(|sku| wanted(sku))
            .take(n)
            .map(str::to_string)
            .collect()
    }
}

/// The area ids a test order is delivered to and stock is asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestArea {
    pub province: Option<String>,
    pub city: Option<String>,
    pub county: Option<String>,
}

/// The members of an area answer (`{"和平区": "120101"}`), ids as text, in the supplier's order.
fn area_members(result: &Value) -> Vec<(String, String)> {
    result
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(name, id)| {
            let id = match id {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return None,
            };
            Some((name.clone(), id))
        })
        .collect()
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
    /// Empty knowledge that reads shelf states with the profile's on-shelf code.
    pub fn new(shelf_on: Option<Value>) -> Knowledge {
        Knowledge {
            shelf_on,
            ..Knowledge::default()
        }
    }

    /// Whether the SKU is known to be on shelf.
    pub fn on_shelf(&self, sku: &str) -> bool {
        self.shelf.get(sku) == Some(&true)
    }

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
                let list = result.as_array().map(Vec::as_slice).unwrap_or_default();
                let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
                self.note_pool(
                    params,
                    list.len(),
                    (text(list.first()), text(list.last())),
                    list.iter().filter_map(Value::as_str),
                );
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
                    if let (Some(sku), Some(state)) = (sku_of(item), item.get("state")) {
                        let on = self
                            .shelf_on
                            .as_ref()
                            .is_some_and(|code| super::expect::same(state, code));
                        self.shelf.insert(sku, on);
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
                        let pool = item
                            .get("catalog_id")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        self.new_skus.insert(sku, pool.to_string());
                    }
                }
            }
            "changed_skus" => self.changed_skus += result.as_array().map_or(0, Vec::len),
            "provinces" => self.provinces.extend(area_members(result)),
            "cities" | "counties" => {
                let Some(parent) = params.get("id").map(super::walk::text) else {
                    return;
                };
                let members = area_members(result);
                if interface == "cities" {
                    self.cities.insert(parent, members);
                } else {
                    self.counties.insert(parent, members.into_iter().collect());
                }
            }
            _ => {}
        }
    }

    /// The test area by name, as the supplier numbers it: the province whose name starts with
    /// `province_name` (天津 matches 天津 and 天津市), its first city, and that city's county
    /// named `county_name`. `None` where the area interfaces did not tell.
    pub fn test_area(&self, province_name: &str, county_name: &str) -> TestArea {
        let province = self
            .provinces
            .iter()
            .find(|(name, _)| name.starts_with(province_name))
            .map(|(_, id)| id.clone());
        let city = province
            .as_ref()
            .and_then(|p| self.cities.get(p))
            .and_then(|cities| cities.first())
            .map(|(_, id)| id.clone());
        let county = city
            .as_ref()
            .and_then(|c| self.counties.get(c))
            .and_then(|counties| counties.get(county_name))
            .cloned();
        TestArea {
            province,
            city,
            county,
        }
    }

    /// What an answer judged by [`super::judge_exchange`] (or read compactly) tells: its result
    /// when it succeeded, its `desc` when it did not. `run` and `sweep` learn through this.
    pub fn learn_judged(
        &mut self,
        interface: &str,
        params: &Map<String, Value>,
        judged: &super::Judged,
    ) {
        if !judged.succeeded() {
            // Read in place: knowledge keeps its first characters, and a desc may be megabytes.
            let other;
            let desc = match judged.answer.as_ref().and_then(|a| a.desc()) {
                Some(text) => text,
                None => {
                    other = judged
                        .value()
                        .and_then(|a| a.get("desc"))
                        .map(|d| d.as_str().map_or_else(|| d.to_string(), str::to_string))
                        .unwrap_or_else(|| "no readable answer".into());
                    other.as_str()
                }
            };
            self.learn_failure(interface, params, desc);
        } else if let Some(codes) = &judged.sku_codes {
            self.learn_pool_codes(params, codes);
        } else {
            self.learn(interface, params, judged.result(), judged.content_clean());
        }
    }

    /// A failed detail call still tells something: the SKU has no usable detail.
    pub fn learn_failure(&mut self, interface: &str, params: &Map<String, Value>, desc: &str) {
        self.refusals
            .entry(interface.to_string())
            .or_insert_with(|| super::walk::shorten(desc, 120));
        if interface == "detail"
            && let Some(sku) = params.get("sku").and_then(Value::as_str)
        {
            self.detail_ok.insert(sku.to_string(), false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pooled_skus_keep_the_first_pool_and_find_every_code() {
        let mut pooled = PooledSkus::default();
        pooled.add_pool("A", ["30", "10", "007", "x-1", "20"].into_iter());
        pooled.add_pool("B", ["20", "40", "x-1", "x-2", "5"].into_iter());
        assert_eq!(pooled.len(), 8);
        assert_eq!(pooled.get("20"), Some("A"), "the first pool wins");
        assert_eq!(pooled.get("40"), Some("B"));
        assert_eq!(pooled.get("5"), Some("B"));
        assert_eq!(pooled.get("007"), Some("A"));
        assert_eq!(pooled.get("7"), None);
        assert_eq!(pooled.get("x-1"), Some("A"));
        assert_eq!(pooled.get("x-2"), Some("B"));
        assert!(!pooled.contains_key("99"));
        assert_eq!(
            pooled.take(4, |s| s != "10"),
            vec!["007", "20", "30", "40"],
            "in a fixed order, filtered"
        );
    }

    #[test]
    fn nothing_to_order_names_the_refusal_that_caused_it() {
        let mut knowledge = Knowledge::new(Some(json!(1)));
        let asked = json!({"sku": "1", "area_id": "1"});
        let Value::Object(asked) = asked else {
            return;
        };
        assert!(knowledge.why_nothing_to_order(10).contains("0 SKUs priced"));
        knowledge.learn_failure("stocks", &asked, "库存服务维护中 stock service down");
        assert_eq!(
            knowledge.why_nothing_to_order(10),
            "stocks refused: 库存服务维护中 stock service down"
        );
    }
}
