//! Notifications against a real HTTP receiver (axum on a loopback port) from
//! the real stack (a `vspread sim`, the broker layer, a SQLite journal, the
//! engine built by its builder with its services running): each format's
//! body as its service accepts it; retries while the receiver answers 503
//! or is not there, then delivery; a bounded number of tries; a full queue
//! dropping and counting while publishing never waits on delivery.

mod support;

use std::collections::VecDeque;
use std::future::IntoFuture as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use chrono::{TimeZone as _, Utc};
use serde_json::{Value, json};
use support::stack::{EngineStack, sim};
use vspread_core::clock::{Clock, ManualClock};
use vspread_core::config::{Config, NotifyEvent, NotifyFormat, NotifyTarget};
use vspread_engine::events::{EngineEvent, KillSwitchSet};
use vspread_engine::notify::TargetStats;

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Got {
    path: String,
    headers: HeaderMap,
    body: String,
}

/// A webhook receiver: records every POST and answers the statuses queued
/// (200 once they run out), or never answers while stalled.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Got>>>,
    answers: Arc<Mutex<VecDeque<u16>>>,
    stall: Arc<AtomicBool>,
}

async fn hook(State(r): State<Receiver>, uri: Uri, headers: HeaderMap, body: String) -> StatusCode {
    r.got.lock().unwrap().push(Got {
        path: uri.path().to_string(),
        headers,
        body,
    });
    if r.stall.load(Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
    let status = r.answers.lock().unwrap().pop_front().unwrap_or(200);
    StatusCode::from_u16(status).unwrap()
}

impl Receiver {
    /// Serves on `listener` until the test ends.
    fn serve(&self, listener: tokio::net::TcpListener) {
        let app = Router::new().fallback(hook).with_state(self.clone());
        tokio::spawn(axum::serve(listener, app).into_future());
    }

    async fn start() -> (Self, SocketAddr) {
        let r = Self::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        r.serve(listener);
        (r, addr)
    }

    fn got(&self, path: &str) -> Vec<Got> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|g| g.path == path)
            .cloned()
            .collect()
    }
}

/// A port nothing listens on (yet).
async fn free_port() -> SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap()
}

/// A target whose secret (the URL, or a bot token) is in a file in `dir`,
/// hearing the kill switch (the event these tests make).
fn target(dir: &std::path::Path, name: &str, format: NotifyFormat, secret: &str) -> NotifyTarget {
    let file = dir.join(format!("{name}.secret"));
    std::fs::write(&file, format!("{secret}\n")).unwrap();
    NotifyTarget {
        name: name.into(),
        format,
        secret_file: file.display().to_string(),
        events: vec![NotifyEvent::KillSwitch],
        ..NotifyTarget::default()
    }
}

async fn stack(config: &Config) -> (EngineStack, vspread_sim::server::ServerHandle) {
    let start = Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let sim = sim(3, start, clock.clone() as Arc<dyn Clock>, None).await;
    let stack = EngineStack::start(&sim, config, clock).await;
    (stack, sim)
}

fn stats(stack: &EngineStack, name: &str) -> TargetStats {
    stack
        .engine
        .notify_stats()
        .into_iter()
        .find(|s| s.target == name)
        .unwrap_or_else(|| panic!("no target {name}"))
}

