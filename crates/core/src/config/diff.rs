//! Which keys differ between two configurations, leaf by leaf, in schema
//! order. Lists are compared whole: `trading.universe` is one key.

use serde::Serialize;
use serde_json::Value as Json;

use super::apply_class::{ApplyClass, apply_class};
use super::model::Config;

/// One key whose value differs.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct KeyChange {
    /// Dotted key path, such as `exits.stop_loss_atr_mult`.
    pub path: String,
    pub old: Json,
    pub new: Json,
    /// How the new value takes effect in a running engine.
    pub applies: ApplyClass,
}

/// The keys whose values differ between `old` and `new`.
pub fn diff(old: &Config, new: &Config) -> Vec<KeyChange> {
    let (Ok(a), Ok(b)) = (serde_json::to_value(old), serde_json::to_value(new)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    walk("", &a, &b, &mut out);
    out
}

fn walk(path: &str, a: &Json, b: &Json, out: &mut Vec<KeyChange>) {
    match (a, b) {
        (Json::Object(ma), Json::Object(mb)) => {
            for (k, va) in ma {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(&p, va, mb.get(k).unwrap_or(&Json::Null), out);
            }
        }
        _ if a != b => out.push(KeyChange {
            path: path.to_string(),
            old: a.clone(),
            new: b.clone(),
            applies: apply_class(path),
        }),
        _ => {}
    }
}

/// The value at a dotted key path of a configuration, as JSON.
pub fn value_at(config: &Config, path: &str) -> Option<Json> {
    let mut v = serde_json::to_value(config).ok()?;
    for key in path.split('.') {
        v = v.get_mut(key)?.take();
    }
    Some(v)
}
