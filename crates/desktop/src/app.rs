//! The desktop app: its state, the commands its pages call, and the Tauri
//! builder that ties windows, tray, notifications, single instance and
//! window state together.
//!
//! The main window starts on the app's first-run screen (`ui/index.html`),
//! which either starts the remembered mode at once or lets the user choose
//! one. Once an engine is reachable the window navigates to its admin
//! server, whose web UI (one codebase with the browser's) detects the app
//! and, through the commands granted to that origin only, fetches its
//! token, forwards live engine events (notifications) and status (tray),
//! and carries out the tray's actions.

use std::path::PathBuf;
use std::sync::Mutex;

use serde::Serialize;
use serde_json::Value;
use tauri::ipc::CapabilityBuilder;
use tauri::{AppHandle, Manager as _, RunEvent, State, Url, WindowEvent};
use tauri_plugin_notification::NotificationExt as _;
use tauri_plugin_window_state::StateFlags;

use crate::engine_state::EngineState;
use crate::local::{LocalEngine, LocalKind};
use crate::notices::{Notifier, SentNotice};
use crate::settings::{Mode, NotificationSwitches, Settings, SettingsFile};
use crate::{tray, window};

/// Simulated seconds per real second of the Local demo.
const DEMO_SPEED: f64 = 60.0;

/// The engine the window is attached to.
#[derive(Debug, Clone)]
struct Session {
    url: String,
    token: String,
    local: bool,
}

/// The app's state, shared by its commands and event handlers.
#[derive(Debug)]
pub struct Desktop {
    file: SettingsFile,
    settings: Mutex<Settings>,
    /// Why the settings file could not be read at launch (shown on the
    /// first-run screen; the file is left alone until the user chooses).
    settings_error: Option<String>,
    demo_dir: PathBuf,
    session: Mutex<Option<Session>>,
    local: Mutex<Option<LocalEngine>>,
    notifier: Notifier,
    engine_state: Mutex<EngineState>,
}

impl Desktop {
    fn new(config_dir: PathBuf, data_dir: PathBuf) -> Self {
        let file = SettingsFile::in_dir(&config_dir);
        let (settings, settings_error) = match file.load() {
            Ok(s) => (s, None),
            Err(e) => {
                tracing::error!(error = %e, "the desktop settings are unreadable");
                (Settings::default(), Some(e.to_string()))
            }
        };
        Self {
            file,
            settings: Mutex::new(settings),
            settings_error,
            demo_dir: data_dir.join("demo"),
            session: Mutex::new(None),
            local: Mutex::new(None),
            notifier: Notifier::default(),
            engine_state: Mutex::new(EngineState::Starting),
        }
    }

    fn save(&self, settings: &Settings) -> Result<(), String> {
        if self.settings_error.is_some() && settings.mode.is_none() {
            // Never replace an unreadable file with mere defaults.
            return Ok(());
        }
        self.file.save(settings).map_err(|e| e.to_string())
    }
}

/// What the first-run screen shows.
#[derive(Debug, Serialize)]
struct Launch {
    remembered: Option<Mode>,
    settings_error: Option<String>,
    settings_path: String,
    demo_dir: String,
    /// An engine is attached already (the page was reloaded).
    attached: Option<String>,
}

#[tauri::command]
fn launch(state: State<'_, Desktop>) -> Launch {
    Launch {
        remembered: state.settings.lock().expect("settings").mode.clone(),
        settings_error: state.settings_error.clone(),
        settings_path: state.file.path().display().to_string(),
        demo_dir: state.demo_dir.display().to_string(),
        attached: state
            .session
            .lock()
            .expect("session")
            .as_ref()
            .map(|s| s.url.clone()),
    }
}

/// The origin pattern the engine's pages are served from.
fn origin_pattern(url: &Url) -> String {
    let mut origin = url.origin().ascii_serialization();
    origin.push_str("/*");
    origin
}

