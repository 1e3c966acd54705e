#!/usr/bin/env bash
# deploy/local/local.sh: a ketenbus region in its production shape on one
# machine, on loopback and without containers: a 3-node NATS JetStream
# cluster (R3 streams) with the users of deploy/nats, Redis with its
# append-only file, and every service as its own process under its own
# NATS user. See README.md beside this script.
#
#   local.sh up [--config FILE]    build, make the secrets once, start what does not run
#   local.sh down                  stop every process this script started
#   local.sh status [NAME]         one line per process; exit 0 when all are alive and ready
#   local.sh start|stop|kill|restart NAME
#   local.sh names                 the process names, one a line
#   local.sh addr NAME             the process's address (host:port)
#
# Settings (environment):
#   KETENBUS_CONFIG            region config for `up` (default deploy/examples/region.yaml)
#   KETENBUS_LOCAL_PORT_BASE   first port (default 14200); see README.md for the layout
#   KETENBUS_LOCAL_DIR         run directory (default deploy/local/run)
#   KETENBUS_LOCAL_TIMEOUT     seconds to wait for a process to be ready (default 60)
set -euo pipefail
# The run directory holds the secrets, the stores and the logs: private.
umask 077

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUN=${KETENBUS_LOCAL_DIR:-$ROOT/deploy/local/run}
mkdir -p "$RUN"
RUN=$(cd "$RUN" && pwd)
BIN=$RUN/bin
ENV_FILE=$RUN/local.env
STATE=$RUN/local.conf
REGION=$RUN/region.yaml
TIMEOUT=${KETENBUS_LOCAL_TIMEOUT:-60}
DEFAULT_BASE=14200

NAMES=(nats-1 nats-2 nats-3 redis gateway router adapter escalator samenloop monitor)
SERVICES=(gateway router adapter escalator samenloop monitor)

say() { printf '%s\n' "$*"; }
fail() { printf 'local.sh: %s\n' "$*" >&2; exit 1; }

usage() {
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
	exit 2
}

is_name() {
	local n
	for n in "${NAMES[@]}"; do [[ $n == "$1" ]] && return 0; done
	return 1
}

# --- ports ---------------------------------------------------------------

# The layout from the base B: gateway B, dashboard B+1, nats clients
# B+10..12, nats routes B+20..22, nats monitoring B+30..32, redis B+40, the
# services' /metrics, /healthz and /readyz B+50..55.
load_state() {
	[[ -f $STATE ]] || fail "nothing was set up in $RUN: run local.sh up first"
	# shellcheck source=/dev/null
	. "$STATE"
}

node() { echo "${1#nats-}"; }
nats_port() { echo $((BASE + 9 + $(node "$1"))); }
route_port() { echo $((BASE + 19 + $(node "$1"))); }
nats_http_port() { echo $((BASE + 29 + $(node "$1"))); }
redis_port() { echo $((BASE + 40)); }
metrics_port() {
	case $1 in
	gateway) echo $((BASE + 50)) ;;
	router) echo $((BASE + 51)) ;;
	adapter) echo $((BASE + 52)) ;;
	escalator) echo $((BASE + 53)) ;;
	samenloop) echo $((BASE + 54)) ;;
	monitor) echo $((BASE + 55)) ;;
	esac
}
nats_urls() {
	local n urls=()
	for n in nats-1 nats-2 nats-3; do urls+=("nats://127.0.0.1:$(nats_port $n)"); done
	local IFS=,
	echo "${urls[*]}"
}

# addr NAME: the address the process serves (partners, dashboard, clients).
addr() {
	case $1 in
	nats-*) echo "127.0.0.1:$(nats_port "$1")" ;;
	redis) echo "127.0.0.1:$(redis_port)" ;;
	gateway) echo "127.0.0.1:$BASE" ;;
	monitor) echo "127.0.0.1:$((BASE + 1))" ;;
	*) echo "127.0.0.1:$(metrics_port "$1")" ;;
	esac
}

# detail NAME: its other addresses.
detail() {
	case $1 in
	nats-*) echo "routes 127.0.0.1:$(route_port "$1"), monitoring 127.0.0.1:$(nats_http_port "$1")" ;;
	redis) echo "append-only file in ${RUN#"$ROOT"/}/redis" ;;
	gateway | monitor) echo "metrics 127.0.0.1:$(metrics_port "$1")" ;;
	*) echo "/metrics, /healthz, /readyz" ;;
	esac
}

