//! The optional product extensions (2.17, 2.19, 2.20): accessories, warranty, accessory links,
//! group buys, specials, tiered rates.

use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use super::{App, Outcome, SKU_FIELD, money};
use crate::supplier::catalog::{OFFER_SKUS, Offer, Sku};
use crate::supplier::faults::Fault;
use crate::supplier::params::Params;

impl App {
    // ---- 2.17, 2.19, 2.20: accessories, warranty, promotions ----

    pub(super) fn accessories(&self, params: &Params, batch_param: &str) -> Outcome {
        let bad_kind = self.has(Fault::AccessoryBadKind);
        let entries = self
            .batch(params, batch_param)?
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

    pub(super) fn warranty(&self, params: &Params, batch_param: &str) -> Outcome {
        let skus = self.batch(params, batch_param)?;
        self.known_area(params)?;
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

    /// The optional SKU filter of 2.20: one SKU or a comma-separated list; None when absent or
    /// empty, meaning all.
    pub(super) fn optional_skus(&self, params: &Params) -> Result<Option<Vec<Sku>>, String> {
        let Some(text) = params.text(SKU_FIELD) else {
            return Ok(None);
        };
        Ok(self
            .sku_list(&text)?
            .map(|indices| indices.into_iter().map(|i| self.catalog.sku(i)).collect()))
    }

    /// The SKUs an answer of 2.20 covers: those asked, or all the offers.
    pub(super) fn offer_skus(&self, only: Option<Vec<Sku>>) -> Vec<Sku> {
        match only {
            Some(skus) => skus,
            None => (0..OFFER_SKUS.min(self.catalog.sku_count()))
                .map(|index| self.catalog.sku(index))
                .collect(),
        }
    }

    pub(super) fn accessory_links(&self, params: &Params) -> Outcome {
        let only = self.optional_skus(params)?;
        if only.is_none() && self.has(Fault::LinksEmptySkuRefused) {
            return Err(params.missing(SKU_FIELD));
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

    pub(super) fn offers(&self, params: &Params, kind: OfferKind) -> Outcome {
        let only = self.optional_skus(params)?;
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

    pub(super) fn offer_json(&self, sku: &Sku, offer: Offer, kind: OfferKind) -> Value {
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

    pub(super) fn tiered_rates(&self, params: &Params) -> Outcome {
        let only = self.optional_skus(params)?;
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OfferKind {
    GroupBuy,
    Special,
}
