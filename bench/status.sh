#!/usr/bin/env bash
# Firebreak status page benchmark: how many readers a status page serves while alerts pour in.
# One fresh server on a fresh SQLite database gets a page with COMPONENTS components in
# GROUP_COUNT groups (the first of each group driven by the service the alerts go to), NOTICES
# published public incidents, each resolved, spread over the last 90 days, and 90 days of status
# history for every component (two changes a day). Then, while the ingest load generator sends PagerDuty
# events from INGEST_CONNECTIONS connections, it reads GET /status/{slug} for DURATION seconds
# and then GET /status/{slug}/api/v2/summary.json for DURATION seconds, from CONNECTIONS
# keep-alive connections each (the load generator's `--target get`), and reports requests/s, p50/p99 latency
# and the ingest rate during the reads. See bench/README.md.
#
#   bench/status.sh                    # 20 s per read phase, 64 connections
#   DURATION=5 bench/status.sh         # a quick run
#
# Settings (environment): DURATION (seconds per read phase, default 20), CONNECTIONS (readers'
# connections, default 64), INGEST_CONNECTIONS (the alert load's connections, default 16; 0:
# no alerts), COMPONENTS (default 20), GROUP_COUNT (default 4), NOTICES (default 50). It exits
# non-zero when a read answers anything but 200, the server does not exit 0 on SIGTERM, or
# seeding fails.
set -euo pipefail

DURATION=${DURATION:-20}
CONNECTIONS=${CONNECTIONS:-64}
INGEST_CONNECTIONS=${INGEST_CONNECTIONS:-16}
COMPONENTS=${COMPONENTS:-20}
GROUP_COUNT=${GROUP_COUNT:-4}
NOTICES=${NOTICES:-50}
SLUG=bench
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
for tool in curl jq sqlite3; do
    command -v "$tool" >/dev/null || { echo "bench/status.sh needs $tool" >&2; exit 2; }
done
build_release ingest_load
INGEST_PID=""
CLEANUP_PIDS=(INGEST_PID SERVER_PID)
make_work_dir status

api() {
    local method=$1 path=$2 body=${3:-}
    curl -sS -f -X "$method" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
        ${body:+--data "$body"} "$BASE$path"
}

# POSTs BODY to PATH; prints the HTTP status, the answer in FILE.
api_status() {
    local path=$1 body=$2 file=$3
    curl -sS -o "$file" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" \
        -H 'Content-Type: application/json' --data "$body" "$BASE$path"
}

sql() {
    sqlite3 -bail -cmd '.timeout 10000' "$DB_FILE" "$@"
}

print_machine
print_load_average
echo "== page: $COMPONENTS components in $GROUP_COUNT groups, $NOTICES resolved public incidents, 90 days of history"
echo "== reads: $CONNECTIONS connections, ${DURATION}s per path; alerts: $INGEST_CONNECTIONS connections meanwhile"

DB_FILE="$WORK/firebreak.db"
db="sqlite://$DB_FILE"
create_admin "$db"
port=$(free_port)
BASE="http://127.0.0.1:$port"
start_server "$port" "$db" "$WORK/serve.log"

# The service the alerts go to, and the page.
service_id=$(api POST /api/v1/services '{"name":"bench"}' | jq -r .id)
key=$(api POST "/api/v1/services/$service_id/integrations" '{"type":"pagerduty","name":"bench"}' | jq -r .key)
api POST /api/v1/status-pages "{\"slug\":\"$SLUG\",\"name\":\"Bench status\"}" >/dev/null
per_group=$(((COMPONENTS + GROUP_COUNT - 1) / GROUP_COUNT))
for i in $(seq 1 "$COMPONENTS"); do
    group=$(((i - 1) / per_group + 1))
    services='[]'
    (((i - 1) % per_group == 0)) && services='["bench"]'
    api POST "/api/v1/status-pages/$SLUG/components" \
        "{\"name\":\"Component $i\",\"group\":\"Group $group\",\"services\":$services}" >/dev/null
