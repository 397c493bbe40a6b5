//! The generated catalogue. Nothing is stored per SKU: every attribute is a pure function of
//! (seed, index), so a million SKUs start instantly and cost no memory. Mutable state (stock
//! overrides, locks) lives in `orders`.
//!
//! SKU `index` (0-based) belongs to pool `index % pools`; its code is a 9-digit number
//! `code_base + index`. The first SKU of every pool and the SKUs of the new-SKU feed are kept on
//! shelf and in stock, since those are the ones a harness samples first.

use rust_decimal::{Decimal, RoundingStrategy};

use super::clock::Instant;
use super::rng::{below, mix, pick};

/// Purposes for `mix`, so that different attributes of one SKU are independent.
mod purpose {
    pub const CODE_BASE: u64 = 1;
    pub const KIND: u64 = 2;
    pub const BRAND: u64 = 3;
    pub const MODEL: u64 = 4;
    pub const MODEL_SUFFIX: u64 = 5;
    pub const SPEC: u64 = 6;
    pub const MARKET: u64 = 7;
    pub const DISCOUNT: u64 = 8;
    pub const SHELF: u64 = 9;
    pub const FLAGS: u64 = 10;
    pub const WEIGHT: u64 = 11;
    pub const ORIGIN: u64 = 12;
    pub const UPC: u64 = 13;
    pub const SERVICE: u64 = 14;
    pub const IMAGES: u64 = 15;
    pub const STOCK: u64 = 16;
    pub const RATING: u64 = 17;
    pub const GOOD: u64 = 18;
    pub const OFFERS: u64 = 19;
    pub const FAULTED: u64 = 20;
    pub const FEED: u64 = 21;
}

/// The most SKUs a catalogue may hold (codes stay 9 digits).
pub const MAX_SKUS: u64 = 100_000_000;
/// How many SKUs the new-SKU feed lists (the last ones of the catalogue).
pub const NEW_FEED_LEN: u64 = 5;
/// SKUs with accessories, services and promotions: the first ones of the catalogue, so that the
/// "all" answers of 2.20 stay small whatever the catalogue size.
pub const OFFER_SKUS: u64 = 64;
const CHANGED_FEED_LEN: u64 = 8;

/// One kind of product within a pool.
pub struct Kind {
    pub noun: &'static str,
    pub unit: &'static str,
    pub min_yuan: i64,
    pub max_yuan: i64,
    pub specs: &'static [&'static str],
}

/// A product pool (品目池) with the center's category code.
pub struct Pool {
    pub id: &'static str,
    pub name: &'static str,
    pub brands: &'static [&'static str],
    pub kinds: &'static [Kind],
    /// Whether extended warranty is sold (electrical goods).
    pub warranty: bool,
    /// The accessory (配件) linked to SKUs of this pool: name, parameters, price in fen.
    pub accessory: (&'static str, &'static str, i64),
}

const fn kind(
    noun: &'static str,
    unit: &'static str,
    min_yuan: i64,
    max_yuan: i64,
    specs: &'static [&'static str],
) -> Kind {
    Kind {
        noun,
        unit,
        min_yuan,
        max_yuan,
        specs,
    }
}

