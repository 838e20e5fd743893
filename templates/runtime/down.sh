# Wait until every device in FILE has left the host namespace.
wait_gone() {
	tries=0
	while :; do
		# While the kernel removes devices a link dump can be cut short ("Dump was
		# interrupted"): such a listing proves nothing, so it only counts as a retry.
		left=$(ip -br link show 2>"$T/dump.err" | awk -v f="$1" '
			BEGIN { while ((getline d < f) > 0) want[d] = 1 }
			{ n = $1; sub(/@.*/, "", n); if (n in want) c++ }
			END { print c + 0 }')
		[ "$left" = 0 ] && [ ! -s "$T/dump.err" ] && return 0
		tries=$((tries + 1))
		[ "$tries" -lt "$2" ] || return 1
		sleep 0.05 2>/dev/null || sleep 1
	done
}

down() {
	load_removers
	observe_host
	decide down
	read -r nsdel devdel <"$T/counts"
	say "[1/1] removing $nsdel namespaces and $devdel devices"
	hooks down
	stop_processes
	if [ -s "$T/macvlans" ]; then
		while read -r ns dev; do
			if [ "$DRY_RUN" = 1 ]; then echo "ip -n $ns link del dev $dev"; else ns_ip "$ns" link del dev "$dev" 2>/dev/null || :; fi
		done <"$T/macvlans"
	fi
	run_batch "$T/batch.-"
	if [ -s "$T/loose" ]; then
		while read -r d; do
			if [ "$DRY_RUN" = 1 ]; then
				echo "ip link del dev $d"
			else
				ip link del dev "$d" 2>/dev/null || :
			fi
		done <"$T/loose"
	fi
	hooks removed
	[ "$DRY_RUN" = 0 ] || return 0
	rm -rf "$STATE"
	[ ! -s "$T/keep" ] || put_record "$T/keep" "$STATE/intent"
	if [ -s "$T/gone" ] && ! wait_gone "$T/gone" 400; then
		# The kernel normally removes a deleted namespace's veth peers within a second.
		while read -r d; do ip link del dev "$d" 2>/dev/null || :; done <"$T/gone"
		wait_gone "$T/gone" 100 || die "devices still present after down: $(tr '\n' ' ' <"$T/gone")"
	fi
	say "down"
}

