//! The tokens file: named admin and viewer tokens, kept as SHA-256 hashes
//! in `<data_dir>/tokens.json` (mode 0600) and managed by `vspread token
//! create|rotate|revoke|list`.
//!
//! A token is 32 random bytes written as `vst_` and 64 hex digits: with
//! 256 bits of entropy a guess is hopeless whatever the hash's speed, so a
//! plain SHA-256 is enough (a slow password hash such as argon2 protects
//! low-entropy secrets, and would cost every request tens of
//! milliseconds). The secret itself is printed once, by `create` and
//! `rotate`, and never stored. Writes go to a temporary file that is
//! synced and renamed over the old one, so a running server that reads the
//! file sees the old set or the new one, never half of either.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::auth::Role;

/// The file's name inside the data directory.
pub const TOKENS_FILE: &str = "tokens.json";

/// What a token name may be: 1 to 64 of `[A-Za-z0-9._-]`, so it reads
/// safely in logs, the audit trail and the journal.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// One stored token: its name, role and hash; never the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredToken {
    pub name: String,
    pub role: Role,
    /// Hex SHA-256 of the token.
    pub sha256: String,
    /// When it was created or last rotated (RFC 3339, UTC).
    pub created: String,
}

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenFile {
    pub version: u32,
    pub tokens: Vec<StoredToken>,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenFileError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a tokens file: {message}")]
    Parse { path: String, message: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("token name {0:?} is not allowed: use 1 to 64 letters, digits, '.', '_' or '-'")]
    BadName(String),
    #[error("a token named {0:?} exists already: rotate it, or revoke it first")]
    Exists(String),
    #[error("no token named {0:?} (`vspread token list` shows them)")]
    Missing(String),
}

/// A new token's secret: `vst_` and 64 hex digits.
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("vst_{hex}")
}

/// SHA-256 of a token, as stored.
pub fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The 32 bytes a stored hex hash stands for, if it is one.
pub(crate) fn parse_hash(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

impl TokenFile {
    /// The file at `path`; an absent file is an empty set.
    pub fn load(path: &Path) -> Result<Self, TokenFileError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => {
                return Err(TokenFileError::Read {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        Self::parse(&text).map_err(|message| TokenFileError::Parse {
            path: path.display().to_string(),
            message,
        })
    }

    fn parse(text: &str) -> Result<Self, String> {
        let file: Self = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if file.version != 1 {
            return Err(format!("version {} (this vspread reads 1)", file.version));
        }
        for t in &file.tokens {
            if !valid_name(&t.name) {
                return Err(format!("token name {:?} is not allowed", t.name));
            }
            if parse_hash(&t.sha256).is_none() {
                return Err(format!("token {:?}: sha256 is not 64 hex digits", t.name));
            }
        }
        Ok(file)
    }

    /// Adds a token named `name`; returns its secret (shown once).
    pub fn create(&mut self, name: &str, role: Role) -> Result<String, TokenFileError> {
        if !valid_name(name) {
            return Err(TokenFileError::BadName(name.to_string()));
        }
        if self.tokens.iter().any(|t| t.name == name) {
            return Err(TokenFileError::Exists(name.to_string()));
        }
        let secret = generate_secret();
        self.version = 1;
        self.tokens.push(StoredToken {
            name: name.to_string(),
            role,
            sha256: hex(&hash(&secret)),
            created: now(),
        });
        Ok(secret)
    }

    /// Replaces the secret of `name` (its role stays, or becomes `role`);
    /// the old secret stops working. Returns the new one.
    pub fn rotate(&mut self, name: &str, role: Option<Role>) -> Result<String, TokenFileError> {
        let token = self
            .tokens
            .iter_mut()
            .find(|t| t.name == name)
            .ok_or_else(|| TokenFileError::Missing(name.to_string()))?;
        let secret = generate_secret();
        token.sha256 = hex(&hash(&secret));
        token.created = now();
        if let Some(role) = role {
            token.role = role;
        }
        Ok(secret)
    }

    /// Removes `name`.
    pub fn revoke(&mut self, name: &str) -> Result<StoredToken, TokenFileError> {
        let at = self
            .tokens
            .iter()
            .position(|t| t.name == name)
            .ok_or_else(|| TokenFileError::Missing(name.to_string()))?;
        Ok(self.tokens.remove(at))
    }

    /// Writes the file atomically with mode 0600.
    pub fn save(&self, path: &Path) -> Result<(), TokenFileError> {
        let err = |source| TokenFileError::Write {
            path: path.display().to_string(),
            source,
        };
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        std::fs::create_dir_all(&dir).map_err(err)?;
        let tmp = dir.join(format!(".{TOKENS_FILE}.{}.tmp", std::process::id()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut text = serde_json::to_string_pretty(&Self {
            version: 1,
            tokens: self.tokens.clone(),
        })
        .map_err(|e| err(std::io::Error::other(e)))?;
        text.push('\n');
        let write = || -> std::io::Result<()> {
            let mut file = options.open(&tmp)?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&tmp, path)?;
            std::fs::File::open(&dir)?.sync_all()
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            err(e)
        })
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_rotate_revoke_round_trip_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(TOKENS_FILE);
        let mut file = TokenFile::load(&path).unwrap();
        assert!(file.tokens.is_empty());
        let secret = file.create("ops", Role::Admin).unwrap();
        assert!(secret.starts_with("vst_") && secret.len() == 68, "{secret}");
        assert!(matches!(
            file.create("ops", Role::Viewer),
            Err(TokenFileError::Exists(_))
        ));
        assert!(matches!(
            file.create("bad name", Role::Viewer),
            Err(TokenFileError::BadName(_))
        ));
        file.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(&secret), "the secret is never stored");
        assert!(text.contains(&hex(&hash(&secret))));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let mut again = TokenFile::load(&path).unwrap();
        let rotated = again.rotate("ops", None).unwrap();
        assert_ne!(rotated, secret);
        assert_eq!(again.tokens[0].role, Role::Admin);
        assert_eq!(again.revoke("ops").unwrap().name, "ops");
        assert!(matches!(
            again.revoke("ops"),
            Err(TokenFileError::Missing(_))
        ));
    }

    #[test]
    fn a_damaged_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(TOKENS_FILE);
        std::fs::write(&path, "{\"version\":1,\"tokens\":[{\"name\":\"a\",\"role\":\"admin\",\"sha256\":\"zz\",\"created\":\"\"}]}").unwrap();
        let err = TokenFile::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("tokens.json") && err.contains("sha256"),
            "{err}"
        );
        std::fs::write(&path, "not json").unwrap();
        assert!(matches!(
            TokenFile::load(&path),
            Err(TokenFileError::Parse { .. })
        ));
    }
}
