//! Hot reload against real files and the real file watcher.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use vspread_core::config::{ConfigErrorKind, Location};
use vspread_engine::live_config::{LiveConfig, ReloadOutcome, WatchOptions, watch};

/// Replaces the file the way editors and our store do: temp file + rename.
fn replace(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp-edit");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn no_sighup() -> WatchOptions {
    WatchOptions {
        sighup: false,
        ..WatchOptions::default()
    }
}

#[test]
fn an_edited_file_is_swapped_in_and_subscribers_get_the_changed_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, "# my settings\n[exits]\nstop_loss_atr_mult = 2.0\n").unwrap();
    let live = LiveConfig::load(&path).unwrap();
    let mut changes = live.subscribe();
    let _guard = watch(live.clone(), no_sighup()).unwrap();
    assert_eq!(live.current().generation, 1);

    replace(&path, "# my settings\n[exits]\nstop_loss_atr_mult = 1.5\n");
    wait_until("the new snapshot", || live.current().generation == 2);
    assert_eq!(live.current().config.exits.stop_loss_atr_mult, 1.5);
    // The snapshot is swapped in a moment before its notification is sent.
    let change = {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match changes.try_recv() {
                Ok(change) => break change,
                Err(e) => {
                    assert!(Instant::now() < deadline, "a change notification: {e:?}");
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        }
    };
    let paths: Vec<&str> = change.changes.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths, ["exits.stop_loss_atr_mult"]);
    assert_eq!(change.snapshot.generation, 2);

    // In-place writes (not rename) are seen too.
    std::fs::write(&path, "[exits]\nstop_loss_atr_mult = 3.0\n").unwrap();
    wait_until("the in-place edit", || {
        live.current().config.exits.stop_loss_atr_mult == 3.0
    });
}

#[test]
fn an_invalid_file_is_refused_and_the_running_config_stays() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, "[exits]\nstop_loss_atr_mult = 2.5\n").unwrap();
    let live = LiveConfig::load(&path).unwrap();
    let _guard = watch(live.clone(), no_sighup()).unwrap();

    replace(&path, "[exits]\nstop_loss_atr_mult = -1\n");
    wait_until("the refusal", || live.last_reload_error().is_some());
    let err = live.last_reload_error().unwrap();
    let errors = err.errors.as_ref().expect("located errors");
    assert_eq!(errors.errors[0].path, "exits.stop_loss_atr_mult");
    assert_eq!(errors.errors[0].kind, ConfigErrorKind::Range);
    assert_eq!(
        errors.errors[0].location,
        Some(Location {
            line: 2,
            column: 22
        })
    );
    assert!(err.message.contains("config.toml:2:22"), "{}", err.message);
    assert_eq!(live.current().config.exits.stop_loss_atr_mult, 2.5);
    assert_eq!(live.current().generation, 1);

    replace(&path, "[exits]\nstop_loss_atr_mult = 1.0\n");
    wait_until("the fix", || {
        live.current().config.exits.stop_loss_atr_mult == 1.0
    });
    assert!(
        live.last_reload_error().is_none(),
        "a good reload clears the error"
    );
}

#[test]
fn a_comment_only_change_moves_the_version_but_not_the_generation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, "[exits]\nexit_dte = 5\n").unwrap();
    let live = LiveConfig::load(&path).unwrap();
    let mut changes = live.subscribe();
    let before = live.current().version.clone();
    assert!(matches!(live.reload_from_disk(), ReloadOutcome::Unchanged));
    std::fs::write(&path, "# a note\n[exits]\nexit_dte = 5\n").unwrap();
    assert!(matches!(live.reload_from_disk(), ReloadOutcome::SameConfig));
    assert_ne!(live.current().version, before);
    assert_eq!(live.current().generation, 1);
    assert!(
        changes.try_recv().is_err(),
        "no key changed, nobody is told"
    );
}

#[test]
fn readers_never_see_a_torn_config_under_concurrent_reloads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    // Each version moves both bounds together: a torn read would pair the
    // dte_min of one version with the dte_max of another.
    let text = |i: i64| format!("[scanner]\ndte_min = {}\ndte_max = {}\n", i, i + 1000);
    std::fs::write(&path, text(0)).unwrap();
    let live = LiveConfig::load(&path).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let live = live.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut reads = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let snap = live.current();
                    assert_eq!(
                        snap.config.scanner.dte_max - snap.config.scanner.dte_min,
                        1000
                    );
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    for i in 1..=200 {
        std::fs::write(&path, text(i)).unwrap();
        assert!(matches!(live.reload_from_disk(), ReloadOutcome::Applied(_)));
    }
    stop.store(true, Ordering::Relaxed);
    let reads: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(reads > 0);
    assert_eq!(live.current().config.scanner.dte_min, 200);
    assert_eq!(live.current().generation, 201);
}

