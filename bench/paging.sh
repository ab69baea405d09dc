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
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
build_release paging_load
make_work_dir paging

print_machine
print_load_average
echo "== phase 1: $INCIDENTS incidents at $RATE events/s; phase 2: $OPEN open incidents, $PROBES probes over ${PROBE_SPREAD}s"

db="sqlite://$WORK/firebreak.db"
create_admin "$db"
port=$(free_port)
cat >"$WORK/firebreak.toml" <<EOF
public_url = "http://127.0.0.1:$port"

[notify]
# The webhook receiver listens on 127.0.0.1.
allow_private_addresses = true
# Every page is its own message, sent at once (the default collects a person's pages for 30 s).
bundle_seconds = 0
EOF
start_server "$port" "$db" "$WORK/serve.log" --config "$WORK/firebreak.toml"

status=0
FIREBREAK_TOKEN="$TOKEN" FIREBREAK_PASSWORD="$BENCH_PASSWORD" "$LOAD" --url "http://127.0.0.1:$port" \
    --phase "$PHASE" --incidents "$INCIDENTS" --rate "$RATE" --open "$OPEN" --probes "$PROBES" \
    --probe-spread "$PROBE_SPREAD" || status=$?

echo "== server: VmHWM $(mb "$(hwm_kb "$SERVER_PID")") MB, database $(du -sh "$WORK" | cut -f1), warnings in its log: $(grep -c -i 'warn' "$WORK/serve.log" || true)"
grep -i 'warn' "$WORK/serve.log" | head -5 | sed 's/^/   /' || true
stop_server || status=1
exit "$status"
