#!/bin/bash
# fixture.sh: the world of the integration tests: a network CA with client
# certificates of every kind (valid, unenrolled, disabled, expired, revoked,
# signed by another CA), a throwaway PostgreSQL 15 cluster, a migrated
# database holding the demo network, and a running maillaged.
#
# Usage (MAILLAGE_BUILD_DIR and MAILLAGE_SOURCE_DIR set for setup):
#   fixture.sh setup WORKDIR
#   fixture.sh teardown WORKDIR        never fails when things are gone, but
#                                      fails when a daemon log holds a
#                                      sanitizer or valgrind report
#   fixture.sh check-logs WORKDIR      that check alone
#   fixture.sh pg-stop WORKDIR         pg_ctl stop -m fast, waits
#   fixture.sh daemon-crash WORKDIR    SIGKILL, wait until the process is
#                                      gone and its port free, start again
#                                      on the same port; fails unless the
#                                      new process is the one listening
#   fixture.sh pg-stop-immediate WORKDIR  pg_ctl stop -m immediate (a crash
#                                      of PostgreSQL: recovery at next start)
#   fixture.sh pg-tmpfs-on WORKDIR     move the cluster's data onto a tmpfs
#                                      sized to hold it with 64 MiB to spare
#                                      (root, mount allowed; the data
#                                      directory becomes a symbolic link);
#                                      PostgreSQL is restarted
#   fixture.sh pg-fill WORKDIR         fill that tmpfs (no byte left)
#   fixture.sh pg-unfill WORKDIR       free it again; starts PostgreSQL if
#                                      it stopped meanwhile
#   fixture.sh pg-tmpfs-off WORKDIR    move the data back to disk, unmount;
#                                      a no-op when not on a tmpfs
#   fixture.sh pg-start WORKDIR        starts and waits for pg_isready
#   fixture.sh daemon-restart WORKDIR  SIGTERM, wait, start on the same port
#   fixture.sh daemon-kill WORKDIR     SIGKILL, start again on the same port
#   fixture.sh daemon2-start WORKDIR   a second maillaged on the same cluster
#                                      (another port, instance_id itest2,
#                                      maillaged2.conf/.log, client2/LOGIN.conf)
#   fixture.sh daemon2-stop WORKDIR    SIGTERM the second maillaged, waits
#   fixture.sh psql WORKDIR SQL        prints `psql -XAt -c SQL` output
#   fixture.sh enrol-kinds WORKDIR     enrol one partner institution of each
#                                      kind the demo network lacks, with an
#                                      account, certificate and client/LOGIN.conf
#                                      (gend@gend77 gendarmerie, sante@hopital75
#                                      health, avocat@avocat75 lawyer,
#                                      ecole@ecole75 education, autre@autre75
#                                      other) and ferme75, a disabled
#                                      association without account (test_notice);
#                                      idempotent
#
# setup leaves in WORKDIR:
#   pki/             network CA (ca.crt, crl.pem, server.crt/.key) and
#                    pki/clients/LOGIN.crt/.key for the seven demo accounts
#                    (coord ase pjj police juge admin auditor) and for
#                    unenrolled (valid, ase75, not in the database),
#                    disabled (partner at ase75, account disabled),
#                    expired (partner at ase75, certificate expired),
#                    revoked (partner at ase75, certificate in the CRL)
#   otherca/         an independent CA with the same name as the network CA
#                    and otherca/clients/rogue.crt/.key (CN=ase, O=ase75)
#   client/LOGIN.conf  client configuration for each certificate above
#                    (rogue's trusts the real network CA for the server)
#   audit/           signing.key (the daemon's audit checkpoint key, mode
#                    600) and signing.key.pub
#   maillaged.conf   daemon configuration; maillaged.log its stderr
#   env              KEY=VALUE lines: MAILLAGE_HOST MAILLAGE_PORT MAILLAGE_PKI
#                    MAILLAGE_PGDATA MAILLAGE_PGHOST MAILLAGE_PGPORT
#                    MAILLAGE_DB MAILLAGE_DAEMON_PID MAILLAGE_CLIENT_BIN
#                    MAILLAGE_DAEMON_BIN MAILLAGE_WORKDIR
#   .state           the same and what teardown needs, written as setup goes
# The cluster's data directory and socket live in /tmp/maillage-itest.XXXXXX
# (reachable by the postgres user when the build tree is under /root). As
# root, the cluster runs as the postgres user (initdb refuses root); the
# daemon runs as the invoking user.
set -euo pipefail

readonly PROG=fixture.sh
readonly PGBIN=${MAILLAGE_PGBIN:-/usr/lib/postgresql/15/bin}
readonly MARKER=.maillage-fixture
readonly DEMO_LOGINS=(coord ase pjj police juge admin auditor)
readonly EXTRA_LOGINS=(unenrolled disabled expired revoked)

