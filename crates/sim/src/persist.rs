//! `--state FILE`: the account, order book, executions, next order id
//! (all inside the venue) and the market's clock and prices survive a
//! restart. Written as JSON, atomically (a temporary file in the same
//! directory, synced, then renamed over the old one), so a crash leaves
//! either the old state or the new one, never half of each.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::gateway::Book;
use crate::market::{Market, MarketState};
use crate::orders::Venue;

/// What the state file holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedState {
    /// Format version, for refusing files from a future layout.
    pub version: u32,
    pub market: MarketState,
    pub venue: Venue,
}

/// The current file format.
pub const VERSION: u32 = 1;

/// Why a state file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("reading state file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("state file {path} is not a simulator state: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("state file {path} has format version {found}, this simulator reads {VERSION}")]
    Version { path: PathBuf, found: u32 },
    #[error("writing state file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl SavedState {
    pub fn of(book: &Book) -> SavedState {
        SavedState {
            version: VERSION,
            market: book.market.state(),
            venue: book.venue.clone(),
        }
    }

    /// The market and venue this state describes.
    pub fn into_book(self) -> Book {
        Book {
            market: Market::from_state(self.market),
            venue: self.venue,
        }
    }
}

/// Loads `path`; `Ok(None)` if it does not exist yet.
pub fn load(path: &Path) -> Result<Option<SavedState>, PersistError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(PersistError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let state: SavedState = serde_json::from_str(&text).map_err(|source| PersistError::Parse {
        path: path.to_path_buf(),
        source,
    })?;
    if state.version != VERSION {
        return Err(PersistError::Version {
            path: path.to_path_buf(),
            found: state.version,
        });
    }
    Ok(Some(state))
}

/// Writes `state` to `path` atomically.
pub fn save(path: &Path, state: &SavedState) -> Result<(), PersistError> {
    let write_err = |source| PersistError::Write {
        path: path.to_path_buf(),
        source,
    };
    let json = serde_json::to_vec(state).map_err(|e| write_err(std::io::Error::other(e)))?;
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    let mut file = std::fs::File::create(&tmp).map_err(write_err)?;
    file.write_all(&json).map_err(write_err)?;
    file.sync_all().map_err(write_err)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(write_err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::MarketConfig;
    use crate::orders::VenueConfig;
    use chrono::TimeZone as _;

    fn book() -> Book {
        let start = chrono::Utc
            .with_ymd_and_hms(2026, 11, 23, 15, 0, 0)
            .unwrap();
        Book {
            market: Market::new(MarketConfig {
                seed: 3,
                start,
                always_open: true,
            }),
            venue: Venue::new(VenueConfig::new(3)),
        }
    }

    #[test]
    fn saves_atomically_and_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sim.json");
        assert!(
            load(&path).unwrap().is_none(),
            "absent file is a fresh start"
        );
        let mut b = book();
        b.market
            .advance_to(b.market.now() + chrono::Duration::minutes(5));
        save(&path, &SavedState::of(&b)).unwrap();
        assert!(!dir.path().join("sim.json.tmp").exists());
        let back = load(&path).unwrap().unwrap().into_book();
        assert_eq!(back.market.now(), b.market.now());
        assert_eq!(back.market.spot("SPY"), b.market.spot("SPY"));
        assert_eq!(back.venue, b.venue);
    }

    #[test]
    fn a_broken_file_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broken.json");
        std::fs::write(&path, "{ not json").unwrap();
        let err = load(&path).unwrap_err().to_string();
        assert!(err.contains("broken.json"), "{err}");
        let mut state = serde_json::to_value(SavedState::of(&book())).unwrap();
        state["version"] = 99.into();
        std::fs::write(&path, state.to_string()).unwrap();
        let err = load(&path).unwrap_err().to_string();
        assert!(err.contains("format version 99"), "{err}");
    }
}
