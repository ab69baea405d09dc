#!/usr/bin/env bash
# Firebreak paging benchmark: (1) the time from a PagerDuty Events v2 event accepted (the 202 of
# POST /v2/enqueue) to its first page at a local webhook receiver, over INCIDENTS incidents sent at
# RATE events/s; (2) how late a delayed escalation step (level 2, due a minute after the incident
# opened) pages while OPEN other incidents wait to escalate, over PROBES probe incidents. One fresh
# server on a fresh SQLite database runs both phases, phase 1 first (its incidents stay open into
# phase 2). Notifications are not bundled (bundle_seconds = 0). See bench/README.md.
#
#   bench/paging.sh                              # defaults: about 3 minutes
#   INCIDENTS=200 OPEN=1000 PROBES=10 bench/paging.sh   # a quick run
#
# Settings (environment): INCIDENTS (phase 1 events, each its own incident, default 1000), RATE
# (phase 1 events/s, default 20), OPEN (incidents waiting to escalate in phase 2, default 10000),
# PROBES (phase 2 probe incidents, default 30), PROBE_SPREAD
# (seconds over which the probes open, default 20), PHASE (page, escalation or both; default both).
# It exits non-zero when a page is missing, a request fails or the server does not exit 0 on
# SIGTERM; a missed target is printed as MISS.
set -euo pipefail

INCIDENTS=${INCIDENTS:-1000}
RATE=${RATE:-20}
OPEN=${OPEN:-10000}
PROBES=${PROBES:-30}
PROBE_SPREAD=${PROBE_SPREAD:-20}
PHASE=${PHASE:-both}
READY_DEADLINE_S=10

cd "$(dirname "$0")/.."
export NO_COLOR=1
echo "== building (release)" >&2
cargo build --release -p firebreak --bin firebreak --example paging_load >&2
target_dir=$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
BIN="$target_dir/release/firebreak"
LOAD="$target_dir/release/examples/paging_load"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/firebreak-paging.XXXXXX")
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

# Polls GET /readyz on PORT until it answers 200, or fails when PID exits or the deadline passes
# (then prints LOG).
wait_ready() {
    local port=$1 pid=$2 log=$3 line deadline
    deadline=$((${EPOCHREALTIME/./} + READY_DEADLINE_S * 1000000))
    while :; do
        line=""
        if { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
            printf 'GET /readyz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
            IFS= read -r -t 5 line <&3 || true
            exec 3>&-
        fi
        [[ $line == "HTTP/1."?" 200"* ]] && return 0
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "the server exited before it was ready; its log:" >&2
            cat "$log" >&2
            return 1
        fi
        if ((${EPOCHREALTIME/./} > deadline)); then
            echo "the server was not ready within ${READY_DEADLINE_S}s; its log:" >&2
            cat "$log" >&2
            return 1
        fi
        sleep 0.02
    done
}

echo "== machine: $(nproc) cores, $(awk '/^model name/ { sub(/^[^:]*: /, ""); print; exit }' /proc/cpuinfo), $(uname -sr)"
echo "== firebreak $("$BIN" --version | awk '{ print $2 }'), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo '+changes'), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "== load average before the run: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews every figure)"
echo "== phase 1: $INCIDENTS incidents at $RATE events/s; phase 2: $OPEN open incidents, $PROBES probes over ${PROBE_SPREAD}s"

PASSWORD="benchmark password 1234"
db="sqlite://$WORK/firebreak.db"
printf '%s\n' "$PASSWORD" | "$BIN" admin create-user --database "$db" \
    --email bench@example.com --name Benchmark --role admin --password-stdin >/dev/null 2>&1
TOKEN=$("$BIN" admin create-token --database "$db" --email bench@example.com --name bench)
port=$(free_port)
cat >"$WORK/firebreak.toml" <<EOF
public_url = "http://127.0.0.1:$port"

[notify]
# The webhook receiver listens on 127.0.0.1.
allow_private_addresses = true
# Every page is its own message, sent at once (the default collects a person's pages for 30 s).
bundle_seconds = 0
EOF
"$BIN" serve --listen "127.0.0.1:$port" --database "$db" --config "$WORK/firebreak.toml" 2>"$WORK/serve.log" &
SERVER_PID=$!
wait_ready "$port" "$SERVER_PID" "$WORK/serve.log"

status=0
FIREBREAK_TOKEN="$TOKEN" FIREBREAK_PASSWORD="$PASSWORD" "$LOAD" --url "http://127.0.0.1:$port" \
    --phase "$PHASE" --incidents "$INCIDENTS" --rate "$RATE" --open "$OPEN" --probes "$PROBES" \
    --probe-spread "$PROBE_SPREAD" || status=$?

echo "== server: $(awk '/^VmHWM:/ { printf "VmHWM %.1f MB", $2 / 1024 }' "/proc/$SERVER_PID/status"), database $(du -sh "$WORK" | cut -f1), warnings in its log: $(grep -c -i 'warn' "$WORK/serve.log" || true)"
grep -i 'warn' "$WORK/serve.log" | head -5 | sed 's/^/   /' || true
kill -TERM "$SERVER_PID"
server_status=0
wait "$SERVER_PID" || server_status=$?
SERVER_PID=""
if ((server_status != 0)); then
    echo "the server exited $server_status after SIGTERM" >&2
    status=1
fi
exit "$status"
