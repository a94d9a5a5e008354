#!/usr/bin/env bash
# Ingest benchmark: unique, signed Slack events against the hub and the reference peers, in one run.
#
#   bench/ingest.sh                      # setup + release build + nginx, hub, fastapi, bolt
#   DURATION=10 CONNECTIONS=64 EVENTS=1000000 bench/ingest.sh
#
# Env: DURATION (s, default 10), CONNECTIONS (default 64), EVENTS (unique events generated per peer,
# default 100000 * DURATION), THREADS (wrk threads, default 2), PEERS (default "nginx hub fastapi bolt"),
# WAIT_IDLE (s, default 30: before each peer, wait up to this long for the machine to be <= 20% busy),
# IDS (event_id order: random, like Slack's, the default; or sequential), SKIP_SETUP=1 (skip peers.sh setup), SKIP_BUILD=1 (use the existing .build-bench binary),
# ROUNDS (default 1: with N > 1 every peer runs N times, interleaved, and the table shows each peer's
# median round, followed by every round's req/s and its same-round ratios to nginx),
# KEEP=1 (keep the generated events and the hub's data dir), SLACK_SIGNING_SECRET, PEERS_VENV, PEERS_DIR,
# HUB_DATA_IN (the directory the hub's data dir is made in, default the run's temp dir; /dev/shm shows the hub without its disk),
# HUB_LOG_LEVEL (the hub's LOG_LEVEL, default info: a logfmt access-log line per request; warning leaves it
# out, as the peers do: nginx runs with access_log off and uvicorn with --log-level warning).
# Every server listens on 127.0.0.1 only. Results and logs go to bench/out/<run>/ (git-ignored).
# Exit status: 0 clean, 1 setup/start failure, 3 the run finished but a check failed (see "problems").
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
shared="${PEERS_DIR:-$(dirname "$repo")/shared/bench}"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
EVENTS="${EVENTS:-$((100000 * DURATION))}"
PEERS="${PEERS:-nginx hub fastapi bolt}"
IDS="${IDS:-random}"
WAIT_IDLE="${WAIT_IDLE:-30}"
ROUNDS="${ROUNDS:-1}"
HUB_LOG_LEVEL="${HUB_LOG_LEVEL:-info}"
export SLACK_SIGNING_SECRET="${SLACK_SIGNING_SECRET:-8f742231b10e8888abcd99yyyzzz85a5}"
export PEERS_VENV="${PEERS_VENV:-$repo/.bench-venv}"
[[ "$HUB_LOG_LEVEL" =~ ^(debug|info|warning|error)$ ]] || { echo "ingest.sh: HUB_LOG_LEVEL must be debug, info, warning or error" >&2; exit 1; }
[[ "$WAIT_IDLE" =~ ^[0-9]+$ ]] || { echo "ingest.sh: WAIT_IDLE must be a number of seconds" >&2; exit 1; }
for v in DURATION CONNECTIONS THREADS EVENTS ROUNDS; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || { echo "ingest.sh: $v must be a positive integer" >&2; exit 1; }
done
[ "$EVENTS" -ge "$THREADS" ] || { echo "ingest.sh: EVENTS must be >= THREADS" >&2; exit 1; }
[ -x "$shared/peers.sh" ] || [ -f "$shared/peers.sh" ] || { echo "ingest.sh: no peers.sh in $shared (set PEERS_DIR)" >&2; exit 1; }

run_id="$(date -u +%Y%m%d-%H%M%S)"
out="$here/out/$run_id"
mkdir -p "$out"
work="$(mktemp -d "${TMPDIR:-/tmp}/atom-hub-bench.XXXXXX")"
export PEERS_STATE="$work/peers"   # our own peers.sh state, so "stop" stops only what this run started
mkdir -p "$PEERS_STATE"
bin="$repo/.build-bench/release/atom-hub"
# The hub's data dir; HUB_DATA_IN=/dev/shm puts it in memory, to see what the disk costs.
hub_data="$(mktemp -d "${HUB_DATA_IN:-$work}/atom-hub-data.XXXXXX")"
hub_pid=""
wrk_pid=""
problems=()

