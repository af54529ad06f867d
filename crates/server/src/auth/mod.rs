//! Bearer-token auth for `/api`, with roles (admin, viewer) and names.
//!
//! Tokens come from three places, all checked in constant time against
//! their SHA-256:
//! - the tokens file, `<data_dir>/tokens.json`, managed by `vspread token
//!   create|rotate|revoke` (see [`crate::tokens`]); it is read again
//!   whenever it changes, so a rotation or revocation holds from the next
//!   request, without a restart;
//! - `[server] token_file` (admin, named `token_file`) and
//!   `read_only_token_file` (viewer, named `read_only_token_file`), read at
//!   start as before;
//! - `<data_dir>/admin.token` (admin, named `admin.token`), generated at
//!   first start on a loopback address when no other admin token exists,
//!   and read whenever present.
//!
//! Binding anywhere but loopback needs TLS and an explicitly made admin
//! token (the tokens file or `token_file`). Failed authentications are
//! limited per client address ([`limiter`]); the WebSocket authenticates
//! with a single-use ticket ([`tickets`]). Every write is audited with the
//! token's name, role and the client's address.

pub mod limiter;
pub mod tickets;

use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use vspread_core::config::ServerConfig;
use vspread_engine::events::{ApiWrite, EngineEvent};

use crate::error::AppError;
use crate::listener::ClientAddr;
use crate::metrics::ResultLabels;
use crate::state::AppState;
use crate::tokens::{self, TOKENS_FILE, TokenFile};

use limiter::FailureLimiter;
use tickets::Tickets;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Viewer => "viewer",
        }
    }
}

/// Whose token a request carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The token's name.
    pub name: String,
    pub role: Role,
}

/// Who made a request, for the audit trail. Inserted into request extensions.
#[derive(Debug, Clone)]
pub struct Caller {
    pub identity: Identity,
    /// The client's address, when the request came over a socket.
    pub client: Option<IpAddr>,
    /// `role:name@address`, with `/operator` after the name when the
    /// client sent `X-Operator`: what the engine's events and the journal's
    /// config history record as who acted.
    pub who: String,
}

/// A token known by its hash.
#[derive(Clone)]
struct Known {
    identity: Identity,
    hash: [u8; 32],
}

/// When the tokens file was last read, to notice a change.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
    #[cfg(unix)]
    inode: u64,
}

fn stamp_of(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some(Stamp {
        len: meta.len(),
        modified: meta.modified().ok(),
        #[cfg(unix)]
        inode: std::os::unix::fs::MetadataExt::ino(&meta),
    })
}

#[derive(Default)]
struct FileTokens {
    stamp: Option<Stamp>,
    tokens: Vec<Known>,
}

/// The accepted tokens, the WebSocket tickets and the failure limiter.
pub struct Auth {
    fixed: Vec<Known>,
    file: Option<PathBuf>,
    from_file: Mutex<FileTokens>,
    pub(crate) tickets: Tickets,
    pub(crate) limiter: FailureLimiter,
    /// Loopback clients are limited too (off by default: see [`limiter`]).
    limit_loopback: bool,
    /// The admin token read from a file (token_file or admin.token), for
    /// a program that runs the server in its own process and hands the
    /// token to its own window (the desktop app).
    admin_plain: Option<String>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("fixed", &self.fixed.len())
            .field("file", &self.file)
            .finish_non_exhaustive()
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
        "refusing to listen on {listen} without an admin token made for it: create one with `vspread token create --name NAME` (kept hashed in the data directory), or set server.token_file to a file holding one"
    )]
    NonLoopbackWithoutToken { listen: String },
    #[error(
        "refusing to listen on {listen} over plain HTTP: set server.tls_cert_file and server.tls_key_file to a PEM certificate and key (or listen on 127.0.0.1)"
    )]
    NonLoopbackWithoutTls { listen: String },
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
    #[error(transparent)]
    Tokens(#[from] tokens::TokenFileError),
}

/// Shortest token accepted from a file.
const MIN_TOKEN_LEN: usize = 16;

