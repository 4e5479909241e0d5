#!/usr/bin/env bash
# k8s/base through kustomize (kubectl kustomize, offline), then the same schema and
# policy checks as the chart. Exit 77 (ctest: skipped) without kubectl.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="${EVC_TEST_OUT:-$ROOT/build/test-artifacts/chart}"
mkdir -p "$OUT"
if ! command -v kubectl >/dev/null 2>&1; then
  echo "SKIPPED: kubectl not found (it renders kustomize offline)"
  exit 77
fi
kubectl kustomize "$ROOT/k8s/base" >"$OUT/kustomize.yaml" || { echo "FAIL: kubectl kustomize k8s/base"; exit 1; }
node "$HERE/validate.mjs" manifests "$OUT/kustomize.yaml"
grep -q "name: evcharging-admin-" "$OUT/kustomize.yaml" || { echo "FAIL: the generated admin Secret is not referenced"; exit 1; }
echo "OK"
