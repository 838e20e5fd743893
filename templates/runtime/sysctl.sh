# Sysctls ([namespaces.NS] sysctls): checking the keys and reading their values (see
# sysctl-prune.sh).

# Before anything changes: every key must exist in a network namespace. A new one, made by
# unshare and gone with it, has exactly the per-namespace keys; without unshare the host's
# own namespace is the nearest proxy.
check_sysctls() {
	awk '$1 == "sysctl" { print $5, $3 }' "$T/plan" | sort -u >"$T/sysctl.probe"
	# shellcheck disable=SC2016 # a program for the sh that unshare runs
	probe='while read -r p k; do [ -e "/proc/sys/$p" ] || echo "$k"; done'
	if command -v unshare >/dev/null 2>&1 && unshare --net true 2>/dev/null; then
		unshare --net sh -c "$probe" <"$T/sysctl.probe" >"$T/sysctl.missing"
	else
		sh -c "$probe" <"$T/sysctl.probe" >"$T/sysctl.missing"
	fi
	[ -s "$T/sysctl.missing" ] || return 0
	die "the kernel has no sysctl $(tr '\n' ' ' <"$T/sysctl.missing")inside a network namespace (a host-wide key, or one this kernel lacks): nothing was changed"
}

# "KEY VALUE" for each of namespace $1's declared keys, its section of the observations.
read_sysctls() {
	awk -v ns="$1" '$1 == "sysctl" && $2 == ns { print $3 }' "$T/plan" >"$T/sysctl.keys"
	[ -s "$T/sysctl.keys" ] || return 0
	echo "== sysctl $1"
	# shellcheck disable=SC2016 # a program for the namespace's own sh
	ns_run "$1" sh -c 'while read -r k; do
		v=$(tr "\t" " " <"/proc/sys/$(echo "$k" | tr ./ /.)" 2>/dev/null) && echo "$k $v"
	done' <"$T/sysctl.keys"
}

hook check check_sysctls
hook read_namespace read_sysctls
