#!/usr/bin/env bash
# A tiny run of every benchmark scenario, so ./evc test keeps the harness
# working; it checks correctness figures (nothing lost or duplicated), not speed.
set -euo pipefail
out="$(mktemp -d /tmp/evc-bench-smoke-XXXXXX)"
chmod 755 "$out"  # Postgres runs as its own user when we are root
trap 'rm -rf "$out"' EXIT
# A tiny run may miss a speed target (exit 3): that is not what the smoke run checks.
run() {
  local scenario="$1" rc=0; shift
  "$EVC_BIN_DIR/evc-bench" --scenario="$scenario" --out="$out" --repetitions=1 "$@" \
    >"$out/$scenario.table" 2>"$out/$scenario.log" || rc=$?
  if [ "$rc" != 0 ] && [ "$rc" != 3 ]; then
    echo "bench $scenario failed:" >&2; tail -20 "$out/$scenario.log" "$out/$scenario.table" >&2; exit 1
  fi
  ls "$out"/"$scenario"-*.json
}
check() {
  local result
  result="$(run "$1" "${@:3}")" || exit 1
  python3 - "$result" "$2" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["runs"][0]
for expr in sys.argv[2].split(";"):
    if not eval(expr, {}, results):
        print(f"FAILED: {expr} with {json.dumps(results)}")
        sys.exit(1)
    print(f"ok: {expr}")
PY
}
# check SCENARIO "figure tests" FLAGS...
check fleet \
  "connected_cps == 20;supplies_started == 5;tickets_lost == 0;tickets_duplicated == 0;telemetry_lost == 0;telemetry_applied > 0" \
  --cps=20 --supplies=5 --duration=3s
check churn \
  "sessions_completed_in_window > 0;tickets_lost == 0;tickets_duplicated == 0;supplies_rejected == 0" \
  --cps=10 --duration=3s
check ingest "telemetry_applied >= 3000;ratio > 0;central_ingest_rate_per_second > 0" \
  --cps=10 --messages=3000
check edge \
  "unary_edge_qps > 0;unary_direct_qps > 0;ws['clients_closed'] == 0;ws['clients_with_every_update'] == 5;ws['reference_frames'] > 0" \
  --cps=10 --supplies=5 --clients=5 --concurrency=2 --duration=3s
check ocpp \
  "connected_cps == 20;chargers_booted == 20;supplies_started == 5;tickets_lost == 0;tickets_duplicated == 0;churn['sessions_completed_in_window'] > 0;churn['tickets_lost'] == 0;churn['tickets_duplicated'] == 0;latency['remote_start_to_start_transaction']['count'] == 5" \
  --cps=20 --supplies=5 --duration=3s
echo "1 passed, 0 failed"
