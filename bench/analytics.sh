#!/usr/bin/env bash
# Firebreak response analytics benchmark: a year of generated incident response data
# (INCIDENTS incidents, ENTRIES_PER_INCIDENT timeline entries each, alerts, pages, postmortems,
# action items) in a fresh SQLite database, and in a fresh PostgreSQL schema when
# BENCH_POSTGRES_URL is set; then the server-side cost of one analytics report over the last
# 365 days (ungrouped, by week, by service), RUNS times each, in process (the store's
# analytics_facts + the report) and as GET /api/v1/analytics against a release server on the
# same database. See bench/README.md.
#
#   bench/analytics.sh                                        # 100,000 incidents, SQLite only
#   BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test bench/analytics.sh
#   INCIDENTS=10000 RUNS=3 bench/analytics.sh                 # a quick run
#
# Settings (environment): INCIDENTS (default 100000), ENTRIES_PER_INCIDENT (default 20), RUNS
# (per case, default 5), HTTP (1: also time the HTTP requests, default 1), SEED (the generator's,
# default 1), BENCH_POSTGRES_URL (when set, PostgreSQL too, in a new schema dropped afterwards).
# It exits non-zero when generating, measuring or a request fails, a report is empty, the HTTP
# answer counts other incidents than the in-process report, or the server does not exit 0 on
# SIGTERM. A case above the target (500 ms) is printed as MISS but is not a failure.
set -euo pipefail

INCIDENTS=${INCIDENTS:-100000}
ENTRIES_PER_INCIDENT=${ENTRIES_PER_INCIDENT:-20}
RUNS=${RUNS:-5}
HTTP=${HTTP:-1}
SEED=${SEED:-1}
CASES=(none week service)
TARGET_MS=500
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
for tool in curl jq; do
    command -v "$tool" >/dev/null || { echo "bench/analytics.sh needs $tool" >&2; exit 2; }
done
build_release analytics_bench
BENCH=$LOAD
make_work_dir analytics
SUMMARY="$WORK/summary.txt"

