#!/bin/bash
# smoke.sh WORKDIR: the benchmarks' smoke test (ctest label "bench"). Sets
# up a throwaway fixture of its own (tests/integration/fixture.sh: cluster,
# PKI, daemon), then runs every maillage-bench scenario once at tiny sizes:
# ingest, fanout, connections, handshakes (maillaged, TLS only, and the
# bare echo server), the identity search (maillage-searchbench, 300 stored
# identities) and, when Mosquitto is installed, fanout-mqtt. It passes
# when each one completes and reports its figures (a RESULT line, nothing
# lost, nothing refused). It never judges a figure: timings are not tested.
#
# Environment: MAILLAGE_BUILD_DIR, MAILLAGE_SOURCE_DIR (for fixture.sh) and
# MAILLAGE_BENCH_BIN and MAILLAGE_SEARCHBENCH_BIN (the generators).
set -euo pipefail

W=${1:?usage: smoke.sh WORKDIR}
W=$(realpath -m -- "$W")
FIX=${MAILLAGE_SOURCE_DIR:?}/tests/integration/fixture.sh
GEN=${MAILLAGE_BENCH_BIN:?}
SEARCH=${MAILLAGE_SEARCHBENCH_BIN:?}
MQTT_PID=""
ECHO_PID=""

fail() {
	echo "bench smoke: $*" >&2
	exit 1
}

cleanup() {
	local p
	for p in "$MQTT_PID" "$ECHO_PID"; do
		[[ -n $p ]] && kill "$p" 2>/dev/null || true
	done
	"$FIX" teardown "$W" >/dev/null 2>&1 || true
}
trap cleanup EXIT

mkdir -p "$(dirname "$W")"
"$FIX" setup "$W" >"$W.setup.log" 2>&1 || {
	tail -n 30 "$W.setup.log" >&2
	fail "fixture setup failed"
}
# shellcheck disable=SC1091 # written by fixture.sh
source "$W/env"
PKI=$MAILLAGE_PKI
PGPID=$(head -n 1 "$MAILLAGE_PGDATA/postmaster.pid" 2>/dev/null || echo 0)
crt() { echo "$PKI/clients/$1.crt:$PKI/clients/$1.key"; }
COMMON=(--port "$MAILLAGE_PORT" --ca "$PKI/ca.crt")

# value LINE KEY
value() {
	sed -n "s/.* $2=\\([^ ]*\\).*/\\1/p" <<<"$1"
}

# run NAME CHECK... -- ARGS: run the generator; each CHECK is KEY=VALUE
# (exact) or KEY>0 (a number above zero).
run() {
	local name=$1 checks=() out line c k v
	shift
	while [[ $1 != -- ]]; do
		checks+=("$1")
		shift
	done
	shift
	out=$("${BIN:-$GEN}" "$@" 2>"$W/$name.err") || {
		cat "$W/$name.err" >&2
		echo "$out" >&2
		fail "$name: $(basename "${BIN:-$GEN}") failed"
	}
	line=$(grep '^RESULT ' <<<"$out" | tail -n 1)
	[[ -n $line ]] || fail "$name: no RESULT line"
	echo "$line"
	for c in "${checks[@]}"; do
		if [[ $c == *'>0' ]]; then
			k=${c%>0}
			v=$(value "$line" "$k")
			awk -v v="$v" 'BEGIN { exit !(v + 0 > 0) }' ||
				fail "$name: $k is '$v', not a figure above 0"
		else
			k=${c%%=*}
			v=$(value "$line" "$k")
			[[ $v == "${c#*=}" ]] || fail "$name: $k is '$v', not '${c#*=}'"
		fi
	done
}

run ingest errors=0 failed=0 'stored>0' 'rate>0' 'p99_ms>0' -- \
	ingest "${COMMON[@]}" --cert "$(crt ase)" --to pjj75 --clients 2 \
	--duration 1 --warmup 0.2 --server-pid "$MAILLAGE_DAEMON_PID" \
	--pg-pid "$PGPID"
