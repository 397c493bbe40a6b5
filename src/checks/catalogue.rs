//! The catalogue answers: batch completeness, detail completeness and identity, pools, SKU
//! lists and areas.

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::{Map, Value};

use super::answer::Answer;
use super::{CheckRun, Finding, Findings, ids, walk};
use crate::profile::Interface;

const BATCH_REQ: &str = "BATCH-COMPLETE";

/// Each SKU asked for answered exactly once, and nothing else. `None` when the batch was not
/// sent as a text or the result is not a list (the schema reports the latter).
pub(crate) fn batch_complete(
    interface: &Interface,
    sent: Option<&Value>,
    result: &Value,
) -> Option<CheckRun> {
    let asked: Vec<&str> = sent?
        .as_str()?
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let items = result.as_array()?;
    let mut requirements: Vec<&str> = interface.batch_requirement.as_deref().into_iter().collect();
    requirements.push(BATCH_REQ);
    let distinct: std::collections::HashSet<&str> = asked.iter().copied().collect();
    // SKU → index of its first answer; then the repeats and the SKUs not asked for.
    let mut answered: HashMap<&str, usize> = HashMap::new();
    // Kept apart (and bounded) so that the missing SKUs come first in the findings.
    let mut extra = Vec::new();
    let mut extra_dropped = 0;
    for (index, item) in items.iter().enumerate() {
        let Some(sku) = item.get("sku").and_then(walk::key_str) else {
            continue;
        };
        let pointer = || format!("/result/{index}/sku");
        let is_extra = answered.contains_key(sku) || !distinct.contains(sku);
        if is_extra && extra.len() >= super::FINDINGS_CAP {
            extra_dropped += 1;
            answered.entry(sku).or_insert(index);
            continue;
        }
        if let Some(first) = answered.get(sku) {
            extra.push(
                Finding::new(
                    ids::BATCH_COMPLETE,
                    BATCH_REQ,
                    format!(
                        "SKU {sku} 被返回多次（第 {first} 项与第 {index} 项） / sku {sku} answered more than once (items {first} and {index})"
                    ),
                )
                .at(pointer())
                .expected("每个 SKU 一次 / each SKU once")
                .actual(sku.to_string()),
            );
            continue;
        }
        if !distinct.contains(sku) {
            extra.push(
                Finding::new(
                    ids::BATCH_COMPLETE,
                    BATCH_REQ,
                    format!("返回了未请求的 SKU {sku} / sku {sku} answered but not asked for"),
                )
                .at(pointer())
                .expected(walk::shorten(&asked.join(","), 200))
                .actual(sku.to_string()),
            );
        }
        answered.insert(sku, index);
    }
    // Missing SKUs first: the findings cap must not hide them behind a flood of extras.
    let mut findings = Findings::default();
    let mut reported = std::collections::HashSet::new();
    let answered_asked = distinct
        .iter()
        .filter(|s| answered.contains_key(**s))
        .count();
    for sku in &asked {
        if answered.contains_key(*sku) || !reported.insert(*sku) {
            continue;
        }
        let message = format!(
            "批量请求中的 SKU {sku} 没有返回 / sku {sku} was asked for in the batch but not answered ({} of {} answered)",
            answered_asked,
            distinct.len()
        );
        for requirement in &requirements {
            findings.push(
                Finding::new(ids::BATCH_COMPLETE, requirement, message.clone())
                    .at("/result")
                    .expected(sku.to_string())
                    .actual(super::MISSING),
            );
        }
    }
    findings.extend(extra);
    findings.add_dropped(ids::BATCH_COMPLETE, BATCH_REQ, extra_dropped);
    Some(CheckRun::new(ids::BATCH_COMPLETE, &requirements, findings))
}

const DETAIL_REQ: &str = "DET-COMPLETE";

/// What a mandatory detail field must be.
#[derive(Clone, Copy)]
enum FieldKind {
    Text,
    Url,
    Flag,
}

const DETAIL_FIELDS: &[(&str, FieldKind)] = &[
    ("sku", FieldKind::Text),
    ("url", FieldKind::Url),
    ("model", FieldKind::Text),
    ("image_path", FieldKind::Url),
    ("brand_name", FieldKind::Text),
    ("name", FieldKind::Text),
    ("unit", FieldKind::Text),
    ("category", FieldKind::Text),
    ("service", FieldKind::Text),
    ("introduction", FieldKind::Text),
    ("param", FieldKind::Text),
    ("is_energy_saving", FieldKind::Flag),
    ("is_environmental", FieldKind::Flag),
    ("is_imported", FieldKind::Flag),
];

