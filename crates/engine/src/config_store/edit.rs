//! Turning a new [`Config`] into the text of `config.toml` while keeping the
//! user's file as they wrote it.
//!
//! Only the leaves that changed are rewritten, in place, with `toml_edit`:
//! the comments, blank lines, key order, spacing and quoting around them
//! stay. A key absent from the file is added at the end of its section; a
//! missing section is added at the end of the file (parent tables that hold
//! no keys of their own get no header). An array keeps its layout: items
//! that did not change are left as written, new items copy their
//! neighbour's spacing.
//!
//! Every text produced here is parsed and validated again and must mean
//! exactly the new config; if an edit ever did not (a shape of file this
//! code did not foresee), the whole commented default file is rendered with
//! the new values instead, so what is written is always right.

use serde_json::Value as Json;
use toml_edit::{Array, ArrayOfTables, DocumentMut, Item, Table, TableLike, Value};
use vspread_core::config::{Config, KeyChange, default_file_text, diff};

use super::StoreError;

/// The text to write and how it was made.
#[derive(Debug)]
pub(super) struct Edited {
    pub text: String,
    /// False when the whole default file was rendered instead of editing
    /// the user's text.
    pub kept_user_text: bool,
}

/// The text meaning `new`: `old_text` (a valid file meaning the config the
/// `changes` start from) edited by `changes`, or the full default file with
/// `new`'s values when there is no usable old text.
pub(super) fn text_for(
    old_text: Option<&str>,
    changes: &[KeyChange],
    new: &Config,
) -> Result<Edited, StoreError> {
    if let Some(edited) = old_text.and_then(|t| apply_changes(t, changes))
        && means(&edited, new)
    {
        return Ok(Edited {
            text: edited,
            kept_user_text: true,
        });
    }
    if old_text.is_some() {
        tracing::warn!(
            "the edited config did not mean the new values; writing the full default layout (the old file is in the backup)"
        );
    }
    let full = render_full(new)?;
    Ok(Edited {
        text: full,
        kept_user_text: false,
    })
}

/// The commented default file with every value set to `config`'s.
pub(super) fn render_full(config: &Config) -> Result<String, StoreError> {
    let changes = diff(&Config::default(), config);
    let text = apply_changes(&default_file_text(), &changes).ok_or_else(|| StoreError::Render {
        reason: "the default config file is not valid TOML".into(),
    })?;
    if means(&text, config) {
        Ok(text)
    } else {
        Err(StoreError::Render {
            reason: "the rendered file does not mean the configuration to save".into(),
        })
    }
}

/// Whether `text` is a valid file meaning exactly `config`.
fn means(text: &str, config: &Config) -> bool {
    Config::from_toml_str(text).is_ok_and(|parsed| &parsed == config)
}

/// `text` with each change applied; `None` when `text` is not TOML or a
/// value cannot be written as TOML.
fn apply_changes(text: &str, changes: &[KeyChange]) -> Option<String> {
    let mut doc: DocumentMut = text.parse().ok()?;
    for change in changes {
        set_path(&mut doc, &change.path, &change.new)?;
    }
    Some(doc.to_string())
}

/// A non-empty list of tables (`[notify] targets`) as `[[...]]` sections,
/// one per item, as a person writes them; `None` for any other value.
fn array_of_tables(value: &Json) -> Option<ArrayOfTables> {
    let items = value.as_array().filter(|items| !items.is_empty())?;
    let mut array = ArrayOfTables::new();
    for item in items {
        let mut table = Table::new();
        for (k, v) in item.as_object()? {
            table.insert(k, Item::Value(to_toml(v)?));
        }
        array.push(table);
    }
    Some(array)
}

/// Sets the value at a dotted key path, creating the tables on the way.
fn set_path(doc: &mut DocumentMut, path: &str, value: &Json) -> Option<()> {
    if let Some(tables) = array_of_tables(value) {
        return set_item(doc, path, Item::ArrayOfTables(tables));
    }
    let new = to_toml(value)?;
    let mut keys: Vec<&str> = path.split('.').collect();
    let leaf = keys.pop()?;
    let mut table: &mut dyn TableLike = doc.as_table_mut();
    for key in keys {
        if table.get(key).and_then(Item::as_table_like).is_none() {
            // Implicit: a table gets a `[header]` only if it holds keys.
            let mut created = Table::new();
            created.set_implicit(true);
            table.insert(key, Item::Table(created));
        }
        table = table.get_mut(key).and_then(Item::as_table_like_mut)?;
    }
    match table.get_mut(leaf).and_then(Item::as_value_mut) {
        Some(old) => replace_value(old, new),
        None => {
            table.insert(leaf, Item::Value(new));
        }
    }
    Some(())
}