die() {
	echo "$PROG: $*" >&2
	exit 1
}

note() {
	echo "$PROG: $*" >&2
}

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
	exit 2
}

# ---- state -----------------------------------------------------------------

# state_set WORKDIR KEY VALUE: record KEY=VALUE in WORKDIR/.state.
state_set() {
	local f=$1/.state tmp
	tmp="$f.tmp.$$"
	{
		if [[ -f $f ]]; then grep -v "^$2=" "$f" || true; fi
		printf '%s=%s\n' "$2" "$3"
	} >"$tmp"
	mv -f "$tmp" "$f"
}

# state_get WORKDIR KEY: print the value, empty if unknown.
state_get() {
	local f=$1/.state k v
	[[ -f $f ]] || return 0
	while IFS='=' read -r k v; do
		if [[ $k == "$2" ]]; then
			printf '%s\n' "$v"
			return 0
		fi
	done <"$f"
}

write_env() {
	local w=$1 k tmp="$1/env.tmp.$$"
	for k in MAILLAGE_HOST MAILLAGE_PORT MAILLAGE_PKI MAILLAGE_PGDATA \
		MAILLAGE_PGHOST MAILLAGE_PGPORT MAILLAGE_DB MAILLAGE_DAEMON_PID \
		MAILLAGE_CLIENT_BIN MAILLAGE_DAEMON_BIN MAILLAGE_WORKDIR; do
		printf '%s=%s\n' "$k" "$(state_get "$w" "$k")"
	done >"$tmp"
	mv -f "$tmp" "$w/env"
}

# ---- helpers ---------------------------------------------------------------

# Run a PostgreSQL server program as the cluster's owner, from / (initdb
# and pg_ctl fail when they cannot read the current directory).
as_pg() {
	if ((EUID == 0)); then
		(cd / && runuser -u postgres -- "$@")
	else
		(cd / && "$@")
	fi
}

# A TCP port nobody listens on (random in 20000-59999, checked with ss).
free_port() {
	local port i used
	used=$(ss -Htan 2>/dev/null | awk '{ n = split($4, a, ":"); print a[n] }' || true)
	for ((i = 0; i < 200; i++)); do
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		if ! grep -qx "$port" <<<"$used"; then
			echo "$port"
			return 0
		fi
	done
	die "no free TCP port found"
}

port_listening() {
	if command -v ss >/dev/null; then
		[[ -n $(ss -Htln "sport = :$1" 2>/dev/null) ]]
	else
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
	fi
}

# Is PID a live process (not a zombie)?
alive() {
	local stat
	[[ $1 =~ ^[0-9]+$ ]] || return 1
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat:0:1} != Z ]]
}

# Is PID alive and running maillaged?
is_daemon() {
	alive "$1" || return 1
	tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q maillaged
}

check_conf_lines() {
	# libinih (Debian) reads at most 199 characters per line.
	local f=$1 n
	n=$(awk 'length($0) > 199 { print FNR; exit }' "$f")
	[[ -z $n ]] || die "$f:$n: line longer than 199 characters (path too long?)"
}

# ---- PostgreSQL --------------------------------------------------------------

pg_start() {
	local w=$1 pgdata pgtmp pghost pgport i
	pgdata=$(state_get "$w" MAILLAGE_PGDATA)
	pgtmp=$(state_get "$w" PGTMP)
	pghost=$(state_get "$w" MAILLAGE_PGHOST)
	pgport=$(state_get "$w" MAILLAGE_PGPORT)
	[[ -n $pgdata && -d $pgdata ]] || die "no cluster recorded in $w"
	if as_pg "$PGBIN/pg_ctl" status -D "$pgdata" >/dev/null 2>&1; then
		note "PostgreSQL already running"
	else
		# setsid: the server must not belong to the test's process group.
		if ! as_pg setsid -w "$PGBIN/pg_ctl" start -s -w -t 30 -D "$pgdata" \
			-l "$pgtmp/postgresql.log"; then
			tail -n 30 "$pgtmp/postgresql.log" >&2 || true
			die "PostgreSQL did not start"
		fi
	fi
	for ((i = 0; i < 60; i++)); do
		if "$PGBIN/pg_isready" -q -h "$pghost" -p "$pgport" -d maillage \
			-U maillage; then
			return 0
		fi
		sleep 0.25
	done
	tail -n 30 "$pgtmp/postgresql.log" >&2 || true
	die "PostgreSQL not ready after 15 s"
}