# ports NAME: every port the process listens on.
ports() {
	case $1 in
	nats-*) echo "$(nats_port "$1") $(route_port "$1") $(nats_http_port "$1")" ;;
	redis) redis_port ;;
	gateway) echo "$BASE $(metrics_port gateway)" ;;
	monitor) echo "$((BASE + 1)) $(metrics_port monitor)" ;;
	*) metrics_port "$1" ;;
	esac
}

# shellcheck disable=SC2016 # the inner shell expands its own arguments
listening() { timeout 1 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0"' "$1" 2>/dev/null; }

# --- processes -----------------------------------------------------------

pidfile() { echo "$RUN/pids/$1.pid"; }

# started_at PID: the start time of a live process (field 22 of
# /proc/PID/stat), to tell it from a later process with the same PID.
started_at() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	local -a f
	read -ra f <<<"$stat"
	[[ ${f[0]} != Z && ${f[0]} != X ]] || return 1 # a zombie has stopped
	echo "${f[19]}"
}

# pid NAME: the recorded PID of NAME when that process still runs.
pid() {
	local file pid start now
	file=$(pidfile "$1")
	[[ -f $file ]] || return 1
	read -r pid start <"$file" || return 1
	now=$(started_at "$pid") || return 1
	[[ $now == "$start" ]] || return 1
	echo "$pid"
}

http_ok() {
	local line
	# shellcheck disable=SC2016 # the inner shell expands its own arguments
	line=$(timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" &&
		printf "GET %s HTTP/1.0\r\nHost: 127.0.0.1:%s\r\n\r\n" "$1" "$0" >&3 &&
		IFS= read -r l <&3 && printf "%s" "$l"' "$1" "$2" 2>/dev/null) || return 1
	[[ $line == HTTP/1.?" 200"* ]]
}

secret() {
	# shellcheck source=/dev/null
	(set -a && . "$ENV_FILE" && printf '%s' "${!1}")
}

redis_ok() {
	# The password in the inner shell's environment, not its arguments.
	# shellcheck disable=SC2016 # the inner shell expands its own arguments
	PW=$(secret KETENBUS_REDIS_PASSWORD) timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" &&
		printf "AUTH %s\r\nPING\r\n" "$PW" >&3 && read -r a <&3 && read -r b <&3 &&
		[[ $a == +OK* && $b == +PONG* ]]' "$(redis_port)" 2>/dev/null
}

# ready NAME: nats-server's /healthz (JetStream current), Redis answering
# PING, a service's /readyz.
ready() {
	case $1 in
	nats-*) http_ok "$(nats_http_port "$1")" /healthz ;;
	redis) redis_ok ;;
	*) http_ok "$(metrics_port "$1")" /readyz ;;
	esac
}

# clean_env: drop the caller's environment but PATH, HOME and OTEL_*.
clean_env() {
	local v path=$PATH home=${HOME:-/}
	for v in $(compgen -e); do
		case $v in OTEL_*) ;; *) unset "$v" 2>/dev/null || true ;; esac
	done
	export PATH=$path HOME=$home
}

# load_secrets KEEP...: export the region's secrets from the env file and,
# of the NATS passwords, the JetStream key and the Redis password, only
# those named.
load_secrets() {
	local v k keep
	set -a
	# shellcheck source=/dev/null
	. "$ENV_FILE"
	set +a
	for v in $(compgen -e); do
		case $v in
		KETENBUS_NATS_PASSWORD_* | KETENBUS_JETSTREAM_KEY | KETENBUS_REDIS_PASSWORD)
			keep=""
			# shellcheck disable=SC2053 # a pattern such as KETENBUS_NATS_PASSWORD_*
			for k in "$@"; do [[ $v == $k ]] && keep=1; done
			[[ -n $keep ]] || unset "$v"
			;;
		esac
	done
}