/// Puts `item` at a dotted key path in place of what is there, creating
/// the tables on the way (a list of tables is rewritten whole).
fn set_item(doc: &mut DocumentMut, path: &str, item: Item) -> Option<()> {
    let mut keys: Vec<&str> = path.split('.').collect();
    let leaf = keys.pop()?;
    let mut table: &mut dyn TableLike = doc.as_table_mut();
    for key in keys {
        if table.get(key).and_then(Item::as_table_like).is_none() {
            let mut created = Table::new();
            created.set_implicit(true);
            table.insert(key, Item::Table(created));
        }
        table = table.get_mut(key).and_then(Item::as_table_like_mut)?;
    }
    table.insert(leaf, item);
    Some(())
}

/// Puts `new` where `slot` is, keeping the comments and spacing around it.
fn replace_value(slot: &mut Value, new: Value) {
    if let (Value::Array(old), Value::Array(new)) = (&mut *slot, &new) {
        update_array(old, new);
        return;
    }
    if same_value(slot, &new) {
        return;
    }
    let decor = slot.decor().clone();
    *slot = new;
    *slot.decor_mut() = decor;
}

/// Makes `old` hold `new`'s items, changing only the items that differ.
fn update_array(old: &mut Array, new: &Array) {
    for (i, item) in new.iter().enumerate() {
        if let Some(slot) = old.get_mut(i) {
            replace_value(slot, item.clone());
        } else {
            push_like_neighbour(old, item.clone());
        }
    }
    while old.len() > new.len() {
        remove_last(old);
    }
}

fn raw(s: Option<&toml_edit::RawString>) -> &str {
    s.and_then(toml_edit::RawString::as_str).unwrap_or("")
}

/// Appends `item` laid out as the last item is: on its own line when the
/// array is one item per line, after `, ` otherwise.
fn push_like_neighbour(array: &mut Array, mut item: Value) {
    let len = array.len();
    let Some(last) = array.get_mut(len.wrapping_sub(1)) else {
        array.push(item);
        return;
    };
    let prefix = raw(last.decor().prefix()).to_string();
    let multiline = prefix.contains('\n');
    if len < 2 && !multiline {
        array.push(item);
        return;
    }
    // The line break and indent only: comments stay with their own item.
    let prefix = match prefix.rsplit_once('\n') {
        Some((_, indent)) => format!("\n{indent}"),
        None => prefix,
    };
    // Without a trailing comma, the space before `]` is the last item's
    // suffix: it moves to the new last item.
    let suffix = if array.trailing_comma() {
        String::new()
    } else {
        let last = array.get_mut(len - 1).map(Value::decor_mut);
        let suffix = last.as_ref().map_or("", |d| raw(d.suffix())).to_string();
        if let Some(d) = last {
            d.set_suffix("");
        }
        suffix
    };
    item.decor_mut().set_prefix(prefix);
    item.decor_mut().set_suffix(suffix);
    array.push_formatted(item);
}

/// Removes the last item, keeping any comment that ended the line above it
/// (stored in the removed item's prefix) and the space before `]`.
fn remove_last(array: &mut Array) {
    let Some(index) = array.len().checked_sub(1) else {
        return;
    };
    let removed = array.remove(index);
    let prefix = raw(removed.decor().prefix());
    let head = prefix
        .rsplit_once('\n')
        .map(|(head, _)| head)
        .filter(|h| !h.trim().is_empty())
        .unwrap_or("");
    let removed_suffix = raw(removed.decor().suffix());
    if array.trailing_comma() || array.is_empty() {
        if !head.is_empty() {
            let trailing = raw(Some(array.trailing())).to_string();
            // The removed item's own line comment goes with it.
            let rest = trailing.find('\n').map_or("\n", |i| &trailing[i..]);
            array.set_trailing(format!("{head}{rest}"));
        }
    } else if let Some(last) = array.get_mut(index - 1) {
        last.decor_mut()
            .set_suffix(format!("{head}{removed_suffix}"));
    }
}

/// Whether two TOML values are equal, ignoring how they are written.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(a), Value::String(b)) => a.value() == b.value(),
        (Value::Integer(a), Value::Integer(b)) => a.value() == b.value(),
        (Value::Float(a), Value::Float(b)) => a.value() == b.value(),
        (Value::Boolean(a), Value::Boolean(b)) => a.value() == b.value(),
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| same_value(x, y))
        }
        _ => false,
    }
}

