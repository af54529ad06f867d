//! The admin server's listener: plain TCP or TLS (rustls), with the
//! certificate reloaded while the server runs.
//!
//! Connections are accepted on a task of their own and each TLS handshake
//! runs on its own task (with a time limit), so a client that opens a
//! socket and says nothing holds up no one else. Which certificate a new
//! connection gets is read from an [`ArcSwapOption`] at its accept: the
//! reloader ([`watch_tls`]) swaps a new one in when `[server]
//! tls_cert_file` / `tls_key_file` or the files themselves change, and
//! connections already open keep the one they started with. A certificate
//! that does not load is refused (logged, counted in
//! `vspread_tls_reloads_total{result="failed"}`) and the one in use stays.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwapOption;
use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use vspread_core::config::ServerConfig;

use crate::metrics::{Metrics, ResultLabels};

/// How long a client has to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the reloader looks at the config and the files.
const RELOAD_INTERVAL: Duration = Duration::from_secs(1);

/// The peer of a connection, as handlers and middleware see it
/// (`ConnectInfo<ClientAddr>`).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr {
    pub addr: SocketAddr,
    /// The connection is TLS.
    pub tls: bool,
}

impl Connected<IncomingStream<'_, AdminListener>> for ClientAddr {
    fn connect_info(stream: IncomingStream<'_, AdminListener>) -> Self {
        *stream.remote_addr()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {what} {path}: {source}")]
    Read {
        what: &'static str,
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("{path} holds no PEM {what}")]
    Empty { what: &'static str, path: String },
    #[error("{path}: {message}")]
    Pem { path: String, message: String },
    #[error(
        "server.tls_cert_file and server.tls_key_file go together: set both (TLS) or neither (plain HTTP, loopback only)"
    )]
    HalfSet,
    #[error("the certificate {cert} and the key {key} do not make a TLS server: {message}")]
    Config {
        cert: String,
        key: String,
        message: String,
    },
}

/// The certificate and key files `[server]` names, resolved against the
/// config file's directory; `None` when TLS is off.
pub fn tls_files(server: &ServerConfig, base_dir: &Path) -> Option<(PathBuf, PathBuf)> {
    if server.tls_cert_file.is_empty() || server.tls_key_file.is_empty() {
        return None;
    }
    let resolve = |p: &str| {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            base_dir.join(p)
        }
    };
    Some((
        resolve(&server.tls_cert_file),
        resolve(&server.tls_key_file),
    ))
}

/// A TLS acceptor from a PEM certificate chain and key.
pub fn load_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, TlsError> {
    let read = |what, path: &Path| {
        std::fs::read(path).map_err(|source| TlsError::Read {
            what,
            path: path.display().to_string(),
            source,
        })
    };
    let cert_pem = read("certificate", cert)?;
    let key_pem = read("key", key)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            path: cert.display().to_string(),
            message: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::Empty {
            what: "certificate",
            path: cert.display().to_string(),
        });
    }
    let private = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => TlsError::Empty {
            what: "private key",
            path: key.display().to_string(),
        },
        e => TlsError::Pem {
            path: key.display().to_string(),
            message: e.to_string(),
        },
    })?;
    let provider = Arc::new(crypto_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(chain, private))
        .map_err(|e| TlsError::Config {
            cert: cert.display().to_string(),
            key: key.display().to_string(),
            message: e.to_string(),
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The cryptography of both ends: ring, not aws-lc-rs, for a lean build
/// (no cmake or assembler toolchain). Its key exchange (X25519, P-256,
/// P-384) has no post-quantum hybrid, which is what rustls's deprecation
/// note on it is about.
pub fn crypto_provider() -> rustls::crypto::CryptoProvider {
    #[allow(deprecated)]
    rustls::crypto::ring::default_provider()
}

/// The admin server's TLS state: the acceptor new connections get (none:
/// plain HTTP), and what it was loaded from.
#[derive(Clone)]
pub struct AdminTls {
    acceptor: Arc<ArcSwapOption<TlsAcceptor>>,
    /// TLS may not be turned off: the listener is not on loopback.
    required: bool,
}

impl std::fmt::Debug for AdminTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminTls")
            .field("on", &self.is_on())
            .field("required", &self.required)
            .finish()
    }
}

impl AdminTls {
    /// Loads the certificate `[server]` names, if any; an error stops the
    /// start with the file and the reason.
    pub fn from_config(
        server: &ServerConfig,
        base_dir: &Path,
        listen: SocketAddr,
    ) -> Result<Self, TlsError> {
        if server.tls_cert_file.is_empty() != server.tls_key_file.is_empty() {
            return Err(TlsError::HalfSet);
        }
        let acceptor = match tls_files(server, base_dir) {
            Some((cert, key)) => Some(Arc::new(load_acceptor(&cert, &key)?)),
            None => None,
        };
        Ok(Self {
            acceptor: Arc::new(ArcSwapOption::new(acceptor)),
            required: !listen.ip().is_loopback(),
        })
    }

    /// Whether new connections get TLS.
    pub fn is_on(&self) -> bool {
        self.acceptor.load().is_some()
    }
}

/// Either side of the listener's choice.
#[derive(Debug)]
pub enum AdminStream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for AdminStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            AdminStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            AdminStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for AdminStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            AdminStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            AdminStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    /// Forwarded so that hyper sees the socket can gather: it then queues
    /// a response's body beside its head rather than copying the body into
    /// the connection's write buffer, a buffer that kept the size of the
    /// largest answer it ever wrote (76 KB for a page of orders) for as
    /// long as the client stayed connected.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            AdminStream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            AdminStream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            AdminStream::Plain(s) => s.is_write_vectored(),
            AdminStream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            AdminStream::Plain(s) => Pin::new(s).poll_flush(cx),
            AdminStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            AdminStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            AdminStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// What `axum::serve` accepts from: connections already past their