/// Waits (at most 20 s) for `done`.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn kill_switch(engaged: bool) -> EngineEvent {
    EngineEvent::KillSwitch(KillSwitchSet {
        who: "ops".into(),
        engaged,
        cancelled: vec![],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_format_is_delivered_with_the_body_its_service_accepts() {
    let (receiver, addr) = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let base = format!("http://{addr}");
    let mut config = Config::default();
    config.notify.targets = vec![
        target(
            dir.path(),
            "json",
            NotifyFormat::Json,
            &format!("{base}/json"),
        ),
        target(
            dir.path(),
            "slack",
            NotifyFormat::Slack,
            &format!("{base}/slack"),
        ),
        target(
            dir.path(),
            "discord",
            NotifyFormat::Discord,
            &format!("{base}/discord"),
        ),
        target(
            dir.path(),
            "ntfy",
            NotifyFormat::Ntfy,
            &format!("{base}/vspread-alerts"),
        ),
        NotifyTarget {
            chat_id: "-1001".into(),
            telegram_api: base.clone(),
            ..target(dir.path(), "telegram", NotifyFormat::Telegram, "123:abc")
        },
        // Hears fills only: the kill switch is not for it.
        NotifyTarget {
            events: vec![NotifyEvent::Fills],
            ..target(
                dir.path(),
                "fills-only",
                NotifyFormat::Json,
                &format!("{base}/fills"),
            )
        },
    ];
    let (stack, _sim) = stack(&config).await;
    let _services = stack.engine.start_services();
    // Let the notifier take its targets up before the event.
    until("the targets", || stack.engine.notify_stats().len() == 6).await;

    // The real control path: engaging the kill switch publishes it.
    let report = stack.engine.set_kill_switch(true, "ops").await;
    assert!(report.changed);
    until("five deliveries", || {
        receiver.got.lock().unwrap().len() >= 5
    })
    .await;

    let json_body: Value = serde_json::from_str(&receiver.got("/json")[0].body).unwrap();
    assert_eq!(json_body["source"], "vspread");
    assert_eq!(json_body["kind"], "control.kill_switch");
    assert_eq!(json_body["topic"], "kill_switch");
    assert_eq!(json_body["severity"], "critical");
    assert_eq!(json_body["title"], "Kill switch engaged by ops");
    assert_eq!(json_body["data"]["engaged"], true);
    assert_eq!(
        json_body["at"], "2026-11-23T15:00:00+00:00",
        "the engine's clock"
    );
    let got = &receiver.got("/json")[0];
    assert_eq!(got.headers["content-type"], "application/json");

    let slack: Value = serde_json::from_str(&receiver.got("/slack")[0].body).unwrap();
    assert_eq!(
        slack,
        json!({ "text": "*Kill switch engaged by ops*\nkill switch engaged by ops" })
    );
    let discord: Value = serde_json::from_str(&receiver.got("/discord")[0].body).unwrap();
    assert_eq!(
        discord["content"],
        "**Kill switch engaged by ops**\nkill switch engaged by ops"
    );
    assert_eq!(discord["allowed_mentions"], json!({ "parse": [] }));
    let ntfy = &receiver.got("/vspread-alerts")[0];
    assert_eq!(ntfy.body, "kill switch engaged by ops");
    assert_eq!(ntfy.headers["title"], "Kill switch engaged by ops");
    assert_eq!(ntfy.headers["priority"], "urgent");
    assert_eq!(ntfy.headers["tags"], "vspread,kill-switch");
    let telegram = &receiver.got("/bot123:abc/sendMessage");
    assert_eq!(telegram.len(), 1, "the bot token is in the path");
    let telegram: Value = serde_json::from_str(&telegram[0].body).unwrap();
    assert_eq!(
        telegram,
        json!({
            "chat_id": "-1001",
            "text": "Kill switch engaged by ops\nkill switch engaged by ops",
            "disable_web_page_preview": true,
        })
    );
    until("the counts", || stats(&stack, "telegram").sent == 1).await;
    for name in ["json", "slack", "discord", "ntfy", "telegram"] {
        let s = stats(&stack, name);
        assert_eq!(
            (s.sent, s.failed, s.dropped, s.retried),
            (1, 0, 0, 0),
            "{name}: {s:?}"
        );
    }
    assert!(receiver.got("/fills").is_empty());
    assert_eq!(stats(&stack, "fills-only").sent, 0);

    // [notify] is live: a target added by an apply hears the release.
    let mut changed = stack.live.current().config.as_ref().clone();
    changed.notify.targets.push(target(
        dir.path(),
        "added",
        NotifyFormat::Json,
        &format!("{base}/added"),
    ));
    let version = stack.live.current().version.clone();
    stack.engine.apply(changed, &version, "ops").await.unwrap();
    until("the added target", || {
        stack.engine.notify_stats().len() == 7
    })
    .await;
    stack.engine.set_kill_switch(false, "ops").await;
    until("the added target's delivery", || {
        receiver.got("/added").len() == 1
    })
    .await;
    let added: Value = serde_json::from_str(&receiver.got("/added")[0].body).unwrap();
    assert_eq!(added["title"], "Kill switch released by ops");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retried_while_503_or_down_then_delivered_and_given_up_after_the_tries() {
    let (receiver, addr) = Receiver::start().await;
    // Two 503s for the first target, then 200s; the third always 503.
    receiver.answers.lock().unwrap().extend([503, 503]);
    let down = free_port().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.notify.max_attempts = 4;
    config.notify.retry_initial_s = 0.2;
    config.notify.retry_max_s = 1.0;
    config.notify.targets = vec![target(
        dir.path(),
        "flaky",
        NotifyFormat::Json,
        &format!("http://{addr}/flaky"),
    )];
    let (stack, _sim) = stack(&config).await;
    let _services = stack.engine.start_services();
    until("the target", || stack.engine.notify_stats().len() == 1).await;
    stack
        .engine
        .events()
        .publish("kill switch engaged by ops", kill_switch(true));
    until("the flaky delivery", || stats(&stack, "flaky").sent == 1).await;
    assert_eq!(receiver.got("/flaky").len(), 3, "two 503s, then delivered");
    let s = stats(&stack, "flaky");
    assert_eq!((s.retried, s.failed, s.queued), (2, 0, 0), "{s:?}");

    // A receiver that is not there yet, and one that always fails.
    let mut changed = stack.live.current().config.as_ref().clone();
    changed.notify.targets = vec![
        target(
            dir.path(),
            "late",
            NotifyFormat::Json,
            &format!("http://{down}/late"),
        ),
        target(
            dir.path(),
            "broken",
            NotifyFormat::Json,
            &format!("http://{addr}/broken"),
        ),
    ];
    let version = stack.live.current().version.clone();
    stack.engine.apply(changed, &version, "ops").await.unwrap();
    until("the new targets", || stack.engine.notify_stats().len() == 3).await;
    receiver.answers.lock().unwrap().extend([503; 4]);
    stack
        .engine
        .events()
        .publish("kill switch released by ops", kill_switch(false));
    // Refused connections are tried again; the receiver comes up between
    // two tries.
    until("a refused try", || stats(&stack, "late").retried >= 1).await;
    assert_eq!(stats(&stack, "late").sent, 0);
    let late = Receiver::default();
    late.serve(tokio::net::TcpListener::bind(down).await.unwrap());
    until("the late delivery", || stats(&stack, "late").sent == 1).await;
    assert_eq!(late.got("/late").len(), 1);
    until("the broken target's end", || {
        stats(&stack, "broken").failed == 1
    })
    .await;
    let broken = stats(&stack, "broken");
    assert_eq!((broken.sent, broken.retried), (0, 3), "{broken:?}");
    assert_eq!(
        receiver.got("/broken").len(),
        4,
        "max_attempts tries, no more"
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_drops_and_counts_and_publishing_never_waits_on_delivery() {
    let (receiver, addr) = Receiver::start().await;
    receiver.stall.store(true, Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.notify.queue_capacity = 4;
    config.notify.timeout_s = 60.0;
    config.notify.targets = vec![target(
        dir.path(),
        "stalled",
        NotifyFormat::Slack,
        &format!("http://{addr}/stalled"),
    )];
    let (stack, _sim) = stack(&config).await;
    let _services = stack.engine.start_services();
    until("the target", || stack.engine.notify_stats().len() == 1).await;
    let events = stack.engine.events();
    // The first one reaches the receiver, which never answers.
    events.publish("kill switch engaged by ops", kill_switch(true));
    until("the stalled request", || {
        receiver.got("/stalled").len() == 1
    })
    .await;

    const N: usize = 500;
    let mut each = Vec::with_capacity(N);
    let started = Instant::now();
    for i in 0..N {
        let t = Instant::now();
        events.publish(format!("kill switch {i}"), kill_switch(i % 2 == 0));
        each.push(t.elapsed());
    }
    let total = started.elapsed();
    each.sort();
    let median = each[N / 2];
    let p99 = each[N * 99 / 100];
    println!(
        "publishing {N} events with a stalled receiver: {total:?} in all, median {median:?}, p99 {p99:?} each"
    );
    // One delivery is stuck for a minute: had publishing waited on it, the
    // first publish alone would have taken that long.
    assert!(total < Duration::from_secs(5), "{total:?}");

    until("every event offered", || {
        let s = stats(&stack, "stalled");
        s.dropped + s.queued as u64 == N as u64 + 1
    })
    .await;
    let s = stats(&stack, "stalled");
    assert_eq!(s.queued, 5, "one in flight and a full queue of four: {s:?}");
    assert_eq!(s.dropped, N as u64 - 4, "{s:?}");
    assert_eq!((s.sent, s.failed), (0, 0));

    // The engine's control path goes on meanwhile.
    let t = Instant::now();
    assert!(stack.engine.pause("ops").changed);
    assert!(stack.engine.resume("ops").changed);
    let cycle = stack.engine.decide_once(false).await;
    println!(
        "pause, resume and a decision cycle beside the stalled notifier: {:?}",
        t.elapsed()
    );
    assert_eq!(stack.engine.cycles().last().unwrap().number, cycle.number);
    stack.stop().await;
}
