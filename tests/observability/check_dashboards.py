#!/usr/bin/env python3
"""Checks the Grafana dashboards and alert rules against real scrapes.

usage: check_dashboards.py OBSERVABILITY_DIR SCRAPE_FILE...

Every dashboard must parse, have a datasource variable used by every panel and
target, and every metric its queries (and the alert rules) name must be in one
of the scrapes (the /metrics output of the running services).
"""
import json
import pathlib
import re
import sys

METRIC = re.compile(r"\b((?:evc|grpc)_[a-zA-Z0-9_]+)\b")
# Label matchers and grouping clauses name labels, not metrics.
LABELS = re.compile(r"\{[^}]*\}|\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")


def metrics_in(expr):
    return set(METRIC.findall(LABELS.sub(" ", expr)))


def known(name, names):
    return name in names or any(name + suffix in names for suffix in ("_bucket", "_count", "_sum"))


def exported(scrapes):
    names = set()
    for path in scrapes:
        for line in pathlib.Path(path).read_text().splitlines():
            if line and not line.startswith("#"):
                names.add(re.split(r"[{ ]", line, 1)[0])
    return names


def main():
    root = pathlib.Path(sys.argv[1])
    names = exported(sys.argv[2:])
    problems = []
    dashboards = sorted((root / "grafana").glob("*.json"))
    if not dashboards:
        problems.append("no dashboards in grafana/")
    for path in dashboards:
        try:
            d = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            problems.append(f"{path.name}: not JSON: {e}")
            continue
        variables = [v for v in d.get("templating", {}).get("list", []) if v.get("type") == "datasource"]
        if not variables:
            problems.append(f"{path.name}: no datasource variable")
        if not d.get("uid") or not d.get("title"):
            problems.append(f"{path.name}: needs a uid and a title")
        for panel in d.get("panels", []):
            where = f"{path.name} panel '{panel.get('title')}'"
            if panel.get("datasource", {}).get("uid") != "${datasource}":
                problems.append(f"{where}: datasource is not the variable")
            if not panel.get("targets"):
                problems.append(f"{where}: no query")
            for t in panel.get("targets", []):
                if t.get("datasource", {}).get("uid") != "${datasource}":
                    problems.append(f"{where}: a target's datasource is not the variable")
                for m in sorted(metrics_in(t.get("expr", ""))):
                    if not known(m, names):
                        problems.append(f"{where}: {m} is not exported by any service")
    exprs = []
    lines = (root / "prometheus" / "rules.yml").read_text().splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith("expr:"):
            block = [line.split("expr:", 1)[1]]
            indent = len(line) - len(line.lstrip())
            for follow in lines[i + 1:]:
                if follow.strip() and len(follow) - len(follow.lstrip()) <= indent:
                    break
                block.append(follow)
            exprs.append(" ".join(block))
    if not exprs:
        problems.append("rules.yml: no expressions found")
    for m in sorted(set().union(*[metrics_in(e) for e in exprs] or [set()])):
        if not known(m, names):
            problems.append(f"rules.yml: {m} is not exported by any service")
    for p in problems:
        print(p)
    print(f"{len(dashboards)} dashboards, {len(names)} exported series names, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