log() { printf '[ingest %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [ -n "$wrk_pid" ] && kill "$wrk_pid" 2>/dev/null || true
  if [ -n "$hub_pid" ] && kill -0 "$hub_pid" 2>/dev/null; then
    kill -TERM "$hub_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$hub_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$hub_pid" 2>/dev/null || true
  fi
  bash "$shared/peers.sh" stop >/dev/null 2>&1 || true
  if [ "${KEEP:-0}" = 1 ]; then log "kept $work and $hub_data"; else rm -rf "$work" "$hub_data"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Samples the CPU jiffies (user + system, all threads) of the wrk that timeout PID runs, with
# timestamps, every 0.2 s until it exits: "epoch_ns jiffies" lines in FILE.
sample_wrk_cpu() {
  local parent="$1" file="$2" child="" stat
  for _ in $(seq 50); do child="$(pgrep -P "$parent" -x wrk || true)"; [ -n "$child" ] && break; sleep 0.02; done
  : >"$file"
  [ -n "$child" ] || return 0
  while stat="$(cat "/proc/$child/stat" 2>/dev/null)"; do
    echo "$(date +%s%N) $(awk '{ split($0, a, ") "); split(a[2], f, " "); print f[12] + f[13] }' <<<"$stat")" >>"$file"
    sleep 0.2
  done
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

# Percentage of CPU time busy over one second, machine-wide (before a run nothing of ours is busy).
cpu_busy() {
  local a b
  a=($(head -1 /proc/stat)); sleep 1; b=($(head -1 /proc/stat))
  local total=0 idle i
  for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
  idle=$((b[4] - a[4] + b[5] - a[5]))
  [ "$total" -gt 0 ] && echo $(((total - idle) * 100 / total)) || echo 0
}

# KiB written to block devices so far, machine-wide (the page cache's writeback and direct writes alike).
disk_kib_written() { awk '$1 == "pgpgout" {print $2}' /proc/vmstat; }

# Bytes PID's threads have passed to write-like system calls (wchar), or 0 once it is gone.
bytes_written() { awk '$1 == "wchar:" {print $2}' "/proc/$1/io" 2>/dev/null || echo 0; }

# Machine-wide CPU jiffies: "busy total".
machine_jiffies() { awk 'NR == 1 {t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t}' /proc/stat; }

# CPU jiffies (user + sys) used so far by the given pids and all their descendants.
tree_jiffies() {
  python3 - "$@" <<'PY'
import os, sys
roots = {int(p) for p in sys.argv[1:] if p.isdigit()}
parent, cpu = {}, {}
for d in os.listdir("/proc"):
    if not d.isdigit():
        continue
    try:
        with open(f"/proc/{d}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        continue
    parent[int(d)] = int(fields[1])
    cpu[int(d)] = int(fields[11]) + int(fields[12])
total = 0
for pid in cpu:
    p = pid
    while p > 1:
        if p in roots:
            total += cpu[pid]
            break
        p = parent.get(p, 0)
print(total)
PY
}

# CPU jiffies of this shell's waited-for children, from a file holding the output of the times builtin
# (which has to run in this shell itself: in a pipe or $(...) it would report a subshell's children).
children_jiffies() {
  awk -v hz="$(getconf CLK_TCK)" 'NR == 2 {
    s = 0
    for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); s += a[1] * 60 + a[2] }
    printf "%d\n", s * hz }' "$1"
}

server_pids() {  # NAME -> root pid(s) of that peer
  case "$1" in
    hub) echo "$hub_pid" ;;
    nginx) cat "$PEERS_STATE/nginx/nginx.pid" 2>/dev/null || true ;;
    fastapi|bolt) cat "$PEERS_STATE/$1.pid" 2>/dev/null || true ;;
  esac
}

count_events() {  # DB -> "count distinct"
  local db="$1"
  if command -v sqlite3 >/dev/null; then
    sqlite3 "$db" 'select count(*), count(distinct external_id) from events' | tr '|' ' '
  else
    python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(*c.execute("select count(*), count(distinct external_id) from events").fetchone())' "$db"
  fi
}

