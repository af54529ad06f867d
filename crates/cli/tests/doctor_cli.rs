//! `vspread doctor` as a process against `vspread sim` processes, each
//! simulator emulating one misconfiguration of TWS / IB Gateway or the
//! account: the doctor names the failing check, says how to fix it in the
//! words of TWS's settings, and exits 1; against a healthy simulator every
//! check passes and it exits 0.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn vspread() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vspread"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `vspread sim` process, killed (by its pid) when dropped.
struct Sim {
    child: Child,
    port: u16,
}

impl Sim {
    fn start(flags: &[&str]) -> Sim {
        let port = free_port();
        let child = vspread()
            .args([
                "sim",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--always-open",
            ])
            .args(flags)
            .env("VSPREAD_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let sim = Sim { child, port };
        let since = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                since.elapsed() < Duration::from_secs(30),
                "the simulator did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        sim
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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

/// A fresh config in `dir` pointing at `port`, trading `universe`, with
/// `extra` keys set.
fn config(dir: &Path, port: u16, universe: &[&str], extra: &[(&str, &str)]) -> PathBuf {
    let path = dir.join("config.toml");
    let out = vspread()
        .args(["config", "init", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    set(&path, "ibkr.port", &port.to_string());
    let list: Vec<String> = universe.iter().map(|s| format!("\"{s}\"")).collect();
    set(&path, "trading.universe", &format!("[{}]", list.join(", ")));
    for (key, value) in extra {
        set(&path, key, value);
    }
    path
}

/// Runs the doctor: its exit code and JSON report.
fn doctor(config: &Path) -> (i32, Value) {
    let out = vspread()
        .args(["doctor", "--format", "json", "--config"])
        .arg(config)
        .env("VSPREAD_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}):\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), report)
}

/// One check of a report: status, detail and fix.
fn check<'a>(report: &'a Value, id: &str) -> (&'a str, &'a str, &'a str) {
    let c = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id} in {report:#}"));
    (
        c["status"].as_str().unwrap(),
        c["detail"].as_str().unwrap(),
        c["fix"].as_str().unwrap_or(""),
    )
}

/// Ids of the checks with `status`.
fn with_status<'a>(report: &'a Value, status: &str) -> Vec<&'a str> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == status)
        .map(|c| c["id"].as_str().unwrap())
        .collect()
}

/// Runs the doctor against a simulator started with `flags`.
fn diagnose(flags: &[&str], universe: &[&str], extra: &[(&str, &str)]) -> (i32, Value) {
    let sim = Sim::start(flags);
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), sim.port, universe, extra);
    let result = doctor(&config);
    drop(sim);
    result
}

#[test]
fn a_healthy_simulator_passes_every_check() {
    let (code, report) = diagnose(&[], &["SPY", "AAPL"], &[]);
    let not_passed: Vec<&Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] != "pass")
        .collect();
    assert!(not_passed.is_empty(), "{not_passed:#?}");
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["ok"], true);
    for id in [
        "gateway.reachable",
        "gateway.handshake",
        "gateway.client_id",
        "account.mode",
        "clock.skew",
        "market_data.SPY",
        "option_chain.AAPL",
        "history.AAPL",
        "orders.read_only",
        "what_if.vertical",
        "data_dir.writable",
        "data_dir.lock",
        "admin_token.private",
    ] {
        assert_eq!(check(&report, id).0, "pass", "{id}");
    }
    assert!(
        check(&report, "what_if.vertical")
            .1
            .contains("initial margin change")
    );
    assert!(
        check(&report, "market_data.SPY")
            .1
            .contains("options real-time")
    );
}

#[test]
fn a_closed_port_is_reported_with_the_usual_ports_that_answer() {
    // Something listens on TWS live's default port (this test, unless the
    // port is already taken: then that answers).
    let _live = TcpListener::bind("127.0.0.1:7496");
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), free_port(), &["SPY"], &[]);
    let (code, report) = doctor(&config);
    assert_eq!(code, 1);
    let (status, detail, fix) = check(&report, "gateway.reachable");
    assert_eq!(status, "fail");
    assert!(detail.contains("nothing accepts connections"), "{detail}");
    assert!(fix.contains("7496 (TWS live's default)"), "{fix}");
    assert!(fix.contains("[ibkr] port"), "{fix}");
    assert!(fix.contains("Enable ActiveX and Socket Clients"), "{fix}");
    assert_eq!(check(&report, "gateway.handshake").0, "skip");
    assert_eq!(check(&report, "history.SPY").0, "skip");
}

#[test]
fn an_address_outside_the_trusted_ips_is_named() {
    let (code, report) = diagnose(&["--trusted-ips", "10.9.9.9"], &["SPY"], &[]);
    assert_eq!(code, 1);
    assert_eq!(check(&report, "gateway.reachable").0, "pass");
    let (status, detail, fix) = check(&report, "gateway.handshake");
    assert_eq!(status, "fail");
    assert!(detail.contains("closed the connection"), "{detail}");
    assert!(fix.contains("Trusted IPs"), "{fix}");
}

