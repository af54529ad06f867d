//! The config store against real files: edits keep the user's text,
//! invalid or stale saves touch nothing, backups rotate, rollback restores,
//! concurrent savers (threads or separate stores) never lose an update.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use serde_json::json;
use vspread_core::clock::ManualClock;
use vspread_core::config::{Config, content_version, default_file_text};
use vspread_engine::config_store::{ConfigStore, NO_FILE_VERSION, StoreError};

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

    let nested = ConfigStore::new(dir.path().join("etc/vspread/config.toml"));
    nested.init(false).unwrap();
    assert_eq!(nested.load().unwrap().config, Config::default());
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

#[test]
fn set_edits_one_key_through_the_same_path() {
    let (_dir, store) = store_with(USER_FILE);
    let report = store.set("exits.profit_target_pct", json!(65.0)).unwrap();
    assert_eq!(report.changes.len(), 1);
    assert_eq!(report.changes[0].path, "exits.profit_target_pct");
    assert_eq!(report.changes[0].new, json!(65.0));
    assert!(report.backup_id.is_some());
    assert!(report.kept_user_text);
    assert_eq!(
        std::fs::read_to_string(store.path()).unwrap(),
        USER_FILE.replace("profit_target_pct = 50.0", "profit_target_pct = 65.0")
    );
    let list = json!(["SPY", "QQQ", "IWM"]);
    store.set("trading.universe", list).unwrap();
    assert_eq!(
        std::fs::read_to_string(store.path())
            .unwrap()
            .lines()
            .nth(2),
        // The new item copies its neighbour's spacing.
        Some("universe = [ \"SPY\",   \"QQQ\",   \"IWM\" ]   # the two I trust")
    );
}

#[test]
fn set_refuses_unknown_keys_bad_values_and_bad_paths_without_writing() {
    let (dir, store) = store_with(USER_FILE);
    let err = store
        .set("exits.stop_los_atr_mult", json!(1.0))
        .unwrap_err();
    let StoreError::Invalid(errors) = err else {
        panic!("{err}")
    };
    assert_eq!(errors.errors[0].path, "exits.stop_los_atr_mult");
    assert!(
        errors.to_string().contains("stop_loss_atr_mult"),
        "{errors}"
    );

    let err = store
        .set("trading.start_time_utc", json!("25:00"))
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    let err = store
        .set("trading_schedule.start_time_utc", json!("25:00"))
        .unwrap_err();
    let StoreError::Invalid(errors) = err else {
        panic!("{err}")
    };
    assert_eq!(errors.errors[0].path, "trading_schedule.start_time_utc");
    let err = store.set("exits.exit_dte", json!("soon")).unwrap_err();
    let StoreError::Invalid(errors) = err else {
        panic!("{err}")
    };
    assert_eq!(errors.errors[0].path, "exits.exit_dte");

    for bad in ["exits.exit_dte.days", "exits", "", "exits..x"] {
        let err = store.set(bad, json!(1)).unwrap_err();
        assert!(matches!(err, StoreError::BadKeyPath { .. }), "{bad}: {err}");
    }
    assert_eq!(std::fs::read_to_string(store.path()).unwrap(), USER_FILE);
    assert_eq!(files_in(dir.path()), ["config.toml"]);
}

#[test]
fn set_on_an_invalid_file_names_the_file_and_writes_nothing() {
    let broken = "[exits]\nstop_loss_atr_mult = \"wide\"\n";
    let (dir, store) = store_with(broken);
    let err = store.set("exits.exit_dte", json!(2)).unwrap_err();
    let StoreError::Invalid(errors) = err else {
        panic!("{err}")
    };
    assert_eq!(errors.errors[0].path, "exits.stop_loss_atr_mult");
    assert_eq!(errors.errors[0].location.unwrap().line, 2);
    assert!(errors.to_string().contains("config.toml"), "{errors}");
    assert_eq!(std::fs::read_to_string(store.path()).unwrap(), broken);
    assert_eq!(files_in(dir.path()), ["config.toml"]);
}

#[test]
fn saving_over_a_broken_file_writes_the_default_layout_and_backs_the_broken_one_up() {
    let broken = "# hand edit gone wrong\n[exits\nexit_dte = 3\n";
    let (_dir, store) = store_with(broken);
    let mut config = Config::default();
    config.exits.exit_dte = 4;
    let report = store.save(&config, None).unwrap();
    assert!(!report.kept_user_text);
    let text = std::fs::read_to_string(store.path()).unwrap();
    assert_eq!(Config::from_toml_str(&text).unwrap(), config);
    assert!(text.starts_with(default_file_text().lines().next().unwrap()));
    let backup = report.backup_id.unwrap();
    let backed_up =
        std::fs::read_to_string(store.backups_dir().join(format!("config-{backup}.toml")));
    assert_eq!(backed_up.unwrap(), broken);
}

