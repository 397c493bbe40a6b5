//! Checks across interfaces, over what the run learned (the [`Knowledge`]): every pooled SKU has
//! data (X-SKU-HAS-DATA), on-shelf SKUs are sellable (X-ONSHELF-SELLABLE), new SKUs are pooled
//! (X-NEW-IN-POOL), each pool lists its own SKUs (SKU-LIST), and the feeds had something to judge
//! (NEW-SKUS, CHANGED-SKUS).

use rust_decimal::Decimal;

use super::{CheckRun, Finding, Findings, Knowledge, ids};

const HAS_DATA_REQ: &str = "X-SKU-HAS-DATA";
const SELLABLE_REQ: &str = "X-ONSHELF-SELLABLE";
const NEW_IN_POOL_REQ: &str = "X-NEW-IN-POOL";
const SKU_LIST_REQ: &str = "SKU-LIST";
const NEW_SKUS_REQ: &str = "NEW-SKUS";
const CHANGED_SKUS_REQ: &str = "CHANGED-SKUS";

const NOTHING: &str = "没有可判断的数据 / nothing to judge";

/// X-SKU-HAS-DATA for one pooled SKU: what the run learned has its detail, price, shelf state
/// and images; a finding naming what is missing otherwise. `run` calls it on its sample and
/// `sweep` on every SKU.
pub fn sku_has_data(k: &Knowledge, sku: &str) -> Option<Finding> {
    let mut missing = Vec::new();
    if !k.detail_answered.contains(sku) {
        missing.push(("详情", "detail"));
    }
    if !k.prices.contains_key(sku) {
        missing.push(("价格", "price"));
    }
    if !k.shelf.contains_key(sku) {
        missing.push(("上下架", "shelf state"));
    }
    if k.images.get(sku).copied().unwrap_or(0) == 0 {
        missing.push(("图片", "images"));
    }
    (!missing.is_empty()).then(|| {
        Finding::new(ids::SKU_HAS_DATA, HAS_DATA_REQ, {
            let zh: Vec<&str> = missing.iter().map(|m| m.0).collect();
            let en: Vec<&str> = missing.iter().map(|m| m.1).collect();
            format!(
                "商品池中的 SKU {sku} 缺少数据：{} / pooled SKU {sku} lacks: {}",
                zh.join("、"),
                en.join(", ")
            )
        })
    })
}

/// X-ONSHELF-SELLABLE for one SKU: `None` when it is not on shelf or is sellable (a complete
/// detail and a valid price pair).
pub fn onshelf_sellable(k: &Knowledge, sku: &str) -> Option<Finding> {
    if !k.on_shelf(sku) {
        return None;
    }
    let detail_complete = k.detail_ok.get(sku) == Some(&true);
    let price_ok = k
        .prices
        .get(sku)
        .is_some_and(|(p, m)| *p > Decimal::ZERO && p <= m);
    (!detail_complete || !price_ok).then(|| {
        let mut zh = Vec::new();
        let mut en = Vec::new();
        if !detail_complete {
            zh.push("详情不完整或被拒");
            en.push("detail incomplete or refused");
        }
        if !price_ok {
            zh.push("没有有效的协议价与市场价");
            en.push("no valid price pair");
        }
        Finding::new(
            ids::ONSHELF_SELLABLE,
            SELLABLE_REQ,
            format!(
                "上架商品 {sku} 不可售：{} / on-shelf SKU {sku} is not sellable: {}",
                zh.join("，"),
                en.join("; ")
            ),
        )
    })
}

/// X-SKU-HAS-DATA and, for an on-shelf SKU, X-ONSHELF-SELLABLE on one SKU whose answers were
/// all read, as check runs (the sweep, SKU by SKU; [`catalogue_consistency`] over a sample).
pub fn sku_consistency(k: &Knowledge, sku: &str) -> Vec<CheckRun> {
    let mut runs = vec![CheckRun::new(
        ids::SKU_HAS_DATA,
        &[HAS_DATA_REQ],
        sku_has_data(k, sku).into_iter().collect::<Vec<_>>(),
    )];
    if k.on_shelf(sku) {
        runs.push(CheckRun::new(
            ids::ONSHELF_SELLABLE,
            &[SELLABLE_REQ],
            onshelf_sellable(k, sku).into_iter().collect::<Vec<_>>(),
        ));
    }
    runs
}

/// What [`sku_consistency`] would judge, not judged: an answer of the SKU was not read.
pub fn sku_consistency_not_judged(reason: &str) -> Vec<CheckRun> {
    vec![
        CheckRun::not_judged(ids::SKU_HAS_DATA, &[HAS_DATA_REQ], reason),
        CheckRun::not_judged(ids::ONSHELF_SELLABLE, &[SELLABLE_REQ], reason),
    ]
}

