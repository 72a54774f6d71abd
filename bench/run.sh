#!/usr/bin/env bash
# Reruns the whole HTTP comparison: cachette (bench-server) against the Python
# reference (FastAPI + fastapi-cache2, ../shared/peer) in one run, plus the
# ceilings (/users/static, /users/redis-raw) measured interleaved with cachette's
# hits, so every ratio compares numbers from the same minutes on the same machine;
# and cachette's memory hit against axum-response-cache 0.5's (/users/peer, the same
# handler and JSON behind that crate's layer) and the /users/static ceiling.
#
#   bench/run.sh                 # about 17 minutes
#   REPEATS=5 DURATION=10 bench/run.sh
#   ONLY_HITS=1 bench/run.sh     # only section 3, the memory hits against the peer
#
# Installs what it needs (wrk, redis-server, redis-tools, curl, util-linux) when
# missing, builds bench-server in release mode, writes raw files and tables under
# $OUT (default /tmp/cachette-bench), and stops only the processes it started.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEER="${PEER:-$REPO/../shared/peer}"
OUT="${OUT:-/tmp/cachette-bench}"
HOST=127.0.0.1
APP_PORT="${APP_PORT:-8000}"
CEIL_REDIS_PORT="${CEIL_REDIS_PORT:-6391}"
DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-2}"
THREADS="${THREADS:-1}"
CONNS="${CONNS:-32}"
REPEATS="${REPEATS:-3}"
SERVER_CPUS="${SERVER_CPUS:-0}"
LOAD_CPUS="${LOAD_CPUS:-1}"
DB_PATH="${DB_PATH:-/tmp/peer-app.db}"
SKIP_PEER="${SKIP_PEER:-0}"     # 1: only the ceiling comparison
ONLY_HITS="${ONLY_HITS:-0}"     # 1: only the memory hits against axum-response-cache
[ "$ONLY_HITS" = 1 ] && SKIP_PEER=1

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

missing=()
for tool in wrk redis-server redis-cli curl taskset python3; do
  command -v "$tool" >/dev/null || case "$tool" in
    redis-cli) missing+=(redis-tools) ;; taskset) missing+=(util-linux) ;; *) missing+=("$tool") ;;
  esac
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

log "building bench-server (release)"
(cd "$REPO" && cargo build --release -q -p bench-server)
SERVER="$REPO/target/release/bench-server"
mkdir -p "$OUT"

# ------------------------------------------------------------ 1. side by side
if [ "$SKIP_PEER" != 1 ]; then
  log "reference run.sh with IMPLS='python rust' (server on cpu $SERVER_CPUS)"
  OUT="$OUT/peer" IMPLS="python rust" SERVER_CMD_rust="$SERVER" APP_PORT="$APP_PORT" \
    DURATION="$DURATION" WARMUP="$WARMUP" THREADS="$THREADS" CONNS="$CONNS" REPEATS="$REPEATS" \
    SERVER_CPUS="$SERVER_CPUS" LOAD_CPUS="$LOAD_CPUS" DB_PATH="$DB_PATH" \
    bash "$PEER/run.sh" | tee "$OUT/peer.md"
fi

