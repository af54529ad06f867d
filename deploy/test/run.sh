#!/usr/bin/env bash
# Every deploy check, as scripts/test-all.sh runs them (it installs the
# tools first; see its "deploy" step). Each part fails with what is wrong:
#
#   lint           hadolint on the Dockerfile (and on a bad one, which must
#                  fail), shellcheck on the entrypoint and these scripts
#   compose        compose_check.py: the compose file against the compose
#                  schema, and what the stack promises
#   k8s            k8s_check.py: every overlay rendered and validated strictly
#   observability  observability.sh: rules and their unit tests, Alertmanager,
#                  dashboards, metric names, a live demo scraped by Prometheus
#   image          image.sh: the Dockerfile's runtime stage built and run
#                  under podman against a vspread sim
#
# Usage: deploy/test/run.sh [PART ...]   (default: all, in that order)
# The vspread binary: $VSPREAD_BIN, else the debug build `cargo test` made.
set -euo pipefail
cd "$(dirname "$0")/../.."

binary=${VSPREAD_BIN:-${CARGO_TARGET_DIR:-target}/debug/vspread}
if [ ! -x "$binary" ]; then
	cargo build --quiet -p vspread
fi
[ -x "$binary" ] || {
	echo "deploy: no vspread binary at $binary" >&2
	exit 1
}
binary=$(realpath "$binary")

passed=0
failed=0
part() {
	local name=$1
	shift
	local started=$SECONDS
	printf '\n-- deploy: %s\n' "$name"
	if "$@"; then
		passed=$((passed + 1))
		printf -- '-- deploy: %s passed (%d s)\n' "$name" $((SECONDS - started))
	else
		failed=$((failed + 1))
		printf -- '-- deploy: %s FAILED (%d s)\n' "$name" $((SECONDS - started))
	fi
}

lint() {
	hadolint Dockerfile || return 1
	local bad
	bad=$(mktemp)
	printf 'FROM debian\nRUN apt-get update && apt-get install curl\n' >"$bad"
	if hadolint "$bad" >/dev/null 2>&1; then
		echo "  lint: hadolint passed a Dockerfile with an untagged base and unpinned apt-get" >&2
		rm -f "$bad"
		return 1
	fi
	rm -f "$bad"
	shellcheck deploy/docker/entrypoint.sh deploy/test/*.sh || return 1
	echo "  lint: hadolint $(hadolint --version | grep -o '[0-9][0-9.]*' | head -1) passes the Dockerfile (and fails a bad one); shellcheck passes the scripts"
}

parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(lint compose k8s observability image)
for p in "${parts[@]}"; do
	case $p in
	lint) part lint lint ;;
	compose) part compose python3 deploy/test/compose_check.py ;;
	k8s) part k8s python3 deploy/test/k8s_check.py "$binary" ;;
	observability) part observability bash deploy/test/observability.sh "$binary" ;;
	image) part image bash deploy/test/image.sh "$binary" ;;
	*)
		echo "deploy: unknown part $p (lint, compose, k8s, observability, image)" >&2
		exit 2
		;;
	esac
done
echo
echo "deploy: $passed passed, $failed failed"
[ "$failed" = 0 ]
