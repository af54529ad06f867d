#!/usr/bin/env bash
# Installs what building and testing the desktop app (crates/desktop) needs,
# skipping what is there: Debian's WebKitGTK 4.1 and GTK development files
# (Tauri 2 on Linux), the tray's appindicator, libxdo (menus), WebKitWebDriver,
# Xvfb, a D-Bus session bus with dbus-monitor, a notification daemon, and
# tauri-driver from crates.io at a pinned version (cached in ~/.cargo/bin).
set -euo pipefail

TAURI_DRIVER_VERSION=2.0.4

packages=()
for pc in webkit2gtk-4.1 gtk+-3.0 ayatana-appindicator3-0.1 librsvg-2.0; do
  pkg-config --exists "$pc" 2>/dev/null || { packages+=(libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev librsvg2-dev); break; }
done
[ -e /usr/include/xdo.h ] || packages+=(libxdo-dev)
command -v pkg-config >/dev/null || packages+=(pkg-config)
for tool in WebKitWebDriver:webkit2gtk-driver Xvfb:xvfb dbus-daemon:dbus-daemon dbus-monitor:dbus-bin flock:util-linux; do
  command -v "${tool%%:*}" >/dev/null || packages+=("${tool#*:}")
done
[ -x /usr/lib/notification-daemon/notification-daemon ] || packages+=(notification-daemon)
if [ ${#packages[@]} -gt 0 ]; then
  echo "installing: ${packages[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

if ! tauri-driver --help >/dev/null 2>&1 \
  || [ "$(cargo install --list | sed -n 's/^tauri-driver v\([0-9.]*\):$/\1/p')" != "$TAURI_DRIVER_VERSION" ]; then
  # Its own target dir, so the workspace's is not cleaned or locked by it.
  CARGO_TARGET_DIR="${TMPDIR:-/tmp}/tauri-driver-build" \
    cargo install tauri-driver --locked --version "$TAURI_DRIVER_VERSION"
fi
tauri-driver --help >/dev/null
echo "desktop dependencies: WebKitGTK $(pkg-config --modversion webkit2gtk-4.1), tauri-driver $TAURI_DRIVER_VERSION"
