#!/usr/bin/env bash
# bench-report.sh: what writing every report format adds for 60,000
# findings (issue 12, Performance). One benchmark run writes the JSON
# document alone, then the JSON document plus OCSF, ASFF, CSV, JUnit,
# Markdown and HTML (go test ./internal/report -bench Sinks60k); it prints
# both times, the extra time, and that extra as a share of a scan's wall
# time for 60,000 keys: SCAN_SECONDS (measure it with
# scripts/bench-scan.sh --target kmsemu --keys 60000 --runs 1; default
# 22.2, the README's measurement). Target: at most 20 %.
#
#   scripts/bench-report.sh [RUNS]   (default 3; the median is used)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
scan=${SCAN_SECONDS:-22.2}
out=$(go test -run '^$' -bench 'Sinks60k$' -benchtime 1x -count "$runs" ./internal/report)
echo "$out" | grep Benchmark
echo "$out" | awk -v scan="$scan" '
  function median(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }; return a[int((n + 1) / 2)] }
  /Sinks60k\/json-/ { j[++nj] = $3 / 1e9 }
  /Sinks60k\/json\+every-format/ { e[++ne] = $3 / 1e9 }
  END {
    mj = median(j, nj); me = median(e, ne); extra = me - mj
    printf "json alone: %.2f s; json + every format: %.2f s; every format adds %.2f s (%.1fx the JSON writer)\n", mj, me, extra, extra / mj
    printf "against a %.1f s scan of 60,000 keys (with its JSON): +%.0f %% (target <= 20 %%)\n", scan, 100 * extra / (scan + 0)
  }'
