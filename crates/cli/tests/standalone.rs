//! The repository stands alone: no tracked file mentions the sibling
//! `shared` folder the project was planned in, and no tracked file names a
//! relative path that climbs above the repository's root. A clone with
//! nothing beside it must build, test and read the same as the working
//! copy it came from.
//!
//! Every file `git ls-files` lists is read as bytes (binary files too: a
//! path is ASCII wherever it sits). A relative path is a run of path
//! characters (`A-Z a-z 0-9 _ . - /`) with a `/` in it and a `..`
//! segment. It is resolved from the directory it is relative to:
//!
//! - in a Rust file, a path that starts with `/` is appended to a crate's
//!   directory (`concat!(env!("CARGO_MANIFEST_DIR"), "/../..")`), so it is
//!   resolved from the nearest directory above the file that holds a
//!   `Cargo.toml`;
//! - every other path (`include_str!`, `#[path]`, an `import`, a Markdown
//!   link, `$(dirname "$0")/..` in a script) is resolved from the file's
//!   own directory.
//!
//! A path fails the test when, resolved that way, any step of it is above
//! the repository's root. A tracked symlink fails when its target does.
//! Nothing is excluded, this file included: its needles and examples are
//! built at run time, so its own text never matches them. (A file deleted
//! from the work tree but still in the index is skipped: nothing can read
//! a path from it.)

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository's root: two levels above this crate, and the top of the
/// git work tree it belongs to (checked, so a checkout nested in another
/// repository does not scan the outer one).
fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root exists");
    let top = git(&root, &["rev-parse", "--show-toplevel"]);
    let top = Path::new(String::from_utf8(top).unwrap().trim())
        .canonicalize()
        .unwrap();
    assert_eq!(
        top, root,
        "the crate is not at crates/<name> of its git work tree"
    );
    root
}

/// Runs git in `dir`; without git there is no list of tracked files, and
/// this test says so rather than passing.
fn git(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("this test lists tracked files with git, which did not run: {e}")
        });
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Tracked files, relative to the root, with whether each is a symlink.
fn tracked(root: &Path) -> Vec<(String, bool)> {
    // `-s` gives each entry's mode; 120000 is a symbolic link.
    let listing = git(root, &["ls-files", "-s", "-z"]);
    listing
        .split(|&b| b == 0)
        .filter(|e| !e.is_empty())
        .map(|entry| {
            let entry = std::str::from_utf8(entry).expect("a UTF-8 path");
            let (meta, path) = entry.split_once('\t').expect("mode sha stage\\tpath");
            (path.to_string(), meta.starts_with("120000 "))
        })
        .collect()
}

fn is_path_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'/')
}

/// The relative paths in `text` with a `..` segment.
fn dotdot_paths(text: &[u8]) -> Vec<String> {
    text.split(|&b| !is_path_byte(b))
        .filter_map(|token| {
            let token = std::str::from_utf8(token).ok()?;
            // A `-` before the path belongs to what precedes it (the shell's
            // `${DIR:-../x}`, an option's dash), not to the path.
            let token = token.trim_start_matches('-');
            (token.contains('/') && token.split('/').any(|s| s == "..")).then(|| token.to_string())
        })
        .collect()
}

/// Whether `path`, resolved from `base` (a directory relative to the root,
/// `""` for the root), goes above the root at any step.
fn escapes(base: &str, path: &str) -> bool {
    let mut depth = base.split('/').filter(|s| !s.is_empty()).count() as i64;
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            _ => depth += 1,
        }
    }
    false
}

/// The directory of `file` (relative to the root).
fn dir_of(file: &str) -> &str {
    file.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// The nearest directory at or above `dir` that holds a `Cargo.toml`.
fn crate_dir_of<'a>(root: &Path, dir: &'a str) -> &'a str {
    let mut d = dir;
    loop {
        if root.join(d).join("Cargo.toml").is_file() || d.is_empty() {
            return d;
        }
        d = dir_of(d);
    }
}