# run_process NAME: the process itself, in its own environment (run in a
# subshell: it ends in exec).
run_process() {
	local name=$1 level=${KETENBUS_LOG_LEVEL:-info} redis_url
	redis_url="redis://:$(secret KETENBUS_REDIS_PASSWORD)@127.0.0.1:$(redis_port)/0"
	clean_env
	case $name in
	nats-*)
		load_secrets 'KETENBUS_NATS_PASSWORD_*' KETENBUS_JETSTREAM_KEY
		exec "$BIN/nats-server" -c "$RUN/nats/$name.conf"
		;;
	redis)
		local pw
		pw=$(secret KETENBUS_REDIS_PASSWORD)
		# The password on standard input, never on the command line.
		exec redis-server "$ROOT/deploy/redis/redis.conf" --port "$(redis_port)" --bind 127.0.0.1 \
			--dir "$RUN/redis" --maxmemory 256mb --daemonize no --logfile "" - <<<"requirepass $pw"
		;;
	esac
	local user=${name^^}
	load_secrets "KETENBUS_NATS_PASSWORD_$user"
	KETENBUS_NATS_URL=$(nats_urls)
	KETENBUS_METRICS_ADDR=127.0.0.1:$(metrics_port "$name")
	export KETENBUS_CONFIG=$REGION KETENBUS_NATS_URL KETENBUS_METRICS_ADDR KETENBUS_LOG_LEVEL=$level
	case $name in
	gateway) export KETENBUS_GATEWAY_ADDR=127.0.0.1:$BASE ;;
	monitor) export KETENBUS_MONITOR_ADDR=127.0.0.1:$((BASE + 1)) KETENBUS_REDIS_URL=$redis_url ;;
	escalator | samenloop) export KETENBUS_REDIS_URL=$redis_url ;;
	esac
	exec "$BIN/ketenbus-$name"
}

# spawn NAME: start NAME in the background, record its PID, and wait
# until it is ready (wait=1) or only started (wait=0).
spawn() {
	local name=$1 wait=${2:-1} p pid start log
	if pid=$(pid "$name"); then
		say "$name already runs (pid $pid)"
		return 0
	fi
	for p in $(ports "$name"); do
		if listening "$p"; then
			fail "$name: port $p is taken by another process; set KETENBUS_LOCAL_PORT_BASE to another base (now $BASE) after local.sh down"
		fi
	done
	mkdir -p "$RUN/pids" "$RUN/logs"
	log=$RUN/logs/$name.log
	(run_process "$name") </dev/null >>"$log" 2>&1 &
	pid=$!
	start=$(started_at "$pid") || fail "$name stopped at once; see ${log#"$ROOT"/}"
	echo "$pid $start" >"$(pidfile "$name")"
	say "$name started (pid $pid), log ${log#"$ROOT"/}"
	[[ $wait == 1 ]] && wait_ready "$name"
	return 0
}

wait_ready() {
	local name=$1 deadline=$((SECONDS + TIMEOUT))
	until ready "$name"; do
		if ! pid "$name" >/dev/null; then
			tail -n 20 "$RUN/logs/$name.log" >&2 || true
			fail "$name stopped before it was ready; its log is ${RUN#"$ROOT"/}/logs/$name.log"
		fi
		((SECONDS < deadline)) || fail "$name is not ready after ${TIMEOUT}s; see ${RUN#"$ROOT"/}/logs/$name.log"
		sleep 0.2
	done
}

# halt NAME SIGNAL: stop NAME (TERM: cleanly, KILL after 20 seconds; KILL:
# at once) and forget its PID.
halt() {
	local name=$1 sig=$2 pid deadline
	if ! pid=$(pid "$name"); then
		rm -f "$(pidfile "$name")"
		say "$name does not run"
		return 0
	fi
	kill "-$sig" "$pid" 2>/dev/null || true
	deadline=$((SECONDS + 20))
	while pid "$name" >/dev/null; do
		if ((SECONDS >= deadline)); then
			say "$name did not stop within 20s of SIG$sig: killing it"
			kill -KILL "$pid" 2>/dev/null || true
			deadline=$((SECONDS + 5))
			sig=KILL
		fi
		sleep 0.1
	done
	rm -f "$(pidfile "$name")"
	if [[ $sig == KILL ]]; then say "$name killed (pid $pid)"; else say "$name stopped (pid $pid)"; fi
}