/// Every mandatory field present, non-empty and valid: a SKU that fails may not be sold.
pub(crate) fn detail_complete(sent: &Map<String, Value>, result: &Value) -> CheckRun {
    let sku = result
        .get("sku")
        .and_then(walk::key_text)
        .or_else(|| sent.get("sku").and_then(walk::key_text))
        .map(|s| walk::shorten(&s, 40))
        .unwrap_or_else(|| "?".to_string());
    let mut findings = Findings::default();
    let Some(object) = result.as_object() else {
        findings.push(
            Finding::new(
                ids::DETAIL_COMPLETE,
                DETAIL_REQ,
                format!("商品 {sku} 的详情不是对象 / detail of sku {sku} is not an object"),
            )
            .at("/result")
            .actual(walk::text(result)),
        );
        return CheckRun::new(ids::DETAIL_COMPLETE, &[DETAIL_REQ], findings);
    };
    for (field, kind) in DETAIL_FIELDS {
        let problem = match object.get(*field) {
            None | Some(Value::Null) => Some(("缺少必填字段", "mandatory field missing", "")),
            Some(value) => field_problem(value, *kind),
        };
        if let Some((zh, en, expected)) = problem {
            let actual = object
                .get(*field)
                .map(walk::text)
                .unwrap_or_else(|| super::MISSING.to_string());
            let mut finding = Finding::new(
                ids::DETAIL_COMPLETE,
                DETAIL_REQ,
                format!("商品 {sku} {zh} {field} / detail of sku {sku}: {en}: {field}"),
            )
            .at(walk::child("/result", field))
            .actual(actual);
            if !expected.is_empty() {
                finding = finding.expected(expected);
            }
            findings.push(finding);
        }
    }
    CheckRun::new(ids::DETAIL_COMPLETE, &[DETAIL_REQ], findings)
}

/// (Chinese, English, expected) when a present value is not acceptable.
fn field_problem(
    value: &Value,
    kind: FieldKind,
) -> Option<(&'static str, &'static str, &'static str)> {
    match kind {
        FieldKind::Text => match value {
            Value::String(s) if s.trim().is_empty() => Some((
                "必填字段为空",
                "mandatory field is empty",
                "非空文本 / a non-empty text",
            )),
            Value::String(_) | Value::Number(_) => None,
            _ => Some((
                "必填字段不是文本",
                "mandatory field is not a text",
                "非空文本 / a non-empty text",
            )),
        },
        FieldKind::Url => match value.as_str() {
            Some(s) if s.trim().is_empty() => Some((
                "必填字段为空",
                "mandatory field is empty",
                "http(s):// 绝对地址 / an absolute http(s) URL",
            )),
            Some(s) if is_absolute_http_url(s) => None,
            _ => Some((
                "地址不是 http(s) 绝对地址",
                "not an absolute http(s) URL",
                "http(s):// 绝对地址 / an absolute http(s) URL",
            )),
        },
        FieldKind::Flag => {
            let ok = match value {
                Value::Bool(_) => true,
                Value::Number(n) => matches!(n.to_string().as_str(), "0" | "1"),
                Value::String(s) => matches!(s.as_str(), "0" | "1"),
                _ => false,
            };
            (!ok).then_some(("标志不是 0/1", "flag is not 0/1", "0 或 1 / 0 or 1"))
        }
    }
}

