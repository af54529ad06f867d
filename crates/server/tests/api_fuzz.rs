//! The admin API fuzzed from its own OpenAPI document by schemathesis
//! (PyPI), over TCP against the real server over a real engine (on a
//! `vspread sim`, a SQLite journal and a real config file): no
//! response may be a server error, and afterwards the file still loads and
//! the server still answers.
//!
//! `scripts/test-all.sh` installs schemathesis; without it this test says
//! so loudly and passes, like the other tests that drive external clients.

use std::process::Command;
use std::sync::Arc;

use vspread_core::config::default_file_text;
use vspread_engine::config_store::ConfigStore;
use vspread_server::{AppState, Auth, Metrics, serve};

#[path = "support/engine.rs"]
mod engine;

const TOKEN: &str = "fuzz-admin-token-0123456789";

fn schemathesis() -> Option<String> {
    let found = Command::new("schemathesis")
        .arg("--version")
        .output()
        .ok()?;
    found
        .status
        .success()
        .then(|| String::from_utf8_lossy(&found.stdout).trim().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_generated_request_gets_a_server_error() {
    let Some(version) = schemathesis() else {
        eprintln!(
            "\n*** SKIPPED: schemathesis is not installed (pip install schemathesis); \
             scripts/test-all.sh installs it ***\n"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, default_file_text()).unwrap();
    let running = engine::start(dir.path(), &path).await;
    let state = AppState {
        engine: running.engine.clone(),
        auth: Arc::new(Auth::new(TOKEN, None)),
        metrics: Arc::new(Metrics::new()),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, state, async {
        let _ = stopped.await;
    }));

    let schema = format!("http://{addr}/api/v1/openapi.json");
    let run = tokio::process::Command::new("schemathesis")
        .args(["run", &schema, "--checks", "not_a_server_error"])
        .args(["--header", &format!("Authorization: Bearer {TOKEN}")])
        .args(["--max-examples", "30", "--seed", "1"])
        .args(["--wait-for-schema", "10"])
        .current_dir(dir.path())
        .output()
        .await
        .expect("run schemathesis");
    let out = String::from_utf8_lossy(&run.stdout);
    eprintln!("{version}\n{out}");
    assert!(run.status.success(), "schemathesis found failures:\n{out}");
    assert!(out.contains("passed"), "{out}");

    // Whatever was sent, the file is still a valid config.
    let after = ConfigStore::new(&path)
        .load()
        .expect("the config still loads");
    after.config.validate().expect("and is valid");
    let health = http_get(addr, "/healthz").await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

/// A minimal HTTP GET over TCP (the server's own tests need no client crate).
async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).await.unwrap();
    buf
}
