//! `vspread demo` as a process, from a fresh data directory: within two
//! minutes (real time) its log shows signals, scans and a filled spread;
//! it writes its config and admin token, serves the admin API, stops
//! cleanly on SIGTERM saving the simulator's state, and a second start
//! reuses the config and resumes the simulated account and market.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn start(data_dir: &std::path::Path) -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vspread"))
        .args(["demo", "--data-dir"])
        .arg(data_dir)
        .args(["--listen", "127.0.0.1:0"])
        .env("VSPREAD_LOG", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// Lines until one contains `needle`, within `limit` of `since`.
fn wait_for(
    rx: &mpsc::Receiver<String>,
    needle: &str,
    since: Instant,
    limit: Duration,
    seen: &mut Vec<String>,
) -> bool {
    while let Some(left) = limit.checked_sub(since.elapsed()) {
        match rx.recv_timeout(left) {
            Ok(line) => {
                let hit = line.contains(needle);
                seen.push(line);
                if hit {
                    return true;
                }
            }
            Err(_) => return false,
        }
    }
    false
}

fn stop(mut child: Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "clean exit on SIGTERM: {exit:?}");
}

#[test]
fn a_fresh_demo_trades_within_two_minutes_and_resumes_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let started = Instant::now();
    let (child, rx) = start(&data);
    let mut seen = Vec::new();
    let two_minutes = Duration::from_secs(120);
    for needle in [
        "kind=\"signal.fired\"",
        "kind=\"scan.completed\"",
        "kind=\"position.opened\"",
    ] {
        assert!(
            wait_for(&rx, needle, started, two_minutes, &mut seen),
            "no {needle} within two minutes:\n{}",
            seen.join("\n")
        );
    }
    eprintln!("first filled spread after {:?}", started.elapsed());
    assert!(seen.iter().any(|l| l.contains("admin server ready")));
    assert!(data.join("config.toml").exists());
    let config = std::fs::read_to_string(data.join("config.toml")).unwrap();
    assert!(
        config.contains("max_slippage_pct = 100"),
        "demo settings written"
    );
    let token = std::fs::metadata(data.join("admin.token")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&token.permissions()) & 0o777,
        0o600
    );
    stop(child);
    assert!(
        data.join("sim-state.json").exists(),
        "the simulator saved its state"
    );

    let restarted = Instant::now();
    let (child, rx) = start(&data);
    let mut seen = Vec::new();
    assert!(wait_for(
        &rx,
        "simulated gateway ready",
        restarted,
        Duration::from_secs(30),
        &mut seen
    ));
    assert!(
        seen.iter().any(|l| l.contains("reusing the demo config")),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|l| l.contains("resuming the simulated account")),
        "{seen:?}"
    );
    stop(child);
}