/// The consistency checks over the SKUs the catalogue scenario sampled and the pools it listed.
pub fn catalogue_consistency(k: &Knowledge, sampled: &[&str], pools: &[&str]) -> Vec<CheckRun> {
    let sampled: Vec<&str> = sampled
        .iter()
        .copied()
        .filter(|s| k.pooled_skus.contains_key(s))
        .collect();
    let mut runs = Vec::new();
    let mut has_data = Vec::new();
    let mut sellable = Vec::new();
    for sku in &sampled {
        has_data.extend(sku_has_data(k, sku));
        sellable.extend(onshelf_sellable(k, sku));
    }
    runs.push(if sampled.is_empty() {
        CheckRun::not_judged(ids::SKU_HAS_DATA, &[HAS_DATA_REQ], NOTHING)
    } else {
        CheckRun::new(ids::SKU_HAS_DATA, &[HAS_DATA_REQ], has_data)
    });
    // With no on-shelf SKU in the sample (or a profile without the on-shelf code) there is
    // nothing the sellability rule could hold for: not judged, never a vacuous pass.
    runs.push(if sampled.iter().any(|s| k.on_shelf(s)) {
        CheckRun::new(ids::ONSHELF_SELLABLE, &[SELLABLE_REQ], sellable)
    } else {
        CheckRun::not_judged(
            ids::ONSHELF_SELLABLE,
            &[SELLABLE_REQ],
            "样本中没有上架商品 / no on-shelf SKU among the sampled ones",
        )
    });

    let all_listed = !pools.is_empty() && pools.iter().all(|p| k.pools_listed.contains_key(*p));
    // A feed of a million new SKUs in no pool gives a count beyond the first findings.
    let mut new_in_pool = Findings::default();
    let mut own_pool = Findings::default();
    let mut same_lists = None;
    if all_listed {
        for sku in k.new_skus.keys().filter(|s| !k.pooled_skus.contains_key(s)) {
            new_in_pool.push(Finding::new(
                ids::NEW_IN_POOL,
                NEW_IN_POOL_REQ,
                format!("新增 SKU {sku} 不在任何商品池中 / new SKU {sku} is in no pool of 2.4"),
            ));
        }
        for (sku, pool) in &k.new_skus {
            if let Some(listed_in) = k.pooled_skus.get(sku)
                && !pool.is_empty()
                && pool != listed_in
                && k.pools_listed
                    .get(pool)
                    .is_some_and(|(count, _, _)| *count > 0)
            {
                own_pool.push(Finding::new(
                    ids::POOL_MEMBERSHIP,
                    SKU_LIST_REQ,
                    format!("新增 SKU {sku} 的品目池 {pool} 未列出它（列在 {listed_in}） / new SKU {sku} belongs to pool {pool} by the feed, but that pool does not list it (pool {listed_in} does)"),
                ));
            }
        }
        let shapes: Vec<_> = k
            .pools_listed
            .values()
            .filter(|(count, _, _)| *count > 0)
            .collect();
        if shapes.len() >= 2 && shapes.windows(2).all(|w| w[0] == w[1]) {
            same_lists = Some(Finding::new(
                ids::POOL_MEMBERSHIP,
                SKU_LIST_REQ,
                format!(
                    "{} 个品目池返回同样的 SKU 列表 / all {} pools answer the same SKU list: the pool id is ignored",
                    shapes.len(),
                    shapes.len()
                ),
            ));
        }
    }
    own_pool.extend(same_lists);
    runs.push(if !all_listed || k.new_skus.is_empty() {
        CheckRun::not_judged(ids::NEW_IN_POOL, &[NEW_IN_POOL_REQ], NOTHING)
    } else {
        CheckRun::new(ids::NEW_IN_POOL, &[NEW_IN_POOL_REQ], new_in_pool)
    });
    runs.push(if all_listed {
        CheckRun::new(ids::POOL_MEMBERSHIP, &[SKU_LIST_REQ], own_pool)
    } else {
        CheckRun::not_judged(ids::POOL_MEMBERSHIP, &[SKU_LIST_REQ], NOTHING)
    });
    // An empty feed may be honest (nothing new), but then it proves nothing.
    if k.new_skus.is_empty() {
        runs.push(CheckRun::not_judged(
            ids::FEED_NOT_EMPTY,
            &[NEW_SKUS_REQ],
            "新增商品接口返回空列表 / the new-SKU feed is empty",
        ));
    }
    if k.changed_skus == 0 {
        runs.push(CheckRun::not_judged(
            ids::FEED_NOT_EMPTY,
            &[CHANGED_SKUS_REQ],
            "修改商品接口返回空列表 / the changed-SKU feed is empty",
        ));
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, json};

    fn knowledge(shelf_state: i64) -> Knowledge {
        let mut k = Knowledge::new(Some(json!(1)));
        let mut params = Map::new();
        params.insert("catalog_id".into(), json!("A0101"));
        k.learn("skus", &params, &json!(["1"]), true);
        k.learn(
            "shelf_states",
            &Map::new(),
            &json!([{"sku": "1", "state": shelf_state}]),
            true,
        );
        k
    }

    fn sellable(k: &Knowledge) -> CheckRun {
        catalogue_consistency(k, &["1"], &["A0101"])
            .into_iter()
            .find(|r| r.check == ids::ONSHELF_SELLABLE)
            .expect("the sellability run")
    }

    #[test]
    fn an_on_shelf_sku_without_detail_or_price_is_not_sellable() {
        let run = sellable(&knowledge(1));
        assert_eq!(run.findings.len(), 1, "{run:?}");
        assert!(run.unjudged.is_empty());
    }

    #[test]
    fn no_on_shelf_sku_in_the_sample_is_not_judged_never_passed() {
        let run = sellable(&knowledge(0));
        assert!(run.findings.is_empty());
        assert_eq!(run.unjudged.len(), 1, "{run:?}");
    }
}
