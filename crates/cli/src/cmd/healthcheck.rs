//! `vspread healthcheck`: asks a running engine's `/readyz` (or `/healthz`
//! with `--live`) and exits 0 when it answers 200, 1 otherwise: a container
//! HEALTHCHECK or a script needs no curl. Over TLS (`https://`, or by
//! default when the config sets `[server] tls_cert_file`) it trusts
//! exactly the certificate in that file (see `vspread_server::pinned`).

use std::io::{Read as _, Write as _};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Args;
use vspread_core::config::ServerConfig;
use vspread_engine::config_store::ConfigStore;
use vspread_server::listener::tls_files;
use vspread_server::pinned::pinned_client;

#[derive(Debug, Args)]
pub struct HealthcheckArgs {
    /// The engine's admin address, `http://host:port` or `https://host:port`
    /// (default: `[server] listen` of the config file, https when it sets
    /// `tls_cert_file`).
    #[arg(long)]
    url: Option<String>,
    /// The config file whose `[server] listen` to ask when no --url is given.
    #[arg(long, env = "VSPREAD_CONFIG", default_value = "config.toml")]
    config: PathBuf,
    /// Ask liveness (`/healthz`) instead of readiness (`/readyz`).
    #[arg(long)]
    live: bool,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 5.0)]
    timeout_s: f64,
}

/// Whether a URL is TLS, and its `host:port`.
fn authority(url: &str) -> anyhow::Result<(bool, String)> {
    let (tls, rest, port) = if let Some(rest) = url.strip_prefix("http://") {
        (false, rest, 80)
    } else if let Some(rest) = url.strip_prefix("https://") {
        (true, rest, 443)
    } else {
        bail!("--url {url:?}: expected http://host:port or https://host:port");
    };
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() {
        bail!("--url {url:?}: no host");
    }
    let authority = if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:{port}")
    };
    Ok((tls, authority))
}

/// The status code and body of `GET path` at `authority`, over TLS with
/// `tls` (a client that trusts the server's own certificate).
fn get(
    authority: &str,
    path: &str,
    timeout: Duration,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> anyhow::Result<(u16, String)> {
    let addr = authority
        .to_socket_addrs()
        .with_context(|| format!("resolving {authority}"))?
        .next()
        .with_context(|| format!("{authority} resolves to no address"))?;
    let mut tcp = TcpStream::connect_timeout(&addr, timeout)
        .with_context(|| format!("connecting to {authority}"))?;
    tcp.set_read_timeout(Some(timeout))?;
    tcp.set_write_timeout(Some(timeout))?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    let mut raw = Vec::new();
    match tls {
        None => {
            tcp.write_all(request.as_bytes())?;
            tcp.read_to_end(&mut raw)
                .with_context(|| format!("reading the answer of {authority}"))?;
        }
        Some(config) => {
            // The pinned client ignores the name; any valid one will do.
            let name = rustls::pki_types::ServerName::try_from("localhost")?;
            let conn = rustls::ClientConnection::new(config, name)?;
            let mut stream = rustls::StreamOwned::new(conn, tcp);
            stream
                .write_all(request.as_bytes())
                .with_context(|| format!("TLS to {authority}"))?;
            // A close without TLS close_notify ends the answer too.
            match stream.read_to_end(&mut raw) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => {}
                Err(e) => {
                    return Err(e).with_context(|| format!("reading the answer of {authority}"));
                }
            }
        }
    }
    let response = String::from_utf8_lossy(&raw);
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .with_context(|| format!("{authority} did not answer HTTP"))?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// The config's `[server]` section and the directory it is relative to.
fn server_section(config: &Path) -> anyhow::Result<(ServerConfig, PathBuf)> {
    let loaded = ConfigStore::new(config)
        .load()
        .with_context(|| format!("loading {}", config.display()))?;
    let base = config
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    Ok((loaded.config.server, base))
}

pub fn run(args: HealthcheckArgs) -> anyhow::Result<ExitCode> {
    let url = match &args.url {
        Some(url) => url.clone(),
        None => {
            let (server, _) = server_section(&args.config)?;
            let scheme = if server.tls_cert_file.is_empty() {
                "http"
            } else {
                "https"
            };
            format!("{scheme}://{}", server.listen)
        }
    };
    let path = if args.live { "/healthz" } else { "/readyz" };
    let timeout = Duration::from_secs_f64(args.timeout_s.clamp(0.1, 300.0));
    let (tls, authority) = authority(&url)?;
    let client = if tls {
        let (server, base) = server_section(&args.config)
            .context("https needs the certificate to trust: the config's [server] tls_cert_file")?;
        let Some((cert, _)) = tls_files(&server, &base) else {
            bail!(
                "{} sets no [server] tls_cert_file: nothing to trust for {url}",
                args.config.display()
            );
        };
        Some(pinned_client(&cert)?)
    } else {
        None
    };
    match get(&authority, path, timeout, client) {
        Ok((status, body)) => {
            // Chunked bodies keep their framing; the JSON is readable either way.
            println!("{status} {}", body.trim());
            Ok(if status == 200 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Err(e) => {
            println!("unreachable: {e:#}");
            Ok(ExitCode::from(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_host_and_port() {
        assert_eq!(
            authority("http://127.0.0.1:8080").unwrap(),
            (false, "127.0.0.1:8080".to_string())
        );
        assert_eq!(
            authority("http://example.org/x").unwrap(),
            (false, "example.org:80".to_string())
        );
        assert_eq!(
            authority("https://127.0.0.1:8080/readyz").unwrap(),
            (true, "127.0.0.1:8080".to_string())
        );
        assert_eq!(
            authority("https://example.org").unwrap(),
            (true, "example.org:443".to_string())
        );
        assert!(authority("ftp://127.0.0.1:8080").is_err());
        assert!(authority("http://").is_err());
    }
}