fn known(name: &str, role: Role, token: &str) -> Known {
    Known {
        identity: Identity {
            name: name.to_string(),
            role,
        },
        hash: tokens::hash(token),
    }
}

impl Auth {
    /// Fixed tokens only: an admin token named `admin` and, optionally, a
    /// viewer token named `viewer`.
    pub fn new(admin: impl Into<String>, viewer: Option<String>) -> Self {
        let admin = admin.into();
        let mut fixed = vec![known("admin", Role::Admin, &admin)];
        if let Some(v) = viewer {
            fixed.push(known("viewer", Role::Viewer, &v));
        }
        let mut auth = Self::with(fixed, None);
        auth.admin_plain = Some(admin);
        auth
    }

    fn with(fixed: Vec<Known>, file: Option<PathBuf>) -> Self {
        Self {
            fixed,
            file,
            from_file: Mutex::new(FileTokens::default()),
            tickets: Tickets::default(),
            limiter: FailureLimiter::default(),
            limit_loopback: false,
            admin_plain: None,
        }
    }

    /// Also accepts the tokens of the tokens file at `path`, read again
    /// whenever it changes.
    pub fn with_tokens_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.file = Some(path.into());
        self
    }

    /// Limits failures per address with this bucket (tests use a small one).
    pub fn with_failure_limit(mut self, burst: f64, refill: std::time::Duration) -> Self {
        self.limiter = FailureLimiter::new(burst, refill);
        self
    }

    /// The admin token read from a file (`token_file`, or `admin.token`),
    /// if any: named tokens are kept only as hashes.
    pub fn admin_token(&self) -> Option<&str> {
        self.admin_plain.as_deref()
    }

    /// Limits loopback clients as well (tests over a loopback socket).
    pub fn limiting_loopback(mut self) -> Self {
        self.limit_loopback = true;
        self
    }

    /// Loads the tokens as `[server]` says, generating the admin token on
    /// first start when listening on loopback. Relative token paths are
    /// relative to `base_dir` (the config file's directory). A non-loopback
    /// `listen` needs TLS and an admin token made for it.
    pub fn setup(
        server: &ServerConfig,
        data_dir: &Path,
        base_dir: &Path,
    ) -> Result<TokenSetup, AuthError> {
        let listen: SocketAddr = server
            .listen
            .parse()
            .map_err(|_| AuthError::BadListen(server.listen.clone()))?;
        let loopback = listen.ip().is_loopback();
        if !loopback && (server.tls_cert_file.is_empty() || server.tls_key_file.is_empty()) {
            return Err(AuthError::NonLoopbackWithoutTls {
                listen: server.listen.clone(),
            });
        }
        let resolve = |p: &str| {
            let p = Path::new(p);
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                base_dir.join(p)
            }
        };
        let tokens_path = data_dir.join(TOKENS_FILE);
        let file = TokenFile::load(&tokens_path)?;
        let file_has_admin = file.tokens.iter().any(|t| t.role == Role::Admin);
        let mut fixed = Vec::new();
        let mut admin_plain = None;
        if !server.token_file.is_empty() {
            let token = read_token(&resolve(&server.token_file))?;
            fixed.push(known("token_file", Role::Admin, &token));
            admin_plain = Some(token);
        }
        if !server.read_only_token_file.is_empty() {
            let token = read_token(&resolve(&server.read_only_token_file))?;
            fixed.push(known("read_only_token_file", Role::Viewer, &token));
        }
        // A token made for this server: the only kind a non-loopback
        // listener accepts as its reason to start.
        let explicit = !server.token_file.is_empty() || file_has_admin;
        if !loopback && !explicit {
            return Err(AuthError::NonLoopbackWithoutToken {
                listen: server.listen.clone(),
            });
        }
        let legacy = data_dir.join("admin.token");
        let mut generated = None;
        if legacy.exists() {
            let token = read_token(&legacy)?;
            fixed.push(known("admin.token", Role::Admin, &token));
            admin_plain.get_or_insert(token);
        } else if !explicit {
            let token = generate_token();
            write_new_token(&legacy, &token)?;
            fixed.push(known("admin.token", Role::Admin, &token));
            admin_plain.get_or_insert(token.clone());
            generated = Some((legacy, token));
        }
        let mut auth = Self::with(fixed, Some(tokens_path));
        auth.admin_plain = admin_plain;
        auth.refresh();
        Ok(TokenSetup { auth, generated })
    }

    /// Reads the tokens file again if it changed since the last read. A
    /// file that cannot be read or parsed accepts none of its tokens (a
    /// revocation must never be undone by a damaged file) and says why.
    fn refresh(&self) {
        let Some(path) = &self.file else { return };
        let stamp = stamp_of(path);
        let mut loaded = self.from_file.lock().unwrap_or_else(|e| e.into_inner());
        if loaded.stamp == stamp && stamp.is_some() {
            return;
        }
        loaded.tokens = match TokenFile::load(path) {
            Ok(file) => file
                .tokens
                .iter()
                .filter_map(|t| {
                    Some(Known {
                        identity: Identity {
                            name: t.name.clone(),
                            role: t.role,
                        },
                        hash: tokens::parse_hash(&t.sha256)?,
                    })
                })
                .collect(),
            Err(e) => {
                tracing::error!(error = %e, "the tokens file is refused: none of its tokens is accepted until it is fixed");
                Vec::new()
            }
        };
        if loaded.stamp.is_some() || stamp.is_some() {
            tracing::info!(path = %path.display(), tokens = loaded.tokens.len(), "tokens file read");
        }
        loaded.stamp = stamp;
    }

    /// Whose token `presented` is, if any; constant time in the token.
    pub fn identify(&self, presented: &str) -> Option<Identity> {
        self.refresh();
        let hash = tokens::hash(presented);
        let loaded = self.from_file.lock().unwrap_or_else(|e| e.into_inner());
        // Compare with every token, so timing says nothing about which.
        let mut found = None;
        for k in self.fixed.iter().chain(loaded.tokens.iter()) {
            if constant_time_eq(&hash, &k.hash) && found.is_none() {
                found = Some(k.identity.clone());
            }
        }
        found
    }

    /// The role a presented token has, if any.
    pub fn role_of(&self, presented: &str) -> Option<Role> {
        self.identify(presented).map(|i| i.role)
    }
}

