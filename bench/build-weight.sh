#!/usr/bin/env bash
# build-weight.sh: what a cold build of kmsrotor costs against the least a
# KMS program with aws-sdk-go-v2 must compile (bench/kmsbaseline: config and
# service/kms only). Both build with the same module cache and each with
# its own empty GOCACHE, one after the other; it prints wall and CPU time and
# the largest process's peak memory (the compiler's) of each, and the ratios.
# The target is a CPU-time ratio of at most 1.5 (issue 9).
#
#   bench/build-weight.sh [--runs N]    (default 1; each run is two cold builds)
set -euo pipefail

RUNS=1
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) RUNS=$2; shift 2 ;;
	-h|--help) sed -n '2,9p' "$0"; exit 0 ;;
	*) echo "build-weight: unknown argument $1" >&2; exit 2 ;;
	esac
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
command -v /usr/bin/time >/dev/null || { echo "build-weight: needs GNU time (/usr/bin/time; apt-get install time)" >&2; exit 1; }
go mod download
WORK=$(mktemp -d)
trap 'chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT

# build PKG: one cold build; prints "wall cpu maxrss_kb".
build() {
	local cache="$WORK/cache.$RANDOM$RANDOM"
	mkdir -p "$cache"
	GOCACHE="$cache" GOFLAGS=-mod=readonly /usr/bin/time -f '%e %U %S %M' -o "$WORK/time" \
		go build -o "$WORK/bin" "$1"
	rm -rf "$cache"
	awk '{printf "%.1f %.1f %d\n", $1, $2 + $3, $4}' "$WORK/time"
}

printf '%-22s %8s %8s %10s\n' build wall_s cpu_s peak_MiB
sum() { awk -v a="$1" -v b="$2" 'BEGIN{print a + b}'; }
bw=0 bc=0 kw=0 kc=0 bm=0 km=0
for i in $(seq "$RUNS"); do
	read -r w c m < <(build ./bench/kmsbaseline)
	printf '%-22s %8s %8s %10d\n' "kms+config baseline" "$w" "$c" $((m / 1024))
	bw=$(sum "$bw" "$w"); bc=$(sum "$bc" "$c"); bm=$((m > bm ? m : bm))
	read -r w c m < <(build ./cmd/kmsrotor)
	printf '%-22s %8s %8s %10d\n' "cmd/kmsrotor" "$w" "$c" $((m / 1024))
	kw=$(sum "$kw" "$w"); kc=$(sum "$kc" "$c"); km=$((m > km ? m : km))
done
awk -v bw="$bw" -v bc="$bc" -v kw="$kw" -v kc="$kc" -v bm="$bm" -v km="$km" 'BEGIN {
	printf "ratio kmsrotor/baseline: wall %.2f, cpu %.2f (target <= 1.5), peak memory %.2f\n", kw / bw, kc / bc, km / bm
}'