#[test]
fn an_old_gateway_is_told_to_update() {
    let (code, report) = diagnose(&["--server-version", "200"], &["SPY"], &[]);
    assert_eq!(code, 1);
    let (status, detail, fix) = check(&report, "gateway.handshake");
    assert_eq!(status, "fail");
    assert!(detail.contains("version 200"), "{detail}");
    assert!(fix.contains("Update TWS / IB Gateway"), "{fix}");
}

#[test]
fn a_client_id_held_by_another_connection_is_named_and_the_rest_goes_on() {
    let sim = Sim::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), sim.port, &["SPY"], &[("ibkr.client_id", "7")]);
    // Another application holds client id 7: a connection of vspread's own
    // broker layer.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let holder = runtime.block_on(async {
        let mut settings =
            vspread_broker::BrokerSettings::from_config(&vspread_core::config::Config::default());
        settings.address = format!("127.0.0.1:{}", sim.port);
        settings.client_id = 7;
        let broker = vspread_broker::IbBroker::start(settings);
        broker.wait_ready(Duration::from_secs(20)).await.unwrap();
        broker
    });
    let (code, report) = doctor(&config);
    runtime.block_on(holder.shutdown());
    assert_eq!(code, 1);
    let (status, detail, fix) = check(&report, "gateway.client_id");
    assert_eq!(status, "fail", "{report:#}");
    assert!(detail.contains("326"), "{detail}");
    assert!(fix.contains("[ibkr] client_id"), "{fix}");
    // Checked on with another id.
    assert_eq!(check(&report, "account.mode").0, "pass");
    assert_eq!(check(&report, "what_if.vertical").0, "pass");
    assert_eq!(with_status(&report, "fail"), ["gateway.client_id"]);
}

#[test]
fn a_live_account_under_a_paper_config_fails_and_the_other_way_round() {
    let (code, report) = diagnose(&["--account", "U1234567"], &["SPY"], &[]);
    assert_eq!(code, 1);
    let (status, detail, fix) = check(&report, "account.mode");
    assert_eq!(status, "fail");
    assert!(detail.contains("live account U1234567"), "{detail}");
    assert!(fix.contains("Trading Mode \"Paper\""), "{fix}");
    assert_eq!(with_status(&report, "fail"), ["account.mode"]);

    let (code, report) = diagnose(&[], &["SPY"], &[("trading.mode", "\"live\"")]);
    assert_eq!(code, 1);
    let (status, detail, fix) = check(&report, "account.mode");
    assert_eq!(status, "fail");
    assert!(detail.contains("paper account DU0000001"), "{detail}");
    assert!(fix.contains("Trading Mode \"Live\""), "{fix}");
}

#[test]
fn a_read_only_api_is_found_by_the_what_if() {
    let (code, report) = diagnose(&["--read-only-api"], &["SPY"], &[]);
    assert_eq!(code, 1);
    let (status, detail, fix) = check(&report, "orders.read_only");
    assert_eq!(status, "fail");
    assert!(detail.contains("321"), "{detail}");
    assert!(detail.contains("Read-Only"), "{detail}");
    assert!(
        fix.contains("File > Global Configuration > API > Settings > untick \"Read-Only API\""),
        "{fix}"
    );
    assert_eq!(with_status(&report, "fail"), ["orders.read_only"]);
}

#[test]
fn missing_and_delayed_market_data_are_told_apart() {
    let (code, report) = diagnose(
        &[
            "--market-data",
            "options=delayed",
            "--market-data",
            "QQQ=none",
        ],
        &["SPY", "QQQ"],
        &[],
    );
    assert_eq!(code, 1);
    let (status, detail, fix) = check(&report, "market_data.SPY");
    assert_eq!(status, "fail");
    assert!(detail.contains("stock real-time"), "{detail}");
    assert!(detail.contains("options delayed"), "{detail}");
    assert!(detail.contains("10167"), "{detail}");
    assert!(fix.contains("Market Data Subscriptions"), "{fix}");
    let (status, detail, _) = check(&report, "market_data.QQQ");
    assert_eq!(status, "fail");
    assert!(detail.contains("stock none"), "{detail}");
    assert!(
        detail.contains("354") && detail.contains("10168"),
        "{detail}"
    );
    assert_eq!(
        with_status(&report, "fail"),
        ["market_data.SPY", "market_data.QQQ"]
    );
}

#[test]
fn delayed_data_asked_for_in_the_config_is_a_warning_only() {
    let (code, report) = diagnose(
        &["--market-data", "delayed"],
        &["SPY"],
        &[("ibkr.market_data_type", "\"delayed\"")],
    );
    let (status, detail, _) = check(&report, "market_data.SPY");
    assert_eq!(status, "warn", "{report:#}");
    assert!(detail.contains("stock delayed"), "{detail}");
    assert_eq!(code, 0, "warnings do not fail: {report:#}");
}

#[test]
fn no_history_permission_fails_the_history_check() {
    let (code, report) = diagnose(&["--no-history"], &["SPY"], &[]);
    assert_eq!(code, 1);
    let (status, detail, fix) = check(&report, "history.SPY");
    assert_eq!(status, "fail");
    assert!(detail.contains("162"), "{detail}");
    assert!(fix.contains("Market Data Subscriptions"), "{fix}");
    assert_eq!(with_status(&report, "fail"), ["history.SPY"]);
}

