# Sysctls inside the lab's namespaces ([namespaces.NS] sysctls). Plan rows
# "sysctl NS KEY VALUE PROBE": VALUE with its words joined by commas, PROBE the /proc/sys path
# that shows the kernel has KEY (for a per-device key, its `default` counterpart: the device
# may not exist yet).

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

# $STATE/sysctl: "NS KEY VALUE" for each declared key, the value it had before the lab first
# wrote it, read once (after the namespaces and devices exist, before their batches run);
# pruning a key no longer declared puts that value back. Keys no longer declared are dropped.
save_sysctls() {
	[ "$DRY_RUN" = 0 ] || return 0
	awk -v f="$STATE/sysctl" -v new="$T/sysctl.new" '
		BEGIN { while ((getline l < f) > 0) { split(l, a, " "); old[a[1] " " a[2]] = l } }
		$1 != "sysctl" { next }
		($2 " " $3) in old { print old[$2 " " $3] > new; next }
		{ print $2, $3 }' "$T/plan" >"$T/sysctl.read"
	[ -s "$T/sysctl.read" ] || [ -e "$STATE/sysctl" ] || return 0
	cut -d' ' -f1 "$T/sysctl.read" | sort -u >"$T/sysctl.ns"
	while read -r ns; do
		awk -v ns="$ns" '$1 == ns { print $2 }' "$T/sysctl.read" >"$T/sysctl.keys"
		# shellcheck disable=SC2016 # a program for the namespace's own sh
		ns_run "$ns" sh -c 'while read -r k; do
			v=$(tr "\t " ",," <"/proc/sys/$(echo "$k" | tr ./ /.)" 2>/dev/null) && echo "$0 $k $v"
		done' "$ns" <"$T/sysctl.keys" >>"$T/sysctl.new"
	done <"$T/sysctl.ns"
	if [ -s "$T/sysctl.new" ]; then put_record "$T/sysctl.new" "$STATE/sysctl"; else rm -f "$STATE/sysctl"; fi
}

hook check check_sysctls
hook read_namespace read_sysctls
hook configuring save_sysctls
