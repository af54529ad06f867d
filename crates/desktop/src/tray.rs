//! The tray icon and its menu: the engine's state as a coloured dot and a
//! first line of text, and the actions a trader takes without the window
//! (Open, Pause, Resume, Kill switch with a confirmation, Settings, Quit).
//! Pause, Resume and the kill switch go through the window's admin API
//! session (the same calls its buttons make), so they work alike in Local
//! and Attach mode and are journaled with the same operator.

use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIcon, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager as _, Wry};
use tauri_plugin_dialog::{DialogExt as _, MessageDialogButtons, MessageDialogKind};

use crate::engine_state::EngineState;
use crate::window;

const TRAY_ID: &str = "vspread";

/// The menu entries whose text or enabled state follow the engine.
pub struct TrayMenu {
    status: MenuItem<Wry>,
    pause: MenuItem<Wry>,
    resume: MenuItem<Wry>,
    kill: MenuItem<Wry>,
}

impl std::fmt::Debug for TrayMenu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrayMenu").finish_non_exhaustive()
    }
}

fn icon(state: EngineState) -> Image<'static> {
    let bytes: &'static [u8] = match state {
        EngineState::Running => include_bytes!("../icons/tray-running.png"),
        EngineState::Paused => include_bytes!("../icons/tray-paused.png"),
        EngineState::KillSwitch => include_bytes!("../icons/tray-kill-switch.png"),
        EngineState::GatewayDown | EngineState::Unreachable | EngineState::Starting => {
            include_bytes!("../icons/tray-down.png")
        }
    };
    Image::from_bytes(bytes).expect("the tray icons are PNG files")
}

/// Builds the tray; its menu starts as "starting".
pub fn build(app: &AppHandle) -> tauri::Result<TrayMenu> {
    let status = MenuItem::with_id(app, "status", "vspread: starting", false, None::<&str>)?;
    let open = MenuItem::with_id(app, "open", "Open", true, None::<&str>)?;
    let pause = MenuItem::with_id(app, "pause", "Pause", false, None::<&str>)?;
    let resume = MenuItem::with_id(app, "resume", "Resume", false, None::<&str>)?;
    let kill = MenuItem::with_id(app, "kill", "Kill switch…", false, None::<&str>)?;
    let settings = MenuItem::with_id(app, "settings", "Settings…", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?;
    let menu = Menu::with_items(
        app,
        &[
            &status,
            &PredefinedMenuItem::separator(app)?,
            &open,
            &pause,
            &resume,
            &kill,
            &PredefinedMenuItem::separator(app)?,
            &settings,
            &quit,
        ],
    )?;
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(icon(EngineState::Starting))
        .tooltip("vspread: starting")
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(|app, event| on_menu(app, event.id().as_ref()))
        .on_tray_icon_event(|tray: &TrayIcon, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                window::show_main(tray.app_handle());
            }
        })
        .build(app)?;
    Ok(TrayMenu {
        status,
        pause,
        resume,
        kill,
    })
}

impl TrayMenu {
    /// Shows `state` on the icon, the tooltip and the menu.
    pub fn show(&self, app: &AppHandle, state: EngineState) {
        let line = format!("vspread: {}", state.label());
        if let Some(tray) = app.tray_by_id(TRAY_ID) {
            let _ = tray.set_icon(Some(icon(state)));
            let _ = tray.set_tooltip(Some(&line));
        }
        let _ = self.status.set_text(&line);
        let engine = !matches!(state, EngineState::Starting | EngineState::Unreachable);
        let _ = self
            .pause
            .set_enabled(engine && state != EngineState::Paused);
        let _ = self
            .resume
            .set_enabled(engine && state == EngineState::Paused);
        let _ = self
            .kill
            .set_enabled(engine && state != EngineState::KillSwitch);
    }
}

fn on_menu(app: &AppHandle, id: &str) {
    match id {
        "open" => window::show_main(app),
        "pause" | "resume" => window::control(app, id),
        "kill" => {
            let handle = app.clone();
            app.dialog()
                .message(
                    "Engage the kill switch? No new entries are made and every working order is cancelled; \
                     it stays engaged until released in the window.",
                )
                .title("vspread: kill switch")
                .kind(MessageDialogKind::Warning)
                .buttons(MessageDialogButtons::OkCancelCustom(
                    "Engage".into(),
                    "Cancel".into(),
                ))
                .show(move |engage| {
                    if engage {
                        window::control(&handle, "kill");
                    }
                });
        }
        "settings" => window::open_settings(app),
        "quit" => crate::app::quit_app(app),
        _ => {}
    }
}

/// The tray's menu handles, kept in the app's state.
pub fn menu(app: &AppHandle) -> Option<tauri::State<'_, TrayMenu>> {
    app.try_state::<TrayMenu>()
}