# --- setup ---------------------------------------------------------------------------------------
if [ "${SKIP_SETUP:-0}" != 1 ]; then
  log "peers setup (nginx, wrk, venv in $PEERS_VENV)"
  bash "$shared/peers.sh" setup >"$out/setup.log" 2>&1 || { tail -20 "$out/setup.log" >&2; exit 1; }
fi
for tool in wrk nginx curl python3; do command -v "$tool" >/dev/null || { echo "ingest.sh: $tool missing (run without SKIP_SETUP)" >&2; exit 1; }; done
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  log "release build (scratch path .build-bench)"
  (cd "$repo" && swift build -c release --product atom-hub --scratch-path .build-bench) >"$out/build.log" 2>&1 \
    || { tail -30 "$out/build.log" >&2; exit 1; }
fi
[ -x "$bin" ] || { echo "ingest.sh: no hub binary at $bin" >&2; exit 1; }

cat >"$work/plugins.json" <<'EOF'
{"providers":{"slack":{"enabled":true,"settings":{}}}}
EOF

log "run $run_id: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency, $EVENTS unique events per peer ($IDS ids), peers: $PEERS"
{
  echo "run: $run_id"; echo "commit: $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$repo" diff --quiet HEAD -- Sources Package.swift 2>/dev/null || echo ' (+ uncommitted changes in Sources/Package.swift)')"
  echo "wrk: $(wrk -v 2>&1 | head -1)"; echo "cpus: $(nproc)"; echo "kernel: $(uname -r)"
  echo "settings: THREADS=$THREADS CONNECTIONS=$CONNECTIONS DURATION=$DURATION EVENTS=$EVENTS"
} >"$out/meta.txt"

# A peer's figures, one associative array each, keyed by peer.
figures="RPS P50 P99 MAX NON2XX WRAPS SENT RESP ERRS BUSY STATUSES OTHER SRV_US WRK_US DISK_KB"
# shellcheck disable=SC2086  # One array per word.
declare -A $figures
hub_note=()

# kv KEY LINE: the value of KEY=... in an INGEST line, or 0.
kv() { awk -v k="$1" '{for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) {print substr($i, length(k) + 2); found = 1}} END {if (!found) print 0}' <<<"$2"; }