#[test]
fn a_missing_file_is_created_without_a_backup_unless_a_version_was_expected() {
    let dir = tempfile::tempdir().unwrap();
    let store = ConfigStore::new(dir.path().join("config.toml"));
    let err = store
        .save(&Config::default(), Some("0123456789abcdef"))
        .unwrap_err();
    let StoreError::Stale { current, .. } = err else {
        panic!("{err}")
    };
    assert_eq!(current, NO_FILE_VERSION);
    assert!(!store.path().exists());

    let mut config = Config::default();
    config.trading.max_positions = 7;
    let report = store.save(&config, None).unwrap();
    assert!(report.backup_id.is_none());
    let bytes = std::fs::read(store.path()).unwrap();
    assert_eq!(report.version, content_version(&bytes));
    assert_eq!(store.load().unwrap().config, config);
    assert_eq!(files_in(dir.path()), ["config.toml"]);
}

#[test]
fn an_oversized_file_is_refused_by_load_and_backed_up_whole_by_a_save() {
    let (_dir, store) = store_with("");
    let big = format!("# {}\n", "x".repeat(3 * 1024 * 1024));
    std::fs::write(store.path(), &big).unwrap();
    let err = store.load().unwrap_err();
    let StoreError::Invalid(errors) = err else {
        panic!("{err}")
    };
    assert!(
        errors.to_string().contains(&big.len().to_string()),
        "{errors}"
    );

    let report = store.save(&Config::default(), None).unwrap();
    let backup = store.backups().unwrap();
    assert_eq!(backup[0].id, report.backup_id.unwrap());
    assert_eq!(backup[0].size, big.len() as u64);
    assert_eq!(store.load().unwrap().config, Config::default());
}

#[test]
fn backup_ids_come_from_the_clock_and_stay_unique_and_ordered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, USER_FILE).unwrap();
    let start: DateTime<Utc> = "2026-11-22T11:45:01.123Z".parse().unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let store = ConfigStore::with_clock(&path, clock.clone());
    let mut config = store.load().unwrap().config;
    let mut ids = Vec::new();
    for dte in [1, 2, 3] {
        config.exits.exit_dte = dte;
        ids.push(store.save(&config, None).unwrap().backup_id.unwrap());
    }
    // The clock stepped back an hour: ids still grow.
    clock.advance(chrono::TimeDelta::hours(-1));
    config.exits.exit_dte = 4;
    ids.push(store.save(&config, None).unwrap().backup_id.unwrap());
    assert_eq!(
        ids,
        [
            "20261122T114501.123Z",
            "20261122T114501.124Z",
            "20261122T114501.125Z",
            "20261122T114501.126Z"
        ]
    );
    let listed = store.backups().unwrap();
    assert_eq!(listed[0].id, ids[3]);
    assert_eq!(listed[3].time, start);
    // The oldest backup is the user's original file.
    let restored = store.read_backup(&ids[0]).unwrap();
    assert_eq!(restored, Config::from_toml_str(USER_FILE).unwrap());
}

#[test]
fn separate_stores_on_one_file_never_lose_an_update() {
    // Two stores stand for two processes (the service and a shell): each
    // increments a counter with read, modify, save-if-unchanged, retrying
    // when stale. The directory lock makes check-and-write one step, so
    // every increment survives.
    let (_dir, first) = store_with("[ibkr]\nclient_id = 0 # counter\n");
    let path = first.path().to_path_buf();
    let per_writer = 15;
    let writers: Vec<_> = (0..2)
        .map(|_| {
            let store = ConfigStore::new(&path);
            std::thread::spawn(move || {
                let mut stale = 0;
                let mut done = 0;
                while done < per_writer {
                    let loaded = store.load().unwrap();
                    let mut config = loaded.config;
                    config.ibkr.client_id += 1;
                    match store.save(&config, Some(&loaded.version)) {
                        Ok(_) => done += 1,
                        Err(StoreError::Stale { .. }) => stale += 1,
                        Err(e) => panic!("{e}"),
                    }
                }
                stale
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text,
        format!("[ibkr]\nclient_id = {} # counter\n", 2 * per_writer)
    );
    drop(first);
}

#[cfg(unix)]
#[test]
fn a_symlinked_config_stays_a_symlink_and_its_backups_stay_put() {
    let dir = tempfile::tempdir().unwrap();
    let real_dir = dir.path().join("dotfiles");
    std::fs::create_dir(&real_dir).unwrap();
    let real = real_dir.join("vspread.toml");
    std::fs::write(&real, USER_FILE).unwrap();
    let link = dir.path().join("config.toml");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let store = ConfigStore::new(&link);
    let first = store
        .set("exits.exit_dte", json!(2))
        .unwrap()
        .backup_id
        .unwrap();
    store.set("exits.exit_dte", json!(3)).unwrap();
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(store.load().unwrap().config.exits.exit_dte, 3);
    assert_eq!(Config::load_file(&real).unwrap().exits.exit_dte, 3);
    // The first backup is the user's file, not a view of the current one.
    assert_eq!(
        store.read_backup(&first).unwrap(),
        Config::from_toml_str(USER_FILE).unwrap()
    );
    assert_eq!(files_in(&real_dir), ["vspread.toml"]);
}

/// Byte-level damage to a valid file: flips, truncation, insertion.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(prop::sample::Index, u8),
    Truncate(prop::sample::Index),
    Insert(prop::sample::Index, Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        any::<prop::sample::Index>().prop_map(Mutation::Truncate),
        (
            any::<prop::sample::Index>(),
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 1..8),
                prop::sample::select(vec![
                    b"[".to_vec(),
                    b"\"".to_vec(),
                    b"=".to_vec(),
                    b"nan".to_vec(),
                    b"\n[exits]\n".to_vec(),
                    b"\nexit_dte = 3\n".to_vec(),
                    b"[[".to_vec(),
                    b"{".to_vec(),
                ])
            ]
        )
            .prop_map(|(i, bytes)| Mutation::Insert(i, bytes)),
    ]
}