line=$(run fanout errors=0 failed=0 lost=0 'delivered>0' 'max_ms>0' -- \
	fanout "${COMMON[@]}" --cert "$(crt pjj)" --sender "$(crt ase)" \
	--to pjj75 --subs 5 --messages 3 --interval-ms 50 \
	--server-pid "$MAILLAGE_DAEMON_PID")
echo "$line"
[[ $(value "$line" delivered) == "$(value "$line" expected)" ]] ||
	fail "fanout: not every event was delivered"
run connections ready=20 failed=0 lost=0 'rate>0' -- \
	connections "${COMMON[@]}" --cert "$(crt pjj)" --conns 20 \
	--concurrency 5 --server-pid "$MAILLAGE_DAEMON_PID"
run hs-maillage failed=0 'done>0' 'rate>0' -- \
	handshakes "${COMMON[@]}" --cert "$(crt police)" --mode maillage \
	--duration 0.5 --concurrency 2
run hs-tls failed=0 'done>0' -- \
	handshakes "${COMMON[@]}" --cert "$(crt police)" --mode tls \
	--duration 0.5 --concurrency 2

# search: a few hundred generated identities stored as the daemon stores
# them, then searches by the coordinator through the daemon and through
# libpq alone.
BIN=$SEARCH run search-load 'stored>0' 'blocks>0' -- \
	load "$W/maillaged.conf" 300
BIN=$SEARCH run search clients=2 queries=30 'found>0' 'right_first>0' \
	'p99_ms>0' 'db_p99_ms>0' -- run "$W/maillaged.conf" "$W/client/coord.conf" 30 2

# A TCP port nobody listens on.
free_port() {
	local p i
	for ((i = 0; i < 200; i++)); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		[[ -z $(ss -Htan "sport = :$p" 2>/dev/null) ]] && {
			echo "$p"
			return 0
		}
	done
	fail "no free port"
}

# The bare TLS echo server, on a port of its own.
port=$(free_port)
"$GEN" echo-server --port "$port" --ca "$PKI/ca.crt" --crl "$PKI/crl.pem" \
	--server-cert "$PKI/server.crt" --server-key "$PKI/server.key" \
	2>"$W/echo-server.err" &
ECHO_PID=$!
for ((i = 0; i < 50; i++)); do
	[[ -n $(ss -Htln "sport = :$port" 2>/dev/null) ]] && break
	sleep 0.1
done
run hs-echo failed=0 'done>0' -- \
	handshakes --port "$port" --ca "$PKI/ca.crt" --cert "$(crt police)" \
	--mode echo --duration 0.5 --concurrency 2
kill "$ECHO_PID"
wait "$ECHO_PID" 2>/dev/null || true
ECHO_PID=""

# Mosquitto, when installed (deploy/bench installs it; run-tests does not).
MOSQ=$(command -v mosquitto || true)
[[ -n $MOSQ || ! -x /usr/sbin/mosquitto ]] || MOSQ=/usr/sbin/mosquitto
if [[ -n $MOSQ ]]; then
	mport=$(free_port)
	cat >"$W/mosquitto.conf" <<CONF
per_listener_settings false
listener $mport 127.0.0.1
cafile $PKI/ca.crt
certfile $PKI/server.crt
keyfile $PKI/server.key
require_certificate true
use_identity_as_username true
persistence false
log_dest stderr
log_type error
CONF
	((EUID != 0)) || echo "user root" >>"$W/mosquitto.conf"
	"$MOSQ" -c "$W/mosquitto.conf" 2>"$W/mosquitto.err" &
	MQTT_PID=$!
	for ((i = 0; i < 50; i++)); do
		[[ -n $(ss -Htln "sport = :$mport" 2>/dev/null) ]] && break
		sleep 0.1
	done
	line=$(run fanout-mqtt failed=0 lost=0 'delivered>0' -- \
		fanout-mqtt --port "$mport" --ca "$PKI/ca.crt" \
		--cert "$(crt pjj)" --subs 5 --messages 3 --interval-ms 50 \
		--payload 74)
	echo "$line"
	[[ $(value "$line" delivered) == "$(value "$line" expected)" ]] ||
		fail "fanout-mqtt: not every message was delivered"
else
	echo "bench smoke: mosquitto not installed: fanout-mqtt skipped"
fi
echo "bench smoke: every scenario ran and reported"
