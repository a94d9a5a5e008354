#!/usr/bin/env bash
# Profiles the hub's ingest path under the same load as bench/ingest.sh (unique, signed Slack events
# through wrk and bench/ingest.lua), against the release binary, without the peers.
#
#   bench/profile.sh threads     # req/s, p50/p99, hub CPU µs per request, CPU and context switches per thread
#   bench/profile.sh perf        # the same, under `perf record -g`; prints the hottest symbols
#   bench/profile.sh callgrind   # valgrind --tool=callgrind at 16 connections; prints instructions per request
#
# Env: DURATION (s, default 8; callgrind 10), EVENTS (default 300000), CONNECTIONS (default 64; callgrind 16),
# IDS (random, the default, or sequential), DATA_IN (the directory the hub's data dir is made in;
# /dev/shm leaves the disk out), BIN (the binary, default .build-bench/release/atom-hub, built unless
# SKIP_BUILD=1). Output goes to bench/out/profile-<time>/ (git-ignored): wrk.txt, hub.log, and
# perf.data or cg.out (read them with `perf report -i` or `callgrind_annotate --inclusive=yes`).
# Wall-clock figures from one run swing by ±10 % on a shared machine: compare binaries in interleaved
# runs, or by callgrind's instruction counts, which do not depend on the machine's load.
set -euo pipefail

mode="${1:-threads}"
case "$mode" in threads | perf | callgrind) ;; *) echo "usage: bench/profile.sh [threads|perf|callgrind]" >&2; exit 2 ;; esac
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
if [ "$mode" = callgrind ]; then  # valgrind runs the hub ~50 times slower: fewer connections, a longer run.
  DURATION="${DURATION:-10}"
  CONNECTIONS="${CONNECTIONS:-16}"
else
  DURATION="${DURATION:-8}"
  CONNECTIONS="${CONNECTIONS:-64}"
fi
EVENTS="${EVENTS:-300000}"
IDS="${IDS:-random}"
BIN="${BIN:-$repo/.build-bench/release/atom-hub}"
export SLACK_SIGNING_SECRET="${SLACK_SIGNING_SECRET:-8f742231b10e8888abcd99yyyzzz85a5}"
for tool in wrk python3; do command -v "$tool" >/dev/null || { echo "profile.sh: $tool missing" >&2; exit 1; }; done
[ "$mode" = perf ] && { command -v perf >/dev/null || { echo "profile.sh: perf missing" >&2; exit 1; }; }
[ "$mode" = callgrind ] && { command -v valgrind >/dev/null || { echo "profile.sh: valgrind missing" >&2; exit 1; }; }

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  (cd "$repo" && swift build -c release --product atom-hub --scratch-path .build-bench >/dev/null)
fi
out="$here/out/profile-$(date -u +%Y%m%d-%H%M%S)"
mkdir -p "$out"
work=""
data=""
hub=""
recorder=""
# Stops the hub (SIGTERM, then SIGKILL after 10 s) and waits for it.
stop_hub() {
  kill -TERM "$hub" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$hub" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$hub" 2>/dev/null || true
  wait "$hub" 2>/dev/null || true
  hub=""
}
cleanup() {
  if [ -n "$recorder" ]; then kill -INT "$recorder" 2>/dev/null || true; wait "$recorder" 2>/dev/null || true; fi
  if [ -n "$hub" ]; then stop_hub; fi
  rm -rf "$work" "$data"
}
trap cleanup EXIT
work="$(mktemp -d "${TMPDIR:-/tmp}/atom-hub-profile.XXXXXX")"
data="$(mktemp -d "${DATA_IN:-$work}/atom-hub-data.XXXXXX")"

python3 "$here/gen_events.py" --out "$work/ev" --events "$EVENTS" --slices 2 --prefix "prof$(date +%s)x" --ids "$IDS" >/dev/null
mkfifo "$work/ev/start.fifo"
echo '{"providers":{"slack":{"enabled":true,"settings":{}}}}' >"$work/plugins.json"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
hub_command=("$BIN" --host 127.0.0.1 --port "$port" --data-dir "$data" --plugins "$work/plugins.json")
if [ "$mode" = callgrind ]; then
  # Only the event loops and the writer are counted: start-up and shutdown stay out of the figure.
  valgrind --tool=callgrind --callgrind-out-file="$out/cg.out" --toggle-collect='*EventLoopC3run*' \
    --toggle-collect='*EventLogC9runWriter*' "${hub_command[@]}" 2>"$out/hub.log" &
else
  "${hub_command[@]}" 2>"$out/hub.log" &
fi
hub=$!
ready="^listening on http://127.0.0.1:$port\$"
for _ in $(seq 600); do grep -q "$ready" "$out/hub.log" 2>/dev/null && break; kill -0 "$hub" 2>/dev/null || break; sleep 0.1; done
grep -q "$ready" "$out/hub.log" || { echo "profile.sh: the hub did not start (see $out/hub.log)" >&2; exit 1; }
if [ "$mode" = perf ]; then
  perf record -F 2000 -e cpu-clock -g -p "$hub" -o "$out/perf.data" 2>"$out/perf.log" &
  recorder=$!
fi

wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$here/ingest.lua" "http://127.0.0.1:$port/api/webhooks/slack" -- "$work/ev" 2 \
  >"$out/wrk.txt" 2>&1
if [ -n "$recorder" ]; then
  kill -INT "$recorder"
  wait "$recorder" || true
  recorder=""
fi
requests="$(grep -Eo '^ *[0-9]+ requests in' "$out/wrk.txt" | awk '{print $1}' || true)"
[ -n "$requests" ] && [ "$requests" -gt 0 ] || { echo "profile.sh: wrk answered nothing (see $out/wrk.txt)" >&2; exit 1; }
echo "mode=$mode connections=$CONNECTIONS duration=${DURATION}s ids=$IDS data=$data"
grep -E 'Requests/sec| 50%| 99%' "$out/wrk.txt"
if [ "$mode" != callgrind ]; then
  ticks="$(getconf CLK_TCK)"
  jiffies="$(awk '{print $14 + $15}' "/proc/$hub/stat")"
  echo "requests=$requests hub_cpu_us_per_request=$((jiffies * 1000000 / ticks / requests))"
  echo "per thread (user and system CPU in ms, context switches):"
  for task in /proc/"$hub"/task/*; do
    echo "  $(cat "$task/comm") $(awk -v t="$ticks" '{printf "%d %d", $14 * 1000 / t, $15 * 1000 / t}' "$task/stat") $(awk '/ctxt_switches/ {s += $2} END {print s}' "$task/status")"
  done | sort -k2 -n -r | head -10
fi
stop_hub
if [ "$mode" = perf ]; then
  perf report -i "$out/perf.data" --no-children --sort comm,sym --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -40
elif [ "$mode" = callgrind ]; then
  total="$(grep -E '^(summary|totals):' "$out/cg.out" | head -1 | awk '{print $2}')"
  echo "requests=$requests instructions=$total instructions_per_request=$((total / requests))"
fi
echo "output: $out"
