#!/usr/bin/env bash
# Offline checks of the Helm chart: render it (${HELM:-helm} template) with the default
# values and with ci/everything-values.yaml (mTLS, ingress, external Postgres/Kafka,
# monitoring), then check the render: Kubernetes schemas and our policy
# (validate.mjs), values.schema.json, promtool on the PrometheusRule, dashboards, the
# topic list against evc-devkafka, the generated certificates, and k8s/base being the
# chart's current render. Exit 77 (ctest: skipped) when no helm renderer is found.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CHART="$ROOT/charts/evcharging"
BIN="${EVC_BIN_DIR:-$ROOT/build/bin}"
OUT="${EVC_TEST_OUT:-$ROOT/build/test-artifacts/chart}"
mkdir -p "$OUT"

. "$HERE/renderer.sh"
if ! helm_renderer; then
  echo "SKIPPED: no helm found (HELM=${HELM:-helm}); set HELM to helm or a compatible renderer"
  exit 77
fi
echo "renderer: ${TEMPLATE[*]}"
fail() { echo "FAIL: $*"; exit 1; }

# 1. values files against values.schema.json (helm install does this; renderers may not).
node "$HERE/validate.mjs" schema "$CHART" "$CHART/ci/everything-values.yaml"

# 2. render both ways, check every object.
"${TEMPLATE[@]}" evcharging "$CHART" >"$OUT/default.yaml" || fail "helm template (default values)"
"${TEMPLATE[@]}" -a monitoring.coreos.com/v1 -f "$CHART/ci/everything-values.yaml" evcharging "$CHART" \
  >"$OUT/everything.yaml" || fail "helm template (ci/everything-values.yaml)"
node "$HERE/validate.mjs" manifests "$OUT/default.yaml" --values "$CHART"
node "$HERE/validate.mjs" manifests "$OUT/everything.yaml" --values "$CHART:$CHART/ci/everything-values.yaml" \
  --existing-secrets evc-admin

# 3. what each render must and must not contain.
node "$HERE/render_facts.mjs" "$OUT/default.yaml" "$OUT/everything.yaml" "$ROOT/observability" "$OUT"

# 4. promtool on the PrometheusRule's rules, as Prometheus would load them.
promtool check rules "$OUT/prometheusrule.yml"

# 5. the topic list of the chart is the one the services wait for.
"$BIN/evc-devkafka" --list_topics | sort >"$OUT/topics.expected"
sort "$OUT/topics.chart" | diff -u "$OUT/topics.expected" - || fail "kafka.topics in values.yaml differ from evc-devkafka --list_topics"

# 6. the generated certificates: signed by the CA, named for their Service, both usages.
for id in registry auth central weather edge cp; do
  openssl verify -CAfile "$OUT/tls/ca.crt" "$OUT/tls/$id.crt" >/dev/null || fail "$id certificate does not verify"
  openssl x509 -in "$OUT/tls/$id.crt" -noout -subject | grep -q "CN *= *$id\$" || fail "$id certificate CN"
  openssl x509 -in "$OUT/tls/$id.crt" -noout -ext extendedKeyUsage | grep -q "Client Authentication" || fail "$id: no clientAuth"
  openssl x509 -in "$OUT/tls/$id.crt" -noout -ext subjectAltName | grep -q "DNS:evcharging-$id," || fail "$id: SAN lacks its Service"
  [ "$(openssl x509 -in "$OUT/tls/$id.crt" -noout -modulus)" = "$(openssl rsa -in "$OUT/tls/$id.key" -noout -modulus 2>/dev/null)" ] \
    || fail "$id key does not match its certificate"
done
echo "certificates: 6 identities verified against the generated CA"

# 7. k8s/base is the chart's render (./evc k8s-base writes it).
node "$HERE/k8s_base.mjs" check "$ROOT" "${TEMPLATE[@]}"
echo "OK"
