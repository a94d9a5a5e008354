#!/usr/bin/env bash
# SIMD code generation: the hub's dot product built for the x86-64 baseline (what ships) and for
# haswell (AVX2 + FMA; this swiftc does not know x86-64-v3), same source file, same machine, one run each. See docs/search.md.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$repo/bench/simd_dot.swift" "$work/main.swift"  # Top-level code must live in main.swift.
for target in baseline haswell; do
  flags=(-O)
  [ "$target" = baseline ] || flags+=(-target-cpu "$target")
  swiftc "${flags[@]}" "$repo/Sources/Plugins/Search/VectorMath.swift" "$work/main.swift" -o "$work/dot-$target"
  printf '%-10s ' "$target"; "$work/dot-$target"
done