run_peer() {
  local name="$1" port evdir ts url line started_alive=1 busy
  port="$(free_port)"
  evdir="$work/events-$name"
  log "$name: generating $EVENTS signed events"
  ts="$(python3 "$here/gen_events.py" --out "$evdir" --events "$EVENTS" --slices "$THREADS" --prefix "${run_id//-/}${name}x" --ids "$IDS" 2>/dev/null)"
  mkfifo "$evdir/start.fifo"

  case "$name" in
    nginx)
      bash "$shared/peers.sh" nginx "$port" >/dev/null
      for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done ;;
    fastapi|bolt)
      bash "$shared/peers.sh" "$name" "$port" >/dev/null ;;
    hub)
      local data="$hub_data"
      rm -rf "$data"; mkdir -p "$data"
      LOG_LEVEL="$HUB_LOG_LEVEL" "$bin" --log-format logfmt --host 127.0.0.1 --port "$port" --data-dir "$data" --plugins "$work/plugins.json" 2>"$out/hub$tag.log" &
      hub_pid=$!
      for _ in $(seq 300); do
        grep -q "^listening on http://127.0.0.1:$port\$" "$out/hub$tag.log" && break
        kill -0 "$hub_pid" 2>/dev/null || break
        sleep 0.1
      done
      grep -q "^listening on http://127.0.0.1:$port\$" "$out/hub$tag.log" || {
        echo "ingest.sh: hub did not start; its log:" >&2; cat "$out/hub$tag.log" >&2; exit 1; } ;;
  esac
  curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$port/" || { echo "ingest.sh: $name is not answering on port $port" >&2; exit 1; }

  busy="$(cpu_busy)"
  local waited=0
  while [ "$busy" -gt 20 ] && [ "$waited" -lt "$WAIT_IDLE" ]; do
    [ "$waited" = 0 ] && log "$name: machine ${busy}% busy; waiting up to ${WAIT_IDLE}s for it to go idle"
    busy="$(cpu_busy)"; waited=$((waited + 1))
  done
  BUSY[$name]="$busy"
  [ "$busy" -gt 20 ] && problems+=("$name: machine was ${busy}% busy in the second before its run (another process competing for the 2 cores?); its figures are suspect")
  local age=$(( $(date +%s) - ts ))
  [ $((age + DURATION + 5)) -lt 300 ] || problems+=("$name: events were ${age}s old at start; late requests may fall out of Slack's 300 s window")

  log "$name: wrk on 127.0.0.1:$port"
  local m0 s0 c0 m1 s1 c1 d0 d1 w0=0 w1=0 spids
  spids="$(server_pids "$name")"
  m0="$(machine_jiffies)"; s0="$(tree_jiffies $spids)"; d0="$(disk_kib_written)"; times >"$work/times0"
  [ "$name" = hub ] && w0="$(bytes_written "$hub_pid")"
  timeout --signal=INT $((DURATION + 180)) \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$here/ingest.lua" \
      "http://127.0.0.1:$port/api/webhooks/slack" -- "$evdir" "$THREADS" >"$out/wrk-$name$tag.txt" 2>&1 &
  wrk_pid=$!
  sample_wrk_cpu "$wrk_pid" "$work/wrk-cpu-$name" &
  local sampler=$!
  wait "$wrk_pid" || problems+=("$name: wrk exited with status $? (see $out/wrk-$name$tag.txt)")
  wrk_pid=""
  wait "$sampler" || true
  times >"$work/times1"; m1="$(machine_jiffies)"; s1="$(tree_jiffies $spids)"; d1="$(disk_kib_written)"
  [ "$name" = hub ] && w1="$(bytes_written "$hub_pid")"
  c0="$(children_jiffies "$work/times0")"; c1="$(children_jiffies "$work/times1")"
  # CPU used during the run by anything other than wrk and this peer's processes, as % of the machine.
  OTHER[$name]="$(awk -v b0="${m0% *}" -v t0="${m0#* }" -v b1="${m1% *}" -v t1="${m1#* }" -v s="$((s1 - s0))" -v w="$((c1 - c0))" \
    'BEGIN { t = t1 - t0; o = (b1 - b0) - s - w; if (o < 0) o = 0; printf "%d", (t > 0) ? o * 100 / t : 0 }')"
  # CPU per answered request, in microseconds: the peer's processes, and wrk's (the load generator
  # shares the 2 cores, so its cost per request bounds every ratio).
  local answered; answered="$(kv requests "$(grep '^INGEST ' "$out/wrk-$name$tag.txt" || true)")"
  SRV_US[$name]="$(awk -v j="$((s1 - s0))" -v n="$answered" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f", (n > 0) ? j * 1e6 / hz / n : 0 }')"
  # wrk's CPU over its last DURATION seconds only: before them it was loading its events (seconds of
  # CPU that, spread over the requests, would make a slower peer look like it costs wrk more).
  WRK_US[$name]="$(awk -v d="$DURATION" -v n="$answered" -v hz="$(getconf CLK_TCK)" '
    { t[NR] = $1; c[NR] = $2 }
    END {
      if (NR < 2 || n <= 0) { print "?"; exit }
      start = 1
      for (i = NR; i >= 1; i--) if (t[NR] - t[i] >= d * 1e9) { start = i; break }
      if (t[NR] - t[start] < d * 1e9 * 0.9) { print "?"; exit }
      printf "%.0f", (c[NR] - c[start]) * 1e6 / hz / n * d * 1e9 / (t[NR] - t[start])
    }' "$work/wrk-cpu-$name" 2>/dev/null || echo "?")"
  # Disk writes per answered request: what the peer's durability costs the disk (machine-wide, so other
  # writers count too; the hub's own share is in its "bytes written" note).
  DISK_KB[$name]="$(awk -v k="$((d1 - d0))" -v n="$answered" 'BEGIN { printf "%.1f", (n > 0) ? k / n : 0 }')"
  [ "${OTHER[$name]}" -gt 10 ] && problems+=("$name: other processes used ${OTHER[$name]}% of the machine's CPU during its run; its figures are suspect")
  line="$(grep '^INGEST ' "$out/wrk-$name$tag.txt" || true)"
  if [ -z "$line" ]; then
    problems+=("$name: no INGEST line from wrk (see $out/wrk-$name$tag.txt)")
    line="INGEST rps=0 p50_ms=0 p99_ms=0 max_ms=0 non2xx=0 wraps=0 sent=0 responses=0"
  fi
  RPS[$name]="$(kv rps "$line")"; P50[$name]="$(kv p50_ms "$line")"; P99[$name]="$(kv p99_ms "$line")"
  MAX[$name]="$(kv max_ms "$line")"; NON2XX[$name]="$(kv non2xx "$line")"; WRAPS[$name]="$(kv wraps "$line")"
  SENT[$name]="$(kv sent "$line")"; RESP[$name]="$(kv responses "$line")"; STATUSES[$name]="$(kv statuses "$line")"
  local errs=0 k
  for k in connect_err read_err write_err timeout_err; do errs=$((errs + $(kv "$k" "$line"))); done
  ERRS[$name]="$errs"
  local load_errors; load_errors="$(kv load_errors "$line")"
  [ "$load_errors" != "-" ] && [ "$load_errors" != 0 ] && problems+=("$name: wrk script: $load_errors")
  [ "${NON2XX[$name]:-0}" != 0 ] && problems+=("$name: ${NON2XX[$name]} non-2xx responses (status:count ${STATUSES[$name]})")
  [ "${WRAPS[$name]:-0}" != 0 ] && problems+=("$name: ran past the $EVENTS pre-generated events (${WRAPS[$name]} wrap(s)): events were re-sent, so not all unique; raise EVENTS")
  [ "$errs" != 0 ] && problems+=("$name: $errs socket errors ($(grep -o 'connect_err=[0-9]* read_err=[0-9]* write_err=[0-9]* timeout_err=[0-9]*' <<<"$line"))")

  case "$name" in
    hub)
      if ! kill -0 "$hub_pid" 2>/dev/null; then
        wait "$hub_pid" && rc=0 || rc=$?
        problems+=("hub: process died during the run (exit status $rc); see $out/hub$tag.log")
        hub_pid=""
      else
        local hwm rss cpu
        hwm="$(awk '/^VmHWM/ {print $2, $3}' "/proc/$hub_pid/status")"
        rss="$(awk '/^VmRSS/ {print $2, $3}' "/proc/$hub_pid/status")"
        cpu="$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz}' "/proc/$hub_pid/stat")"
        hub_note+=("hub peak RSS (VmHWM): $hwm (VmRSS at end: $rss); hub CPU time: ${cpu}s user+sys")
        hub_note+=("hub writes during the run: $(awk -v b="$((w1 - w0))" -v n="$answered" 'BEGIN { printf "%.0f MiB, %.1f KiB per answered request", b / 1048576, (n > 0) ? b / 1024 / n : 0 }') (its write/pwrite calls: WAL frames, checkpoints into the database file, log lines); disk: ${DISK_KB[hub]} KiB per request, machine-wide")
        local t0 rc=0; t0="$(date +%s.%N)"
        kill -TERM "$hub_pid"
        for _ in $(seq 300); do kill -0 "$hub_pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$hub_pid" 2>/dev/null; then
          problems+=("hub: still running 30 s after SIGTERM; killed")
          kill -KILL "$hub_pid" 2>/dev/null || true
        fi
        wait "$hub_pid" || rc=$?
        hub_note+=("hub shutdown after SIGTERM: $(printf '%.2f' "$(echo "$(date +%s.%N) - $t0" | bc)")s, exit status $rc")
        [ "$rc" = 0 ] || problems+=("hub: exit status $rc after SIGTERM")
        hub_pid=""
      fi
      local counts stored distinct ok2xx
      counts="$(count_events "$hub_data/atom-hub.sqlite" 2>&1)" || counts="? ?"
      read -r stored distinct <<<"$counts"
      ok2xx=$(( ${RESP[hub]:-0} - ${NON2XX[hub]:-0} ))
      hub_note+=("hub events stored: $stored (distinct event_id: $distinct); wrk: ${RESP[hub]} responses, $ok2xx of them 2xx, ${SENT[hub]} requests written (the difference is in flight when wrk stopped)")
      if [[ "$stored" =~ ^[0-9]+$ ]]; then
        [ "$stored" -lt "$ok2xx" ] && [ "${WRAPS[hub]:-0}" = 0 ] && problems+=("hub: only $stored events stored but $ok2xx unique events were acknowledged with 2xx (acknowledged events lost)")
        [ "$stored" -gt "${SENT[hub]:-0}" ] && problems+=("hub: $stored events stored but only ${SENT[hub]} requests were sent")
        [ "$stored" != "$distinct" ] && problems+=("hub: $stored rows but only $distinct distinct event_ids (duplicates stored)")
      else
        problems+=("hub: could not count stored events: $counts")
      fi
      local warns errors
      warns="$(grep -c 'level=warning' "$out/hub$tag.log" || true)"; errors="$(grep -c 'level=error' "$out/hub$tag.log" || true)"
      hub_note+=("hub log: $(wc -l <"$out/hub$tag.log") lines, $warns warning(s), $errors error(s) ($out/hub$tag.log)")
      [ "${errors:-0}" != 0 ] && problems+=("hub: $errors error line(s) in its log, first: $(grep -m1 'level=error' "$out/hub$tag.log" | cut -c1-300)")
      ;;
    fastapi|bolt)
      local pid; pid="$(cat "$PEERS_STATE/$name.pid" 2>/dev/null || true)"
      [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null && problems+=("$name: peer died during the run ($PEERS_STATE/$name.log)")
      [ -s "$PEERS_STATE/$name.log" ] && cp "$PEERS_STATE/$name.log" "$out/$name.log"
      bash "$shared/peers.sh" stop >/dev/null 2>&1 || true ;;
    nginx)
      bash "$shared/peers.sh" stop >/dev/null 2>&1 || true ;;
  esac
  rm -rf "$evdir"
  log "$name: ${RPS[$name]} req/s, p50 ${P50[$name]} ms, p99 ${P99[$name]} ms, non-2xx ${NON2XX[$name]}"
}

