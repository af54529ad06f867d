//! `vspread backup` and `vspread restore` on real journal files written by
//! the journal crate: a restored data directory reads back the same journal
//! (`vspread journal ...` prints the same), a backup taken while another
//! process holds the journal open and writes is the journal as of one
//! commit, and bad input is refused with what is wrong.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;
use vspread_core::journal::{Journal, JournalEvent, JournalLeg, JournaledOrder, OrderEnd};
use vspread_core::{BrokerOrderId, ConId, Execution, OrderEvent, Side};
use vspread_core::{OrderPurpose, Right, SpreadKind};
use vspread_journal::SqliteJournal;

fn vspread(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vspread"))
        .args(args)
        .env("VSPREAD_LOG", "warn")
        .output()
        .expect("vspread runs")
}

fn ok(args: &[&str]) -> String {
    let out = vspread(args);
    assert!(
        out.status.success(),
        "vspread {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn refused(args: &[&str]) -> String {
    let out = vspread(args);
    assert_eq!(
        out.status.code(),
        Some(2),
        "vspread {args:?} should have failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr).expect("utf-8")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn t(sec: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_790_000_000 + sec, 0).unwrap()
}

fn leg(con_id: i64, strike: &str) -> JournalLeg {
    JournalLeg {
        con_id: ConId(con_id),
        strike: d(strike),
        right: Right::Call,
        expiry: NaiveDate::from_ymd_opt(2026, 12, 18).unwrap(),
        exchange: "SMART".into(),
        trading_class: "SPY".into(),
        local_symbol: format!("SPY C{strike}"),
        multiplier: d("100"),
        min_tick: d("0.01"),
    }
}

/// Trade `i`: an entry order, its combo fill and commission, its end, and
/// a narrative event; each a commit of its own, as the engine writes them.
fn record_trade(j: &SqliteJournal, i: usize) {
    let order_ref = format!("vs-backup-{i:06}-e0");
    let at = t(i as i64);
    j.record_order(&JournaledOrder {
        order_ref: order_ref.clone(),
        purpose: OrderPurpose::Entry,
        spread_ref: order_ref.clone(),
        symbol: "SPY".into(),
        currency: "USD".into(),
        kind: SpreadKind::BullCall,
        long: leg(11, "500"),
        short: leg(12, "505"),
        quantity: 1,
        limit: d("2.10"),
        credit: false,
        mid: d("2.12"),
        reason: "high_base".into(),
        context: "{}".into(),
        created_at: at,
    })
    .unwrap();
    j.record_order_event(
        &OrderEvent::Execution(Execution {
            exec_id: format!("{order_ref}.c"),
            order_id: BrokerOrderId(i as i64 + 1),
            order_ref: order_ref.clone(),
            con_id: ConId(28812380),
            side: Side::Buy,
            quantity: d("1"),
            price: d("2.10"),
            cumulative_quantity: d("1"),
            average_price: d("2.10"),
            time: "20261120 15:30:00".into(),
            combo: true,
        }),
        at,
    )
    .unwrap();
    j.record_order_event(
        &OrderEvent::Commission {
            exec_id: format!("{order_ref}.c"),
            order_ref: order_ref.clone(),
            commission: d("1.30"),
            currency: "USD".into(),
        },
        at,
    )
    .unwrap();
    j.record_order_end(
        &order_ref,
        &OrderEnd {
            outcome: "filled".into(),
            detail: String::new(),
            at,
        },
    )
    .unwrap();
    j.record_event(&JournalEvent {
        seq: None,
        at,
        kind: "signal.fired".into(),
        message: format!("signal {i}"),
        data: format!(r#"{{"n":{i}}}"#),
    })
    .unwrap();
}

/// A data directory as the container and the demo lay it out: config.toml
/// (with two backups beside it) and the journal.
fn data_dir(root: &Path, trades: usize) -> PathBuf {
    let dir = root.join("data");
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.toml");
    ok(&["config", "init", "--config", s(&config)]);
    ok(&[
        "config",
        "set",
        "storage.data_dir",
        ".",
        "--config",
        s(&config),
    ]);
    ok(&[
        "config",
        "set",
        "trading.scan_interval_s",
        "60",
        "--config",
        s(&config),
    ]);
    let j = SqliteJournal::open_in(&dir).unwrap();
    for i in 0..trades {
        record_trade(&j, i);
    }
    dir
}

/// Everything `vspread journal` shows of a data directory.
fn journal_views(dir: &Path) -> Vec<String> {
    ["orders", "fills", "positions", "decisions", "applies"]
        .iter()
        .map(|record| {
            ok(&[
                "journal",
                record,
                "--data-dir",
                s(dir),
                "--format",
                "json",
                "--limit",
                "0",
            ])
        })
        .collect()
}

#[test]
fn a_restored_data_dir_reads_back_the_same_journal_config_and_backups() {
    let root = tempfile::tempdir().unwrap();
    let source = data_dir(root.path(), 25);
    let archive = root.path().join("vspread.tar");
    let said = ok(&["backup", "--data-dir", s(&source), "--out", s(&archive)]);
    assert!(said.contains("2 config backup(s)"), "{said}");

    let restored = root.path().join("restored");
    ok(&["restore", "--from", s(&archive), "--data-dir", s(&restored)]);
    let before = journal_views(&source);
    assert!(
        before[0].matches("order_ref").count() == 25,
        "{}",
        before[0]
    );
    assert_eq!(journal_views(&restored), before);
    assert_eq!(
        std::fs::read(restored.join("config.toml")).unwrap(),
        std::fs::read(source.join("config.toml")).unwrap()
    );
    let list = |dir: &Path| ok(&["config", "backups", "--config", s(&dir.join("config.toml"))]);
    assert_eq!(list(&restored), list(&source));
    // One self-contained file: no log beside the restored journal.
    assert!(!restored.join("journal.sqlite3-wal").exists());
    // The restored journal is a working journal: the engine's open (with
    // its migrations check) takes it and a new write reads back.
    let j = SqliteJournal::open_in(&restored).unwrap();
    record_trade(&j, 1000);
    drop(j);
    assert!(journal_views(&restored)[0].contains("vs-backup-001000-e0"));
}

#[test]
fn a_backup_taken_while_another_process_writes_is_the_journal_as_of_one_commit() {
    let root = tempfile::tempdir().unwrap();
    let source = data_dir(root.path(), 5);
    // This process holds the journal open and writes to it, as an engine
    // would, while `vspread backup` (another process) copies it.
    let journal = Arc::new(SqliteJournal::open_in(&source).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicUsize::new(5));
    let writer = {
        let (journal, stop, written) = (journal.clone(), stop.clone(), written.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let i = written.load(Ordering::Relaxed);
                record_trade(&journal, i);
                written.store(i + 1, Ordering::Relaxed);
            }
        })
    };
    let mut archives = Vec::new();
    for n in 0..3 {
        // Let the writer get ahead, then copy while it goes on.
        let start = written.load(Ordering::Relaxed);
        let deadline = Instant::now() + Duration::from_secs(30);
        while written.load(Ordering::Relaxed) < start + 20 {
            assert!(Instant::now() < deadline, "the writer made no progress");
            std::thread::sleep(Duration::from_millis(5));
        }
        let archive = root.path().join(format!("live-{n}.tar"));
        let before = written.load(Ordering::Relaxed);
        ok(&["backup", "--data-dir", s(&source), "--out", s(&archive)]);
        let after = written.load(Ordering::Relaxed);
        assert!(
            after > before,
            "the writer must have been writing during backup {n} ({before} -> {after})"
        );
        archives.push(archive);
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    drop(journal);

    let final_views = journal_views(&source);
    let final_orders: Vec<serde_json::Value> = serde_json::from_str(&final_views[0]).unwrap();
    let final_events: Vec<serde_json::Value> = serde_json::from_str(&final_views[3]).unwrap();
    let mut previous = 0;
    for (n, archive) in archives.iter().enumerate() {
        let restored = root.path().join(format!("restored-{n}"));
        ok(&["restore", "--from", s(archive), "--data-dir", s(&restored)]);
        let views = journal_views(&restored);
        let orders: Vec<serde_json::Value> = serde_json::from_str(&views[0]).unwrap();
        let events: Vec<serde_json::Value> = serde_json::from_str(&views[3]).unwrap();
        // Events are append-only: a copy as of one commit holds exactly the
        // first N of them, and the orders recorded up to that commit.
        assert!(
            events.len() > previous,
            "backup {n} is not newer than the last"
        );
        assert_eq!(events[..], final_events[..events.len()], "backup {n}");
        let refs = |o: &[serde_json::Value]| -> Vec<String> {
            o.iter().map(|o| o["order_ref"].to_string()).collect()
        };
        assert_eq!(refs(&orders), refs(&final_orders)[..orders.len()]);
        // Each trade writes its order before its event: every event's trade
        // has its order in the copy.
        assert!(
            orders.len() >= events.len(),
            "backup {n}: events without their orders"
        );
        previous = events.len();
    }
}

#[test]
fn restore_refuses_a_used_directory_and_names_what_is_wrong_with_bad_input() {
    let root = tempfile::tempdir().unwrap();
    let source = data_dir(root.path(), 2);
    let archive = root.path().join("b.tar");
    ok(&["backup", "--data-dir", s(&source), "--out", s(&archive)]);

    // A second backup to the same file is refused.
    let e = refused(&["backup", "--data-dir", s(&source), "--out", s(&archive)]);
    assert!(e.contains("exists already"), "{e}");
    // No journal: the data directory is named.
    let empty = root.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let e = refused(&["backup", "--data-dir", s(&empty), "--out", "x.tar"]);
    assert!(e.contains("no journal at") && e.contains("empty"), "{e}");

    // A used data directory is refused, naming what is there; --force
    // replaces the journal (and removes its stale log).
    let e = refused(&["restore", "--from", s(&archive), "--data-dir", s(&source)]);
    assert!(
        e.contains("is not empty") && e.contains("journal.sqlite3") && e.contains("--force"),
        "{e}"
    );
    let target = root.path().join("target");
    std::fs::create_dir(&target).unwrap();
    let j = SqliteJournal::open_in(&target).unwrap();
    for i in 100..110 {
        record_trade(&j, i);
    }
    drop(j);
    // Not even --force replaces the journal of a running engine (this
    // process holds the directory's lock as an engine does).
    let held = vspread_engine::lock::DataDirLock::acquire(&target).unwrap();
    let before = journal_views(&target);
    let e = refused(&[
        "restore",
        "--from",
        s(&archive),
        "--data-dir",
        s(&target),
        "--force",
    ]);
    assert!(
        e.contains("in use by another vspread engine")
            && e.contains(&std::process::id().to_string()),
        "{e}"
    );
    assert_eq!(journal_views(&target), before, "the journal is untouched");
    drop(held);
    ok(&[
        "restore",
        "--from",
        s(&archive),
        "--data-dir",
        s(&target),
        "--force",
    ]);
    assert_eq!(journal_views(&target), journal_views(&source));

    // Not a tar file: said, without echoing the file.
    let not_tar = root.path().join("notes.txt");
    std::fs::write(&not_tar, "root:x:0:0:secret words\n".repeat(40)).unwrap();
    let fresh = root.path().join("fresh");
    let e = refused(&["restore", "--from", s(&not_tar), "--data-dir", s(&fresh)]);
    assert!(
        e.contains("not a vspread backup") && e.contains("not a tar archive"),
        "{e}"
    );
    assert!(!e.contains("secret words"), "{e}");
    assert!(
        !fresh.exists(),
        "a failed restore leaves no directory behind"
    );

    // A truncated archive: the manifest's list does not match.
    let bytes = std::fs::read(&archive).unwrap();
    let cut = root.path().join("cut.tar");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let e = refused(&["restore", "--from", s(&cut), "--data-dir", s(&fresh)]);
    assert!(e.contains("cut.tar"), "{e}");
    assert!(!fresh.exists());

    // A damaged journal inside an otherwise sound archive: SQLite's check
    // names it, and nothing is put in place.
    let damaged = damage_journal(root.path(), &archive);
    let e = refused(&["restore", "--from", s(&damaged), "--data-dir", s(&fresh)]);
    assert!(
        e.contains("journal") && e.contains("cannot be restored"),
        "{e}"
    );
    assert!(!fresh.exists());

    // Missing archive.
    let e = refused(&["restore", "--from", "no-such.tar", "--data-dir", s(&fresh)]);
    assert!(e.contains("no-such.tar"), "{e}");
}

/// A copy of `archive` whose journal has garbage in its second page (same
/// size, so the manifest still matches).
fn damage_journal(root: &Path, archive: &Path) -> PathBuf {
    let mut bytes = std::fs::read(archive).unwrap();
    // Entries are 512-byte headers followed by 512-byte-padded data; find
    // the journal's header by its name and spoil bytes of its data.
    let name = b"journal.sqlite3\0";
    let at = bytes
        .windows(name.len())
        .position(|w| w == name)
        .expect("the journal's entry");
    let page2 = at + 512 + 4096;
    for b in &mut bytes[page2..page2 + 4096] {
        *b = 0xA5;
    }
    let out = root.join("damaged.tar");
    std::fs::write(&out, bytes).unwrap();
    out
}
