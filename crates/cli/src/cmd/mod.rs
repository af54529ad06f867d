//! One module per subcommand.

pub mod backup;
pub mod config;
pub mod demo;
pub mod doctor;
pub mod healthcheck;
pub mod journal;
pub mod report;
pub mod run;
pub mod scan;
pub mod sim;
pub mod simulate;
pub mod tls;
pub mod token;
pub mod validate;

use std::future::Future;

use anyhow::Context as _;

/// Completes on SIGINT or SIGTERM: how `run`, `demo` and `sim` are stopped.
pub fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
    })
}
