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
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
# Poll /readyz in a tight loop: the time to ready is what is measured.
READY_POLL_S=0
build_release load
make_work_dir bench

median() {
    sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

print_machine

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
    local label=$1 db=$2 dir=$3 port status=0
    echo
    echo "== 3. POST /api/v1/incidents on $label: $REQUESTS requests, concurrency $CONCURRENCY, at most ${DURATION}s"
    create_admin "$db"
    port=$(free_port)
    start_server "$port" "$db" "$dir/serve.log"
    FIREBREAK_TOKEN="$TOKEN" "$LOAD" --url "http://127.0.0.1:$port" \
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
