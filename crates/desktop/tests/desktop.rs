//! End to end: the real `vspread-desktop` binary under Xvfb, driven through
//! WebDriver (`tauri-driver` in front of Debian's `WebKitWebDriver`), with
//! its own D-Bus session bus, a notification daemon on it and
//! `dbus-monitor` watching the `Notify` calls.
//!
//! First launch: the first-run screen starts the Local demo; the dashboard
//! shows the gateway connected; Pause and Resume in the window change the
//! engine's state; a filled spread raises an "Order filled" notification
//! (in the app's record and on the bus); screenshots at 1280x800 and at
//! 420 px wide; Quit leaves no process, an empty released lock and a
//! whole journal holding the fills. Second launch: the remembered mode starts by itself
//! and the window has the size it was left at; the time from launch to a
//! dashboard with the gateway connected is printed.
//!
//! Needs `Xvfb`, `dbus-daemon`, `dbus-monitor`, `WebKitWebDriver` and
//! `tauri-driver` (scripts/test-all.sh installs them).

use std::io::{BufRead as _, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const APP: &str = env!("CARGO_BIN_EXE_vspread-desktop");
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A child process killed (and reaped) when the test ends, however it ends.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn tool(name: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        let cargo_bin = PathBuf::from(std::env::var("HOME").unwrap_or_default())
            .join(".cargo/bin")
            .join(name);
        assert!(
            cargo_bin.is_file(),
            "{name} is not installed (bash scripts/test-all.sh installs what this test needs)"
        );
        cargo_bin
    })
}

