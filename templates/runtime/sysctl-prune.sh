# Sysctls inside the lab's namespaces ([namespaces.NS] sysctls). Plan rows
# "sysctl NS KEY VALUE PROBE": VALUE with its words joined by commas, PROBE the /proc/sys path
# that shows the kernel has KEY (for a per-device key, its `default` counterpart: the device
# may not exist yet).

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
