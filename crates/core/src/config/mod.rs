//! The configuration model: `config.toml` as typed Rust.
//!
//! Two stages, as ripgrep's low/high args: the text is parsed into a spanned
//! tree and checked against the JSON Schema derived from [`Config`] (types,
//! ranges, enums, unknown keys: every violation at once, with line:column),
//! then deserialised and checked for rules that span keys. Only a value that
//! passed both is a valid [`Config`].
//!
//! ```
//! use vspread_core::config::Config;
//! let config = Config::from_toml_str("[exits]\nstop_loss_atr_mult = 1.5\n").unwrap();
//! assert_eq!(config.exits.stop_loss_atr_mult, 1.5);
//! assert_eq!(config.market_data.max_lines, 90); // everything else defaults
//!
//! let errors = Config::from_toml_str("[exits]\nstop_loss_atr_mult = -1\n").unwrap_err();
//! assert_eq!(errors.errors[0].path, "exits.stop_loss_atr_mult");
//! assert_eq!(errors.errors[0].location.unwrap().line, 2);
//! ```

mod apply_class;
mod diff;
mod error;
mod model;
mod notify;
mod rules;
mod schema;
mod template;
mod time_of_day;
mod tree;

use std::io::Read;
use std::path::Path;

pub use apply_class::{ApplyClass, apply_class};
pub use diff::{KeyChange, diff, value_at};
pub use error::{ConfigError, ConfigErrorKind, ConfigErrors, Location};
pub use model::*;
pub use notify::{NotifyConfig, NotifyEvent, NotifyFormat, NotifyTarget};
pub use schema::config_schema;
pub use template::default_file_text;
pub use time_of_day::{BadTimeOfDay, TIME_OF_DAY_PATTERN, TimeOfDay, Weekday};

use tree::Node;

/// Keys earlier versions had and this one no longer reads: a file that
/// still has one is accepted (the key is ignored) and the note says why.
pub const RETIRED_KEYS: &[(&str, &str)] = &[(
    "market_data.snapshot",
    "removed: chain quotes always stream, because an option's open interest (which the \
     scanner filters on) only comes with a streaming line; delete the line",
)];

/// The retired keys a config text still holds, with their notes.
pub fn retired_keys_in(text: &str) -> Vec<(&'static str, &'static str)> {
    let Ok(value) = text.parse::<toml::Table>() else {
        return Vec::new();
    };
    RETIRED_KEYS
        .iter()
        .filter(|(path, _)| {
            let mut node = Some(&value);
            let mut parts = path.split('.').peekable();
            while let Some(part) = parts.next() {
                if parts.peek().is_none() {
                    return node.is_some_and(|t| t.contains_key(part));
                }
                node = node
                    .and_then(|t| t.get(part))
                    .and_then(toml::Value::as_table);
            }
            false
        })
        .copied()
        .collect()
}

/// The largest config file accepted. Real files are a few kilobytes; the cap
/// keeps a wrong path (a log, a disk image) from being read into memory.
pub const MAX_CONFIG_BYTES: usize = 1024 * 1024;

impl Config {
    /// Parses and fully validates the text of a `config.toml`.
    pub fn from_toml_str(text: &str) -> Result<Config, ConfigErrors> {
        if text.len() > MAX_CONFIG_BYTES {
            return Err(too_large(text.len()));
        }
        let tree = match toml::de::DeTable::parse(text) {
            Ok(table) => Node::from_toml(table.get_ref(), table.span()),
            Err(err) => return Err(ConfigErrors::new(vec![syntax_error(text, &err)])),
        };
        Self::from_tree(&tree, Some(text))
    }

    /// Parses and fully validates raw bytes (rejecting non-UTF-8 with the
    /// position of the first bad byte).
    pub fn from_toml_bytes(bytes: &[u8]) -> Result<Config, ConfigErrors> {
        if bytes.len() > MAX_CONFIG_BYTES {
            return Err(too_large(bytes.len()));
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => Self::from_toml_str(text),
            Err(e) => {
                let good = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
                Err(ConfigErrors::new(vec![ConfigError {
                    path: String::new(),
                    kind: ConfigErrorKind::Syntax,
                    value: None,
                    message: format!(
                        "not UTF-8 text: invalid byte 0x{:02x}",
                        bytes[e.valid_up_to()]
                    ),
                    allowed: Some("a UTF-8 TOML file".into()),
                    location: Some(Location::of_offset(good, good.len())),
                }]))
            }
        }
    }

    /// Reads and validates a config file. A missing or unreadable file is an
    /// I/O error; everything else is reported as [`ConfigErrors`] named after
    /// the file.
    pub fn load_file(path: &Path) -> Result<Config, LoadError> {
        let bytes = read_capped(path)?;
        Self::from_toml_bytes(&bytes)
            .map_err(|e| LoadError::Invalid(e.with_source_name(path.display().to_string())))
    }

    /// Validates a configuration given as JSON (the API's PUT body).
    pub fn from_json(value: &serde_json::Value) -> Result<Config, ConfigErrors> {
        Self::from_tree(&Node::from_json(value), None)
    }

    /// Validates a configuration built in code.
    pub fn validate(&self) -> Result<(), ConfigErrors> {
        let json = serde_json::to_value(self).map_err(|e| {
            ConfigErrors::new(vec![document_error(format!(
                "cannot represent the configuration: {e}"
            ))])
        })?;
        Self::from_json(&json).map(|_| ())
    }

