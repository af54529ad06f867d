#!/usr/bin/env bash
# The container image, built and run here without a registry or a Docker
# daemon (podman and buildah, daemonless, as root):
#
# 1. the runtime stage's base: Debian 12 (bookworm) minbase made by
#    debootstrap from the machine's own Debian mirror, slimmed as Debian's
#    slim images are (no .debs, docs, man pages or locales) and imported as
#    localhost/vspread-test-base:bookworm; kept in $STATE between runs;
# 2. the image: the repository's Dockerfile, `--target runtime-prebuilt`
#    with RUNTIME_IMAGE=that base: the Dockerfile's runtime-base stage,
#    instruction for instruction, plus the host-built binary (debug info
#    stripped, as the build stage does) where the image proper copies the
#    build stage's (which needs the rust and node images from a registry);
# 3. a run: `vspread sim` on the host's loopback, the container on the
#    host's network (nothing leaves 127.0.0.1), its root filesystem
#    read-only (as in Kubernetes), a named volume on /data.
#    Checked from outside: /healthz, /readyz, /metrics (the gateway link is
#    up: the container reached the sim), the admin API with the token the
#    entrypoint generated, the process's uid (from /proc, not 0), the
#    image's user, volume, port, entrypoint and healthcheck; a config
#    apply through the API survives `podman restart` and a new container on
#    the same volume, which re-seeds nothing; `--live` against the paper
#    config is refused; the initContainer's `seed` takes
#    deploy/k8s/base/config.toml once and the token at every start.
#
# Usage: deploy/test/image.sh [VSPREAD_BINARY]
#   VSPREAD_BINARY  default: $CARGO_TARGET_DIR/debug/vspread (the one
#                   `cargo test` built), else target/debug/vspread; it also
#                   runs the sim
#   VSPREAD_TEST_IMAGE=NAME  run the checks of step 3 on an image already in
#                   the test's storage (say, one built from the whole
#                   Dockerfile) instead of building runtime-prebuilt
# Prints the figures: image build time, image size, cold start to ready.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD

log() { printf '  image: %s\n' "$*"; }
fail() {
	printf '  image: FAILED: %s\n' "$*" >&2
	exit 1
}

target_dir=${CARGO_TARGET_DIR:-$repo/target}
binary=${1:-$target_dir/debug/vspread}
[ -x "$binary" ] || fail "no vspread binary at $binary (build it first, or pass its path)"
[ "$(id -u)" = 0 ] || fail "run as root (podman and buildah run rootful here)"
for tool in podman buildah debootstrap runc curl python3 objcopy; do
	command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/test-all.sh installs it)"
done

state=${VSPREAD_IMAGE_TEST_STATE:-/var/tmp/vspread-image-test}
mkdir -p "$state"
storage=(--root "$state/storage" --runroot "$state/run" --storage-driver overlay)
# Podman's complaints that it cannot schedule healthcheck timers without
# systemd go to $work/podman.log (the check below runs the healthcheck by
# hand). runc, not Debian 12's crun: crun refuses this kernel's hybrid cgroup
# layout ("cgroups in hybrid mode not supported"). The rlimits are set
# explicitly because podman's defaults (nproc 1048576, nofile 1048576) are
# above this machine's hard limits and root here lacks CAP_SYS_RESOURCE.
nofile=$(ulimit -Hn)
pod() { podman "${storage[@]}" --runtime runc --events-backend file "$@"; }
run_flags=(--network host --ulimit "nofile=$nofile:$nofile" --ulimit nproc=4096:4096)

base=localhost/vspread-test-base:bookworm
image=localhost/vspread:test

# --- 1. the base ------------------------------------------------------------
if ! pod image exists "$base"; then
	mirror=$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
	if [ -z "$mirror" ]; then
		mirror=$(sed -n 's/^deb \[*[^]]*\]* *\(http[^ ]*\/debian\) bookworm .*/\1/p; s/^deb \(http[^ ]*\/debian\) bookworm .*/\1/p' /etc/apt/sources.list 2>/dev/null | head -1)
	fi
	[ -n "$mirror" ] || fail "cannot find this machine's Debian mirror in /etc/apt/sources.list(.d)"
	rootfs="$state/rootfs"
	rm -rf "$rootfs"
	log "debootstrap bookworm minbase (first run only)"
	started=$(date +%s)
	debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$state/debootstrap.log" 2>&1 ||
		fail "debootstrap failed; see $state/debootstrap.log"
	rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin \
		"$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* \
		"$rootfs"/usr/share/info/* "$rootfs"/var/log/*.log
	find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
	tar -C "$rootfs" -c . | pod import --quiet - "$base" >/dev/null
	rm -rf "$rootfs"
	log "base made in $(($(date +%s) - started)) s"
