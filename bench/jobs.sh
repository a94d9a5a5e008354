#!/usr/bin/env bash
# Jobs and forwarding benchmark, one command end to end: builds, runs the harness, prints a table.
#
#   bench/jobs.sh                         # JOBS=2000 no-op jobs per enqueue mode, EVENTS=1000 events per delivery run
#   JOBS=5000 EVENTS=2000 bench/jobs.sh
#   CONFIG=release bench/jobs.sh          # optimised build (-enable-testing) in .build-bench-tests
#
# The harness is Tests/HostTests/Bench/JobsBench.swift (skipped by `swift test` unless ATOM_BENCH=1):
# the real job queue, workers, event log and delivery worker on a real SQLite file (WAL,
# synchronous=FULL) in a temp dir, the real outbound HTTP client, and a local receiver on 127.0.0.1
# (our HTTP server answering 200). Figures, each next to a peer measured in the same run:
#   - no-op jobs enqueued one after another and from 16 concurrent clients (enqueues waiting
#     together share one commit); peer: a bare one-row durable INSERT transaction, one after another,
#     on the same (warmed-up) database;
#   - no-op jobs completed by 4 workers (claim + finish per job);
#   - events forwarded to 1 and 4 destinations (signed, one request in flight per destination, each
#     attempt recorded); peer: the same HTTP client POSTing the same body serially to the receiver;
#   - event append (webhook acknowledgement) latency p50/p99 while those deliveries drain, and with
#     no destination as the baseline.
# It runs the debug build by default (like bench/security.sh): the costs are mostly fsync and HTTP
# round trips. CONFIG=release measures the optimised code (its first build takes several minutes).
# Exit status: 0 clean, 1 build failure, 3 the harness failed.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS="${JOBS:-2000}"
EVENTS="${EVENTS:-1000}"
for v in JOBS EVENTS; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || { echo "jobs.sh: $v must be a positive integer" >&2; exit 1; }
done

CONFIG="${CONFIG:-debug}"
case "$CONFIG" in
  debug) build=(); ;;
  release) build=(-c release -Xswiftc -enable-testing --scratch-path .build-bench-tests) ;;
  *) echo "jobs.sh: CONFIG must be debug or release" >&2; exit 1 ;;
esac
swift build "${build[@]}" --build-tests 2>&1 | grep -E "error:|warning:" && exit 1
echo "machine: $(nproc) cores, $(uname -srm), SQLite $(sqlite3 --version 2>/dev/null | cut -d' ' -f1 || echo '?'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "run: JOBS=$JOBS EVENTS=$EVENTS, $CONFIG build"
output=$(ATOM_BENCH=1 JOBS="$JOBS" EVENTS="$EVENTS" swift test "${build[@]}" --skip-build --filter JobsBench 2>&1) || { echo "$output" | tail -30; exit 3; }
if echo "$output" | grep -q "✘"; then echo "$output" | grep -E "✘|error" ; exit 3; fi
echo "$output" | grep '^BENCH ' | awk '
  BEGIN { printf "\n%-44s %7s %9s %12s\n", "figure", "count", "seconds", "per second" }
  $2 ~ /p50_p99/ { lat[$2] = sprintf("%-44s %7d %9s %12s   p50 %.2f ms, p99 %.2f ms", $2, $3, "", "", $4, $5); order[++n] = $2; next }
  { rate[$2] = $5; printf "%-44s %7d %9.3f %12.0f\n", $2, $3, $4, $5 }
  END {
    print ""
    for (i = 1; i <= n; i++) print lat[order[i]]
    print ""
    if (rate["peer_sqlite_durable_insert"] > 0) {
      printf "ratio job_enqueue_sequential / peer_sqlite_durable_insert: %.2f\n", rate["job_enqueue_sequential"] / rate["peer_sqlite_durable_insert"]
      printf "ratio job_complete_noop_4_workers / peer_sqlite_durable_insert: %.2f\n", rate["job_complete_noop_4_workers"] / rate["peer_sqlite_durable_insert"]
    }
    if (rate["peer_http_post_serial"] > 0) {
      printf "ratio delivery_1_destinations / peer_http_post_serial: %.2f\n", rate["delivery_1_destinations"] / rate["peer_http_post_serial"]
      printf "ratio delivery_4_destinations / peer_http_post_serial: %.2f\n", rate["delivery_4_destinations"] / rate["peer_http_post_serial"]
    }
  }'
