#!/usr/bin/env bash
# services.sh — start/stop the local services that authport's tests use.
#
#   scripts/services.sh up   [SERVICE...]   install what is missing, start, wait until ready
#   scripts/services.sh down [SERVICE...]   stop by PID and remove data dirs
#   scripts/services.sh status              show what is running
#
# SERVICE is one of: postgres redis firebase chromium, or a node app (none = all).
#
# A node app is a directory scripts/node/<app>/ or examples/<app>/ holding a
# package.json with exact versions, its package-lock.json and a server.mjs; its
# service name is the directory name. `up` installs it with `npm ci` into
# $AUTHPORT_CACHE/node/<app>-<hash> (outside the clone; reinstalled only when
# package.json or the lockfile change), copies the app's other files there,
# runs `npm run build` when package.json has a build script, and starts
# `node server.mjs` there with HOST=127.0.0.1, PORT=<free port>,
# AUTHPORT_SERVICE_ENV_FILE=<file the app may write KEY=VALUE lines to before
# it is ready> and the variables of the services started before it (PostgreSQL
# and Redis start first). It is ready when GET /healthz answers 2xx. It adds
#   AUTHPORT_TEST_<APP>_URL=http://127.0.0.1:PORT
#   AUTHPORT_TEST_<APP>_DIR=<installed directory>   (to start another instance)
# plus the lines the app wrote; <APP> is the name upper-cased, '-' -> '_'.
#
# Every service listens on 127.0.0.1 only, on a fixed default port when it is
# free and on a free ephemeral port otherwise. State (PIDs, ports, logs, data)
# lives under $AUTHPORT_SERVICES_DIR (default /tmp/authport-services). The
# firebase-tools npm package is cached under $AUTHPORT_CACHE (default
# ~/.cache/authport), outside the repository.
#
# After `up` (and `down`), .env.services in the repository root holds one
# KEY=VALUE line per variable of every running service:
#
#   AUTHPORT_TEST_POSTGRES_URL=postgres://authport@127.0.0.1:PORT/authport?sslmode=disable
#   AUTHPORT_TEST_REDIS_URL=redis://127.0.0.1:PORT/0
#   FIREBASE_AUTH_EMULATOR_HOST=127.0.0.1:PORT
#   AUTHPORT_TEST_FIREBASE_PROJECT=demo-authport
#   AUTHPORT_TEST_CHROMIUM=/usr/bin/chromium
#
# Load it with:  set -a; . ./.env.services; set +a
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SVC_DIR=${AUTHPORT_SERVICES_DIR:-/tmp/authport-services}
CACHE_DIR=${AUTHPORT_CACHE:-${HOME:-/root}/.cache/authport}
ENV_FILE=${AUTHPORT_ENV_FILE:-$ROOT/.env.services}

FIREBASE_TOOLS_VERSION=15.34.2
FIREBASE_PROJECT=demo-authport
FIREBASE_TOOLS_DIR=$CACHE_DIR/firebase-tools

PG_PORT_DEFAULT=55432
REDIS_PORT_DEFAULT=56379
FIREBASE_PORT_DEFAULT=59099
FIREBASE_HUB_PORT_DEFAULT=59400
FIREBASE_LOGGING_PORT_DEFAULT=59500

BASE_SERVICES=(postgres redis firebase chromium)

# Node apps: name -> source directory.
declare -A NODE_APP_SRC=()
NODE_APPS=()
for _d in "$ROOT"/scripts/node/*/ "$ROOT"/examples/*/; do
	[[ -f $_d/package.json && -f $_d/server.mjs ]] || continue
	_n=$(basename "$_d")
	[[ -n ${NODE_APP_SRC[$_n]:-} ]] && continue
	NODE_APP_SRC[$_n]=${_d%/}
	NODE_APPS+=("$_n")
done
unset _d _n
ALL_SERVICES=("${BASE_SERVICES[@]}" "${NODE_APPS[@]+"${NODE_APPS[@]}"}")