fi

# A container can run here at all (else say exactly why, and stop).
if ! out=$(pod run --rm "${run_flags[@]}" "$base" true 2>&1); then
	fail "podman cannot run a container on this machine: $out"
fi

# --- 2. the image -----------------------------------------------------------
work=$(mktemp -d)
sim_pid=
containers=()
volumes=()
cleanup() {
	for c in "${containers[@]}"; do pod rm -f -t 2 "$c" >/dev/null 2>&1 || true; done
	for v in "${volumes[@]}"; do pod volume rm -f "$v" >/dev/null 2>&1 || true; done
	if [ -n "$sim_pid" ]; then kill "$sim_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

if [ -n "${VSPREAD_TEST_IMAGE:-}" ]; then
	image=$VSPREAD_TEST_IMAGE
	pod image exists "$image" || fail "no image $image in $state/storage"
	build_s="-"
	log "testing the given image $image"
else
	mkdir -p "$work/context/prebuilt" "$work/context/deploy/docker"
	objcopy --strip-debug "$binary" "$work/context/prebuilt/vspread"
	cp deploy/docker/entrypoint.sh "$work/context/deploy/docker/"
	started=$(date +%s.%N)
	buildah "${storage[@]}" bud --quiet --format docker --isolation chroot \
		-f "$repo/Dockerfile" --target runtime-prebuilt --build-arg RUNTIME_IMAGE="$base" \
		-t "$image" "$work/context" >"$work/build.log" 2>&1 || {
		cat "$work/build.log" >&2
		fail "building the Dockerfile's runtime-prebuilt stage failed"
	}
	build_s=$(python3 -c "print(f'{$(date +%s.%N) - $started:.1f}')")
fi
size=$(pod image inspect --format '{{.Size}}' "$image")
log "image built in ${build_s} s; size $((size / 1000000)) MB (base $(($(pod image inspect --format '{{.Size}}' "$base") / 1000000)) MB)"

inspect() { pod image inspect --format "$1" "$image"; }
[ "$(inspect '{{.Config.User}}')" = "10001:10001" ] || fail "the image's user is '$(inspect '{{.Config.User}}')', not 10001:10001"
inspect '{{json .Config.Volumes}}' | grep -q '"/data"' || fail "no /data volume: $(inspect '{{json .Config.Volumes}}')"
inspect '{{json .Config.ExposedPorts}}' | grep -q '"8080/tcp"' || fail "8080 not exposed"
[ "$(inspect '{{json .Config.Entrypoint}}')" = '["/usr/local/bin/vspread-entrypoint"]' ] ||
	fail "unexpected entrypoint $(inspect '{{json .Config.Entrypoint}}')"
health=$(pod image inspect --format '{{json .HealthCheck}}' "$image")
case $health in
*'"CMD","/usr/local/bin/vspread-entrypoint","healthcheck"]'*) ;;
*) fail "the image's HEALTHCHECK is not the entrypoint's healthcheck: $health" ;;
esac
log "user 10001:10001, VOLUME /data, EXPOSE 8080, ENTRYPOINT and HEALTHCHECK as written"

# --- 3. run it against a sim on the host --------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
sim_port=$(free_port)
api_port=$(free_port)
"$binary" sim --listen "127.0.0.1:$sim_port" --always-open --seed 7 >"$work/sim.log" 2>&1 &
sim_pid=$!
# The container serves TLS (its seeded config names tls/cert.pem, made
# self-signed at first start): curl -k and an unverified context here.
api="https://127.0.0.1:$api_port"

volume="vspread-test-$$"
pod volume create "$volume" >/dev/null
volumes+=("$volume")
start_container() {
	local name=$1
	shift
	pod run -d --name "$name" "${run_flags[@]}" --read-only --read-only-tmpfs=false -v "$volume:/data" \
		-e VSPREAD_IBKR_HOST=127.0.0.1 -e VSPREAD_IBKR_PORT="$sim_port" \
		-e VSPREAD_LISTEN="127.0.0.1:$api_port" -e VSPREAD_HEALTHCHECK_URL="$api/readyz" \
		"$image" "$@" >/dev/null 2>>"$work/podman.log"
	containers+=("$name")
}
# Waits for /readyz to answer 200; prints the seconds it took.
wait_ready() {
	python3 - "$api/readyz" "$1" <<'EOF'
import ssl, sys, time, urllib.request
url, since = sys.argv[1], float(sys.argv[2])
deadline = time.time() + 60
while time.time() < deadline:
    try:
        with urllib.request.urlopen(url, timeout=2, context=ssl._create_unverified_context()) as r:
            if r.status == 200:
                print(f"{time.time() - since:.2f}")
                sys.exit(0)
    except Exception:
        pass
    time.sleep(0.05)
sys.exit(1)
EOF
}
logs() {
	pod logs "$1" 2>&1 | tail -40 >&2
	tail -5 "$work/podman.log" >&2
}

