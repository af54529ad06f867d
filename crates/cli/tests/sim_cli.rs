//! `vspread sim` as a process: it listens, answers the TWS handshake with
//! server version 226, and stops on SIGINT; with `--state FILE` it saves
//! at exit and resumes from the file; `--control` answers fault commands;
//! it runs with transparent huge pages off.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn the_simulator_process_answers_the_handshake() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vspread"))
        .args([
            "sim",
            "--listen",
            "127.0.0.1:0",
            "--seed",
            "3",
            "--speed",
            "60",
        ])
        .env("VSPREAD_LOG", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let ready = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.contains("simulated gateway ready"))
        .expect("a ready line");
    let addr = ready
        .split_whitespace()
        .find_map(|w| w.strip_prefix("listen="))
        .expect("listen=ADDR in the ready line")
        .to_string();
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"API\0\x00\x00\x00\x09v213..226").unwrap();
    let mut len = [0u8; 4];
    s.read_exact(&mut len).unwrap();
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut body).unwrap();
    let text = String::from_utf8(body).unwrap();
    let fields: Vec<&str> = text.split('\0').collect();
    assert_eq!(fields[0], "226");
    assert!(
        fields[1].ends_with(" UTC") && fields[1].len() == 21,
        "connection time {:?}",
        fields[1]
    );
    // A process that runs for weeks keeps no transparent huge pages: one
    // would stay resident whole, 2 MiB, while any byte of it is in use.
    #[cfg(target_os = "linux")]
    {
        let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
        if let Some(thp) = status.lines().find_map(|l| l.strip_prefix("THP_enabled:")) {
            assert_eq!(thp.trim(), "0", "transparent huge pages are off");
        }
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "clean exit on SIGINT: {exit:?}");
}

/// Starts `vspread sim` with `extra` flags; returns the child and its
/// stderr lines up to the ready line, and the listen address.
fn spawn_sim(extra: &[&str]) -> (std::process::Child, Vec<String>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vspread"))
        .args(["sim", "--listen", "127.0.0.1:0"])
        .args(extra)
        .env("VSPREAD_LOG", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut seen = Vec::new();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    for line in lines.by_ref().map_while(Result::ok) {
        let ready = line.contains("simulated gateway ready");
        seen.push(line);
        if ready {
            break;
        }
    }
    let addr = seen
        .last()
        .and_then(|l| l.split_whitespace().find_map(|w| w.strip_prefix("listen=")))
        .unwrap_or_else(|| panic!("a ready line with listen=ADDR: {seen:?}"))
        .to_string();
    // Keep draining stderr so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});
    (child, seen, addr)
}

fn stop(mut child: std::process::Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "clean exit on SIGTERM: {exit:?}");
}

#[test]
fn the_state_file_is_written_at_exit_and_resumed_and_the_control_port_answers() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("sim.json");
    let state_arg = state.to_str().unwrap();
    let (child, lines, _) = spawn_sim(&[
        "--seed",
        "5",
        "--state",
        state_arg,
        "--control",
        "127.0.0.1:0",
        "--reject-orders",
        "2",
        "--start",
        "2026-11-23T15:00:00Z",
    ]);
    let control = lines
        .iter()
        .find_map(|l| {
            l.contains("fault control port ready")
                .then(|| {
                    l.split_whitespace()
                        .find_map(|w| w.strip_prefix("control="))
                })
                .flatten()
        })
        .expect("the control address is logged")
        .to_string();
    let mut c = TcpStream::connect(&control).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.write_all(b"status\n").unwrap();
    let mut answer = String::new();
    BufReader::new(c.try_clone().unwrap())
        .read_line(&mut answer)
        .unwrap();
    assert!(answer.contains("pending_rejections=2"), "{answer}");
    stop(child);
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(saved["version"], 1);
    assert_eq!(saved["market"]["config"]["seed"], 5);

    // Started again from the file: it says so and serves.
    let (child, lines, addr) = spawn_sim(&["--state", state_arg, "--seed", "9"]);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("resuming from the state file")),
        "{lines:?}"
    );
    assert!(TcpStream::connect(&addr).is_ok());
    stop(child);
}
