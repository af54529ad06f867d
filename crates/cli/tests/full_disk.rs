//! The data directory's disk, with the real binary: `vspread run` beside a
//! `vspread sim` process, its config and data dir on a small tmpfs.
//!
//! - The disk fills up while the engine holds a spread: new entries are
//!   refused (`journal.degraded`, the `journal_degraded` refusal, `/readyz`
//!   503 and `vspread_journal_writable 0`) while the held spread's exit
//!   order is journaled and sent (the reserve is released for it), and once
//!   space returns the engine says so and enters again. Afterwards nothing is lost: every
//!   execution the simulator made is journaled with its commission, the
//!   journal's cash is the simulator's to the cent, every order journaled
//!   before the disk filled is still there, and config.toml is intact.
//! - A read-only data dir at start: a clear error naming it, and the
//!   gateway never hears from the engine.
//!
//! Mounting needs root (CAP_SYS_ADMIN); without it each test says so and
//! passes without running (the read-only case falls back to a directory
//! without write permission when that is enough).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use serde_json::Value;

const SPEED: &str = "60";
const TOKEN: &str = "full-disk-admin-token-0123456789";

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

/// A tmpfs mounted for the test's life.
struct Mount(PathBuf);

impl Mount {
    /// A tmpfs of `size` at `dir`, or why not.
    fn tmpfs(dir: &Path, size: &str) -> Result<Mount, String> {
        std::fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(Mount(dir.to_path_buf()))
    }

