//! What the desktop app remembers between launches: the mode chosen on the
//! first-run screen and which notifications to raise. Kept as JSON in the
//! app's config directory (`$XDG_CONFIG_HOME/app.vspread.desktop/` on
//! Linux), written atomically and private to the user (it can hold an
//! Attach token). A file that cannot be read is reported with its path and
//! the parser's line and column, and never overwritten until the user
//! chooses again.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::notices::NoticeKind;

/// The settings file's name in the app's config directory.
pub const SETTINGS_FILE: &str = "desktop.json";

/// How the app reaches an engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Mode {
    /// The engine in this process against the built-in simulated gateway.
    LocalDemo,
    /// The engine in this process against TWS / IB Gateway, as `config`
    /// says. A config with `[trading] mode = "live"` also needs `live`.
    LocalRun {
        config: PathBuf,
        #[serde(default)]
        live: bool,
    },
    /// An engine running elsewhere (a container, a pod, `vspread run`).
    Attach { url: String, token: String },
}

impl Mode {
    /// Whether the engine runs in this process.
    pub fn is_local(&self) -> bool {
        !matches!(self, Mode::Attach { .. })
    }
}

/// Which notifications are raised; every kind is on until switched off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NotificationSwitches {
    pub gateway: bool,
    pub order_filled: bool,
    pub position_closed: bool,
    pub daily_loss: bool,
    pub kill_switch: bool,
    pub apply: bool,
}

impl Default for NotificationSwitches {
    fn default() -> Self {
        Self {
            gateway: true,
            order_filled: true,
            position_closed: true,
            daily_loss: true,
            kill_switch: true,
            apply: true,
        }
    }
}

impl NotificationSwitches {
    /// Whether notices of `kind` are raised.
    pub fn allows(&self, kind: NoticeKind) -> bool {
        match kind {
            NoticeKind::GatewayLost | NoticeKind::GatewayBack => self.gateway,
            NoticeKind::OrderFilled => self.order_filled,
            NoticeKind::PositionClosed => self.position_closed,
            NoticeKind::DailyLossRefusal => self.daily_loss,
            NoticeKind::KillSwitchEngaged => self.kill_switch,
            NoticeKind::ApplyDone | NoticeKind::ApplyRefused => self.apply,
        }
    }
}

/// Everything the settings file holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The remembered mode; none shows the first-run screen.
    pub mode: Option<Mode>,
    pub notifications: NotificationSwitches,
}

/// Why the settings could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The settings file of one app config directory.
#[derive(Debug, Clone)]
pub struct SettingsFile {
    path: PathBuf,
}

impl SettingsFile {
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            path: dir.join(SETTINGS_FILE),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stored settings; the defaults when there is no file yet.
    pub fn load(&self) -> Result<Settings, SettingsError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Settings::default()),
            Err(source) => {
                return Err(SettingsError::Read {
                    path: self.path.display().to_string(),
                    source,
                });
            }
        };
        serde_json::from_str(&text).map_err(|e| SettingsError::Parse {
            path: self.path.display().to_string(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })
    }

    /// Writes `settings` whole: a private temp file, synced, renamed over.
    pub fn save(&self, settings: &Settings) -> Result<(), SettingsError> {
        let write_err = |source| SettingsError::Write {
            path: self.path.display().to_string(),
            source,
        };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(write_err)?;
        }
        let tmp = self.path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(settings).expect("settings serialize");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp).map_err(write_err)?;
        file.write_all(text.as_bytes()).map_err(write_err)?;
        file.sync_all().map_err(write_err)?;
        std::fs::rename(&tmp, &self.path).map_err(write_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_is_the_first_run() {
        let dir = tempfile::tempdir().unwrap();
        let file = SettingsFile::in_dir(dir.path());
        let s = file.load().unwrap();
        assert_eq!(s.mode, None);
        assert!(s.notifications.allows(NoticeKind::OrderFilled));
    }

    #[test]
    fn settings_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let file = SettingsFile::in_dir(&dir.path().join("nested"));
        let mut s = Settings {
            mode: Some(Mode::Attach {
                url: "http://127.0.0.1:8080".into(),
                token: "t".repeat(20),
            }),
            ..Settings::default()
        };
        s.notifications.order_filled = false;
        file.save(&s).unwrap();
        assert_eq!(file.load().unwrap(), s);
        assert!(!s.notifications.allows(NoticeKind::OrderFilled));
        assert!(s.notifications.allows(NoticeKind::PositionClosed));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(file.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_broken_file_names_path_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let file = SettingsFile::in_dir(dir.path());
        std::fs::write(file.path(), "{\n  \"mode\": {\"mode\": \"sideways\"}\n}").unwrap();
        let e = file.load().unwrap_err().to_string();
        assert!(e.contains(SETTINGS_FILE), "{e}");
        assert!(e.contains(":2:"), "{e}");
        assert!(e.contains("sideways"), "{e}");
        // The broken file is left as it was.
        assert!(
            std::fs::read_to_string(file.path())
                .unwrap()
                .contains("sideways")
        );
    }
}
