//! The JSON Schema of [`Config`], generated from the Rust types, and the
//! validator that checks a value tree against it.
//!
//! Validation walks the schema rather than relying on serde's first error, so
//! every violation in a file is reported at once, each with its key path and
//! location. The walker understands the subset of JSON Schema that
//! `schemars` emits for our model: `type`, `enum`/`const`, `minimum`,
//! `maximum`, `minLength`, `maxLength`, `pattern`, `minItems`, `maxItems`,
//! `uniqueItems`, `items`, `properties`, `additionalProperties`, plus our
//! `format: "socket-address"`.

use std::net::SocketAddr;
use std::sync::OnceLock;

use regex::Regex;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value as Json};

use super::error::{ConfigError, ConfigErrorKind};
use super::model::Config;
use super::time_of_day::TIME_OF_DAY_PATTERN;
use super::tree::{Node, NodeValue};

/// The JSON Schema (draft 2020-12) of `config.toml`, with every subschema
/// inlined so a form generator can read each section in place.
pub fn config_schema() -> &'static Json {
    static SCHEMA: OnceLock<Json> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        SchemaSettings::draft2020_12()
            .for_deserialize()
            .with(|s| s.inline_subschemas = true)
            .into_generator()
            .into_root_schema_for::<Config>()
            .to_value()
    })
}

/// A problem found by the walker, before it is given a location.
pub(crate) struct Violation<'n> {
    pub node: &'n Node,
    /// The span of the key, for unknown keys (the value's span otherwise).
    pub key_span: Option<std::ops::Range<usize>>,
    pub error: ConfigError,
}

