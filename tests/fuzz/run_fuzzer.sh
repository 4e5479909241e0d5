#!/usr/bin/env bash
# run_fuzzer.sh BINARY CORPUS REGRESSIONS WORKDIR SECONDS
# SECONDS=0: replay the seeds and regressions (ordinary build). Otherwise libFuzzer
# for SECONDS, new inputs kept in WORKDIR/corpus; a crash leaves its input in
# WORKDIR/crash-* and fails the test: copy it to REGRESSIONS and fix the decoder.
set -euo pipefail
bin="$1" corpus="$2" regressions="$3" work="$4" seconds="$5"
inputs=("$corpus")
[ -d "$regressions" ] && inputs+=("$regressions")
if [ "$seconds" = 0 ]; then
  exec "$bin" "${inputs[@]}"
fi
mkdir -p "$work/corpus"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
exec "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/" "$work/corpus" "${inputs[@]}"
