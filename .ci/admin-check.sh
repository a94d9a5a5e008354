#!/usr/bin/env bash
# Admin page check in headless Chromium: start a hub (temp data dir, admin token) with some traffic,
# then .ci/admin_check.py signs in on /admin, switches Teams off, checks plugins.json changed and
# saves a screenshot (default docs/admin.png). Needs a built atom-hub, python3 and chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
screenshot="${1:-docs/admin.png}"
bin="$(swift build --show-bin-path)/atom-hub"
[ -x "$bin" ] || { echo "admin-check: $bin is not built" >&2; exit 1; }

name=admin-check
work=$(mktemp -d)
. .ci/hub.sh

token=$(openssl rand -hex 32)
slack_secret=$(openssl rand -hex 16)
cat >"$work/plugins.json" <<'JSON'
{
  "providers": {
    "slack": {"enabled": true, "settings": {"x-team": "platform"},
      "destinations": [{"id": "crm", "url": "http://127.0.0.1:9/hooks", "eventTypes": ["app_mention"],
                        "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}]},
    "teams": {"enabled": true},
    "hubspot": {"enabled": true},
    "gmail": {"enabled": false}
  }
}
JSON
ADMIN_TOKEN="$token" SLACK_SIGNING_SECRET="$slack_secret" TEAMS_OUTGOING_WEBHOOK_SECRET=$(openssl rand -base64 32) \
  TEAMS_CLIENT_STATE=$(openssl rand -hex 16) SLACK_BOT_TOKEN=xoxb-admin-check LOG_LEVEL=warning \
  start_hub --delivery-max-attempts 2 --delivery-retry-base 0.2

# Traffic for the page to show: signed Slack events (app mentions are forwarded to a destination that
# refuses connections, so deliveries fail and go dead), one forged, a Teams request, a scheduled post.
for i in $(seq 1 24); do
  ts=$(date +%s)
  body="{\"type\":\"event_callback\",\"event_id\":\"EvAdmin$i\",\"event_time\":$ts,\"event\":{\"type\":\"$([ $((i % 3)) = 0 ] && echo app_mention || echo message)\",\"text\":\"hello $i\"}}"
  sig="v0=$(printf 'v0:%s:%s' "$ts" "$body" | openssl dgst -sha256 -hmac "$slack_secret" | sed 's/^.* //')"
  curl -fsS -o /dev/null "$base/api/webhooks/slack" -H "X-Slack-Request-Timestamp: $ts" -H "X-Slack-Signature: $sig" \
    -H 'Content-Type: application/json' -d "$body" || fail "a signed Slack event was refused"
done
curl -sS -o /dev/null "$base/api/webhooks/slack" -H "X-Slack-Request-Timestamp: $(date +%s)" -H "X-Slack-Signature: v0=00" -d '{}'
curl -sS -o /dev/null "$base/api/webhooks/hubspot" -d '[]'
curl -fsS -o /dev/null "$base/api/slack/scheduled-posts" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d "{\"channel\":\"C0123\",\"text\":\"standup in 5\",\"post_at\":\"$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)\"}" || fail "scheduling a post"

mkdir -p "$(dirname "$screenshot")"
python3 .ci/admin_check.py "$base" "$token" "$work/plugins.json" teams "$screenshot" || fail "the headless browser check"