/// Lets the engine's pages call the few commands they need, from their
/// origin only.
fn grant_engine_origin(app: &AppHandle, url: &Url) -> Result<(), String> {
    let capability =
        CapabilityBuilder::new(format!("engine-{}", url.origin().ascii_serialization()))
            .remote(origin_pattern(url))
            .window(window::MAIN)
            .permission("allow-desktop-session")
            .permission("allow-engine-event")
            .permission("allow-engine-status")
            .permission("allow-notifications-sent")
            .permission("allow-open-settings")
            .permission("allow-quit");
    app.add_capability(capability).map_err(|e| e.to_string())
}

fn parse_engine_url(url: &str) -> Result<Url, String> {
    let parsed = Url::parse(url.trim()).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    match parsed.scheme() {
        "http" | "https" if parsed.host().is_some() => Ok(parsed),
        _ => Err(format!(
            "{url:?}: the engine's address is http:// or https:// and a host, e.g. http://127.0.0.1:8080"
        )),
    }
}

/// Starts `mode` (the engine in this process, or attaches to one), then
/// opens its web UI in the main window; remembers the mode if asked.
#[tauri::command]
async fn start(
    app: AppHandle,
    state: State<'_, Desktop>,
    mode: Mode,
    remember: bool,
) -> Result<String, String> {
    if state.session.lock().expect("session").is_some() {
        return Err("an engine is attached already; quit the app to change mode".into());
    }
    let session = match &mode {
        Mode::Attach { url, token } => {
            parse_engine_url(url)?;
            if token.trim().is_empty() {
                return Err("the engine's admin token is empty".into());
            }
            Session {
                url: url.trim().trim_end_matches('/').to_owned(),
                token: token.trim().to_owned(),
                local: false,
            }
        }
        Mode::LocalDemo | Mode::LocalRun { .. } => {
            let kind = match &mode {
                Mode::LocalRun { config, live } => LocalKind::Run {
                    config: config.clone(),
                    live: *live,
                },
                _ => LocalKind::Demo {
                    data_dir: state.demo_dir.clone(),
                    speed: DEMO_SPEED,
                },
            };
            let (engine, ready) =
                tauri::async_runtime::spawn_blocking(move || LocalEngine::start(kind))
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| format!("{e:#}"))?;
            *state.local.lock().expect("local") = Some(engine);
            Session {
                url: ready.admin_url,
                token: ready.token,
                local: true,
            }
        }
    };
    if remember {
        let mut settings = state.settings.lock().expect("settings").clone();
        settings.mode = Some(mode);
        state.save(&settings)?;
        *state.settings.lock().expect("settings") = settings;
    }
    let url = parse_engine_url(&session.url)?;
    grant_engine_origin(&app, &url)?;
    tracing::info!(url = %session.url, local = session.local, "opening the engine's UI");
    *state.session.lock().expect("session") = Some(session.clone());
    if let Some(w) = app.get_webview_window(window::MAIN) {
        w.navigate(url).map_err(|e| e.to_string())?;
    }
    Ok(session.url)
}

/// What the engine's page needs to sign in.
#[derive(Debug, Serialize)]
struct SessionView {
    token: String,
    local: bool,
}

#[tauri::command]
fn desktop_session(state: State<'_, Desktop>) -> Option<SessionView> {
    state
        .session
        .lock()
        .expect("session")
        .as_ref()
        .map(|s| SessionView {
            token: s.token.clone(),
            local: s.local,
        })
}

/// A live engine event from the window's stream: raises its notification
/// when the settings allow it.
#[tauri::command]
fn engine_event(app: AppHandle, state: State<'_, Desktop>, event: Value) {
    let Some(notice) = state.notifier.notice_for(&event) else {
        return;
    };
    if !state
        .settings
        .lock()
        .expect("settings")
        .notifications
        .allows(notice.kind)
    {
        return;
    }
    let delivered = app
        .notification()
        .builder()
        .title(&notice.title)
        .body(&notice.body)
        .show()
        .map_err(|e| e.to_string());
    if let Err(e) = &delivered {
        tracing::warn!(error = %e, title = %notice.title, "notification not shown");
    }
    let seq = event.get("seq").and_then(Value::as_u64);
    state.notifier.record(notice, seq, delivered);
}