c1="vspread-test-$$-a"
started=$(date +%s.%N)
start_container "$c1"
ready_s=$(wait_ready "$started") || {
	logs "$c1"
	fail "/readyz did not answer 200 within 60 s"
}
log "cold start to ready: ${ready_s} s (podman run to /readyz 200)"

status() { curl -ks -o /dev/null -w '%{http_code}' "$@"; }
case $(curl -kfsS "$api/healthz") in *'"alive":true'*) ;; *) fail "/healthz did not answer alive" ;; esac
# The gateway link is up: the container reached the sim on the host.
deadline=$((SECONDS + 30))
metrics_has() {
	local text
	text=$(curl -kfsS "$api/metrics") || return 1
	grep -qxF "$1" <<<"$text"
}
until metrics_has 'vspread_gateway_connected 1'; do
	[ $SECONDS -lt $deadline ] || {
		logs "$c1"
		fail "/metrics never showed vspread_gateway_connected 1"
	}
	sleep 0.2
done
metrics_has '# TYPE vspread_gateway_connects counter' || fail "/metrics is not the exposition vspread writes"
page=$(curl -kfsS "$api/") || fail "GET / (the web UI) failed"
case $page in *'<div id="app"'* | *'<!doctype html'* | *'<!DOCTYPE html'*) ;; *) fail "GET / is not the web UI's page" ;; esac
log "/healthz ok, /readyz 200, /metrics shows the gateway link to the sim up, / serves the web UI"

pid=$(pod inspect --format '{{.State.Pid}}' "$c1")
uid=$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")
cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline")
[ "$uid" != 0 ] || fail "the container's process runs as root"
[ "$uid" = 10001 ] || fail "the container's process runs as uid $uid, not 10001"
case $cmd in "vspread run --config /data/config.toml"*) ;; *) fail "pid 1 is '$cmd', not vspread run" ;; esac
log "pid 1 is '$cmd' with uid $uid (read from /proc on the host)"

# The API with the token the entrypoint generated (read, never printed).
token=$(pod exec "$c1" cat /data/admin.token)
[ ${#token} -ge 32 ] || fail "no admin token in /data/admin.token"
[ "$(status -H "Authorization: Bearer $token" "$api/api/v1/status")" = 200 ] || fail "the API refused the token in /data/admin.token"
[ "$(status "$api/api/v1/status")" = 401 ] || fail "the API answered without a token"
mode=$(pod exec "$c1" stat -c '%a %u' /data/admin.token)
[ "$mode" = "600 10001" ] || fail "admin.token is '$mode', not mode 600 owned by 10001"
mode=$(pod exec "$c1" stat -c '%a %u' /data/tls/key.pem)
[ "$mode" = "600 10001" ] || fail "tls/key.pem is '$mode', not mode 600 owned by 10001"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$api_port/healthz")" != 200 ] ||
	fail "the container answered plain HTTP"

if pod exec "$c1" vspread help healthcheck >/dev/null 2>&1; then
	pod healthcheck run "$c1" >/dev/null || fail "the image's HEALTHCHECK failed on a ready container"
	log "HEALTHCHECK (vspread healthcheck) passes on the ready container"
else
	log "NOTE: this vspread has no 'healthcheck' subcommand yet (issue 13); the HEALTHCHECK was not run"
fi

# A config apply through the API (what the UI does) lands on the volume.
python3 - "$api" "$token" <<'EOF' || fail "the config apply through the API failed"
import json, ssl, sys, urllib.request
api, token = sys.argv[1], sys.argv[2]
auth = {"Authorization": f"Bearer {token}"}
tls = ssl._create_unverified_context()
with urllib.request.urlopen(urllib.request.Request(f"{api}/api/v1/config", headers=auth), context=tls) as r:
    etag, config = r.headers["ETag"], json.load(r)
config["trading"]["scan_interval_s"] = 123
req = urllib.request.Request(f"{api}/api/v1/config", method="PUT", data=json.dumps(config).encode(),
                             headers={**auth, "If-Match": etag, "Content-Type": "application/json"})
with urllib.request.urlopen(req, context=tls) as r:
    assert r.status == 200, r.status
EOF
grep_config() { pod exec "$1" grep -c '^scan_interval_s = 123' /data/config.toml; }
[ "$(grep_config "$c1")" = 1 ] || fail "the applied scan_interval_s is not in /data/config.toml"
sum_before=$(pod exec "$c1" sha256sum /data/config.toml /data/admin.token)

# Restart the container, then replace it: /data survives both.
pod restart -t 10 "$c1" >/dev/null 2>>"$work/podman.log"
wait_ready "$(date +%s.%N)" >/dev/null || {
	logs "$c1"
	fail "not ready again after podman restart"
}
[ "$(pod exec "$c1" sha256sum /data/config.toml /data/admin.token)" = "$sum_before" ] ||
	fail "config.toml or admin.token changed across a restart"
pod rm -f -t 10 "$c1" >/dev/null 2>>"$work/podman.log"
c2="vspread-test-$$-b"
started=$(date +%s.%N)
start_container "$c2"
wait_ready "$started" >/dev/null || {
	logs "$c2"
	fail "a new container on the same volume did not get ready"
}
[ "$(pod exec "$c2" sha256sum /data/config.toml /data/admin.token)" = "$sum_before" ] ||
	fail "config.toml or admin.token differ in a new container on the same volume"
[ "$(status -H "Authorization: Bearer $token" "$api/api/v1/status")" = 200 ] || fail "the old token no longer works"
if pod logs "$c2" 2>&1 | grep -q 'first start'; then fail "the new container re-seeded /data"; fi
pod exec "$c2" test -s /data/journal.sqlite3 || fail "no journal on the volume"
log "a config apply, the token and the journal survive podman restart and a new container on the volume"
pod rm -f -t 10 "$c2" >/dev/null 2>>"$work/podman.log"

# Paper unless the file says live too: --live against the paper config is refused.
if out=$(pod run --rm "${run_flags[@]}" -v "$volume:/data" "$image" --live 2>&1 | grep -v 'systemd connection'); then
	fail "--live with a paper config started"
fi
case $out in *'--live given but trading.mode is "paper"'*) ;; *) fail "--live was not refused for the right reason: $out" ;; esac
log "--live against the paper config is refused: ${out##*error: }"