fn generate_token() -> String {
    tokens::generate_secret()
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

/// Routes a viewer may call: reads, the dry runs that change nothing (a
/// config's validation or diff, a spread's preview), and a ticket for the
/// event stream.
fn viewer_may(method: &Method, path: &str) -> bool {
    method == Method::GET
        || path.ends_with("/config/validate")
        || path.ends_with("/config/diff")
        || path.ends_with("/ws/ticket")
        || path.ends_with("/preview")
}

/// A write: anything but a read.
fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn refused(state: &AppState, outcome: &str) {
    state
        .metrics
        .auth_failures
        .get_or_create(&ResultLabels {
            result: outcome.into(),
        })
        .inc();
}

/// Middleware: rejects requests without a valid token (or, on `/ws`, a
/// ticket); viewers may only read; an address that failed too often is
/// answered 429 first; every write is audited once answered.
pub async fn require_token(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, AppError> {
    let client = req
        .extensions()
        .get::<ConnectInfo<ClientAddr>>()
        .map(|c| c.0.addr.ip());
    let limited = client.filter(|ip| state.auth.limit_loopback || !ip.is_loopback());
    if let Some(wait) = limited.and_then(|ip| state.auth.limiter.blocked(ip)) {
        refused(&state, "limited");
        return Err(AppError::TooManyRequests {
            retry_after_s: wait.as_secs().max(1),
        });
    }
    let header = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let ticket = (req.uri().path().ends_with("/ws"))
        .then(|| {
            req.uri().query().and_then(|q| {
                q.split('&')
                    .find_map(|kv| kv.strip_prefix("ticket=").map(str::to_string))
            })
        })
        .flatten();
    let identity = match (header, ticket) {
        (Some(token), _) => state.auth.identify(token.trim()),
        (None, Some(ticket)) => state.auth.tickets.redeem(&ticket),
        (None, None) => None,
    };
    let Some(identity) = identity else {
        if let Some(ip) = limited {
            state.auth.limiter.failed(ip);
        }
        refused(&state, "rejected");
        return Err(AppError::Unauthorized);
    };
    let operator = req
        .headers()
        .get("x-operator")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty() && v.len() <= 64 && v.chars().all(|c| c.is_ascii_graphic() || c == ' ')
        })
        .map(str::to_string);
    let mut who = format!("{}:{}", identity.role.as_str(), identity.name);
    if let Some(op) = &operator {
        who.push('/');
        who.push_str(op);
    }
    if let Some(ip) = client {
        who.push('@');
        who.push_str(&ip.to_string());
    }
    let caller = Caller {
        identity,
        client,
        who,
    };
    let method = req.method().clone();
    // The whole path: inside `/api/v1` the router sees only the rest.
    let path = req
        .extensions()
        .get::<axum::extract::OriginalUri>()
        .map_or_else(|| req.uri().path().to_string(), |u| u.path().to_string());
    if caller.identity.role == Role::Viewer && !viewer_may(&method, &path) {
        audit(&state, &caller, &method, &path, 403);
        return Err(AppError::Forbidden);
    }
    req.extensions_mut().insert(caller.clone());
    let response = next.run(req).await;
    if is_write(&method) {
        audit(&state, &caller, &method, &path, response.status().as_u16());
    }
    Ok(response)
}

