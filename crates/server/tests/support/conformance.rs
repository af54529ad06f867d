//! Checks an API answer against the API's own OpenAPI document, so the
//! document cannot drift from what the routes send (the UI's types are
//! generated from it). Covers the keywords the document uses: `$ref`,
//! `type`, `enum`, `const`, `required`, `properties`,
//! `additionalProperties`, `items`, `oneOf`/`anyOf` (some branch must
//! match) and `allOf`. Objects are read as closed: a key the document does
//! not declare (in the object's schema or the variant it matches) is
//! reported, unless the schema allows `additionalProperties`.

use serde_json::Value;

/// The schema the document gives for `method` on `uri` (`/api/v1/...`,
/// query allowed) answering `status` with JSON, if it gives one.
pub fn response_schema<'d>(
    doc: &'d Value,
    method: &str,
    uri: &str,
    status: u16,
) -> Option<&'d Value> {
    let path = uri.split('?').next()?.strip_prefix("/api/v1")?;
    let (_, item) = doc["paths"]
        .as_object()?
        .iter()
        .find(|(template, _)| matches_template(template, path))?;
    let response = &item[method.to_lowercase()]["responses"][status.to_string()];
    response
        .get("content")
        .map(|c| &c["application/json"]["schema"])
}

fn matches_template(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| t == p || (t.starts_with('{') && t.ends_with('}')))
}

/// Every way `value` departs from `schema`, each naming where.
pub fn departures(doc: &Value, schema: &Value, value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    check(doc, schema, value, "$", &mut found);
    found
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The schema a `$ref` names, or the schema itself.
fn resolve<'d>(doc: &'d Value, schema: &'d Value) -> &'d Value {
    match schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
    {
        Some(name) => resolve(doc, &doc["components"]["schemas"][name]),
        None => schema,
    }
}

/// The keys `schema` declares for an object: its own properties, every
/// `allOf` member's, and those of the `oneOf`/`anyOf` branch `value`
/// matches (so `{seq, at, message}` beside a tagged variant's `{kind,
/// data}` is one closed object, as an adjacently tagged enum flattened into
/// a struct describes it).
fn declared_keys<'d>(doc: &'d Value, schema: &'d Value, value: &Value) -> Vec<&'d str> {
    let schema = resolve(doc, schema);
    let mut keys: Vec<&str> = schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().map(String::as_str).collect())
        .unwrap_or_default();
    for member in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        keys.extend(declared_keys(doc, member, value));
    }
    if let Some(branch) = matching_branch(doc, schema, value) {
        keys.extend(declared_keys(doc, branch, value));
    }
    keys
}

/// The first `oneOf`/`anyOf` branch `value` conforms to (its own keys
/// checked, the parent's allowed beside them).
fn matching_branch<'d>(doc: &'d Value, schema: &'d Value, value: &Value) -> Option<&'d Value> {
    let branches = schema
        .get("oneOf")
        .or_else(|| schema.get("anyOf"))
        .and_then(Value::as_array)?;
    branches.iter().find(|b| {
        let mut found = Vec::new();
        check_open(doc, b, value, "$", &mut found);
        found.is_empty()
    })
}

fn check(doc: &Value, schema: &Value, value: &Value, at: &str, found: &mut Vec<String>) {
    check_with(doc, schema, value, at, found, true);
}

/// [`check`] without the closed-object rule at this level (for a branch
/// whose object shares keys with its parent).
fn check_open(doc: &Value, schema: &Value, value: &Value, at: &str, found: &mut Vec<String>) {
    check_with(doc, schema, value, at, found, false);
}

fn check_with(
    doc: &Value,
    schema: &Value,
    value: &Value,
    at: &str,
    found: &mut Vec<String>,
    closed: bool,
) {
    let schema = resolve(doc, schema);
    if schema == &Value::Bool(true) {
        return;
    }
    if let Some(expected) = schema.get("const")
        && expected != value
    {
        found.push(format!("{at}: {value} where the document says {expected}"));
        return;
    }
    if let Some(branches) = schema
        .get("oneOf")
        .or_else(|| schema.get("anyOf"))
        .and_then(Value::as_array)
        && matching_branch(doc, schema, value).is_none()
    {
        found.push(format!(
            "{at}: matches none of the {} variants the document gives",
            branches.len()
        ));
        return;
    }
    for member in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        check_open(doc, member, value, at, found);
    }
    if let Some(declared) = schema.get("type") {
        let types: Vec<&str> = match declared {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let actual = json_type(value);
        if !types
            .iter()
            .any(|t| *t == actual || (*t == "number" && actual == "integer"))
        {
            found.push(format!("{at}: {actual} where the document says {types:?}"));
            return;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        found.push(format!("{at}: {value} is not one of {allowed:?}"));
    }
    if let Value::Object(map) = value {
        for key in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !map.contains_key(key) {
                found.push(format!("{at}: lacks the required {key}"));
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        if let Some(properties) = properties {
            for (key, v) in map {
                if let Some(s) = properties.get(key) {
                    check(doc, s, v, &format!("{at}.{key}"), found);
                }
            }
        }
        if let Some(extra) = schema.get("additionalProperties").filter(|a| a.is_object()) {
            for (key, v) in map {
                if !properties.is_some_and(|p| p.contains_key(key)) {
                    check(doc, extra, v, &format!("{at}.{key}"), found);
                }
            }
        }
        let open = schema
            .get("additionalProperties")
            .is_some_and(|a| a != &Value::Bool(false));
        let declares = properties.is_some()
            || schema.get("oneOf").is_some()
            || schema.get("anyOf").is_some()
            || schema.get("allOf").is_some();
        if closed && declares && !open {
            let known = declared_keys(doc, schema, value);
            for key in map.keys() {
                if !known.contains(&key.as_str()) {
                    found.push(format!("{at}: {key} is not in the document"));
                }
            }
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
        for (i, v) in items.iter().enumerate() {
            check(doc, item_schema, v, &format!("{at}[{i}]"), found);
        }
    }
}
