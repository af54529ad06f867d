//! The configuration model: `config.toml` as typed Rust.
//!
//! Two stages, as ripgrep's low/high args: the text is parsed into a spanned
//! tree and checked against the JSON Schema derived from [`Config`] (types,
//! ranges, enums, unknown keys: every violation at once, with line:column),
//! then deserialised and checked for rules that span keys. Only a value that
//! passed both is a valid [`Config`].

mod model;
mod time_of_day;

pub use model::*;
pub use time_of_day::{BadTimeOfDay, TIME_OF_DAY_PATTERN, TimeOfDay, Weekday};