pg_stop() {
	local w=$1 mode=$2 pgdata
	pgdata=$(state_get "$w" MAILLAGE_PGDATA)
	[[ -n $pgdata && -f $pgdata/postmaster.pid ]] || return 0
	as_pg "$PGBIN/pg_ctl" stop -s -w -t 30 -m "$mode" -D "$pgdata"
}

pg_create() {
	local w=$1 pgtmp pgport
	pgtmp=$(mktemp -d /tmp/maillage-itest.XXXXXX)
	state_set "$w" PGTMP "$pgtmp"
	chmod 755 "$pgtmp"
	if ((EUID == 0)); then
		id postgres >/dev/null 2>&1 ||
			die "user postgres missing (run deploy/install-deps)"
		chown postgres: "$pgtmp"
	fi
	pgport=$(free_port)
	state_set "$w" MAILLAGE_PGDATA "$pgtmp/data"
	state_set "$w" MAILLAGE_PGHOST "$pgtmp"
	state_set "$w" MAILLAGE_PGPORT "$pgport"

	if ! as_pg "$PGBIN/initdb" -D "$pgtmp/data" -U maillage \
		--auth-local=trust --auth-host=reject --no-locale -E UTF8 \
		--no-sync >"$pgtmp/initdb.log" 2>&1; then
		cat "$pgtmp/initdb.log" >&2
		die "initdb failed"
	fi
	as_pg tee -a "$pgtmp/data/postgresql.conf" >/dev/null <<EOF

# maillage integration tests: throwaway cluster, Unix socket only
listen_addresses = ''
unix_socket_directories = '$pgtmp'
port = $pgport
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
EOF
	pg_start "$w"
	"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$pgtmp" -p "$pgport" \
		-U maillage -d postgres -c "CREATE DATABASE maillage"
	state_set "$w" CONNINFO \
		"host=$pgtmp port=$pgport dbname=maillage user=maillage"
	state_set "$w" MAILLAGE_DB \
		"postgresql:///maillage?host=$pgtmp&port=$pgport&user=maillage"
}

# ---- daemon ------------------------------------------------------------------

# ---- sanitizers, valgrind (tests/fuzz, SECURITY.md) ------------------------
# A daemon built with -DMAILLAGE_SANITIZE=ON (run-tests --asan) stops at its
# first ASan/UBSan error and reports leaks at exit, on stderr, i.e. in
# maillaged.log: `teardown` fails when a daemon log holds such a report
# (check-logs does the same alone). MAILLAGE_DAEMON_WRAPPER, when set, is a
# command the daemon is started under, e.g.
#   MAILLAGE_DAEMON_WRAPPER="valgrind --leak-check=full --error-exitcode=99"
# (valgrind's "ERROR SUMMARY: N errors" with N > 0 fails teardown too).
readonly SANITIZER_REPORT='ERROR: AddressSanitizer|ERROR: LeakSanitizer|AddressSanitizer:DEADLYSIGNAL|runtime error:|LeakSanitizer|SUMMARY: UndefinedBehaviorSanitizer|ERROR SUMMARY: [1-9]'
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:print_summary=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

# Seconds (in tenths) a daemon gets to exit after SIGTERM: more under a
# wrapper (valgrind's leak check at exit takes a while).
stop_wait() {
	if [[ -n ${MAILLAGE_DAEMON_WRAPPER:-} ]]; then echo 600; else echo 100; fi
}

# check_logs WORKDIR: 1, with the reports, if a daemon log holds one.
check_logs() {
	local w=$1 f bad=0
	for f in "$w"/maillaged.log "$w"/maillaged2.log; do
		[[ -f $f ]] || continue
		if grep -Eq "$SANITIZER_REPORT" "$f"; then
			note "sanitizer/valgrind report in $f:"
			grep -En -A 12 "$SANITIZER_REPORT" "$f" | head -n 80 >&2
			bad=1
		fi
	done
	return "$bad"
}

daemon_stop() {
	local w=$1 pid i
	pid=$(state_get "$w" MAILLAGE_DAEMON_PID)
	is_daemon "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < $(stop_wait); i++)); do
		alive "$pid" || return 0
		sleep 0.1
	done
	note "maillaged ($pid) still running after 10 s: SIGKILL"
	kill_wait "$pid" || true
}

