//! IB's official Python client (`ibapi-latest` 10.51.1, installed by
//! `scripts/test-all.sh`) against the simulator over TCP: the conformance
//! script `python/conformance.py` connects and runs the main calls,
//! asserting every answer. Skipped, loudly, only when python3 or the
//! package is missing.

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_python_client_passes_the_conformance_script() {
    let probe = tokio::process::Command::new("python3")
        .args(["-c", "import ibapi"])
        .output()
        .await;
    if !probe.as_ref().is_ok_and(|o| o.status.success()) {
        eprintln!(
            "\n*** SKIPPED: python3 with ibapi-latest is not installed \
             (pip install ibapi-latest==10.51.1; scripts/test-all.sh does it) ***\n"
        );
        return;
    }
    let sim = common::start().await;
    let port = sim.handle.local_addr().port();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/conformance.py");
    let now = vspread_core::clock::Clock::now(&*sim.clock).timestamp();
    let output = tokio::process::Command::new("python3")
        .arg(script)
        .arg(port.to_string())
        .arg(now.to_string())
        .output()
        .await
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "python client failed:\n{stdout}\n{stderr}"
    );
    assert_eq!(stdout.trim().lines().last(), Some("ok"), "{stdout}");
}
