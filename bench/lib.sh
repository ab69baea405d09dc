# What the benchmark scripts (bench/run.sh, bench/paging.sh, bench/ingest.sh) share: the release
# build, a temporary work folder removed on exit, a free port, a server on a fresh database with
# an admin and a token, and stopping it. Sourced, not run; it moves to the repository root.
# shellcheck shell=bash

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export NO_COLOR=1 # plain server logs, so the scripts can read them

READY_DEADLINE_S=10
# Seconds between two polls of a readiness endpoint; 0 polls in a tight loop (no process per
# attempt, for timing the start).
READY_POLL_S=0.02
BENCH_EMAIL=bench@example.com
BENCH_PASSWORD="benchmark password 1234"
SERVER_PID=""
# The variables holding the pids of background processes to stop on exit, in order.
CLEANUP_PIDS=(SERVER_PID)

# Builds the release binary and the load generator EXAMPLE; sets BIN and LOAD.
build_release() {
    local example=$1 target_dir
    echo "== building (release)" >&2
    cargo build --release -p firebreak --bin firebreak --example "$example" >&2
    target_dir=$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
    BIN="$target_dir/release/firebreak"
    LOAD="$target_dir/release/examples/$example"
}

# Makes the work folder WORK (named firebreak-NAME.XXXXXX in $TMPDIR) and removes it on exit,
# after stopping what CLEANUP_PIDS names.
make_work_dir() {
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/firebreak-$1.XXXXXX")
    trap cleanup EXIT
}

cleanup() {
    local name pid
    for name in "${CLEANUP_PIDS[@]}"; do
        pid=${!name:-}
        if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$WORK"
}

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

# Polls GET PATH on PORT over bash's /dev/tcp until it answers 200, or fails when PID exits or
# the deadline passes (then prints LOG). Sets READY_AT (microseconds since the epoch, read
# without forking) to when the 200 came.
wait_ready() {
    local port=$1 path=$2 pid=$3 log=$4 line deadline
    deadline=$((${EPOCHREALTIME/./} + READY_DEADLINE_S * 1000000))
    while :; do
        line=""
        if { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
            printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$path" >&3
            IFS= read -r -t 5 line <&3 || true
            exec 3>&-
        fi
        READY_AT=${EPOCHREALTIME/./}
        [[ $line == "HTTP/1."?" 200"* ]] && return 0
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "the server exited before it was ready; its log:" >&2
            cat "$log" >&2
            return 1
        fi
        if ((READY_AT > deadline)); then
            echo "the server was not ready within ${READY_DEADLINE_S}s; its log:" >&2
            cat "$log" >&2
            return 1
        fi
        if [[ $READY_POLL_S != 0 ]]; then
            sleep "$READY_POLL_S"
        fi
    done
}

# Spawns `firebreak serve` on PORT and DB (further arguments are more `serve` flags), its log in
# LOG, and waits until GET /readyz answers 200. Sets SERVER_PID and READY_US (spawn → 200).
start_server() {
    local port=$1 db=$2 log=$3 t0
    shift 3
    t0=${EPOCHREALTIME/./}
    "$BIN" serve --listen "127.0.0.1:$port" --database "$db" "$@" 2>"$log" &
    SERVER_PID=$!
    wait_ready "$port" /readyz "$SERVER_PID" "$log"
    READY_US=$((READY_AT - t0))
}

# An admin (BENCH_EMAIL, BENCH_PASSWORD) and an API token of theirs in DB, made by the offline
# admin commands; sets TOKEN.
create_admin() {
    local db=$1
    printf '%s\n' "$BENCH_PASSWORD" | "$BIN" admin create-user --create --database "$db" \
        --email "$BENCH_EMAIL" --name Benchmark --role admin --password-stdin >/dev/null 2>&1
    TOKEN=$("$BIN" admin create-token --database "$db" --email "$BENCH_EMAIL" --name bench)
}

# SIGTERM and wait; fails unless the server exits 0. PREFIX goes before the error message.
stop_server() {
    local prefix=${1:-} status=0
    kill -TERM "$SERVER_PID"
    wait "$SERVER_PID" || status=$?
    SERVER_PID=""
    if ((status != 0)); then
        echo "${prefix}the server exited $status after SIGTERM" >&2
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

# The first lines of every report: the machine, and the build measured.
print_machine() {
    echo "== machine: $(nproc) cores, $(awk '/^model name/ { sub(/^[^:]*: /, ""); print; exit }' /proc/cpuinfo), $(uname -sr)"
    echo "== firebreak $("$BIN" --version | awk '{ print $2 }'), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo '+changes'), $(date -u +%Y-%m-%dT%H:%MZ)"
}

print_load_average() {
    echo "== load average before the run: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews every figure)"
}