#[test]
fn no_combo_permission_fails_the_what_if() {
    let (code, report) = diagnose(&["--no-combo-permission"], &["SPY"], &[]);
    assert_eq!(code, 1);
    let (status, detail, fix) = check(&report, "what_if.vertical");
    assert_eq!(status, "fail");
    assert!(detail.contains("201"), "{detail}");
    assert!(fix.contains("Trading Permissions"), "{fix}");
    assert_eq!(check(&report, "orders.read_only").0, "pass");
    assert_eq!(with_status(&report, "fail"), ["what_if.vertical"]);
}

#[test]
fn a_skewed_gateway_clock_fails() {
    let (code, report) = diagnose(&["--clock-skew-s", "-90"], &["SPY"], &[]);
    assert_eq!(code, 1);
    let (status, detail, fix) = check(&report, "clock.skew");
    assert_eq!(status, "fail");
    assert!(detail.contains("behind"), "{detail}");
    assert!(fix.contains("NTP"), "{fix}");
    assert_eq!(with_status(&report, "fail"), ["clock.skew"]);
}

#[test]
fn an_unknown_symbol_in_the_universe_is_named() {
    let (code, report) = diagnose(&[], &["SPY", "ZZZZ"], &[]);
    assert_eq!(code, 1);
    let (status, detail, fix) = check(&report, "contract.ZZZZ");
    assert_eq!(status, "fail");
    assert!(detail.contains("200"), "{detail}");
    assert!(fix.contains("[trading] universe"), "{fix}");
    assert_eq!(check(&report, "market_data.ZZZZ").0, "skip");
    assert_eq!(with_status(&report, "fail"), ["contract.ZZZZ"]);
}

#[test]
fn a_locked_data_dir_a_public_token_and_a_file_for_a_dir_fail_locally() {
    use std::os::unix::fs::PermissionsExt as _;
    let sim = Sim::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        dir.path(),
        sim.port,
        &["SPY"],
        &[("storage.data_dir", "\"data\"")],
    );
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    // Another engine: holds the lock and wrote its pid.
    let lock = data.join("vspread.lock");
    std::fs::write(&lock, format!("{}\n", std::process::id())).unwrap();
    let held = std::fs::File::open(&lock).unwrap();
    rustix::fs::flock(&held, rustix::fs::FlockOperation::LockExclusive).unwrap();
    let token = data.join("admin.token");
    std::fs::write(&token, "secret\n").unwrap();
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).unwrap();

    let (code, report) = doctor(&config);
    assert_eq!(code, 1);
    let (status, detail, fix) = check(&report, "data_dir.lock");
    assert_eq!(status, "fail");
    assert!(
        detail.contains(&format!("pid {}", std::process::id())),
        "{detail}"
    );
    assert!(fix.contains("One engine per data dir"), "{fix}");
    let (status, detail, fix) = check(&report, "admin_token.private");
    assert_eq!(status, "fail");
    assert!(detail.contains("644"), "{detail}");
    assert_eq!(fix, format!("chmod 600 {}", token.display()));
    assert_eq!(check(&report, "data_dir.writable").0, "pass");
    assert_eq!(
        with_status(&report, "fail"),
        ["data_dir.lock", "admin_token.private"]
    );

    // Released, private, but the data dir is a file.
    drop(held);
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(dir.path().join("plain"), "not a directory").unwrap();
    set(&config, "storage.data_dir", "\"plain\"");
    let (code, report) = doctor(&config);
    assert_eq!(code, 1);
    let (status, detail, _) = check(&report, "data_dir.writable");
    assert_eq!(status, "fail");
    assert!(detail.contains("not a directory"), "{detail}");
    drop(sim);
}

#[test]
fn a_missing_config_is_a_failed_check() {
    let dir = tempfile::tempdir().unwrap();
    let (code, report) = doctor(&dir.path().join("absent.toml"));
    assert_eq!(code, 1);
    let (status, _, fix) = check(&report, "config");
    assert_eq!(status, "fail");
    assert!(fix.contains("vspread config init"), "{fix}");
    assert_eq!(report["checks"].as_array().unwrap().len(), 1);
}

#[test]
fn the_table_names_each_failure_and_its_fix() {
    let sim = Sim::start(&["--read-only-api"]);
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), sim.port, &["SPY"], &[]);
    let out = vspread()
        .args(["doctor", "--config"])
        .arg(&config)
        .env("VSPREAD_LOG", "warn")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .position(|l| l.starts_with("FAIL") && l.contains("orders.read_only"))
        .unwrap_or_else(|| panic!("{text}"));
    let fix = text.lines().nth(line + 1).unwrap();
    assert!(
        fix.trim_start()
            .starts_with("fix: TWS: File > Global Configuration"),
        "{fix}"
    );
    assert!(text.contains("1 check(s) failed"), "{text}");
    drop(sim);
}
