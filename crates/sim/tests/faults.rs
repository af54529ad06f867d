//! What a client observes under each injected fault (disconnect, daily
//! restart, rejected orders, forced partial fills, slow responses, the
//! control port), what bad wire input gets (an error or that connection
//! closed, never a crash or a disturbed neighbour), and `--state FILE`
//! persistence across a restart of the simulator.

mod common;

use std::time::Duration;

use common::{Raw, connect, frame, start, start_with};
use ibapi::contracts::Contract;
use ibapi::orders::{Action, PlaceOrder, order_builder};
use ibapi::prelude::StreamExt as _;
use ibapi::subscriptions::SubscriptionItem;
use prost::Message as _;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use vspread_sim::wire::messages::{ContractDataRequest, CurrentTime, Empty, reply, request};

#[tokio::test]
async fn disconnect_all_closes_every_client_and_new_ones_are_welcome() {
    let sim = start().await;
    let mut a = Raw::connect(&sim.addr, 1).await;
    let mut b = Raw::connect(&sim.addr, 2).await;
    a.read_until(reply::NEXT_VALID_ID).await.unwrap();
    b.read_until(reply::NEXT_VALID_ID).await.unwrap();
    sim.handle.disconnect_all();
    assert!(a.closed().await && b.closed().await);
    // The same client ids connect again at once.
    let mut again = Raw::connect(&sim.addr, 1).await;
    again
        .read_until(reply::NEXT_VALID_ID)
        .await
        .expect("served");
}

