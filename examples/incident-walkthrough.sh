#!/usr/bin/env bash
# One incident from declaration to resolution through the example procedures
# (docs/procedures-example): triage with the decision tree, the playbook that triage attaches,
# roles, a notify step, stakeholder updates (a customer-facing draft, a preview, a sent one),
# and the timeline. It starts a throwaway server on an empty SQLite file and stops it at the end.
#
#   cargo build && examples/incident-walkthrough.sh
#
# FIREBREAK_BIN picks the binary (default target/debug/firebreak). No mail relay is set up, so
# the emails to the contact lists fail after their retries and say so on the timeline.
set -euo pipefail
bin=${FIREBREAK_BIN:-target/debug/firebreak}
[ -x "$bin" ] || { echo "no $bin: run cargo build first (or set FIREBREAK_BIN)" >&2; exit 1; }
work=$(mktemp -d)
server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
db="sqlite://$work/firebreak.db"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "${*:2}"; "${@:2}"; }

"$bin" procedures init "$work/procedures" >/dev/null
echo 'correct horse battery staple' | "$bin" admin create-user --create --database "$db" --email ines@example.com --name "Ines (commander)" --role admin --password-stdin >/dev/null
echo 'correct horse battery staple' | "$bin" admin create-user --database "$db" --email sam@example.com --name "Sam (comms)" --role responder --password-stdin >/dev/null
export FIREBREAK_TOKEN=$("$bin" admin create-token --database "$db" --email ines@example.com)
export FIREBREAK_URL="http://127.0.0.1:$port"
"$bin" serve --database "$db" --listen "127.0.0.1:$port" --procedures "$work/procedures" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 50); do curl -fs "$FIREBREAK_URL/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

step "Declare" "$bin" incident declare "Checkout returns 500s" --severity medium --type outage --service checkout
step "Triage with the decision tree (answers given up front; without them it asks)" \
  "$bin" triage INC-1 --answer No --answer "Yes, they cannot use a core feature" --answer "All or most"
step "Roles" "$bin" incident role INC-1 commander ines@example.com
"$bin" incident role INC-1 communications sam@example.com
step "The playbook the outcome attached" "$bin" incident checklist INC-1
step "Work the checklist" "$bin" incident check INC-1 1
"$bin" incident check INC-1 2 --skip
step "A notify step tells its contact list, once confirmed" "$bin" incident run INC-1 7 --confirm
step "The first customer-facing note: a draft to publish by hand" \
  "$bin" incident update INC-1 --template customer-initial --step 6 --message "Card payments fail for most customers; we are on it."
step "Preview the executive update (nothing is sent)" \
  "$bin" incident update INC-1 --template executive --message "Primary database unreachable; failing over to the standby." --preview
step "Send it (checking off its playbook step)" "$bin" incident update INC-1 --template executive --step 8 --message "Primary database unreachable; failing over to the standby."
step "The checklist now" "$bin" incident checklist INC-1
step "The cadence: when the next update is due" "$bin" incident updates INC-1
step "Resolve" "$bin" incident resolve INC-1
sleep 1
step "The timeline" "$bin" incident show INC-1