is_node_app() { [[ -n ${NODE_APP_SRC[$1]:-} ]]; }

export DEBIAN_FRONTEND=noninteractive

# ---------------------------------------------------------------- helpers

log() { printf 'services: %s\n' "$*" >&2; }
err() { printf 'services: ERROR: %s\n' "$*" >&2; }

# show_log FILE: print the last lines of a log file after a failure.
show_log() {
	[[ -s $1 ]] || return 0
	printf 'services: ---- last lines of %s ----\n' "$1" >&2
	tail -n 30 "$1" | sed 's/^/  | /' >&2
	printf 'services: ----\n' >&2
}

now() { date +%s.%N; }
# since T0: seconds elapsed since T0, one decimal.
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

is_root() { [[ $(id -u) == 0 ]]; }

# pid_alive PID NAME: true when PID runs and its command line mentions NAME
# (guards against a recycled PID).
pid_alive() {
	local pid=$1 name=$2
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	[[ -r /proc/$pid/cmdline ]] || return 0
	# An exited child not yet reaped (zombie) counts as gone.
	grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null && return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$name"
}

# stop_pid PID NAME SIGNAL: send SIGNAL, wait up to 20 s, then SIGKILL.
stop_pid() {
	local pid=$1 name=$2 sig=${3:-TERM} i
	pid_alive "$pid" "$name" || return 0
	kill "-$sig" "$pid" 2>/dev/null || true
	for ((i = 0; i < 200; i++)); do
		pid_alive "$pid" "$name" || return 0
		sleep 0.1
	done
	log "$name (pid $pid) ignored SIG$sig for 20s; sending SIGKILL"
	kill -KILL "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		pid_alive "$pid" "$name" || return 0
		sleep 0.1
	done
	err "could not stop $name (pid $pid)"
	return 1
}

CHOSEN_PORTS=" "

# pick_port PREFERRED: print PREFERRED if it can be bound on 127.0.0.1,
# else a free ephemeral port. Never returns a port already picked in this run.
pick_port() {
	local want=$1 p i
	for ((i = 0; i < 20; i++)); do
		p=$(node -e '
const net = require("net");
function tryPort(p) {
  const s = net.createServer();
  s.once("error", () => { if (p) tryPort(0); else process.exit(1); });
  s.listen(p, "127.0.0.1", () => { const a = s.address().port; s.close(() => console.log(a)); });
}
tryPort(+process.argv[1]);' "$want") || { err "cannot find a free port"; return 1; }
		if [[ $CHOSEN_PORTS != *" $p "* ]]; then
			CHOSEN_PORTS+="$p "
			echo "$p"
			return 0
		fi
		want=0
	done
	err "cannot find a free port"
	return 1
}

# http_get URL: print the body of a GET (2xx only), using node (always present).
http_get() {
	node -e '
const http = require("http");
const req = http.get(process.argv[1], { timeout: 2000 }, (r) => {
  let b = ""; r.setEncoding("utf8"); r.on("data", (c) => (b += c));
  r.on("end", () => { if (r.statusCode >= 200 && r.statusCode < 300) { process.stdout.write(b); process.exit(0); } process.exit(1); });
});
req.on("timeout", () => req.destroy());
req.on("error", () => process.exit(1));' "$1" 2>/dev/null
}

# ---------------------------------------------------------------- installs

pg_bindir() {
	local d
	# The Debian package's versioned dir; highest version wins.
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		if [[ -x $d/postgres && -x $d/initdb && -x $d/pg_ctl && -x $d/pg_isready ]]; then
			echo "$d"
			return 0
		fi
	done
	return 1
}

need_packages() { # SERVICE...: print the Debian packages missing for them
	local s
	for s in "$@"; do
		case $s in
		postgres) pg_bindir >/dev/null || echo postgresql ;;
		redis) command -v redis-server >/dev/null && command -v redis-cli >/dev/null || echo redis-server ;;
		chromium)
			[[ -x /usr/bin/chromium ]] || echo chromium
			[[ -x /usr/bin/chromedriver ]] || echo chromium-driver
			;;
		firebase) command -v node >/dev/null && command -v npm >/dev/null || echo nodejs npm ;;
		*) if is_node_app "$s"; then command -v node >/dev/null && command -v npm >/dev/null || echo nodejs npm; fi ;;
		esac
	done
}

