//! Operating the engine as a user (or an orchestrator) does, with the real
//! binary: `vspread run` beside a separate `vspread sim` process.
//!
//! - `/readyz` turns 503 (naming the gateway) within a second of the
//!   gateway's process dying, while `/healthz` stays 200 (an outage is not a
//!   dead engine), and 200 again within two seconds of a gateway accepting
//!   on the port once more; `vspread healthcheck` exits 1 and 0 alongside.
//! - One engine per data directory: a second `vspread run` on the same
//!   directory exits at once, non-zero, naming the directory and the first
//!   one's pid; after the first is killed with SIGKILL the lock is gone and
//!   an engine starts on it.
//! - A busy admin port fails before the journal is created.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn vspread() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vspread"))
}

/// A child process killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sim(port: u16, dir: &Path) -> Proc {
    let log = std::fs::File::create(dir.join(format!("sim-{port}.log"))).unwrap();
    let child = vspread()
        .args(["sim", "--seed", "3", "--always-open"])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let since = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(since.elapsed() < Duration::from_secs(20), "no simulator");
        std::thread::sleep(Duration::from_millis(10));
    }
    Proc(child)
}

fn config(dir: &Path, gateway: u16, admin: u16) -> PathBuf {
    let path = dir.join("config.toml");
    let run = |args: &[&str]| {
        let out = vspread()
            .args(args)
            .arg("--config")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&["config", "init"]);
    for (key, value) in [
        ("ibkr.port", gateway.to_string()),
        ("ibkr.connect_timeout_s", "2".into()),
        ("server.listen", format!("\"127.0.0.1:{admin}\"")),
        ("storage.data_dir", "\"data\"".into()),
        // Nothing to trade: the test is about the engine's health.
        ("trading.universe", "[\"QQQ\"]".into()),
        ("trading_schedule.enabled", "false".into()),
    ] {
        run(&["config", "set", key, &value]);
    }
    path
}

fn run(config: &Path, log: &Path) -> Proc {
    Proc(
        vspread()
            .args(["run", "--config"])
            .arg(config)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap(),
    )
}

/// `GET path` at the admin port: the status code, or none when nothing
/// answers.
fn status_of(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let code = text.split_whitespace().nth(1)?.parse().ok()?;
    Some((code, text))
}

