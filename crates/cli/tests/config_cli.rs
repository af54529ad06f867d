//! `vspread config ...` as a user runs it, including a save killed at
//! random moments.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use vspread_core::config::Config;

fn vspread(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vspread"))
        .args(args)
        .current_dir(dir)
        .env("VSPREAD_LOG", "warn")
        .output()
        .expect("run vspread")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn init_then_validate_accepts_the_default_file() {
    let dir = tempfile::tempdir().unwrap();
    let o = vspread(dir.path(), &["config", "init"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = vspread(dir.path(), &["config", "validate"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("config.toml: valid"));
    let written = std::fs::read_to_string(dir.path().join("config.toml")).unwrap();
    assert!(
        written.lines().filter(|l| l.starts_with('#')).count() > 50,
        "commented"
    );
    // A second init refuses to overwrite.
    let o = vspread(dir.path(), &["config", "init"]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn validate_reports_every_error_with_path_and_location() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        "[exits]\nstop_loss_atr_mul = 1.5\nexit_dte = 999\n[trading_schedule]\nstart_time_utc = \"25:00\"\n",
    )
    .unwrap();
    let o = vspread(dir.path(), &["config", "validate"]);
    assert_eq!(o.status.code(), Some(1));
    let out = text(&o);
    assert!(out.contains("3 errors in config.toml"), "{out}");
    assert!(out.contains("config.toml:2:1: exits.stop_loss_atr_mul: unknown key; did you mean `stop_loss_atr_mult`?"), "{out}");
    assert!(out.contains("config.toml:3:12: exits.exit_dte = 999: out of range (allowed: an integer from 0 to 365)"), "{out}");
    assert!(
        out.contains("config.toml:5:18: trading_schedule.start_time_utc = \"25:00\""),
        "{out}"
    );
}

#[test]
fn a_missing_file_is_a_clear_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = vspread(dir.path(), &["config", "validate", "--config", "nope.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("cannot read config file nope.toml"),
        "{}",
        text(&o)
    );
}

#[test]
fn set_backups_rollback_and_diff() {
    let dir = tempfile::tempdir().unwrap();
    assert!(vspread(dir.path(), &["config", "init"]).status.success());
    let before = std::fs::read_to_string(dir.path().join("config.toml")).unwrap();
    let o = vspread(
        dir.path(),
        &["config", "set", "exits.stop_loss_atr_mult", "1.5"],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("exits.stop_loss_atr_mult: 2.0 -> 1.5"));
    let o = vspread(
        dir.path(),
        &["config", "set", "exits.stop_loss_atr_mult", "-1"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("exits.stop_loss_atr_mult = -1: out of range"),
        "{}",
        text(&o)
    );
    let o = vspread(dir.path(), &["config", "backups"]);
    let id = String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let backup = dir.path().join("backups").join(format!("config-{id}.toml"));
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), before);
    let o = vspread(
        dir.path(),
        &["config", "diff", backup.to_str().unwrap(), "config.toml"],
    );
    assert_eq!(o.status.code(), Some(1), "different");
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "exits.stop_loss_atr_mult: 2.0 -> 1.5\n"
    );
    let o = vspread(dir.path(), &["config", "rollback", &id]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("config.toml")).unwrap(),
        before
    );
    let o = vspread(
        dir.path(),
        &["config", "diff", backup.to_str().unwrap(), "config.toml"],
    );
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn schema_is_json_with_bounds_and_descriptions() {
    let dir = tempfile::tempdir().unwrap();
    let o = vspread(dir.path(), &["config", "schema"]);
    assert!(o.status.success());
    let schema: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let port = &schema["properties"]["ibkr"]["properties"]["port"];
    assert_eq!(port["minimum"], 1);
    assert_eq!(port["maximum"], 65535);
    assert!(port["description"].as_str().unwrap().contains("API port"));
}

/// A save killed at any moment leaves the old or the new file, complete.
/// `config set` is killed after a random delay, many times, alternating
/// between two values; after each kill the file must parse to one of the
/// two configs, and the next save cleans up after it.
#[test]
fn a_save_killed_at_any_moment_leaves_a_complete_file() {
    let dir = tempfile::tempdir().unwrap();
    assert!(vspread(dir.path(), &["config", "init"]).status.success());
    let path = dir.path().join("config.toml");
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut killed_mid_run = 0;
    for i in 0..150 {
        let value = if i % 2 == 0 { "1.5" } else { "2.5" };
        let mut child = Command::new(env!("CARGO_BIN_EXE_vspread"))
            .args(["config", "set", "exits.stop_loss_atr_mult", value])
            .current_dir(dir.path())
            .env("VSPREAD_LOG", "off")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_micros(seed % 6000));
        child.kill().ok();
        let status = child.wait().unwrap();
        if !status.success() {
            killed_mid_run += 1;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let config = Config::from_toml_str(&text)
            .unwrap_or_else(|e| panic!("torn file after kill {i}: {e}"));
        let v = config.exits.stop_loss_atr_mult;
        assert!([1.5, 2.0, 2.5].contains(&v), "unexpected value {v}");
    }
    assert!(
        killed_mid_run > 10,
        "the test must actually interrupt saves ({killed_mid_run})"
    );
    // A later save works and cleans up what killed saves left behind.
    assert!(
        vspread(
            dir.path(),
            &["config", "set", "exits.stop_loss_atr_mult", "3.0"]
        )
        .status
        .success()
    );
    let config = Config::load_file(&path).unwrap();
    assert_eq!(config.exits.stop_loss_atr_mult, 3.0);
    let leftovers: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .chain(std::fs::read_dir(dir.path().join("backups")).unwrap())
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "the next save removes dead writers' temp files: {leftovers:?}"
    );
}

#[test]
fn a_notify_secret_that_is_not_where_the_file_says_is_named_by_validate_and_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = "[[notify.targets]]\nname = \"ops\"\nformat = \"slack\"\nsecret_env = \"VSPREAD_TEST_NO_SUCH_SLACK_URL\"\n\n[[notify.targets]]\nname = \"audit\"\nsecret_file = \"audit.url\"\n";
    std::fs::write(dir.path().join("config.toml"), config).unwrap();
    let o = vspread(dir.path(), &["config", "validate"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("notify.targets[0].secret_env: the environment variable VSPREAD_TEST_NO_SUCH_SLACK_URL is not set; it must hold the target's webhook URL"),
        "{out}"
    );
    assert!(
        out.contains("notify.targets[1].secret_file: cannot read"),
        "{out}"
    );
    // The secrets where the file says: valid, and never in the file.
    std::fs::write(dir.path().join("audit.url"), "http://127.0.0.1:9/audit\n").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_vspread"))
        .args(["config", "validate"])
        .current_dir(dir.path())
        .env(
            "VSPREAD_TEST_NO_SUCH_SLACK_URL",
            "https://hooks.example/T0/B0/X",
        )
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));

    // An engine will not start on a config whose secret is missing.
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("config.toml"), config).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_vspread"))
        .args(["demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .env("VSPREAD_LOG", "warn")
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        text(&o).contains("notify.targets[0].secret_env"),
        "{}",
        text(&o)
    );
}
