//! Log output for the binary: `tracing` to stderr, text by default.
//! `VSPREAD_LOG` (an env-filter such as `info` or `vspread_engine=debug`)
//! overrides the level.

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;

/// Installs the stderr subscriber with level `info` unless `VSPREAD_LOG` says otherwise.
pub fn init_from_env() {
    let filter = EnvFilter::try_from_env("VSPREAD_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}
