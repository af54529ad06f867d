//! `vspread sim` as a process: it listens, answers the TWS handshake with
//! server version 226, and stops on SIGINT.

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
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "clean exit on SIGINT: {exit:?}");
}