/// An apply saves the file, then waits for the cycle in flight before it
/// swaps the new config in. The watcher sees the saved file at once; it
/// must not swap it in first (unpaused), and an edit someone else makes
/// meanwhile is still picked up once the apply ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watcher_leaves_an_applys_file_to_the_apply() {
    use vspread_core::clock::SystemClock;
    use vspread_engine::config_service::ConfigService;
    use vspread_engine::config_store::ConfigStore;
    use vspread_engine::control::ControlPlane;
    use vspread_engine::events::EventBus;
    use vspread_engine::live_config::ChangeOrigin;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, vspread_core::config::default_file_text()).unwrap();
    let live = LiveConfig::load(&path).unwrap();
    let _guard = watch(live.clone(), no_sighup()).unwrap();
    let control = Arc::new(ControlPlane::new());
    let service = ConfigService::new(
        ConfigStore::new(&path),
        live.clone(),
        control.clone(),
        Arc::new(EventBus::new(100, Arc::new(SystemClock))),
        None,
    );
    let mut changes = live.subscribe();
    // A cycle in flight does not hold the apply back.
    let cycle = control.enter_cycle().await;
    let mut new = live.current().config.as_ref().clone();
    new.exits.stop_loss_atr_mult = 1.5;
    let version = live.current().version.clone();
    let report = service.apply(new, &version, "test").await.unwrap();
    assert!(report.engine_resumed);
    assert!(control.is_current(cycle), "the running cycle goes on");
    assert_eq!(live.current().config.exits.stop_loss_atr_mult, 1.5);
    // Long enough for the watcher to have seen the saved file.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        live.current().generation,
        2,
        "swapped in once, by the apply"
    );
    let change = changes.try_recv().unwrap();
    assert_eq!(change.origin, ChangeOrigin::Apply);
    assert!(
        changes.try_recv().is_err(),
        "the watcher swapped the apply's file in a second time"
    );

    // Reloads work again after the apply.
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("stop_loss_atr_mult = 1.5", "stop_loss_atr_mult = 2.5");
    replace(&path, &text);
    let since = Instant::now();
    while live.current().config.exits.stop_loss_atr_mult != 2.5 {
        assert!(
            since.elapsed() < Duration::from_secs(10),
            "no reload after the apply"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A refused apply or rollback is told on the event stream, not only
/// answered to whoever sent it: the desktop app notifies the trader of it,
/// and the dashboard lists it. The running config stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_apply_is_published_and_changes_nothing() {
    use vspread_core::clock::SystemClock;
    use vspread_engine::config_service::{ApplyError, ConfigService};
    use vspread_engine::config_store::ConfigStore;
    use vspread_engine::control::ControlPlane;
    use vspread_engine::events::{EngineEvent, EventBus};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, vspread_core::config::default_file_text()).unwrap();
    let live = LiveConfig::load(&path).unwrap();
    let events = Arc::new(EventBus::new(100, Arc::new(SystemClock)));
    let service = ConfigService::new(
        ConfigStore::new(&path),
        live.clone(),
        Arc::new(ControlPlane::new()),
        events.clone(),
        None,
    );
    let version = live.current().version.clone();
    let before = std::fs::read_to_string(&path).unwrap();

    // Invalid: every error is carried, with its key path.
    let mut invalid = live.current().config.as_ref().clone();
    invalid.trading.max_positions = 0;
    let error = service
        .apply(invalid, &version, "admin:ui")
        .await
        .unwrap_err();
    assert!(matches!(error, ApplyError::Invalid(_)), "{error}");
    // Stale: the edit was read from another version.
    let error = service
        .apply(
            live.current().config.as_ref().clone(),
            "not-the-version",
            "admin:ui",
        )
        .await
        .unwrap_err();
    assert!(matches!(error, ApplyError::Stale { .. }), "{error}");
    // A rollback to a backup that does not exist.
    assert!(
        service
            .rollback("no-such-backup", "admin:ui")
            .await
            .is_err()
    );

    let refusals: Vec<_> = events
        .since(0, 100)
        .into_iter()
        .filter_map(|e| match &e.event {
            EngineEvent::ConfigApplyRefused(r) => Some(r.clone()),
            _ => None,
        })
        .collect();
    let reasons: Vec<(&str, &str)> = refusals
        .iter()
        .map(|r| (r.action.as_str(), r.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        [
            ("apply", "invalid"),
            ("apply", "stale"),
            ("rollback", "no_such_backup")
        ]
    );
    assert!(refusals.iter().all(|r| r.who == "admin:ui"));
    assert!(
        refusals[0]
            .errors
            .iter()
            .any(|e| e.contains("trading.max_positions")),
        "{:?}",
        refusals[0].errors
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
    assert_eq!(live.current().version, version);
}
