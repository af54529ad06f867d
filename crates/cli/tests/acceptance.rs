//! Runs the Gherkin scenarios of `tests/features/` (at the workspace root)
//! with cucumber-rs against the real `vspread` binary.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cucumber::{World, given, then, when};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

#[derive(Debug, Default, World)]
struct Vspread {
    dir: Option<tempfile::TempDir>,
    child: Option<Child>,
    /// Every stderr line of the running service, in order.
    log: Arc<Mutex<Vec<String>>>,
}

impl Vspread {
    fn config_path(&self) -> PathBuf {
        self.dir
            .as_ref()
            .expect("service started")
            .path()
            .join("config.toml")
    }

    fn log_lines(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Waits until a log line satisfies `pred`, returning it.
    async fn wait_for_log(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(line) = self.log_lines().into_iter().find(|l| pred(l)) {
                return line;
            }
            assert!(
                Instant::now() < deadline,
                "no log line {what}; log:\n{}",
                self.log_lines().join("\n")
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The value the service runs with: the right-hand side of the newest
    /// "config reloaded" entry for `key`, or the file's value at start.
    fn value_in_effect(&self, key: &str, initial: &str) -> String {
        let marker = format!("{key}: ");
        self.log_lines()
            .iter()
            .filter(|l| l.contains("config reloaded"))
            .filter_map(|l| l.split(&marker).nth(1))
            .filter_map(|rest| rest.split(" -> ").nth(1))
            .map(|v| v.split([',', ' ']).next().unwrap_or("").to_string())
            .next_back()
            .unwrap_or_else(|| initial.to_string())
    }
}

fn section_and_key(path: &str) -> (&str, &str) {
    path.rsplit_once('.').expect("a dotted key path")
}

#[given(expr = "the service is running with {word} set to {word}")]
async fn service_running(w: &mut Vspread, key: String, value: String) {
    let dir = tempfile::tempdir().unwrap();
    let (section, name) = section_and_key(&key);
    std::fs::write(
        dir.path().join("config.toml"),
        format!("[{section}]\n{name} = {value}\n"),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_vspread"))
        .args(["config", "watch", "--config"])
        .arg(dir.path().join("config.toml"))
        .env("VSPREAD_LOG", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start vspread");
    let stderr = child.stderr.take().unwrap();
    let log = w.log.clone();
    tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            log.lock().unwrap().push(line);
        }
    });
    w.dir = Some(dir);
    w.child = Some(child);
    w.wait_for_log("saying it is watching", |l| l.contains("watching config"))
        .await;
}

#[when(expr = "config.toml is edited on disk to set {word} to {word} and SIGHUP is sent")]
async fn edit_and_sighup(w: &mut Vspread, key: String, value: String) {
    let (section, name) = section_and_key(&key);
    std::fs::write(w.config_path(), format!("[{section}]\n{name} = {value}\n")).unwrap();
    let pid = w.child.as_ref().unwrap().id().expect("running");
    let status = std::process::Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    w.wait_for_log("acknowledging SIGHUP", |l| l.contains("SIGHUP received"))
        .await;
}

#[then(expr = "the log says {string} with {word}")]
async fn log_says_with(w: &mut Vspread, message: String, key: String) {
    w.wait_for_log(&format!("'{message}' naming {key}"), |l| {
        l.contains(&message) && l.contains(&key)
    })
    .await;
}

#[then(expr = "the log says the reload was refused naming {word} at line {int}")]
async fn log_says_refused(w: &mut Vspread, key: String, line: usize) {
    w.wait_for_log("a refusal", |l| l.contains("config reload refused"))
        .await;
    let located = format!("config.toml:{line}:");
    w.wait_for_log(&format!("naming {key} at line {line}"), |l| {
        l.contains(&located) && l.contains(&key)
    })
    .await;
    assert!(
        !w.log_lines().iter().any(|l| l.contains("config reloaded")),
        "an invalid file must not be applied"
    );
}

#[then(expr = "the value of {word} in effect is {word}")]
async fn value_in_effect(w: &mut Vspread, key: String, value: String) {
    // The initial value is what the Given step wrote.
    let initial = "2.0";
    // Give the reload thread a moment to finish anything already triggered.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        w.value_in_effect(&key, initial),
        value,
        "log:\n{}",
        w.log_lines().join("\n")
    );
}

#[tokio::main]
async fn main() {
    let features = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/features/config");
    Vspread::cucumber()
        .fail_on_skipped()
        .run_and_exit(features)
        .await;
}