# Every figure of a peer's round, kept as SAVED[array:peer:round] so the report can show the median round.
declare -A SAVED
tag=""
for round in $(seq "$ROUNDS"); do
  [ "$ROUNDS" -gt 1 ] && { tag="-r$round"; log "round $round of $ROUNDS"; }
  notes_before=${#hub_note[@]}
  for peer in $PEERS; do
    case "$peer" in nginx|hub|fastapi|bolt) run_peer "$peer" ;; *) echo "ingest.sh: unknown peer $peer" >&2; exit 1 ;; esac
    for f in $figures; do declare -n figure="$f"; SAVED["$f:$peer:$round"]="${figure[$peer]:-}"; unset -n figure; done
  done
  if [ "$ROUNDS" -gt 1 ]; then
    for ((i = notes_before; i < ${#hub_note[@]}; i++)); do hub_note[i]="round $round: ${hub_note[i]}"; done
  fi
done

# With several rounds, each peer's table row is its median round by req/s (the lower middle for an even count).
rounds_report=()
if [ "$ROUNDS" -gt 1 ]; then
  for peer in $PEERS; do
    median="$(for r in $(seq "$ROUNDS"); do echo "${SAVED["RPS:$peer:$r"]} $r"; done | sort -n | awk -v n="$ROUNDS" 'NR == int((n + 1) / 2) {print $2}')"
    for f in $figures; do declare -n figure="$f"; figure[$peer]="${SAVED["$f:$peer:$median"]}"; unset -n figure; done
    line="$(printf '%-8s median round %s; req/s by round:' "$peer" "$median")"
    for r in $(seq "$ROUNDS"); do line+="$(printf ' %.0f' "${SAVED["RPS:$peer:$r"]}")"; done
    if [ "$peer" != nginx ] && [[ " $PEERS " == *" nginx "* ]]; then
      ratios="$(for r in $(seq "$ROUNDS"); do awk -v a="${SAVED["RPS:$peer:$r"]}" -v b="${SAVED["RPS:nginx:$r"]}" 'BEGIN {if (b > 0) printf "%.3f\n", a / b}'; done)"
      line+="; / nginx in the same round:$(printf ' %s' $ratios) (median $(sort -n <<<"$ratios" | awk -v n="$ROUNDS" 'NR == int((n + 1) / 2)'))"
    fi
    rounds_report+=("$line")
  done
fi

# --- report --------------------------------------------------------------------------------------
{
  echo
  echo "Ingest benchmark $run_id: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency, keep-alive, 127.0.0.1,$([ "$ROUNDS" -gt 1 ] && echo " $ROUNDS rounds (median round shown),")"
  echo "$EVENTS unique signed Slack events per peer, $IDS event ids ($(cat "$out/meta.txt" | sed -n 's/^commit: //p'))"
  [[ " $PEERS " == *" hub "* ]] && echo "hub data dir on $(df --output=fstype,source "$hub_data" | tail -1 | tr -s " "), hub LOG_LEVEL=$HUB_LOG_LEVEL ($([ "$HUB_LOG_LEVEL" = info ] || [ "$HUB_LOG_LEVEL" = debug ] && echo "an access-log line per request" || echo "no access log, like the peers"))"
  echo
  printf '%-22s %10s %9s %9s %9s %8s %7s %8s %7s %11s %11s %12s\n' peer req/s p50_ms p99_ms max_ms non-2xx wrapped sock_err vs_nginx srv_us/req wrk_us/req disk_KiB/req
  for peer in $PEERS; do
    label="$peer"
    case "$peer" in nginx) label="nginx static 200" ;; hub) label="atom-hub" ;; fastapi) label="FastAPI+slack_sdk" ;; bolt) label="Bolt for Python" ;; esac
    ratio="-"
    if [ -n "${RPS[nginx]:-}" ] && [ "${RPS[nginx]%.*}" != 0 ]; then ratio="$(awk -v a="${RPS[$peer]}" -v b="${RPS[nginx]}" 'BEGIN {printf "%.3f", a / b}')"; fi
    wrapped="no"; [ "${WRAPS[$peer]:-0}" != 0 ] && wrapped="YES"
    printf '%-22s %10.0f %9.2f %9.2f %9.2f %8s %7s %8s %7s %11s %11s %12s\n' "$label" "${RPS[$peer]}" "${P50[$peer]}" "${P99[$peer]}" \
      "${MAX[$peer]}" "${NON2XX[$peer]}" "$wrapped" "${ERRS[$peer]}" "$ratio" "${SRV_US[$peer]:-0}" "${WRK_US[$peer]:-0}" "${DISK_KB[$peer]:-0}"
  done
  echo
  if [ "$ROUNDS" -gt 1 ]; then
    for n in "${rounds_report[@]}"; do echo "$n"; done
    echo
  fi
  for n in "${hub_note[@]}"; do echo "$n"; done
  echo "machine CPU busy in the second before each run: $(for p in $PEERS; do printf '%s %s%%  ' "$p" "${BUSY[$p]}"; done)"
  echo "CPU used by other processes (not wrk, not the peer) during each run: $(for p in $PEERS; do printf '%s %s%%  ' "$p" "${OTHER[$p]}"; done)"
  echo
  if [ "${#problems[@]}" -eq 0 ]; then
    echo "problems: none (every response 2xx, no event re-sent, stored count consistent)"
  else
    echo "problems:"
    for p in "${problems[@]}"; do echo "  - $p"; done
  fi
  echo "raw wrk output and logs: $out"
} | tee "$out/summary.txt"

[ "${#problems[@]}" -eq 0 ] || exit 3