done
mapfile -t component_ids < <(api GET "/api/v1/status-pages/$SLUG" | jq -r '.components[].id')
((${#component_ids[@]} == COMPONENTS)) || { echo "expected $COMPONENTS components, got ${#component_ids[@]}" >&2; exit 1; }

# The public incidents: through the API when it has the routes, else straight into the tables
# of migration 0018. Either way they are then dated over the last 90 days.
seeded_by=api
for i in $(seq 1 "$NOTICES"); do
    c=${component_ids[$(((i - 1) % COMPONENTS))]}
    body=$(jq -nc --arg t "Incident $i: elevated errors" --arg c "$c" \
        '{title: $t, status: "investigating", body: "We are looking into it.", impact: "minor", components: [$c], publish: true}')
    code=$(api_status "/api/v1/status-pages/$SLUG/incidents" "$body" "$WORK/notice.json")
    if [[ $code == 404 || $code == 405 ]]; then
        seeded_by=sql
        break
    fi
    [[ $code == 2?? ]] || { echo "posting a public incident answered $code: $(cat "$WORK/notice.json")" >&2; exit 1; }
    notice_id=$(jq -r '.id // .notice.id' "$WORK/notice.json")
    code=$(api_status "/api/v1/status-pages/$SLUG/incidents/$notice_id/updates" \
        '{"status":"resolved","body":"Fixed; error rates are back to normal."}' "$WORK/update.json")
    [[ $code == 2?? ]] || { echo "resolving a public incident answered $code: $(cat "$WORK/update.json")" >&2; exit 1; }
done
# Timestamps as the server writes them (sqlx: RFC 3339, +00:00, no fraction for whole seconds).
ts() { echo "strftime('%Y-%m-%dT%H:%M:%S', $1) || '+00:00'"; }
if [[ $seeded_by == sql ]]; then
    sql <<EOF
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $NOTICES),
comp AS (SELECT id, position FROM status_components WHERE page_id = (SELECT id FROM status_pages WHERE slug = '$SLUG'))
INSERT INTO status_notices (id, page_id, kind, incident_id, title, impact, status, component_ids, scheduled_for, scheduled_until, created_at, updated_at, resolved_at)
SELECT randomblob(16), (SELECT id FROM status_pages WHERE slug = '$SLUG'), 'incident', NULL,
       'Incident ' || i || ': elevated errors', 'minor', 'resolved',
       json_array(lower(substr(hex(c.id), 1, 8) || '-' || substr(hex(c.id), 9, 4) || '-' || substr(hex(c.id), 13, 4) || '-' || substr(hex(c.id), 17, 4) || '-' || substr(hex(c.id), 21))),
       NULL, NULL, 'now', 'now', 'now'
FROM n JOIN comp c ON c.position = (n.i - 1) % $COMPONENTS + 1;
INSERT INTO status_updates (id, notice_id, status, body, created_at, created_by, published_at)
SELECT randomblob(16), id, 'investigating', 'We are looking into it.', 'now', 'bench', 'now' FROM status_notices;
INSERT INTO status_updates (id, notice_id, status, body, created_at, created_by, published_at)
SELECT randomblob(16), id, 'resolved', 'Fixed; error rates are back to normal.', 'now', 'bench', 'now' FROM status_notices;
EOF
fi
# Notice k (by age) began 90·k/NOTICES days ago at 10:00 and was resolved 40 minutes later.
sql <<EOF
CREATE TEMP TABLE dated AS
SELECT id, ROW_NUMBER() OVER (ORDER BY created_at, id) AS k FROM status_notices;
UPDATE status_notices SET
    created_at = (SELECT $(ts "date('now', '-' || (90 * k / ($NOTICES + 1) + 1) || ' days', '+10 hours')") FROM dated d WHERE d.id = status_notices.id),
    updated_at = (SELECT $(ts "datetime(date('now', '-' || (90 * k / ($NOTICES + 1) + 1) || ' days'), '+10 hours', '+40 minutes')") FROM dated d WHERE d.id = status_notices.id),
    resolved_at = (SELECT $(ts "datetime(date('now', '-' || (90 * k / ($NOTICES + 1) + 1) || ' days'), '+10 hours', '+40 minutes')") FROM dated d WHERE d.id = status_notices.id);
UPDATE status_updates SET
    created_at = (SELECT CASE status_updates.status WHEN 'resolved' THEN n.updated_at ELSE n.created_at END FROM status_notices n WHERE n.id = status_updates.notice_id),
    published_at = (SELECT CASE status_updates.status WHEN 'resolved' THEN n.updated_at ELSE n.created_at END FROM status_notices n WHERE n.id = status_updates.notice_id);
EOF
# History: every component, every one of the last 90 days, one change away from operational
# (degraded, partial, major or maintenance, in turn) and back 20–59 minutes later.
sql <<EOF
WITH RECURSIVE d(day) AS (SELECT 1 UNION ALL SELECT day + 1 FROM d WHERE day < 90),
comp AS (SELECT id, position FROM status_components WHERE page_id = (SELECT id FROM status_pages WHERE slug = '$SLUG')),
ev AS (
    SELECT c.id AS component_id, datetime(date('now', '-' || d.day || ' days'), '+' || ((c.position + d.day) % 24) || ' hours') AS start,
           20 + (c.position * d.day) % 40 AS minutes,
           CASE (c.position + d.day) % 4 WHEN 0 THEN 'degraded_performance' WHEN 1 THEN 'partial_outage' WHEN 2 THEN 'major_outage' ELSE 'under_maintenance' END AS status
    FROM comp c CROSS JOIN d
)
INSERT INTO status_history (id, component_id, at, status)
SELECT randomblob(16), component_id, $(ts start), status FROM ev
UNION ALL
SELECT randomblob(16), component_id, $(ts "datetime(start, '+' || minutes || ' minutes')"), 'operational' FROM ev;
EOF
echo "== seeded ($seeded_by): $(sql 'SELECT COUNT(*) FROM status_notices') notices, $(sql 'SELECT COUNT(*) FROM status_updates') updates, $(sql 'SELECT COUNT(*) FROM status_history') history rows; database $(du -sh "$WORK" | cut -f1)"

for path in "/status/$SLUG" "/status/$SLUG/api/v2/summary.json"; do
    code=$(curl -s -o "$WORK/first" -w '%{http_code}' "$BASE$path")
    [[ $code == 200 ]] || { echo "GET $path answered $code: $(head -c 300 "$WORK/first")" >&2; exit 1; }
    echo "   GET $path: 200, $(wc -c <"$WORK/first") bytes"
done

failed=0
if ((INGEST_CONNECTIONS > 0)); then
    FIREBREAK_ROUTING_KEY="$key" "$LOAD" --url "$BASE" --keys 100 --connections "$INGEST_CONNECTIONS" \
        --duration $((2 * DURATION + 4)) --json "$WORK/ingest.json" >"$WORK/ingest.txt" 2>&1 &
    INGEST_PID=$!
    sleep 2 # the alerts flow before the reads begin
fi

declare -A RESULT
# GETs PATH from CONNECTIONS keep-alive connections for DURATION seconds with the load
# generator (`--target get`, 2 runtime threads), which prints requests/s and percentiles.
# The server's CPU time so far (user + system), in clock ticks (fields 14 and 15 of
# /proc/PID/stat; the command name in field 2 has no spaces here).
server_ticks() {
    awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"
}

read_phase() {
    local label=$1 path=$2 out="$WORK/reads-$1.json" stats ticks0 ticks1 hz
    echo
    echo "== GET $path, $CONNECTIONS connections, ${DURATION}s (load average $(cut -d' ' -f1 /proc/loadavg))"
    ticks0=$(server_ticks)
    if ! "$LOAD" --url "$BASE" --target get --path "$path" --connections "$CONNECTIONS" --threads 2 \
        --duration "$DURATION" --json "$out" >"$WORK/reads-$1.txt" 2>&1; then
        echo "   the reads failed:" >&2
        sed 's/^/   /' "$WORK/reads-$1.txt" >&2
        failed=1
        return
    fi
    ticks1=$(server_ticks)
    hz=$(getconf CLK_TCK)
    # Server CPU per request over the phase (alerts included): what the server would need
    # per read with the cores to itself, apart from the loaders' share of the machine.
    stats=$(jq -r --argjson ticks "$((ticks1 - ticks0))" --argjson hz "$hz" --argjson secs "$DURATION" 'def ms: . * 100 | round / 100;
        "\(.events_per_s | floor) requests/s, p50 \(.p50_ms | ms) ms, p99 \(.p99_ms | ms) ms, \(.throttled) × 429; server CPU \($ticks / $hz / $secs * 100 | round / 100) cores, \($ticks / $hz * 1e6 / (.events_per_s * $secs) | round) µs per read"' "$out")
    echo "   $stats"
    RESULT[$label]=$stats
}

read_phase page "/status/$SLUG"
read_phase summary "/status/$SLUG/api/v2/summary.json"

if [[ -n $INGEST_PID ]]; then
    wait "$INGEST_PID" || { echo "the alert load failed:" >&2; sed 's/^/   /' "$WORK/ingest.txt" >&2; failed=1; }
    INGEST_PID=""
    [[ -s $WORK/ingest.json ]] && RESULT[ingest]=$(jq -r \
        'def ms: . * 100 | round / 100; "\(.events_per_s | floor) events/s, p50 \(.p50_ms | ms) ms, p99 \(.p99_ms | ms) ms, \(.throttled) × 429"' \
        "$WORK/ingest.json")
fi
echo
echo "== server: VmHWM $(mb "$(hwm_kb "$SERVER_PID")") MB, database $(du -sh "$WORK" | cut -f1), warnings in its log: $(grep -c -i 'warn' "$WORK/serve.log" || true)"
grep -i 'warn' "$WORK/serve.log" | head -5 | sed 's/^/   /' || true
stop_server || failed=1

echo
echo "== summary"
echo "   GET /status/$SLUG:                      ${RESULT[page]:-none}"
echo "   GET /status/$SLUG/api/v2/summary.json:  ${RESULT[summary]:-none}"
if ((INGEST_CONNECTIONS > 0)); then
    echo "   alerts meanwhile ($INGEST_CONNECTIONS connections, over both phases): ${RESULT[ingest]:-none}"
fi
exit "$failed"