# daemon_start WORKDIR: start and wait until the port accepts connections.
# Returns 1 (not fatal) when the port was taken, so that setup can pick
# another one; dies on any other failure.
daemon_start() {
	local w=$1 bin port pid i log=$1/maillaged.log
	bin=$(state_get "$w" MAILLAGE_DAEMON_BIN)
	port=$(state_get "$w" MAILLAGE_PORT)
	local mark
	: >>"$log"
	mark=$(wc -l <"$log")
	# Own session, no terminal, no inherited pipe: the daemon outlives the
	# setup test and ctest does not wait for it.
	local wrap=()
	read -ra wrap <<<"${MAILLAGE_DAEMON_WRAPPER:-}"
	setsid "${wrap[@]}" "$bin" -c "$w/maillaged.conf" </dev/null >/dev/null 2>>"$log" &
	pid=$!
	state_set "$w" MAILLAGE_DAEMON_PID "$pid"
	for ((i = 0; i < 150; i++)); do
		if ! alive "$pid"; then
			wait "$pid" 2>/dev/null || true
			if tail -n +"$((mark + 1))" "$log" | grep -qi "address already in use"; then
				return 1
			fi
			note "maillaged exited during start-up; last lines of $log:"
			tail -n 30 "$log" >&2 || true
			die "maillaged did not start"
		fi
		if port_listening "$port"; then
			return 0
		fi
		sleep 0.1
	done
	note "maillaged does not listen on 127.0.0.1:$port after 15 s; last lines of $log:"
	tail -n 30 "$log" >&2 || true
	kill -KILL "$pid" 2>/dev/null || true
	die "maillaged did not start"
}

write_daemon_conf() {
	local w=$1 src=$2 port=$3 conninfo
	conninfo=$(state_get "$w" CONNINFO)
	cat >"$w/maillaged.conf" <<EOF
; maillaged configuration of the integration tests (written by fixture.sh)
[server]
listen = 127.0.0.1:$port
instance_id = itest
handshake_timeout = 2
idle_timeout = 30
log_level = debug
; small socket buffer and output limit: a subscriber that stops reading is
; cut after a few tens of thousands of events (test_watch)
send_buffer = 65536
output_limit = 1048576

[tls]
certificate = $w/pki/server.crt
private_key = $w/pki/server.key
ca = $w/pki/ca.crt
crl = $w/pki/crl.pem

[database]
conninfo = $conninfo
migrations_dir = $src/sql

[events]
; quick polls so that a test-shortened acknowledgement deadline fires soon
poll_interval_ms = 200
deadline_check_ms = 200

[audit]
; quick sealing and checkpoints (test_audit); the key made at setup
seal_interval_ms = 100
checkpoint_interval_ms = 500
signing_key = $w/audit/signing.key

[storage]
; the data keyring made at setup (sealed texts, server/vault.c)
data_keyring = $w/data.keys

[identity]
; the network's matching secret made at setup (server/match.c)
matching_key = $w/matching.key
EOF
	check_conf_lines "$w/maillaged.conf"
}

write_client_conf() {
	local w=$1 login=$2 certdir=$3 port=$4 f
	f=$w/client/$login.conf
	cat >"$f" <<EOF
; maillage client configuration for $login (written by fixture.sh)
[client]
server = 127.0.0.1:$port
server_name = localhost
certificate = $certdir/$login.crt
private_key = $certdir/$login.key
ca = $w/pki/ca.crt
timeout = 10
EOF
	check_conf_lines "$f"
}

# ---- commands ----------------------------------------------------------------

cmd_teardown() {
	local w=$1 pgtmp
	[[ -d $w ]] || return 0
	daemon_stop "$w" || true
	daemon2_stop "$w" || true
	pg_stop "$w" immediate >/dev/null 2>&1 || true
	pgtmp=$(state_get "$w" PGTMP)
	if [[ -n $pgtmp && -d $pgtmp ]]; then
		local pmpid
		# pg_ctl may have failed (e.g. data dir damaged): kill what is left.
		if [[ -f $pgtmp/data/postmaster.pid ]]; then
			pmpid=$(head -n 1 "$pgtmp/data/postmaster.pid" 2>/dev/null || true)
			if alive "$pmpid"; then
				kill -QUIT "$pmpid" 2>/dev/null || true
				sleep 0.5
				kill -KILL "$pmpid" 2>/dev/null || true
			fi
		fi
		case "$pgtmp" in
		/tmp/maillage-itest.*) rm -rf -- "$pgtmp" ;;
		*) note "not removing unexpected cluster path $pgtmp" ;;
		esac
	fi
	return 0
}

SETUP_WORKDIR=""
setup_failed() {
	local rc=$?
	if ((rc != 0)) && [[ -n $SETUP_WORKDIR ]]; then
		note "setup failed; tearing down"
		cmd_teardown "$SETUP_WORKDIR"
	fi
}

