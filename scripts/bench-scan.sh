#!/usr/bin/env bash
# bench-scan.sh: how long `kmsrotor scan --output json` (the whole process)
# takes against a bare 16-way Go loop of DescribeKey + GetKeyRotationStatus,
# on an estate of customer symmetric keys in one Region, half of them
# rotating (issue 3, Performance). It prints the median of each and the
# ratio; the target is at most 1.3.
#
#   scripts/bench-scan.sh [--target local-kms|kmsemu] [--keys 2000] [--runs 7]
#
# local-kms (the default target) is an independent KMS emulator:
#   go install github.com/nsmithuk/local-kms@v0.0.0-20260228092603-2a5e92d09ab6
# It serves no STS, so the scan's GetCallerIdentity goes to kmsemu serving
# STS only; local-kms's GetKeyRotationStatus omits the rotation period, which
# the scanner reads as AWS's default of 365 days.
#
# local-kms listens on every interface, so the whole benchmark runs inside a
# loopback-only network namespace (needs root and iproute2), deleted at the end.
# BENCH_KEEP=DIR copies the outputs and logs there at the end.
set -euo pipefail

TARGET=local-kms
KEYS=2000
RUNS=7
INNER=0
args=("$@")
while [ $# -gt 0 ]; do
	case "$1" in
	--target) TARGET=$2; shift 2 ;;
	--keys) KEYS=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	--inner) INNER=1; shift ;;
	-h|--help) sed -n '2,18p' "$0"; exit 0 ;;
	*) echo "bench-scan: unknown argument $1" >&2; exit 2 ;;
	esac
done
case "$TARGET" in local-kms|kmsemu) ;; *) echo "bench-scan: --target is local-kms or kmsemu" >&2; exit 2 ;; esac

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=netns.sh
. "$ROOT/scripts/netns.sh"
if [ "$INNER" = 0 ]; then
	in_loopback_netns kmsrotor-bench bench-scan "${args[@]}"
fi

# --- From here on, inside the namespace: only loopback exists. ---
WORK=$(mktemp -d)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT
if [ -n "${BENCH_KEEP:-}" ]; then
	# BENCH_KEEP=DIR keeps the outputs, logs and binaries for a look afterwards.
	trap 'cp -r "$WORK/." "$BENCH_KEEP"; cleanup' EXIT
fi

cd "$ROOT"
echo "building kmsrotor and the bare loop..."
GOPROXY=off go build -o "$WORK/kmsrotor" ./cmd/kmsrotor
GOPROXY=off go build -o "$WORK/bareloop" ./bench/bareloop

wait_port() {
	for _ in $(seq 1 300); do
		if (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "bench-scan: nothing listens on port $1" >&2
	return 1
}

export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_REGION AWS_ENDPOINT_URL_KMS AWS_MAX_ATTEMPTS 2>/dev/null || true

if [ "$TARGET" = local-kms ]; then
	LKMS=${LOCAL_KMS:-$(go env GOPATH)/bin/local-kms}
	if [ ! -x "$LKMS" ]; then
		echo "bench-scan: local-kms not found at $LKMS; install it with" >&2
		echo "  go install github.com/nsmithuk/local-kms@v0.0.0-20260228092603-2a5e92d09ab6" >&2
		exit 2
	fi
	"$WORK/bareloop" seed -keys "$KEYS" -out "$WORK/seed.yaml"
	KMS_ACCOUNT_ID=123456789012 KMS_REGION=us-east-1 KMS_SEED_PATH="$WORK/seed.yaml" \
		KMS_DATA_PATH="$WORK/lkms-data" PORT=4599 "$LKMS" >"$WORK/local-kms.log" 2>&1 &
	PIDS+=($!)
	"$WORK/bareloop" serve -keys 0 -addr 127.0.0.1:4598 >"$WORK/sts.log" 2>&1 &
	PIDS+=($!)
	wait_port 4599
	wait_port 4598
	export AWS_ENDPOINT_URL=http://127.0.0.1:4599 AWS_ENDPOINT_URL_STS=http://127.0.0.1:4598
else
	"$WORK/bareloop" serve -keys "$KEYS" -addr 127.0.0.1:4598 >"$WORK/kmsemu.log" 2>&1 &
	PIDS+=($!)
	wait_port 4598
	export AWS_ENDPOINT_URL=http://127.0.0.1:4598
	unset AWS_ENDPOINT_URL_STS 2>/dev/null || true
fi

ms() { echo $(( $(date +%s%N) / 1000000 )); }

# run LABEL CMD...: runs CMD once, appends its wall time in ms to $WORK/LABEL.
run() {
	local label=$1; shift
	local t0 t1 rc=0
	t0=$(ms)
	"$@" >"$WORK/$label.out" 2>"$WORK/$label.err" || rc=$?
	t1=$(ms)
	# The scan exits 3 when keys fail the check: that is its result, not an error.
	if [ "$rc" != 0 ] && [ "$rc" != 3 ]; then
		echo "bench-scan: $label exited $rc:" >&2
		cat "$WORK/$label.err" >&2
		exit 1
	fi
	echo $((t1 - t0)) >>"$WORK/$label.times"
}

median() { sort -n "$1" | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

echo "warming up..."
run warmup "$WORK/bareloop" loop -workers 16
run warmup "$WORK/kmsrotor" scan --output json
rm -f "$WORK"/*.times

echo "running $RUNS rounds on $TARGET with $KEYS keys..."
for _ in $(seq 1 "$RUNS"); do
	run bare "$WORK/bareloop" loop -workers 16
	run scan "$WORK/kmsrotor" scan --output json
	run unpaced "$WORK/kmsrotor" scan --output json --pace off
done

pass=$(grep -c '"status": "PASS"' "$WORK/scan.out" || true)
fail=$(grep -c '"status": "FAIL"' "$WORK/scan.out" || true)
other=$(grep -c '"status": "\(ERROR\|MANUAL\|SKIPPED\)"' "$WORK/scan.out" || true)
if [ "$pass" != $((KEYS - KEYS / 2)) ] || [ "$fail" != $((KEYS / 2)) ] || [ "$other" != 0 ]; then
	echo "bench-scan: the scan found $pass PASS, $fail FAIL, $other other; want $((KEYS - KEYS / 2)) PASS and $((KEYS / 2)) FAIL" >&2
	exit 1
fi

bare=$(median "$WORK/bare.times")
scan=$(median "$WORK/scan.times")
unpaced=$(median "$WORK/unpaced.times")
calls=$(tr -d ' \n' <"$WORK/scan.out" | grep -o '"api_calls":{[^}]*}' || true)
echo
echo "target $TARGET, $KEYS keys (half rotating), $RUNS runs, $(nproc) cores"
echo "bare 16-way loop (process):            median ${bare} ms   last: $(cat "$WORK/bare.out")"
echo "kmsrotor scan --output json (process): median ${scan} ms   scan found $pass PASS, $fail FAIL"
echo "  same with --pace off (no pacing): median ${unpaced} ms"
echo "  $calls"
awk -v s="$scan" -v b="$bare" -v u="$unpaced" 'BEGIN {
	printf "ratio scan / bare loop: %.2f (target <= 1.30)\n", s / b
	printf "ratio unpaced scan / bare loop: %.2f\n", u / b
}'
