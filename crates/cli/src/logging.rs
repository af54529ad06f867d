//! Log output for the binary: `tracing` to stderr, as text or as one JSON
//! object per line (for log shippers), at the level `[logging]` sets, both
//! changeable while the engine runs (an apply or a file edit).
//!
//! `VSPREAD_LOG` (an env-filter such as `info` or `vspread_engine=debug`)
//! overrides `[logging] level` when set: it is how an operator turns on
//! module-level debugging without editing the file.

use std::io::IsTerminal as _;
use std::sync::OnceLock;

use tracing_subscriber::layer::{Layered, SubscriberExt as _};
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer, Registry, reload};
use vspread_core::config::{LogFormat, LogLevel, LoggingConfig};
use vspread_engine::engine::LogControl;

type Filtered = Layered<reload::Layer<EnvFilter, Registry>, Registry>;
type FormatLayer = Box<dyn Layer<Filtered> + Send + Sync>;

/// The handles that change the installed subscriber.
struct Handles {
    filter: reload::Handle<EnvFilter, Registry>,
    format: reload::Handle<FormatLayer, Filtered>,
    /// `VSPREAD_LOG` was set: the config's level does not apply.
    env_level: bool,
}

static HANDLES: OnceLock<Handles> = OnceLock::new();

fn format_layer(format: LogFormat) -> FormatLayer {
    match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .with_target(false)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .boxed(),
    }
}

fn level_filter(level: LogLevel) -> EnvFilter {
    EnvFilter::new(match level {
        LogLevel::Trace => "trace",
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Warn => "warn",
        LogLevel::Error => "error",
    })
}

/// Installs the stderr subscriber: text at `info` unless `VSPREAD_LOG`
/// says otherwise, until a config says more.
pub fn init_from_env() {
    let env = EnvFilter::try_from_env("VSPREAD_LOG").ok();
    let env_level = env.is_some();
    let (filter, filter_handle) = reload::Layer::new(env.unwrap_or_else(|| EnvFilter::new("info")));
    let (format, format_handle) = reload::Layer::new(format_layer(LogFormat::Text));
    if tracing_subscriber::registry()
        .with(filter)
        .with(format)
        .try_init()
        .is_ok()
    {
        let _ = HANDLES.set(Handles {
            filter: filter_handle,
            format: format_handle,
            env_level,
        });
    }
}

/// Makes `[logging]` take effect in this process.
#[derive(Debug, Default, Clone, Copy)]
pub struct ConfigLogging;

impl LogControl for ConfigLogging {
    fn apply(&self, logging: &LoggingConfig) -> Result<(), String> {
        let Some(handles) = HANDLES.get() else {
            return Err("no log subscriber of this process to change".into());
        };
        if !handles.env_level {
            handles
                .filter
                .reload(level_filter(logging.level))
                .map_err(|e| format!("logging.level: {e}"))?;
        }
        handles
            .format
            .reload(format_layer(logging.format))
            .map_err(|e| format!("logging.format: {e}"))?;
        Ok(())
    }
}