/// A JSON leaf as a TOML value; `None` for what TOML cannot hold (null,
/// integers beyond i64).
fn to_toml(value: &Json) -> Option<Value> {
    Some(match value {
        Json::Bool(b) => Value::from(*b),
        Json::Number(n) if n.is_f64() => Value::from(n.as_f64()?),
        Json::Number(n) => Value::from(n.as_i64()?),
        Json::String(s) => Value::from(s.as_str()),
        Json::Array(items) => {
            let mut array = Array::new();
            for item in items {
                array.push(to_toml(item)?);
            }
            Value::Array(array)
        }
        Json::Object(map) => {
            let mut table = toml_edit::InlineTable::new();
            for (k, v) in map {
                table.insert(k, to_toml(v)?);
            }
            Value::InlineTable(table)
        }
        Json::Null => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn change(path: &str, new: Json) -> KeyChange {
        KeyChange {
            path: path.into(),
            old: Json::Null,
            new,
            applies: vspread_core::config::apply_class(path),
        }
    }

    #[test]
    fn a_changed_value_keeps_its_comment_and_spacing() {
        let text = "[exits]\nstop_loss_atr_mult    = 1.8   # ATRs\n";
        let out = apply_changes(text, &[change("exits.stop_loss_atr_mult", json!(1.5))]).unwrap();
        assert_eq!(out, "[exits]\nstop_loss_atr_mult    = 1.5   # ATRs\n");
    }

    #[test]
    fn arrays_keep_their_layout_and_unchanged_items() {
        let text = "[trading]\nuniverse = [\n    'SPY',  # core\n    \"QQQ\",\n]\n";
        let out = apply_changes(
            text,
            &[change("trading.universe", json!(["SPY", "IWM", "DIA"]))],
        )
        .unwrap();
        assert_eq!(
            out,
            "[trading]\nuniverse = [\n    'SPY',  # core\n    \"IWM\",\n    \"DIA\",\n]\n"
        );
        let out = apply_changes(text, &[change("trading.universe", json!(["SPY"]))]).unwrap();
        assert_eq!(out, "[trading]\nuniverse = [\n    'SPY',  # core\n]\n");
        let out = apply_changes(
            "[trading]\nuniverse = []\n",
            &[change("trading.universe", json!(["A", "B"]))],
        )
        .unwrap();
        assert_eq!(out, "[trading]\nuniverse = [\"A\", \"B\"]\n");
    }

    #[test]
    fn a_list_of_tables_is_written_as_sections_and_read_back_the_same() {
        let target = |name: &str| json!({ "name": name, "format": "slack", "secret_env": "HOOK", "events": ["fills"] });
        let text = "[notify]\nmax_attempts = 3\ntargets = []\n\n[logging]\nlevel = \"info\"\n";
        let two = json!([target("a"), target("b")]);
        let out = apply_changes(text, &[change("notify.targets", two.clone())]).unwrap();
        assert_eq!(out.matches("[[notify.targets]]").count(), 2, "{out}");
        assert!(out.contains("name = \"b\"\nformat = \"slack\""), "{out}");
        let config = Config::from_toml_str(&out).unwrap();
        assert_eq!(config.notify.max_attempts, 3);
        assert_eq!(config.notify.targets.len(), 2);
        assert_eq!(
            serde_json::to_value(&config.notify.targets[1]).unwrap()["name"],
            "b"
        );
        // Back to none: the sections go, the key stays an empty list.
        let out = apply_changes(&out, &[change("notify.targets", json!([]))]).unwrap();
        assert!(!out.contains("[[notify.targets]]"), "{out}");
        assert!(
            Config::from_toml_str(&out)
                .unwrap()
                .notify
                .targets
                .is_empty()
        );
        // A file without [notify] gets the sections alone.
        let out = apply_changes("", &[change("notify.targets", json!([target("c")]))]).unwrap();
        assert_eq!(
            out.trim_start(),
            "[[notify.targets]]\nname = \"c\"\nformat = \"slack\"\nsecret_env = \"HOOK\"\nevents = [\"fills\"]\n"
        );
    }

    #[test]
    fn missing_keys_join_their_section_and_missing_sections_are_appended() {
        let text = "[trading]\nmax_positions = 4\n\n# exits below\n[exits]\nexit_dte = 1\n";
        let out = apply_changes(
            text,
            &[
                change("trading.scan_interval_s", json!(60)),
                change("strategies.low_base.enabled", json!(false)),
            ],
        )
        .unwrap();
        assert_eq!(
            out,
            "[trading]\nmax_positions = 4\nscan_interval_s = 60\n\n# exits below\n[exits]\nexit_dte = 1\n\n[strategies.low_base]\nenabled = false\n"
        );
    }

    #[test]
    fn inline_and_dotted_tables_are_edited_where_they_are() {
        let text = "exits = { stop_loss_atr_mult = 1.8 }\nrisk.kill_switch = false\n";
        let out = apply_changes(
            text,
            &[
                change("exits.stop_loss_atr_mult", json!(2.0)),
                change("risk.kill_switch", json!(true)),
            ],
        )
        .unwrap();
        assert_eq!(
            out,
            "exits = { stop_loss_atr_mult = 2.0 }\nrisk.kill_switch = true\n"
        );
    }

    #[test]
    fn values_toml_cannot_hold_are_refused() {
        assert!(apply_changes("", &[change("a.b", Json::Null)]).is_none());
        assert!(apply_changes("", &[change("a.b", json!(u64::MAX))]).is_none());
        assert!(apply_changes("not = [toml", &[]).is_none());
    }

    #[test]
    fn the_full_render_is_the_default_file_with_the_new_values() {
        let mut config = Config::default();
        assert_eq!(render_full(&config).unwrap(), default_file_text());
        config.exits.exit_dte = 3;
        let text = render_full(&config).unwrap();
        assert_eq!(Config::from_toml_str(&text).unwrap(), config);
        assert!(text.starts_with(default_file_text().lines().next().unwrap()));
    }
}
