//! The area tree of 2.10: the 34 provincial-level divisions with their GB/T 2260 codes, every
//! district of Tianjin, all districts of Beijing and Shanghai, and a capital (or a few cities)
//! with some districts elsewhere, so every province has cities and every city has counties.
//!
//! Inside the supplier an area is always its GB/T 2260 code (stock, orders, faults). With
//! `AreaIds::Own` the interfaces speak another id scheme, like a supplier with its own area
//! table (JD's): ids are translated where they come in and go out, never stored.

use std::borrow::Cow;

/// The id scheme the interfaces use for areas.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AreaIds {
    /// GB/T 2260 codes (`120000` 天津市, `120100`, `120101` 和平区).
    #[default]
    Standard,
    /// The supplier's own numbers, by table position: provinces `1`…`34`, cities from `2801`,
    /// counties from `50950` (`2` 天津市, `2802`, `50966` 和平区).
    Own,
}

const OWN_PROVINCE_BASE: usize = 1;
const OWN_CITY_BASE: usize = 2801;
const OWN_COUNTY_BASE: usize = 50950;

/// Position of a code in one level's table.
fn position<T>(table: &[T], code: &str, code_of: impl Fn(&T) -> &str) -> Option<usize> {
    table.iter().position(|entry| code_of(entry) == code)
}

impl AreaIds {
    /// The id the interfaces answer for an area code.
    pub fn public(self, code: &'static str) -> Cow<'static, str> {
        if self == AreaIds::Standard {
            return Cow::Borrowed(code);
        }
        let own = position(PROVINCES, code, |p| p.1)
            .map(|i| i + OWN_PROVINCE_BASE)
            .or_else(|| position(CITIES, code, |c| c.2).map(|i| i + OWN_CITY_BASE))
            .or_else(|| position(COUNTIES, code, |c| c.2).map(|i| i + OWN_COUNTY_BASE));
        // Every code the supplier answers comes from the tables, so the fallback is never used.
        Cow::Owned(own.map(|n| n.to_string()).unwrap_or_default())
    }

    /// The code of an area id a request gave, None for an id of no known area. Own ids are
    /// plain decimal numbers (no sign, no leading zero); GB/T codes are not own ids.
    pub fn code(self, id: &str) -> Option<&'static str> {
        if self == AreaIds::Standard {
            return known_code(id);
        }
        if id.is_empty() || id.starts_with('0') || !id.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let number: usize = id.parse().ok()?;
        let at = |base: usize, len: usize| number.checked_sub(base).filter(|index| *index < len);
        at(OWN_PROVINCE_BASE, PROVINCES.len())
            .map(|i| PROVINCES[i].1)
            .or_else(|| at(OWN_CITY_BASE, CITIES.len()).map(|i| CITIES[i].2))
            .or_else(|| at(OWN_COUNTY_BASE, COUNTIES.len()).map(|i| COUNTIES[i].2))
    }

    /// A county id that names no county: the second id of the duplicate-county-names fault.
    pub fn stray_county(self) -> &'static str {
        match self {
            AreaIds::Standard => "120199",
            AreaIds::Own => "51199",
        }
    }
}

/// Provincial-level divisions: (name, code).
pub const PROVINCES: &[(&str, &str)] = &[
    ("北京市", "110000"),
    ("天津市", "120000"),
    ("河北省", "130000"),
    ("山西省", "140000"),
    ("内蒙古自治区", "150000"),
    ("辽宁省", "210000"),
    ("吉林省", "220000"),
    ("黑龙江省", "230000"),
    ("上海市", "310000"),
    ("江苏省", "320000"),
    ("浙江省", "330000"),
    ("安徽省", "340000"),
    ("福建省", "350000"),
    ("江西省", "360000"),
    ("山东省", "370000"),
    ("河南省", "410000"),
    ("湖北省", "420000"),
    ("湖南省", "430000"),
    ("广东省", "440000"),
    ("广西壮族自治区", "450000"),
    ("海南省", "460000"),
    ("重庆市", "500000"),
    ("四川省", "510000"),
    ("贵州省", "520000"),
    ("云南省", "530000"),
    ("西藏自治区", "540000"),
    ("陕西省", "610000"),
    ("甘肃省", "620000"),
    ("青海省", "630000"),
    ("宁夏回族自治区", "640000"),
    ("新疆维吾尔自治区", "650000"),
    ("台湾省", "710000"),
    ("香港特别行政区", "810000"),
    ("澳门特别行政区", "820000"),
];

