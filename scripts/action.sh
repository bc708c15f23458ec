#!/usr/bin/env bash
# action.sh: the logic of the kmsrotor GitHub Action (action.yml), kept here
# so that it is tested directly (internal/cli TestAction*).
#
# It installs a pinned kmsrotor release with go install, runs
#   kmsrotor iac PATHS --output sarif --output-file SARIF ARGS
# and writes the step outputs sarif-file, exit-code and fail to
# $GITHUB_OUTPUT. It exits non-zero only when kmsrotor could not run (a
# bad input, an install failure, a usage or fatal error): a FAIL or an
# incomplete scan still leaves a SARIF file to upload, and the action's
# last step fails the job when fail is true.
#
# Inputs, from the environment:
#   KMSROTOR_VERSION  release tag to install, vMAJOR.MINOR.PATCH (required)
#   KMSROTOR_PATHS    paths to check, separated by spaces (default .)
#   KMSROTOR_ARGS     extra arguments to kmsrotor iac (default none)
#   KMSROTOR_SARIF    the SARIF file to write (default kmsrotor.sarif)
#   KMSROTOR_FAIL_ON  fail (a FAIL finding, the default), incomplete (a
#                     FAIL or an incomplete scan), or never
set -euo pipefail

die() {
	echo "kmsrotor action: $*" >&2
	exit 2
}

version=${KMSROTOR_VERSION:-}
paths=${KMSROTOR_PATHS:-.}
sarif=${KMSROTOR_SARIF:-kmsrotor.sarif}
fail_on=${KMSROTOR_FAIL_ON:-fail}
out=${GITHUB_OUTPUT:-/dev/null}

# A pinned release: a branch or "latest" would change under the workflow.
if ! [[ $version =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
	die "version \"$version\" is not a release tag such as v1.2.3; pin the release to install"
fi
case $fail_on in
fail | incomplete | never) ;;
*) die "fail-on \"$fail_on\" is not one of fail, incomplete, never" ;;
esac

gobin=$(go env GOBIN)
if [ -z "$gobin" ]; then
	gobin="$(go env GOPATH)/bin"
fi
echo "installing github.com/kmsrotor/kmsrotor/cmd/kmsrotor@$version"
if ! go install "github.com/kmsrotor/kmsrotor/cmd/kmsrotor@$version"; then
	die "go install github.com/kmsrotor/kmsrotor/cmd/kmsrotor@$version failed; check that the release exists"
fi
bin="$gobin/kmsrotor"

mkdir -p "$(dirname "$sarif")"
read -r -a path_args <<<"$paths"
read -r -a extra_args <<<"${KMSROTOR_ARGS:-}"
code=0
"$bin" iac "${path_args[@]}" --output sarif --output-file "$sarif" "${extra_args[@]}" || code=$?

# 0: nothing failing; 3: a FAIL; 4: incomplete, no FAIL (README, Exit codes).
case $code in
0 | 3 | 4) ;;
*)
	echo "exit-code=$code" >>"$out"
	die "kmsrotor iac exited with $code (a usage or fatal error); no SARIF to upload"
	;;
esac
fail=false
case $fail_on:$code in
fail:3 | incomplete:3 | incomplete:4) fail=true ;;
esac
{
	echo "sarif-file=$sarif"
	echo "exit-code=$code"
	echo "fail=$fail"
} >>"$out"
echo "kmsrotor iac exited with $code; SARIF in $sarif"
