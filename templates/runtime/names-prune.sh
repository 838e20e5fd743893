# Names (names = true): /etc/netns/NS/hosts, which `ip netns exec NS` bind-mounts over
# /etc/hosts, in every namespace of the lab. A file is the lab's when its first line is the
# lab's mark; $STATE/hosts lists the directories it wrote a file in, "DIR created" when nsgen
# made the directory (down removes it once empty) and "DIR existed" when it did not.

hosts_mark() { echo "# $MARK hosts: written by nsgen for lab $LAB; up rewrites it, down removes it"; }

# "ok", "missing", "foreign" (not written by this lab) or "drifted" for the file in $1.
hosts_state() {
	if [ ! -e "$1" ]; then
		echo missing
	elif ! head -n 1 "$1" | cmp -s - "$T/hosts.mark"; then
		echo foreign
	elif cmp -s "$T/hosts" "$1"; then
		echo ok
	else
		echo drifted
	fi
}

# Remove the lab's hosts files that are no longer declared (all of them with $1 = all, for
# down), and the directories nsgen made for them once empty; a file someone else wrote stays.
prune_hosts() {
	[ -s "$STATE/hosts" ] || return 0
	hosts_mark >"$T/hosts.mark"
	: >"$T/hosts.keep"
	if [ "$1" != all ] && [ "$NAMES" = 1 ]; then
		{
			echo /etc/netns
			for ns in $NAMESPACES; do echo "/etc/netns/$ns"; done
		} >"$T/hosts.keep"
	fi
	# Newest first, so that /etc/netns itself (when nsgen made it) goes after the directories in it.
	awk 'FILENAME == ARGV[1] { keep[$1] = 1; next } !($1 in keep) { gone[++n] = $0 }
		END { while (n) print gone[n--] }' "$T/hosts.keep" "$STATE/hosts" >"$T/hosts.gone"
	while read -r d how; do
		if [ -e "$d/hosts" ] && [ "$(hosts_state "$d/hosts")" != foreign ]; then
			if [ "$DRY_RUN" = 1 ]; then echo "rm $d/hosts"; else rm -f "$d/hosts"; fi
		fi
		[ "$how" != created ] || [ "$DRY_RUN" = 1 ] || rmdir "$d" 2>/dev/null || :
	done <"$T/hosts.gone"
	[ "$DRY_RUN" = 0 ] || return 0
	awk 'FILENAME == ARGV[1] { keep[$1] = 1; next } $1 in keep' "$T/hosts.keep" "$STATE/hosts" >"$T/hosts.left"
	if [ -s "$T/hosts.left" ]; then put_record "$T/hosts.left" "$STATE/hosts"; else rm -f "$STATE/hosts"; fi
}

prune_declared_hosts() { [ ! -e "$STATE/hosts" ] || prune_hosts declared; }
names_down() { [ ! -e "$STATE/hosts" ] || prune_hosts all; }
names_prune_left() { [ -s "$STATE/hosts" ]; }
hook configured prune_declared_hosts
hook removed names_down