/// Cities: (province code, name, code).
pub const CITIES: &[(&str, &str, &str)] = &[
    ("110000", "北京市", "110100"),
    ("120000", "天津市", "120100"),
    ("130000", "石家庄市", "130100"),
    ("130000", "唐山市", "130200"),
    ("130000", "保定市", "130600"),
    ("140000", "太原市", "140100"),
    ("150000", "呼和浩特市", "150100"),
    ("210000", "沈阳市", "210100"),
    ("210000", "大连市", "210200"),
    ("220000", "长春市", "220100"),
    ("230000", "哈尔滨市", "230100"),
    ("310000", "上海市", "310100"),
    ("320000", "南京市", "320100"),
    ("320000", "苏州市", "320500"),
    ("330000", "杭州市", "330100"),
    ("340000", "合肥市", "340100"),
    ("350000", "福州市", "350100"),
    ("360000", "南昌市", "360100"),
    ("370000", "济南市", "370100"),
    ("370000", "青岛市", "370200"),
    ("410000", "郑州市", "410100"),
    ("420000", "武汉市", "420100"),
    ("430000", "长沙市", "430100"),
    ("440000", "广州市", "440100"),
    ("440000", "深圳市", "440300"),
    ("450000", "南宁市", "450100"),
    ("460000", "海口市", "460100"),
    ("500000", "重庆市", "500100"),
    ("510000", "成都市", "510100"),
    ("520000", "贵阳市", "520100"),
    ("530000", "昆明市", "530100"),
    ("540000", "拉萨市", "540100"),
    ("610000", "西安市", "610100"),
    ("620000", "兰州市", "620100"),
    ("630000", "西宁市", "630100"),
    ("640000", "银川市", "640100"),
    ("650000", "乌鲁木齐市", "650100"),
    ("710000", "台北市", "710100"),
    ("810000", "香港岛", "810100"),
    ("820000", "澳门半岛", "820100"),
];