/// `http://host…` or `https://host…` (scheme case-insensitive), a host, no whitespace.
pub(crate) fn is_absolute_http_url(url: &str) -> bool {
    let starts = |scheme: &str| {
        url.get(..scheme.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(scheme))
    };
    let rest = if starts("https://") {
        &url[8..]
    } else if starts("http://") {
        &url[7..]
    } else {
        return false;
    };
    // The host runs to the first `/`, `?` or `#` (ASCII: a byte search finds it).
    let host_len = rest
        .bytes()
        .position(|b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    host_len > 0 && !has_whitespace(url)
}

/// `text.chars().any(char::is_whitespace)`, a byte test for ASCII text (the whitespace of
/// ASCII is TAB to CR and the space).
fn has_whitespace(text: &str) -> bool {
    if text.is_ascii() {
        text.bytes().any(|b| matches!(b, b'\t'..=b'\r' | b' '))
    } else {
        text.chars().any(char::is_whitespace)
    }
}

const SAME_SKU_REQ: &str = "DET-SAME-SKU";

/// `None` when no SKU was sent or none answered (detail-complete reports the latter).
pub(crate) fn detail_same_sku(sent: &Map<String, Value>, result: &Value) -> Option<CheckRun> {
    let asked = sent.get("sku").and_then(walk::key_text)?;
    let answered = result.get("sku").and_then(walk::key_text)?;
    let findings = if asked.trim() == answered.trim() {
        Vec::new()
    } else {
        vec![
            Finding::new(
                ids::DETAIL_SAME_SKU,
                SAME_SKU_REQ,
                format!(
                    "请求 SKU {asked} 却返回了 SKU {answered} 的详情 / asked for sku {asked}, answered the detail of sku {answered}"
                ),
            )
            .at("/result/sku")
            .expected(asked)
            .actual(answered),
        ]
    };
    Some(CheckRun::new(
        ids::DETAIL_SAME_SKU,
        &[SAME_SKU_REQ],
        findings,
    ))
}

const POOL_REQ: &str = "POOL-LIST";

/// A non-empty list of pools with unique ids.
pub(crate) fn pool_ids(result: &Value) -> CheckRun {
    let mut findings = Findings::default();
    match result.as_array() {
        Some(pools) if pools.is_empty() => findings.push(
            Finding::new(
                ids::POOL_IDS,
                POOL_REQ,
                "品目池列表为空 / the list of pools is empty",
            )
            .at("/result")
            .expected("至少一个品目池 / at least one pool")
            .actual("[]"),
        ),
        Some(pools) => {
            findings.extend(duplicates(pools, |p| p.get("id"), "/id", |id, first, index| {
                Finding::new(
                    ids::POOL_IDS,
                    POOL_REQ,
                    format!("品目池 id {id} 重复（第 {first} 项与第 {index} 项） / pool id {id} appears twice (items {first} and {index})"),
                )
            }));
        }
        // Not a list: the schema reports it.
        None => {}
    }
    CheckRun::new(ids::POOL_IDS, &[POOL_REQ], findings)
}

const SKU_LIST_REQ: &str = "SKU-LIST";

/// A stock answer is about the area asked for, and says 有货 exactly when there is stock.
pub(crate) fn stock_answer(
    profile: &crate::profile::Profile,
    params: &serde_json::Map<String, Value>,
    result: &Value,
) -> CheckRun {
    const REQ: &str = "STK-BATCH";
    let text = |name: &str| profile.code("stock_desc", name).and_then(Value::as_str);
    // Without the profile's texts for 有货/无货 the desc cannot be judged against the number.
    let (Some(in_stock), Some(out_of_stock)) = (text("in_stock"), text("out_of_stock")) else {
        return CheckRun::not_judged(
            ids::STOCK_ANSWER,
            &[REQ],
            "配置缺少 [codes] stock_desc.in_stock / out_of_stock the profile names no stock texts",
        );
    };
    let asked_area = params.get("area_id").map(walk::text);
    let mut findings = Findings::default();
    for (index, item) in result.as_array().into_iter().flatten().enumerate() {
        let sku = walk::sku_of(item);
        let base = walk::index("/result", index);
        if let (Some(asked), Some(area)) = (&asked_area, item.get("area_id"))
            && walk::text(area) != *asked
        {
            findings.push(
                Finding::new(
                    ids::STOCK_ANSWER,
                    REQ,
                    format!(
                        "SKU {sku} 的库存地区不是所查地区 / stock of sku {sku} answers another area"
                    ),
                )
                .at(walk::child(&base, "area_id"))
                .expected(asked.clone())
                .actual(walk::text(area)),
            );
        }
        let num = item.get("num").and_then(Value::as_i64);
        // A count the mall cannot read (20 digits, a fraction, text) is no stock answer at all;
        // a missing one is the schema's.
        if let Some(raw) = item.get("num").filter(|_| num.is_none()) {
            findings.push(
                Finding::new(
                    ids::STOCK_ANSWER,
                    REQ,
                    format!(
                        "SKU {sku} 的库存数量无法读取 / the stock of sku {sku} is not a readable whole number: {}",
                        walk::text(raw)
                    ),
                )
                .at(walk::child(&base, "num"))
                .expected("0 ≤ num ≤ 9223372036854775807")
                .actual(walk::text(raw)),
            );
        }
        let desc = item.get("desc").and_then(Value::as_str);
        if let (Some(num), Some(desc)) = (num, desc) {
            let expected = if num > 0 { in_stock } else { out_of_stock };
            if desc != expected {
                findings.push(
                    Finding::new(
                        ids::STOCK_ANSWER,
                        REQ,
                        format!("SKU {sku} 库存 {num} 与描述 {desc} 不符 / stock {num} contradicts desc {desc:?}"),
                    )
                    .at(walk::child(&base, "desc"))
                    .expected(expected)
                    .actual(desc),
                );
            }
        }
    }
    // Findings keeps the first ones and counts the rest: a cut-short answer says so.
    CheckRun::new(ids::STOCK_ANSWER, &[REQ], findings)
}

/// NEW-SKUS / CHANGED-SKUS asked for a time window (`start_time`, `end_time`): every entry's
/// `time` falls inside it. No window sent, no row. A time that does not read in the profile's
/// format is the schema's finding; here it is not judged.
pub(crate) fn feed_window(
    profile: &crate::profile::Profile,
    sent: &Map<String, Value>,
    result: &Value,
) -> Option<CheckRun> {
    use chrono::NaiveDateTime;
    let format = profile.settings.timestamp_format.as_str();
    let read = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .and_then(|t| NaiveDateTime::parse_from_str(t.trim(), format).ok())
    };
    let (start, end) = (sent.get("start_time"), sent.get("end_time"));
    if start.is_none() && end.is_none() {
        return None;
    }
    // The window is the profile's, not the standard's: a SHOULD.
    let requirement = "FEED-WINDOW";
    let (from, to) = (read(start), read(end));
    let items = result.as_array().map(Vec::as_slice).unwrap_or_default();
    let mut findings = Findings::default();
    let mut unreadable = 0;
    for (i, item) in items.iter().enumerate() {
        let Some(time) = read(item.get("time")) else {
            unreadable += 1;
            continue;
        };
        let early = from.is_some_and(|f| time < f);
        let late = to.is_some_and(|t| time > t);
        if (early || late) && findings.len() < 5 {
            let window = format!(
                "[{}, {}]",
                from.map_or("…".into(), |f| f.format(format).to_string()),
                to.map_or("…".into(), |t| t.format(format).to_string())
            );
            findings.push(
                Finding::new(
                    ids::FEED_WINDOW,
                    requirement,
                    format!(
                        "时间不在所请求的时间段内 / entry {i} ({}) has time {} outside the window asked for {window}",
                        item.get("sku").map(crate::scenario::template::as_text).unwrap_or_default(),
                        time.format(format)
                    ),
                )
                .at(format!("/result/{i}/time"))
                .expected(window)
                .actual(time.format(format).to_string()),
            );
        }
    }
    let run = CheckRun::new(ids::FEED_WINDOW, &[requirement], findings);
    if run.findings.is_empty() && unreadable > 0 {
        return Some(run.unjudged(
            requirement,
            format!("{unreadable} 条时间无法读取 / {unreadable} entries have no time in the profile's format ({format})"),
        ));
    }
    Some(run)
}

