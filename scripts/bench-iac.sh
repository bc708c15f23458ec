#!/usr/bin/env bash
# bench-iac.sh: how long the whole `kmsrotor iac DIR --output json` process
# takes on three generated corpora of N KMS keys, half of them rotating
# (issue 4, Performance; the target is at most 0.5 s each on 2 cores):
#
#   tf-dirs   N directories of one main.tf each
#   tf-files  N .tf files in one directory
#   cfn       N CloudFormation templates (half YAML, half JSON)
#
#   scripts/bench-iac.sh [--keys 2000] [--runs 7] [--compare]
#
# --compare also times tfsec 1.26.0 on the Terraform corpora (it does not
# check CloudFormation KMS keys), installing it with
#   go install github.com/aquasecurity/tfsec/cmd/tfsec@v1.26.0
# when it is not in GOPATH/bin. Not for CI.
set -euo pipefail

KEYS=2000
RUNS=7
COMPARE=0
while [ $# -gt 0 ]; do
	case "$1" in
	--keys) KEYS=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	--compare) COMPARE=1; shift ;;
	-h|--help) sed -n '2,16p' "$0"; exit 0 ;;
	*) echo "bench-iac: unknown argument $1" >&2; exit 2 ;;
	esac
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

cd "$ROOT"
echo "building kmsrotor and generating $KEYS keys per corpus..."
GOPROXY=off go build -o "$WORK/kmsrotor" ./cmd/kmsrotor
GOPROXY=off go run ./bench/gen-iac -out "$WORK/corpus" -n "$KEYS"

TFSEC=""
if [ "$COMPARE" = 1 ]; then
	TFSEC=$(go env GOPATH)/bin/tfsec
	if [ ! -x "$TFSEC" ]; then
		echo "installing tfsec 1.26.0..."
		go install github.com/aquasecurity/tfsec/cmd/tfsec@v1.26.0
	fi
fi

ms() { echo $(( $(date +%s%N) / 1000000 )); }

# run LABEL OKCODES CMD...: runs CMD once from the corpus directory, appends
# its wall time in ms to $WORK/LABEL.times. OKCODES lists the exit codes that
# are results, not errors (kmsrotor exits 3 when keys fail the check).
run() {
	local label=$1 ok=$2; shift 2
	local t0 t1 rc=0
	t0=$(ms)
	(cd "$WORK/corpus" && "$@") >"$WORK/$label.out" 2>"$WORK/$label.err" || rc=$?
	t1=$(ms)
	case " $ok " in *" $rc "*) ;; *)
		echo "bench-iac: $label exited $rc:" >&2
		head -20 "$WORK/$label.err" >&2
		exit 1 ;;
	esac
	echo $((t1 - t0)) >>"$WORK/$label.times"
}

median() { sort -n "$1" | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

CORPORA=(tf-dirs tf-files cfn)
echo "warming up..."
for c in "${CORPORA[@]}"; do run "warm-$c" "3" "$WORK/kmsrotor" iac "$c" --output json; done
rm -f "$WORK"/*.times

echo "running $RUNS rounds..."
for _ in $(seq 1 "$RUNS"); do
	for c in "${CORPORA[@]}"; do
		run "kmsrotor-$c" "3" "$WORK/kmsrotor" iac "$c" --output json
		if [ -n "$TFSEC" ] && [ "$c" != cfn ]; then
			run "tfsec-$c" "0 1" "$TFSEC" "$c" --format json --no-colour
		fi
	done
done

# Each corpus must give exactly N findings, half FAIL and half PASS.
for c in "${CORPORA[@]}"; do
	pass=$(grep -c '"status": "PASS"' "$WORK/kmsrotor-$c.out" || true)
	fail=$(grep -c '"status": "FAIL"' "$WORK/kmsrotor-$c.out" || true)
	other=$(grep -c '"status": "\(ERROR\|MANUAL\|SKIPPED\)"' "$WORK/kmsrotor-$c.out" || true)
	if [ "$pass" != $((KEYS - KEYS / 2)) ] || [ "$fail" != $((KEYS / 2)) ] || [ "$other" != 0 ]; then
		echo "bench-iac: $c: found $pass PASS, $fail FAIL, $other other; want $((KEYS - KEYS / 2)) PASS and $((KEYS / 2)) FAIL" >&2
		exit 1
	fi
done

echo
echo "$KEYS aws_kms_key / AWS::KMS::Key per corpus (half rotating), median of $RUNS runs, $(nproc) cores"
printf '%-10s %-36s %10s %8s\n' corpus tool "median ms" "<= 500"
for c in "${CORPORA[@]}"; do
	m=$(median "$WORK/kmsrotor-$c.times")
	verdict=yes
	[ "$m" -le 500 ] 2>/dev/null || verdict=NO
	printf '%-10s %-36s %10s %8s\n' "$c" "kmsrotor iac --output json" "$m" "$verdict"
	if [ -n "$TFSEC" ] && [ "$c" != cfn ]; then
		t=$(median "$WORK/tfsec-$c.times")
		printf '%-10s %-36s %10s %8s\n' "$c" "tfsec 1.26.0 --format json" "$t" ""
		awk -v t="$t" -v k="$m" 'BEGIN { printf "%-10s %-36s %10.1fx\n", "", "tfsec / kmsrotor", t / k }'
	fi
done
