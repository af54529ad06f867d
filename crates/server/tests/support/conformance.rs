//! Checks an API answer against the API's own OpenAPI document, so the
//! document cannot drift from what the routes send (the UI's types are
//! generated from it). Covers the keywords the document uses: `$ref`,
//! `type`, `enum`, `required`, `properties` and `items`. Objects with
//! `properties` are read as closed: a key the document does not declare is
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

fn check(doc: &Value, schema: &Value, value: &Value, at: &str, found: &mut Vec<String>) {
    if let Some(name) = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
    {
        return check(doc, &doc["components"]["schemas"][name], value, at, found);
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
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            let open = schema
                .get("additionalProperties")
                .is_some_and(|a| a != &Value::Bool(false));
            for (key, v) in map {
                match properties.get(key) {
                    Some(s) => check(doc, s, v, &format!("{at}.{key}"), found),
                    None if !open => found.push(format!("{at}: {key} is not in the document")),
                    None => {}
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