    fn remount(&self, options: &str) {
        let out = Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(&self.0)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "remount {options}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

struct Sim {
    _proc: Proc,
    port: u16,
    control: u16,
    log: PathBuf,
}

impl Sim {
    fn start(dir: &Path) -> Sim {
        let (port, control) = (free_port(), free_port());
        let log = dir.join("sim.log");
        let child = vspread()
            .args(["sim", "--seed", "3", "--speed", SPEED])
            .args(["--start", "2026-11-23T15:00:00Z"])
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--control", &format!("127.0.0.1:{control}")])
            .env("VSPREAD_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let sim = Sim {
            _proc: Proc(child),
            port,
            control,
            log,
        };
        let since = Instant::now();
        while TcpStream::connect(("127.0.0.1", control)).is_err() {
            assert!(since.elapsed() < Duration::from_secs(20), "no simulator");
            std::thread::sleep(Duration::from_millis(20));
        }
        sim
    }

    fn ledger(&self) -> Value {
        let mut s = TcpStream::connect(("127.0.0.1", self.control)).unwrap();
        s.write_all(b"ledger\n").unwrap();
        let mut line = String::new();
        BufReader::new(s).read_line(&mut line).unwrap();
        serde_json::from_str(line.strip_prefix("ok ").unwrap()).unwrap()
    }
}

fn set(config: &Path, key: &str, value: &str) {
    let out = vspread()
        .args(["config", "set", key, value, "--config"])
        .arg(config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{key}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A config that trades and churns (every held spread past `exit_dte`, so
/// every cycle has exits to make), in `dir`, with the data dir beside it.
fn write_config(dir: &Path, gateway: u16, token: &Path) -> PathBuf {
    let config = dir.join("config.toml");
    let out = vspread()
        .args(["config", "init", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(out.status.success());
    for (key, value) in [
        ("ibkr.port", gateway.to_string()),
        ("storage.data_dir", "\".\"".into()),
        (
            "server.token_file",
            format!("{:?}", token.display().to_string()),
        ),
        // One underlying: a second one's first chain load can hold the
        // cycle for tens of seconds on a busy machine.
        ("trading.universe", "[\"QQQ\"]".into()),
        ("trading.scan_interval_s", "60".into()),
        ("trading.max_positions", "20".into()),
        ("trading.max_positions_per_underlying", "10".into()),
        ("risk.max_daily_loss", "100000".into()),
        ("execution.max_slippage_pct", "100".into()),
        ("exits.exit_dte", "365".into()),
        ("storage.min_free_mb", "3".into()),
        ("storage.reserve_mb", "2".into()),
    ] {
        set(&config, key, &value);
    }
    config
}

/// An HTTP/1.1 request to the admin port: the status and the body.
fn http(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let code = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
    Some((code, body))
}

/// A POST without a body to the admin port: the status and the body.
fn post(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let code = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
    Some((code, body))
}

/// The JSON body of a GET (chunked or not: its outermost braces).
fn get_json(port: u16, path: &str) -> Option<Value> {
    let (code, body) = http(port, path)?;
    if code != 200 {
        return None;
    }
    let start = body.find('{')?;
    let end = body.rfind('}')?;
    serde_json::from_str(&body[start..=end]).ok()
}

/// The spread refs of the held spreads no closing order works for.
fn held_without_exit(port: u16) -> Vec<String> {
    get_json(port, "/api/v1/positions")
        .and_then(|v| v["positions"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter(|p| p["closing_order"].is_null())
        .filter_map(|p| p["entry_ref"].as_str().map(str::to_string))
        .collect()
}

/// The events the engine holds in memory (the journal may not have room
/// for them yet).
fn events(port: u16) -> Vec<Value> {
    http(port, "/api/v1/events?limit=1000")
        .and_then(|(_, body)| {
            // Chunked or not, the JSON array is the body's bracketed part.
            let start = body.find('[')?;
            let end = body.rfind(']')?;
            serde_json::from_str(&body[start..=end]).ok()
        })
        .unwrap_or_default()
}

fn wait_for<T>(what: &str, within: Duration, log: &Path, mut f: impl FnMut() -> Option<T>) -> T {
    let since = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        if since.elapsed() > within {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            let tail: Vec<_> = log.lines().rev().take(30).collect();
            panic!(
                "{what}: not within {within:?}; engine log tail:\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn d(v: &Value) -> Decimal {
    v.as_str()
        .map_or_else(|| v.to_string().parse().unwrap(), |s| s.parse().unwrap())
}

fn journal_json(dir: &Path, record: &str) -> Vec<Value> {
    let out = vspread()
        .args([
            "journal",
            record,
            "--format",
            "json",
            "--limit",
            "0",
            "--data-dir",
        ])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "journal {record}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Writes zeros to `path` until the filesystem is full.
fn fill(path: &Path) -> u64 {
    let mut file = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    let mut written = 0;
    while let Ok(n) = file.write(&chunk) {
        if n == 0 {
            break;
        }
        written += n as u64;
    }
    let _ = file.sync_all();
    written
}

fn entries(ledger: &Value) -> Vec<String> {
    ledger["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["order_ref"].as_str().unwrap().to_string())
        .filter(|r| r.contains("-e"))
        .collect()
}

fn exits(ledger: &Value) -> Vec<String> {
    ledger["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["order_ref"].as_str().unwrap().to_string())
        .filter(|r| r.contains("-x"))
        .collect()
}

#[test]
fn a_full_disk_refuses_entries_keeps_exits_going_loses_nothing_and_resumes() {
    let outside = tempfile::tempdir().unwrap();
    let mount = match Mount::tmpfs(&outside.path().join("data"), "16m") {
        Ok(m) => m,
        Err(why) => {
            eprintln!(
                "SKIPPED a_full_disk_...: cannot mount a tmpfs for the data dir ({why}); run as root to test a full disk"
            );
            return;
        }
    };
    let data = mount.0.clone();
    let token = outside.path().join("admin.token");
    std::fs::write(&token, TOKEN).unwrap();
    let sim = Sim::start(outside.path());
    let config = write_config(&data, sim.port, &token);
    let config_text = std::fs::read_to_string(&config).unwrap();
    let admin = free_port();
    let log = outside.path().join("engine.log");
    let engine = Proc(
        vspread()
            .args(["run", "--clock-from-gateway", SPEED, "--config"])
            .arg(&config)
            .args(["--listen", &format!("127.0.0.1:{admin}")])
            .env("VSPREAD_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    assert!(
        data.join("journal.reserve").exists() || {
            std::thread::sleep(Duration::from_secs(2));
            data.join("journal.reserve").exists()
        },
        "the reserve is written at start"
    );
    // Trading: a spread held, so there is an exit to make each cycle.
    wait_for("a position opened", Duration::from_secs(120), &log, || {
        events(admin)
            .iter()
            .any(|e| e["kind"] == "position.opened")
            .then_some(())
    });
    // Paused with a spread held and no exit working for it yet (every held
    // spread is past exit_dte, so the next cycle exits it): pause, look,
    // and let a cycle run when the moment was wrong.
    let held = wait_for(
        "a spread held without an exit while paused",
        Duration::from_secs(120),
        &log,
        || {
            let (code, body) = post(admin, "/api/v1/control/pause")?;
            assert_eq!(code, 200, "pause: {body}");
            std::thread::sleep(Duration::from_millis(300));
            let held = held_without_exit(admin);
            if held.is_empty() {
                post(admin, "/api/v1/control/resume");
                std::thread::sleep(Duration::from_millis(200));
                return None;
            }
            Some(held)
        },
    );
    eprintln!("paused holding {held:?}");
    let before_orders = journal_json(&data, "orders");
    let before_fills = journal_json(&data, "fills");
    let exits_before = exits(&sim.ledger());

    // The disk fills up.
    let filler = data.join("filler");
    let written = fill(&filler);
    eprintln!("filled the data disk with {written} bytes");
    let degraded = wait_for("journal.degraded", Duration::from_secs(10), &log, || {
        events(admin)
            .into_iter()
            .find(|e| e["kind"] == "journal.degraded")
    });
    eprintln!("{degraded}");
    let (code, body) = http(admin, "/readyz").unwrap();
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("new entries are refused"), "{body}");
    let (_, metrics) = http(admin, "/metrics").unwrap();
    assert!(
        metrics.contains("vspread_journal_writable 0"),
        "{}",
        metrics
            .lines()
            .filter(|l| l.contains("journal"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let (code, body) = post(admin, "/api/v1/control/resume").unwrap();
    assert_eq!(code, 200, "resume: {body}");
    // The next cycle exits the held spread: its exit order is journaled and
    // reaches the gateway although the disk is full.
    let exit_ref = wait_for(
        "the held spread's exit order at the gateway",
        Duration::from_secs(60),
        &log,
        || {
            let sent: Vec<String> = exits(&sim.ledger())
                .into_iter()
                .filter(|r| !exits_before.contains(r))
                .collect();
            let journaled = journal_json(&data, "orders");
            sent.into_iter().find(|r| {
                journaled.iter().any(|o| {
                    o["order_ref"] == r.as_str()
                        && o["purpose"] == "exit"
                        && held.iter().any(|h| o["spread_ref"] == h.as_str())
                })
            })
        },
    );
    eprintln!("exit {exit_ref} sent and journaled while the disk is full");
    assert!(
        !events(admin)
            .iter()
            .any(|e| e["kind"] == "journal.recovered"),
        "the exit went out while the journal was still degraded"
    );
    let refused_at = wait_for("an entry refused", Duration::from_secs(60), &log, || {
        events(admin).into_iter().find(|e| {
            e["kind"] == "decision.refused" && e["data"]["refusal"]["rule"] == "journal_degraded"
        })
    });
    eprintln!("{refused_at}");
    // From the refusal on, no new entry reaches the gateway, while exits
    // go on (every held spread is past exit_dte).
    let entries_then = entries(&sim.ledger());
    let exits_then = journal_json(&data, "orders")
        .iter()
        .filter(|o| o["purpose"] == "exit")
        .count();
    std::thread::sleep(Duration::from_secs(6));
    let ledger = sim.ledger();
    assert_eq!(
        entries(&ledger),
        entries_then,
        "no entry is sent while the disk is full"
    );
    let full_orders = journal_json(&data, "orders");
    let exits_now = full_orders
        .iter()
        .filter(|o| o["purpose"] == "exit")
        .count();
    eprintln!("exit orders journaled: {exits_then} when refused, {exits_now} six seconds later");
    let (_, metrics) = http(admin, "/metrics").unwrap();
    let refusals = metrics
        .lines()
        .find_map(|l| l.strip_prefix("vspread_decisions_refused_total{rule=\"journal_degraded\"} "))
        .and_then(|v| v.trim().parse::<f64>().ok());
    assert!(
        refusals.is_some_and(|n| n >= 1.0),
        "the refusal is counted: {refusals:?}"
    );

    // Space returns.
    std::fs::remove_file(&filler).unwrap();
    wait_for("journal.recovered", Duration::from_secs(10), &log, || {
        events(admin)
            .into_iter()
            .find(|e| e["kind"] == "journal.recovered")
    });
    let (code, body) = wait_for("/readyz 200", Duration::from_secs(10), &log, || {
        http(admin, "/readyz").filter(|(c, _)| *c == 200)
    });
    assert_eq!(code, 200, "{body}");
    wait_for("a new entry sent", Duration::from_secs(60), &log, || {
        (entries(&sim.ledger()).len() > entries_then.len()).then_some(())
    });

    // Stop and compare with the simulator: nothing lost.
    let mut engine = engine;
    terminate(&engine.0);
    let status = engine.0.wait().unwrap();
    assert!(status.success(), "engine stopped with {status}");
    let ledger = sim.ledger();
    let fills: BTreeMap<String, Value> = journal_json(&data, "fills")
        .into_iter()
        .map(|f| (f["exec_id"].as_str().unwrap().to_string(), f))
        .collect();
    for x in ledger["executions"].as_array().unwrap() {
        let id = x["exec_id"].as_str().unwrap();
        let f = fills
            .get(id)
            .unwrap_or_else(|| panic!("fill {id} lost: {x}"));
        assert_eq!(d(&f["price"]), d(&x["price"]), "{id}");
        assert_eq!(d(&f["commission"]), d(&x["commission"]), "{id} commission");
    }
    assert_eq!(fills.len(), ledger["executions"].as_array().unwrap().len());
    let after_orders = journal_json(&data, "orders");
    for o in &before_orders {
        assert!(
            after_orders
                .iter()
                .any(|a| a["order_ref"] == o["order_ref"]),
            "{} journaled before the disk filled is still there",
            o["order_ref"]
        );
    }
    for f in &before_fills {
        assert!(fills.contains_key(f["exec_id"].as_str().unwrap()));
    }
    for o in ledger["orders"].as_array().unwrap() {
        assert!(
            after_orders
                .iter()
                .any(|a| a["order_ref"] == o["order_ref"]),
            "{} reached the gateway unjournaled",
            o["order_ref"]
        );
    }
    let cash: Decimal = journal_json(&data, "positions")
        .iter()
        .map(|s| d(&s["cash"]))
        .sum();
    assert_eq!(
        cash,
        d(&ledger["cash"]) - Decimal::from(100_000),
        "the journal's cash is the simulator's"
    );
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        config_text,
        "config.toml intact"
    );
    let out = vspread()
        .args(["config", "validate", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(out.status.success());
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(!log.contains("panicked"), "{log}");
    drop(sim);
    drop(mount);
}

fn terminate(child: &Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
}

#[test]
fn a_read_only_data_dir_is_refused_at_start_and_the_gateway_hears_nothing() {
    let outside = tempfile::tempdir().unwrap();
    let dir = outside.path().join("data");
    let token = outside.path().join("admin.token");
    std::fs::write(&token, TOKEN).unwrap();
    let sim = Sim::start(outside.path());
    let mount = Mount::tmpfs(&dir, "4m");
    std::fs::create_dir_all(&dir).unwrap();
    let config = write_config(&dir, sim.port, &token);
    let how = match &mount {
        Ok(m) => {
            m.remount("ro");
            "a read-only mount"
        }
        Err(_) => {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
            if std::fs::write(dir.join("probe"), b"x").is_ok() {
                eprintln!(
                    "SKIPPED a_read_only_data_dir_...: no tmpfs to remount read-only and mode 0555 does not stop this user"
                );
                return;
            }
            "a directory without write permission"
        }
    };
    let out = vspread()
        .args(["run", "--clock-from-gateway", SPEED, "--config"])
        .arg(&config)
        .args(["--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{how}: the engine must not start");
    assert!(
        stderr.contains("not writable") && stderr.contains(&dir.display().to_string()),
        "{how}: a clear error naming the data dir: {stderr}"
    );
    std::thread::sleep(Duration::from_millis(300));
    let sim_log = std::fs::read_to_string(&sim.log).unwrap();
    assert!(
        !sim_log.contains("client connected"),
        "the gateway heard from the engine: {sim_log}"
    );
    assert!(sim.ledger()["orders"].as_array().unwrap().is_empty());
}