status_line() {
	local name=$1 pid=- alive=stopped rdy="not ready"
	if pid=$(pid "$name"); then alive=alive; else pid=-; fi
	if [[ $alive == alive ]] && ready "$name"; then rdy=ready; fi
	printf '%-10s %-8s %-8s %-16s %-10s %s\n' "$name" "$pid" "$alive" "$(addr "$name")" "$rdy" "$(detail "$name")"
	[[ $rdy == ready ]]
}

status() {
	local name ok=0 names=("$@")
	((${#names[@]})) || names=("${NAMES[@]}")
	printf '%-10s %-8s %-8s %-16s %-10s %s\n' NAME PID PROCESS ADDRESS READY ""
	for name in "${names[@]}"; do
		status_line "$name" || ok=3
	done
	return $ok
}

# --- up ------------------------------------------------------------------

need() {
	command -v go >/dev/null 2>&1 || fail "go is not on PATH: install Go 1.26 (https://go.dev/dl/)"
	command -v redis-server >/dev/null 2>&1 || fail "redis-server is missing: install Debian's package (sudo apt-get install redis-server)"
}

build() {
	mkdir -p "$BIN"
	say "building the services, natsauth, nats-server and ketenbus into ${BIN#"$ROOT"/}"
	(cd "$ROOT/services" && go build -o "$BIN/" ./cmd/... ./shared/natsauth/cmd/natsauth &&
		go build -o "$BIN/nats-server" github.com/nats-io/nats-server/v2) ||
		fail "go build in services/ failed"
	(cd "$ROOT/tools" && go build -o "$BIN/ketenbus" ./ketenbus) || fail "go build in tools/ failed"
}

# region_copy SRC: the region config the processes read, a copy of SRC in
# the run directory. The production monitor does not run open: a region
# without a monitor block gets an operator token (KETENBUS_MONITOR_TOKEN).
region_copy() {
	local src=$1
	cp "$src" "$REGION.tmp"
	if ! grep -qE '^monitor:' "$src"; then
		{
			echo
			echo "# Added by deploy/local/local.sh: the monitor of a production shape asks for sign-in."
			echo "monitor:"
			echo "  token_env: KETENBUS_MONITOR_TOKEN"
		} >>"$REGION.tmp"
		say "the region sets no monitor sign-in: the monitor asks for the operator token KETENBUS_MONITOR_TOKEN"
	fi
	mv "$REGION.tmp" "$REGION"
}

nats_conf() {
	local name=$1 n routes=""
	for n in nats-1 nats-2 nats-3; do
		routes+="    nats-route://127.0.0.1:$(route_port $n)"$'\n'
	done
	cat >"$RUN/nats/$name.conf" <<EOF
# Written by deploy/local/local.sh from deploy/nats/cluster/$name.conf:
# the same cluster on loopback, routes without TLS.
server_name: $name
listen: 127.0.0.1:$(nats_port "$name")
http: 127.0.0.1:$(nats_http_port "$name")
max_payload: 8MB

jetstream {
  store_dir: "$RUN/$name"
  key: \$KETENBUS_JETSTREAM_KEY
  cipher: aes
}

cluster {
  name: ketenbus
  listen: 127.0.0.1:$(route_port "$name")
  routes: [
$routes  ]
}

include "authorization.conf"
EOF
}

# ensure_streams: the streams (R3) and the NATS-native partners' consumers,
# as NATS user admin. After a restart of the whole cluster the streams
# elect their leaders only after the nodes are healthy: try again until
# then.
ensure_streams() {
	local log=$RUN/logs/streams.log deadline=$((SECONDS + TIMEOUT))
	say "ensuring the streams (R3) as NATS user admin"
	until (clean_env && load_secrets KETENBUS_NATS_PASSWORD_ADMIN &&
		"$BIN/ketenbus" streams ensure --config "$REGION" --replicas 3 --nats-url "$(nats_urls)" --nats-user admin) >>"$log" 2>&1; do
		if ((SECONDS >= deadline)); then
			tail -n 20 "$log" >&2
			fail "ketenbus streams ensure failed for ${TIMEOUT}s; see ${log#"$ROOT"/}"
		fi
		sleep 1
	done
}

up() {
	local config=${KETENBUS_CONFIG:-$ROOT/deploy/examples/region.yaml}
	while (($#)); do
		case $1 in
		--config) config=${2:?--config needs a file}; shift 2 ;;
		--config=*) config=${1#--config=}; shift ;;
		*) fail "up: unknown argument $1 (up [--config FILE])" ;;
		esac
	done
	[[ -f $config ]] || fail "region config $config not found (pass --config FILE or set KETENBUS_CONFIG)"
	config=$(cd "$(dirname "$config")" && pwd)/$(basename "$config")
	need

	local base=${KETENBUS_LOCAL_PORT_BASE:-}
	if [[ -f $STATE ]]; then
		# shellcheck source=/dev/null
		. "$STATE"
		if [[ -n $base && $base != "$BASE" ]]; then
			local name
			for name in "${NAMES[@]}"; do
				pid "$name" >/dev/null && fail "ports from $BASE are in use by $name: run local.sh down before changing KETENBUS_LOCAL_PORT_BASE"
			done
		fi
	fi
	BASE=${base:-${BASE:-$DEFAULT_BASE}}
	if ! [[ $BASE =~ ^[0-9]+$ ]] || ((BASE < 1024 || BASE > 65400)); then
		fail "KETENBUS_LOCAL_PORT_BASE $BASE: a port from 1024 to 65400"
	fi
	printf 'BASE=%s\nCONFIG=%q\n' "$BASE" "$config" >"$STATE"

	build
	mkdir -p "$RUN/nats" "$RUN/redis" "$RUN/pids" "$RUN/logs"
	region_copy "$config"
	# The secrets: made at the first up, kept in the env file from then on.
	# Only the file counts, not the caller's environment.
	(clean_env && "$BIN/ketenbus" keys env --config "$REGION" --file "$ENV_FILE" >/dev/null) ||
		fail "the secrets of $config cannot be made (see above)"
	"$BIN/natsauth" -region "$REGION" -o "$RUN/nats/authorization.conf" || fail "natsauth failed on $config"
	local n
	for n in nats-1 nats-2 nats-3; do nats_conf "$n"; done

	# The cluster needs two nodes to elect a leader: start all, then wait.
	for n in nats-1 nats-2 nats-3; do spawn "$n" 0; done
	for n in nats-1 nats-2 nats-3; do wait_ready "$n"; done
	spawn redis

	ensure_streams
	for n in "${SERVICES[@]}"; do spawn "$n"; done

	say ""
	say "ketenbus local: region config $config"
	say "  partners  $(gateway_url)/v1/events"
	say "  dashboard http://$(addr monitor)/ (operator token: \$KETENBUS_MONITOR_TOKEN, if the region names none other)"
	say "  nats      $(nats_urls)"
	say "  secrets   set -a; source ${ENV_FILE#"$ROOT"/}; set +a"
	say ""
	status
}

# gateway_url: the URL the gateway logged (https when the region sets
# gateway.tls).
gateway_url() {
	local url
	url=$(grep -o '"msg":"gateway listening","url":"[^"]*"' "$RUN/logs/gateway.log" 2>/dev/null | tail -n 1 | sed 's/.*"url":"//; s/"$//') || true
	echo "${url:-http://$(addr gateway)}"
}

down() {
	local i
	for ((i = ${#NAMES[@]} - 1; i >= 0; i--)); do halt "${NAMES[i]}" TERM; done
}

one() {
	[[ $# -eq 1 ]] || fail "$CMD needs one process name (local.sh names)"
	is_name "$1" || fail "$1 is not a process here; the names are: ${NAMES[*]}"
}

CMD=${1:-}
[[ -n $CMD ]] || usage
shift
case $CMD in
up) up "$@" ;;
down) load_state; down ;;
status)
	load_state
	for n in "$@"; do one "$n"; done
	status "$@"
	;;
start) one "$@"; load_state; need; spawn "$1" ;;
stop) one "$@"; load_state; halt "$1" TERM ;;
kill) one "$@"; load_state; halt "$1" KILL ;;
restart) one "$@"; load_state; halt "$1" TERM; spawn "$1" ;;
names) printf '%s\n' "${NAMES[@]}" ;;
addr) one "$@"; load_state; addr "$1" ;;
-h | --help | help) usage ;;
*) fail "unknown command $CMD; local.sh up|down|status|start|stop|kill|restart|names|addr" ;;
esac