/// The window's latest `GET /status` body (or `{"error": …}`): the tray.
#[tauri::command]
fn engine_status(app: AppHandle, state: State<'_, Desktop>, status: Value) {
    let now = EngineState::from_status(&status);
    let changed = {
        let mut current = state.engine_state.lock().expect("engine state");
        std::mem::replace(&mut *current, now) != now
    };
    if changed && let Some(menu) = tray::menu(&app) {
        menu.show(&app, now);
    }
}

#[tauri::command]
fn notifications_sent(state: State<'_, Desktop>) -> Vec<SentNotice> {
    state.notifier.sent()
}

#[tauri::command]
fn get_settings(state: State<'_, Desktop>) -> Settings {
    let mut settings = state.settings.lock().expect("settings").clone();
    if let Some(Mode::Attach { token, .. }) = &mut settings.mode {
        // The settings page never needs it.
        *token = "(saved)".into();
    }
    settings
}

#[tauri::command]
fn save_notification_switches(
    state: State<'_, Desktop>,
    switches: NotificationSwitches,
) -> Result<(), String> {
    let mut settings = state.settings.lock().expect("settings").clone();
    settings.notifications = switches;
    state.file.save(&settings).map_err(|e| e.to_string())?;
    *state.settings.lock().expect("settings") = settings;
    Ok(())
}

/// The next launch shows the first-run screen again.
#[tauri::command]
fn forget_mode(state: State<'_, Desktop>) -> Result<(), String> {
    let mut settings = state.settings.lock().expect("settings").clone();
    settings.mode = None;
    state.file.save(&settings).map_err(|e| e.to_string())?;
    *state.settings.lock().expect("settings") = settings;
    Ok(())
}

#[tauri::command]
fn open_settings(app: AppHandle) {
    window::open_settings(&app);
}

#[tauri::command]
fn quit(app: AppHandle) {
    quit_app(&app);
}

/// Quit: stops a local engine (engine, admin server, broker, journal,
/// lock, in that order) off the UI thread, then ends the app.
pub fn quit_app(app: &AppHandle) {
    let app = app.clone();
    std::thread::spawn(move || {
        let engine = app
            .try_state::<Desktop>()
            .and_then(|s| s.local.lock().expect("local").take());
        if let Some(mut engine) = engine {
            tracing::info!("stopping the local engine");
            if let Err(e) = engine.stop() {
                tracing::error!(error = %format!("{e:#}"), "the local engine stopped with an error");
            }
        }
        app.exit(0);
    });
}

/// Builds and runs the app until Quit.
pub fn run() -> anyhow::Result<()> {
    let app = tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            window::show_main(app);
        }))
        .plugin(
            tauri_plugin_window_state::Builder::new()
                .with_state_flags(StateFlags::SIZE | StateFlags::POSITION | StateFlags::MAXIMIZED)
                .with_denylist(&[window::SETTINGS])
                .build(),
        )
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_dialog::init())
        .setup(|app| {
            let config_dir = app.path().app_config_dir()?;
            let data_dir = app.path().app_data_dir()?;
            app.manage(Desktop::new(config_dir, data_dir));
            let menu = tray::build(app.handle())?;
            app.manage(menu);
            Ok(())
        })
        .on_window_event(|w, event| {
            if let WindowEvent::CloseRequested { api, .. } = event
                && w.label() == window::MAIN
            {
                let attached = w
                    .app_handle()
                    .try_state::<Desktop>()
                    .is_some_and(|s| s.session.lock().expect("session").is_some());
                if attached {
                    // Trading goes on; the tray's Quit ends it.
                    api.prevent_close();
                    let _ = w.hide();
                } else {
                    quit_app(w.app_handle());
                }
            }
        })
        .invoke_handler(tauri::generate_handler![
            launch,
            start,
            desktop_session,
            engine_event,
            engine_status,
            notifications_sent,
            get_settings,
            save_notification_switches,
            forget_mode,
            open_settings,
            quit,
        ])
        .build(tauri::generate_context!())?;
    app.run(|app, event| {
        if let RunEvent::ExitRequested {
            code: None, api, ..
        } = &event
        {
            // The last window closing is not Quit: the tray keeps the app.
            let attached = app
                .try_state::<Desktop>()
                .is_some_and(|s| s.session.lock().expect("session").is_some());
            if attached {
                api.prevent_exit();
            }
        }
    });
    Ok(())
}