/// Checks `node` against `schema`, pushing one violation per problem.
pub(crate) fn check<'n>(node: &'n Node, schema: &Json, path: &str, out: &mut Vec<Violation<'n>>) {
    let Some(schema) = schema.as_object() else {
        return;
    };
    let mut report = |kind, message: String, allowed: Option<String>| {
        out.push(Violation {
            node,
            key_span: None,
            error: ConfigError {
                path: path.to_string(),
                kind,
                value: Some(node.display()),
                message,
                allowed,
                location: None,
            },
        });
    };

    let allowed = describe(schema);
    if !type_matches(&node.value, schema) {
        report(
            ConfigErrorKind::Type,
            format!("wrong type: found {}", node.value.type_name()),
            allowed,
        );
        return;
    }
    if let Some(names) = enum_values(schema) {
        let found = match &node.value {
            NodeValue::Str(s) => names.iter().any(|n| n == s),
            _ => false,
        };
        if !found {
            report(
                ConfigErrorKind::Enum,
                "not an allowed value".into(),
                allowed,
            );
        }
        return;
    }

    match &node.value {
        NodeValue::Int(_) | NodeValue::BigInt(_) | NodeValue::Float(_) => {
            let v = match &node.value {
                NodeValue::Int(i) => *i as f64,
                NodeValue::Float(f) => *f,
                _ => f64::INFINITY,
            };
            if matches!(node.value, NodeValue::BigInt(_)) {
                report(ConfigErrorKind::Range, "integer too large".into(), allowed);
            } else if !v.is_finite() {
                report(
                    ConfigErrorKind::Range,
                    "must be a finite number".into(),
                    allowed,
                );
            } else if num(schema, "minimum").is_some_and(|m| v < m)
                || num(schema, "maximum").is_some_and(|m| v > m)
                || num(schema, "exclusiveMinimum").is_some_and(|m| v <= m)
                || num(schema, "exclusiveMaximum").is_some_and(|m| v >= m)
            {
                report(ConfigErrorKind::Range, "out of range".into(), allowed);
            }
        }
        NodeValue::Str(s) => {
            let len = s.chars().count() as f64;
            if num(schema, "minLength").is_some_and(|m| len < m) {
                let message = if s.is_empty() {
                    "must not be empty"
                } else {
                    "too short"
                };
                report(ConfigErrorKind::Range, message.into(), allowed.clone());
            } else if num(schema, "maxLength").is_some_and(|m| len > m) {
                report(ConfigErrorKind::Range, "too long".into(), allowed.clone());
            }
            if let Some(pattern) = schema.get("pattern").and_then(Json::as_str)
                && !compiled(pattern).is_match(s)
            {
                report(
                    ConfigErrorKind::Format,
                    "wrong format".into(),
                    allowed.clone(),
                );
            }
            if schema.get("format").and_then(Json::as_str) == Some("socket-address")
                && s.parse::<SocketAddr>().is_err()
            {
                report(ConfigErrorKind::Format, "not an address".into(), allowed);
            }
        }
        NodeValue::Array(items) => {
            let n = items.len() as f64;
            if num(schema, "minItems").is_some_and(|m| n < m) {
                let message = if items.is_empty() {
                    "must not be empty"
                } else {
                    "too few items"
                };
                report(ConfigErrorKind::Range, message.into(), allowed);
            } else if num(schema, "maxItems").is_some_and(|m| n > m) {
                report(ConfigErrorKind::Range, "too many items".into(), allowed);
            }
            let item_schema = schema.get("items").cloned().unwrap_or(Json::Bool(true));
            let unique = schema.get("uniqueItems") == Some(&Json::Bool(true));
            let mut seen: Vec<Json> = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let item_path = format!("{path}[{i}]");
                check(item, &item_schema, &item_path, out);
                let as_json = item.to_json();
                if unique && seen.contains(&as_json) {
                    out.push(Violation {
                        node: item,
                        key_span: None,
                        error: ConfigError {
                            path: item_path,
                            kind: ConfigErrorKind::Rule,
                            value: Some(item.display()),
                            message: "repeated item".into(),
                            allowed: Some("each item at most once".into()),
                            location: None,
                        },
                    });
                }
                seen.push(as_json);
            }
        }
        NodeValue::Table(entries) => {
            let empty = Map::new();
            let props = schema
                .get("properties")
                .and_then(Json::as_object)
                .unwrap_or(&empty);
            let closed = schema.get("additionalProperties") == Some(&Json::Bool(false));
            for (key, key_span, value) in entries {
                let child_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match props.get(key) {
                    Some(sub) => check(value, sub, &child_path, out),
                    None if super::RETIRED_KEYS.iter().any(|(p, _)| *p == child_path) => {}
                    None if closed => out.push(Violation {
                        node: value,
                        key_span: key_span.clone(),
                        error: ConfigError {
                            path: child_path,
                            kind: ConfigErrorKind::UnknownKey,
                            value: None,
                            message: unknown_key_message(key, props),
                            allowed: None,
                            location: None,
                        },
                    }),
                    None => {}
                }
            }
        }
        NodeValue::Bool(_) | NodeValue::Datetime(_) | NodeValue::Null => {}
    }
}

fn unknown_key_message(key: &str, props: &Map<String, Json>) -> String {
    let best = props
        .keys()
        .map(|k| (strsim::jaro_winkler(key, k), k))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((_, k)) => format!("unknown key; did you mean `{k}`?"),
        None => {
            let names: Vec<&str> = props.keys().map(String::as_str).collect();
            format!("unknown key; known keys here: {}", names.join(", "))
        }
    }
}

fn num(schema: &Map<String, Json>, key: &str) -> Option<f64> {
    schema.get(key).and_then(Json::as_f64)
}

fn types(schema: &Map<String, Json>) -> Vec<&str> {
    match schema.get("type") {
        Some(Json::String(t)) => vec![t.as_str()],
        Some(Json::Array(ts)) => ts.iter().filter_map(Json::as_str).collect(),
        _ => Vec::new(),
    }
}

