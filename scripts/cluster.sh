#!/usr/bin/env bash
# A local Redis Cluster of 3 masters, to try cachette's cluster mode by hand
# (REDIS_CLUSTER=true; the tests start clusters of their own).
#
#   scripts/cluster.sh          start it on 127.0.0.1:7000-7002 and print the
#                               REDIS_URL to use
#   scripts/cluster.sh stop     stop it (the PIDs recorded at start) and remove
#                               its files
#
# CLUSTER_PORT=7100 picks other ports (7100-7102; each node also listens on its
# port + 10000, the cluster bus). The nodes' files (nodes.conf, logs, PIDs) live
# in ${TMPDIR:-/tmp}/cachette-cluster-<port>. Nothing is persisted: a stopped
# cluster starts empty.
set -euo pipefail

MASTERS=3
BASE=${CLUSTER_PORT:-7000}
STATE=${TMPDIR:-/tmp}/cachette-cluster-$BASE
PIDS=$STATE/pids

die() {
    echo "cluster.sh: $*" >&2
    exit 1
}

case $BASE in
'' | *[!0-9]*) die "CLUSTER_PORT=$BASE is not a port number" ;;
esac
((BASE >= 1024 && BASE + MASTERS - 1 + 10000 <= 65535)) ||
    die "CLUSTER_PORT=$BASE: the ports and their bus ports (+10000) must lie in 1024-65535"

ports() { seq "$BASE" $((BASE + MASTERS - 1)); }

seeds() {
    local port list=()
    for port in $(ports); do list+=("redis://127.0.0.1:$port"); done
    (
        IFS=,
        echo "${list[*]}"
    )
}

# `CLUSTER_PORT=... ` in front of the commands printed, when it is not the default.
port_prefix() { [ "$BASE" = 7000 ] || printf 'CLUSTER_PORT=%s ' "$BASE"; }

need() {
    command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 && return
    local missing=()
    command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
    command -v redis-cli >/dev/null 2>&1 || missing+=(redis-cli)
    local names=${missing[*]}
    die "${names/ / and } not found. Install Redis 5 or later:
  Debian/Ubuntu: sudo apt-get install redis-server   (brings redis-cli, through redis-tools)
  macOS:         brew install redis"
}

# Whether something accepts connections on 127.0.0.1:$1.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The recorded PIDs still alive (as "port pid" lines).
alive() {
    [ -f "$PIDS" ] || return 0
    local port pid
    while read -r port pid; do
        if kill -0 "$pid" 2>/dev/null; then echo "$port $pid"; fi
    done <"$PIDS"
}

stop() {
    if [ ! -d "$STATE" ]; then
        echo "No cluster recorded in $STATE: nothing to stop."
        return
    fi
    local port pid left
    alive | while read -r port pid; do
        # Only a redis-server: a PID may have been reused since the start.
        if [ "$(ps -o comm= -p "$pid" 2>/dev/null)" = redis-server ]; then
            echo "stopping redis-server $port (PID $pid)"
            kill -TERM "$pid"
        else
            echo "PID $pid (port $port) is no longer a redis-server: left alone"
        fi
    done
    for _ in $(seq 100); do
        left=$(alive | while read -r port pid; do
            if [ "$(ps -o comm= -p "$pid" 2>/dev/null)" = redis-server ]; then echo "$pid"; fi
        done)
        [ -z "$left" ] && break
        sleep 0.1
    done
    [ -z "$left" ] || die "redis-server PIDs $left did not stop within 10 s (files kept in $STATE)"
    rm -rf "$STATE"
    echo "Stopped; removed $STATE."
}

start() {
    need
    if [ -n "$(alive)" ]; then
        echo "A cluster is already running (PIDs in $PIDS):"
        print_usage
        return
    fi
    rm -rf "$STATE"
    local port
    for port in $(ports); do
        listening "$port" && die "port $port is in use: stop what listens there, or set CLUSTER_PORT"
        listening $((port + 10000)) &&
            die "port $((port + 10000)) (the cluster bus of $port) is in use: set CLUSTER_PORT"
    done
    mkdir -p "$STATE"
    trap 'echo "cluster.sh: start failed; stopping what started" >&2; stop >&2' ERR
    for port in $(ports); do
        mkdir -p "$STATE/$port"
        redis-server --port "$port" --bind 127.0.0.1 \
            --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 5000 \
            --dir "$STATE/$port" --daemonize yes --pidfile "$STATE/$port/redis.pid" \
            --logfile "$STATE/$port/redis.log" --save '' --appendonly no
    done
    for port in $(ports); do
        wait_for "redis-server on port $port answers" 50 \
            eval "[ -s '$STATE/$port/redis.pid' ] && [ \"\$(redis-cli -p $port ping 2>/dev/null)\" = PONG ]" ||
            fail_with_log "$port"
        echo "$port $(cat "$STATE/$port/redis.pid")" >>"$PIDS"
    done
    local nodes=()
    for port in $(ports); do nodes+=("127.0.0.1:$port"); done
    if ! redis-cli --cluster create "${nodes[@]}" --cluster-yes >"$STATE/create.log" 2>&1; then
        cat "$STATE/create.log" >&2
        false
    fi
    for port in $(ports); do
        wait_for "node $port reports cluster_state:ok" 300 \
            eval "redis-cli -p $port cluster info 2>/dev/null | grep -q '^cluster_state:ok'" ||
            false
    done
    trap - ERR
    echo "Redis Cluster up: $MASTERS masters on 127.0.0.1:$BASE-$((BASE + MASTERS - 1)) (files in $STATE)."
    print_usage
}

# wait_for <what> <tries, 0.1 s apart> <command...>
wait_for() {
    local what=$1 tries=$2
    shift 2
    for _ in $(seq "$tries"); do
        "$@" && return 0
        sleep 0.1
    done
    echo "cluster.sh: $what: not within $((tries / 10)) s" >&2
    return 1
}

fail_with_log() {
    echo "--- $STATE/$1/redis.log:" >&2
    tail -n 20 "$STATE/$1/redis.log" >&2 2>/dev/null || true
    false
}

print_usage() {
    cat <<EOF

Run the example service on it (from the repository root):

  REDIS_CLUSTER=true REDIS_URL=$(seeds) cargo run -p users-api

Stop it:

  $(port_prefix)scripts/cluster.sh stop
EOF
}

case ${1:-start} in
start) start ;;
stop) stop ;;
-h | --help | help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' ;;
*) die "unknown command '$1': use 'scripts/cluster.sh' to start, 'scripts/cluster.sh stop' to stop" ;;
esac