# The Kubernetes initContainer's path: `seed` copies the ConfigMap's file
# (deploy/k8s/base/config.toml) on the first start only, and the Secret's
# token at every start; an invalid seed config is refused, naming it.
seed_volume="vspread-test-seed-$$"
pod volume create "$seed_volume" >/dev/null
volumes+=("$seed_volume")
mkdir -p "$work/seed"
cp deploy/k8s/base/config.toml "$work/seed/config.toml"
python3 -c 'import secrets; print(secrets.token_hex(32))' >"$work/seed/admin.token"
chmod 0644 "$work/seed/admin.token" "$work/seed/config.toml"
seed() {
	pod run --rm "${run_flags[@]}" --read-only --read-only-tmpfs=false -v "$seed_volume:/data" -v "$work/seed:/seed:ro" \
		-e VSPREAD_SEED_CONFIG=/seed/config.toml -e VSPREAD_SEED_TOKEN=/seed/admin.token "$image" seed 2>&1
}
seed >"$work/seed.log" || fail "seed failed: $(cat "$work/seed.log")"
same() { [ "$(pod run --rm "${run_flags[@]}" -v "$seed_volume:/data" --entrypoint cat "$image" "/data/$1" 2>>"$work/podman.log")" = "$(cat "$2")" ]; }
same config.toml deploy/k8s/base/config.toml || fail "seed did not copy the ConfigMap's config.toml"
same admin.token "$work/seed/admin.token" || fail "seed did not copy the Secret's token"
echo '# edited in the UI' >>"$work/seed/config.toml"
python3 -c 'import secrets; print(secrets.token_hex(32))' >"$work/seed/admin.token"
seed >"$work/seed.log" || fail "the second seed failed: $(cat "$work/seed.log")"
same config.toml deploy/k8s/base/config.toml || fail "a second start re-seeded config.toml"
same admin.token "$work/seed/admin.token" || fail "a rotated Secret's token was not taken"
pod volume rm -f "$seed_volume" >/dev/null
pod volume create "$seed_volume" >/dev/null
printf '[trading]\nmode = "paper-ish"\n' >"$work/seed/config.toml"
if seed >"$work/seed.log"; then fail "an invalid seed config was accepted"; fi
if ! grep -q 'trading.mode' "$work/seed.log" || ! grep -q '/seed/config.toml is not a valid config' "$work/seed.log"; then
	fail "the invalid seed config was not named: $(cat "$work/seed.log")"
fi
log "seed (the initContainer): the ConfigMap's config on first start only, the Secret's token every start, a bad config refused"

printf '  image: figures: build %s s, size %s MB, cold start to ready %s s\n' "$build_s" "$((size / 1000000))" "$ready_s"
