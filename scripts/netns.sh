# netns.sh, sourced by the benchmark scripts that start local-kms: it listens
# on every interface, so the calling script re-runs itself inside a
# loopback-only network namespace (needs root and iproute2), deleted at the
# end.
#
#   in_loopback_netns NAME LABEL ARGS...
#
# Outside the namespace it runs "$0 --inner ARGS..." in namespace NAME and
# exits with its status; the caller then continues only when --inner is set.
in_loopback_netns() {
	local ns=$1 label=$2
	shift 2
	if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
		echo "$label: needs root and iproute2 (ip netns) to isolate local-kms on loopback" >&2
		exit 2
	fi
	ip netns delete "$ns" 2>/dev/null || true
	ip netns add "$ns"
	trap 'ip netns delete "'"$ns"'" 2>/dev/null || true' EXIT
	ip netns exec "$ns" ip link set lo up
	ip netns exec "$ns" bash "$0" --inner "$@"
	exit
}
