#!/usr/bin/env bash
# Firebreak ingestion benchmark: PagerDuty Events v2 triggers at POST /v2/enqueue, one event per
# request, from CONNECTIONS keep-alive connections on this machine, each case on a fresh SQLite
# database: (a) 100 dedup keys (mostly duplicates), (b) every key new, then the same two paced
# to PACED_RATE events/s for the latency target. It samples the server's RSS every 0.5 s,
# checks afterwards that every 202 is a committed event (GET /api/v1/alerts), and — when
# prometheus-alertmanager is installed — sends the same alerts to Alertmanager's
# /api/v2/alerts and prints the ratio. See bench/README.md.
#
#   bench/ingest.sh                    # 60 s per case
#   DURATION=15 bench/ingest.sh        # a quick run
#
# Settings (environment): DURATION (seconds per case, default 60), CONNECTIONS (default 64),
# PACED_RATE (events/s of the paced cases, default 10000; 0 skips them), GEN_THREADS (runtime
# threads of the load generator, default 1), ALERTMANAGER (auto: run it when installed; off),
# CASES (which of a, b and c to run, default "a b c"; c is b on a database already holding PREFILL
# alerts, default 1000000, followed by timing GET /api/v1/alerts?status=open), PROFILE (1: record the server with
# `perf record` during the cases and print the hottest symbols and threads; PERF_KEEP=PREFIX keeps
# the recordings, PERF_CALLGRAPH=dwarf records call graphs).
set -euo pipefail

DURATION=${DURATION:-60}
CONNECTIONS=${CONNECTIONS:-64}
PACED_RATE=${PACED_RATE:-10000}
GEN_THREADS=${GEN_THREADS:-1}
ALERTMANAGER=${ALERTMANAGER:-auto}
PROFILE=${PROFILE:-0}
CASES=${CASES:-a b c}
PREFILL=${PREFILL:-1000000}
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
build_release ingest_load
AM_BIN=""
if [[ $ALERTMANAGER != off ]]; then
    AM_BIN=$(command -v prometheus-alertmanager || true)
fi
if [[ $PROFILE == 1 ]] && ! command -v perf >/dev/null; then
    echo "PROFILE=1 needs perf" >&2
    exit 1
fi

SAMPLER_PID=""
PERF_PID=""
CLEANUP_PIDS=(PERF_PID SAMPLER_PID SERVER_PID)
make_work_dir ingest

# Samples VmRSS (kB) of PID every 0.5 s into FILE, in the background (SAMPLER_PID).
start_sampler() {
    local pid=$1 file=$2
    : >"$file"
    (
        while kill -0 "$pid" 2>/dev/null; do
            rss_kb "$pid" 2>/dev/null || true
            sleep 0.5
        done
    ) >>"$file" &
    SAMPLER_PID=$!
}

# Stops the sampler and prints the peak sample, in kB.
stop_sampler() {
    local file=$1
    kill -TERM "$SAMPLER_PID" 2>/dev/null || true
    wait "$SAMPLER_PID" 2>/dev/null || true
    SAMPLER_PID=""
    sort -n "$file" | tail -1
}

start_profile() {
    local pid=$1 out=$2
    PERF_PID=""
    if [[ $PROFILE == 1 ]]; then
        perf record -q -e cpu-clock -F 999 ${PERF_CALLGRAPH:+--call-graph $PERF_CALLGRAPH} -p "$pid" -o "$out" >/dev/null 2>&1 &
        PERF_PID=$!
    fi
}

stop_profile() {
    local out=$1
    [[ -z $PERF_PID ]] && return 0
    kill -INT "$PERF_PID" 2>/dev/null || true
    wait "$PERF_PID" 2>/dev/null || true
    PERF_PID=""
    echo "   hottest symbols in the server (perf, cpu-clock, self time):"
    perf report -i "$out" --stdio --no-children --sort dso,symbol -g none 2>/dev/null |
        grep -E '^ +[0-9]' | head -25 | sed -E 's/^/     /; s/[[:space:]-]+$//' || true
    echo "   by thread:"
    perf report -i "$out" --stdio --no-children --sort comm -g none 2>/dev/null |
        grep -E '^ +[0-9]' | head -8 | sed -E 's/^/     /; s/[[:space:]-]+$//' || true
    if [[ -n ${PERF_KEEP:-} ]]; then
        cp "$out" "$PERF_KEEP.$(basename "$out")"
        echo "   perf data kept: $PERF_KEEP.$(basename "$out")"
    fi
}

