//! The config store against real files: edits keep the user's text,
//! invalid or stale saves touch nothing, backups rotate, rollback restores.

use std::path::Path;

use proptest::prelude::*;
use vspread_core::config::{Config, default_file_text};
use vspread_engine::config_store::{ConfigStore, StoreError};

const USER_FILE: &str = "\
# My desk's settings.
[trading]
universe = [ \"SPY\",   \"QQQ\" ]   # the two I trust
max_positions = 4

[exits]
# tighter than the default
stop_loss_atr_mult    = 1.8   # ATRs
profit_target_pct = 50.0
";

fn store_with(text: &str) -> (tempfile::TempDir, ConfigStore) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).unwrap();
    (dir, ConfigStore::new(path))
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn an_edit_rewrites_only_the_changed_value() {
    let (_dir, store) = store_with(USER_FILE);
    let loaded = store.load().unwrap();
    let mut config = loaded.config.clone();
    config.exits.stop_loss_atr_mult = 1.5;
    let report = store.save(&config, Some(&loaded.version)).unwrap();
    let text = std::fs::read_to_string(store.path()).unwrap();
    assert_eq!(text, USER_FILE.replace("= 1.8   # ATRs", "= 1.5   # ATRs"));
    assert_eq!(report.changes.len(), 1);
    assert_eq!(report.changes[0].path, "exits.stop_loss_atr_mult");
    assert_ne!(report.version, loaded.version);
}

#[test]
fn keys_and_sections_missing_from_the_file_are_added() {
    let (_dir, store) = store_with(USER_FILE);
    let mut config = store.load().unwrap().config;
    config.exits.exit_dte = 3;
    config.strategies.high_base.min_rsi = 60.0;
    store.save(&config, None).unwrap();
    let text = std::fs::read_to_string(store.path()).unwrap();
    assert!(text.starts_with("# My desk's settings.\n[trading]\nuniverse = [ \"SPY\",   \"QQQ\" ]   # the two I trust\n"), "{text}");
    assert!(text.contains("exit_dte = 3"), "{text}");
    assert!(
        text.contains("[strategies.high_base]\nmin_rsi = 60.0"),
        "{text}"
    );
    assert_eq!(Config::from_toml_str(&text).unwrap(), config);
}

#[test]
fn an_invalid_config_is_refused_and_nothing_is_written() {
    let (dir, store) = store_with(USER_FILE);
    let mut config = store.load().unwrap().config;
    config.exits.stop_loss_atr_mult = -1.0;
    config.scanner.dte_min = 90;
    let err = store.save(&config, None).unwrap_err();
    let StoreError::Invalid(errors) = err else {
        panic!("{err}")
    };
    let paths: Vec<&str> = errors.errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["exits.stop_loss_atr_mult", "scanner.dte_min"]);
    assert_eq!(std::fs::read_to_string(store.path()).unwrap(), USER_FILE);
    assert_eq!(
        files_in(dir.path()),
        ["config.toml"],
        "no backup, no temp file"
    );
}

#[test]
fn a_stale_version_is_refused() {
    let (_dir, store) = store_with(USER_FILE);
    let loaded = store.load().unwrap();
    std::fs::write(store.path(), format!("{USER_FILE}\n# edited elsewhere\n")).unwrap();
    let mut config = loaded.config.clone();
    config.exits.exit_dte = 2;
    let err = store.save(&config, Some(&loaded.version)).unwrap_err();
    assert!(matches!(err, StoreError::Stale { .. }), "{err}");
    assert!(
        std::fs::read_to_string(store.path())
            .unwrap()
            .ends_with("# edited elsewhere\n")
    );
}

#[test]
fn a_save_that_changes_nothing_writes_nothing() {
    let (dir, store) = store_with(USER_FILE);
    let loaded = store.load().unwrap();
    let report = store.save(&loaded.config, Some(&loaded.version)).unwrap();
    assert!(report.changes.is_empty());
    assert!(report.backup_id.is_none());
    assert_eq!(report.version, loaded.version);
    assert_eq!(files_in(dir.path()), ["config.toml"]);
}