/// SKUs of a pool are unique codes.
pub(crate) fn sku_list(result: &Value) -> CheckRun {
    let findings = match result.as_array() {
        Some(skus) => duplicates(skus, |sku| Some(sku), "", sku_listed_twice),
        None => Vec::new(),
    };
    CheckRun::new(ids::SKU_LIST, &[SKU_LIST_REQ], findings)
}

/// A finding (made by `make(key, first index, this index)`) for each repeated key, pointing at
/// `/result/<index><suffix>`. Keys are found equal by a hash of their text, checked on the
/// items themselves: 16 bytes an item, where a set of the texts of a million SKUs took 100 MB.
fn duplicates(
    items: &[Value],
    key: impl Fn(&Value) -> Option<&Value>,
    suffix: &str,
    make: impl Fn(&str, usize, usize) -> Finding,
) -> Vec<Finding> {
    let text_of = |index: usize| -> Option<Cow<'_, str>> {
        match items.get(index).and_then(&key)? {
            Value::String(s) => Some(Cow::Borrowed(s.as_str())),
            Value::Number(n) => Some(Cow::Owned(n.to_string())),
            _ => None,
        }
    };
    duplicates_by(items.len(), text_of, suffix, make)
}

/// [`duplicates`] over any list whose item `i` has the key text `text_of(i)`: the Value items
/// of an answer, or the compact SKU list of [`super::SkuCodes`].
fn duplicates_by<'a>(
    len: usize,
    text_of: impl Fn(usize) -> Option<Cow<'a, str>>,
    suffix: &str,
    make: impl Fn(&str, usize, usize) -> Finding,
) -> Vec<Finding> {
    use std::hash::{Hash, Hasher};
    let hash_text = |text: &str| {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        text.hash(&mut hasher);
        hasher.finish()
    };
    let mut hashed: Vec<(u64, usize)> = (0..len)
        .filter_map(|index| Some((hash_text(&text_of(index)?), index)))
        .collect();
    hashed.sort_unstable();
    // (index of a repeat, index of the first), for equal hashes whose texts are equal too.
    let mut repeats: Vec<(usize, usize)> = Vec::new();
    for run in hashed
        .chunk_by(|a, b| a.0 == b.0)
        .filter(|run| run.len() > 1)
    {
        let first = run[0].1;
        let first_text = text_of(first);
        for &(_, index) in &run[1..] {
            if text_of(index) == first_text {
                repeats.push((index, first));
            }
        }
    }
    drop(hashed);
    repeats.sort_unstable();
    let mut findings = Findings::default();
    for (index, first) in repeats {
        let key = text_of(index).unwrap_or_default();
        findings.push(
            make(&walk::shorten(&key, 60), first, index)
                .at(format!("/result/{index}{suffix}"))
                .expected("唯一 / unique")
                .actual(walk::shorten(&key, 60)),
        );
    }
    findings.into()
}

