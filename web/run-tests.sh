#!/usr/bin/env bash
# The web UI's tests: type check (svelte-check), lint (eslint), unit tests
# (vitest), then the browser tests: playwright-core driving Debian's chromium
# against a real `vspread demo` process. Installs what they need when it is
# missing: Node.js and npm, chromium (apt-get), the npm packages (npm ci).
# The vspread binary is $VSPREAD_BIN, else the newest of
# ${CARGO_TARGET_DIR:-../target}/{debug,release}/vspread (built here when
# neither exists). Screenshots: web/test-results/screenshots/.
set -euo pipefail
cd "$(dirname "$0")"
repo="$(cd .. && pwd)"

apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "error: $* missing and not root to apt-get install it" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "== installing nodejs and npm (Debian)"
  apt_install nodejs npm
fi
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
  echo "error: Node.js $(node --version) is too old: Vite 8 needs 20.19 or newer" >&2
  exit 1
fi
if [ -z "${CHROMIUM:-}" ] && [ ! -x /usr/bin/chromium ]; then
  echo "== installing chromium (Debian)"
  apt_install chromium
fi
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

echo "== svelte-check"
npm run --silent check
echo "== eslint"
npm run --silent lint
echo "== API types: src/lib/api/schema.d.ts is generated from the OpenAPI copy"
# (The copy itself is checked against the server by the cargo test
# the_uis_copy_of_the_document_is_the_servers.)
generated="$(mktemp -d)"
npx openapi-typescript src/lib/api/openapi.json -o "$generated/schema.d.ts" >/dev/null 2>&1
if ! cmp -s src/lib/api/schema.d.ts "$generated/schema.d.ts"; then
  echo "error: src/lib/api/schema.d.ts is stale: run npm run api:types in web/" >&2
  exit 1
fi
rm -rf "$generated"
echo "== vitest (unit)"
npx vitest run
echo "== vite build (size)"
npm run --silent build | grep -E 'dist/|built in'

target="${CARGO_TARGET_DIR:-$repo/target}"
if [ -z "${VSPREAD_BIN:-}" ] && [ ! -x "$target/debug/vspread" ] && [ ! -x "$target/release/vspread" ]; then
  echo "== cargo build -p vspread (embeds the UI)"
  (cd "$repo" && cargo build --quiet -p vspread)
fi
echo "== browser tests (playwright-core + chromium against vspread demo)"
rm -rf test-results/screenshots
npx vitest run --config vitest.e2e.config.ts
echo "== screenshots"
ls -1 "$PWD"/test-results/screenshots/*.png
