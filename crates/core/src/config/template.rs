//! The commented default `config.toml`, written from the schema and the
//! defaults so it can never drift from the model.

use std::fmt::Write as _;

use serde_json::{Map, Value as Json};

use super::model::Config;
use super::schema::{config_schema, describe};

/// The text `vspread config init` writes: every section and key with its
/// default value, its description, unit and allowed values as comments.
pub fn default_file_text() -> String {
    let schema = config_schema();
    let defaults = serde_json::to_value(Config::default()).unwrap_or(Json::Null);
    let mut out = String::new();
    out.push_str(
        "# vspread configuration.\n\
         #\n\
         # Every key is optional: a key left out takes the default shown here.\n\
         # Each key's comment gives its meaning, unit and allowed values;\n\
         # `vspread config schema` prints the same as JSON Schema, and\n\
         # `vspread config validate` checks a file. A running vspread reloads this\n\
         # file when it changes (or on SIGHUP) and refuses an invalid version.\n",
    );
    if let (Some(props), Some(values)) = (
        schema.get("properties").and_then(Json::as_object),
        defaults.as_object(),
    ) {
        write_table(&mut out, "", props, values);
    }
    out
}

fn write_table(
    out: &mut String,
    path: &str,
    props: &Map<String, Json>,
    values: &Map<String, Json>,
) {
    // Scalars and lists of this table first, then its sub-tables, as TOML needs.
    let is_table = |s: &Json| s.get("type").and_then(Json::as_str) == Some("object");
    for (key, sub) in props.iter().filter(|(_, s)| !is_table(s)) {
        let Some(value) = values.get(key) else {
            continue;
        };
        let Some(sub) = sub.as_object() else { continue };
        if let Some(d) = sub.get("description").and_then(Json::as_str) {
            write_comment(out, d);
        }
        let mut facts = Vec::new();
        if let Some(u) = sub.get("x-unit").and_then(Json::as_str) {
            facts.push(format!("Unit: {u}."));
        }
        if let Some(a) = describe(sub) {
            facts.push(format!("Allowed: {a}."));
        }
        if !facts.is_empty() {
            let _ = writeln!(out, "# {}", facts.join(" "));
        }
        let _ = writeln!(out, "{key} = {}", toml_literal(value));
    }
    for (key, sub) in props.iter().filter(|(_, s)| is_table(s)) {
        let child = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        let (Some(sub_props), Some(sub_values)) = (
            sub.get("properties").and_then(Json::as_object),
            values.get(key).and_then(Json::as_object),
        ) else {
            continue;
        };
        out.push('\n');
        if let Some(d) = sub.get("description").and_then(Json::as_str) {
            write_comment(out, d);
        }
        let _ = writeln!(out, "[{child}]");
        write_table(out, &child, sub_props, sub_values);
    }
}

/// Writes a description as comment lines (doc comments may span lines).
fn write_comment(out: &mut String, text: &str) {
    for line in text.lines() {
        let _ = writeln!(out, "# {}", line.trim_end());
    }
}

/// A JSON scalar or list as a TOML literal.
pub(crate) fn toml_literal(value: &Json) -> String {
    match value {
        Json::String(s) => toml_edit::Value::from(s.as_str())
            .to_string()
            .trim()
            .to_string(),
        Json::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(0.0);
            let text = format!("{f:?}");
            if text.contains(['.', 'e', 'E']) {
                text
            } else {
                format!("{text}.0")
            }
        }
        Json::Number(n) => n.to_string(),
        Json::Bool(b) => b.to_string(),
        Json::Array(items) => {
            let parts: Vec<String> = items.iter().map(toml_literal).collect();
            format!("[{}]", parts.join(", "))
        }
        Json::Null | Json::Object(_) => "{}".into(),
    }
}
