//! The two windows: `main` (the first-run screen, then the engine's web UI)
//! and `settings` (the app's own settings). Closing `main` while an engine
//! is attached hides it: trading goes on and the tray stays until Quit.

use tauri::{AppHandle, Manager as _, WebviewUrl, WebviewWindowBuilder};

pub const MAIN: &str = "main";
pub const SETTINGS: &str = "settings";

/// Brings the main window to the front (the tray's Open, a second launch).
pub fn show_main(app: &AppHandle) {
    if let Some(w) = app.get_webview_window(MAIN) {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
}

/// Asks the engine's page in the main window to pause, resume or engage
/// the kill switch through its admin session (`window.__vspreadDesktop`,
/// set by the web UI's desktop module).
pub fn control(app: &AppHandle, action: &str) {
    let Some(w) = app.get_webview_window(MAIN) else {
        return;
    };
    let script = format!(
        "window.__vspreadDesktop && window.__vspreadDesktop.trayAction({})",
        serde_json::Value::from(action)
    );
    if let Err(e) = w.eval(&script) {
        tracing::warn!(error = %e, action, "the window did not take the tray's action");
    }
}

/// Opens (or focuses) the settings window.
pub fn open_settings(app: &AppHandle) {
    if let Some(w) = app.get_webview_window(SETTINGS) {
        let _ = w.show();
        let _ = w.set_focus();
        return;
    }
    let built = WebviewWindowBuilder::new(app, SETTINGS, WebviewUrl::App("settings.html".into()))
        .title("vspread settings")
        .inner_size(480.0, 560.0)
        .min_inner_size(360.0, 400.0)
        .build();
    if let Err(e) = built {
        tracing::warn!(error = %e, "cannot open the settings window");
    }
}