/// The directory `path`, found in `file`, is relative to.
fn base_of<'a>(root: &Path, file: &'a str, path: &str) -> &'a str {
    if file.ends_with(".rs") && path.starts_with('/') {
        crate_dir_of(root, dir_of(file))
    } else {
        dir_of(file)
    }
}

#[test]
fn no_tracked_file_mentions_the_shared_folder_or_climbs_above_the_root() {
    let root = repo_root();
    let shared = ["..", "shared"].join("/");
    let files = tracked(&root);
    let mut problems = Vec::new();
    let mut read = 0;
    for (file, symlink) in &files {
        let path = root.join(file);
        if *symlink {
            let target = std::fs::read_link(&path).expect("a tracked symlink");
            let target = target.to_string_lossy();
            if target.starts_with('/') || escapes(dir_of(file), &target) {
                problems.push(format!(
                    "{file}: a symlink to {target}, outside the repository"
                ));
            }
            continue;
        }
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            // Deleted in the work tree but not yet from the index: nothing
            // can read a path from a file that is not there.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => panic!("cannot read {file}: {e}"),
        };
        read += 1;
        if bytes.windows(shared.len()).any(|w| w == shared.as_bytes()) {
            problems.push(format!("{file}: mentions {shared}"));
        }
        for p in dotdot_paths(&bytes) {
            let base = base_of(&root, file, &p);
            if escapes(base, &p) {
                problems.push(format!(
                    "{file}: {p} (from {}/) climbs above the repository root",
                    if base.is_empty() { "." } else { base }
                ));
            }
        }
    }
    assert!(read > 100, "only {read} tracked files read");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn paths_are_resolved_from_the_directory_they_are_relative_to() {
    let up = |n: usize| "../".repeat(n);
    let root = repo_root();
    // Appended to CARGO_MANIFEST_DIR: from the crate, two levels reach the
    // root and a third leaves it, wherever the file sits in the crate.
    let manifest_relative = |n: usize| format!("/{}tests/data", up(n));
    for file in [
        "crates/cli/tests/a.rs",
        "crates/analytics/src/scanner/csv/mod.rs",
    ] {
        let ok = manifest_relative(2);
        let out = manifest_relative(3);
        assert!(!escapes(base_of(&root, file, &ok), &ok), "{file} {ok}");
        assert!(escapes(base_of(&root, file, &out), &out), "{file} {out}");
    }
    // Relative to the file: four levels up from crates/core/src/config is
    // the root, five leave it.
    let file = "crates/core/src/config/tests.rs";
    let ok = format!("{}tests/data/scan_small.toml", up(4));
    let out = format!("{}x/data/scan_small.toml", up(5));
    assert!(!escapes(base_of(&root, file, &ok), &ok));
    assert!(escapes(base_of(&root, file, &out), &out));
    // A Markdown link at the root may not go up at all.
    let sibling = format!("{}x/y.md", up(1));
    assert!(escapes(base_of(&root, "README.md", &sibling), &sibling));
    assert!(!escapes(
        base_of(&root, "tests/data/README.md", "../../docs/a.md"),
        "../../docs/a.md"
    ));
    // Going up and down again counts every step: leaving the root on the
    // way fails even if the path ends inside.
    let round_trip = format!("{}vspread/docs", up(1));
    assert!(escapes("", &round_trip));
}

#[test]
fn paths_are_found_in_any_text() {
    let up = "../";
    let text = format!(
        "include_str!(\"{up}{up}x.toml\"); ${{DIR:-{up}target}} a...b v1..2 `{up}docs/a.md`, see {up}"
    );
    assert_eq!(
        dotdot_paths(text.as_bytes()),
        [
            format!("{up}{up}x.toml"),
            format!("{up}target"),
            format!("{up}docs/a.md"),
            up.to_string(),
        ]
    );
    // Bytes that are not text do not hide a path after them.
    let mut bytes = vec![0xff, 0x00, 0xfe];
    bytes.extend_from_slice(format!("{up}{up}{up}z").as_bytes());
    assert_eq!(dotdot_paths(&bytes), [format!("{up}{up}{up}z")]);
}
