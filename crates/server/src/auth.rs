//! Bearer-token auth for `/api`. The admin token is read from
//! `[server] token_file`, or generated at first start in
//! `<data_dir>/admin.token` (mode 0600) and printed once. A read-only token
//! for viewers may be configured. Tokens are compared in constant time.
//! Binding anywhere but loopback needs an explicitly configured token file.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use rand::RngCore as _;
use vspread_core::config::ServerConfig;

use crate::error::AppError;
use crate::state::AppState;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Viewer,
}

/// Who made a request, for the audit trail. Inserted into request extensions.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The role, plus the operator name from `X-Operator` when sent.
    pub who: String,
}

/// The accepted tokens.
#[derive(Clone)]
pub struct Auth {
    admin: String,
    viewer: Option<String>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("admin", &"<redacted>")
            .field("viewer", &self.viewer.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// The result of [`Auth::setup`]: the tokens, and the admin token if it was
/// generated just now (the caller prints it once).
#[derive(Debug)]
pub struct TokenSetup {
    pub auth: Auth,
    pub generated: Option<(PathBuf, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(
        "refusing to listen on {listen} without a token: set server.token_file to a file holding the admin token"
    )]
    NonLoopbackWithoutToken { listen: String },
    #[error("server.listen = {0:?} is not an address and port")]
    BadListen(String),
    #[error("cannot read token file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot create token file {path}: {source}")]
    Create {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("token file {path} holds a token shorter than 16 characters")]
    TooShort { path: String },
}

/// Shortest token accepted from a file.
const MIN_TOKEN_LEN: usize = 16;

impl Auth {
    pub fn new(admin: impl Into<String>, viewer: Option<String>) -> Self {
        Self {
            admin: admin.into(),
            viewer,
        }
    }

    /// Loads the tokens as `[server]` says, generating the admin token on
    /// first start when listening on loopback. Relative token paths are
    /// relative to `base_dir` (the config file's directory).
    pub fn setup(
        server: &ServerConfig,
        data_dir: &Path,
        base_dir: &Path,
    ) -> Result<TokenSetup, AuthError> {
        let listen: SocketAddr = server
            .listen
            .parse()
            .map_err(|_| AuthError::BadListen(server.listen.clone()))?;
        let resolve = |p: &str| {
            let p = Path::new(p);
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                base_dir.join(p)
            }
        };
        let viewer = match server.read_only_token_file.as_str() {
            "" => None,
            p => Some(read_token(&resolve(p))?),
        };
        if !server.token_file.is_empty() {
            let admin = read_token(&resolve(&server.token_file))?;
            return Ok(TokenSetup {
                auth: Auth::new(admin, viewer),
                generated: None,
            });
        }
        if !listen.ip().is_loopback() {
            return Err(AuthError::NonLoopbackWithoutToken {
                listen: server.listen.clone(),
            });
        }
        let path = data_dir.join("admin.token");
        if path.exists() {
            let admin = read_token(&path)?;
            return Ok(TokenSetup {
                auth: Auth::new(admin, viewer),
                generated: None,
            });
        }
        let token = generate_token();
        write_new_token(&path, &token)?;
        Ok(TokenSetup {
            auth: Auth::new(token.clone(), viewer),
            generated: Some((path, token)),
        })
    }

    /// The admin token, for a program that runs the server in its own
    /// process and hands the token to its own window (the desktop app).
    pub fn admin_token(&self) -> &str {
        &self.admin
    }

    /// The role a presented token has, if any; constant time in the token.
    pub fn role_of(&self, presented: &str) -> Option<Role> {
        // Evaluate both comparisons always, so timing tells nothing.
        let admin = constant_time_eq(presented.as_bytes(), self.admin.as_bytes());
        let viewer = self
            .viewer
            .as_ref()
            .is_some_and(|v| constant_time_eq(presented.as_bytes(), v.as_bytes()));
        if admin {
            Some(Role::Admin)
        } else if viewer {
            Some(Role::Viewer)
        } else {
            None
        }
    }
}

fn generate_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn read_token(path: &Path) -> Result<String, AuthError> {
    let text = std::fs::read_to_string(path).map_err(|source| AuthError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let token = text.trim().to_string();
    if token.len() < MIN_TOKEN_LEN {
        return Err(AuthError::TooShort {
            path: path.display().to_string(),
        });
    }
    Ok(token)
}

fn write_new_token(path: &Path, token: &str) -> Result<(), AuthError> {
    let err = |source| AuthError::Create {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(err)?;
    file.write_all(format!("{token}\n").as_bytes())
        .map_err(err)?;
    file.sync_all().map_err(err)
}

/// Equal-length comparison whose time depends only on the lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let len = a.len().max(b.len());
    let mut diff = (a.len() ^ b.len()) as u8 | u8::from(a.len() != b.len());
    for i in 0..len {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= x ^ y;
    }
    diff == 0
}

/// Routes a viewer may call: reads, and the dry runs that change nothing
/// (a config's validation or diff, a spread's preview).
fn viewer_may(method: &Method, path: &str) -> bool {
    method == Method::GET
        || path.ends_with("/config/validate")
        || path.ends_with("/config/diff")
        || path.ends_with("/preview")
}

/// Middleware: rejects requests without a valid token; viewers may only
/// read. Browsers cannot set headers on a WebSocket, so `/ws` also takes the
/// token as `?access_token=`.
pub async fn require_token(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, AppError> {
    let header = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let query = (req.uri().path().ends_with("/ws"))
        .then(|| {
            req.uri().query().and_then(|q| {
                q.split('&')
                    .find_map(|kv| kv.strip_prefix("access_token=").map(str::to_string))
            })
        })
        .flatten();
    let Some(token) = header.or(query) else {
        return Err(AppError::Unauthorized);
    };
    let role = state
        .auth
        .role_of(token.trim())
        .ok_or(AppError::Unauthorized)?;
    if role == Role::Viewer && !viewer_may(req.method(), req.uri().path()) {
        return Err(AppError::Forbidden);
    }
    let operator = req
        .headers()
        .get("x-operator")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty() && v.len() <= 64 && v.chars().all(|c| c.is_ascii_graphic() || c == ' ')
        })
        .map(str::to_string);
    let role_name = match role {
        Role::Admin => "admin",
        Role::Viewer => "viewer",
    };
    let who = match operator {
        Some(name) => format!("{role_name}:{name}"),
        None => role_name.to_string(),
    };
    req.extensions_mut().insert(Caller { who });
    Ok(next.run(req).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"", b"a"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn first_start_generates_a_private_token_once() {
        let dir = tempfile::tempdir().unwrap();
        let server = ServerConfig::default();
        let first = Auth::setup(&server, dir.path(), dir.path()).unwrap();
        let (path, token) = first.generated.clone().expect("generated");
        assert_eq!(token.len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let second = Auth::setup(&server, dir.path(), dir.path()).unwrap();
        assert!(second.generated.is_none(), "printed once only");
        assert_eq!(second.auth.role_of(&token), Some(Role::Admin));
        assert_eq!(second.auth.role_of("nope"), None);
    }

    #[test]
    fn non_loopback_needs_a_configured_token() {
        let dir = tempfile::tempdir().unwrap();
        let server = ServerConfig {
            listen: "0.0.0.0:8080".into(),
            ..ServerConfig::default()
        };
        let err = Auth::setup(&server, dir.path(), dir.path()).unwrap_err();
        assert!(
            matches!(err, AuthError::NonLoopbackWithoutToken { .. }),
            "{err}"
        );
        assert!(!dir.path().join("admin.token").exists());
        std::fs::write(dir.path().join("t"), "0123456789abcdef0123\n").unwrap();
        std::fs::write(dir.path().join("v"), "viewer-viewer-viewer\n").unwrap();
        let server = ServerConfig {
            token_file: "t".into(),
            read_only_token_file: "v".into(),
            ..server
        };
        let setup = Auth::setup(&server, dir.path(), dir.path()).unwrap();
        assert_eq!(
            setup.auth.role_of("0123456789abcdef0123"),
            Some(Role::Admin)
        );
        assert_eq!(
            setup.auth.role_of("viewer-viewer-viewer"),
            Some(Role::Viewer)
        );
    }
}