# ------------------------------------------------------------ 2. the ceilings
SERVER_PID=""; REDIS_PID=""
stop_pid() {
  local pid="$1"; [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() { stop_pid "$SERVER_PID"; SERVER_PID=""; stop_pid "$REDIS_PID"; REDIS_PID=""; }
trap cleanup EXIT
trap 'exit 130' INT TERM

wrk_run() {  # $1 = label for the tsv, $2 = path, $3 = round, $4 = tsv, $5 = raw file
  taskset -c "$LOAD_CPUS" wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency "http://$HOST:$APP_PORT$2" > "$5"
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' "$5")
  p50=$(awk '$1=="50%" {print $2}' "$5"); p99=$(awk '$1=="99%" {print $2}' "$5")
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$rps" "$p50" "$p99" >> "$4"
  log "$1 $2 run $3: $rps req/s"
}

if [ ! -f "$DB_PATH" ]; then
  log "seeding $DB_PATH with the reference's app.seed()"
  (cd "$PEER" && DB_PATH="$DB_PATH" /tmp/peer-venv/bin/python -c 'import asyncio, app; asyncio.run(app.seed())')
fi

start_server() {  # $1 = backend
  CACHE_BACKEND="$1" REDIS_URL="redis://$HOST:$CEIL_REDIS_PORT/0" DB_PATH="$DB_PATH" \
    HOST="$HOST" PORT="$APP_PORT" taskset -c "$SERVER_CPUS" "$SERVER" > "$OUT/ceiling-server-$1.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do curl -fs -o /dev/null "http://$HOST:$APP_PORT/users" && break; sleep 0.1; done
  curl -fs -o /dev/null "http://$HOST:$APP_PORT/users"
  local status
  status=$(curl -s -D - -o /dev/null "http://$HOST:$APP_PORT/users" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-fastapi-cache" {print $2}')
  [ "$status" = HIT ] || { echo "expected a HIT on /users, got '$status'" >&2; exit 1; }
}


if [ "$ONLY_HITS" != 1 ]; then
taskset -c "$LOAD_CPUS" redis-server --port "$CEIL_REDIS_PORT" --bind 127.0.0.1 --save '' \
  --appendonly no --daemonize no > "$OUT/ceiling-redis.log" 2>&1 &
REDIS_PID=$!
for _ in $(seq 50); do redis-cli -p "$CEIL_REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

: > "$OUT/ceiling.tsv"
# redis-near: Redis mode with the near cache on (REDIS_NEAR_CACHE), against the
# memory ceiling: a near hit answers from process memory with Redis behind it.
for backend in memory redis redis-near; do
  start_server "$backend"
  if [ "$backend" = redis ]; then ceiling=/users/redis-raw; else ceiling=/users/static; fi
  for path in "$ceiling" /users; do
    taskset -c "$LOAD_CPUS" wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" "http://$HOST:$APP_PORT$path" > /dev/null
  done
  # Interleaved: ceiling, cached, ceiling, cached, ...
  for i in $(seq "$REPEATS"); do
    for path in "$ceiling" /users; do
      wrk_run "$backend" "$path" "$i" "$OUT/ceiling.tsv" "$OUT/ceiling-$backend-$(echo "$path" | tr / _)-$i.txt"
    done
  done
  stop_pid "$SERVER_PID"; SERVER_PID=""
done

fi

# ------------------------------------------------------------ 3. memory hits against the peer
# cachette's memory HIT (/users), axum-response-cache 0.5's hit (/users/peer: the
# same 50-user JSON from the same handler, behind that crate's layer) and the
# /users/static ceiling, on one server, pinned like section 2, interleaved rounds.
start_server memory
curl -fs -o /dev/null "http://$HOST:$APP_PORT/users/peer"
for path in /users /users/peer /users/static; do
  taskset -c "$LOAD_CPUS" wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" "http://$HOST:$APP_PORT$path" > /dev/null
done
: > "$OUT/peer-hits.tsv"
for i in $(seq "$REPEATS"); do
  for path in /users /users/peer /users/static; do
    wrk_run memory "$path" "$i" "$OUT/peer-hits.tsv" "$OUT/peer-hits-$(echo "$path" | tr / _)-$i.txt"
  done
done
stop_pid "$SERVER_PID"; SERVER_PID=""
cleanup
python3 - "$OUT/peer-hits.tsv" <<'PY' | tee "$OUT/peer-hits.md"
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    _backend, path, i, rps, _p50, _p99 = line.rstrip("\n").split("\t")
    runs.setdefault(path, {})[int(i)] = float(rps)
peer = runs["/users/peer"]
print("### HTTP memory hits against axum-response-cache (same run, interleaved)\n")
print("| route | req/s median | min-max | ratio to axum-response-cache, per round | median ratio |")
print("|---|---:|---:|---|---:|")
for path, label in (("/users", "cachette memory HIT"), ("/users/peer", "axum-response-cache 0.5 hit"), ("/users/static", "`/users/static` ceiling")):
    r = runs[path]
    ratios = [r[i] / peer[i] for i in sorted(r)]
    print(f"| {label} `{path}` | {statistics.median(r.values()):,.0f} | {min(r.values()):,.0f}-{max(r.values()):,.0f} | "
          f"{' '.join(f'{x:.2f}' for x in ratios)} | **{statistics.median(ratios):.2f}** |")
PY
[ "$ONLY_HITS" = 1 ] && exit 0

python3 "$REPO/bench/summarize.py" "$OUT" | tee "$OUT/summary.md"
python3 "$REPO/bench/chart.py" "$OUT" "$REPO/bench/throughput.svg"
log "chart written to bench/throughput.svg; tables in $OUT/summary.md"
