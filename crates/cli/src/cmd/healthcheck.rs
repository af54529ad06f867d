//! `vspread healthcheck`: asks a running engine's `/readyz` (or `/healthz`
//! with `--live`) and exits 0 when it answers 200, 1 otherwise: a container
//! HEALTHCHECK or a script needs no curl.

use std::io::{Read as _, Write as _};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Args;
use vspread_engine::config_store::ConfigStore;

#[derive(Debug, Args)]
pub struct HealthcheckArgs {
    /// The engine's admin address, `http://host:port` (default: `[server]
    /// listen` of the config file).
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

/// `host:port` of an `http://host:port[/...]` URL.
fn authority(url: &str) -> anyhow::Result<String> {
    let Some(rest) = url.strip_prefix("http://") else {
        bail!("--url {url:?}: expected http://host:port");
    };
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() {
        bail!("--url {url:?}: no host");
    }
    Ok(if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:80")
    })
}

/// The status code and body of `GET path` at `authority`.
fn get(authority: &str, path: &str, timeout: Duration) -> anyhow::Result<(u16, String)> {
    let addr = authority
        .to_socket_addrs()
        .with_context(|| format!("resolving {authority}"))?
        .next()
        .with_context(|| format!("{authority} resolves to no address"))?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout)
        .with_context(|| format!("connecting to {authority}"))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .with_context(|| format!("reading the answer of {authority}"))?;
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

pub fn run(args: HealthcheckArgs) -> anyhow::Result<ExitCode> {
    let url = match args.url {
        Some(url) => url,
        None => {
            let loaded = ConfigStore::new(&args.config)
                .load()
                .with_context(|| format!("loading {}", args.config.display()))?;
            format!("http://{}", loaded.config.server.listen)
        }
    };
    let path = if args.live { "/healthz" } else { "/readyz" };
    let timeout = Duration::from_secs_f64(args.timeout_s.clamp(0.1, 300.0));
    match get(&authority(&url)?, path, timeout) {
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
            "127.0.0.1:8080"
        );
        assert_eq!(authority("http://example.org/x").unwrap(), "example.org:80");
        assert!(authority("https://127.0.0.1:8080").is_err());
        assert!(authority("http://").is_err());
    }
}
