//! The demo stack tells its caller where its admin server is and the token
//! that opens it, serves the API with that token, and releases the data
//! directory when its shutdown completes.

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use vspread_app::{DemoOptions, run_demo};

/// One HTTP/1.1 GET over a fresh connection; the status line's code.
async fn get(url: &str, path: &str, token: Option<&str>) -> u16 {
    let host = url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let auth = token.map_or_else(String::new, |t| format!("Authorization: Bearer {t}\r\n"));
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_reports_its_admin_url_and_token_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("demo");
    let options = DemoOptions::new(&data_dir, "127.0.0.1:0".parse().unwrap());
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let stack = tokio::spawn(run_demo(options, None, Some(ready_tx), async move {
        let _ = stop_rx.await;
    }));
    let ready = tokio::time::timeout(Duration::from_secs(60), ready_rx)
        .await
        .expect("ready within a minute")
        .expect("the stack reports it is ready");
    assert!(
        ready.admin_url.starts_with("http://127.0.0.1:"),
        "{}",
        ready.admin_url
    );
    assert!(
        !ready.admin_url.ends_with(":0"),
        "the bound port, not 0: {}",
        ready.admin_url
    );
    assert!(
        !format!("{ready:?}").contains(&ready.token),
        "Debug never shows the token"
    );

    assert_eq!(
        get(&ready.admin_url, "/api/v1/status", Some(&ready.token)).await,
        200
    );
    assert_eq!(
        get(
            &ready.admin_url,
            "/api/v1/status",
            Some("not-the-token-at-all")
        )
        .await,
        401
    );
    let lock = data_dir.join("vspread.lock");
    assert!(
        !std::fs::read_to_string(&lock).unwrap().is_empty(),
        "held: the pid is in it"
    );

    stop_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(60), stack)
        .await
        .expect("stops within a minute")
        .unwrap()
        .expect("a clean stop");
    assert_eq!(
        std::fs::read_to_string(&lock).unwrap(),
        "",
        "released by the stop"
    );
    assert!(
        data_dir.join("sim-state.json").is_file(),
        "the simulator saved its state"
    );
}