/// Counties and districts: (city code, name, code).
pub const COUNTIES: &[(&str, &str, &str)] = &[
    ("110100", "东城区", "110101"),
    ("110100", "西城区", "110102"),
    ("110100", "朝阳区", "110105"),
    ("110100", "丰台区", "110106"),
    ("110100", "石景山区", "110107"),
    ("110100", "海淀区", "110108"),
    ("110100", "门头沟区", "110109"),
    ("110100", "房山区", "110111"),
    ("110100", "通州区", "110112"),
    ("110100", "顺义区", "110113"),
    ("110100", "昌平区", "110114"),
    ("110100", "大兴区", "110115"),
    ("110100", "怀柔区", "110116"),
    ("110100", "平谷区", "110117"),
    ("110100", "密云区", "110118"),
    ("110100", "延庆区", "110119"),
    ("120100", "和平区", "120101"),
    ("120100", "河东区", "120102"),
    ("120100", "河西区", "120103"),
    ("120100", "南开区", "120104"),
    ("120100", "河北区", "120105"),
    ("120100", "红桥区", "120106"),
    ("120100", "东丽区", "120110"),
    ("120100", "西青区", "120111"),
    ("120100", "津南区", "120112"),
    ("120100", "北辰区", "120113"),
    ("120100", "武清区", "120114"),
    ("120100", "宝坻区", "120115"),
    ("120100", "滨海新区", "120116"),
    ("120100", "宁河区", "120117"),
    ("120100", "静海区", "120118"),
    ("120100", "蓟州区", "120119"),
    ("130100", "长安区", "130102"),
    ("130100", "桥西区", "130104"),
    ("130100", "新华区", "130105"),
    ("130100", "裕华区", "130108"),
    ("130200", "路南区", "130202"),
    ("130200", "路北区", "130203"),
    ("130600", "竞秀区", "130602"),
    ("130600", "莲池区", "130606"),
    ("140100", "小店区", "140105"),
    ("140100", "迎泽区", "140106"),
    ("150100", "新城区", "150102"),
    ("150100", "回民区", "150103"),
    ("210100", "和平区", "210102"),
    ("210100", "沈河区", "210103"),
    ("210200", "中山区", "210202"),
    ("210200", "西岗区", "210203"),
    ("220100", "南关区", "220102"),
    ("220100", "宽城区", "220103"),
    ("230100", "道里区", "230102"),
    ("230100", "南岗区", "230103"),
    ("310100", "黄浦区", "310101"),
    ("310100", "徐汇区", "310104"),
    ("310100", "长宁区", "310105"),
    ("310100", "静安区", "310106"),
    ("310100", "普陀区", "310107"),
    ("310100", "虹口区", "310109"),
    ("310100", "杨浦区", "310110"),
    ("310100", "闵行区", "310112"),
    ("310100", "宝山区", "310113"),
    ("310100", "嘉定区", "310114"),
    ("310100", "浦东新区", "310115"),
    ("320100", "玄武区", "320102"),
    ("320100", "秦淮区", "320104"),
    ("320500", "姑苏区", "320508"),
    ("330100", "上城区", "330102"),
    ("330100", "拱墅区", "330105"),
    ("340100", "瑶海区", "340102"),
    ("340100", "庐阳区", "340103"),
    ("350100", "鼓楼区", "350102"),
    ("350100", "台江区", "350103"),
    ("360100", "东湖区", "360102"),
    ("360100", "西湖区", "360103"),
    ("370100", "历下区", "370102"),
    ("370100", "市中区", "370103"),
    ("370200", "市南区", "370202"),
    ("370200", "市北区", "370203"),
    ("410100", "中原区", "410102"),
    ("410100", "二七区", "410103"),
    ("420100", "江岸区", "420102"),
    ("420100", "江汉区", "420103"),
    ("430100", "芙蓉区", "430102"),
    ("430100", "天心区", "430103"),
    ("440100", "荔湾区", "440103"),
    ("440100", "越秀区", "440104"),
    ("440100", "天河区", "440106"),
    ("440300", "罗湖区", "440303"),
    ("440300", "福田区", "440304"),
    ("440300", "南山区", "440305"),
    ("450100", "兴宁区", "450102"),
    ("450100", "青秀区", "450103"),
    ("460100", "秀英区", "460105"),
    ("460100", "龙华区", "460106"),
    ("500100", "万州区", "500101"),
    ("500100", "渝中区", "500103"),
    ("510100", "锦江区", "510104"),
    ("510100", "青羊区", "510105"),
    ("520100", "南明区", "520102"),
    ("520100", "云岩区", "520103"),
    ("530100", "五华区", "530102"),
    ("530100", "盘龙区", "530103"),
    ("540100", "城关区", "540102"),
    ("610100", "新城区", "610102"),
    ("610100", "碑林区", "610103"),
    ("620100", "城关区", "620102"),
    ("620100", "七里河区", "620103"),
    ("630100", "城东区", "630102"),
    ("630100", "城中区", "630103"),
    ("640100", "兴庆区", "640104"),
    ("640100", "西夏区", "640105"),
    ("650100", "天山区", "650102"),
    ("650100", "沙依巴克区", "650103"),
    ("710100", "中正区", "710101"),
    ("810100", "中西区", "810101"),
    ("810100", "湾仔区", "810102"),
    ("820100", "花地玛堂区", "820101"),
    ("820100", "大堂区", "820104"),
];

/// Tianjin's city code: the target of the duplicate-name and missing-district faults.
pub const TIANJIN_CITY: &str = "120100";

