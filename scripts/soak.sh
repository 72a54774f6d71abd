#!/usr/bin/env bash
# The fault soak (issue 14 part 7): two users-api instances (release build) share one
# Redis and one SQLite file under a steady read load, while a checker writes users
# through one instance and reads them back from both, and every FAULT_EVERY seconds
# Redis is, in turn, SIGKILLed and restarted, frozen (SIGSTOP, FREEZE s, SIGCONT), or
# shut down (SHUTDOWN NOSAVE) and restarted. No persistence: every restart is empty.
#
#   scripts/soak.sh                  # 10 minutes
#   DURATION=60 scripts/soak.sh      # a quick run
#
# The load generator (bench/soak) prints the summary: requests, failed requests by
# cause, stale reads after a completed write, latency, each instance's RSS. The
# script exits non-zero when a target is missed (0 failed requests, 0 stale reads,
# RSS flat within 10 %) or something could not start. Not run by CI (it is long).
#
# Settings: DURATION (s, 600), FAULT_EVERY (s, 30), FREEZE (s, 5), DOWN (s between
# the SIGKILL and the restart, 1), READ_RATE (reads/s per instance, 200), CHECKERS
# (2). REDIS_NEAR_CACHE and the other cache variables reach the instances
# unchanged (the default, strict mode, is the one with a zero stale-read target).
# The logs (Redis, both instances, the fault log) are kept when it fails, or with
# KEEP=1. Every process it starts is stopped on exit, Ctrl-C included.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-600}
FAULT_EVERY=${FAULT_EVERY:-30}
FREEZE=${FREEZE:-5}
DOWN=${DOWN:-1}
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}

for tool in redis-server redis-cli curl ss; do
    command -v "$tool" >/dev/null || { echo "error: $tool is needed" >&2; exit 2; }
done

echo "==> building users-api and the load generator (release)"
cargo build --release --quiet -p users-api -p soak
bin=${CARGO_TARGET_DIR:-$(pwd)/target}/release

work=$(mktemp -d "${TMPDIR:-/tmp}/cachette-soak.XXXXXX")
app_pids=()
fault_pid=
gen_pid=

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    set +e
    [ -n "$gen_pid" ] && kill -TERM "$gen_pid" 2>/dev/null
    [ -n "$fault_pid" ] && kill -TERM "$fault_pid" 2>/dev/null && wait "$fault_pid" 2>/dev/null
    local pid
    for pid in "${app_pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${app_pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
    done
    [ -f "$work/redis.pid" ] && kill -KILL "$(cat "$work/redis.pid")" 2>/dev/null
    if [ "$status" -eq 0 ] && [ -z "${KEEP:-}" ]; then
        rm -rf "$work"
    else
        echo "logs kept in $work" >&2
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

used_ports=" "
free_port() {
    local port
    for _ in $(seq 200); do
        port=$((20000 + RANDOM % 40000))
        case $used_ports in *" $port "*) continue ;; esac
        if [ -z "$(ss -Hltn "sport = :$port")" ]; then
            used_ports="$used_ports$port "
            echo "$port"
            return
        fi
    done
    echo "error: no free loopback port found" >&2
    return 1
}
redis_port=$(free_port)
port_a=$(free_port)
port_b=$(free_port)

event() { echo "$(date +%s%3N) $1" >>"$work/faults.log"; }

start_redis() {
    redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$work" --logfile "$work/redis.log" &
    echo $! >"$work/redis.pid"
    event start
}

# Owns every redis-server (its children, so it can wait for them): starts the first,
# waits for $work/go, then injects a fault every FAULT_EVERY seconds until stopped.
inject_faults() {
    local nap_pid= pid n=0
    nap() { sleep "$1" & nap_pid=$!; wait "$nap_pid"; }
    trap '[ -n "$nap_pid" ] && kill "$nap_pid" 2>/dev/null; exit 0' TERM
    start_redis
    until [ -e "$work/go" ]; do nap 0.1; done
    while :; do
        nap "$FAULT_EVERY"
        pid=$(cat "$work/redis.pid")
        case $((n % 3)) in
        0)
            event kill
            kill -KILL "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
            nap "$DOWN"
            start_redis
            ;;
        1)
            event stop
            kill -STOP "$pid" 2>/dev/null || true
            nap "$FREEZE"
            kill -CONT "$pid" 2>/dev/null || true
            event cont
            ;;
        2)
            event shutdown
            timeout 5 redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 ||
                kill -KILL "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
            start_redis
            ;;
        esac
        n=$((n + 1))
    done
}
inject_faults &
fault_pid=$!

wait_for() { # <what> <command...>: up to 60 s
    local what=$1
    shift
    for _ in $(seq 600); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "error: $what did not come up within 60 s (logs in $work)" >&2
    return 1
}
wait_for "redis-server on port $redis_port" redis-cli -p "$redis_port" ping

secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
start_app() { # <name> <port> <seed demo users>
    (
        cd "$work"
        exec env HOST=127.0.0.1 PORT="$2" DATABASE_URL="sqlite://$work/users.db" \
            REDIS_ENABLED=true REDIS_URL="redis://127.0.0.1:$redis_port" \
            SEED_DEMO="$3" DEMO=false LOG_CATEGORIES=NONE SECRET_KEY="$secret" \
            "$bin/users-api"
    ) >"$work/$1.log" 2>&1 &
    app_pids+=($!)
    wait_for "users-api $1 on port $2" curl -sf -m 1 "http://127.0.0.1:$2/heartbeat"
}
# One after the other: the first creates, migrates and seeds the database.
start_app a "$port_a" true
start_app b "$port_b" false

echo "==> $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD), $(redis-server --version | cut -d' ' -f1-3)"
echo "==> Redis :$redis_port, A :$port_a (pid ${app_pids[0]}), B :$port_b (pid ${app_pids[1]}); ${DURATION} s, a fault every ${FAULT_EVERY} s; logs in $work"
touch "$work/go"
SOAK_A_URL="http://127.0.0.1:$port_a" SOAK_A_PID="${app_pids[0]}" \
    SOAK_B_URL="http://127.0.0.1:$port_b" SOAK_B_PID="${app_pids[1]}" \
    SOAK_DURATION="$DURATION" SOAK_FAULT_LOG="$work/faults.log" SOAK_DETAILS="$work/details.log" \
    SOAK_READ_RATE="${READ_RATE:-200}" SOAK_CHECKERS="${CHECKERS:-2}" \
    timeout $((DURATION + 120)) "$bin/soak" &
gen_pid=$!
status=0
wait "$gen_pid" || status=$?
gen_pid=

for pid in "${app_pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || { echo "error: users-api (pid $pid) died during the soak" >&2; status=1; }
done
echo "instance logs: A $(grep -c -E 'WARN|ERROR' "$work/a.log" || true) warnings/errors, B $(grep -c -E 'WARN|ERROR' "$work/b.log" || true)"
exit "$status"
