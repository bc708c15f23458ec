#!/usr/bin/env bash
# bench-fix.sh: how close `kmsrotor fix --apply` comes to AWS's quota floor
# (issue 11, Performance). 300 keys without rotation in one account and
# Region, the emulator at AWS's quotas (--quotas aws: EnableKeyRotation
# 15/s) with 20 ms of latency per request: the floor is 300 / 15 = 20 s.
# It prints kmsrotor's time, the floor and the ratio (target <= 1.15, no
# FAILED key); then the same for a run killed (SIGKILL) midway and resumed,
# against the floor for the keys the killed run left.
#
#   scripts/bench-fix.sh [--keys 300] [--kill-after 8]
#
# Times are of the whole fix process (plan, CloudFormation lookup, apply,
# read back), from a scan report made beforehand (--from), the stack
# ownership lookup (CloudFormation ListStacks on the emulator) included.
# Only loopback is used.
set -euo pipefail

KEYS=300
KILL_AFTER=8
while [ $# -gt 0 ]; do
	case "$1" in
	--keys) KEYS=$2; shift 2 ;;
	--kill-after) KILL_AFTER=$2; shift 2 ;;
	-h|--help) sed -n '2,16p' "$0"; exit 0 ;;
	*) echo "bench-fix: unknown argument $1" >&2; exit 2 ;;
	esac
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
EPID=
cleanup() {
	[ -n "$EPID" ] && kill "$EPID" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

cd "$ROOT"
GOPROXY=off go build -o "$WORK/kmsrotor" ./cmd/kmsrotor
K="$WORK/kmsrotor"
PORT=${BENCH_PORT:-45873}
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT"
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
export XDG_STATE_HOME="$WORK/state"
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_REGION AWS_MAX_ATTEMPTS 2>/dev/null || true

start_emulator() {
	[ -n "$EPID" ] && { kill "$EPID"; wait "$EPID" 2>/dev/null || true; }
	"$K" emulator --generate "keys=$KEYS,rotating=0" --quotas aws --latency 20ms --listen "127.0.0.1:$PORT" >"$WORK/emu.log" 2>&1 &
	EPID=$!
	for _ in $(seq 1 300); do
		(echo >"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && return 0
		sleep 0.05
	done
	echo "bench-fix: the emulator did not start:" >&2; cat "$WORK/emu.log" >&2; exit 1
}

now() { date +%s.%N; }
FIX=(fix --from "$WORK/scan.json" --apply --yes --output json)

# Run 1: uninterrupted.
start_emulator
"$K" scan --output json --output-file "$WORK/scan.json" || [ $? = 3 ]
t0=$(now)
"$K" "${FIX[@]}" --journal "$WORK/j1.jsonl" >"$WORK/run1.json" || { echo "bench-fix: fix failed" >&2; exit 1; }
t1=$(now)
failed=$(grep -c '"status": "FAILED"' "$WORK/run1.json" || true)
verified=$(grep -c '"status": "VERIFIED"' "$WORK/run1.json" || true)
awk -v t="$(echo "$t1 - $t0" | bc)" -v n="$KEYS" -v v="$verified" -v f="$failed" 'BEGIN {
	floor = n / 15; printf "fix, %d keys:     %6.2f s, floor %6.2f s, ratio %.3f (target <= 1.15), %d VERIFIED, %d FAILED\n", n, t, floor, t / floor, v, f }'

# Run 2: killed midway, then resumed on the same (changed) estate.
start_emulator
"$K" scan --output json --output-file "$WORK/scan.json" || [ $? = 3 ]
"$K" "${FIX[@]}" --journal "$WORK/j2.jsonl" >/dev/null 2>&1 &
FPID=$!
sleep "$KILL_AFTER"
kill -9 "$FPID"; wait "$FPID" 2>/dev/null || true
done_keys=$(grep -c '"type":"verified"' "$WORK/j2.jsonl" || true)
left=$((KEYS - done_keys))
t0=$(now)
"$K" "${FIX[@]}" --journal "$WORK/j2.jsonl" >"$WORK/run2.json" || { echo "bench-fix: resumed fix failed" >&2; exit 1; }
t1=$(now)
failed=$(grep -c '"status": "FAILED"' "$WORK/run2.json" || true)
calls=$(sed -n 's/.*"enable_key_rotation_calls": \([0-9]*\).*/\1/p' "$WORK/run2.json")
awk -v t="$(echo "$t1 - $t0" | bc)" -v n="$left" -v c="$calls" -v f="$failed" -v k="$KILL_AFTER" 'BEGIN {
	floor = n / 15; printf "resumed after kill -9 at %ds: %d keys left, %6.2f s, floor %6.2f s, ratio %.3f (target <= 1.15), %d EnableKeyRotation calls, %d FAILED\n", k, n, t, floor, t / floor, c, f }'
