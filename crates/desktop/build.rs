//! Tauri's build step: the app's config, icons and capabilities are
//! checked and compiled in. The app's own commands are listed so each gets
//! an `allow-…` permission: the engine's pages (a remote origin to Tauri)
//! may call only the few their capability grants.

fn main() {
    let manifest = tauri_build::AppManifest::new().commands(&[
        "launch",
        "start",
        "desktop_session",
        "engine_event",
        "engine_status",
        "notifications_sent",
        "get_settings",
        "save_notification_switches",
        "forget_mode",
        "open_settings",
        "quit",
    ]);
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest))
        .expect("tauri build step");
}