    fn from_tree(tree: &Node, text: Option<&str>) -> Result<Config, ConfigErrors> {
        let locate = |span: Option<std::ops::Range<usize>>| match (text, span) {
            (Some(t), Some(s)) => Some(Location::of_offset(t, s.start)),
            _ => None,
        };
        let mut violations = Vec::new();
        schema::check(tree, config_schema(), "", &mut violations);
        let mut errors: Vec<(usize, ConfigError)> = violations
            .into_iter()
            .map(|v| {
                let span = v.key_span.or_else(|| v.node.span.clone());
                let order = span.as_ref().map_or(0, |s| s.start);
                let mut e = v.error;
                e.location = locate(span);
                (order, e)
            })
            .collect();
        // Rules relating two keys are checked too, so every problem is
        // reported at once: keys that failed their own check take their
        // defaults for this, and a rule touching such a key is not reported
        // (its verdict would be about the default, not the user's value).
        let bad_paths: Vec<String> = errors.iter().map(|(_, e)| e.path.clone()).collect();
        let touches_bad = |path: &str| {
            bad_paths.iter().any(|b| {
                b.is_empty()
                    || path == b
                    || path.starts_with(&format!("{b}."))
                    || b.starts_with(&format!("{path}."))
                    || b.starts_with(&format!("{path}["))
            })
        };
        let mut json = tree.to_json();
        for path in &bad_paths {
            remove_path(&mut json, path);
        }
        for path in retired() {
            remove_path(&mut json, path);
        }
        let typed: Result<Config, _> = serde_json::from_value(json);
        match typed {
            Ok(config) => {
                let broken = rules::check_rules(&config)
                    .into_iter()
                    .chain(notify::check_rules(&config));
                for (mut e, other) in broken {
                    if touches_bad(&e.path) || touches_bad(other) {
                        continue;
                    }
                    let span = tree.span_of(&e.path);
                    e.location = locate(span.clone());
                    errors.push((span.map_or(usize::MAX, |s| s.start), e));
                }
            }
            Err(e) if errors.is_empty() => errors.push((0, document_error(e.to_string()))),
            Err(_) => {}
        }
        if errors.is_empty() {
            let mut json = tree.to_json();
            for path in retired() {
                remove_path(&mut json, path);
            }
            return serde_json::from_value(json)
                .map_err(|e| ConfigErrors::new(vec![document_error(e.to_string())]));
        }
        errors.sort_by_key(|(order, _)| *order);
        Err(ConfigErrors::new(
            errors.into_iter().map(|(_, e)| e).collect(),
        ))
    }
}

fn retired() -> impl Iterator<Item = &'static str> {
    RETIRED_KEYS.iter().map(|(path, _)| *path)
}

/// Removes the value at a dotted path (with `[i]` list indices cutting at
/// the list) from a JSON tree, so it takes its default.
fn remove_path(json: &mut serde_json::Value, path: &str) {
    let path = path.split('[').next().unwrap_or(path);
    let mut keys: Vec<&str> = path.split('.').collect();
    let Some(last) = keys.pop() else { return };
    let mut node = json;
    for k in keys {
        match node.get_mut(k) {
            Some(next) => node = next,
            None => return,
        }
    }
    if let Some(map) = node.as_object_mut() {
        map.remove(last);
    }
}

/// Why a config file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read config file {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(ConfigErrors),
}

fn read_capped(path: &Path) -> Result<Vec<u8>, LoadError> {
    let io = |source| LoadError::Io {
        path: path.display().to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() > MAX_CONFIG_BYTES {
        let len = std::fs::metadata(path).map_or(bytes.len(), |m| m.len() as usize);
        return Err(LoadError::Invalid(
            too_large(len).with_source_name(path.display().to_string()),
        ));
    }
    Ok(bytes)
}

/// An error about the configuration as a whole (no key to name): a value
/// that serde could not map after every key passed its own checks.
fn document_error(message: String) -> ConfigError {
    ConfigError {
        path: String::new(),
        kind: ConfigErrorKind::Type,
        value: None,
        message,
        allowed: None,
        location: None,
    }
}

fn too_large(len: usize) -> ConfigErrors {
    ConfigErrors::new(vec![ConfigError {
        path: String::new(),
        kind: ConfigErrorKind::Syntax,
        value: None,
        message: format!("the file is {len} bytes, too large for a config file"),
        allowed: Some(format!("at most {MAX_CONFIG_BYTES} bytes")),
        location: None,
    }])
}

/// A TOML syntax error, located, with the key path of the line it is on
/// when that can be told (a duplicate key names itself).
fn syntax_error(text: &str, err: &toml::de::Error) -> ConfigError {
    let offset = err.span().map_or(0, |s| s.start);
    ConfigError {
        path: path_at(text, offset),
        kind: ConfigErrorKind::Syntax,
        value: None,
        message: format!("invalid TOML: {}", err.message().trim()),
        allowed: None,
        location: Some(Location::of_offset(text, offset)),
    }
}

/// The dotted path of the key written on the line holding `offset`, under the
/// nearest table header above it ("" when there is no key there).
fn path_at(text: &str, offset: usize) -> String {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let line = text[line_start..line_end].trim();
    let header = text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && !l.starts_with("[["))
        .and_then(|l| l.strip_prefix('[')?.split(']').next())
        .map(|h| h.trim().to_string());
    if line.starts_with('[') {
        return line
            .trim_start_matches('[')
            .split(']')
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
    }
    let key = line
        .split('=')
        .next()
        .filter(|_| line.contains('='))
        .map(|k| k.trim().trim_matches('"').to_string())
        .filter(|k| {
            !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        });
    match (header, key) {
        (Some(h), Some(k)) => format!("{h}.{k}"),
        (None, Some(k)) => k,
        (Some(h), None) => h,
        (None, None) => String::new(),
    }
}

/// A stable version tag for a config file's bytes (FNV-1a 64, hex): the same
/// bytes give the same tag in every process, so it serves as the API's ETag
/// and tells a real change from a touch.
pub fn content_version(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests;