#[test]
fn backups_are_made_listed_and_pruned_to_backups_keep() {
    let (_dir, store) = store_with("[storage]\nbackups_keep = 3\n");
    let mut config = store.load().unwrap().config;
    let mut ids = Vec::new();
    for dte in 1..=5 {
        config.exits.exit_dte = dte;
        ids.push(store.save(&config, None).unwrap().backup_id.unwrap());
    }
    let listed: Vec<String> = store.backups().unwrap().into_iter().map(|b| b.id).collect();
    let newest: Vec<String> = ids.iter().rev().take(3).cloned().collect();
    assert_eq!(listed, newest, "newest first, pruned to 3");
    // Ids are unique even within one millisecond.
    let mut sorted = ids.clone();
    sorted.dedup();
    assert_eq!(sorted.len(), 5);
}

#[test]
fn rollback_restores_a_backup_and_backs_up_the_current_file() {
    let (_dir, store) = store_with(USER_FILE);
    let mut config = store.load().unwrap().config;
    config.trading.max_positions = 9;
    let first = store.save(&config, None).unwrap().backup_id.unwrap();
    let report = store.rollback(&first).unwrap();
    assert_eq!(std::fs::read_to_string(store.path()).unwrap(), USER_FILE);
    assert_eq!(report.changes[0].path, "trading.max_positions");
    assert_eq!(store.backups().unwrap().len(), 2);
    assert!(matches!(
        store.rollback("20990101T000000.000Z"),
        Err(StoreError::UnknownBackup { .. })
    ));
    assert!(matches!(
        store.rollback("../config"),
        Err(StoreError::UnknownBackup { .. })
    ));
}

#[test]
fn an_invalid_backup_cannot_be_restored() {
    let (_dir, store) = store_with(USER_FILE);
    std::fs::create_dir_all(store.backups_dir()).unwrap();
    let id = "20260101T000000.000Z";
    std::fs::write(
        store.backups_dir().join(format!("config-{id}.toml")),
        "[exits]\nexit_dte = -5\n",
    )
    .unwrap();
    let err = store.rollback(id).unwrap_err();
    let StoreError::Invalid(errors) = err else {
        panic!("{err}")
    };
    assert_eq!(errors.errors[0].path, "exits.exit_dte");
    assert_eq!(std::fs::read_to_string(store.path()).unwrap(), USER_FILE);
}

#[test]
fn init_writes_the_default_file_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = ConfigStore::new(dir.path().join("config.toml"));
    store.init(false).unwrap();
    assert_eq!(
        std::fs::read_to_string(store.path()).unwrap(),
        default_file_text()
    );
    assert!(matches!(store.init(false), Err(StoreError::Exists { .. })));
    let report = store.init(true).unwrap();
    assert!(report.backup_id.is_some());
}

#[test]
fn concurrent_saves_never_tear_the_file() {
    let (_dir, store) = store_with(USER_FILE);
    let store = std::sync::Arc::new(store);
    let base = store.load().unwrap().config;
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let store = store.clone();
            let mut config = base.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    config.exits.exit_dte = t * 100 + i;
                    store.save(&config, None).unwrap();
                    let text = std::fs::read_to_string(store.path()).unwrap();
                    Config::from_toml_str(&text).expect("always a complete file");
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let text = std::fs::read_to_string(store.path()).unwrap();
    assert!(text.starts_with("# My desk's settings."));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Random mutations of a valid file on disk: loading never panics, and a
    /// save from an invalid file's content is impossible (load refuses it),
    /// so the bytes on disk stay exactly as they were.
    #[test]
    fn mutated_files_are_refused_without_writing(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)
    ) {
        let mut bytes = USER_FILE.as_bytes().to_vec();
        for (at, byte) in edits {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, &bytes).unwrap();
        let store = ConfigStore::new(&path);
        match store.load() {
            Ok(loaded) => {
                // Saving what was loaded changes nothing and writes nothing.
                let r = store.save(&loaded.config, Some(&loaded.version)).unwrap();
                prop_assert!(r.changes.is_empty());
            }
            Err(StoreError::Invalid(e)) => prop_assert!(!e.is_empty()),
            Err(other) => prop_assert!(false, "unexpected {}", other),
        }
        prop_assert_eq!(std::fs::read(&path).unwrap(), bytes);
        prop_assert_eq!(files_in(dir.path()), vec!["config.toml".to_string()]);
    }
}
