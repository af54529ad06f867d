//! The admin server's security over real sockets: TLS (rustls, with test
//! certificates made by `rcgen`) and its reload while the engine runs,
//! named tokens rotated and revoked in a running server, the WebSocket's
//! single-use tickets, the per-address limit on failed authentications,
//! the security headers, the body limit, and the audit of every write.
//! Each test runs `vspread_server::serve` on a loopback port over a real
//! engine (a `vspread sim` over TCP, a SQLite journal).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{self, RootCertStore};
use vspread_core::config::default_file_text;
use vspread_server::tokens::{TOKENS_FILE, TokenFile};
use vspread_server::{AppState, Auth, Metrics, Role, serve};

#[path = "support/engine.rs"]
mod engine;

const ADMIN: &str = "admin-token-0123456789";
const VIEWER: &str = "viewer-token-0123456789";

/// A CA and a server certificate for `localhost` / 127.0.0.1 it signed.
struct TestPki {
    ca_der: rustls::pki_types::CertificateDer<'static>,
    cert_pem: String,
    key_pem: String,
}

fn pki() -> TestPki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    TestPki {
        ca_der: ca.der().clone(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

fn install(pki: &TestPki, dir: &Path) {
    std::fs::write(dir.join("cert.pem"), &pki.cert_pem).unwrap();
    std::fs::write(dir.join("key.pem"), &pki.key_pem).unwrap();
}

fn connector(ca: &rustls::pki_types::CertificateDer<'static>) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    roots.add(ca.clone()).unwrap();
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

struct Server {
    dir: tempfile::TempDir,
    addr: std::net::SocketAddr,
    state: AppState,
    _running: engine::Running,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// A server with TLS (when `pki` is given) over a real engine.
async fn server(pki: Option<&TestPki>, auth: impl FnOnce(&Path) -> Auth) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let mut text = default_file_text();
    if let Some(pki) = pki {
        install(pki, dir.path());
        text = text.replace("tls_cert_file = \"\"", "tls_cert_file = \"cert.pem\"");
        text = text.replace("tls_key_file = \"\"", "tls_key_file = \"key.pem\"");
        assert!(text.contains("cert.pem") && text.contains("key.pem"));
    }
    std::fs::write(&path, text).unwrap();
    let running = engine::start(dir.path(), &path).await;
    let state = AppState {
        engine: running.engine.clone(),
        auth: Arc::new(auth(dir.path())),
        metrics: Arc::new(Metrics::new()),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(listener, state.clone(), async {
        let _ = stopped.await;
    }));
    Server {
        dir,
        addr,
        state,
        _running: running,
        _stop: stop,
    }
}

fn fixed_auth(dir: &Path) -> Auth {
    Auth::new(ADMIN, Some(VIEWER.into())).with_tokens_file(dir.join(TOKENS_FILE))
}

/// One HTTP/1.1 answer: status, headers (lower-case names), body.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

fn parse_answer(raw: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        let mut out = String::new();
        let mut rest = body;
        while let Some((size, after)) = rest.split_once("\r\n") {
            let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if size == 0 || after.len() < size {
                break;
            }
            out.push_str(&after[..size]);
            rest = after[size..].trim_start_matches("\r\n");
        }
        out
    } else {
        body.to_string()
    };
    Answer {
        status,
        headers,
        body,
    }
}

fn request_text(method: &str, path: &str, token: Option<&str>, body: Option<&str>) -> String {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    if let Some(t) = token {
        req.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    match body {
        Some(b) => req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{b}",
            b.len()
        )),
        None => req.push_str("Content-Length: 0\r\n\r\n"),
    }
    req
}

/// `method path` over TLS, trusting `ca` only.
async fn https(
    addr: std::net::SocketAddr,
    ca: &rustls::pki_types::CertificateDer<'static>,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> std::io::Result<Answer> {
    let tcp = TcpStream::connect(addr).await?;
    let mut tls = connector(ca)
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await?;
    tls.write_all(request_text(method, path, token, body).as_bytes())
        .await?;
    let mut raw = Vec::new();
    // A server that closes without close_notify is fine for these checks.
    let _ = tls.read_to_end(&mut raw).await;
    Ok(parse_answer(&raw))
}

/// `method path` over plain TCP.
async fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Answer {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request_text(method, path, token, body).as_bytes())
        .await
        .unwrap();
    let mut raw = Vec::new();
    let _ = tcp.read_to_end(&mut raw).await;
    parse_answer(&raw)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_with_security_headers_and_reloads_a_new_certificate_without_a_restart() {
    let first = pki();
    let s = server(Some(&first), fixed_auth).await;
    let a = https(
        s.addr,
        &first.ca_der,
        "GET",
        "/api/v1/status",
        Some(ADMIN),
        None,
    )
    .await
    .unwrap();
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.json()["engine"]["state"], "running");
    assert_eq!(a.header("cache-control"), Some("no-store"));
    assert_eq!(a.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(a.header("x-frame-options"), Some("DENY"));
    assert_eq!(a.header("referrer-policy"), Some("no-referrer"));
    assert!(
        a.header("content-security-policy")
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert!(
        a.header("strict-transport-security")
            .unwrap()
            .starts_with("max-age=")
    );

    // The UI: a CSP that allows no inline script, framing denied, cacheable.
    let ui = https(s.addr, &first.ca_der, "GET", "/", None, None)
        .await
        .unwrap();
    assert_eq!(ui.status, 200);
    let csp = ui.header("content-security-policy").unwrap();
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert!(
        !csp.contains("'unsafe-inline'; connect")
            || csp.contains("style-src 'self' 'unsafe-inline'")
    );
    let script_src = csp
        .split(';')
        .find(|d| d.trim().starts_with("script-src"))
        .unwrap();
    assert!(!script_src.contains("unsafe"), "{csp}");
    assert_eq!(ui.header("x-frame-options"), Some("DENY"));
    assert_eq!(ui.header("cache-control"), Some("no-cache"));

    // Plain HTTP to the TLS port gets no HTTP answer.
    let plain = http(s.addr, "GET", "/api/v1/status", Some(ADMIN), None).await;
    assert_ne!(plain.status, 200, "{plain:?}");

    // A new certificate from another CA: in force within seconds, the
    // engine untouched (the same event stream, no restart).
    let seq_before = s.state.engine.events().recent(1).first().map(|e| e.seq);
    let second = pki();
    install(&second, s.dir.path());
    let started = Instant::now();
    loop {
        if let Ok(a) = https(s.addr, &second.ca_der, "GET", "/readyz", None, None).await
            && a.status != 0
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the new certificate was not loaded"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        https(s.addr, &first.ca_der, "GET", "/readyz", None, None)
            .await
            .is_err(),
        "the old certificate is gone"
    );
    let seq_after = s.state.engine.events().recent(1).first().map(|e| e.seq);
    assert!(seq_after >= seq_before);
    let metrics = https(s.addr, &second.ca_der, "GET", "/metrics", None, None)
        .await
        .unwrap();
    assert!(
        metrics
            .body
            .contains("vspread_tls_reloads_total{result=\"loaded\"} 1"),
        "{}",
        metrics.body
    );

    // A broken key is refused and the certificate in use stays.
    std::fs::write(s.dir.path().join("key.pem"), "not a key").unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let a = https(
        s.addr,
        &second.ca_der,
        "GET",
        "/api/v1/status",
        Some(ADMIN),
        None,
    )
    .await
    .unwrap();
    assert_eq!(a.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_beyond_loopback_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, default_file_text()).unwrap();
    let running = engine::start(dir.path(), &path).await;
    let state = AppState {
        engine: running.engine.clone(),
        auth: Arc::new(fixed_auth(dir.path())),
        metrics: Arc::new(Metrics::new()),
    };
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let err = serve(listener, state, async {}).await.unwrap_err();
    assert!(err.to_string().contains("tls_cert_file"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_tokens_rotate_and_revoke_in_the_running_server_and_writes_are_audited() {
    let ca = pki();
    let s = server(Some(&ca), fixed_auth).await;
    let tokens = s.dir.path().join(TOKENS_FILE);
    let mut file = TokenFile::load(&tokens).unwrap();
    let ops = file.create("ops-laptop", Role::Admin).unwrap();
    let screen = file.create("wall-screen", Role::Viewer).unwrap();
    file.save(&tokens).unwrap();

    let get = |token: String| {
        let ca = ca.ca_der.clone();
        let addr = s.addr;
        async move {
            https(addr, &ca, "GET", "/api/v1/status", Some(&token), None)
                .await
                .unwrap()
                .status
        }
    };
    assert_eq!(get(ops.clone()).await, 200);
    assert_eq!(get(screen.clone()).await, 200);
    let a = https(
        s.addr,
        &ca.ca_der,
        "POST",
        "/api/v1/control/pause",
        Some(&screen),
        None,
    )
    .await
    .unwrap();
    assert_eq!(a.status, 403, "a viewer may not pause");

    // A write: answered, and audited with the token's name, role and address.
    let a = https(
        s.addr,
        &ca.ca_der,
        "POST",
        "/api/v1/control/pause",
        Some(&ops),
        None,
    )
    .await
    .unwrap();
    assert_eq!(a.status, 200, "{a:?}");
    let events = s.state.engine.events().recent(50);
    let audits: Vec<Value> = events
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .filter(|e| e["kind"] == "api.write")
        .collect();
    let pause = audits
        .iter()
        .find(|e| e["data"]["path"] == "/api/v1/control/pause" && e["data"]["status"] == 200)
        .expect("the pause audited");
    assert_eq!(pause["data"]["token"], "ops-laptop");
    assert_eq!(pause["data"]["role"], "admin");
    assert_eq!(pause["data"]["client"], "127.0.0.1");
    assert_eq!(pause["data"]["method"], "POST");
    let refused = audits
        .iter()
        .find(|e| e["data"]["status"] == 403)
        .expect("the viewer's refused write audited");
    assert_eq!(refused["data"]["token"], "wall-screen");
    // The journal's config history names the same caller.
    assert!(
        s.state
            .engine
            .events()
            .flush_journal(Duration::from_secs(5))
    );
    let history = https(
        s.addr,
        &ca.ca_der,
        "GET",
        "/api/v1/config/history",
        Some(ADMIN),
        None,
    )
    .await
    .unwrap();
    assert!(
        history.body.contains("admin:ops-laptop@127.0.0.1"),
        "{}",
        history.body
    );

    // Rotation and revocation hold from the next request, no restart.
    let mut file = TokenFile::load(&tokens).unwrap();
    let rotated = file.rotate("ops-laptop", None).unwrap();
    file.save(&tokens).unwrap();
    assert_eq!(
        get(ops.clone()).await,
        401,
        "the old secret is refused at once"
    );
    assert_eq!(get(rotated.clone()).await, 200);
    let mut file = TokenFile::load(&tokens).unwrap();
    file.revoke("ops-laptop").unwrap();
    file.save(&tokens).unwrap();
    assert_eq!(get(rotated).await, 401, "revoked");
    assert_eq!(get(screen).await, 200, "the others stay");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_websocket_takes_a_single_use_ticket_not_a_token_in_the_url() {
    let ca = pki();
    let s = server(Some(&ca), fixed_auth).await;
    let a = https(
        s.addr,
        &ca.ca_der,
        "POST",
        "/api/v1/ws/ticket",
        Some(VIEWER),
        None,
    )
    .await
    .unwrap();
    assert_eq!(a.status, 200, "{a:?}");
    let ticket = a.json()["ticket"].as_str().unwrap().to_string();
    assert_eq!(a.json()["expires_in_s"], 30);

    let open = |query: String| {
        let ca = ca.ca_der.clone();
        let addr = s.addr;
        async move {
            let tcp = TcpStream::connect(addr).await.unwrap();
            let tls = connector(&ca)
                .connect(ServerName::try_from("localhost").unwrap(), tcp)
                .await
                .unwrap();
            tokio_tungstenite::client_async(format!("wss://localhost/api/v1/ws?{query}"), tls).await
        }
    };
    let (mut socket, response) = open(format!("ticket={ticket}&after=0")).await.unwrap();
    assert_eq!(response.status(), 101);
    // Something published now arrives on the stream.
    s.state.engine.pause("test");
    let got = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(m)) = socket.next().await {
            if let tokio_tungstenite::tungstenite::Message::Text(t) = m
                && t.contains("control.paused")
            {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    assert!(got, "the stream delivers events");
    let _ = socket.close(None).await;

    match open(format!("ticket={ticket}")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 401),
        other => panic!("a spent ticket opened the stream: {:?}", other.map(|r| r.1)),
    }
    match open(format!("access_token={ADMIN}")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 401),
        other => panic!(
            "a token in the URL opened the stream: {:?}",
            other.map(|r| r.1)
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_authentications_are_limited_per_address_with_a_metric() {
    let ca = pki();
    let s = server(Some(&ca), |dir: &Path| {
        fixed_auth(dir)
            .with_failure_limit(3.0, Duration::from_secs(60))
            .limiting_loopback()
    })
    .await;
    for _ in 0..3 {
        let a = https(
            s.addr,
            &ca.ca_der,
            "GET",
            "/api/v1/status",
            Some("wrong-token-xxxxxxxx"),
            None,
        )
        .await
        .unwrap();
        assert_eq!(a.status, 401);
    }
    // Now even the right token waits: the guesser cannot tell.
    let a = https(
        s.addr,
        &ca.ca_der,
        "GET",
        "/api/v1/status",
        Some(ADMIN),
        None,
    )
    .await
    .unwrap();
    assert_eq!(a.status, 429, "{a:?}");
    let retry: u64 = a.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(a.json()["error"]["code"], "too_many_requests");
    // Probes and metrics need no token and are not limited.
    let m = https(s.addr, &ca.ca_der, "GET", "/metrics", None, None)
        .await
        .unwrap();
    assert_eq!(m.status, 200);
    assert!(
        m.body
            .contains("vspread_auth_failures_total{result=\"rejected\"} 3"),
        "{}",
        m.body
    );
    assert!(
        m.body
            .contains("vspread_auth_failures_total{result=\"limited\"} 1"),
        "{}",
        m.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_limit_are_refused_before_they_are_read() {
    let s = server(None, fixed_auth).await;
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(1024 * 1024 + 10));
    let a = http(
        s.addr,
        "POST",
        "/api/v1/config/validate",
        Some(ADMIN),
        Some(&big),
    )
    .await;
    assert_eq!(a.status, 413, "{}", a.body);
    // Plain HTTP on loopback is allowed, with the same headers (no HSTS).
    let a = http(s.addr, "GET", "/api/v1/status", Some(ADMIN), None).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("cache-control"), Some("no-store"));
    assert_eq!(a.header("strict-transport-security"), None);
}
