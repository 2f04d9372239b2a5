//! The JSON Schema of the config file, generated from the raw types, and the list of every key.

use std::sync::OnceLock;

use serde_json::{Map, Value};

use super::raw::RawConfig;

/// The JSON Schema (draft 2020-12) of the config file, pretty-printed with a final newline. The
/// shipped copy is `schema/smoothtask.schema.json`; a test keeps it equal to this.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(RawConfig);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// Every key path the config knows, sorted, sections included; list items are written `[]`
/// (`policy.classes[].match[].qos`).
pub fn config_keys() -> &'static [String] {
    static KEYS: OnceLock<Vec<String>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let schema = serde_json::to_value(schemars::schema_for!(RawConfig)).unwrap_or_default();
        let empty = Map::new();
        let defs = schema
            .get("$defs")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let mut out = Vec::new();
        walk(&schema, defs, "", &mut out, 0);
        out.sort();
        out.dedup();
        out
    })
}

pub(crate) fn known_keys() -> &'static [String] {
    config_keys()
}

fn walk(
    schema: &Value,
    defs: &Map<String, Value>,
    prefix: &str,
    out: &mut Vec<String>,
    depth: usize,
) {
    if depth > 16 {
        return;
    }
    if let Some(name) = schema.get("$ref").and_then(Value::as_str)
        && let Some(def) = defs.get(name.trim_start_matches("#/$defs/"))
    {
        walk(def, defs, prefix, out, depth + 1);
    }
    for combinator in ["anyOf", "oneOf", "allOf"] {
        for sub in schema
            .get(combinator)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            walk(sub, defs, prefix, out, depth + 1);
        }
    }
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (key, sub) in props {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            out.push(path.clone());
            walk(sub, defs, &path, out, depth + 1);
        }
    }
    if let Some(items) = schema.get("items") {
        walk(items, defs, &format!("{prefix}[]"), out, depth + 1);
    }
}
