//! An OpenAPI 3.1 document of the whole supplier interface, derived from the profile, for Swagger
//! UI or a server generator. Every schema document becomes a component (named after its path,
//! e.g. `result.prices`), and `$ref`s between files are rewritten to point at the components.

use serde_json::{Map, Value, json};

use super::Profile;
use super::catalogue::Encoding;

/// `request/prices.json` → `request.prices`.
fn component_name(path: &str) -> String {
    path.trim_end_matches(".json").replace('/', ".")
}

fn component_ref(path: &str) -> String {
    format!("#/components/schemas/{}", component_name(path))
}

/// Resolves `reference` (relative to the document at `from_path`) into a component reference.
fn rewrite_reference(reference: &str, from_path: &str) -> String {
    let (target, fragment) = match reference.split_once('#') {
        Some((target, fragment)) => (target, fragment),
        None => (reference, ""),
    };
    let path = if target.is_empty() {
        from_path.to_string()
    } else {
        let mut parts: Vec<&str> = from_path.split('/').collect();
        parts.pop();
        for segment in target.split('/') {
            match segment {
                ".." => {
                    parts.pop();
                }
                "." | "" => {}
                other => parts.push(other),
            }
        }
        parts.join("/")
    };
    format!("{}{}", component_ref(&path), fragment)
}

/// A copy of a schema document fit to live under `components/schemas`.
fn as_component(value: &Value, from_path: &str, top: bool) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, inner) in map {
                match key.as_str() {
                    // The document's identity is its component name now; a `$id` here would
                    // change the base that the rewritten `$ref`s resolve against.
                    "$id" | "$schema" if top => {}
                    "$ref" => {
                        let reference = inner.as_str().unwrap_or_default();
                        out.insert(
                            key.clone(),
                            Value::String(rewrite_reference(reference, from_path)),
                        );
                    }
                    _ => {
                        out.insert(key.clone(), as_component(inner, from_path, false));
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| as_component(v, from_path, false))
                .collect(),
        ),
        other => other.clone(),
    }
}

pub fn document(profile: &Profile) -> Value {
    let settings = &profile.settings;
    let mut components = Map::new();
    for (path, doc) in profile.schema_documents() {
        components.insert(component_name(path), as_component(doc, path, true));
    }
    let mut paths = Map::new();
    for interface in &profile.interfaces {
        let mut body_schema = json!({ "$ref": component_ref(&interface.request) });
        if interface.auth {
            // The token travels beside the interface's own parameters.
            body_schema = json!({
                "allOf": [
                    body_schema,
                    {
                        "type": "object",
                        "required": [settings.token_param],
                        "properties": { (settings.token_param.clone()): {
                            "type": "string",
                            "description": "access token (2.2)"
                        }}
                    }
                ]
            });
        }
        let form_first = settings.encoding == Encoding::Form;
        let mut content = Map::new();
        let media = [
            ("application/x-www-form-urlencoded", form_first),
            ("application/json", !form_first),
        ];
        for (media_type, _) in media
            .iter()
            .filter(|(_, first)| *first)
            .chain(media.iter().filter(|(_, first)| !*first))
        {
            content.insert(media_type.to_string(), json!({ "schema": body_schema }));
        }
        let mut description = format!(
            "§{} {} / {}. {}",
            interface.section,
            interface.name_zh,
            interface.name_en,
            if interface.required {
                "必需 required."
            } else {
                "非必需 optional."
            }
        );
        if let Some(batch) = &interface.batch_param {
            description.push_str(&format!(
                " `{batch}`: comma-separated SKUs, at most {}.",
                settings.batch_max
            ));
        }
        if !interface.json_params.is_empty() {
            description.push_str(&format!(
                " In a form body, {} travel as JSON text.",
                interface.json_params.join(", ")
            ));
        }
        description.push_str(&format!(
            " Requirements: {}.",
            interface.requirements.join(", ")
        ));
        let answer = json!({
            "allOf": [
                { "$ref": component_ref(super::ENVELOPE_FILE) },
                {
                    "type": "object",
                    "properties": {
                        "result": {
                            "description": "present on success",
                            "anyOf": [ { "$ref": component_ref(&interface.result) }, { "type": "null" } ]
                        }
                    }
                }
            ]
        });
        let operation = json!({
            "operationId": interface.id,
            "summary": format!("{} / {}", interface.name_zh, interface.name_en),
            "description": description,
            "tags": [if interface.required { "required 必需" } else { "optional 非必需" }],
            "requestBody": { "required": true, "content": content },
            "responses": {
                "200": {
                    "description": "The envelope; `success: false` with `desc` on a business failure. An expired or unknown token: `desc` contains `token_expired`.",
                    "content": { "application/json": { "schema": answer } }
                }
            }
        });
        paths.insert(interface.path.clone(), json!({ "post": operation }));
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "天津市政府采购中心网上商城 供应商接口 / Tianjin mall supplier interface",
            "version": env!("CARGO_PKG_VERSION"),
            "description": format!(
                "Profile `{}`: the interfaces every supplier implements and the mall calls. All calls are POST; every answer is one line of JSON `{{success, desc, result}}`. Generated by mallcheck from its protocol catalogue.",
                settings.name
            )
        },
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "servers": [ { "url": "http://127.0.0.1:8080", "description": "a supplier endpoint" } ],
        "tags": [
            { "name": "required 必需", "description": "必需接口: tested first; they decide certification." },
            { "name": "optional 非必需", "description": "非必需接口: extension interfaces, tested after the required ones." }
        ],
        "paths": paths,
        "components": { "schemas": components }
    })
}