cmd_setup() {
	local w=$1 src build
	[[ -n ${MAILLAGE_BUILD_DIR:-} ]] || die "MAILLAGE_BUILD_DIR is not set"
	[[ -n ${MAILLAGE_SOURCE_DIR:-} ]] || die "MAILLAGE_SOURCE_DIR is not set"
	build=$(realpath -- "$MAILLAGE_BUILD_DIR")
	src=$(realpath -- "$MAILLAGE_SOURCE_DIR")
	local deploy=$src/deploy daemon_bin=$build/server/maillaged
	local client_bin=$build/client/maillage
	[[ -x $daemon_bin ]] || die "$daemon_bin not built"
	[[ -x $client_bin ]] || die "$client_bin not built"
	[[ -x $PGBIN/initdb ]] || die "$PGBIN/initdb missing (run deploy/install-deps)"
	[[ $w =~ ^[A-Za-z0-9/._+-]+$ ]] ||
		die "WORKDIR '$w' has characters that config files cannot hold"

	if [[ -e $w ]]; then
		if [[ -f $w/$MARKER ]]; then
			cmd_teardown "$w"
		elif [[ -n $(ls -A "$w" 2>/dev/null) ]]; then
			die "$w exists and is not a fixture directory: not removing it"
		fi
		rm -rf -- "$w"
	fi
	mkdir -p "$w/client"
	: >"$w/$MARKER"
	state_set "$w" MAILLAGE_WORKDIR "$w"
	state_set "$w" MAILLAGE_HOST 127.0.0.1
	state_set "$w" MAILLAGE_PKI "$w/pki"
	state_set "$w" MAILLAGE_DAEMON_BIN "$daemon_bin"
	state_set "$w" MAILLAGE_CLIENT_BIN "$client_bin"

	# If anything below fails, leave nothing running.
	SETUP_WORKDIR=$w
	trap setup_failed EXIT

	note "creating the PostgreSQL cluster"
	pg_create "$w"
	local db
	db=$(state_get "$w" MAILLAGE_DB)

	note "creating the certificates"
	"$deploy/pki" init "$w/pki"
	"$deploy/pki" server "$w/pki"
	# The audit trail's checkpoint signing key (test_audit); its public
	# key is audit/signing.key.pub.
	mkdir -p "$w/audit"
	"$daemon_bin" audit-keygen "$w/audit/signing.key" >/dev/null
	rm -f "$w/data.keys"
	"$daemon_bin" data-keygen "$w/data.keys" >/dev/null
	rm -f "$w/matching.key"
	"$daemon_bin" matching-keygen "$w/matching.key" >/dev/null
	local port
	port=$(free_port)
	state_set "$w" MAILLAGE_PORT "$port"
	write_daemon_conf "$w" "$src" "$port"

	note "applying the migrations"
	"$daemon_bin" -c "$w/maillaged.conf" migrate

	note "enrolling the demo network and the test accounts"
	"$deploy/demo-network" "$w/pki" "$db"
	local login
	for login in "${EXTRA_LOGINS[@]}"; do
		local opt=()
		[[ $login == expired ]] && opt=(--expired)
		"$deploy/pki" client "$w/pki" "$login" ase75 "${opt[@]}" >/dev/null
	done
	"$deploy/enrol" --db "$db" account disabled --institution ase75 \
		--role partner --cert "$w/pki/clients/disabled.crt" --disabled
	"$deploy/enrol" --db "$db" account expired --institution ase75 \
		--role partner --cert "$w/pki/clients/expired.crt"
	"$deploy/enrol" --db "$db" account revoked --institution ase75 \
		--role partner --cert "$w/pki/clients/revoked.crt"
	"$deploy/pki" revoke "$w/pki" revoked

	# An impostor: a CA of the same name, a certificate naming ase@ase75.
	"$deploy/pki" init "$w/otherca"
	"$deploy/pki" client "$w/otherca" rogue ase75 --cn ase >/dev/null

	note "starting maillaged"
	local tries
	for ((tries = 0; ; tries++)); do
		for login in "${DEMO_LOGINS[@]}" "${EXTRA_LOGINS[@]}"; do
			write_client_conf "$w" "$login" "$w/pki/clients" "$port"
		done
		write_client_conf "$w" rogue "$w/otherca/clients" "$port"
		if daemon_start "$w"; then
			break
		fi
		((tries < 5)) || die "no free port for maillaged after 5 tries"
		port=$(free_port)
		note "port taken; trying $port"
		state_set "$w" MAILLAGE_PORT "$port"
		write_daemon_conf "$w" "$src" "$port"
	done
	write_env "$w"
	trap - EXIT
	note "ready: maillaged pid $(state_get "$w" MAILLAGE_DAEMON_PID) on 127.0.0.1:$port; $w/env"
}

cmd_daemon_restart() {
	local w=$1 i
	[[ -f $w/.state ]] || die "$w: no fixture (run setup)"
	daemon_stop "$w"
	# The port may linger for a moment after the old process is gone.
	for ((i = 0; ; i++)); do
		if daemon_start "$w"; then
			break
		fi
		((i < 50)) || die "port $(state_get "$w" MAILLAGE_PORT) still taken"
		sleep 0.2
	done
	write_env "$w"
}

