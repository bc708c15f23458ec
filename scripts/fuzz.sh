#!/usr/bin/env bash
# Runs every fuzz target for a fixed short time (FUZZTIME, default 10s):
# the readers of Terraform, plan JSON and CloudFormation, the fixers, the
# emulator's request decoders (JSON and Query protocols, SigV4 headers) and
# estate loader, and the terminal escaping. A finding fails the script and
# leaves the input in the package's testdata/fuzz/<target>/, to be fixed and
# kept as a regression test.
#
#   scripts/fuzz.sh                 # 10 s each
#   FUZZTIME=60s scripts/fuzz.sh    # longer, by hand
#   scripts/fuzz.sh FuzzParse       # only the targets named
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime="${FUZZTIME:-10s}"
targets=(
  "FuzzInert ./internal/term"
  "FuzzLoad ./internal/iac/terraform"
  "FuzzLoadPlan ./internal/iac/terraform"
  "FuzzApplyFixes ./internal/iac/terraform"
  "FuzzParse ./internal/iac/cloudformation"
  "FuzzApplyFixes ./internal/iac/cloudformation"
  "FuzzJSON ./internal/iac/cloudformation"
  "FuzzKMSRequest ./internal/kmsemu"
  "FuzzFrameRequest ./internal/kmsemu"
  "FuzzQueryRequest ./internal/kmsemu"
  "FuzzSigV4Header ./internal/kmsemu"
  "FuzzLoadEstate ./internal/kmsemu"
)

for t in "${targets[@]}"; do
  read -r name pkg <<<"$t"
  if [ "$#" -gt 0 ] && [[ " $* " != *" $name "* ]]; then
    continue
  fi
  echo "== $name ($pkg, $fuzztime)"
  # A short minimization keeps each run near its fixed time.
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -fuzzminimizetime 5s "$pkg"
done
echo "fuzz: no findings"
