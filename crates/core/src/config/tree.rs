//! A source-neutral value tree with byte spans, so one validator serves both
//! a TOML file (spans known: errors get line:column) and a JSON body from the
//! API (no spans).

use std::ops::Range;

use serde_json::Value as Json;
use toml::de::{DeTable, DeValue};

/// One value of a configuration document.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub value: NodeValue,
    /// Byte range of the value in the source text, when it came from a file.
    pub span: Option<Range<usize>>,
}

#[derive(Debug, Clone)]
pub(crate) enum NodeValue {
    Str(String),
    Int(i64),
    /// An integer literal that does not fit in i64 (kept as written).
    BigInt(String),
    Float(f64),
    Bool(bool),
    Datetime(String),
    Array(Vec<Node>),
    /// Entries in source order: key, span of the key, value.
    Table(Vec<(String, Option<Range<usize>>, Node)>),
    Null,
}

impl NodeValue {
    /// The JSON Schema type names this value satisfies.
    pub fn type_name(&self) -> &'static str {
        match self {
            NodeValue::Str(_) => "string",
            NodeValue::Int(_) | NodeValue::BigInt(_) => "integer",
            NodeValue::Float(_) => "number",
            NodeValue::Bool(_) => "boolean",
            NodeValue::Datetime(_) => "datetime",
            NodeValue::Array(_) => "array",
            NodeValue::Table(_) => "object",
            NodeValue::Null => "null",
        }
    }
}

impl Node {
    pub fn from_toml(table: &DeTable<'_>, span: Range<usize>) -> Node {
        let entries = table
            .iter()
            .map(|(k, v)| {
                (
                    k.get_ref().to_string(),
                    Some(k.span()),
                    Node::from_toml_value(v.get_ref(), v.span()),
                )
            })
            .collect();
        Node {
            value: NodeValue::Table(entries),
            span: Some(span),
        }
    }

    fn from_toml_value(value: &DeValue<'_>, span: Range<usize>) -> Node {
        let value = match value {
            DeValue::String(s) => NodeValue::Str(s.to_string()),
            DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => NodeValue::Int(n),
                Err(_) => NodeValue::BigInt(i.to_string()),
            },
            DeValue::Float(f) => {
                // The literal is a valid TOML float; `inf`/`nan` spellings map
                // to non-finite values so the range check can name them.
                let text = f.as_str();
                let parsed = if text.contains("nan") {
                    f64::NAN
                } else {
                    text.parse().unwrap_or(f64::NAN)
                };
                NodeValue::Float(parsed)
            }
            DeValue::Boolean(b) => NodeValue::Bool(*b),
            DeValue::Datetime(d) => NodeValue::Datetime(d.to_string()),
            DeValue::Array(items) => NodeValue::Array(
                items
                    .iter()
                    .map(|v| Node::from_toml_value(v.get_ref(), v.span()))
                    .collect(),
            ),
            DeValue::Table(t) => return Node::from_toml(t, span),
        };
        Node {
            value,
            span: Some(span),
        }
    }

    pub fn from_json(value: &Json) -> Node {
        let value = match value {
            Json::Null => NodeValue::Null,
            Json::Bool(b) => NodeValue::Bool(*b),
            Json::Number(n) => match n.as_i64() {
                Some(i) => NodeValue::Int(i),
                None if n.is_u64() => NodeValue::BigInt(n.to_string()),
                None => NodeValue::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Json::String(s) => NodeValue::Str(s.clone()),
            Json::Array(items) => NodeValue::Array(items.iter().map(Node::from_json).collect()),
            Json::Object(map) => NodeValue::Table(
                map.iter()
                    .map(|(k, v)| (k.clone(), None, Node::from_json(v)))
                    .collect(),
            ),
        };
        Node { value, span: None }
    }

    /// The value as JSON, for typed deserialisation once it has been checked.
    pub fn to_json(&self) -> Json {
        match &self.value {
            NodeValue::Str(s) | NodeValue::Datetime(s) => Json::String(s.clone()),
            NodeValue::Int(i) => Json::from(*i),
            NodeValue::BigInt(s) => Json::String(s.clone()),
            NodeValue::Float(f) => {
                serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number)
            }
            NodeValue::Bool(b) => Json::Bool(*b),
            NodeValue::Array(items) => Json::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Table(entries) => Json::Object(
                entries
                    .iter()
                    .map(|(k, _, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
            NodeValue::Null => Json::Null,
        }
    }

    /// The value as a person would write it in the file, for messages.
    pub fn display(&self) -> String {
        const MAX: usize = 60;
        let text = match &self.value {
            NodeValue::Str(s) => format!("{s:?}"),
            NodeValue::Int(i) => i.to_string(),
            NodeValue::BigInt(s) | NodeValue::Datetime(s) => s.clone(),
            NodeValue::Float(f) if f.is_nan() => "nan".into(),
            NodeValue::Float(f) if f.is_infinite() => if *f > 0.0 { "inf" } else { "-inf" }.into(),
            NodeValue::Float(f) => format!("{f:?}"),
            NodeValue::Bool(b) => b.to_string(),
            NodeValue::Array(_) | NodeValue::Table(_) => self.to_json().to_string(),
            NodeValue::Null => "null".into(),
        };
        if text.chars().count() > MAX {
            let cut: String = text.chars().take(MAX).collect();
            format!("{cut}...")
        } else {
            text
        }
    }

    /// The span of the value at a dotted path of table keys (a key may
    /// index a list: `notify.targets[1].name`), if any.
    pub fn span_of(&self, path: &str) -> Option<Range<usize>> {
        let mut node = self;
        for part in path.split('.') {
            let (key, index) = match part.split_once('[') {
                Some((key, rest)) => (key, rest.strip_suffix(']')?.parse::<usize>().ok()),
                None => (part, None),
            };
            let NodeValue::Table(entries) = &node.value else {
                return None;
            };
            node = &entries.iter().find(|(k, _, _)| k == key)?.2;
            if let Some(i) = index {
                let NodeValue::Array(items) = &node.value else {
                    return None;
                };
                node = items.get(i)?;
            }
        }
        node.span.clone()
    }
}
