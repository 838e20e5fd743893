# A namespace that is deleted while processes run in it lives on without a name, and so do
# its veth ends: stop them first. They are found by their network namespace's inode (the one
# its /run/netns file shows), and found again until none is left, since a supervisor restarts
# what is stopped and a shell forks more: TERM for 2 s, then KILL, for 10 s at most. What is
# still running then is named, and nothing is removed: the namespaces and the record stay.
stop_processes() {
	[ -s "$T/stop" ] || return 0
	: >"$T/seen"
	signal=TERM round=0
	while :; do
		stat -L -c '%i %n' /proc/[0-9]*/ns/net 2>/dev/null |
			awk -v f="$T/stop" -v seen="$T/seen" -v lab="$LAB" -v dry="$DRY_RUN" -v out="$T/pids" \
				-v self="$$" -v first="$((round == 0))" "$STOP_AWK"
		[ "$DRY_RUN" = 0 ] && [ -s "$T/pids" ] || return 0
		[ "$round" -lt 200 ] ||
			die "$(wc -l <"$T/pids") processes still running after 10 s in namespaces to delete (pids $(cut -d' ' -f1 "$T/pids" | head -n 20 | tr '\n' ' ')): the namespaces and the record are kept"
		[ "$round" -lt 40 ] || signal=KILL
		# shellcheck disable=SC2046 # pids: digits
		kill -"$signal" $(cut -d' ' -f1 "$T/pids") 2>/dev/null || :
		round=$((round + 1))
		sleep 0.05 2>/dev/null || sleep 1
	done
}