cmd_psql() {
	local w=$1 sql=$2 db
	db=$(state_get "$w" MAILLAGE_DB)
	[[ -n $db ]] || die "$w: no fixture (run setup)"
	"$PGBIN/psql" -X -A -t -v ON_ERROR_STOP=1 -d "$db" -c "$sql"
}

# ---- SIGKILL, second instance (test_watch) ----------------------------------

# kill_wait PID: SIGKILL and wait up to 5 s for the process to be gone.
# Gone means exited (a zombie or no process), not merely "no longer
# maillaged": an exiting process loses its command line when its memory is
# released, before its sockets are closed (a large address space, as under
# AddressSanitizer, makes that window long), and a new daemon's start-up
# check would then see the old one's listening socket.
kill_wait() {
	local pid=$1 i
	kill -KILL "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		alive "$pid" || return 0
		sleep 0.1
	done
	return 1
}

# daemon-kill: the daemon dies without a chance to clean up (SIGKILL), then
# starts again on the same port, as after a crash and a supervisor restart.
cmd_daemon_kill() {
	local w=$1 pid i
	[[ -f $w/.state ]] || die "$w: no fixture (run setup)"
	pid=$(state_get "$w" MAILLAGE_DAEMON_PID)
	if is_daemon "$pid"; then
		kill_wait "$pid" || die "maillaged ($pid) survived SIGKILL"
	else
		note "maillaged ($pid) was not running"
	fi
	for ((i = 0; ; i++)); do
		if daemon_start "$w"; then
			break
		fi
		((i < 50)) || die "port $(state_get "$w" MAILLAGE_PORT) still taken"
		sleep 0.2
	done
	write_env "$w"
}

