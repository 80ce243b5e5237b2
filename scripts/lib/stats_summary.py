#!/usr/bin/env python3
"""Summarise mcast-failover's final --stats-json file for the demo's human summary.

Why: the demo prints packets per leg and failover counters without depending on the exact
nesting of the JSON: every numeric leaf is printed as a dotted path, grouped by its parent
object, so new fields show up without a change here.

usage: stats_summary.py STATS_JSON
"""

import json
import sys


def leaves(node, path=""):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from leaves(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from leaves(value, f"{path}[{i}]")
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        yield path, node
    elif isinstance(node, str) and path:
        yield path, node


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        data = json.load(f)
    groups = {}
    for path, value in leaves(data):
        parent, _, name = path.rpartition(".")
        groups.setdefault(parent or "(top)", []).append(f"{name}={value}")
    for parent, items in groups.items():
        print(f"{parent}: {' '.join(items)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
