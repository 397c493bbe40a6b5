//! Field names as data. The harness, its checks and its scenarios speak one vocabulary, the
//! default profile's field names (`price`, `market_price`, `yggc_order`, ...): the *logical*
//! names. A profile's `[fields]` table says what each is called on the wire by its suppliers
//! (`market_price = "mall_price"`). The client renames parameters to wire names when it sends,
//! and answers back to logical names once they are parsed and their schema is checked; the
//! reference supplier does the opposite at its edge. Pointers in reports are shown in wire names.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

use super::schemas::SchemaStore;
use super::{CATALOGUE_FILE, ProfileError};

/// The logical fields the checks read, with what they mean. A profile that names one of them
/// nowhere in its schemas (under its wire name) is refused at load: the check could not find
/// it, and a silence must never count as a pass.
pub const ROLES: &[(&str, &str)] = &[
    ("sku", "the SKU code 商品编号"),
    ("price", "the agreement price 协议价"),
    ("market_price", "the market price 市场价"),
    ("num", "a quantity or a stock number 数量/库存"),
    ("order_id", "the supplier's order id 供应商订单号"),
    ("yggc_order", "the mall's order number 商城订单号"),
];

/// Logical ↔ wire field names; only the names that differ are kept.
#[derive(Debug, Clone, Default)]
pub struct FieldMap {
    to_wire: HashMap<String, String>,
    to_logical: HashMap<String, String>,
}

impl FieldMap {
    /// From the `[fields]` table (logical = wire). Returns the logical name of the first wire
    /// name given twice, or of a wire name that is another field's logical name, as an error.
    pub fn new(table: &BTreeMap<String, String>) -> Result<FieldMap, String> {
        let mut map = FieldMap::default();
        for (logical, wire) in table {
            if wire.is_empty() {
                return Err(format!("{logical}: the wire name is empty"));
            }
            if logical == wire {
                continue;
            }
            if let Some(other) = map.to_logical.insert(wire.clone(), logical.clone()) {
                return Err(format!(
                    "{logical}: wire name {wire:?} is already the wire name of {other}"
                ));
            }
            map.to_wire.insert(logical.clone(), wire.clone());
        }
        // A wire name that is also a renamed logical name would make renaming ambiguous.
        for (logical, wire) in &map.to_wire {
            if map.to_wire.contains_key(wire) {
                return Err(format!(
                    "{logical}: wire name {wire:?} is itself renamed; swap-renames are not supported"
                ));
            }
        }
        Ok(map)
    }

    /// Whether every field keeps its logical name (the default profile).
    pub fn is_identity(&self) -> bool {
        self.to_wire.is_empty()
    }

    /// The wire name of a logical field.
    pub fn wire<'a>(&'a self, logical: &'a str) -> &'a str {
        self.to_wire.get(logical).map_or(logical, String::as_str)
    }

    /// The logical name of a wire field.
    pub fn logical<'a>(&'a self, wire: &'a str) -> &'a str {
        self.to_logical.get(wire).map_or(wire, String::as_str)
    }

    /// An object's members renamed to wire names, at every depth.
    pub fn to_wire_value(&self, value: &Value) -> Value {
        if self.is_identity() {
            return value.clone();
        }
        rename(value, &self.to_wire)
    }

    /// Parameters renamed to wire names (nested values too).
    pub fn to_wire_map(&self, params: &Map<String, Value>) -> Map<String, Value> {
        params
            .iter()
            .map(|(k, v)| (self.wire(k).to_string(), self.to_wire_value(v)))
            .collect()
    }

    /// An answer renamed to logical names, at every depth. A member under a logical name that
    /// this profile calls something else (`market_price` where the profile says `mall_price`)
    /// is not the field the checks want: it is dropped, so it cannot stand in for the real one.
    pub fn to_logical_value(&self, value: Value) -> Value {
        if self.is_identity() {
            return value;
        }
        rename_owned(value, self)
    }

