#!/usr/bin/env bash
# bench-org.sh: kmsrotor scan at organization scale against the emulator
# (issue 8, Performance). Three runs, each printing its figure and the floor
# it is judged against, measured in the same run:
#
#   org     300 accounts x 4 Regions x 50 keys, --org --regions all --output jsonl,
#           emulator at --latency 20ms --quotas aws: keys/s end to end (target >= 4,000),
#           against the floor of a bare SDK loop making the same calls on the same
#           emulator in the same run (bench/bareloop org)
#   region  one account-Region of 20,000 keys, same emulator settings: time
#           against the GetKeyRotationStatus quota floor of 20 s (target <= 1.15x)
#   memory  200,000 keys (50 accounts x 4 Regions x 1,000, quotas off): peak RSS
#           with --output jsonl (target <= 200 MiB) and json (<= 300 MiB)
#
#   scripts/bench-org.sh [org|region|memory ...]   (default: all three)
#
# BENCH_PROFILE=DIR writes a CPU profile of each scan there and prints its top.
# Everything listens on loopback only.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
EMU_PID=
cleanup() { [ -n "$EMU_PID" ] && kill "$EMU_PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
cd "$ROOT"
go build -o "$WORK/kmsrotor" ./cmd/kmsrotor
go build -o "$WORK/bareloop" ./bench/bareloop
for v in $(env | grep -o '^AWS_[A-Z_]*' || true); do unset "$v"; done

port=45$((RANDOM % 90 + 10))
emulator() { # emulator ARGS...: start one, wait until it answers
	"$WORK/kmsrotor" emulator --listen "127.0.0.1:$port" "$@" >"$WORK/emu.log" 2>&1 &
	EMU_PID=$!
	for _ in $(seq 100); do grep -q listening "$WORK/emu.log" 2>/dev/null && return; sleep 0.1; done
	echo "emulator did not start:"; cat "$WORK/emu.log"; exit 1
}
stop_emulator() { kill "$EMU_PID"; wait "$EMU_PID" 2>/dev/null || true; EMU_PID=; }
scan() { # scan NAME ARGS...: run a scan; sets secs and kb
	local name=$1; shift
	local prof=()
	[ -n "${BENCH_PROFILE:-}" ] && mkdir -p "$BENCH_PROFILE" && prof=(--cpu-profile "$BENCH_PROFILE/$name.prof")
	set +e
	AWS_ENDPOINT_URL=http://127.0.0.1:$port AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 \
		/usr/bin/time -f "%e %M" -o "$WORK/time" "$WORK/kmsrotor" scan --quiet "${prof[@]}" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
	local rc=$?
	set -e
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then echo "scan $name exited $rc:"; tail -5 "$WORK/$name.err"; exit 1; fi
	read -r secs kb < <(tail -1 "$WORK/time")
	if [ -n "${BENCH_PROFILE:-}" ]; then go tool pprof -top -nodecount=15 "$WORK/kmsrotor" "$BENCH_PROFILE/$name.prof" 2>/dev/null | sed -n '4,20p' >&2; fi
}
count() { grep -c '"check_id"' "$WORK/$1.out" || true; }

runs=("$@"); [ ${#runs[@]} -eq 0 ] && runs=(org region memory)
for r in "${runs[@]}"; do
	case "$r" in
	org)
		emulator --generate accounts=300,regions=4,keys=50,rotating=0.8 --latency 20ms --quotas aws
		# Three pairs, alternating: this machine is shared, and the median
		# ratio is what the figure is.
		: >"$WORK/pairs"
		for _ in 1 2 3; do
			AWS_ENDPOINT_URL=http://127.0.0.1:$port AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 \
				/usr/bin/time -f "%e" -o "$WORK/bare.time" "$WORK/bareloop" org -regions us-east-1,us-west-2,eu-west-1,eu-central-1 >"$WORK/bare.out"
			scan org --org --regions all --output jsonl
			echo "$secs $(tail -1 "$WORK/bare.time") $kb" >>"$WORK/pairs"
		done
		stop_emulator
		n=$(count org)
		median() { sort -n | sed -n 2p; }
		ms=$(cut -d' ' -f1 "$WORK/pairs" | median)
		mb=$(cut -d' ' -f2 "$WORK/pairs" | median)
		mr=$(awk '{ print $1/$2 }' "$WORK/pairs" | median)
		kb=$(cut -d' ' -f3 "$WORK/pairs" | sort -n | tail -1)
		awk -v n="$n" -v s="$ms" -v b="$mb" -v r="$mr" -v kb="$kb" -v all="$(tr '\n' ' ' <"$WORK/pairs")" 'BEGIN {
			printf "org:    %d keys: kmsrotor median %.1f s = %.0f keys/s (target >= 4000), peak RSS %.0f MiB\n", n, s, n/s, kb/1024
			printf "        bare SDK loop (same calls, same emulator) median %.1f s = %.0f keys/s; median ratio kmsrotor/bare %.2f\n", b, n/b, r
			printf "        pairs (kmsrotor s, bare s, KB): %s\n", all }'
		;;
	region)
		emulator --generate accounts=1,regions=1,keys=20000,rotating=0.8 --latency 20ms --quotas aws
		scan region --regions all --output jsonl
		stop_emulator
		n=$(count region)
		# GetKeyRotationStatus's quota is 1,000/s (kms-api.md §8): 20,000 keys cannot take less than 20 s.
		awk -v n="$n" -v s="$secs" 'BEGIN { floor = n/1000; printf "region: %d keys in %.1f s; GetKeyRotationStatus floor %.1f s; ratio %.2f (target <= 1.15)\n", n, s, floor, s/floor }'
		;;
	memory)
		emulator --generate accounts=50,regions=4,keys=1000,rotating=0.8 --quotas off
		scan memory-jsonl --org --regions all --output jsonl
		n=$(count memory-jsonl)
		awk -v n="$n" -v s="$secs" -v kb="$kb" 'BEGIN { printf "memory: %d keys, jsonl: %.1f s, peak RSS %.0f MiB (target <= 200)\n", n, s, kb/1024 }'
		scan memory-json --org --regions all --output json
		stop_emulator
		awk -v s="$secs" -v kb="$kb" 'BEGIN { printf "memory: json document: %.1f s, peak RSS %.0f MiB (target <= 300)\n", s, kb/1024 }'
		;;
	*) echo "bench-org: unknown run $r (org, region, memory)"; exit 2 ;;
	esac
done
