#!/usr/bin/env bash
# bench-emulator.sh: DescribeKey per second through the real aws-sdk-go-v2
# client over loopback HTTP, quotas off (issue 2, Speed), for kmsemu and, as
# the baseline measured the same way in the same run, for local-kms. Prints
# both figures and their ratio.
#
#   scripts/bench-emulator.sh [--benchtime 5s] [--count 3]
#
# The benchmark is BenchmarkDescribeKeySDK in internal/kmsemu: 1,000 keys,
# 16 parallel callers, client and server sharing this machine's cores. With
# KMSEMU_BENCH_ENDPOINT it targets another server instead of starting kmsemu.
# local-kms listens on every interface, so the whole run happens inside a
# loopback-only network namespace (root and iproute2), deleted at the end.
#   go install github.com/nsmithuk/local-kms@v0.0.0-20260228092603-2a5e92d09ab6
set -euo pipefail

BENCHTIME=5s
COUNT=3
INNER=0
args=("$@")
while [ $# -gt 0 ]; do
	case "$1" in
	--benchtime) BENCHTIME=$2; shift 2 ;;
	--count) COUNT=$2; shift 2 ;;
	--inner) INNER=1; shift ;;
	-h|--help) sed -n '2,14p' "$0"; exit 0 ;;
	*) echo "bench-emulator: unknown argument $1" >&2; exit 2 ;;
	esac
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=netns.sh
. "$ROOT/scripts/netns.sh"
if [ "$INNER" = 0 ]; then
	in_loopback_netns kmsrotor-bench-emu bench-emulator "${args[@]}"
fi

# --- Inside the namespace: only loopback exists. ---
WORK=$(mktemp -d)
LPID=
cleanup() {
	[ -n "$LPID" ] && kill "$LPID" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

LKMS=${LOCAL_KMS:-$(go env GOPATH)/bin/local-kms}
if [ ! -x "$LKMS" ]; then
	echo "bench-emulator: local-kms not found at $LKMS" >&2
	exit 2
fi
cd "$ROOT"
GOPROXY=off go test -c -o "$WORK/kmsemu.test" ./internal/kmsemu

KMS_ACCOUNT_ID=123456789012 KMS_REGION=us-east-1 KMS_DATA_PATH="$WORK/lkms" PORT=4599 \
	"$LKMS" >"$WORK/local-kms.log" 2>&1 &
LPID=$!
for _ in $(seq 1 100); do
	(echo >/dev/tcp/127.0.0.1/4599) 2>/dev/null && break
	sleep 0.1
done

# bench TARGET: the median req/s of the benchmark ("" = kmsemu itself).
bench() {
	KMSEMU_BENCH_ENDPOINT=$1 "$WORK/kmsemu.test" -test.run '^$' -test.bench '^BenchmarkDescribeKeySDK$' \
		-test.benchtime "$BENCHTIME" -test.count "$COUNT" | awk '/ops\/s/ {print $(NF-1)}' | sort -n |
		awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'
}
ours=$(bench "")
theirs=$(bench http://127.0.0.1:4599)

echo "DescribeKey through aws-sdk-go-v2 over loopback, quotas off, 16 callers, $(nproc) cores, median of $COUNT x $BENCHTIME"
echo "  kmsemu:    ${ours} req/s"
echo "  local-kms: ${theirs} req/s"
awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "  ratio kmsemu / local-kms: %.2f\n", a / b }'