/// SKU-LIST over a SKU list read compactly ([`super::SkuCodes`]): the same rule and findings as
/// [`sku_list`] on the same answer.
pub(crate) fn sku_list_compact(codes: &super::SkuCodes) -> CheckRun {
    let findings = duplicates_by(
        codes.len(),
        |index| codes.key_text(index),
        "",
        sku_listed_twice,
    );
    CheckRun::new(ids::SKU_LIST, &[SKU_LIST_REQ], findings)
}

fn sku_listed_twice(sku: &str, first: usize, index: usize) -> Finding {
    Finding::new(
        ids::SKU_LIST,
        SKU_LIST_REQ,
        format!(
            "SKU {sku} 重复（第 {first} 项与第 {index} 项） / sku {sku} listed twice (items {first} and {index})"
        ),
    )
}

/// SKU-LIST across pools: a SKU is a unique code, so one SKU listed by two pools is a finding
/// on the second pool's list (the sweep reports it on the SKU).
pub fn sku_in_two_pools(sku: &str, first_pool: &str, pool: &str) -> Finding {
    let sku = walk::shorten(sku, 60);
    Finding::new(
        ids::SKU_LIST,
        SKU_LIST_REQ,
        format!(
            "SKU {sku} 同时列在品目池 {first_pool} 与 {pool} 中 / sku {sku} is listed by pool {first_pool} and again by pool {pool}"
        ),
    )
    .expected("每个 SKU 只在一个品目池 / each SKU in one pool")
    .actual(format!("{first_pool}, {pool}"))
}

const LEVELS_REQ: &str = "AREA-LEVELS";
const NAME_MATCH_REQ: &str = "AREA-NAME-MATCH";

/// Areas are a non-empty object Chinese name → id. On counties, where the mall matches by
/// name, names must be Chinese and unique (checked on the raw members: serde_json would keep
/// only one of two equal names) and ids unique (AREA-NAME-MATCH); on provinces and cities the
/// same faults count against AREA-LEVELS.
pub(crate) fn area_names(interface_id: &str, answer: &Answer) -> CheckRun {
    let naming_req = if interface_id == "counties" {
        NAME_MATCH_REQ
    } else {
        LEVELS_REQ
    };
    let requirements: &[&str] = if naming_req == LEVELS_REQ {
        &[LEVELS_REQ]
    } else {
        &[LEVELS_REQ, NAME_MATCH_REQ]
    };
    let mut findings = Findings::default();
    let Some(members) = answer.result_members() else {
        findings.push(
            Finding::new(
                ids::AREA_NAMES,
                LEVELS_REQ,
                "地区结果不是对象（中文名 → 编码） / areas are not an object (Chinese name → id)",
            )
            .at("/result")
            .expected("{\"和平区\": \"120101\", …}")
            .actual(
                answer
                    .result()
                    .map(walk::text)
                    .unwrap_or_else(|| super::MISSING.to_string()),
            ),
        );
        return CheckRun::new(ids::AREA_NAMES, requirements, findings);
    };
    if members.is_empty() {
        findings.push(
            Finding::new(
                ids::AREA_NAMES,
                LEVELS_REQ,
                "地区列表为空 / no areas in the answer",
            )
            .at("/result")
            .expected("至少一个地区 / at least one area")
            .actual("{}"),
        );
    }
    let mut names: HashMap<&str, &Value> = HashMap::new();
    let mut area_ids: HashMap<String, &str> = HashMap::new();
    for &(name, id) in &members {
        let pointer = walk::child("/result", name);
        let shown = walk::shorten(name, 40);
        if let Some(first_id) = names.get(name) {
            findings.push(
                Finding::new(
                    ids::AREA_NAMES,
                    naming_req,
                    format!(
                        "地区名 {shown} 出现多次（编码 {} 与 {}），无法按名称匹配 / area name {shown} appears more than once (ids {} and {}); the mall cannot match by name",
                        walk::text(first_id),
                        walk::text(id),
                        walk::text(first_id),
                        walk::text(id)
                    ),
                )
                .at(pointer.clone())
                .expected("名称唯一 / unique names")
                .actual(shown.clone()),
            );
        } else {
            names.insert(name, id);
        }
        if !name.chars().any(crate::lang::is_han) {
            findings.push(
                Finding::new(
                    ids::AREA_NAMES,
                    naming_req,
                    format!(
                        "地区名 {shown} 不含汉字 / area name {shown} holds no Chinese character"
                    ),
                )
                .at(pointer.clone())
                .expected("中文地区名 / a Chinese area name")
                .actual(shown.clone()),
            );
        }
        if let Some(id_text) = walk::key_text(id) {
            match area_ids.get(&id_text) {
                Some(other) if *other != name => findings.push(
                    Finding::new(
                        ids::AREA_NAMES,
                        naming_req,
                        format!(
                            "地区编码 {id_text} 同时用于 {} 和 {shown} / area id {id_text} is used by both {} and {shown}",
                            walk::shorten(other, 40),
                            walk::shorten(other, 40)
                        ),
                    )
                    .at(pointer)
                    .expected("编码唯一 / unique ids")
                    .actual(id_text),
                ),
                Some(_) => {}
                None => {
                    area_ids.insert(id_text, name);
                }
            }
        }
    }
    CheckRun::new(ids::AREA_NAMES, requirements, findings)
}