/// Polls `path` every 5 ms until it answers `code`; how long that took.
fn until(port: u16, path: &str, code: u16, within: Duration) -> Duration {
    let since = Instant::now();
    loop {
        if status_of(port, path).is_some_and(|(c, _)| c == code) {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < within,
            "{path} did not answer {code} within {within:?}: {:?}",
            status_of(port, path)
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn healthcheck(admin: u16) -> i32 {
    vspread()
        .args(["healthcheck", "--url", &format!("http://127.0.0.1:{admin}")])
        .output()
        .unwrap()
        .status
        .code()
        .unwrap()
}

#[test]
fn readiness_follows_the_gateway_and_liveness_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let (gateway, admin) = (free_port(), free_port());
    let mut gateway_process = sim(gateway, dir.path());
    let config = config(dir.path(), gateway, admin);
    let _engine = run(&config, &dir.path().join("run.log"));
    until(admin, "/readyz", 200, Duration::from_secs(60));
    assert_eq!(healthcheck(admin), 0);

    // The gateway's process dies.
    let killed = Instant::now();
    gateway_process.0.kill().unwrap();
    gateway_process.0.wait().unwrap();
    until(admin, "/readyz", 503, Duration::from_secs(5));
    let down = killed.elapsed();
    let (_, body) = status_of(admin, "/readyz").unwrap();
    assert!(body.contains("\"gateway\":{\"ok\":false"), "{body}");
    assert!(body.contains("\"journal\":{\"ok\":true"), "{body}");
    let (live, _) = status_of(admin, "/healthz").unwrap();
    assert_eq!(live, 200, "a gateway outage is not a dead engine");
    assert_eq!(healthcheck(admin), 1);
    eprintln!("gateway killed -> /readyz 503 after {down:?}");
    assert!(down < Duration::from_secs(1), "{down:?}");

    // A gateway accepts again on the port.
    std::thread::sleep(Duration::from_millis(500));
    // From the moment the port accepts (the helper returns then).
    let _back = sim(gateway, dir.path());
    let up = until(admin, "/readyz", 200, Duration::from_secs(10));
    eprintln!("gateway accepting again -> /readyz 200 after {up:?}");
    assert!(up < Duration::from_secs(2), "{up:?}");
    assert_eq!(healthcheck(admin), 0);
}

#[test]
fn one_engine_per_data_dir_and_a_killed_ones_lock_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let (gateway, admin) = (free_port(), free_port());
    let _gateway = sim(gateway, dir.path());
    let config = config(dir.path(), gateway, admin);
    let mut first = run(&config, &dir.path().join("first.log"));
    until(admin, "/readyz", 200, Duration::from_secs(60));

    // A second engine on the same directory (another admin port).
    let second_admin = free_port();
    let started = Instant::now();
    let out = vspread()
        .args([
            "run",
            "--listen",
            &format!("127.0.0.1:{second_admin}"),
            "--config",
        ])
        .arg(&config)
        .output()
        .unwrap();
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    let data = dir.path().join("data");
    let pid = first.0.id().to_string();
    assert!(stderr.contains(&data.display().to_string()), "{stderr}");
    assert!(
        stderr.contains(&pid),
        "names the holder's pid {pid}: {stderr}"
    );
    assert!(took < Duration::from_secs(5), "at once: {took:?}");
    assert!(
        status_of(second_admin, "/healthz").is_none(),
        "the second engine serves nothing"
    );

    // The holder is killed: no stale lock.
    first.0.kill().unwrap();
    first.0.wait().unwrap();
    let _again = run(&config, &dir.path().join("again.log"));
    until(admin, "/readyz", 200, Duration::from_secs(60));
}

#[test]
fn a_busy_admin_port_fails_before_the_journal_is_touched() {
    let dir = tempfile::tempdir().unwrap();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let admin = busy.local_addr().unwrap().port();
    // No gateway at all: the port is refused before it would be contacted.
    let config = config(dir.path(), free_port(), admin);
    let out = vspread()
        .args(["run", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("127.0.0.1:{admin}")), "{stderr}");
    assert!(
        !dir.path().join("data").join("journal.sqlite3").exists(),
        "no journal was created"
    );
    assert!(
        !stderr.contains("connecting to the gateway"),
        "the gateway was not contacted: {stderr}"
    );
}

/// `[logging]` takes effect while the engine runs: at `warn` the admin
/// server's per-request debug lines are absent; after a file edit to
/// `debug` and `json` they appear as one JSON object per line. The admin
/// token `run` generates is in its file, never in the output.
#[test]
fn the_log_level_and_format_follow_the_config_and_the_token_stays_in_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let (gateway, admin) = (free_port(), free_port());
    let _gateway = sim(gateway, dir.path());
    let config = config(dir.path(), gateway, admin);
    let set = |key: &str, value: &str| {
        let out = vspread()
            .args(["config", "set", key, value, "--config"])
            .arg(&config)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    set("logging.level", "\"warn\"");
    let (out_path, log_path) = (dir.path().join("run.out"), dir.path().join("run.log"));
    let _engine = Proc(
        vspread()
            .args(["run", "--config"])
            .arg(&config)
            .stdout(std::fs::File::create(&out_path).unwrap())
            .stderr(std::fs::File::create(&log_path).unwrap())
            .spawn()
            .unwrap(),
    );
    until(admin, "/readyz", 200, Duration::from_secs(60));
    for _ in 0..3 {
        status_of(admin, "/healthz").unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        !log.contains("finished processing request"),
        "no debug lines at warn: {log}"
    );
    let before = log.len();

    set("logging.level", "\"debug\"");
    set("logging.format", "\"json\"");
    let since = Instant::now();
    let json_debug = loop {
        status_of(admin, "/healthz").unwrap();
        let log = std::fs::read_to_string(&log_path).unwrap();
        let found = log[before..]
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| {
                v["level"] == "DEBUG"
                    && v["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("finished processing request"))
            });
        if let Some(v) = found {
            break v;
        }
        assert!(
            since.elapsed() < Duration::from_secs(10),
            "no JSON debug line after the edit: {}",
            &log[before..]
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(json_debug.get("timestamp").is_some(), "{json_debug}");

    // The token: generated, kept in its file, printed nowhere.
    let out = std::fs::read_to_string(&out_path).unwrap();
    let path = out
        .split("saved in ")
        .nth(1)
        .and_then(|rest| rest.split(" (mode").next())
        .unwrap_or_else(|| panic!("run says where the token is: {out}"));
    let token = std::fs::read_to_string(path.trim()).unwrap();
    let token = token.trim();
    assert!(token.len() >= 16, "a token of some length: {token:?}");
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(!out.contains(token), "the token is not on stdout");
    assert!(!log.contains(token), "the token is not in the log");
}
