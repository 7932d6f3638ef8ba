#!/usr/bin/env bash
# Starts incidentflow dev on free ports, declares a security incident, waits for
# its page to escalate and screenshots the run in the Temporal UI, failing
# unless the timeline shows a step's activity summary and timer summaries,
# and the User Metadata tab the static summary and the current details (what
# the run waits for). Writes OUT.png (User Metadata) and OUT-timeline.png. Needs Debian's chromium (apt-get install chromium) and npm.
#   scripts/ui-screenshot/run.sh [OUT.png]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$root/ui-screenshot.png}
work=$(mktemp -d)
trap 'kill $dev 2>/dev/null || true; wait $dev 2>/dev/null || true; rm -rf "$work"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
api=127.0.0.1:$(free_port) temporal=127.0.0.1:$(free_port) ui=127.0.0.1:$(free_port)

(cd "$here" && [ -d node_modules ] || npm ci --silent --no-audit --no-fund)
(cd "$root" && go build -o "$work/incidentflow" ./cmd/incidentflow)
"$work/incidentflow" dev --data "$work/data" --api-addr "$api" --temporal-addr "$temporal" --ui-addr "$ui" >"$work/dev.log" 2>&1 &
dev=$!
for _ in $(seq 100); do curl -sf "http://$api/readyz" >/dev/null && break; sleep 0.2; done
token=$(cat "$work/data/token")
inc=$(curl -sf -X POST "http://$api/v1/incidents" -H "Authorization: Bearer $token" \
  -d '{"type":"security","title":"Suspicious admin logins","severity":"critical","fields":{"personal_data":true}}')
ui_url=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["ui_url"])' <<<"$inc")
echo "declared: $ui_url"
node "$here/shot.js" "$ui_url" "$out" \
  "Notify • Page the security on-call" \
  "Waiting 5m for an acknowledgement from level 1" \
  "Wait for containment: waiting up to 4h" \
  shot:timeline \
  "click:User Metadata" \
  "INC-1 · security · critical · Suspicious admin logins" \
  "Paging security-oncall, level 1 (round 1): waiting for an acknowledgement"