#[tokio::test]
async fn a_daily_restart_drops_clients_refuses_connections_then_accepts() {
    let sim = start().await;
    let client = connect(&sim, 3).await;
    let mut raw = Raw::connect(&sim.addr, 4).await;
    raw.read_until(reply::NEXT_VALID_ID).await.unwrap();
    sim.handle.daily_restart(Duration::from_millis(1500));
    assert!(raw.closed().await, "the restart closes the socket");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let refused = tokio::net::TcpStream::connect(&sim.addr).await;
    assert!(
        refused.is_err(),
        "connections are refused during the restart"
    );
    // After the window the port accepts again, and ibapi's own reconnect
    // brings its client back.
    let mut back = None;
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if tokio::net::TcpStream::connect(&sim.addr).await.is_ok() {
            back = Some(());
            break;
        }
    }
    assert!(back.is_some(), "accepting again after the window");
    let mut reconnected = false;
    for _ in 0..40 {
        if client.server_time().await.is_ok() {
            reconnected = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(reconnected, "ibapi reconnected by itself");
}

#[tokio::test]
async fn forced_partial_fills_fill_a_three_lot_one_combo_at_a_time() {
    let sim = start().await;
    let client = connect(&sim, 5).await;
    sim.handle.force_partial_fills(Some(1));
    let spy = Contract::stock("SPY").build();
    let order = order_builder::limit_order(Action::Buy, 3.0, 10_000.0);
    let mut sub = client
        .place_order(client.next_order_id(), &spy, &order)
        .await
        .unwrap();
    let mut filled = Vec::new();
    let mut executions = 0;
    while filled.last() != Some(&3.0) {
        sim.clock.advance(chrono::Duration::seconds(2));
        let Ok(item) = tokio::time::timeout(Duration::from_secs(5), sub.next()).await else {
            panic!("no fill after {filled:?}");
        };
        match item.unwrap().unwrap() {
            SubscriptionItem::Data(PlaceOrder::OrderStatus(s)) if s.filled > 0.0 => {
                filled.push(s.filled)
            }
            SubscriptionItem::Data(PlaceOrder::ExecutionData(e)) => {
                assert_eq!(e.execution.shares, 1.0, "one share per fill");
                executions += 1;
            }
            _ => {}
        }
    }
    filled.dedup();
    assert_eq!(filled, [1.0, 2.0, 3.0]);
    assert_eq!(executions, 3);
}

#[tokio::test]
async fn delayed_responses_arrive_late_but_arrive() {
    let sim = start().await;
    let client = connect(&sim, 6).await;
    sim.handle.delay_responses(Duration::from_millis(300));
    let t = std::time::Instant::now();
    client.server_time().await.expect("answered");
    assert!(t.elapsed() >= Duration::from_millis(300));
    sim.handle.delay_responses(Duration::ZERO);
}

#[tokio::test]
async fn the_control_port_drives_the_faults() {
    let sim = start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    sim.handle.serve_control(listener);
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (r, mut w) = stream.into_split();
    let mut lines = tokio::io::BufReader::new(r).lines();
    let mut ask = async |line: &str| {
        w.write_all(format!("{line}\n").as_bytes()).await.unwrap();
        lines.next_line().await.unwrap().unwrap()
    };
    assert_eq!(ask("reject 2").await, "ok");
    assert_eq!(ask("delay 40").await, "ok");
    let status = ask("status").await;
    assert!(status.contains("pending_rejections=2"), "{status}");
    assert!(status.contains("delay_ms=40"), "{status}");
    assert!(status.contains("cut_off=0"), "{status}");
    assert_eq!(ask("clear").await, "ok");
    let status = ask("status").await;
    assert!(status.contains("pending_rejections=0"), "{status}");
    assert!(status.contains("delay_ms=0"), "{status}");
    assert!(
        ask("explode")
            .await
            .starts_with("error: bad control command")
    );
    let mut raw = Raw::connect(&sim.addr, 9).await;
    raw.read_until(reply::NEXT_VALID_ID).await.unwrap();
    assert_eq!(ask("disconnect").await, "ok");
    assert!(raw.closed().await);
}

#[tokio::test]
async fn bad_wire_input_closes_only_that_connection_or_is_answered() {
    let sim = start().await;
    let good = connect(&sim, 20).await;

    // Unframeable bytes: garbage before the handshake, a length over the
    // 16 MiB cap, an old version range: the connection is closed.
    for garbage in [
        b"GET / HTTP/1.1\r\n\r\n".to_vec(),
        b"API\0\xff\xff\xff\xffjunk".to_vec(),
        b"API\0\x00\x00\x00\x09v100..200".to_vec(),
    ] {
        let mut s = tokio::net::TcpStream::connect(&sim.addr).await.unwrap();
        s.write_all(&garbage).await.unwrap();
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .expect("closed, not hung");
        assert_eq!(n.unwrap_or(0), 0, "closed after {garbage:?}");
    }

    // A request before startApi is refused and the connection closed.
    let mut s = tokio::net::TcpStream::connect(&sim.addr).await.unwrap();
    let mut hello = b"API\0".to_vec();
    hello.extend(frame(b"v213..226"));
    hello.extend(vspread_sim::wire::frame::encode_protobuf(
        request::CURRENT_TIME,
        &Empty {},
    ));
    s.write_all(&hello).await.unwrap();
    let mut raw = Raw { stream: s };
    raw.read_body().await.expect("handshake reply");
    let e = raw.read_error(&[321]).await.expect("error 321");
    assert!(e.error_msg.unwrap().contains("startApi"));
    assert!(raw.closed().await);

    // Framed but not understood: answered, the connection stays.
    let mut raw = Raw::connect(&sim.addr, 21).await;
    raw.stream
        .write_all(&frame(&[0, 0, 3, 231, 1, 2, 3]))
        .await
        .unwrap(); // wire id 999: protobuf type 799, which does not exist
    let e = raw.read_error(&[321]).await.expect("unknown id answered");
    assert!(e.error_msg.unwrap().contains("799"));
    let mut body = (request::CONTRACT_DATA + 200).to_be_bytes().to_vec();
    body.extend([0x12, 0x05, 0x0a]); // a sub-message cut short
    raw.stream.write_all(&frame(&body)).await.unwrap();
    raw.read_error(&[320])
        .await
        .expect("malformed protobuf answered");
    raw.stream
        .write_all(&frame(&[0, 0, 0, 49, b'1', 0]))
        .await
        .unwrap(); // a text-framed request
    raw.read_error(&[321]).await.expect("text frame answered");
    raw.send(request::CURRENT_TIME, &Empty {}).await;
    let t = raw
        .read_until(reply::CURRENT_TIME)
        .await
        .expect("still served");
    assert!(
        CurrentTime::decode(t.as_slice())
            .unwrap()
            .current_time
            .is_some()
    );
    // A truncated frame then silence: closing it is the end of that client.
    raw.stream.write_all(&[0, 0, 0, 40, 0, 0]).await.unwrap();
    raw.stream.shutdown().await.unwrap();
    assert!(raw.closed().await);

    // Far over the message rate: error 100, then the connection is closed.
    let mut flood = Raw::connect(&sim.addr, 22).await;
    let mut burst = Vec::new();
    for _ in 0..150 {
        burst.extend(vspread_sim::wire::frame::encode_protobuf(
            request::CONTRACT_DATA,
            &ContractDataRequest::default(),
        ));
    }
    flood.stream.write_all(&burst).await.unwrap();
    let e = flood.read_error(&[100]).await.expect("error 100");
    assert!(e.error_msg.unwrap().starts_with("Max rate of messages"));
    assert!(flood.closed().await);

    // The good client never noticed any of it.
    assert_eq!(good.next_valid_order_id().await.unwrap(), 1);
    assert!(
        good.contract_details(&Contract::stock("SPY").build())
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_client_that_never_reads_is_dropped_without_hurting_the_others() {
    let sim = start_with(|s| s.outbox_frames = 500).await;
    let good = connect(&sim, 30).await;
    let mut sink = Raw::connect(&sim.addr, 31).await;
    for _ in 0..100 {
        if sim.handle.client_count() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(sim.handle.client_count(), 2, "both connected");
    // Every SPY option, many times over, never read (more than the outbox
    // holds, so it stays over it past the grace).
    let all_spy = vspread_sim::wire::messages::Contract {
        symbol: Some("SPY".into()),
        sec_type: Some("OPT".into()),
        exchange: Some("SMART".into()),
        ..Default::default()
    };
    for i in 0..10 {
        sink.send(
            request::CONTRACT_DATA,
            &ContractDataRequest {
                req_id: Some(i),
                contract: Some(all_spy.clone()),
            },
        )
        .await;
    }
    let mut dropped = false;
    for _ in 0..100 {
        if sim.handle.client_count() == 1 {
            dropped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(dropped, "the silent client was disconnected");
    assert_eq!(sim.handle.clients_cut_off(), 1, "and counted as cut off");
    assert!(good.server_time().await.is_ok());
}

#[tokio::test]
async fn a_client_that_reads_takes_a_burst_larger_than_its_outbox() {
    // The queue bound is for clients that stopped reading: one that reads
    // (an engine reconciling after a reconnect) may be sent more at once.
    let sim = start_with(|s| s.outbox_frames = 500).await;
    let mut reader = Raw::connect(&sim.addr, 32).await;
    let all_spy = vspread_sim::wire::messages::Contract {
        symbol: Some("SPY".into()),
        sec_type: Some("OPT".into()),
        exchange: Some("SMART".into()),
        ..Default::default()
    };
    reader
        .send(
            request::CONTRACT_DATA,
            &ContractDataRequest {
                req_id: Some(1),
                contract: Some(all_spy),
            },
        )
        .await;
    let mut frames = 0;
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_secs(3), reader.read()).await {
        frames += 1;
    }
    assert!(frames > 500, "a burst over the outbox: {frames} frames");
    assert_eq!(
        sim.handle.clients_cut_off(),
        0,
        "the reading client was not cut off"
    );
    assert_eq!(sim.handle.client_count(), 1, "and is still connected");
}

#[tokio::test]
async fn the_account_survives_a_restart_through_the_state_file() {
    use std::sync::Arc;
    use vspread_core::clock::ManualClock;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sim-state.json");
    let clock = Arc::new(ManualClock::new(common::start_time()));
    let server = vspread_sim::server::Server::new(
        common::settings(clock.clone()),
        common::market(),
        vspread_sim::orders::Venue::new(vspread_sim::orders::VenueConfig::new(common::SEED)),
    )
    .state_file(&path);
    let sim = common::serve(server, clock.clone()).await;
    let client = connect(&sim, 40).await;
    let spy = Contract::stock("SPY").build();
    let order_id = client.next_order_id();
    let mut sub = client
        .place_order(
            order_id,
            &spy,
            &order_builder::limit_order(Action::Buy, 5.0, 10_000.0),
        )
        .await
        .unwrap();
    loop {
        let item = tokio::time::timeout(Duration::from_secs(5), sub.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let SubscriptionItem::Data(PlaceOrder::OrderStatus(s)) = item
            && s.remaining == 0.0
        {
            break;
        }
        clock.advance(chrono::Duration::seconds(2));
    }
    // A resting order (far below the market) that must survive too.
    let resting = client.next_order_id();
    let mut sub = client
        .place_order(
            resting,
            &spy,
            &order_builder::limit_order(Action::Buy, 1.0, 1.0),
        )
        .await
        .unwrap();
    loop {
        let item = tokio::time::timeout(Duration::from_secs(5), sub.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let SubscriptionItem::Data(PlaceOrder::OrderStatus(s)) = item {
            assert_eq!(format!("{:?}", s.status), "Submitted");
            break;
        }
    }
    drop(client);
    sim.handle.shutdown().await;
    let saved = vspread_sim::persist::load(&path)
        .unwrap()
        .expect("state written");
    assert_eq!(saved.venue.next_order_id(), resting + 1);

    // A new simulator from the file: same positions, working orders,
    // executions and next id.
    let book = saved.into_book();
    let resumed_at = book.market.now();
    let clock = Arc::new(ManualClock::new(resumed_at));
    let server =
        vspread_sim::server::Server::new(common::settings(clock.clone()), book.market, book.venue);
    let sim = common::serve(server, clock).await;
    let client = connect(&sim, 40).await;
    assert_eq!(client.next_valid_order_id().await.unwrap(), resting + 1);
    // The resting order is still working, and the fill still listed.
    let mut open = client.all_open_orders().await.unwrap();
    let mut open_ids = Vec::new();
    while let Ok(Some(item)) = tokio::time::timeout(Duration::from_secs(2), open.next()).await {
        if let SubscriptionItem::Data(ibapi::orders::Orders::OrderData(o)) = item.unwrap() {
            open_ids.push(o.order_id);
        }
    }
    assert_eq!(open_ids, [resting]);
    let mut replay = client
        .executions(ibapi::orders::ExecutionFilter::default())
        .await
        .unwrap();
    let mut filled = 0.0;
    while let Ok(Some(item)) = tokio::time::timeout(Duration::from_secs(2), replay.next()).await {
        if let SubscriptionItem::Data(ibapi::orders::Executions::ExecutionData(e)) = item.unwrap() {
            assert_eq!(e.execution.order_id, order_id);
            filled += e.execution.shares;
        }
    }
    assert_eq!(filled, 5.0, "the executions of the filled order");
    let mut positions = client.positions().await.unwrap();
    let item = tokio::time::timeout(Duration::from_secs(5), positions.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    match item {
        SubscriptionItem::Data(ibapi::accounts::PositionUpdate::Position(p)) => {
            assert_eq!(p.contract.symbol.to_string(), "SPY");
            assert_eq!(p.position, 5.0);
        }
        other => panic!("expected the SPY position, got {other:?}"),
    }
}

/// Delayed-only market data, as an `ibapi` client sees it: a live request
/// is refused with 354, a delayed one gets 10167, market data type 3 and
/// delayed ticks (bid, ask, last as types 66, 67, 68).
#[tokio::test]
async fn delayed_only_data_is_refused_live_and_served_as_delayed_ticks() {
    use ibapi::contracts::tick_types::TickType;
    use ibapi::market_data::MarketDataType;
    use ibapi::market_data::realtime::TickTypes;
    let sim = start_with(|s| {
        s.setup.market_data.add("delayed").unwrap();
    })
    .await;
    let client = connect(&sim, 5).await;
    let spy = Contract::stock("SPY").build();
    let mut live = client.market_data(&spy).subscribe().await.unwrap();
    let refused = loop {
        match tokio::time::timeout(Duration::from_secs(5), live.next()).await {
            Ok(Some(Err(ibapi::Error::Notice(n)))) => break n.code,
            Ok(Some(Ok(SubscriptionItem::Notice(n)))) => break n.code,
            Ok(Some(Ok(SubscriptionItem::Data(TickTypes::MarketDataType(t))))) => {
                panic!("served live data: {t:?}")
            }
            Ok(Some(Ok(_))) => {}
            other => panic!("no refusal: {other:?}"),
        }
    };
    assert_eq!(refused, 354);
    drop(live);
    client
        .switch_market_data_type(MarketDataType::Delayed)
        .await
        .unwrap();
    let mut delayed = client.market_data(&spy).subscribe().await.unwrap();
    let (mut notice, mut kind, mut types) = (None, None, Vec::new());
    while types.len() < 3 {
        match tokio::time::timeout(Duration::from_secs(5), delayed.next()).await {
            Ok(Some(Ok(SubscriptionItem::Notice(n)))) => notice = Some(n.code),
            Ok(Some(Ok(SubscriptionItem::Data(TickTypes::MarketDataType(t))))) => kind = Some(t),
            Ok(Some(Ok(SubscriptionItem::Data(TickTypes::Price(p))))) => types.push(p.tick_type),
            Ok(Some(Ok(SubscriptionItem::Data(TickTypes::PriceSize(p))))) => {
                types.push(p.price_tick_type)
            }
            Ok(Some(Ok(_))) => {}
            other => panic!("delayed data ended: {other:?}"),
        }
    }
    assert_eq!(notice, Some(10167));
    assert_eq!(kind, Some(MarketDataType::Delayed));
    assert_eq!(
        types,
        [
            TickType::DelayedBid,
            TickType::DelayedAsk,
            TickType::DelayedLast
        ]
    );
}

/// A read-only API refuses orders, what-ifs and cancels with 321; a
/// skewed clock shows in `reqCurrentTime`.
#[tokio::test]
async fn a_read_only_api_refuses_order_requests_and_a_skewed_clock_shows() {
    let sim = start_with(|s| {
        s.setup.read_only_api = true;
        s.setup.clock_skew = chrono::Duration::seconds(45);
    })
    .await;
    let client = connect(&sim, 6).await;
    let order = order_builder::limit_order(Action::Buy, 1.0, 100.0);
    let id = client.next_order_id();
    let mut sub = client
        .place_order(id, &Contract::stock("SPY").build(), &order)
        .await
        .unwrap();
    let code = loop {
        match tokio::time::timeout(Duration::from_secs(5), sub.next()).await {
            Ok(Some(Err(ibapi::Error::Notice(n)))) => break (n.code, n.message),
            Ok(Some(Ok(SubscriptionItem::Notice(n)))) => break (n.code, n.message),
            Ok(Some(Ok(_))) => {}
            other => panic!("no refusal: {other:?}"),
        }
    };
    assert_eq!(code.0, 321);
    assert!(code.1.contains("Read-Only"), "{}", code.1);
    assert_eq!(
        sim.handle.orders_with_ref(""),
        0,
        "nothing reached the venue"
    );
    let gateway = client.server_time().await.unwrap();
    let expected = common::start_time() + chrono::Duration::seconds(45);
    assert_eq!(gateway.unix_timestamp(), expected.timestamp());
}
