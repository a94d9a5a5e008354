#!/usr/bin/env bash
# Holds 10,000 idle keep-alive connections to a release build of the hub and reports the hub's RSS
# growth and the latency of new requests meanwhile.   Usage: bench/idle.sh [CONNECTIONS]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
n="${1:-10000}"
ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -gt $((n + 100)) ] || { echo "idle.sh: the open-file limit $(ulimit -n) is too low for $n connections" >&2; exit 1; }
swift build -c release --product atom-hub --scratch-path "$repo/.build-bench" >&2
work="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
echo '{"providers": {}}' > "$work/plugins.json"
"$repo/.build-bench/release/atom-hub" --port 0 --data-dir "$work/data" --plugins "$work/plugins.json" \
  --idle-timeout 600 --max-connections $((n + 1000)) 2> "$work/hub.log" &
pid=$!
for _ in $(seq 100); do grep -q "listening on" "$work/hub.log" 2>/dev/null && break; sleep 0.1; done
port="$(sed -n 's/^listening on http:\/\/127.0.0.1:\([0-9]*\)$/\1/p' "$work/hub.log")"
[ -n "$port" ] || { cat "$work/hub.log" >&2; exit 1; }
python3 "$here/idle_clients.py" "$port" "$pid" "$n"