/// CJK unified ideographs (basic, extension A, compatibility, extensions B and later).
#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::*;
    use serde_json::json;

    #[test]
    fn whitespace_in_urls_is_found_as_char_is_whitespace_finds_it() {
        for c in (0u32..0x3100).filter_map(char::from_u32) {
            for text in [format!("http://a/{c}"), format!("{c}"), format!("天{c}")] {
                assert_eq!(
                    has_whitespace(&text),
                    text.chars().any(char::is_whitespace),
                    "{c:?}"
                );
            }
        }
        assert!(!has_whitespace("https://img.example.com/a.jpg"));
    }

    // ---- stock-answer
    fn stock_findings(result: Value) -> Vec<Finding> {
        run_result("stocks", result, json!({"sku": "1,2", "area_id": "120101"}))
            .into_iter()
            .filter(|r| r.check == ids::STOCK_ANSWER)
            .flat_map(|r| r.findings)
            .collect()
    }

    #[test]
    fn stock_answer_matches_area_and_desc() {
        let good = json!([
            {"sku": "1", "area_id": "120101", "num": 5, "desc": "有货"},
            {"sku": "2", "area_id": "120101", "num": 0, "desc": "无货"}
        ]);
        assert!(stock_findings(good).is_empty());
        let bad = json!([
            {"sku": "1", "area_id": "110101", "num": 5, "desc": "有货"},
            {"sku": "2", "area_id": "120101", "num": 0, "desc": "有货"}
        ]);
        let found = stock_findings(bad);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].pointer.as_deref(), Some("/result/0/area_id"));
        assert_eq!(found[1].pointer.as_deref(), Some("/result/1/desc"));
        assert!(found.iter().all(|f| f.requirement == "STK-BATCH"));
    }

    #[test]
    fn an_unreadable_stock_count_fails() {
        let body = r#"{"success":true,"result":[{"sku":"1","area_id":"120101","num":99999999999999999999,"desc":"有货"}]}"#;
        let runs = run_body(
            "stocks",
            body.as_bytes(),
            json!({"sku": "1", "area_id": "120101"}),
        );
        let f = one(&runs, ids::STOCK_ANSWER, "STK-BATCH", "/result/0/num");
        assert!(f.message.contains("99999999999999999999"), "{}", f.message);
    }

    // ---- feed-window
    #[test]
    fn feed_times_fall_inside_the_window_asked_for() {
        let sent = json!({"start_time": "2026-11-26 00:00:00", "end_time": "2026-12-03 00:00:00"});
        let inside = json!([{"sku": "1", "catalog_id": "A", "time": "2026-12-01 10:00:00"}]);
        passes(
            &run_result("new_skus", inside, sent.clone()),
            ids::FEED_WINDOW,
        );
        let outside = json!([{"sku": "1", "catalog_id": "A", "time": "2026-12-01 10:00:00"},
            {"sku": "2", "catalog_id": "A", "time": "2026-11-20 10:00:00"}]);
        let runs = run_result("new_skus", outside, sent);
        let f = one(&runs, ids::FEED_WINDOW, "FEED-WINDOW", "/result/1/time");
        assert_eq!(f.actual.as_deref(), Some("2026-11-20 10:00:00"));
        // No window sent: nothing to judge, no row.
        let runs = run_result("changed_skus", json!([]), json!({}));
        assert!(runs.iter().all(|r| r.check != ids::FEED_WINDOW));
    }

    // ---- batch-complete
    fn shelf(result: Value, sent: &str) -> Vec<crate::checks::CheckRun> {
        run_result("shelf_states", result, json!({"sku": sent}))
    }

    #[test]
    fn complete_batch_passes() {
        let runs = shelf(
            json!([{"sku": "1", "state": 1}, {"sku": "2", "state": 0}]),
            "1,2",
        );
        passes(&runs, ids::BATCH_COMPLETE);
        assert_eq!(
            run_of(&runs, ids::BATCH_COMPLETE).requirements,
            vec!["SHELF-BATCH", "BATCH-COMPLETE"]
        );
    }

    #[test]
    fn missing_sku_fails_both_requirements() {
        let runs = shelf(json!([{"sku": "1", "state": 1}]), "1,2");
        let f = one(&runs, ids::BATCH_COMPLETE, "SHELF-BATCH", "/result");
        assert!(f.message.contains("sku 2 was asked"), "{}", f.message);
        one(&runs, ids::BATCH_COMPLETE, "BATCH-COMPLETE", "/result");
    }

    #[test]
    fn twice_and_unasked_fail_batch_complete() {
        let runs = shelf(
            json!([{"sku": "1", "state": 1}, {"sku": "2", "state": 0}, {"sku": "1", "state": 1}, {"sku": "9", "state": 1}]),
            "1,2",
        );
        let twice = one(
            &runs,
            ids::BATCH_COMPLETE,
            "BATCH-COMPLETE",
            "/result/2/sku",
        );
        assert!(twice.message.contains("items 0 and 2"), "{}", twice.message);
        let unasked = one(
            &runs,
            ids::BATCH_COMPLETE,
            "BATCH-COMPLETE",
            "/result/3/sku",
        );
        assert!(
            unasked.message.contains("sku 9 answered but not asked"),
            "{}",
            unasked.message
        );
        assert!(
            findings_of(&runs, ids::BATCH_COMPLETE)
                .iter()
                .all(|f| f.requirement == "BATCH-COMPLETE")
        );
    }

    #[test]
    fn batch_of_other_interfaces_names_only_batch_complete() {
        let runs = run_result("ratings", json!([]), json!({"sku": "7"}));
        let run = run_of(&runs, ids::BATCH_COMPLETE);
        assert_eq!(run.requirements, vec!["BATCH-COMPLETE"]);
        one(&runs, ids::BATCH_COMPLETE, "BATCH-COMPLETE", "/result");
    }

    #[test]
    fn huge_answer_is_capped() {
        let items: Vec<Value> = (0..10_000)
            .map(|i| json!({"sku": format!("x{i}"), "state": 1}))
            .collect();
        let runs = shelf(json!(items), "1");
        let f = findings_of(&runs, ids::BATCH_COMPLETE);
        // The missing SKU (on both requirements, first so the cap keeps it), 99 unasked and
        // "and N more".
        assert_eq!(f.len(), crate::checks::FINDINGS_CAP + 2);
        assert!(f[0].message.contains("sku 1 was asked"), "{}", f[0].message);
        assert!(f.iter().any(|f| f.message.contains("9901 more")));
    }

    // ---- detail
    fn detail() -> Value {
        json!({"sku": "100012345", "url": "https://www.example.cn/item/1.html", "model": "M437",
            "image_path": "https://img.example.cn/1.jpg", "state": 1, "brand_name": "联想", "name": "台式机",
            "unit": "台", "category": "672", "service": "三年保修", "introduction": "<p>x</p>", "param": "i5",
            "is_energy_saving": 1, "is_environmental": 0, "is_imported": 0})
    }

    #[test]
    fn complete_detail_passes() {
        let runs = run_result("detail", detail(), json!({"sku": "100012345"}));
        passes(&runs, ids::DETAIL_COMPLETE);
        passes(&runs, ids::DETAIL_SAME_SKU);
        passes(&runs, ids::SCHEMA);
        // Boolean-like flags are accepted here (the schema is stricter).
        let mut d = detail();
        d["is_imported"] = json!("1");
        d["is_environmental"] = json!(true);
        passes(
            &run_result("detail", d, json!({"sku": "100012345"})),
            ids::DETAIL_COMPLETE,
        );
    }

    #[test]
    fn each_bad_field_is_one_finding() {
        let mut d = detail();
        d["brand_name"] = json!("  ");
        d.as_object_mut().map(|o| o.remove("unit"));
        d["url"] = json!("/item/1.html");
        d["is_imported"] = json!(2);
        d["param"] = json!(["x"]);
        let runs = run_result("detail", d, json!({"sku": "100012345"}));
        let f = one(
            &runs,
            ids::DETAIL_COMPLETE,
            "DET-COMPLETE",
            "/result/brand_name",
        );
        assert!(f.message.contains("sku 100012345"), "{}", f.message);
        assert!(f.message.contains("brand_name"), "{}", f.message);
        one(&runs, ids::DETAIL_COMPLETE, "DET-COMPLETE", "/result/unit");
        one(&runs, ids::DETAIL_COMPLETE, "DET-COMPLETE", "/result/url");
        one(
            &runs,
            ids::DETAIL_COMPLETE,
            "DET-COMPLETE",
            "/result/is_imported",
        );
        one(&runs, ids::DETAIL_COMPLETE, "DET-COMPLETE", "/result/param");
        assert_eq!(findings_of(&runs, ids::DETAIL_COMPLETE).len(), 5);
    }

    #[test]
    fn detail_that_is_not_an_object_fails() {
        let runs = run_result("detail", json!([]), json!({"sku": "1"}));
        one(&runs, ids::DETAIL_COMPLETE, "DET-COMPLETE", "/result");
    }

    #[test]
    fn other_sku_fails_same_sku() {
        let runs = run_result("detail", detail(), json!({"sku": "999"}));
        let f = one(&runs, ids::DETAIL_SAME_SKU, "DET-SAME-SKU", "/result/sku");
        assert_eq!(f.expected.as_deref(), Some("999"));
        assert_eq!(f.actual.as_deref(), Some("100012345"));
    }

    #[test]
    fn url_shapes() {
        assert!(is_absolute_http_url("https://a.cn/x.jpg"));
        assert!(is_absolute_http_url("HTTP://a.cn"));
        assert!(!is_absolute_http_url("//a.cn/x.jpg"));
        assert!(!is_absolute_http_url("ftp://a.cn/x.jpg"));
        assert!(!is_absolute_http_url("https:///x.jpg"));
        assert!(!is_absolute_http_url("https://a.cn/x y.jpg"));
        assert!(!is_absolute_http_url("图片.jpg"));
    }

    // ---- pools, skus
    #[test]
    fn pools_unique_and_non_empty() {
        let runs = run_result(
            "pools",
            json!([{"id": "A0101", "name": "台式计算机"}, {"id": "A0102", "name": "笔记本"}]),
            json!({}),
        );
        passes(&runs, ids::POOL_IDS);
        let runs = run_result("pools", json!([]), json!({}));
        one(&runs, ids::POOL_IDS, "POOL-LIST", "/result");
        let runs = run_result(
            "pools",
            json!([{"id": "A0101", "name": "a"}, {"id": "A0102", "name": "b"}, {"id": "A0101", "name": "c"}]),
            json!({}),
        );
        let f = one(&runs, ids::POOL_IDS, "POOL-LIST", "/result/2/id");
        assert!(
            f.message.contains("A0101") && f.message.contains("items 0 and 2"),
            "{}",
            f.message
        );
    }

    #[test]
    fn skus_unique() {
        passes(
            &run_result("skus", json!(["1", "2"]), json!({})),
            ids::SKU_LIST,
        );
        let runs = run_result("skus", json!(["1", "2", "1"]), json!({}));
        let f = one(&runs, ids::SKU_LIST, "SKU-LIST", "/result/2");
        assert!(f.message.contains("sku 1 listed twice"), "{}", f.message);
    }

    // ---- areas
    #[test]
    fn chinese_unique_counties_pass() {
        let runs = run_result(
            "counties",
            json!({"和平区": "120101", "河东区": "120102"}),
            json!({"id": "120100"}),
        );
        passes(&runs, ids::AREA_NAMES);
        assert_eq!(
            run_of(&runs, ids::AREA_NAMES).requirements,
            vec!["AREA-LEVELS", "AREA-NAME-MATCH"]
        );
    }

    #[test]
    fn duplicate_county_names_in_raw_text_fail() {
        let body =
            r#"{"success":true,"result":{"和平区":"120101","河东区":"120102","和平区":"120199"}}"#;
        let runs = run_body("counties", body.as_bytes(), json!({"id": "120100"}));
        let f = one(&runs, ids::AREA_NAMES, "AREA-NAME-MATCH", "/result/和平区");
        assert!(
            f.message.contains("120101") && f.message.contains("120199"),
            "{}",
            f.message
        );
    }

    #[test]
    fn latin_names_and_shared_ids_fail() {
        let runs = run_result(
            "counties",
            json!({"Heping": "120101", "河东区": "120101"}),
            json!({}),
        );
        one(&runs, ids::AREA_NAMES, "AREA-NAME-MATCH", "/result/Heping");
        let f = one(&runs, ids::AREA_NAMES, "AREA-NAME-MATCH", "/result/河东区");
        assert!(f.message.contains("120101"), "{}", f.message);
    }

    #[test]
    fn empty_or_list_provinces_fail_levels() {
        let runs = run_result("provinces", json!({}), json!({}));
        one(&runs, ids::AREA_NAMES, "AREA-LEVELS", "/result");
        assert_eq!(
            run_of(&runs, ids::AREA_NAMES).requirements,
            vec!["AREA-LEVELS"]
        );
        let runs = run_result(
            "cities",
            json!([{"id": "120100", "name": "市辖区"}]),
            json!({"id": "120000"}),
        );
        one(&runs, ids::AREA_NAMES, "AREA-LEVELS", "/result");
        let runs = run_result("provinces", json!({"a/b": "1"}), json!({}));
        one(&runs, ids::AREA_NAMES, "AREA-LEVELS", "/result/a~1b");
    }
}
