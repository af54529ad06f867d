//! Configuration errors: each names the key path, the value as written, what
//! is allowed, and where in the file it is, so a person can fix it at once.

use std::fmt;

use serde::Serialize;

/// A 1-based line and column in the config file's text (columns count
/// characters, as editors do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

impl Location {
    /// The location of byte `offset` in `text` (clamped to the text's end).
    pub fn of_offset(text: &str, offset: usize) -> Location {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Location { line, column }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// What kind of mistake an error is, for callers that react differently
/// (the API maps all of them to 422; tests assert on them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// The text is not TOML (or not UTF-8, or too large to be a config file).
    Syntax,
    /// A value of the wrong type (a string where a number belongs, ...).
    Type,
    /// A number or length outside its bounds, or not finite.
    Range,
    /// A text that is not one of the allowed names.
    Enum,
    /// A text of the wrong shape (a time like "25:00", a bad address).
    Format,
    /// A key that the model does not have.
    UnknownKey,
    /// A rule that relates two keys (dte_min <= dte_max, ...).
    Rule,
}

/// One thing wrong with a configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConfigError {
    /// Dotted key path, such as `scanner.dte_min` or `trading.universe[2]`;
    /// empty when the error is about the document as a whole.
    pub path: String,
    pub kind: ConfigErrorKind,
    /// The offending value as written, when there is one.
    pub value: Option<String>,
    /// What is wrong, in words.
    pub message: String,
    /// What would be accepted, in words.
    pub allowed: Option<String>,
    /// Where in the file; absent for configs that did not come from a file.
    pub location: Option<Location>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(loc) = self.location {
            write!(f, "{loc}: ")?;
        }
        if !self.path.is_empty() {
            write!(f, "{}", self.path)?;
            if let Some(v) = &self.value {
                write!(f, " = {v}")?;
            }
            write!(f, ": ")?;
        }
        write!(f, "{}", self.message)?;
        if let Some(allowed) = &self.allowed {
            write!(f, " (allowed: {allowed})")?;
        }
        Ok(())
    }
}

/// Every error found in one configuration, in file order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConfigErrors {
    /// The file the errors are about, when known (prefixes each line).
    pub source_name: Option<String>,
    pub errors: Vec<ConfigError>,
}

impl ConfigErrors {
    pub(crate) fn new(errors: Vec<ConfigError>) -> Self {
        Self {
            source_name: None,
            errors,
        }
    }

    /// Names the file the errors came from, for messages.
    pub fn with_source_name(mut self, name: impl Into<String>) -> Self {
        self.source_name = Some(name.into());
        self
    }

    /// The errors about one key path.
    pub fn for_path<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a ConfigError> + 'a {
        self.errors.iter().filter(move |e| e.path == path)
    }

    pub fn len(&self) -> usize {
        self.errors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors.len();
        writeln!(
            f,
            "{} error{} in {}:",
            n,
            if n == 1 { "" } else { "s" },
            self.source_name.as_deref().unwrap_or("the configuration")
        )?;
        for e in &self.errors {
            match &self.source_name {
                Some(name) if e.location.is_some() => writeln!(f, "  {name}:{e}")?,
                _ => writeln!(f, "  {e}")?,
            }
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}
