#!/usr/bin/env bash
# Firebreak benchmark: cold start to ready, idle memory, and POST /api/v1/incidents under a
# bounded load, on one SQLite file on this machine. See bench/README.md.
#
#   bench/run.sh                       # defaults
#   REQUESTS=20000 CONCURRENCY=32 bench/run.sh
#
# Settings (environment): RUNS (cold starts, default 5), REQUESTS (default 5000),
# CONCURRENCY (default 16), DURATION (seconds, upper bound of the load phase, default 20),
# IDLE_SECONDS (settle time before reading idle RSS, default 2), BENCH_POSTGRES_URL (when set,
# the load phase runs on PostgreSQL too, in a new schema that is dropped afterwards).
set -euo pipefail

RUNS=${RUNS:-5}
REQUESTS=${REQUESTS:-5000}
CONCURRENCY=${CONCURRENCY:-16}
DURATION=${DURATION:-20}
IDLE_SECONDS=${IDLE_SECONDS:-2}
READY_DEADLINE_S=10

cd "$(dirname "$0")/.."
export NO_COLOR=1 # plain server logs, so the script can read them
echo "== building (release)" >&2
cargo build --release -p firebreak --bin firebreak --example load >&2
target_dir=$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
BIN="$target_dir/release/firebreak"
LOAD="$target_dir/release/examples/load"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/firebreak-bench.XXXXXX")
SERVER_PID=""
cleanup() {
    if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# A port nobody listens on right now (a connect attempt fails), picked at random.
free_port() {
    local port
    for _ in $(seq 1 100); do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    echo "no free port found" >&2
    return 1
}

# Spawns `firebreak serve` on PORT and DB, then polls GET /readyz over bash's /dev/tcp (no
# process per attempt) until it answers 200. Sets SERVER_PID and READY_US (spawn → 200).
start_server() {
    local port=$1 db=$2 log=$3 t0 t1 line deadline
    # Microseconds since the epoch, read without forking.
    t0=${EPOCHREALTIME/./}
    "$BIN" serve --listen "127.0.0.1:$port" --database "$db" 2>"$log" &
    SERVER_PID=$!
    deadline=$((t0 + READY_DEADLINE_S * 1000000))
    while :; do
        line=""
        if { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
            printf 'GET /readyz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
            IFS= read -r -t 5 line <&3 || true
            exec 3>&-
        fi
        t1=${EPOCHREALTIME/./}
        if [[ $line == "HTTP/1."?" 200"* ]]; then
            break
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "the server exited before it was ready; its log:" >&2
            cat "$log" >&2
            return 1
        fi
        if ((t1 > deadline)); then
            echo "the server was not ready within ${READY_DEADLINE_S}s; its log:" >&2
            cat "$log" >&2
            return 1
        fi
    done
    READY_US=$((t1 - t0))
}

# SIGTERM and wait; fails unless the server exits 0.
stop_server() {
    local status=0
    kill -TERM "$SERVER_PID"
    wait "$SERVER_PID" || status=$?
    SERVER_PID=""
    if ((status != 0)); then
        echo "the server exited $status after SIGTERM" >&2
        return 1
    fi
}

rss_kb() {
    awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

hwm_kb() {
    awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"
}

mb() {
    awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024 }'
}

median() {
    sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "== machine: $(nproc) cores, $(awk '/^model name/ { sub(/^[^:]*: /, ""); print; exit }' /proc/cpuinfo), $(uname -sr)"
echo "== firebreak $("$BIN" --version | awk '{ print $2 }'), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo '+changes'), $(date -u +%Y-%m-%dT%H:%MZ)"

# 1. Cold start on an empty database, RUNS times.
echo
echo "== 1. cold start to ready (spawn → GET /readyz 200), empty SQLite database, $RUNS runs"
ready_ms=()
for run in $(seq 1 "$RUNS"); do
    dir="$WORK/cold-$run"
    mkdir -p "$dir"
    start_server "$(free_port)" "sqlite://$dir/firebreak.db" "$dir/serve.log"
    ms=$(awk -v us="$READY_US" 'BEGIN { printf "%.1f", us / 1000 }')
    ready_ms+=("$ms")
    self=$(grep -o 'ready_ms=[0-9]*' "$dir/serve.log" | head -1 | cut -d= -f2 || true)
    echo "   run $run: ${ms} ms (the server's own ready_ms: ${self:-?})"
    if ((run == 1)); then
        # 2. Idle memory, from the first cold start.
        sleep "$IDLE_SECONDS"
        idle_rss=$(rss_kb "$SERVER_PID")
    fi
    stop_server
done
cold_median=$(printf '%s\n' "${ready_ms[@]}" | median)
echo "   median: ${cold_median} ms   (target < 200 ms)"

echo
echo "== 2. idle RSS ${IDLE_SECONDS}s after start: $(mb "$idle_rss") MB   (target < 30 MB)"

# 3. Load on a fresh database with an admin and a token made by the admin commands.
load_failed=0
load_phase() {
    local label=$1 db=$2 dir=$3 port token status=0
    echo
    echo "== 3. POST /api/v1/incidents on $label: $REQUESTS requests, concurrency $CONCURRENCY, at most ${DURATION}s"
    printf 'benchmark password 1234\n' | "$BIN" admin create-user --database "$db" \
        --email bench@example.com --name Benchmark --role admin --password-stdin 2>/dev/null
    token=$("$BIN" admin create-token --database "$db" --email bench@example.com --name bench)
    port=$(free_port)
    start_server "$port" "$db" "$dir/serve.log"
    FIREBREAK_TOKEN="$token" "$LOAD" --url "http://127.0.0.1:$port" \
        --requests "$REQUESTS" --concurrency "$CONCURRENCY" --duration "$DURATION" | sed 's/^/   /' || status=$?
    echo "   server RSS after load: $(mb "$(rss_kb "$SERVER_PID")") MB (peak $(mb "$(hwm_kb "$SERVER_PID")") MB)"
    stop_server
    if "$BIN" admin verify-audit --database "$db" >/dev/null; then
        echo "   audit chain intact after the load"
    else
        echo "   audit chain BROKEN after the load" >&2
        status=1
    fi
    if ((status != 0)); then
        echo "   the load phase on $label failed (see above)" >&2
        load_failed=1
    fi
}

mkdir -p "$WORK/load"
load_phase "SQLite" "sqlite://$WORK/load/firebreak.db" "$WORK/load"

# Optionally the same on PostgreSQL, in a schema of its own that is dropped afterwards.
if [[ -n ${BENCH_POSTGRES_URL:-} ]]; then
    schema="fb_bench_$$_$RANDOM"
    export PGOPTIONS="-c client_min_messages=warning"
    psql "$BENCH_POSTGRES_URL" -qc "CREATE SCHEMA $schema"
    drop_schema() { psql "$BENCH_POSTGRES_URL" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" || true; }
    trap 'drop_schema; cleanup' EXIT
    sep='?'
    [[ $BENCH_POSTGRES_URL == *\?* ]] && sep='&'
    mkdir -p "$WORK/load-pg"
    load_phase "PostgreSQL" "${BENCH_POSTGRES_URL}${sep}options[search_path]=$schema" "$WORK/load-pg"
fi

exit "$load_failed"
