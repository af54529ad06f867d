//! WebKitGTK's DMA-BUF renderer (the default since 2.42) draws a blank or
//! white window on many Linux setups: NVIDIA's driver, some Wayland
//! compositors, virtual machines and X servers without GPU buffers (Xvfb).
//! The app turns it off unless the user has said otherwise, by setting
//! `WEBKIT_DISABLE_DMABUF_RENDERER=1` for itself. The variable must be in
//! the environment before GTK starts, and setting one in a running
//! process is not sound, so the app re-executes itself once with it (the
//! same process id, arguments and the rest of the environment).
//!
//! `VSPREAD_DESKTOP_KEEP_DMABUF=1` keeps WebKit's default. Where windows
//! still come up blank, `WEBKIT_DISABLE_COMPOSITING_MODE=1` is the next
//! switch to try (docs/desktop.md).

/// The variable that turns the DMA-BUF renderer off.
pub const DISABLE_DMABUF: &str = "WEBKIT_DISABLE_DMABUF_RENDERER";
/// Set by the user: keep WebKit's renderer as it is.
pub const KEEP_DMABUF: &str = "VSPREAD_DESKTOP_KEEP_DMABUF";

/// Whether the app should re-execute itself with [`DISABLE_DMABUF`] set.
pub fn needs_reexec(get: impl Fn(&str) -> Option<std::ffi::OsString>) -> bool {
    cfg!(target_os = "linux") && get(DISABLE_DMABUF).is_none() && get(KEEP_DMABUF).is_none()
}

/// Re-executes this program with the DMA-BUF renderer off, when it needs
/// to; returns only when it does not (or the exec failed, said in the log).
#[cfg(unix)]
pub fn apply_defaults() {
    use std::os::unix::process::CommandExt as _;

    if !needs_reexec(|k| std::env::var_os(k)) {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let error = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env(DISABLE_DMABUF, "1")
        .exec();
    eprintln!("cannot re-execute with {DISABLE_DMABUF}=1: {error}");
}

#[cfg(not(unix))]
pub fn apply_defaults() {}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use super::*;

    #[test]
    fn reexecs_once_unless_told_not_to() {
        let none = |_: &str| None;
        assert_eq!(needs_reexec(none), cfg!(target_os = "linux"));
        let set = |k: &str| (k == DISABLE_DMABUF).then(|| OsString::from("1"));
        assert!(!needs_reexec(set));
        let keep = |k: &str| (k == KEEP_DMABUF).then(|| OsString::from("1"));
        assert!(!needs_reexec(keep));
    }
}