pub static POOLS: &[Pool] = &[
    Pool {
        id: "A0101",
        name: "台式计算机",
        brands: &["联想", "惠普", "戴尔", "华为", "清华同方"],
        kinds: &[
            kind(
                "商用台式计算机",
                "台",
                3500,
                9000,
                &[
                    "i5-12500/16G/512G SSD/23.8英寸显示器",
                    "i7-12700/16G/1T SSD/27英寸显示器",
                    "i3-12100/8G/256G SSD/21.5英寸显示器",
                ],
            ),
            kind(
                "一体式计算机",
                "台",
                4000,
                8000,
                &["23.8英寸 i5/16G/512G SSD", "27英寸 i7/16G/1T SSD"],
            ),
        ],
        warranty: true,
        accessory: ("有线键鼠套装", "USB接口 防泼溅", 9900),
    },
    Pool {
        id: "A0102",
        name: "便携式计算机",
        brands: &["联想", "华为", "惠普", "戴尔", "华硕"],
        kinds: &[kind(
            "笔记本电脑",
            "台",
            4000,
            12000,
            &[
                "14英寸 i5/16G/512G SSD",
                "15.6英寸 i7/16G/1T SSD",
                "13.3英寸 i5/8G/512G SSD",
            ],
        )],
        warranty: true,
        accessory: ("原装电源适配器", "65W USB-C", 19900),
    },
    Pool {
        id: "A0103",
        name: "平板式微型计算机",
        brands: &["华为", "联想", "小米"],
        kinds: &[kind(
            "平板电脑",
            "台",
            1500,
            5000,
            &["10.4英寸 6G+128G WiFi版", "11英寸 8G+256G WiFi版"],
        )],
        warranty: true,
        accessory: ("原装手写笔", "蓝牙连接 4096级压感", 39900),
    },
    Pool {
        id: "A0201",
        name: "打印设备",
        brands: &["惠普", "佳能", "兄弟", "奔图", "联想"],
        kinds: &[
            kind(
                "黑白激光打印机",
                "台",
                800,
                3000,
                &["A4 自动双面 有线网络", "A4 无线 30页/分钟"],
            ),
            kind("彩色喷墨打印机", "台", 600, 2500, &["A4 无线 连供墨仓"]),
        ],
        warranty: true,
        accessory: ("原装硒鼓", "黑色 约1600页", 45900),
    },
    Pool {
        id: "A0202",
        name: "复印设备",
        brands: &["理光", "佳能", "京瓷", "惠普"],
        kinds: &[
            kind(
                "黑白激光多功能一体机",
                "台",
                1500,
                6000,
                &["打印/复印/扫描 A4 自动双面"],
            ),
            kind(
                "数码复合机",
                "台",
                8000,
                30000,
                &["A3 35页/分钟 双面输稿器"],
            ),
        ],
        warranty: true,
        accessory: ("原装粉盒", "黑色 约8000页", 59900),
    },
    Pool {
        id: "A0203",
        name: "扫描仪",
        brands: &["佳能", "爱普生", "富士通", "汉王"],
        kinds: &[kind(
            "高速文档扫描仪",
            "台",
            1500,
            8000,
            &["A4 双面 40页/分钟", "A4 双面 60页/分钟"],
        )],
        warranty: true,
        accessory: ("搓纸轮组件", "原装 适用本机型", 29900),
    },
    Pool {
        id: "A0301",
        name: "复印纸",
        brands: &["得力", "晨光", "齐心", "亚太森博"],
        kinds: &[
            kind("A4复印纸 70g", "包", 18, 35, &["500张/包"]),
            kind("A4复印纸 80g", "箱", 120, 260, &["500张/包 5包/箱"]),
            kind("A3复印纸 70g", "包", 35, 60, &["500张/包"]),
        ],
        warranty: false,
        accessory: ("纸张收纳盒", "A4 塑料", 1990),
    },
    Pool {
        id: "A0302",
        name: "办公用品",
        brands: &["得力", "晨光", "齐心", "真彩"],
        kinds: &[
            kind("中性笔", "盒", 10, 40, &["0.5mm 黑色 12支/盒"]),
            kind("文件夹", "个", 5, 30, &["A4 双强力夹"]),
            kind("订书机", "个", 15, 60, &["12号 可订25页"]),
        ],
        warranty: false,
        accessory: ("替换笔芯", "0.5mm 黑色 20支", 990),
    },
    Pool {
        id: "A0401",
        name: "办公家具",
        brands: &["震旦", "圣奥", "得力", "美时"],
        kinds: &[
            kind(
                "办公桌",
                "张",
                500,
                3000,
                &["1400×700×750mm", "1600×800×760mm"],
            ),
            kind("办公椅", "把", 300, 2000, &["人体工学 网布 可升降"]),
            kind("钢制文件柜", "个", 600, 2000, &["1850×900×390mm 四门"]),
        ],
        warranty: false,
        accessory: ("桌面理线器", "金属 开孔60mm", 2900),
    },
    Pool {
        id: "A0501",
        name: "空调机",
        brands: &["格力", "美的", "海尔", "海信"],
        kinds: &[
            kind("壁挂式空调", "台", 2500, 5000, &["1.5匹 一级能效 变频冷暖"]),
            kind("柜式空调", "台", 5000, 12000, &["3匹 一级能效 变频冷暖"]),
        ],
        warranty: true,
        accessory: ("空调铜管", "加长3米", 19900),
    },
    Pool {
        id: "A0502",
        name: "电冰箱",
        brands: &["海尔", "美的", "容声", "西门子"],
        kinds: &[
            kind("双门冰箱", "台", 1500, 4000, &["210升 风冷无霜"]),
            kind("多门冰箱", "台", 3000, 9000, &["456升 一级能效"]),
        ],
        warranty: true,
        accessory: ("冰箱底座", "可调节 不锈钢", 7900),
    },
    Pool {
        id: "A0601",
        name: "投影仪",
        brands: &["爱普生", "明基", "索尼", "松下"],
        kinds: &[kind(
            "商务投影仪",
            "台",
            2500,
            12000,
            &["3600流明 1080P", "4000流明 WUXGA"],
        )],
        warranty: true,
        accessory: ("电动投影幕布", "100英寸 16:10", 69900),
    },
    Pool {
        id: "A0701",
        name: "硒鼓墨盒",
        brands: &["惠普", "佳能", "得力", "格之格"],
        kinds: &[
            kind(
                "激光硒鼓",
                "个",
                80,
                900,
                &["黑色 约1500页", "黑色 约3000页"],
            ),
            kind("墨盒", "个", 50, 400, &["彩色 约300页"]),
        ],
        warranty: false,
        accessory: ("硒鼓回收服务袋", "环保回收", 500),
    },
];