# The second instance: maillaged2.conf is maillaged.conf with another port
# and instance id; client2/LOGIN.conf are the client/LOGIN.conf aimed at it.
# Its pid and port are kept in .state as MAILLAGE_DAEMON2_PID and
# MAILLAGE_PORT2.
write_daemon2_files() {
	local w=$1 port=$2 f
	sed -e "s/^listen = .*/listen = 127.0.0.1:$port/" \
		-e "s/^instance_id = .*/instance_id = itest2/" \
		"$w/maillaged.conf" >"$w/maillaged2.conf"
	check_conf_lines "$w/maillaged2.conf"
	mkdir -p "$w/client2"
	for f in "$w"/client/*.conf; do
		sed -e "s/^server = .*/server = 127.0.0.1:$port/" "$f" \
			>"$w/client2/${f##*/}"
	done
}

daemon2_stop() {
	local w=$1 pid i
	pid=$(state_get "$w" MAILLAGE_DAEMON2_PID)
	is_daemon "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < $(stop_wait); i++)); do
		alive "$pid" || return 0
		sleep 0.1
	done
	note "second maillaged ($pid) still running after 10 s: SIGKILL"
	kill_wait "$pid" || true
}

# daemon2_start WORKDIR: as daemon_start, for the second instance.
daemon2_start() {
	local w=$1 bin port pid i mark log=$1/maillaged2.log
	bin=$(state_get "$w" MAILLAGE_DAEMON_BIN)
	port=$(state_get "$w" MAILLAGE_PORT2)
	: >>"$log"
	mark=$(wc -l <"$log")
	local wrap=()
	read -ra wrap <<<"${MAILLAGE_DAEMON_WRAPPER:-}"
	setsid "${wrap[@]}" "$bin" -c "$w/maillaged2.conf" </dev/null >/dev/null 2>>"$log" &
	pid=$!
	state_set "$w" MAILLAGE_DAEMON2_PID "$pid"
	for ((i = 0; i < 150; i++)); do
		if ! alive "$pid"; then
			wait "$pid" 2>/dev/null || true
			if tail -n +"$((mark + 1))" "$log" | grep -qi "address already in use"; then
				return 1
			fi
			note "second maillaged exited during start-up; last lines of $log:"
			tail -n 30 "$log" >&2 || true
			die "second maillaged did not start"
		fi
		if port_listening "$port"; then
			return 0
		fi
		sleep 0.1
	done
	note "second maillaged does not listen on 127.0.0.1:$port after 15 s; last lines of $log:"
	tail -n 30 "$log" >&2 || true
	kill -KILL "$pid" 2>/dev/null || true
	die "second maillaged did not start"
}

cmd_daemon2_start() {
	local w=$1 port tries
	[[ -f $w/.state ]] || die "$w: no fixture (run setup)"
	if is_daemon "$(state_get "$w" MAILLAGE_DAEMON2_PID)"; then
		note "second maillaged already running"
		return 0
	fi
	port=$(state_get "$w" MAILLAGE_PORT2)
	[[ -n $port ]] || port=$(free_port)
	for ((tries = 0; ; tries++)); do
		state_set "$w" MAILLAGE_PORT2 "$port"
		write_daemon2_files "$w" "$port"
		if daemon2_start "$w"; then
			break
		fi
		((tries < 5)) || die "no free port for the second maillaged after 5 tries"
		port=$(free_port)
		note "port taken; trying $port"
	done
	note "second maillaged pid $(state_get "$w" MAILLAGE_DAEMON2_PID) on 127.0.0.1:$port"
}

# ---- institutions of every kind (test_notice) -------------------------------

# code|kind|login|name: one partner institution of each kind the demo network
# lacks, for the visibility x institution kind matrix.
readonly KIND_INSTITUTIONS=(
	"gend77|gendarmerie|gend|Brigade de gendarmerie de Meaux"
	"hopital75|health|sante|Urgences pédiatriques de Paris"
	"avocat75|lawyer|avocat|Antenne des mineurs du barreau de Paris"
	"ecole75|education|ecole|Collège du 18e arrondissement"
	"autre75|other|autre|Mairie du 18e arrondissement"
)

cmd_enrol_kinds() {
	local w=$1 deploy db port row code kind login name
	[[ -f $w/.state ]] || die "$w: no fixture (run setup)"
	deploy=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../deploy" && pwd -P)
	db=$(state_get "$w" MAILLAGE_DB)
	port=$(state_get "$w" MAILLAGE_PORT)
	for row in "${KIND_INSTITUTIONS[@]}"; do
		IFS='|' read -r code kind login name <<<"$row"
		"$deploy/enrol" --db "$db" institution "$code" --name "$name" \
			--kind "$kind" --departement "${code:(-2)}" >/dev/null
		"$deploy/pki" client "$w/pki" "$login" "$code" >/dev/null
		"$deploy/enrol" --db "$db" account "$login" --institution "$code" \
			--role partner --cert "$w/pki/clients/$login.crt" >/dev/null
		write_client_conf "$w" "$login" "$w/pki/clients" "$port"
	done
	"$deploy/enrol" --db "$db" institution ferme75 \
		--name "Association dissoute" --kind association \
		--departement 75 --disabled >/dev/null
}

# ---- faults: PostgreSQL crashed, its disk full (test_fault) -----------------

# daemon-crash: as daemon-kill, for a daemon killed many times under load
# (test_fault). A dying process loses its command line (its memory goes
# first) before its sockets are closed, the more slowly the larger it is
# (ASan): so this waits on the process itself (gone, or a zombie) and on
# its port, then checks that the new process lives and listens.
cmd_daemon_crash() {
	local w=$1 pid port i
	[[ -f $w/.state ]] || die "$w: no fixture (run setup)"
	pid=$(state_get "$w" MAILLAGE_DAEMON_PID)
	port=$(state_get "$w" MAILLAGE_PORT)
	if is_daemon "$pid"; then
		kill -KILL "$pid" 2>/dev/null || true
	fi
	for ((i = 0; i < 300; i++)); do
		alive "$pid" || break
		sleep 0.1
	done
	! alive "$pid" || die "maillaged ($pid) still there 30 s after SIGKILL"
	for ((i = 0; i < 300; i++)); do
		port_listening "$port" || break
		sleep 0.1
	done
	! port_listening "$port" || die "port $port still listened on after maillaged ($pid) died"
	for ((i = 0; ; i++)); do
		if daemon_start "$w"; then
			pid=$(state_get "$w" MAILLAGE_DAEMON_PID)
			sleep 0.2
			if alive "$pid" && port_listening "$port"; then
				break
			fi
			note "maillaged ($pid) did not stay up; starting again"
		fi
		((i < 50)) || die "maillaged does not start again on port $port"
		sleep 0.2
	done
	write_env "$w"
}

# The tmpfs lives outside the cluster's directory (so that teardown's rm -rf
# of that directory never meets a mount point); the data directory becomes a
# symbolic link into it. State: PGFS (the mount point).
cmd_pg_tmpfs_on() {
	local w=$1 pgdata pgtmp fs kb
	pgdata=$(state_get "$w" MAILLAGE_PGDATA)
	pgtmp=$(state_get "$w" PGTMP)
	[[ -n $pgdata && -d $pgdata ]] || die "no cluster recorded in $w"
	if [[ -L $pgdata ]]; then
		note "the cluster is already on a tmpfs"
		return 0
	fi
	((EUID == 0)) || die "mounting a tmpfs needs root"
	fs=$(mktemp -d /tmp/maillage-itest-fs.XXXXXX)
	kb=$(du -sk "$pgdata" | cut -f1)
	if ! mount -t tmpfs -o "size=$((kb + 65536))k,mode=0755" tmpfs "$fs"; then
		rmdir "$fs"
		die "cannot mount a tmpfs on $fs"
	fi
	state_set "$w" PGFS "$fs"
	pg_stop "$w" fast
	cp -a "$pgdata" "$fs/data"
	mv "$pgdata" "$pgtmp/data.disk"
	ln -s "$fs/data" "$pgdata"
	pg_start "$w"
	note "cluster data on a tmpfs of $((kb / 1024 + 64)) MiB at $fs"
}

cmd_pg_fill() {
	local w=$1 fs
	fs=$(state_get "$w" PGFS)
	if [[ -z $fs ]] || ! mountpoint -q "$fs"; then
		die "the cluster is not on a tmpfs"
	fi
	# dd stops at ENOSPC, having written what fitted
	dd if=/dev/zero of="$fs/fill" bs=1M status=none 2>/dev/null || true
	note "tmpfs full: $(df -k --output=avail "$fs" | tail -n 1 | tr -d ' ') KiB left"
}

cmd_pg_unfill() {
	local w=$1 fs
	fs=$(state_get "$w" PGFS)
	[[ -n $fs ]] || die "the cluster is not on a tmpfs"
	rm -f -- "$fs/fill"
	pg_start "$w"
}

cmd_pg_tmpfs_off() {
	local w=$1 pgdata pgtmp fs
	pgdata=$(state_get "$w" MAILLAGE_PGDATA)
	pgtmp=$(state_get "$w" PGTMP)
	fs=$(state_get "$w" PGFS)
	[[ -n $fs ]] || return 0
	rm -f -- "$fs/fill"
	if [[ -L $pgdata ]]; then
		pg_stop "$w" fast || pg_stop "$w" immediate || true
		rm -rf -- "$pgtmp/data.disk"
		cp -a "$fs/data" "$pgtmp/data.new"
		rm -f -- "$pgdata"
		mv "$pgtmp/data.new" "$pgdata"
	fi
	if mountpoint -q "$fs"; then
		umount "$fs" || umount -l "$fs"
	fi
	rmdir "$fs" 2>/dev/null || true
	state_set "$w" PGFS ""
	pg_start "$w"
}

main() {
	(($# >= 2)) || usage
	local cmd=$1 w
	w=$(realpath -m -- "$2")
	shift 2
	case "$cmd" in
	setup) (($# == 0)) || usage; cmd_setup "$w" ;;
	teardown)
		(($# == 0)) || usage
		cmd_teardown "$w"
		check_logs "$w" || die "a daemon log holds a sanitizer report"
		;;
	check-logs) (($# == 0)) || usage; check_logs "$w" ;;
	pg-stop)
		(($# == 0)) || usage
		[[ -f $w/.state ]] || die "$w: no fixture (run setup)"
		pg_stop "$w" fast
		;;
	daemon-crash) (($# == 0)) || usage; cmd_daemon_crash "$w" ;;
	pg-stop-immediate | pg-tmpfs-on | pg-fill | pg-unfill | pg-tmpfs-off)
		(($# == 0)) || usage
		[[ -f $w/.state ]] || die "$w: no fixture (run setup)"
		case "$cmd" in
		pg-stop-immediate) pg_stop "$w" immediate ;;
		pg-tmpfs-on) cmd_pg_tmpfs_on "$w" ;;
		pg-fill) cmd_pg_fill "$w" ;;
		pg-unfill) cmd_pg_unfill "$w" ;;
		pg-tmpfs-off) cmd_pg_tmpfs_off "$w" ;;
		esac
		;;
	pg-start)
		(($# == 0)) || usage
		[[ -f $w/.state ]] || die "$w: no fixture (run setup)"
		pg_start "$w"
		;;
	daemon-restart) (($# == 0)) || usage; cmd_daemon_restart "$w" ;;
	daemon-kill) (($# == 0)) || usage; cmd_daemon_kill "$w" ;;
	daemon2-start) (($# == 0)) || usage; cmd_daemon2_start "$w" ;;
	daemon2-stop)
		(($# == 0)) || usage
		[[ -f $w/.state ]] || die "$w: no fixture (run setup)"
		daemon2_stop "$w"
		;;
	psql) (($# == 1)) || usage; cmd_psql "$w" "$1" ;;
	enrol-kinds) (($# == 0)) || usage; cmd_enrol_kinds "$w" ;;
	*) usage ;;
	esac
}

main "$@"
