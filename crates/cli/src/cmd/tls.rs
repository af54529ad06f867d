//! `vspread tls self-signed`: a certificate and key for the admin server
//! when no better one is at hand (a container's first start, a lab
//! machine). Browsers warn about it until it is trusted; `vspread
//! healthcheck` pins it, so it needs no trust. A certificate from a CA
//! (an internal one, cert-manager, Let's Encrypt) goes in the same two
//! files: `[server] tls_cert_file` and `tls_key_file`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use chrono::Datelike as _;
use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub enum TlsCommand {
    /// Write a new self-signed certificate (ECDSA P-256, valid two years) and its key, as PEM.
    SelfSigned(SelfSignedArgs),
}

#[derive(Debug, Args)]
pub struct SelfSignedArgs {
    /// Where the certificate goes.
    #[arg(long)]
    cert: PathBuf,
    /// Where the key goes (mode 0600).
    #[arg(long)]
    key: PathBuf,
    /// A host name or IP address the certificate is for; repeat for more.
    #[arg(long = "name", default_values_t = ["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()])]
    names: Vec<String>,
    /// Replace files that exist.
    #[arg(long)]
    force: bool,
}

pub fn run(command: TlsCommand) -> anyhow::Result<ExitCode> {
    match command {
        TlsCommand::SelfSigned(a) => self_signed(&a),
    }
}

fn self_signed(args: &SelfSignedArgs) -> anyhow::Result<ExitCode> {
    for path in [&args.cert, &args.key] {
        if path.exists() && !args.force {
            bail!("{} exists (give --force to replace it)", path.display());
        }
    }
    let mut params = rcgen::CertificateParams::new(args.names.clone())
        .context("the --name values are not host names or addresses")?;
    let today = chrono::Utc::now().date_naive();
    params.not_before = rcgen::date_time_ymd(today.year(), today.month() as u8, 1);
    params.not_after = rcgen::date_time_ymd(today.year() + 2, today.month() as u8, 1);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "vspread admin (self-signed)");
    let key = rcgen::KeyPair::generate().context("generating the key")?;
    let cert = params
        .self_signed(&key)
        .context("signing the certificate")?;
    write(&args.key, &key.serialize_pem(), true)?;
    write(&args.cert, &cert.pem(), false)?;
    eprintln!(
        "wrote {} and {} (for {}); set [server] tls_cert_file and tls_key_file to them",
        args.cert.display(),
        args.key.display(),
        args.names.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}

fn write(path: &Path, text: &str, private: bool) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}