/// Publishes the `api.write` event of one answered write.
fn audit(state: &AppState, caller: &Caller, method: &Method, path: &str, status: u16) {
    if !is_write(method) {
        return;
    }
    let event = ApiWrite {
        method: method.to_string(),
        path: path.to_string(),
        status,
        token: caller.identity.name.clone(),
        role: caller.identity.role.as_str().to_string(),
        client: caller.client.map(|ip| ip.to_string()),
        who: caller.who.clone(),
    };
    state.engine.events().publish(
        format!("{method} {path} by {} answered {status}", caller.who),
        EngineEvent::ApiWrite(event),
    );
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
        assert_eq!(token.len(), 68);
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
            matches!(err, AuthError::NonLoopbackWithoutTls { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("tls_cert_file"), "{err}");
        let server = ServerConfig {
            tls_cert_file: "cert.pem".into(),
            tls_key_file: "key.pem".into(),
            ..server
        };
        let err = Auth::setup(&server, dir.path(), dir.path()).unwrap_err();
        assert!(
            matches!(err, AuthError::NonLoopbackWithoutToken { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("vspread token create"), "{err}");
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

#[cfg(test)]
mod file_tests {
    use super::*;

    #[test]
    fn the_tokens_file_is_read_again_when_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(TOKENS_FILE);
        let mut file = TokenFile::default();
        let ops = file.create("ops", Role::Admin).unwrap();
        file.save(&path).unwrap();
        let server = ServerConfig::default();
        let setup = Auth::setup(&server, dir.path(), dir.path()).unwrap();
        assert!(setup.generated.is_none(), "an admin token exists already");
        let auth = setup.auth;
        assert_eq!(
            auth.identify(&ops),
            Some(Identity {
                name: "ops".into(),
                role: Role::Admin
            })
        );
        let mut file = TokenFile::load(&path).unwrap();
        let rotated = file.rotate("ops", None).unwrap();
        let viewer = file.create("screen", Role::Viewer).unwrap();
        file.save(&path).unwrap();
        assert_eq!(auth.identify(&ops), None, "the old secret stops at once");
        assert_eq!(auth.role_of(&rotated), Some(Role::Admin));
        assert_eq!(auth.role_of(&viewer), Some(Role::Viewer));
        std::fs::write(&path, "damaged").unwrap();
        assert_eq!(
            auth.role_of(&rotated),
            None,
            "a damaged file accepts nothing"
        );
    }
}