apt_install() { # PACKAGE...
	local t0 logf=$SVC_DIR/apt.log added_policy=''
	if ! is_root; then
		err "missing Debian packages: $* (run as root, or: sudo apt-get install -y --no-install-recommends $*)"
		return 1
	fi
	t0=$(now)
	log "installing Debian packages: $* (log: $logf)"
	# Keep the packages' own init scripts from starting system-wide daemons.
	if [[ ! -e /usr/sbin/policy-rc.d ]]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		added_policy=1
	fi
	local rc=0
	{
		# apt-get update once, unless the package lists are fresh (< 2 h).
		if [[ -z $(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -120 2>/dev/null | head -n 1) ]]; then
			apt-get update -q
		fi
		apt-get install -y -q --no-install-recommends "$@"
	} >"$logf" 2>&1 9>&- || rc=$?
	if [[ -n $added_policy ]]; then rm -f /usr/sbin/policy-rc.d; fi
	if ((rc != 0)); then
		err "apt-get install $* failed (exit $rc)"
		show_log "$logf"
		return 1
	fi
	TIMES+=("install $*: $(since "$t0")s")
	log "installed $* in $(since "$t0")s"
}

firebase_bin() { echo "$FIREBASE_TOOLS_DIR/node_modules/.bin/firebase"; }

firebase_installed() {
	local pj=$FIREBASE_TOOLS_DIR/node_modules/firebase-tools/package.json
	[[ -x $(firebase_bin) && -r $pj ]] &&
		node -e 'process.exit(require(process.argv[1]).version === process.argv[2] ? 0 : 1)' "$pj" "$FIREBASE_TOOLS_VERSION"
}

# firebase_install: npm install firebase-tools into a staging dir, then move it
# into place, so an interrupted install never looks complete.
firebase_install() {
	firebase_installed && return 0
	local t0 stage logf=$SVC_DIR/npm.log
	t0=$(now)
	mkdir -p "$CACHE_DIR"
	stage=$CACHE_DIR/firebase-tools.tmp.$$
	rm -rf "$stage"
	mkdir -p "$stage"
	echo '{"name":"authport-firebase-tools","private":true}' >"$stage/package.json"
	log "installing firebase-tools@$FIREBASE_TOOLS_VERSION into $FIREBASE_TOOLS_DIR (takes ~2 min; log: $logf)"
	if ! (cd "$stage" && npm install --no-audit --no-fund --no-update-notifier --loglevel=error \
		"firebase-tools@$FIREBASE_TOOLS_VERSION") >"$logf" 2>&1; then
		err "npm install firebase-tools@$FIREBASE_TOOLS_VERSION failed"
		show_log "$logf"
		rm -rf "$stage"
		return 1
	fi
	rm -rf "$FIREBASE_TOOLS_DIR"
	mv "$stage" "$FIREBASE_TOOLS_DIR"
	if ! firebase_installed; then
		err "firebase-tools installed but $(firebase_bin) does not report version $FIREBASE_TOOLS_VERSION"
		return 1
	fi
	TIMES+=("install firebase-tools: $(since "$t0")s")
	log "installed firebase-tools@$FIREBASE_TOOLS_VERSION in $(since "$t0")s"
}

# node_hash FILE...: a short content hash of the named files (missing = empty).
node_hash() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }

