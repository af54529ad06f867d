//! The admin server's security as an operator meets it, with the real
//! binary: `vspread run` refuses a non-loopback address without TLS and
//! without a token, each time saying how to fix it; `vspread tls
//! self-signed` and `vspread token create|list|revoke` make what it needs;
//! then `vspread run` serves TLS on 0.0.0.0 beside a `vspread sim`, and
//! `vspread healthcheck` (which pins the configured certificate) reports it
//! ready over https.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
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

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn set(path: &Path, key: &str, value: &str) {
    ok(
        vspread()
            .args(["config", "set", key, value, "--config"])
            .arg(path)
            .output()
            .unwrap(),
        key,
    );
}

/// `vspread run` that must stop at once: its stderr.
fn refused_run(config: &Path) -> String {
    let out = vspread()
        .args(["run", "--config"])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(!out.status.success(), "run did not refuse");
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn a_public_address_needs_tls_and_a_token_and_then_serves_https() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = free_port();
    let admin = free_port();
    let config: PathBuf = dir.path().join("config.toml");
    ok(
        vspread()
            .args(["config", "init", "--config"])
            .arg(&config)
            .output()
            .unwrap(),
        "init",
    );
    for (key, value) in [
        ("ibkr.port", gateway.to_string()),
        ("ibkr.connect_timeout_s", "2".into()),
        ("server.listen", format!("\"0.0.0.0:{admin}\"")),
        ("storage.data_dir", "\"data\"".into()),
        ("trading.universe", "[\"QQQ\"]".into()),
        ("trading_schedule.enabled", "false".into()),
    ] {
        set(&config, key, &value);
    }

    let err = refused_run(&config);
    assert!(
        err.contains("plain HTTP") && err.contains("tls_cert_file"),
        "{err}"
    );

    // A certificate, then the refusal names the missing token.
    ok(
        vspread()
            .args(["tls", "self-signed", "--cert"])
            .arg(dir.path().join("tls/cert.pem"))
            .arg("--key")
            .arg(dir.path().join("tls/key.pem"))
            .output()
            .unwrap(),
        "tls self-signed",
    );
    set(&config, "server.tls_cert_file", "\"tls/cert.pem\"");
    set(&config, "server.tls_key_file", "\"tls/key.pem\"");
    let err = refused_run(&config);
    assert!(err.contains("vspread token create"), "{err}");
    assert!(!dir.path().join("data/admin.token").exists());

    // A named token: printed once, stored hashed.
    let token = ok(
        vspread()
            .args(["token", "create", "--name", "ops", "--config"])
            .arg(&config)
            .output()
            .unwrap(),
        "token create",
    );
    let token = token.trim().to_string();
    assert!(token.starts_with("vst_") && token.len() == 68, "{token}");
    let stored = std::fs::read_to_string(dir.path().join("data/tokens.json")).unwrap();
    assert!(!stored.contains(&token), "the secret is not stored");
    let listed = ok(
        vspread()
            .args(["token", "list", "--config"])
            .arg(&config)
            .output()
            .unwrap(),
        "token list",
    );
    assert!(listed.starts_with("ops\tadmin\t"), "{listed}");
    let out = vspread()
        .args(["token", "create", "--name", "ops", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success(), "a second token of one name");

    // Now it starts, TLS only, and the healthcheck pins the certificate.
    let sim_log = std::fs::File::create(dir.path().join("sim.log")).unwrap();
    let _sim = Proc(
        vspread()
            .args(["sim", "--seed", "3", "--always-open"])
            .args(["--listen", &format!("127.0.0.1:{gateway}")])
            .stdout(Stdio::null())
            .stderr(sim_log)
            .spawn()
            .unwrap(),
    );
    let log = std::fs::File::create(dir.path().join("run.log")).unwrap();
    let _run = Proc(
        vspread()
            .args(["run", "--config"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    let code = loop {
        let out = vspread()
            .args(["healthcheck", "--config"])
            .arg(&config)
            .output()
            .unwrap();
        let code = out.status.code();
        if code == Some(0) {
            break String::from_utf8_lossy(&out.stdout).into_owned();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "healthcheck never passed: {} / {}",
            String::from_utf8_lossy(&out.stdout),
            std::fs::read_to_string(dir.path().join("run.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(code.starts_with("200"), "{code}");
    // Plain HTTP gets no answer on the TLS port.
    let plain = vspread()
        .args(["healthcheck", "--url", &format!("http://127.0.0.1:{admin}")])
        .output()
        .unwrap();
    assert_eq!(plain.status.code(), Some(1));
    // Revoked, it is gone from the file the engine reads.
    ok(
        vspread()
            .args(["token", "revoke", "--name", "ops", "--config"])
            .arg(&config)
            .output()
            .unwrap(),
        "token revoke",
    );
    let stored = std::fs::read_to_string(dir.path().join("data/tokens.json")).unwrap();
    assert!(!stored.contains("\"ops\""), "{stored}");
    assert!(TcpStream::connect(("127.0.0.1", admin)).is_ok());
}
