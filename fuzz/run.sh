#!/usr/bin/env bash
# Fuzzes the HTTP/1.1 request parser with libFuzzer + AddressSanitizer.
# Usage: fuzz/run.sh [SECONDS]   (default 60). Crashes land in .build-fuzz/; add each as a file in
# fuzz/corpus/ so the replay test (Tests/HostTests/FuzzCorpusTests.swift) keeps it fixed.
set -euo pipefail
seconds="${1:-60}"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
build="$root/.build-fuzz"
mkdir -p "$build/src" "$build/corpus"

# The parser and the few PluginAPI types it uses, compiled as one module (without their PluginAPI import).
for file in Sources/Host/HTTP/{RequestHead,ChunkedDecoder,HTTPParseError,ParserFuzzDriver}.swift \
            Sources/PluginAPI/HTTP/{HTTPHeaders,Request}.swift Sources/PluginAPI/Crypto/Encoding.swift; do
  sed '/^import PluginAPI$/d' "$root/$file" > "$build/src/$(basename "$file")"
done
swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name ParserFuzz \
  "$build"/src/*.swift "$here/HTTPParserFuzzer.swift" -o "$build/http-parser-fuzzer"

# New inputs go to the scratch corpus; the committed seeds are read only.
"$build/http-parser-fuzzer" "$build/corpus" "$here/corpus" \
  -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$build/" -print_final_stats=1