# node_app_dir APP: where APP is installed (depends on its package files only).
node_app_dir() {
	local src=${NODE_APP_SRC[$1]}
	echo "$CACHE_DIR/node/$1-$(node_hash "$src/package.json" "$src/package-lock.json")"
}

# node_install APP: npm ci into a staging dir, then move it into place, so an
# interrupted install never looks complete; then copy the app's own files
# and build when they changed.
node_install() {
	local app=$1 src dir stage logf t0 stamp
	src=${NODE_APP_SRC[$app]}
	dir=$(node_app_dir "$app")
	logf=$SVC_DIR/npm-$app.log
	if [[ ! -f $src/package-lock.json ]]; then
		err "$app: $src/package-lock.json is missing (commit the lockfile: installs must be reproducible)"
		return 1
	fi
	if [[ ! -f $dir/.installed ]]; then
		t0=$(now)
		mkdir -p "$CACHE_DIR/node"
		stage=$dir.tmp.$$
		rm -rf "$stage"
		mkdir -p "$stage"
		cp "$src/package.json" "$src/package-lock.json" "$stage/"
		log "installing node app $app into $dir (log: $logf)"
		if ! (cd "$stage" && npm ci --no-audit --no-fund --no-update-notifier --loglevel=error) >"$logf" 2>&1; then
			err "npm ci for $app failed"
			show_log "$logf"
			rm -rf "$stage"
			return 1
		fi
		touch "$stage/.installed"
		rm -rf "$dir"
		mv "$stage" "$dir"
		TIMES+=("install $app: $(since "$t0")s")
	fi
	# The app's own files (everything but dependencies and build output).
	(cd "$src" && tar -cf - --exclude=./node_modules --exclude=./dist --exclude=./.output \
		--exclude=./.vinxi --exclude=./.tanstack --exclude=./package.json --exclude=./package-lock.json .) |
		(cd "$dir" && tar -xf -) || { err "$app: copying its files failed"; return 1; }
	if node -e 'process.exit(require(process.argv[1]).scripts?.build ? 0 : 1)' "$dir/package.json"; then
		stamp=$( (cd "$src" && find . -path ./node_modules -prune -o -type f -print0 | sort -z | xargs -0 cat) | sha256sum | cut -c1-16)
		if [[ $(cat "$dir/.built" 2>/dev/null) != "$stamp" ]]; then
			t0=$(now)
			log "building node app $app (log: $logf)"
			if ! (cd "$dir" && npm run build --no-update-notifier) >>"$logf" 2>&1; then
				err "npm run build for $app failed"
				show_log "$logf"
				return 1
			fi
			echo "$stamp" >"$dir/.built"
			TIMES+=("build $app: $(since "$t0")s")
		fi
	fi
}

# ---------------------------------------------------------------- state

sdir() { echo "$SVC_DIR/$1"; }
port_note() { [[ -r $SVC_DIR/$1/port ]] && echo " on 127.0.0.1:$(cat "$SVC_DIR/$1/port")" || true; }
state_pid() { cat "$(sdir "$1")/pid" 2>/dev/null || true; }

# process name each service's PID must carry
proc_name() {
	case $1 in
	postgres) echo postgres ;;
	redis) echo redis-server ;;
	firebase) echo firebase ;;
	*) echo server.mjs ;;
	esac
}

# running SERVICE: true when the recorded PID is alive (chromium: installed).
running() {
	local s=$1
	if [[ $s == chromium ]]; then
		[[ -s $(sdir chromium)/env ]]
		return
	fi
	pid_alive "$(state_pid "$s")" "$(proc_name "$s")"
}

