# Names (names = true): writing the hosts files, and their status (names-prune.sh holds the
# rest).

# Before anything changes: a hosts file the lab did not write is refused like a foreign device.
check_hosts() {
	hosts_mark >"$T/hosts.mark"
	hosts_file >"$T/hosts"
	for ns in $NAMESPACES; do
		[ "$(hosts_state "/etc/netns/$ns/hosts")" != foreign ] && continue
		printf '%s: refusing: /etc/netns/%s/hosts exists and was not written by lab %s\n' "$LAB" "$ns" "$LAB" >&2
		exit 1
	done
}

write_hosts() {
	for ns in $NAMESPACES; do
		d=/etc/netns/$ns
		state=$(hosts_state "$d/hosts")
		if [ "$DRY_RUN" = 1 ]; then
			[ "$state" = ok ] || echo "write $d/hosts"
			continue
		fi
		if [ -e "$STATE/hosts" ]; then cat "$STATE/hosts"; fi >"$T/hosts.rec"
		[ -d /etc/netns ] || grep -q "^/etc/netns " "$T/hosts.rec" || echo "/etc/netns created" >>"$T/hosts.rec"
		if ! grep -q "^$d " "$T/hosts.rec"; then
			# Recorded first, so a run killed here still knows the directory is nsgen's.
			if [ -d "$d" ]; then echo "$d existed"; else echo "$d created"; fi >>"$T/hosts.rec"
			put_record "$T/hosts.rec" "$STATE/hosts"
			mkdir -p "$d"
		fi
		[ "$state" = ok ] || { cp "$T/hosts" "$d/hosts.nsgen" && mv "$d/hosts.nsgen" "$d/hosts"; }
	done
}

# The status section: each declared namespace's file.
observe_hosts() {
	hosts_mark >"$T/hosts.mark"
	hosts_file >"$T/hosts"
	echo "== hosts"
	for ns in $NAMESPACES; do
		echo "/etc/netns/$ns/hosts $(hosts_state "/etc/netns/$ns/hosts")"
	done
}

hook check check_hosts
hook configured write_hosts
hook observe_status observe_hosts
