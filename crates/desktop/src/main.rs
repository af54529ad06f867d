//! `vspread-desktop`: see the crate docs (`src/lib.rs`) and docs/desktop.md.

use std::process::ExitCode;

fn main() -> ExitCode {
    vspread_desktop::webkit::apply_defaults();
    let filter = tracing_subscriber::EnvFilter::try_from_env("VSPREAD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    match vspread_desktop::app::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "vspread-desktop stopped");
            ExitCode::FAILURE
        }
    }
}