# write_env: rebuild .env.services from the env files of running services.
write_env() {
	local s tmp
	tmp=$ENV_FILE.tmp.$$
	: >"$tmp"
	for s in "${ALL_SERVICES[@]}"; do
		if running "$s" && [[ -s $(sdir "$s")/env ]]; then
			cat "$(sdir "$s")/env" >>"$tmp"
		fi
	done
	# Node apps of other checkouts that share this state dir stay listed too.
	for s in "$SVC_DIR"/*/; do
		s=$(basename "$s")
		[[ " ${ALL_SERVICES[*]} " == *" $s "* ]] && continue
		[[ -s $SVC_DIR/$s/env && -s $SVC_DIR/$s/pid ]] || continue
		pid_alive "$(state_pid "$s")" server.mjs && cat "$SVC_DIR/$s/env" >>"$tmp"
	done
	if [[ -s $tmp ]]; then
		mv "$tmp" "$ENV_FILE"
	else
		rm -f "$tmp" "$ENV_FILE"
	fi
}

# env_lines SERVICE: the KEY=VALUE lines a running service contributes.
env_lines() {
	local port
	port=$(cat "$SVC_DIR/$1/port" 2>/dev/null || true)
	case $1 in
	postgres) echo "AUTHPORT_TEST_POSTGRES_URL=postgres://authport@127.0.0.1:$port/authport?sslmode=disable" ;;
	redis) echo "AUTHPORT_TEST_REDIS_URL=redis://127.0.0.1:$port/0" ;;
	firebase)
		echo "FIREBASE_AUTH_EMULATOR_HOST=127.0.0.1:$port"
		echo "AUTHPORT_TEST_FIREBASE_PROJECT=$FIREBASE_PROJECT"
		;;
	chromium) echo "AUTHPORT_TEST_CHROMIUM=/usr/bin/chromium" ;;
	*)
		local key
		key=$(echo "$1" | tr '[:lower:]-' '[:upper:]_')
		echo "AUTHPORT_TEST_${key}_URL=http://127.0.0.1:$port"
		echo "AUTHPORT_TEST_${key}_DIR=$(cat "$SVC_DIR/$1/dir" 2>/dev/null)"
		if [[ -s $SVC_DIR/$1/app.env ]]; then grep -E '^[A-Za-z_][A-Za-z0-9_]*=' "$SVC_DIR/$1/app.env" || true; fi
		;;
	esac
}

# ---------------------------------------------------------------- readiness

ready() { # SERVICE
	local s=$1 d port
	d=$(sdir "$s")
	port=$(cat "$d/port" 2>/dev/null) || return 1
	case $s in
	postgres) "$(pg_bindir)/pg_isready" -q -h 127.0.0.1 -p "$port" -d authport -U authport -t 2 ;;
	redis) [[ $(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null) == PONG ]] ;;
	firebase) http_get "http://127.0.0.1:$port/" | grep -Eq '"ready": *true' ;;
	*) http_get "http://127.0.0.1:$port/healthz" >/dev/null ;;
	esac
}

# wait_ready SERVICE SECONDS: poll until ready or the process dies or time runs out.
wait_ready() {
	local s=$1 limit=$2 t0
	t0=$(now)
	while :; do
		if ready "$s"; then return 0; fi
		if ! running "$s"; then
			err "$s exited while starting"
			show_log "$(sdir "$s")/log"
			return 1
		fi
		if awk -v a="$t0" -v b="$(now)" -v l="$limit" 'BEGIN { exit !(b - a > l) }'; then
			err "$s not ready after ${limit}s"
			show_log "$(sdir "$s")/log"
			return 1
		fi
		sleep 0.2
	done
}

# ---------------------------------------------------------------- start

start_postgres() {
	local d bin port run=() pid
	d=$(sdir postgres)
	bin=$(pg_bindir) || { err "PostgreSQL binaries not found under /usr/lib/postgresql/*/bin"; return 1; }
	port=$(pick_port "$PG_PORT_DEFAULT") || return 1
	mkdir -p "$d/data" "$d/run"
	chmod 700 "$d/data"
	: >"$d/log"
	if is_root; then
		# root cannot run postgres: run it as the postgres OS user.
		id postgres >/dev/null 2>&1 || { err "OS user 'postgres' missing (package postgresql not installed?)"; return 1; }
		chown -R postgres: "$d" || return 1
		run=(runuser -u postgres --)
	fi
	echo "$port" >"$d/port"
	if ! (cd "$d" && "${run[@]}" "$bin/initdb" -D "$d/data" -U authport --auth=trust -E UTF8 --locale=C.UTF-8 --no-instructions) >"$d/log" 2>&1; then
		err "initdb failed (the postgres OS user must be able to reach $d)"
		show_log "$d/log"
		return 1
	fi
	# Test-only settings: no durability, loopback TCP only, socket in our dir.
	if ! (cd "$d" && "${run[@]}" "$bin/pg_ctl" start -W -D "$d/data" -l "$d/log" -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$d/run -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200") >>"$d/log" 2>&1 9>&-; then
		err "pg_ctl start failed"
		show_log "$d/log"
		return 1
	fi
	# The postmaster writes its PID as the first line of postmaster.pid.
	local i
	for ((i = 0; i < 100; i++)); do
		pid=$(head -n 1 "$d/data/postmaster.pid" 2>/dev/null || true)
		[[ -n $pid ]] && break
		sleep 0.1
	done
	echo "$pid" >"$d/pid"
	wait_ready postgres 60 || return 1
	if ! "$bin/psql" -q -X -h 127.0.0.1 -p "$port" -U authport -d postgres -v ON_ERROR_STOP=1 \
		-c 'CREATE DATABASE authport' >>"$d/log" 2>&1; then
		err "creating database authport failed"
		show_log "$d/log"
		return 1
	fi
	env_lines postgres >"$d/env"
}

start_redis() {
	local d port
	d=$(sdir redis)
	port=$(pick_port "$REDIS_PORT_DEFAULT") || return 1
	mkdir -p "$d/data"
	echo "$port" >"$d/port"
	redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --daemonize no \
		--dir "$d/data" --protected-mode yes </dev/null >"$d/log" 2>&1 9>&- &
	echo $! >"$d/pid"
	wait_ready redis 30 || return 1
	env_lines redis >"$d/env"
}

# start_firebase launches the emulator without waiting; finish_firebase waits.
start_firebase() {
	local d port hub logging
	d=$(sdir firebase)
	port=$(pick_port "$FIREBASE_PORT_DEFAULT") || return 1
	hub=$(pick_port "$FIREBASE_HUB_PORT_DEFAULT") || return 1
	logging=$(pick_port "$FIREBASE_LOGGING_PORT_DEFAULT") || return 1
	mkdir -p "$d/home"
	echo "$port" >"$d/port"
	cat >"$d/firebase.json" <<EOF
{
  "emulators": {
    "auth": {"host": "127.0.0.1", "port": $port},
    "hub": {"host": "127.0.0.1", "port": $hub},
    "logging": {"host": "127.0.0.1", "port": $logging},
    "ui": {"enabled": false}
  }
}
EOF
	# XDG_CONFIG_HOME: keep firebase-tools' configstore (usage/telemetry
	# opt-in, update checks) out of the user's home; it starts empty, so
	# usage collection stays off. CI=true skips the MOTD fetch and prompts.
	(
		cd "$d"
		export XDG_CONFIG_HOME=$d/home FIREBASE_CLI_DISABLE_UPDATE_CHECK=true NO_UPDATE_NOTIFIER=1 CI=true
		exec "$(firebase_bin)" emulators:start --only auth --project "$FIREBASE_PROJECT" \
			--config "$d/firebase.json" --non-interactive
	) </dev/null >"$d/log" 2>&1 9>&- &
	echo $! >"$d/pid"
}

finish_firebase() {
	local d
	d=$(sdir firebase)
	wait_ready firebase 180 || return 1
	env_lines firebase >"$d/env"
}

start_chromium() {
	local d
	d=$(sdir chromium)
	mkdir -p "$d"
	if ! /usr/bin/chromium --version >"$d/log" 2>&1; then
		err "/usr/bin/chromium --version failed"
		show_log "$d/log"
		return 1
	fi
	env_lines chromium >"$d/env"
}

# start_node APP: run the installed app with the variables of the services
# already running (their env files) in its environment.
start_node() {
	local app=$1 d dir port f
	d=$(sdir "$app")
	dir=$(node_app_dir "$app")
	port=$(pick_port 0) || return 1
	mkdir -p "$d"
	echo "$port" >"$d/port"
	echo "$dir" >"$d/dir"
	: >"$d/app.env"
	(
		for f in "$SVC_DIR"/*/env; do
			[[ $f == "$d/env" ]] && continue
			set -a
			# shellcheck disable=SC1090
			. "$f"
			set +a
		done
		cd "$dir"
		export HOST=127.0.0.1 PORT=$port AUTHPORT_SERVICE_ENV_FILE=$d/app.env NODE_ENV=${NODE_ENV:-production}
		exec node server.mjs
	) </dev/null >"$d/log" 2>&1 9>&- &
	echo $! >"$d/pid"
	wait_ready "$app" 120 || return 1
	env_lines "$app" >"$d/env"
}

# ---------------------------------------------------------------- stop

stop_service() { # SERVICE
	local s=$1 d pid
	d=$(sdir "$s")
	[[ -d $d ]] || return 0
	pid=$(state_pid "$s")
	case $s in
	postgres)
		# SIGINT = fast shutdown (disconnect clients, no waiting).
		stop_pid "$pid" postgres INT || return 1
		;;
	chromium) ;;
	*)
		stop_pid "$pid" "$(proc_name "$s")" TERM || return 1
		;;
	esac
	rm -rf "$d"
}

# ---------------------------------------------------------------- commands

TIMES=()

parse_services() {
	local s
	if (($# == 0)); then
		SERVICES=("${ALL_SERVICES[@]}")
		return
	fi
	SERVICES=()
	for s in "$@"; do
		case $s in
		postgres | redis | firebase | chromium) SERVICES+=("$s") ;;
		*) if is_node_app "$s"; then SERVICES+=("$s"); else
			err "unknown service '$s' (want: ${ALL_SERVICES[*]})"
			exit 2
		fi ;;
		esac
	done
}

want() { [[ " ${SERVICES[*]} " == *" $1 "* ]]; }

cmd_up() {
	local s t0 total0 missing npm_pid='' npm_rc=0 failed=()
	total0=$(now)

	# 1. Services already running and answering are kept (idempotent).
	local todo=()
	for s in "${SERVICES[@]}"; do
		if running "$s"; then
			if [[ $s == chromium ]] || ready "$s" || wait_ready "$s" 30 2>/dev/null; then
				env_lines "$s" >"$(sdir "$s")/env"
				log "$s already running$(port_note "$s")"
				continue
			fi
			log "$s is running but not answering; restarting it"
		fi
		stop_service "$s" || true
		todo+=("$s")
	done
	SERVICES=("${todo[@]+"${todo[@]}"}")

	# 2. Installs: firebase-tools (npm) in the background while apt runs.
	missing=$(need_packages "${SERVICES[@]+"${SERVICES[@]}"}" | sort -u | tr '\n' ' ')
	if want firebase && [[ -z $missing || $missing != *npm* ]] && ! firebase_installed; then
		firebase_install &
		npm_pid=$!
	fi
	if [[ -n ${missing// /} ]]; then
		# shellcheck disable=SC2086
		apt_install $missing || failed+=(install)
	fi
	if want firebase && [[ -z $npm_pid ]] && ! firebase_installed && ((${#failed[@]} == 0)); then
		firebase_install || failed+=(firebase-tools)
	fi
	if [[ -n $npm_pid ]]; then
		wait "$npm_pid" || npm_rc=$?
		((npm_rc == 0)) || failed+=(firebase-tools)
	fi
	# Node apps: npm installs in parallel (each has its own log).
	local node_pids=() node_names=() i
	if ((${#failed[@]} == 0)); then
		for s in "${SERVICES[@]+"${SERVICES[@]}"}"; do
			is_node_app "$s" || continue
			node_install "$s" &
			node_pids+=($!)
			node_names+=("$s")
		done
		for i in "${!node_pids[@]}"; do
			wait "${node_pids[$i]}" || failed+=("${node_names[$i]}")
		done
	fi
	if ((${#failed[@]} > 0)); then
		err "installation failed; no service started"
		write_env
		return 1
	fi

	# 3. Start: firebase first (slowest), the others while it boots.
	local fb_t0=''
	if want firebase; then
		fb_t0=$(now)
		start_firebase || failed+=(firebase)
	fi
	for s in postgres redis chromium; do
		want "$s" || continue
		t0=$(now)
		if "start_$s"; then
			TIMES+=("start $s: $(since "$t0")s")
			log "$s ready$(port_note "$s") ($(since "$t0")s)"
		else
			failed+=("$s")
		fi
	done
	# Node apps after PostgreSQL and Redis, whose variables they receive.
	for s in "${SERVICES[@]+"${SERVICES[@]}"}"; do
		is_node_app "$s" || continue
		t0=$(now)
		if start_node "$s"; then
			TIMES+=("start $s: $(since "$t0")s")
			log "$s ready$(port_note "$s") ($(since "$t0")s)"
		else
			failed+=("$s")
		fi
	done
	if want firebase && [[ " ${failed[*]-} " != *" firebase "* ]]; then
		if finish_firebase; then
			TIMES+=("start firebase: $(since "$fb_t0")s")
			log "firebase auth emulator ready on 127.0.0.1:$(cat "$(sdir firebase)/port") ($(since "$fb_t0")s)"
		else
			failed+=(firebase)
		fi
	fi

	write_env
	if ((${#failed[@]} > 0)); then
		err "could not start: ${failed[*]} (state and logs in $SVC_DIR)"
		return 1
	fi
	if ((${#TIMES[@]} > 0)); then
		log "timings: $(printf '%s; ' "${TIMES[@]}")"
	fi
	log "all up in $(since "$total0")s; wrote $ENV_FILE"
}

cmd_down() {
	local s rc=0
	for s in "${SERVICES[@]}"; do
		if [[ -d $(sdir "$s") ]]; then
			if stop_service "$s"; then
				log "$s stopped"
			else
				rc=1
			fi
		fi
	done
	write_env
	# Nothing left running: remove the whole state dir (logs, lock).
	local left=0
	for s in "${ALL_SERVICES[@]}"; do
		[[ -d $(sdir "$s") ]] && left=1
	done
	if ((left == 0 && rc == 0)); then
		rm -rf "$SVC_DIR"
	fi
	return $rc
}

cmd_status() {
	local s
	for s in "${ALL_SERVICES[@]}"; do
		if running "$s"; then
			if [[ $s == chromium ]] || ready "$s"; then
				echo "$s: ready $(tr '\n' ' ' <"$(sdir "$s")/env")"
			else
				echo "$s: running (pid $(state_pid "$s")) but not answering"
			fi
		else
			echo "$s: stopped"
		fi
	done
}

main() {
	local cmd=${1:-}
	shift || true
	case $cmd in
	up | down | status) ;;
	*)
		echo "usage: $0 up|down|status [postgres redis firebase chromium ${NODE_APPS[*]-}]" >&2
		exit 2
		;;
	esac
	parse_services "$@"
	mkdir -p "$SVC_DIR"
	chmod 755 "$SVC_DIR"
	# One invocation at a time. Daemons are started with 9>&- so that they
	# do not inherit (and hold) the lock.
	exec 9>"$SVC_DIR/.lock"
	flock 9
	"cmd_$cmd"
}

main "$@"