# CPU seconds (user + system) used so far by each thread name of PID, as "name seconds" lines.
thread_cpu() {
    local t
    for t in /proc/"$1"/task/*; do
        awk '{ sub(/^[^)]*\) /, ""); print $12 + $13 }' "$t/stat" 2>/dev/null | paste -d' ' <(tr ' ' _ <"$t/comm") -
    done | awk '{ s[$1] += $2 / 100 } END { for (n in s) printf "%s %.2f\n", n, s[n] }' | sort
}

# Prints what each thread name used between two thread_cpu snapshots, busiest first.
cpu_delta() {
    join -a 2 -e 0 -o 0,1.2,2.2 "$1" "$2" | awk '{ d = $3 - $2; t += d; if (d >= 0.01) printf "%s %.2f\n", $1, d } END { printf "total %.2f\n", t }' |
        sort -k2 -rn | awk '{ printf "%s%s %s s", (NR > 1 ? ", " : ""), $1, $2 }'
}

jget() {
    jq -r "$2" "$1"
}

api() {
    local method=$1 path=$2 body=$3
    curl -sS -f -X "$method" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
        --data "$body" "$BASE$path"
}

print_machine
if [[ -n $AM_BIN ]]; then
    echo "== alertmanager: $("$AM_BIN" --version 2>&1 | head -1)"
else
    echo "== alertmanager: not run (${ALERTMANAGER}; prometheus-alertmanager $(command -v prometheus-alertmanager >/dev/null && echo installed || echo 'not installed'))"
fi
print_load_average
echo "== $CONNECTIONS connections, ${DURATION}s per case, load generator with $GEN_THREADS runtime thread(s)"

failed=0
declare -A RESULT_RATE RESULT_LINE

# One case on a fresh server and database. Args: label, keys (100|unique), rate (0: unpaced),
# prefill (alerts stored before the measured load; 0: none).
firebreak_case() {
    local label=$1 keys=$2 rate=$3 prefill=${4:-0} dir db port key service_id peak hwm status=0 pace_args=()
    dir="$WORK/fb-$label"
    mkdir -p "$dir"
    db="sqlite://$dir/firebreak.db"
    echo
    if ((rate > 0)); then
        pace_args=(--rate "$rate")
        echo "== Firebreak, case $label: keys $keys, paced to $rate events/s (load average $(cut -d' ' -f1 /proc/loadavg))"
    else
        echo "== Firebreak, case $label: keys $keys, as fast as answered (load average $(cut -d' ' -f1 /proc/loadavg))"
    fi
    create_admin "$db"
    port=$(free_port)
    BASE="http://127.0.0.1:$port"
    start_server "$port" "$db" "$dir/serve.log"
    service_id=$(api POST /api/v1/services '{"name":"bench"}' | jq -r .id)
    key=$(api POST "/api/v1/services/$service_id/integrations" '{"type":"pagerduty","name":"bench"}' | jq -r .key)
    if ((prefill > 0)); then
        echo "   storing $prefill alerts first (unique keys, not measured)..."
        local fill_started=$EPOCHSECONDS
        FIREBREAK_ROUTING_KEY="$key" "$LOAD" --url "$BASE" --keys unique --connections "$CONNECTIONS" \
            --requests "$prefill" --duration 7200 --json "$dir/prefill.json" >"$dir/prefill.txt" ||
            { echo "   storing the alerts failed:" >&2; sed 's/^/   /' "$dir/prefill.txt" >&2; failed=1; stop_server "   " || true; return 0; }
        echo "   stored $(jget "$dir/prefill.json" .ok) alerts in $((EPOCHSECONDS - fill_started)) s; database $(du -sh "$dir" | cut -f1)"
    fi
    start_sampler "$SERVER_PID" "$dir/rss"
    start_profile "$SERVER_PID" "$dir/perf.data"
    thread_cpu "$SERVER_PID" >"$dir/cpu0"
    FIREBREAK_ROUTING_KEY="$key" "$LOAD" --url "$BASE" --keys "$keys" --connections "$CONNECTIONS" \
        --duration "$DURATION" --threads "$GEN_THREADS" "${pace_args[@]}" --json "$dir/load.json" |
        sed 's/^/   /' || status=$?
    thread_cpu "$SERVER_PID" >"$dir/cpu1"
    peak=$(stop_sampler "$dir/rss")
    echo "   server CPU during the load: $(cpu_delta "$dir/cpu0" "$dir/cpu1") (in ${DURATION} s on $(nproc) cores)"
    stop_profile "$dir/perf.data"
    hwm=$(hwm_kb "$SERVER_PID")
    echo "   server RSS: peak $(mb "$peak") MB sampled every 0.5 s (VmHWM $(mb "$hwm") MB)"
    if [[ ! -s $dir/load.json ]]; then
        echo "   the load generator wrote no figures" >&2
        failed=1
        stop_server "   " || true
        return 0
    fi
    # Every 202 must be a committed event: alerts' counts add up to the 202s; with unique keys
    # each 202 is its own alert.
    "$LOAD" --url "$BASE" --count-alerts --token "$TOKEN" --json "$dir/count.json" | sed 's/^/   /'
    local ok alerts events expect_alerts stored=0
    ok=$(jget "$dir/load.json" .ok)
    alerts=$(jget "$dir/count.json" .alerts)
    events=$(jget "$dir/count.json" .events)
    ((prefill > 0)) && stored=$(jget "$dir/prefill.json" .ok)
    if [[ $keys == unique ]]; then expect_alerts=$((ok + stored)); else expect_alerts=$((ok < keys ? ok : keys)); fi
    if ((events == ok + stored && alerts == expect_alerts)); then
        local beside=""
        ((stored > 0)) && beside=" (beside the $stored stored first)"
        echo "   durable: $ok answers 2xx = $((events - stored)) events committed in $((alerts - stored)) new alerts$beside"
    else
        echo "   MISMATCH: $ok answers 2xx but $events events committed in $alerts alerts (expected $expect_alerts alerts)" >&2
        status=1
    fi
    if ((prefill > 0)); then
        echo "   GET /api/v1/alerts?status=open (first page, 50 alerts) with $alerts alerts stored, 8 connections, 20 s:"
        "$LOAD" --url "$BASE" --target alerts-list --token "$TOKEN" --connections 8 --duration 20 \
            --json "$dir/list.json" | sed 's/^/   /' || status=1
        [[ -s $dir/list.json ]] && RESULT_LINE[$label-list]=$(jq -r \
            'def ms: . * 100 | round / 100; "\(.events_per_s | floor) requests/s, p50 \(.p50_ms | ms) ms, p99 \(.p99_ms | ms) ms, max \(.max_ms | ms) ms"' \
            "$dir/list.json")
    fi
    stop_server "   " || status=1
    if ((status != 0)); then
        failed=1
    fi
    RESULT_RATE[$label]=$(jget "$dir/load.json" '.events_per_s | floor')
    RESULT_LINE[$label]=$(jq -r --arg rss "$(mb "$peak")" \
        'def ms: . * 100 | round / 100; "\(.events_per_s | floor) events/s, p50 \(.p50_ms | ms) ms, p99 \(.p99_ms | ms) ms, max \(.max_ms | ms) ms, \(.throttled) × 429, peak RSS \($rss) MB"' \
        "$dir/load.json")
}

# The same alerts to a fresh Alertmanager (in memory, one null receiver).
alertmanager_case() {
    local label=$1 keys=$2 dir port peak status=0
    dir="$WORK/am-$label"
    mkdir -p "$dir/data"
    cat >"$dir/alertmanager.yml" <<'EOF'
route:
  receiver: "null"
receivers:
  - name: "null"
EOF
    echo
    echo "== Alertmanager, case $label: keys $keys, as fast as answered (load average $(cut -d' ' -f1 /proc/loadavg))"
    port=$(free_port)
    "$AM_BIN" --config.file="$dir/alertmanager.yml" --storage.path="$dir/data" \
        --web.listen-address="127.0.0.1:$port" --cluster.listen-address= --log.level=warn 2>"$dir/am.log" &
    SERVER_PID=$!
    wait_ready "$port" /-/ready "$SERVER_PID" "$dir/am.log"
    start_sampler "$SERVER_PID" "$dir/rss"
    "$LOAD" --target alertmanager --url "http://127.0.0.1:$port" --keys "$keys" --connections "$CONNECTIONS" \
        --duration "$DURATION" --threads "$GEN_THREADS" --json "$dir/load.json" | sed 's/^/   /' || status=$?
    peak=$(stop_sampler "$dir/rss")
    echo "   Alertmanager RSS: peak $(mb "$peak") MB sampled every 0.5 s"
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    if ((status != 0)) || [[ ! -s $dir/load.json ]]; then
        echo "   the load against Alertmanager failed" >&2
        failed=1
        return 0
    fi
    RESULT_RATE[am-$label]=$(jget "$dir/load.json" '.events_per_s | floor')
    RESULT_LINE[am-$label]=$(jq -r --arg rss "$(mb "$peak")" \
        'def ms: . * 100 | round / 100; "\(.events_per_s | floor) events/s, p50 \(.p50_ms | ms) ms, p99 \(.p99_ms | ms) ms, max \(.max_ms | ms) ms, peak RSS \($rss) MB"' \
        "$dir/load.json")
}

keys_of() { if [[ $1 == a ]]; then echo 100; else echo unique; fi; }
for c in $CASES; do
    [[ $c == a || $c == b || $c == c ]] || { echo "CASES: a, b and/or c, not $c" >&2; exit 2; }
done
for c in $CASES; do
    if [[ $c == c ]]; then firebreak_case c unique 0 "$PREFILL"; else firebreak_case "$c" "$(keys_of "$c")" 0; fi
done
if [[ -n $AM_BIN ]]; then
    for c in $CASES; do [[ $c == c ]] || alertmanager_case "$c" "$(keys_of "$c")"; done
fi
if ((PACED_RATE > 0)); then
    for c in $CASES; do [[ $c == c ]] || firebreak_case "$c-paced" "$(keys_of "$c")" "$PACED_RATE"; done
fi

echo
echo "== summary (targets: ≥ 30000 events/s for 60 s; p99 ≤ 25 ms at 10000 events/s; RSS ≤ 100 MB;"
echo "   with 1,000,000 alerts stored: ingest ≥ 80% of the empty-database rate, alert list p99 ≤ 50 ms)"
for label in a b c a-paced b-paced; do
    [[ -n ${RESULT_LINE[$label]:-} ]] && echo "   Firebreak    $label: ${RESULT_LINE[$label]}"
done
if [[ -n ${RESULT_LINE[c-list]:-} ]]; then
    echo "   alert list with $PREFILL+ alerts stored: ${RESULT_LINE[c-list]}"
fi
if [[ -n ${RESULT_RATE[b]:-} && -n ${RESULT_RATE[c]:-} ]]; then
    echo "   case c / case b (unique keys, $PREFILL alerts stored vs. empty): $(awk -v c="${RESULT_RATE[c]}" -v b="${RESULT_RATE[b]}" 'BEGIN { printf "%.0f%%", (b > 0 ? 100 * c / b : 0) }')"
fi
for label in a b; do
    if [[ -n ${RESULT_LINE[am-$label]:-} ]]; then
        echo "   Alertmanager $label: ${RESULT_LINE[am-$label]}"
        if [[ -n ${RESULT_RATE[$label]:-} ]]; then
            echo "   ratio Firebreak/Alertmanager, case $label: $(awk -v f="${RESULT_RATE[$label]}" -v a="${RESULT_RATE[am-$label]}" 'BEGIN { printf "%.2f", (a > 0 ? f / a : 0) }')"
        fi
    fi
done
exit "$failed"
