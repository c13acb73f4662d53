#!/usr/bin/env bash
# promtool check metrics on what the metrics module renders (test_metrics
# writes one rendering to a file).
set -euo pipefail
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
"$1" "$tmp" >/dev/null
"$2" check metrics <"$tmp"
