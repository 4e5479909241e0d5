#!/usr/bin/env bash
# The Prometheus config and alert rules parse, and the alerts fire on
# synthetic series (promtool from Debian's prometheus package).
set -euo pipefail
dir="$(cd "$(dirname "$0")/../../observability/prometheus" && pwd)"
command -v promtool >/dev/null || { echo "promtool not found: apt-get install prometheus" >&2; exit 1; }
promtool check config "$dir/prometheus.yml"
promtool check rules "$dir/rules.yml"
cd "$dir" && promtool test rules rules_test.yml
