//! A kill at any moment of a save leaves either the old or the new file
//! complete, and the temp files a killed saver leaves are removed by the
//! next save.
//!
//! The saver is a real child process: this test binary re-run with only
//! the ignored `save_loop_child` test selected and `VSPREAD_SAVE_LOOP`
//! naming the file. It saves two configurations alternately, as fast as it
//! can, until the parent kills it with SIGKILL after a random delay. After
//! each kill the file must be exactly one of the two texts, every backup
//! must be complete, and one more save must leave no temp file behind.
//! (SIGKILL stops the process, not the kernel: the page cache survives, so
//! this checks the write/rename protocol; the fsyncs guard the power cut.)

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vspread_core::config::Config;
use vspread_engine::config_store::ConfigStore;

const LOOP_ENV: &str = "VSPREAD_SAVE_LOOP";
const READY: &str = "save loop ready";

const USER_FILE: &str = "\
# My desk's settings.
[trading]
universe = [ \"SPY\",   \"QQQ\" ]   # the two I trust
max_positions = 4

[exits]
# tighter than the default
stop_loss_atr_mult    = 1.8   # ATRs

[storage]
backups_keep = 4
";

/// The two configurations the child alternates between (both change only
/// keys the file has, so each has exactly one text).
fn configs() -> (Config, Config) {
    let base = Config::from_toml_str(USER_FILE).unwrap();
    let mut a = base.clone();
    a.exits.stop_loss_atr_mult = 1.5;
    let mut b = base;
    b.exits.stop_loss_atr_mult = 2.5;
    b.trading.universe.push("IWM".into());
    b.trading.max_positions = 6;
    (a, b)
}

#[test]
#[ignore = "the child process of kills_at_random_moments_leave_a_complete_file; it starts it"]
fn save_loop_child() {
    let Some(path) = std::env::var_os(LOOP_ENV) else {
        return;
    };
    let store = ConfigStore::new(path);
    let (a, b) = configs();
    store.save(&a, None).unwrap();
    println!("{READY}");
    loop {
        store.save(&b, None).unwrap();
        store.save(&a, None).unwrap();
    }
}

/// A small xorshift generator: the delays need no more, and the seed is
/// printed so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains(".tmp-"))
                .collect()
        })
        .unwrap_or_default()
}

fn start_saver(path: &Path) -> Child {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "save_loop_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(LOOP_ENV, path)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let ready = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .any(|line| line.contains(READY));
    assert!(ready, "the save loop did not start");
    child
}

#[test]
fn kills_at_random_moments_leave_a_complete_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, USER_FILE).unwrap();
    let store = ConfigStore::new(&path);
    let (a, b) = configs();
    let original = Config::from_toml_str(USER_FILE).unwrap();

    // The exact texts of the two versions, and how long one save takes.
    let started = Instant::now();
    store.save(&a, None).unwrap();
    let text_a = std::fs::read(&path).unwrap();
    store.save(&b, None).unwrap();
    let text_b = std::fs::read(&path).unwrap();
    store.save(&a, None).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&std::fs::read(&path).unwrap()),
        String::from_utf8_lossy(&text_a),
        "edits are reversible"
    );
    let save_time = started.elapsed() / 3;

    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("seed {seed}, one save takes {save_time:?}");
    let mut rng = Rng(seed);
    let window = (save_time * 4).as_micros().max(2_000) as u64;

    let kills = 40;
    let (mut seen_a, mut seen_b, mut left_behind) = (0, 0, 0);
    for kill in 0..kills {
        let mut child = start_saver(&path);
        std::thread::sleep(Duration::from_micros(rng.below(window)));
        child.kill().unwrap();
        child.wait().unwrap();

        let on_disk = std::fs::read(&path).unwrap();
        let next = if on_disk == text_a {
            seen_a += 1;
            &b
        } else if on_disk == text_b {
            seen_b += 1;
            &a
        } else {
            panic!(
                "kill {kill} (seed {seed}) left a torn file:\n{}",
                String::from_utf8_lossy(&on_disk)
            );
        };
        for backup in store.backups().unwrap() {
            let meant = store.read_backup(&backup.id).unwrap_or_else(|e| {
                panic!(
                    "kill {kill} (seed {seed}): backup {} is broken: {e}",
                    backup.id
                )
            });
            assert!(
                meant == a || meant == b || meant == original,
                "backup {} holds a config never saved",
                backup.id
            );
        }
        let backups_dir = store.backups_dir();
        left_behind += temp_files(dir.path()).len() + temp_files(&backups_dir).len();

        // The next save cleans up after the killed one.
        store.save(next, None).unwrap();
        let expected = if next == &a { &text_a } else { &text_b };
        assert_eq!(&std::fs::read(&path).unwrap(), expected);
        assert_eq!(temp_files(dir.path()), Vec::<String>::new(), "kill {kill}");
        assert_eq!(
            temp_files(&backups_dir),
            Vec::<String>::new(),
            "kill {kill}"
        );
        assert!(
            store.backups().unwrap().len() <= 4,
            "pruned to backups_keep"
        );
    }
    println!(
        "{kills} kills: old/new file A {seen_a} times, B {seen_b} times; {left_behind} temp files left by killed saves, all cleaned"
    );
    // Kills landed at different points of the loop, not always between
    // the same two saves.
    assert!(
        seen_a > 0 && seen_b > 0,
        "seed {seed}: A {seen_a}, B {seen_b}"
    );
}