/// handshake.
#[derive(Debug)]
pub struct AdminListener {
    ready: mpsc::Receiver<(AdminStream, ClientAddr)>,
    local: SocketAddr,
}

impl AdminListener {
    /// Accepts on `listener`, with TLS whenever `tls` has a certificate.
    pub fn new(listener: TcpListener, tls: AdminTls) -> io::Result<Self> {
        let local = listener.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        tokio::spawn(accept_loop(listener, tls, tx));
        Ok(Self { ready, local })
    }
}

async fn accept_loop(
    listener: TcpListener,
    tls: AdminTls,
    tx: mpsc::Sender<(AdminStream, ClientAddr)>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            // The server is gone: stop, and free the port.
            () = tx.closed() => return,
        };
        let (tcp, addr) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of file descriptors and the like: wait, do not spin.
                tracing::warn!(error = %e, "admin listener cannot accept");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        match tls.acceptor.load_full() {
            None => {
                if tx
                    .send((AdminStream::Plain(tcp), ClientAddr { addr, tls: false }))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            Some(acceptor) => {
                let tx = tx.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => {
                            let _ = tx
                                .send((
                                    AdminStream::Tls(Box::new(stream)),
                                    ClientAddr { addr, tls: true },
                                ))
                                .await;
                        }
                        Ok(Err(e)) => tracing::debug!(%addr, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%addr, "TLS handshake timed out"),
                    }
                });
            }
        }
    }
}

impl axum::serve::Listener for AdminListener {
    type Io = AdminStream;
    type Addr = ClientAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            // The accept loop only ends once this receiver is gone.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(ClientAddr {
            addr: self.local,
            tls: false,
        })
    }
}

/// What the reloader last loaded from: the two paths and their files'
/// modification times and sizes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Source {
    files: Option<(PathBuf, PathBuf)>,
    stamps: Option<[(u64, Option<SystemTime>); 2]>,
}

fn source_of(files: Option<(PathBuf, PathBuf)>) -> Source {
    let stamp = |p: &Path| {
        std::fs::metadata(p)
            .ok()
            .map(|m| (m.len(), m.modified().ok()))
    };
    let stamps = files
        .as_ref()
        .and_then(|(c, k)| Some([stamp(c)?, stamp(k)?]));
    Source { files, stamps }
}

/// Follows `[server] tls_cert_file` / `tls_key_file` and their files for as
/// long as `alive` says, swapping a new acceptor in when either changes.
/// `config` reads the `[server]` section in force and the directory its
/// relative paths start from.
pub async fn watch_tls(
    tls: AdminTls,
    metrics: Arc<Metrics>,
    config: impl Fn() -> (ServerConfig, PathBuf) + Send + 'static,
    alive: impl Fn() -> bool + Send + 'static,
) {
    let (server, base) = config();
    let mut last = source_of(tls_files(&server, &base));
    let mut interval = tokio::time::interval(RELOAD_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        if !alive() {
            return;
        }
        let (server, base) = config();
        if server.tls_cert_file.is_empty() != server.tls_key_file.is_empty() {
            // Half way through an edit, or a mistake: wait for both.
            continue;
        }
        let now = source_of(tls_files(&server, &base));
        if now == last {
            continue;
        }
        let outcome = match &now.files {
            None if tls.required => {
                tracing::error!(
                    "[server] tls_cert_file / tls_key_file emptied while listening beyond loopback: TLS stays on with the certificate in use"
                );
                "failed"
            }
            None => {
                tls.acceptor.store(None);
                tracing::warn!("TLS turned off: new admin connections are plain HTTP");
                "loaded"
            }
            Some((cert, key)) => match load_acceptor(cert, key) {
                Ok(acceptor) => {
                    tls.acceptor.store(Some(Arc::new(acceptor)));
                    tracing::info!(cert = %cert.display(), "TLS certificate loaded");
                    "loaded"
                }
                Err(e) => {
                    tracing::error!(error = %e, "TLS certificate refused: the one in use stays");
                    "failed"
                }
            },
        };
        metrics
            .tls_reloads
            .get_or_create(&ResultLabels {
                result: outcome.into(),
            })
            .inc();
        last = now;
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A plain connection gathers: hyper sees it can write a response's
    /// head and body from their own buffers, and the bytes arrive whole
    /// and in order.
    #[tokio::test]
    async fn a_plain_connection_writes_gathered_buffers() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (client, accepted) = tokio::join!(client, listener.accept());
        let (mut client, mut server) = (client.unwrap(), AdminStream::Plain(accepted.unwrap().0));
        assert!(server.is_write_vectored());
        let (head, body) = (
            b"HTTP/1.1 200 OK\r\n\r\n".as_slice(),
            b"{\"ok\":true}".as_slice(),
        );
        let mut written = 0;
        while written < head.len() + body.len() {
            let slices = if written < head.len() {
                vec![io::IoSlice::new(&head[written..]), io::IoSlice::new(body)]
            } else {
                vec![io::IoSlice::new(&body[written - head.len()..])]
            };
            written += server.write_vectored(&slices).await.unwrap();
        }
        server.shutdown().await.unwrap();
        let mut got = Vec::new();
        client.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, [head, body].concat());
    }
}