fn type_matches(value: &NodeValue, schema: &Map<String, Json>) -> bool {
    let ts = types(schema);
    if ts.is_empty() {
        return true;
    }
    let found = value.type_name();
    ts.iter()
        .any(|t| *t == found || (*t == "number" && found == "integer"))
}

/// The allowed names of an enum, from `enum` or from `oneOf` of `const`s.
fn enum_values(schema: &Map<String, Json>) -> Option<Vec<String>> {
    if let Some(Json::Array(values)) = schema.get("enum") {
        return Some(
            values
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
        );
    }
    if let Some(Json::Array(options)) = schema.get("oneOf") {
        let consts: Option<Vec<String>> = options
            .iter()
            .map(|o| o.get("const").and_then(Json::as_str).map(String::from))
            .collect();
        return consts;
    }
    None
}

fn compiled(pattern: &str) -> Regex {
    static CACHE: OnceLock<std::sync::Mutex<Vec<(String, Regex)>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, re)) = cache.iter().find(|(p, _)| p == pattern) {
        return re.clone();
    }
    // Patterns come from our own model, so they are known to compile; an
    // impossible pattern matches nothing rather than panicking.
    let re = Regex::new(pattern).unwrap_or_else(|_| Regex::new(r"[^\s\S]").expect("static regex"));
    cache.push((pattern.to_string(), re.clone()));
    re
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// What a schema accepts, in words ("an integer from 1 to 65535").
pub(crate) fn describe(schema: &Map<String, Json>) -> Option<String> {
    if let Some(names) = enum_values(schema) {
        let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
        return Some(format!("one of {}", quoted.join(", ")));
    }
    let ts = types(schema);
    let t = ts.iter().copied().find(|t| *t != "null")?;
    let bounds = || {
        let min = num(schema, "minimum");
        let max = num(schema, "maximum");
        match (min, max) {
            (Some(a), Some(b)) => format!(" from {} to {}", fmt_num(a), fmt_num(b)),
            (Some(a), None) => format!(" >= {}", fmt_num(a)),
            (None, Some(b)) => format!(" <= {}", fmt_num(b)),
            (None, None) => String::new(),
        }
    };
    Some(match t {
        "integer" => format!("an integer{}", bounds()),
        "number" => format!("a finite number{}", bounds()),
        "boolean" => "true or false".into(),
        "string" => {
            if schema.get("pattern").and_then(Json::as_str) == Some(TIME_OF_DAY_PATTERN) {
                "a time \"HH:MM\" from 00:00 to 23:59".into()
            } else if schema.get("format").and_then(Json::as_str) == Some("socket-address") {
                "an address and port such as \"127.0.0.1:8080\"".into()
            } else if let Some(p) = schema.get("pattern").and_then(Json::as_str) {
                format!("text matching {p}")
            } else {
                match (num(schema, "minLength"), num(schema, "maxLength")) {
                    (Some(a), Some(b)) => {
                        format!("text of {} to {} characters", fmt_num(a), fmt_num(b))
                    }
                    (Some(_), None) => "non-empty text".into(),
                    (None, Some(b)) => format!("text of at most {} characters", fmt_num(b)),
                    (None, None) => "text".into(),
                }
            }
        }
        "array" => {
            let item = schema
                .get("items")
                .and_then(Json::as_object)
                .and_then(describe)
                .map(|item| {
                    // `[[section.key]]` tables, one per item.
                    if item == "a table" {
                        "tables".into()
                    } else {
                        item
                    }
                })
                .unwrap_or_else(|| "values".into());
            let count = match (num(schema, "minItems"), num(schema, "maxItems")) {
                (Some(a), Some(b)) => format!(" ({} to {} items)", fmt_num(a), fmt_num(b)),
                (Some(a), None) => format!(
                    " (at least {} item{})",
                    fmt_num(a),
                    if a == 1.0 { "" } else { "s" }
                ),
                _ => String::new(),
            };
            format!("a list of {item}{count}")
        }
        "object" => "a table".into(),
        other => other.to_string(),
    })
}
