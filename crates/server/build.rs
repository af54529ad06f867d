//! Builds the web UI (`web/`: Svelte + TypeScript, bundled by Vite) and
//! embeds it: the bundle is written to `$OUT_DIR/ui` and
//! `$OUT_DIR/ui_assets.rs` lists each file with its content type and its
//! bytes (`include_bytes!`), which `src/ui.rs` serves.
//!
//! - `npm ci` runs only when `web/node_modules` is missing or older than
//!   `web/package-lock.json`; then `npm run build` writes into `$OUT_DIR`,
//!   so builds in different target dirs never share an output folder.
//! - Builds that run at the same time (two target dirs, `cargo build` beside
//!   `cargo clippy`) take turns through a lock directory,
//!   `web/.build-lock`, holding the owner's pid; a lock whose owner has died
//!   is taken over.
//! - Without npm the build stops with a message saying what to install.
//! - `VSPREAD_UI_DIST=DIR` embeds an already built bundle instead (no npm).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use std::{env, fs};

/// The web sources whose change rebuilds the UI.
const INPUTS: &[&str] = &[
    "src",
    "public",
    "index.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "svelte.config.js",
    "tsconfig.json",
];

/// How long a build waits for another one holding the lock.
const LOCK_WAIT: Duration = Duration::from_secs(15 * 60);

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let web = manifest.join("../../web");
    revision(&manifest);
    println!("cargo:rerun-if-env-changed=VSPREAD_UI_DIST");
    println!("cargo:rerun-if-env-changed=NPM");

    let dist = match env::var_os("VSPREAD_UI_DIST") {
        Some(dir) => {
            println!("cargo:rerun-if-changed={}", Path::new(&dir).display());
            PathBuf::from(dir)
        }
        None => {
            for input in INPUTS {
                println!("cargo:rerun-if-changed={}", web.join(input).display());
            }
            let dist = out.join("ui");
            build_ui(&web, &dist);
            dist
        }
    };
    if !dist.join("index.html").is_file() {
        fail(&format!(
            "the web UI bundle at {} has no index.html",
            dist.display()
        ));
    }
    write_asset_table(&dist, &out.join("ui_assets.rs"));
}

fn fail(message: &str) -> ! {
    panic!("\n\nvspread-server embeds the web UI (web/) and could not build it:\n{message}\n\n");
}

fn build_ui(web: &Path, dist: &Path) {
    let npm = env::var("NPM").unwrap_or_else(|_| "npm".into());
    match Command::new(&npm).arg("--version").output() {
        Ok(o) if o.status.success() => {}
        _ => fail(&format!(
            "`{npm} --version` did not run: Node.js 20.19+ and npm are needed to build the UI \
             (Debian: apt-get install -y nodejs npm), or set VSPREAD_UI_DIST to a built bundle"
        )),
    }
    let _lock = Lock::take(&web.join(".build-lock"));
    let lock_file = web.join("package-lock.json");
    let installed = web.join("node_modules/.package-lock.json");
    if is_stale(&installed, &lock_file) {
        run(
            Command::new(&npm)
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(web),
            "npm ci",
        );
    }
    run(
        Command::new(&npm)
            .args(["run", "build", "--", "--outDir"])
            .arg(dist)
            .arg("--emptyOutDir")
            .current_dir(web),
        "npm run build",
    );
}

/// True when `made` is missing or older than `source`.
fn is_stale(made: &Path, source: &Path) -> bool {
    let time = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
    match (time(made), time(source)) {
        (Some(made), Some(source)) => made < source,
        _ => true,
    }
}

/// Runs a command; its output is shown only when it fails (cargo would read
/// a build script's stdout as instructions).
fn run(command: &mut Command, what: &str) {
    let output = command
        .output()
        .unwrap_or_else(|e| fail(&format!("{what}: could not start: {e}")));
    if !output.status.success() {
        fail(&format!(
            "{what} failed ({}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
}

/// A lock directory (created atomically) holding the owner's pid.
struct Lock(PathBuf);

impl Lock {
    fn take(dir: &Path) -> Lock {
        let start = Instant::now();
        loop {
            match fs::create_dir(dir) {
                Ok(()) => {
                    // The directory is the lock; the pid only tells others whether its owner lives.
                    let _ = fs::write(dir.join("pid"), std::process::id().to_string());
                    return Lock(dir.to_path_buf());
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if owner_is_gone(dir) {
                        let _ = fs::remove_dir_all(dir);
                        continue;
                    }
                    if start.elapsed() > LOCK_WAIT {
                        fail(&format!(
                            "another UI build has held {} for {} s; remove it if no build runs",
                            dir.display(),
                            LOCK_WAIT.as_secs()
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(250));
                }
                Err(e) => fail(&format!("cannot create the lock {}: {e}", dir.display())),
            }
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// True when the lock's pid file names a process that no longer runs. A
/// lock without a pid file yet is young (its owner is writing it) unless it
/// is old.
fn owner_is_gone(dir: &Path) -> bool {
    match fs::read_to_string(dir.join("pid")) {
        Ok(pid) => {
            let pid = pid.trim();
            !pid.is_empty()
                && !Path::new("/proc").join(pid).exists()
                && Path::new("/proc/self").exists()
        }
        Err(_) => fs::metadata(dir)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(30)),
    }
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json" | "map") => "application/json",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn files(dir: &Path, base: &Path, out: &mut Vec<(String, PathBuf)>) {
    let entries =
        fs::read_dir(dir).unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", dir.display())));
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", dir.display())))
            .path();
        if path.is_dir() {
            files(&path, base, out);
        } else {
            let rel = path
                .strip_prefix(base)
                .expect("under the bundle")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            out.push((rel, path));
        }
    }
}

fn write_asset_table(dist: &Path, target: &Path) {
    let mut list = Vec::new();
    files(dist, dist, &mut list);
    list.sort();
    let mut code = String::from(
        "/// The web UI bundle (generated by build.rs).\npub static ASSETS: &[Asset] = &[\n",
    );
    for (rel, path) in &list {
        let _ = writeln!(
            code,
            "    Asset {{ path: {rel:?}, content_type: {:?}, bytes: include_bytes!({:?}) }},",
            content_type(rel),
            path.display().to_string()
        );
    }
    code.push_str("];\n");
    fs::write(target, code)
        .unwrap_or_else(|e| fail(&format!("cannot write {}: {e}", target.display())));
}

/// Sets `VSPREAD_REVISION` for `vspread_build_info`: the variable when the
/// build is given it (an image built without the repository's history),
/// else the commit `git` says the sources are at, else `unknown`. Rebuilt
/// when HEAD moves.
fn revision(manifest: &Path) {
    println!("cargo:rerun-if-env-changed=VSPREAD_REVISION");
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(manifest)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let revision = env::var("VSPREAD_REVISION")
        .ok()
        .filter(|r| !r.trim().is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".into());
    // HEAD, and the one branch it is on (its loose ref, or packed-refs):
    // not every branch, so a commit on another worktree's branch does not
    // rebuild this one.
    let mut watched = vec!["HEAD".to_string(), "packed-refs".to_string()];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(branch);
    }
    for path in &watched {
        // A path that does not exist would rerun this script on every build.
        if let Some(p) = git(&["rev-parse", "--path-format=absolute", "--git-path", path])
            .filter(|p| Path::new(p).exists())
        {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    println!("cargo:rustc-env=VSPREAD_REVISION={revision}");
}