/// Polls `probe` every 250 ms until it gives a value, or fails naming `what`.
fn wait_for<T>(what: &str, timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The desktop's session bus, X display and the programs on them.
struct Desktop {
    display: String,
    bus: String,
    _children: Vec<Guard>,
}

fn start_desktop(dir: &Path) -> Desktop {
    let display_no = 90 + (std::process::id() % 100);
    let display = format!(":{display_no}");
    let xvfb = Guard(
        Command::new(tool("Xvfb"))
            .args([&display, "-screen", "0", "1600x1000x24", "-nolisten", "tcp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb"),
    );
    wait_for("Xvfb's socket", Duration::from_secs(20), || {
        Path::new(&format!("/tmp/.X11-unix/X{display_no}"))
            .exists()
            .then_some(())
    });
    let mut dbus = Command::new(tool("dbus-daemon"))
        .args(["--session", "--nofork", "--print-address=1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("dbus-daemon");
    let mut line = String::new();
    BufReader::new(dbus.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let bus = line.trim().to_owned();
    assert!(bus.starts_with("unix:"), "dbus-daemon printed {bus:?}");
    let dbus = Guard(dbus);
    let monitor = Guard(
        Command::new(tool("dbus-monitor"))
            .args([
                "--address",
                &bus,
                "type='method_call',interface='org.freedesktop.Notifications',member='Notify'",
            ])
            .stdout(std::fs::File::create(dir.join("notify-calls.txt")).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-monitor"),
    );
    let daemon = Guard(
        Command::new("/usr/lib/notification-daemon/notification-daemon")
            .env("DISPLAY", &display)
            .env("DBUS_SESSION_BUS_ADDRESS", &bus)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("notification-daemon (Debian package notification-daemon)"),
    );
    Desktop {
        display,
        bus,
        _children: vec![daemon, monitor, dbus, xvfb],
    }
}

/// A WebDriver session on the app, through tauri-driver.
struct Session {
    agent: ureq::Agent,
    base: String,
    _driver: Guard,
}

impl Session {
    fn launch(desktop: &Desktop, home: &Path, log: &Path) -> Self {
        let port = free_port();
        let native = free_port();
        let driver = Guard(
            Command::new(tool("tauri-driver"))
                .args([
                    "--port",
                    &port.to_string(),
                    "--native-port",
                    &native.to_string(),
                ])
                .args(["--native-driver", tool("WebKitWebDriver").to_str().unwrap()])
                .env("DISPLAY", &desktop.display)
                .env("DBUS_SESSION_BUS_ADDRESS", &desktop.bus)
                .env("XDG_CONFIG_HOME", home.join("config"))
                .env("XDG_DATA_HOME", home.join("data"))
                .env("VSPREAD_LOG", "info")
                .stdout(Stdio::null())
                .stderr(
                    std::fs::File::options()
                        .create(true)
                        .append(true)
                        .open(log)
                        .unwrap(),
                )
                .spawn()
                .expect("tauri-driver"),
        );
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        let root = format!("http://127.0.0.1:{port}");
        wait_for("tauri-driver", Duration::from_secs(20), || {
            agent.get(format!("{root}/status")).call().ok()
        });
        let mut session = Self {
            agent,
            base: String::new(),
            _driver: driver,
        };
        let created = session.post_to(
            &format!("{root}/session"),
            json!({"capabilities": {"alwaysMatch": {"tauri:options": {"application": APP}}}}),
        );
        let id = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"));
        session.base = format!("{root}/session/{id}");
        session
    }

    fn post_to(&self, url: &str, body: Value) -> Value {
        let mut response = self.agent.post(url).send_json(body).unwrap();
        let status = response.status();
        let value: Value = response.body_mut().read_json().unwrap();
        assert!(status.is_success(), "POST {url}: {status} {value}");
        value["value"].clone()
    }

    fn post(&self, path: &str, body: Value) -> Value {
        self.post_to(&format!("{}{path}", self.base), body)
    }

    fn get(&self, path: &str) -> Value {
        let mut response = self
            .agent
            .get(format!("{}{path}", self.base))
            .call()
            .unwrap();
        let value: Value = response.body_mut().read_json().unwrap();
        value["value"].clone()
    }

    fn find(&self, css: &str) -> Option<String> {
        let url = format!("{}/element", self.base);
        let mut response = self
            .agent
            .post(&url)
            .send_json(json!({"using": "css selector", "value": css}))
            .ok()?;
        if !response.status().is_success() {
            return None;
        }
        let value: Value = response.body_mut().read_json().ok()?;
        value["value"][ELEMENT_KEY].as_str().map(str::to_owned)
    }

    fn text(&self, css: &str) -> Option<String> {
        let element = self.find(css)?;
        self.get(&format!("/element/{element}/text"))
            .as_str()
            .map(str::to_owned)
    }

    fn click(&self, css: &str) {
        let element = self.find(css).unwrap_or_else(|| panic!("no element {css}"));
        self.post(&format!("/element/{element}/click"), json!({}));
    }

    fn script(&self, script: &str) -> Value {
        self.post("/execute/sync", json!({"script": script, "args": []}))
    }

    /// Calls one of the app's commands from the page, as the UI does.
    fn invoke(&self, command: &str) -> Value {
        let script = format!(
            "const done = arguments[arguments.length - 1];\
             window.__TAURI_INTERNALS__.invoke({command:?}).then(done, (e) => done({{error: String(e)}}));"
        );
        self.post("/execute/async", json!({"script": script, "args": []}))
    }

    fn screenshot(&self, path: &Path) {
        use std::io::Write as _;
        let b64 = self.get("/screenshot");
        let bytes = base64_decode(b64.as_str().expect("screenshot"));
        assert!(bytes.starts_with(b"\x89PNG"), "the screenshot is a PNG");
        std::fs::File::create(path)
            .unwrap()
            .write_all(&bytes)
            .unwrap();
        println!("screenshot: {}", path.display());
    }

    fn set_size(&self, width: u32, height: u32) {
        self.post("/window/rect", json!({"width": width, "height": height}));
    }

    fn size(&self) -> (u64, u64) {
        let rect = self.get("/window/rect");
        (
            rect["width"].as_u64().unwrap(),
            rect["height"].as_u64().unwrap(),
        )
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let clean: Vec<u8> = text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
        .collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= value(*c) << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

/// The pids of the app and every process it started (WebKit's).
fn app_processes() -> Vec<u32> {
    let app = std::fs::canonicalize(APP).unwrap();
    let mut parents = Vec::new();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok())
            .unwrap_or(0);
        if std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == app) {
            found.push(pid);
        }
        parents.push((pid, ppid));
    }
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        for (pid, ppid) in &parents {
            if *ppid == parent && !found.contains(pid) {
                found.push(*pid);
            }
        }
        i += 1;
    }
    found
}

fn gateway_connected(s: &Session) -> Option<()> {
    s.text("[data-testid=status-gateway]")
        .filter(|t| t.contains("Gateway connected"))
        .map(|_| ())
}

fn engine_state(s: &Session) -> Option<String> {
    s.text("[data-testid=status-engine]")
}

/// Quits through the app's Quit (as the tray's and the settings' do) and
/// checks that nothing is left behind.
fn quit_and_check(s: &Session, demo_dir: &Path) {
    let running = app_processes();
    assert!(!running.is_empty(), "the app runs before Quit");
    // The app ends while this call waits: its answer may never come.
    let _ = s
        .agent
        .post(format!("{}/execute/sync", s.base))
        .send_json(json!({
            "script": "window.__TAURI_INTERNALS__.invoke('quit'); return true;", "args": []
        }));
    wait_for(
        "every app process to end after Quit",
        Duration::from_secs(60),
        || app_processes().is_empty().then_some(()),
    );
    let lock = demo_dir.join("vspread.lock");
    assert_eq!(
        std::fs::read_to_string(&lock).unwrap(),
        "",
        "the lock was released by the engine's stop (it empties the file), not by the process dying"
    );
    let free = Command::new("flock")
        .args(["-n"])
        .arg(&lock)
        .arg("true")
        .status()
        .unwrap();
    assert!(free.success(), "nothing holds {}", lock.display());
    // The journal is whole and holds what the session traded.
    let journal = rusqlite::Connection::open(demo_dir.join("journal.sqlite3")).unwrap();
    let check: String = journal
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let fills: i64 = journal
        .query_row("SELECT count(*) FROM fills", [], |r| r.get(0))
        .unwrap();
    assert!(fills > 0, "the journal holds the session's fills");
}

#[test]
fn local_demo_from_first_run_to_quit() {
    let home = tempfile::tempdir().unwrap();
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("desktop");
    std::fs::create_dir_all(&shots).unwrap();
    let log = home.path().join("app.log");
    let desktop = start_desktop(home.path());
    let demo_dir = home.path().join("data/app.vspread.desktop/demo");

    // First launch: the first-run screen.
    let launched = Instant::now();
    let s = Session::launch(&desktop, home.path(), &log);
    wait_for("the first-run screen", Duration::from_secs(60), || {
        s.find("[data-testid=start-demo]")
    });
    let first_run = launched.elapsed();
    s.set_size(1280, 800);
    s.click("[data-testid=start-demo]");
    let clicked = Instant::now();
    wait_for(
        "the dashboard with the gateway connected",
        Duration::from_secs(120),
        || gateway_connected(&s),
    );
    let dashboard = clicked.elapsed();
    let url = s.script("return location.href;");
    assert!(
        url.as_str().unwrap().starts_with("http://127.0.0.1:"),
        "the engine's UI on loopback: {url}"
    );
    assert!(s.find("[data-testid=status-bar]").is_some());

    // Pause and resume from the window.
    wait_for("the engine running", Duration::from_secs(60), || {
        engine_state(&s).filter(|t| t.contains("running"))
    });
    s.click("header .controls button:not(.danger)");
    wait_for("the engine paused", Duration::from_secs(20), || {
        engine_state(&s).filter(|t| t.contains("paused"))
    });
    s.click("header .controls button.primary");
    wait_for("the engine running again", Duration::from_secs(20), || {
        engine_state(&s).filter(|t| t.contains("running") && !t.contains("paused"))
    });

    // A filled spread raises a notification.
    let fill_wait = Instant::now();
    let sent = wait_for(
        "an 'Order filled' notification",
        Duration::from_secs(300),
        || {
            let sent = s.invoke("notifications_sent");
            let fill = sent
                .as_array()?
                .iter()
                .find(|n| n["kind"] == "order_filled")?
                .clone();
            Some(fill)
        },
    );
    println!("notification after {:?}: {sent}", fill_wait.elapsed());
    assert_eq!(
        sent["delivered"],
        json!({"Ok": null}),
        "the notification service took it"
    );
    assert!(
        sent["title"]
            .as_str()
            .unwrap()
            .starts_with("Order filled: ")
    );
    let calls = wait_for(
        "the Notify call on the session bus",
        Duration::from_secs(20),
        || {
            let text = std::fs::read_to_string(home.path().join("notify-calls.txt")).ok()?;
            text.contains("Order filled: ").then_some(text)
        },
    );
    assert!(calls.contains("member=Notify"), "{calls}");
    s.screenshot(&shots.join("dashboard-1280x800.png"));

    // A narrow window still lays out (no horizontal scrolling).
    s.set_size(420, 800);
    std::thread::sleep(Duration::from_millis(500));
    let overflow = s.script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
    );
    s.screenshot(&shots.join("dashboard-420.png"));
    assert!(
        overflow.as_i64().unwrap() <= 0,
        "the page scrolls sideways at 420 px by {overflow} px"
    );
    s.set_size(1100, 760);
    std::thread::sleep(Duration::from_millis(500));

    quit_and_check(&s, &demo_dir);
    drop(s);

    // Second launch: the remembered mode starts by itself, at the size the
    // window was left at.
    let relaunched = Instant::now();
    let s = Session::launch(&desktop, home.path(), &log);
    wait_for(
        "the dashboard after a relaunch",
        Duration::from_secs(120),
        || gateway_connected(&s),
    );
    let launch_to_dashboard = relaunched.elapsed();
    assert_eq!(s.size(), (1100, 760), "the window's size was remembered");
    quit_and_check(&s, &demo_dir);

    println!(
        "first-run screen after {:.2} s; demo start to dashboard {:.2} s; relaunch to dashboard (gateway connected) {:.2} s",
        first_run.as_secs_f64(),
        dashboard.as_secs_f64(),
        launch_to_dashboard.as_secs_f64()
    );
}