fn mutate(text: &str, mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    for m in mutations {
        match m {
            Mutation::Flip(at, b) if !bytes.is_empty() => {
                let i = at.index(bytes.len());
                bytes[i] = *b;
            }
            Mutation::Flip(..) => {}
            Mutation::Truncate(at) => bytes.truncate(at.index(bytes.len() + 1)),
            Mutation::Insert(at, ins) => {
                let i = at.index(bytes.len() + 1);
                bytes.splice(i..i, ins.iter().copied());
            }
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// A damaged file on disk: loading never panics; `set` on it (the
    /// save path that starts from the file) refuses an invalid file and
    /// leaves its bytes exactly as they were, with no backup or temp file;
    /// a file that is still valid accepts the edit and stays valid.
    #[test]
    fn mutated_files_are_refused_without_writing(
        mutations in proptest::collection::vec(mutation(), 1..5)
    ) {
        let bytes = mutate(USER_FILE, &mutations);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, &bytes).unwrap();
        let store = ConfigStore::new(&path);
        match store.load() {
            Ok(loaded) => {
                let r = store.save(&loaded.config, Some(&loaded.version)).unwrap();
                prop_assert!(r.changes.is_empty());
                prop_assert_eq!(std::fs::read(&path).unwrap(), bytes);
                let mut config = loaded.config;
                config.exits.exit_dte = if config.exits.exit_dte == 9 { 8 } else { 9 };
                store.save(&config, Some(&loaded.version)).unwrap();
                prop_assert_eq!(store.load().unwrap().config, config);
            }
            Err(StoreError::Invalid(e)) => {
                prop_assert!(!e.is_empty());
                let set = store.set("exits.exit_dte", json!(9));
                prop_assert!(matches!(set, Err(StoreError::Invalid(_))), "{:?}", set);
                prop_assert_eq!(std::fs::read(&path).unwrap(), bytes);
                prop_assert_eq!(files_in(dir.path()), vec!["config.toml".to_string()]);
            }
            Err(other) => prop_assert!(false, "unexpected {}", other),
        }
    }

    /// A damaged backup fed to rollback: an invalid one is refused and
    /// nothing is written; a valid one is restored to exactly its meaning.
    #[test]
    fn mutated_backups_are_restored_only_when_valid(
        mutations in proptest::collection::vec(mutation(), 1..5)
    ) {
        let (dir, store) = store_with(USER_FILE);
        let bytes = mutate(USER_FILE, &mutations);
        std::fs::create_dir_all(store.backups_dir()).unwrap();
        let id = "20260101T000000.000Z";
        std::fs::write(store.backups_dir().join(format!("config-{id}.toml")), &bytes).unwrap();
        match Config::from_toml_bytes(&bytes) {
            Ok(meant) => {
                store.rollback(id).unwrap();
                prop_assert_eq!(store.load().unwrap().config, meant);
            }
            Err(_) => {
                let err = store.rollback(id).unwrap_err();
                prop_assert!(matches!(err, StoreError::Invalid(_)), "{}", err);
                prop_assert_eq!(std::fs::read_to_string(store.path()).unwrap(), USER_FILE);
                prop_assert_eq!(store.backups().unwrap().len(), 1);
                prop_assert_eq!(files_in(dir.path()), vec!["backups".to_string(), "config.toml".to_string()]);
            }
        }
    }
}