    /// Parameters renamed to logical names (nested values too).
    pub fn to_logical_map(&self, params: Map<String, Value>) -> Map<String, Value> {
        match self.to_logical_value(Value::Object(params)) {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    /// A JSON pointer in logical names, written in wire names.
    pub fn wire_pointer(&self, pointer: &str) -> String {
        self.map_pointer(pointer, &self.to_wire)
    }

    /// A JSON pointer in wire names, written in logical names.
    pub fn logical_pointer(&self, pointer: &str) -> String {
        self.map_pointer(pointer, &self.to_logical)
    }

    fn map_pointer(&self, pointer: &str, names: &HashMap<String, String>) -> String {
        if names.is_empty() || pointer.is_empty() {
            return pointer.to_string();
        }
        pointer
            .split('/')
            .map(|segment| {
                let key = segment.replace("~1", "/").replace("~0", "~");
                match names.get(&key) {
                    Some(renamed) => renamed.replace('~', "~0").replace('/', "~1"),
                    None => segment.to_string(),
                }
            })
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// Every role the checks read is named by some schema of the profile under its wire name: a
/// schema that says `mall_price` while `[fields]` still says `market_price` is caught here, at
/// load, instead of as a check that finds nothing to judge.
pub(super) fn check_roles_named(
    fields: &FieldMap,
    store: &SchemaStore,
) -> Result<(), ProfileError> {
    let mut named = std::collections::HashSet::new();
    for document in store.documents().values() {
        collect_property_names(document, &mut named);
    }
    for (logical, meaning) in ROLES {
        let wire = fields.wire(logical);
        if !named.contains(wire) {
            return Err(ProfileError::invalid(
                CATALOGUE_FILE,
                format!("fields.{logical}"),
                format!(
                    "the checks read {meaning} as {wire:?}, but no schema of this profile has a property of that name; set `{logical} = \"<the wire name>\"` under [fields]"
                ),
            ));
        }
    }
    Ok(())
}

fn collect_property_names<'a>(schema: &'a Value, out: &mut std::collections::HashSet<&'a str>) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::Object(properties)) = map.get("properties") {
                out.extend(properties.keys().map(String::as_str));
            }
            if let Some(Value::Array(required)) = map.get("required") {
                out.extend(required.iter().filter_map(Value::as_str));
            }
            for value in map.values() {
                collect_property_names(value, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_property_names(v, out)),
        _ => {}
    }
}

fn rename(value: &Value, names: &HashMap<String, String>) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let name = names.get(k).cloned().unwrap_or_else(|| k.clone());
                    (name, rename(v, names))
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| rename(v, names)).collect()),
        other => other.clone(),
    }
}

/// Renames in place of the owned value (answers can be large: no second copy is made).
fn rename_owned(value: Value, fields: &FieldMap) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                // A logical name the profile renames is not that field on this wire.
                .filter(|(k, _)| !fields.to_wire.contains_key(k))
                .map(|(k, v)| {
                    let name = fields.to_logical.get(&k).cloned().unwrap_or(k);
                    (name, rename_owned(v, fields))
                })
                .collect(),
        ),
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|v| rename_owned(v, fields)).collect())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn jd() -> FieldMap {
        let table = BTreeMap::from([
            ("market_price".to_string(), "mall_price".to_string()),
            ("yggc_order".to_string(), "po_order".to_string()),
            ("price".to_string(), "price".to_string()),
        ]);
        FieldMap::new(&table).expect("valid")
    }

    #[test]
    fn answers_become_logical_and_an_unmapped_twin_is_dropped() {
        let wire =
            json!({"result": [{"sku": "1", "price": 12, "mall_price": 10, "market_price": 99}]});
        let logical = jd().to_logical_value(wire);
        assert_eq!(
            logical,
            json!({"result": [{"sku": "1", "price": 12, "market_price": 10}]})
        );
    }

    #[test]
    fn params_and_pointers_go_to_the_wire() {
        let fields = jd();
        let params = json!({"yggc_order": "M1", "sku": [{"sku": "1", "num": 1}]});
        let Value::Object(params) = params else {
            unreachable!()
        };
        let wire = fields.to_wire_map(&params);
        assert!(wire.contains_key("po_order") && !wire.contains_key("yggc_order"));
        assert_eq!(
            fields.wire_pointer("/result/0/market_price"),
            "/result/0/mall_price"
        );
        assert_eq!(
            fields.logical_pointer("/result/po_order"),
            "/result/yggc_order"
        );
        assert_eq!(fields.wire_pointer("/result/0/sku"), "/result/0/sku");
    }

    #[test]
    fn ambiguous_tables_are_refused() {
        let twice = BTreeMap::from([
            ("market_price".to_string(), "x".to_string()),
            ("price".to_string(), "x".to_string()),
        ]);
        assert!(FieldMap::new(&twice).is_err());
        let swap = BTreeMap::from([
            ("market_price".to_string(), "price".to_string()),
            ("price".to_string(), "market_price".to_string()),
        ]);
        assert!(FieldMap::new(&swap).is_err());
    }
}
