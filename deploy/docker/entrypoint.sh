#!/bin/sh
# vspread's container entrypoint (POSIX sh: Debian slim's dash).
#
#   vspread-entrypoint [--live] [RUN FLAGS]   seed /data if needed, then `vspread run`
#   vspread-entrypoint seed                   seed /data if needed, then exit
#                                             (the Kubernetes initContainer)
#   vspread-entrypoint healthcheck            `vspread healthcheck` against
#                                             $VSPREAD_HEALTHCHECK_URL (default
#                                             https://127.0.0.1:8080/readyz): the
#                                             image's HEALTHCHECK
#   vspread-entrypoint SUBCOMMAND [ARGS]      any other vspread subcommand
#
# Seeding happens on first start only, so edits made later (in the web UI,
# or by hand) persist on the volume:
# - config.toml: when $VSPREAD_DATA/config.toml is missing, the file at
#   $VSPREAD_SEED_CONFIG is validated and copied there; without that
#   variable, `vspread config init` writes the commented defaults and the
#   keys a container needs are set: [server] listen (VSPREAD_LISTEN,
#   default 0.0.0.0:8080), token_file "admin.token", tls_cert_file
#   "tls/cert.pem", tls_key_file "tls/key.pem", [storage] data_dir ".",
#   [logging] format "json", [ibkr] host and port (VSPREAD_IBKR_HOST,
#   default host.docker.internal; VSPREAD_IBKR_PORT, default 7497: TWS
#   paper on the host). trading.mode stays "paper".
# - admin.token: when $VSPREAD_SEED_TOKEN names a readable file (a mounted
#   Secret), it is copied to $VSPREAD_DATA/admin.token at every start, so a
#   rotated Secret applies on restart; otherwise a random token is written
#   once, mode 0600. The token is never printed.
# - tls/cert.pem and tls/key.pem (the admin server's TLS, required beyond
#   loopback): when $VSPREAD_SEED_TLS names a directory holding tls.crt and
#   tls.key (a mounted kubernetes.io/tls Secret), they are copied at every
#   start; otherwise `vspread tls self-signed` makes a pair once.
set -eu

data=${VSPREAD_DATA:-/data}
config="$data/config.toml"
token="$data/admin.token"

fail() {
	echo "vspread-entrypoint: $*" >&2
	exit 2
}

seed_config() {
	[ -e "$config" ] && return 0
	stage="$data/.seed.$$"
	rm -rf "$stage"
	mkdir -p "$stage" || fail "cannot create $stage (is $data writable by uid $(id -u)?)"
	trap 'rm -rf "$stage"' EXIT
	if [ -n "${VSPREAD_SEED_CONFIG:-}" ]; then
		[ -r "$VSPREAD_SEED_CONFIG" ] || fail "VSPREAD_SEED_CONFIG=$VSPREAD_SEED_CONFIG is not a readable file"
		cp "$VSPREAD_SEED_CONFIG" "$stage/config.toml"
		vspread config validate --config "$stage/config.toml" >/dev/null ||
			fail "$VSPREAD_SEED_CONFIG is not a valid config (errors above)"
	else
		vspread config init --config "$stage/config.toml" >/dev/null
		for kv in \
			"server.listen=${VSPREAD_LISTEN:-0.0.0.0:8080}" \
			"server.token_file=admin.token" \
			"server.tls_cert_file=tls/cert.pem" \
			"server.tls_key_file=tls/key.pem" \
			"storage.data_dir=." \
			"logging.format=json" \
			"ibkr.host=${VSPREAD_IBKR_HOST:-host.docker.internal}" \
			"ibkr.port=${VSPREAD_IBKR_PORT:-7497}"; do
			vspread config set "${kv%%=*}" "${kv#*=}" --config "$stage/config.toml" >/dev/null ||
				fail "cannot set ${kv%%=*} to ${kv#*=} (errors above)"
		done
	fi
	mv "$stage/config.toml" "$config"
	rm -rf "$stage"
	trap - EXIT
	echo "vspread-entrypoint: wrote $config (first start)" >&2
}

seed_token() {
	old_umask=$(umask)
	umask 077
	if [ -n "${VSPREAD_SEED_TOKEN:-}" ] && [ -r "$VSPREAD_SEED_TOKEN" ]; then
		cp "$VSPREAD_SEED_TOKEN" "$token.new"
		chmod 0600 "$token.new"
		mv "$token.new" "$token"
		echo "vspread-entrypoint: admin token taken from $VSPREAD_SEED_TOKEN" >&2
	elif [ ! -e "$token" ]; then
		od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$token.new"
		echo >>"$token.new"
		mv "$token.new" "$token"
		echo "vspread-entrypoint: generated an admin token in $token (read it from there)" >&2
	fi
	umask "$old_umask"
}

seed_tls() {
	old_umask=$(umask)
	umask 077
	mkdir -p "$data/tls"
	if [ -n "${VSPREAD_SEED_TLS:-}" ] && [ -r "$VSPREAD_SEED_TLS/tls.crt" ] && [ -r "$VSPREAD_SEED_TLS/tls.key" ]; then
		cp "$VSPREAD_SEED_TLS/tls.crt" "$data/tls/cert.pem.new"
		cp "$VSPREAD_SEED_TLS/tls.key" "$data/tls/key.pem.new"
		mv "$data/tls/key.pem.new" "$data/tls/key.pem"
		mv "$data/tls/cert.pem.new" "$data/tls/cert.pem"
		echo "vspread-entrypoint: TLS certificate taken from $VSPREAD_SEED_TLS" >&2
	elif [ ! -e "$data/tls/cert.pem" ] || [ ! -e "$data/tls/key.pem" ]; then
		vspread tls self-signed --force --cert "$data/tls/cert.pem" --key "$data/tls/key.pem" \
			--name localhost --name 127.0.0.1 --name vspread --name "$(hostname)" ||
			fail "cannot make a TLS certificate in $data/tls"
	fi
	umask "$old_umask"
}

case "${1:-}" in
healthcheck) ;;
*) [ -d "$data" ] || fail "$data is missing: mount a volume there" ;;
esac

case "${1:-}" in
seed)
	seed_config
	seed_token
	seed_tls
	;;
healthcheck)
	shift
	exec vspread healthcheck --url "${VSPREAD_HEALTHCHECK_URL:-https://127.0.0.1:8080/readyz}" --config "$config" "$@"
	;;
"" | -*)
	seed_config
	seed_token
	seed_tls
	exec vspread run --config "$config" "$@"
	;;
*)
	exec vspread "$@"
	;;
esac