median() {
    sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# "min median max" of the numbers on stdin, one a line.
spread() {
    local values
    values=$(sort -n)
    printf '%s %s %s\n' "$(head -1 <<<"$values")" "$(median <<<"$values")" "$(tail -1 <<<"$values")"
}

verdict() {
    awk -v ms="$1" -v target="$TARGET_MS" 'BEGIN { print (ms <= target ? "ok" : "MISS") }'
}

# Generates, measures in process, then over HTTP. LABEL, DB (a --database URL), DIR, and how to
# print the database's size (a command).
run_backend() {
    local label=$1 db=$2 dir=$3 size_cmd=$4 now from to port case code t counted expected
    mkdir -p "$dir"
    echo
    echo "== $label: generating $INCIDENTS incidents, $ENTRIES_PER_INCIDENT timeline entries each"
    "$BENCH" generate --database "$db" --incidents "$INCIDENTS" \
        --entries-per-incident "$ENTRIES_PER_INCIDENT" --seed "$SEED" 2>&1 | sed 's/^/   /'
    echo "   database size: $($size_cmd)"

    # The last 365 days up to now (every generated incident is inside).
    now=$(date -u +%s)
    to=$(date -u -d "@$now" +%Y-%m-%dT%H:%M:%SZ)
    from=$(date -u -d "@$((now - 365 * 86400))" +%Y-%m-%dT%H:%M:%SZ)

    echo
    echo "== $label: in process (ReviewStore::analytics_facts + analytics::report), $RUNS runs per case"
    "$BENCH" measure --database "$db" --from "$from" --to "$to" --runs "$RUNS" \
        --cases "$(IFS=,; echo "${CASES[*]}")" --summary "$dir/in-process.tsv"
    ((HTTP == 1)) || {
        while IFS=$'\t' read -r case min med max counted _; do
            printf '   %-10s %-8s in process %7.1f / %7.1f / %7.1f ms  %-4s   (HTTP not measured)\n' \
                "$label" "$case" "$min" "$med" "$max" "$(verdict "$med")" >>"$SUMMARY"
        done <"$dir/in-process.tsv"
        return 0
    }

    echo
    echo "== $label: GET /api/v1/analytics against a release server on the same database, $RUNS requests per case"
    create_admin "$db"
    port=$(free_port)
    start_server "$port" "$db" "$dir/serve.log"
    for case in "${CASES[@]}"; do
        : >"$dir/http-$case.ms"
        for _ in $(seq 1 "$RUNS"); do
            read -r code t < <(curl -sS -o "$dir/answer.json" -w '%{http_code} %{time_total}\n' \
                -H "Authorization: Bearer $TOKEN" \
                "http://127.0.0.1:$port/api/v1/analytics?from=$from&to=$to&group_by=$case")
            if [[ $code != 200 ]]; then
                echo "   group_by=$case answered $code: $(head -c 500 "$dir/answer.json")" >&2
                return 1
            fi
            awk -v s="$t" 'BEGIN { printf "%.1f\n", s * 1000 }' >>"$dir/http-$case.ms"
        done
        counted=$(jq -r .total.incidents "$dir/answer.json")
        expected=$(awk -F'\t' -v c="$case" '$1 == c { print $5 }' "$dir/in-process.tsv")
        if [[ $counted != "$expected" ]]; then
            echo "   group_by=$case over HTTP counted $counted incidents, in process $expected" >&2
            return 1
        fi
        read -r min med max < <(spread <"$dir/http-$case.ms")
        echo "   group_by=$case: $(paste -sd' ' "$dir/http-$case.ms" | sed 's/ /, /g') ms; min $min  median $med  max $max" \
            "($(wc -c <"$dir/answer.json") bytes, $counted incidents counted)"
        read -r _ imin imed imax _ < <(awk -F'\t' -v c="$case" '$1 == c' "$dir/in-process.tsv" | tr '\t' ' ')
        printf '   %-10s %-8s in process %7.1f / %7.1f / %7.1f ms  %-4s   HTTP %7.1f / %7.1f / %7.1f ms  %s\n' \
            "$label" "$case" "$imin" "$imed" "$imax" "$(verdict "$imed")" "$min" "$med" "$max" "$(verdict "$med")" >>"$SUMMARY"
    done
    echo "   server RSS after the requests: $(mb "$(rss_kb "$SERVER_PID")") MB (peak $(mb "$(hwm_kb "$SERVER_PID")") MB)"
    stop_server "   "
    # sqlx warns of statements slower than 1 s (per statement: where the time goes); the
    # engine's rounds warn of the reminders for the open incidents' stakeholder updates, which
    # cannot be delivered without an email or SMS provider.
    echo "   warnings in the server's log: $(grep -c ' WARN ' "$dir/serve.log" || true)"
    grep ' WARN .*slow statement' "$dir/serve.log" \
        | sed -E 's/.*summary="([^"]*)".* rows_returned=([0-9]+) elapsed=([0-9.]+)s.*/\2 \3 \1/' \
        | awk '{ r = $1; e = $2; q = substr($0, length($1) + length($2) + 3); n[q]++; t[q] += e; if (e > m[q]) m[q] = e; rows[q] = r }
               END { for (q in n) printf "     slow statement (sqlx, > 1 s) %d×, mean %.2f s, max %.2f s, %d rows: %s\n", n[q], t[q] / n[q], m[q], rows[q], q }' || true
    grep ' WARN ' "$dir/serve.log" | grep -v 'slow statement' \
        | sed -E 's/^.* WARN ([^ ]+) ([^=]*) [a-z_]+=.*$/\1 \2/' | sort | uniq -c | sed 's/^/    /' || true
}

# The machine and the build, as print_machine in lib.sh says them, but with the commit read
# from .git's files (without running git; uncommitted changes are not looked for).
head_commit() {
    local head ref
    head=$(cat .git/HEAD 2>/dev/null) || { echo unknown; return; }
    if [[ $head == "ref: "* ]]; then
        ref=${head#ref: }
        head=$(cat ".git/$ref" 2>/dev/null || awk -v r="$ref" '$2 == r { print $1 }' .git/packed-refs 2>/dev/null)
    fi
    echo "${head:0:7}"
}
echo "== machine: $(nproc) cores, $(awk '/^model name/ { sub(/^[^:]*: /, ""); print; exit }' /proc/cpuinfo), $(uname -sr)"
echo "== firebreak $("$BIN" --version | awk '{ print $2 }'), commit $(head_commit), $(date -u +%Y-%m-%dT%H:%MZ)"
print_load_average
echo "== $INCIDENTS incidents × $ENTRIES_PER_INCIDENT timeline entries, seed $SEED; $RUNS runs per case; target ≤ $TARGET_MS ms"

sqlite_size() { du -sh "$WORK/sqlite" | cut -f1; }
run_backend SQLite "sqlite://$WORK/sqlite/firebreak.db" "$WORK/sqlite" sqlite_size

# Timestamps as the store writes them: the admin made by `firebreak admin create-user` and a
# generated incident have the same text form (sqlx's RFC 3339 with +00:00).
if ((HTTP == 1)) && command -v sqlite3 >/dev/null; then
    form='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?\+00:00$'
    stored=$(sqlite3 "$WORK/sqlite/firebreak.db" "SELECT created_at FROM users WHERE email = '$BENCH_EMAIL'")
    generated=$(sqlite3 "$WORK/sqlite/firebreak.db" "SELECT detected_at FROM incidents ORDER BY number DESC LIMIT 1")
    if [[ $stored =~ $form && $generated =~ $form ]]; then
        echo "   instants: written by the store $stored, generated $generated (same form)"
    else
        echo "   instants differ in form: written by the store $stored, generated $generated" >&2
        exit 1
    fi
fi

if [[ -n ${BENCH_POSTGRES_URL:-} ]]; then
    schema="fb_bench_analytics_$$_$RANDOM"
    export PGOPTIONS="-c client_min_messages=warning"
    psql "$BENCH_POSTGRES_URL" -qc "CREATE SCHEMA $schema"
    drop_schema() { psql "$BENCH_POSTGRES_URL" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" || true; }
    trap 'drop_schema; cleanup' EXIT
    sep='?'
    [[ $BENCH_POSTGRES_URL == *\?* ]] && sep='&'
    pg_size() {
        psql "$BENCH_POSTGRES_URL" -Atc "SELECT pg_size_pretty(SUM(pg_total_relation_size(c.oid))) FROM pg_class c \
            JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '$schema' AND c.relkind = 'r'"
    }
    run_backend PostgreSQL "${BENCH_POSTGRES_URL}${sep}options[search_path]=$schema" "$WORK/postgres" pg_size
fi

echo
echo "== summary: min / median / max of $RUNS runs; ok or MISS by the median against ≤ $TARGET_MS ms"
cat "$SUMMARY"
