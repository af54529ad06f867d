//! IB's official Python client (`ibapi-latest` 10.51.1, installed by
//! `scripts/test-all.sh`) against the simulator over TCP: the handshake,
//! startup sequence and first requests must work for it as for `ibapi`.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeZone as _;
use vspread_core::clock::{Clock, ManualClock};
use vspread_sim::server::{SimSettings, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_python_client_connects_and_gets_answers() {
    let clock = Arc::new(ManualClock::new(
        chrono::Utc
            .with_ymd_and_hms(2026, 11, 23, 14, 30, 0)
            .unwrap(),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let settings = SimSettings {
        accounts: vec!["DU1234567".into()],
        first_order_id: 1000,
        clock: clock.clone(),
        handshake_timeout: Duration::from_secs(5),
        market: Arc::new(std::sync::Mutex::new(vspread_sim::market::Market::new(
            vspread_sim::market::MarketConfig {
                seed: 7,
                start: chrono::Utc
                    .with_ymd_and_hms(2026, 11, 23, 14, 30, 0)
                    .unwrap(),
                always_open: false,
            },
        ))),
        account: Arc::new(std::sync::Mutex::new(vspread_sim::account::Account::new(
            "DU1234567",
            rust_decimal::Decimal::new(100_000, 0),
        ))),
    };
    tokio::spawn(run(listener, settings, std::future::pending()));
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/handshake.py");
    let output = tokio::process::Command::new("python3")
        .arg(script)
        .arg(port.to_string())
        .arg(clock.now().timestamp().to_string())
        .output()
        .await
        .expect("python3 must be installed (scripts/test-all.sh installs ibapi-latest)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "python client failed: {stdout}{stderr}\n(needs `pip install ibapi-latest==10.51.1`)"
    );
    assert_eq!(stdout.trim(), "ok");
}
