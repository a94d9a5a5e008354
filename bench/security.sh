#!/usr/bin/env bash
# Security benchmarks: the cost of encrypting and decrypting one secret, PBKDF2 key derivation
# (600,000 iterations), and startup time with the security review (launch to "listening on").
#
# Usage: bench/security.sh
# The harness is Tests/HostTests/Bench/SecurityBench.swift, skipped by `swift test` unless
# ATOM_BENCH=1. It runs the debug build (the crypto is OpenSSL's either way; startup includes
# process launch). Each figure is a median over several runs; lines start with "BENCH".
set -euo pipefail
cd "$(dirname "$0")/.."

swift build --build-tests 2>&1 | grep -E "error:|warning:" && exit 1
echo "machine: $(nproc) cores, $(uname -srm), $(openssl version)"
ATOM_BENCH=1 swift test --skip-build --filter SecurityBench 2>&1 | grep -E "^BENCH|✘|error" || true
