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

/// `GET path` on the admin server with the token: status and body.
fn get_text(admin: &str, token: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(admin).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {admin}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (
        head.split(' ').nth(1).unwrap().parse().unwrap(),
        body.to_string(),
    )
}

/// The value of an unlabelled sample in a Prometheus text exposition.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// `GET path` on the admin server with the token: status and JSON body.
fn get(admin: &str, token: &str, path: &str) -> (u16, serde_json::Value) {
    let (status, body) = get_text(admin, token, path);
    // Chunked or not: the JSON is the outermost braces.
    let json = &body[body.find('{').unwrap()..=body.rfind('}').unwrap()];
    (status, serde_json::from_str(json).unwrap())
}

/// The admin server's address from its "admin server ready" log line.
fn admin_address(seen: &[String]) -> String {
    let line = seen
        .iter()
        .find(|l| l.contains("admin server ready"))
        .unwrap();
    let at = line.find("http://").unwrap() + "http://".len();
    line[at..]
        .split(|c: char| c.is_whitespace() || c == '"')
        .next()
        .unwrap()
        .to_string()
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
    let loaded: toml::Table = config.parse().unwrap();
    assert_eq!(
        loaded["trading"]["scan_interval_s"].as_integer(),
        Some(60),
        "demo settings written"
    );
    // The limit walk is the default one: the spread above filled without
    // the walk being allowed to the natural.
    let default_slippage = vspread_core::config::ExecutionConfig::default().max_slippage_pct;
    assert_ne!(default_slippage, 100.0);
    assert!(
        loaded
            .get("execution")
            .and_then(|e| e.get("max_slippage_pct"))
            .is_none_or(|v| v.as_float() == Some(default_slippage)),
        "max_slippage_pct left at its default:\n{config}"
    );
    let token = std::fs::metadata(data.join("admin.token")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&token.permissions()) & 0o777,
        0o600
    );
    // The admin API shows what the log said: the scans with their funnel,
    // the filled spread as a position, its orders in the journal.
    let admin = admin_address(&seen);
    let token = std::fs::read_to_string(data.join("admin.token")).unwrap();
    let token = token.trim();
    let (status, scans) = get(&admin, token, "/api/v1/scans/latest");
    assert_eq!(status, 200, "{scans}");
    let scan = &scans["scans"][0];
    assert!(scan["candidates"].as_u64().unwrap() > 0, "{scan}");
    assert!(scan["funnel"].is_object(), "{scan}");
    let (status, orders) = get(&admin, token, "/api/v1/orders");
    assert_eq!(status, 200, "{orders}");
    // The entry that opened the spread: ended with fills, all of them or
    // part (the simulator fills in parts, and a partly filled entry that
    // times out still opens the spread: position.opened follows the end).
    assert!(
        orders["orders"].as_array().unwrap().iter().any(|o| {
            let filled: f64 = o["filled"].as_str().unwrap().parse().unwrap();
            o["purpose"] == "entry" && filled > 0.0 && o["outcome"].is_string()
        }),
        "{orders}"
    );
    // Positions are written at the end of the cycle that opened one (and
    // the spread may be closed by then: a trade).
    let since = Instant::now();
    loop {
        let (status, positions) = get(&admin, token, "/api/v1/positions");
        assert_eq!(status, 200, "{positions}");
        if let Some(p) = positions["positions"].as_array().unwrap().first() {
            assert!(p["entry_price"].is_string(), "{positions}");
            assert!(p["stop_underlying"].as_f64().unwrap() > 0.0, "{positions}");
            assert!(p["dte"].as_i64().unwrap() >= 0, "{positions}");
            break;
        }
        let (_, trades) = get(&admin, token, "/api/v1/trades");
        if !trades["trades"].as_array().unwrap().is_empty() {
            break;
        }
        assert!(
            since.elapsed() < Duration::from_secs(60),
            "the opened spread is neither a position nor a trade"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The status bar's gateway, and the metrics of the link and the trader.
    let (_, status) = get(&admin, token, "/api/v1/status");
    assert_eq!(status["gateway"]["connected"], true, "{status}");
    assert!(
        status["gateway"]["server_version"].as_i64().unwrap() >= 100,
        "{status}"
    );
    let (code, metrics) = get_text(&admin, token, "/metrics");
    assert_eq!(code, 200);
    assert_eq!(
        sample(&metrics, "vspread_gateway_connected"),
        Some(1.0),
        "{metrics}"
    );
    assert!(
        sample(&metrics, "vspread_market_data_lines_active").unwrap() > 0.0,
        "{metrics}"
    );
    assert!(
        sample(&metrics, "vspread_scans_total").unwrap() > 0.0,
        "{metrics}"
    );
    assert!(
        sample(&metrics, "vspread_scan_duration_seconds_count").unwrap() > 0.0,
        "{metrics}"
    );
    assert!(
        sample(&metrics, "vspread_order_execution_seconds_count").unwrap() > 0.0,
        "{metrics}"
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

/// The demo takes the simulator's fill-model flags (so a benchmark can make
/// orders rest and walk); a bad one is refused at once, naming the flag,
/// before the demo's directory is touched.
#[test]
fn a_bad_fill_model_flag_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("demo");
    let out = Command::new(env!("CARGO_BIN_EXE_vspread"))
        .args([
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--fill-rate-mid",
            "0",
            "--data-dir",
        ])
        .arg(&data_dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--fill-rate-mid 0"), "{stderr}");
    assert!(!data_dir.exists(), "the demo's directory was created");
}