const MODEL_PREFIXES: &[&str] = &["M", "K", "P", "T", "E", "S", "V", "X"];
const MODEL_SUFFIXES: &[&str] = &["", "D", "Pro", "A", "Plus", "C"];
const ORIGINS: &[&str] = &[
    "北京",
    "天津",
    "广东深圳",
    "江苏苏州",
    "上海",
    "山东青岛",
    "浙江宁波",
];
const SERVICES: &[&str] = &[
    "全国联保，整机三年质保，7×24小时服务热线",
    "全国联保，一年质保，7天无理由退换",
    "质量问题15天包换，一年保修，上门服务",
];
const CONSUMABLE_SERVICE: &str = "质量问题7天包退换，非人为损坏免费更换";

/// What changed about a SKU in the changed-SKU feed.
pub const CHANGE_TYPES: &[&str] = &["price", "state", "detail", "image"];

/// Everything about one SKU, derived on demand.
#[derive(Debug, Clone, PartialEq)]
pub struct Sku {
    pub index: u64,
    pub code: String,
    pub pool: usize,
    pub noun: &'static str,
    pub brand: &'static str,
    pub model: String,
    pub name: String,
    pub spec: &'static str,
    pub unit: &'static str,
    pub category: String,
    pub market_price: Decimal,
    pub price: Decimal,
    pub on_shelf: bool,
    pub energy_saving: u8,
    pub environmental: u8,
    pub imported: u8,
    pub weight: Decimal,
    pub origin: &'static str,
    pub upc: String,
    pub service: &'static str,
    pub image_count: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rating {
    pub average: Decimal,
    pub good: Decimal,
    pub medium: Decimal,
    pub bad: Decimal,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Accessory {
    pub id: String,
    pub kind: u8,
    pub name: String,
    pub param: &'static str,
    pub price: Decimal,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WarrantyService {
    pub id: String,
    pub name: String,
    pub content: &'static str,
    pub price: Decimal,
    pub years: u8,
}

/// A dated promotion (group buy or special).
#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    pub id: String,
    pub price: Decimal,
    /// Group buys only: the quantity the offer needs.
    pub num: u64,
    pub apply_at: Instant,
    pub start_at: Instant,
    pub end_at: Instant,
}

#[derive(Debug, Clone)]
pub struct Catalog {
    seed: u64,
    len: u64,
    code_base: u64,
    /// The supplier clock at start, to the minute: the feeds and promotions are dated from it.
    anchor: Instant,
}

/// Multiplies an amount by `percent`/100, down to the fen.
fn percent_of(amount: Decimal, percent: i64) -> Decimal {
    (amount * Decimal::new(percent, 2)).round_dp_with_strategy(2, RoundingStrategy::ToZero)
}

impl Catalog {
    pub fn new(seed: u64, len: u64, started_at: Instant) -> Catalog {
        Catalog {
            seed,
            len,
            code_base: 100_000_000 + below(seed, 0, purpose::CODE_BASE, 100_000) * 1_000,
            anchor: started_at - started_at.rem_euclid(60),
        }
    }

    pub fn sku_count(&self) -> u64 {
        self.len
    }

    pub fn pool_index(&self, id: &str) -> Option<usize> {
        POOLS.iter().position(|pool| pool.id == id)
    }

    /// The SKU indices of a pool, in order.
    pub fn pool_skus(&self, pool: usize) -> impl Iterator<Item = u64> {
        (pool as u64..self.len).step_by(POOLS.len())
    }

    pub fn code(&self, index: u64) -> String {
        self.code_number(index).to_string()
    }

    /// The SKU code as a number (codes are 9-digit numbers).
    pub fn code_number(&self, index: u64) -> u64 {
        self.code_base + index
    }

    /// The index of a SKU code, if it is in the catalogue.
    pub fn index_of(&self, code: &str) -> Option<u64> {
        if code.len() != 9 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let number: u64 = code.parse().ok()?;
        let index = number.checked_sub(self.code_base)?;
        (index < self.len).then_some(index)
    }

    /// SKUs a harness samples first: kept on shelf and in stock.
    pub fn is_protected(&self, index: u64) -> bool {
        index < POOLS.len() as u64 || self.in_new_feed(index)
    }

    pub fn in_new_feed(&self, index: u64) -> bool {
        index < self.len && index >= self.len.saturating_sub(NEW_FEED_LEN)
    }

    /// The SKUs a "some SKUs" fault applies to: about one in five, always including the first
    /// SKU of every pool and the new-SKU feed.
    pub fn is_fault_target(&self, index: u64) -> bool {
        self.is_protected(index) || below(self.seed, index, purpose::FAULTED, 5) == 0
    }

    pub fn sku(&self, index: u64) -> Sku {
        let seed = self.seed;
        let pool_index = (index % POOLS.len() as u64) as usize;
        let pool = &POOLS[pool_index];
        let kind_index = below(seed, index, purpose::KIND, pool.kinds.len() as u64) as usize;
        let kind = &pool.kinds[kind_index];
        let brand = pick(pool.brands, seed, index, purpose::BRAND);
        let model = format!(
            "{}{}{}",
            pick(MODEL_PREFIXES, seed, index, purpose::MODEL),
            100 + below(seed, index, purpose::MODEL, 9_900),
            pick(MODEL_SUFFIXES, seed, index, purpose::MODEL_SUFFIX)
        );
        let spec = pick(kind.specs, seed, index, purpose::SPEC);
        let span_fen = (kind.max_yuan - kind.min_yuan).max(1) * 100;
        let market_fen = kind.min_yuan * 100
            + below(seed, index, purpose::MARKET, span_fen as u64) as i64 / 10 * 10;
        let market_price = Decimal::new(market_fen.max(100), 2);
        let discount = 85 + below(seed, index, purpose::DISCOUNT, 15) as i64;
        let price = percent_of(market_price, discount);
        let flags = mix(seed, index, purpose::FLAGS);
        let electrical = pool.warranty;
        Sku {
            index,
            code: self.code(index),
            pool: pool_index,
            noun: kind.noun,
            brand,
            name: format!("{brand}{} {model}（{spec}）", kind.noun),
            model,
            spec,
            unit: kind.unit,
            category: format!("{}{:02}", pool.id, kind_index + 1),
            market_price,
            price,
            on_shelf: self.is_protected(index) || below(seed, index, purpose::SHELF, 37) != 0,
            energy_saving: u8::from(electrical && flags & 1 == 0),
            environmental: u8::from(flags & 6 == 0),
            imported: u8::from(flags & 56 == 0),
            weight: Decimal::new(50 + below(seed, index, purpose::WEIGHT, 2_950) as i64, 2),
            origin: pick(ORIGINS, seed, index, purpose::ORIGIN),
            upc: format!(
                "69{:011}",
                below(seed, index, purpose::UPC, 100_000_000_000)
            ),
            service: if electrical {
                pick(SERVICES, seed, index, purpose::SERVICE)
            } else {
                CONSUMABLE_SERVICE
            },
            image_count: 3 + below(seed, index, purpose::IMAGES, 3),
        }
    }

    /// Stock of a SKU in an area before any order or override.
    pub fn base_stock(&self, index: u64, area: &str) -> u64 {
        let area_number: u64 = area.parse().unwrap_or(0);
        let value = mix(self.seed ^ area_number, index, purpose::STOCK);
        if self.is_protected(index) {
            20 + value % 180
        } else if value.is_multiple_of(8) {
            0
        } else {
            value % 300
        }
    }

    pub fn rating(&self, index: u64) -> Rating {
        let good = 80 + below(self.seed, index, purpose::GOOD, 20) as i64;
        let medium = (100 - good) * 2 / 3;
        Rating {
            average: Decimal::new(35 + below(self.seed, index, purpose::RATING, 16) as i64, 1),
            good: Decimal::new(good, 2),
            medium: Decimal::new(medium, 2),
            bad: Decimal::new(100 - good - medium, 2),
        }
    }

    pub fn has_offers(&self, index: u64) -> bool {
        index < OFFER_SKUS.min(self.len)
    }

    /// Accessories and services of 2.17 (empty for SKUs beyond the first `OFFER_SKUS`).
    pub fn accessories(&self, sku: &Sku) -> Vec<Accessory> {
        if !self.has_offers(sku.index) {
            return Vec::new();
        }
        let pool = &POOLS[sku.pool];
        let (name, param, fen) = pool.accessory;
        vec![
            Accessory {
                id: format!("P{}01", sku.code),
                kind: 1,
                name: name.to_string(),
                param,
                price: Decimal::new(fen, 2),
            },
            Accessory {
                id: format!("S{}02", sku.code),
                kind: 2,
                name: "上门安装调试服务".to_string(),
                param: "工程师上门安装及基础调试",
                price: Decimal::new(5000, 2),
            },
        ]
    }

    /// Extended-warranty services of 2.19 (electrical goods only).
    pub fn warranty(&self, sku: &Sku) -> Vec<WarrantyService> {
        if !POOLS[sku.pool].warranty {
            return Vec::new();
        }
        [
            (1u8, 3i64, "原厂延保，整机保修延长1年，含上门服务"),
            (2, 5, "原厂延保，整机保修延长2年，含上门服务及备用机"),
        ]
        .into_iter()
        .map(|(years, percent, content)| WarrantyService {
            id: format!("W{}{years}", sku.code),
            name: format!("延长保修{years}年"),
            content,
            price: percent_of(sku.price, percent).max(Decimal::new(990, 2)),
            years,
        })
        .collect()
    }

    pub fn group_buy(&self, sku: &Sku) -> Option<Offer> {
        let chosen = sku.index == 0 || below(self.seed, sku.index, purpose::OFFERS, 3) == 0;
        (self.has_offers(sku.index) && sku.on_shelf && chosen).then(|| Offer {
            id: format!("TG{}", sku.code),
            price: percent_of(sku.price, 90).max(Decimal::new(1, 2)),
            num: 10 + below(self.seed, sku.index, purpose::OFFERS, 90),
            apply_at: self.anchor - 10 * 86_400,
            start_at: self.anchor - 2 * 86_400,
            end_at: self.anchor + 30 * 86_400,
        })
    }

    pub fn special(&self, sku: &Sku) -> Option<Offer> {
        let chosen = sku.index == 0 || below(self.seed, sku.index, purpose::OFFERS + 1, 4) == 0;
        (self.has_offers(sku.index) && sku.on_shelf && chosen).then(|| Offer {
            id: format!("TH{}", sku.code),
            price: percent_of(sku.price, 95).max(Decimal::new(1, 2)),
            num: 0,
            apply_at: self.anchor - 7 * 86_400,
            start_at: self.anchor - 86_400,
            end_at: self.anchor + 14 * 86_400,
        })
    }

    /// Tiered rates of 2.20.4: (minimum quantity, rate), ascending.
    pub fn tiers(&self, sku: &Sku) -> Option<Vec<(u64, Decimal)>> {
        let chosen = sku.index == 0 || below(self.seed, sku.index, purpose::OFFERS + 2, 2) == 0;
        (self.has_offers(sku.index) && sku.on_shelf && chosen).then(|| {
            vec![
                (5, Decimal::new(98, 2)),
                (20, Decimal::new(95, 2)),
                (50, Decimal::new(92, 2)),
            ]
        })
    }

    /// The new-SKU feed: the last SKUs of the catalogue, newest first.
    pub fn new_feed(&self) -> Vec<(u64, Instant)> {
        (0..NEW_FEED_LEN.min(self.len))
            .map(|step| {
                let index = self.len - 1 - step;
                let age = step as i64 * 9 * 3600
                    + 3600
                    + below(self.seed, index, purpose::FEED, 3600) as i64;
                (index, self.anchor - age)
            })
            .collect()
    }

    /// The changed-SKU feed: a few SKUs spread over the catalogue, newest first.
    pub fn changed_feed(&self) -> Vec<(u64, &'static str, Instant)> {
        if self.len == 0 {
            return Vec::new();
        }
        let spacing = (self.len / CHANGED_FEED_LEN).max(1);
        let mut seen = std::collections::HashSet::new();
        (0..CHANGED_FEED_LEN)
            .map(|step| ((1 + step * spacing) % self.len, step))
            .filter(|(index, _)| seen.insert(*index))
            .map(|(index, step)| {
                let change = CHANGE_TYPES[(step as usize) % CHANGE_TYPES.len()];
                let age = step as i64 * 6 * 3600 + 1800;
                (index, change, self.anchor - age)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_catalogue_and_prices_hold() {
        let one = Catalog::new(7, 10_000, 1_767_225_600);
        let two = Catalog::new(7, 10_000, 1_767_225_600);
        let other = Catalog::new(8, 10_000, 1_767_225_600);
        let mut differs = false;
        for index in 0..2_000 {
            let sku = one.sku(index);
            assert_eq!(sku, two.sku(index));
            differs |= sku != other.sku(index);
            assert!(sku.price <= sku.market_price, "{sku:?}");
            assert!(sku.price > Decimal::ZERO && sku.price.scale() <= 2);
            assert_eq!(sku.code.len(), 9);
            assert_eq!(one.index_of(&sku.code), Some(index));
        }
        assert!(differs);
        assert_eq!(one.index_of("999999999"), None);
    }

    #[test]
    fn a_million_skus_cost_nothing_up_front() {
        let catalog = Catalog::new(1, 1_000_000, 0);
        let last = catalog.sku(999_999);
        assert!(last.on_shelf);
        assert_eq!(
            catalog.pool_skus(0).count(),
            1_000_000usize.div_ceil(POOLS.len())
        );
        assert!(catalog.in_new_feed(999_999));
    }

    #[test]
    fn ratings_sum_to_one() {
        let catalog = Catalog::new(3, 1_000, 0);
        for index in 0..1_000 {
            let rating = catalog.rating(index);
            assert_eq!(rating.good + rating.medium + rating.bad, Decimal::ONE);
            assert!(rating.average <= Decimal::new(5, 0));
        }
    }
}