/// The cities of a province, or None for an unknown province.
pub fn cities(province: &str) -> Option<Vec<(&'static str, &'static str)>> {
    if !PROVINCES.iter().any(|(_, code)| *code == province) {
        return None;
    }
    Some(
        CITIES
            .iter()
            .filter(|(parent, _, _)| *parent == province)
            .map(|(_, name, code)| (*name, *code))
            .collect(),
    )
}

/// The counties of a city, or None for an unknown city.
pub fn counties(city: &str) -> Option<Vec<(&'static str, &'static str)>> {
    if !CITIES.iter().any(|(_, _, code)| *code == city) {
        return None;
    }
    Some(
        COUNTIES
            .iter()
            .filter(|(parent, _, _)| *parent == city)
            .map(|(_, name, code)| (*name, *code))
            .collect(),
    )
}

/// The city of a county, for a known county.
pub fn city_of_county(county: &str) -> Option<&'static str> {
    COUNTIES
        .iter()
        .find(|(_, _, code)| *code == county)
        .map(|(parent, _, _)| *parent)
}

/// The province of a city, for a known city.
pub fn province_of_city(city: &str) -> Option<&'static str> {
    CITIES
        .iter()
        .find(|(_, _, code)| *code == city)
        .map(|(parent, _, _)| *parent)
}

/// The table's own copy of a known code of any level.
fn known_code(area: &str) -> Option<&'static str> {
    PROVINCES
        .iter()
        .map(|(_, code)| *code)
        .chain(CITIES.iter().map(|(_, _, code)| *code))
        .chain(COUNTIES.iter().map(|(_, _, code)| *code))
        .find(|code| *code == area)
}

/// Every county code (admin stock overrides without an area apply to all of them).
pub fn all_counties() -> impl Iterator<Item = &'static str> {
    COUNTIES.iter().map(|(_, _, code)| *code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_level_is_populated_and_names_are_unique_per_parent() {
        assert_eq!(PROVINCES.len(), 34);
        for (_, province) in PROVINCES {
            let cities = cities(province).unwrap_or_default();
            assert!(!cities.is_empty(), "{province} has no city");
            for (_, city) in cities {
                let counties = counties(city).unwrap_or_default();
                assert!(!counties.is_empty(), "{city} has no county");
                let names: HashSet<_> = counties.iter().map(|(name, _)| name).collect();
                assert_eq!(names.len(), counties.len(), "{city} repeats a name");
            }
        }
        assert_eq!(counties(TIANJIN_CITY).map(|c| c.len()), Some(16));
        let codes: HashSet<_> = COUNTIES.iter().map(|(_, _, code)| code).collect();
        assert_eq!(codes.len(), COUNTIES.len());
    }

    #[test]
    fn own_ids_round_trip_and_never_meet_the_standard_ones() {
        let all = PROVINCES
            .iter()
            .map(|(_, code)| *code)
            .chain(CITIES.iter().map(|(_, _, code)| *code))
            .chain(COUNTIES.iter().map(|(_, _, code)| *code));
        let mut own_ids = HashSet::new();
        for code in all {
            let own = AreaIds::Own.public(code);
            assert_eq!(AreaIds::Own.code(&own), Some(code), "{code} → {own}");
            assert_eq!(AreaIds::Own.code(code), None, "{code} is not an own id");
            assert_eq!(
                AreaIds::Standard.code(&own),
                None,
                "{own} is not a GB/T code"
            );
            assert_eq!(AreaIds::Standard.public(code), code);
            assert!(own_ids.insert(own.into_owned()));
        }
        assert_eq!(AreaIds::Own.public("120000"), "2");
        assert_eq!(AreaIds::Own.public("120100"), "2802");
        assert_eq!(AreaIds::Own.public("120101"), "50966");
        for id in ["", "0", "02", "+2", "35", "2800", "50949", "51069"] {
            assert_eq!(AreaIds::Own.code(id), None, "{id:?}");
        }
        for ids in [AreaIds::Standard, AreaIds::Own] {
            assert_eq!(ids.code(ids.stray_county()), None);
        }
    }
}
