//! Every config key takes effect as its schema says, proved one class at a
//! time against the real stack (`vspread sim` over TCP, the broker layer, a
//! SQLite journal, the engine built by its builder):
//! - `live`: a `[pacing]` rate and a `[market_data]` line budget are in
//!   force in the running broker when the apply answers, with no reconnect;
//! - `reconnect`: an `[ibkr] client_id` change makes the broker reconnect
//!   as part of the apply, reports how long the link took to be ready
//!   again, and journals it;
//! - `restart`: a `[server] listen` change is saved and named as needing a
//!   restart; the running link is left alone.

mod support;

use std::sync::Arc;
use std::time::Duration;

use vspread_core::clock::ManualClock;
use vspread_core::config::{ApplyClass, Config};
use vspread_core::journal::{EventQuery, Journal};

use support::stack::{EngineStack, sim};

fn class_of(report: &vspread_engine::config_service::ApplyReport, path: &str) -> ApplyClass {
    report
        .changes
        .iter()
        .find(|c| c.path == path)
        .unwrap_or_else(|| panic!("{path} not among the changes: {:?}", report.changes))
        .applies
}

async fn apply(
    stack: &EngineStack,
    edit: impl FnOnce(&mut Config),
) -> vspread_engine::config_service::ApplyReport {
    let current = stack.engine.live().current();
    let mut config = Config::clone(&current.config);
    edit(&mut config);
    stack
        .engine
        .apply(config, &current.version, "test")
        .await
        .expect("the apply succeeds")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_apply_class_takes_effect_as_it_says() {
    let start = chrono::Utc::now();
    let clock = Arc::new(ManualClock::new(start));
    let sim = sim(11, start, clock.clone(), Some(Duration::from_millis(50))).await;
    let stack = EngineStack::start(&sim, &Config::default(), clock.clone()).await;
    let before = stack.engine.link_status();
    assert!(before.ready);
    assert_ne!(before.max_messages_per_sec, 17);

    // live: the coordinator grants at the new rate, the line budget is the
    // new one, and the connection was not touched.
    let report = apply(&stack, |c| {
        c.pacing.max_messages_per_sec = 17;
        c.market_data.max_lines = 40;
    })
    .await;
    assert_eq!(
        class_of(&report, "pacing.max_messages_per_sec"),
        ApplyClass::Live
    );
    assert_eq!(class_of(&report, "market_data.max_lines"), ApplyClass::Live);
    assert!(report.reconnect.is_none(), "{:?}", report.reconnect);
    assert!(report.restart_required.is_empty());
    let link = stack.engine.link_status();
    assert_eq!(link.max_messages_per_sec, 17);
    assert_eq!(link.max_lines, 40);
    assert_eq!(link.connects, before.connects);

    // reconnect: the broker drops the link and makes it again with the new
    // client id, inside the apply; the answer says how long that took.
    let report = apply(&stack, |c| c.ibkr.client_id += 1).await;
    assert_eq!(class_of(&report, "ibkr.client_id"), ApplyClass::Reconnect);
    let reconnect = report.reconnect.expect("a reconnect is reported");
    assert_eq!(reconnect.keys, vec!["ibkr.client_id".to_string()]);
    assert_eq!(reconnect.address, sim.local_addr().to_string());
    let ready_after = reconnect
        .ready_after_ms
        .expect("ready again within the apply");
    assert!(ready_after < 10_000.0, "{ready_after} ms");
    let link = stack.engine.link_status();
    assert!(link.ready, "{link:?}");
    assert_eq!(link.connects, before.connects + 1);
    assert!(report.timings_ms.contains_key("broker"));

    // The reconnect is in the journal.
    assert!(stack.engine.events().flush_journal(Duration::from_secs(5)));
    let events = stack
        .journal
        .events(&EventQuery {
            kind_prefixes: vec!["gateway.reconfigured".into()],
            order_refs: None,
            limit: 10,
            after: None,
            before: None,
        })
        .unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(
        events[0].message.contains("ibkr.client_id"),
        "{}",
        events[0].message
    );

    // restart: saved, named, and the running link left alone.
    let report = apply(&stack, |c| c.server.listen = "127.0.0.1:18999".into()).await;
    assert_eq!(class_of(&report, "server.listen"), ApplyClass::Restart);
    assert_eq!(report.restart_required, vec!["server.listen".to_string()]);
    assert!(report.reconnect.is_none());
    assert_eq!(stack.engine.link_status().connects, before.connects + 1);
    let saved = std::fs::read_to_string(&stack.config_path).unwrap();
    assert!(saved.contains("127.0.0.1:18999"), "{saved}");

    stack.stop().await;
}
