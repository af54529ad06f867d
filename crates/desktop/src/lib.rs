//! `vspread-desktop`: vspread's admin UI in a native window beside TWS
//! (Tauri 2), with the engine's state in the tray and native notifications
//! for what a trader wants to hear about without looking.
//!
//! - [`settings`]: the remembered mode and notification switches.
//! - [`local`]: Local mode, the engine in this process.
//! - [`notices`]: engine events that become notifications, and the record.
//! - [`engine_state`]: the state the tray shows.
//! - [`app`], [`tray`], [`window`]: the Tauri app.
//! - [`webkit`]: defaults that keep WebKitGTK from drawing blank windows.

pub mod app;
pub mod engine_state;
pub mod local;
pub mod notices;
pub mod settings;
pub mod tray;
pub mod webkit;
pub mod window;
