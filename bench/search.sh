#!/usr/bin/env bash
# Search benchmark: the hub's search provider vs LanceDB on the same generated corpus (see docs/search.md).
#
#   bench/search.sh                          # venv + release build + 100k x 384 run
#   DOCS=20000 QUERIES=100 bench/search.sh   # a quicker run
#
# Env: DOCS (default 100000), DIMS (384), QUERIES (200), SKIP_SETUP=1 (no pip), SKIP_BUILD=1 (use the
# existing .build-bench binary), BENCH_SWIFTC_FLAGS (extra flags for the release build, e.g.
# "-Xswiftc -target-cpu -Xswiftc haswell" to compare SIMD code generation).
# LanceDB lives only in the bench virtualenv .bench-venv/ (git-ignored), never in the project.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
venv="$repo/.bench-venv"
out="$here/out/search-$(date -u +%Y%m%d-%H%M%S)"
mkdir -p "$out"
if [ "${SKIP_SETUP:-0}" != 1 ]; then
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q lancedb numpy pyarrow pandas
fi
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  # shellcheck disable=SC2086  # BENCH_SWIFTC_FLAGS is a list of flags.
  (cd "$repo" && swift build -c release --product atom-hub --scratch-path .build-bench ${BENCH_SWIFTC_FLAGS:-})
fi
"$venv/bin/python" "$here/search_bench.py" --binary "$repo/.build-bench/release/atom-hub" --out "$out" \
  --docs "${DOCS:-100000}" --dims "${DIMS:-384}" --queries "${QUERIES:-200}" | tee "$out/summary.txt"
echo "results: $out/results.json" >&2
