# A veth end without its peer: left by a run killed halfway, or on its way out (the kernel
# removes the veth ends of a deleted namespace's pairs a moment later, so a crashed down leaves
# some). Remove it and wait until it is gone, so that the pair can be created again.
clear_strays() {
	[ -s "$T/stray" ] || return 0
	while read -r ns dev why; do
		say "repairing: $why; removing it and making the pair again"
		set -- ip
		[ "$ns" = - ] || set -- ns_ip "$ns"
		if [ "$DRY_RUN" = 1 ]; then
			[ "$ns" = - ] && echo "ip link del dev $dev" || echo "ip -n $ns link del dev $dev"
			continue
		fi
		"$@" link del dev "$dev" 2>/dev/null || :
		tries=0
		while "$@" link show dev "$dev" >/dev/null 2>&1; do
			tries=$((tries + 1))
			[ "$tries" -lt 400 ] || die "$dev is still present; cannot re-create its veth pair"
			sleep 0.05 2>/dev/null || sleep 1
		done
	done <"$T/stray"
}

up() {
	load_removers
	hooks check
	observe_host
	[ "$NS_READS" = 0 ] || do_reads reads
	observe_links
	decide up && decided=0 || decided=$?
	if [ "$decided" = 5 ]; then
		# The record names objects to remove in namespaces not read yet.
		do_reads listed
		decide up
	elif [ "$decided" != 0 ]; then
		exit "$decided"
	fi
	read -r nsnew created nns removed nsgone <"$T/counts"
	phase=1 phases=2
	[ "$removed" = 0 ] || phases=3
	# Written before anything is applied: a killed run leaves a record of all it may have done.
	save_record record.pre
	keep_removers
	# Global, as every shell variable: a name no step called in between uses (it was `record`,
	# which the neighbour-table hold also sets, and namespaces went unmade).
	intending=0
	if [ "$DRY_RUN" = 0 ] && { [ -s "$T/intent" ] || [ -e "$STATE/intent" ] || [ "$nsgone" != 0 ]; }; then
		intending=1
		# Written before anything is created: a run killed halfway leaves a record that lets
		# the next run tell its own unmarked objects from foreign ones.
		if [ -e "$STATE/intent" ]; then cat "$STATE/intent" "$T/intent"; else cat "$T/intent"; fi >"$T/intent.all"
		put_record "$T/intent.all" "$STATE/intent"
	fi
	if [ "$removed" != 0 ]; then
		say "[1/3] removing $removed objects the lab no longer declares ($nsgone namespaces)"
		phase=2
		stop_processes
		if [ -s "$T/prunes" ]; then
			while read -r ns; do
				if [ "$DRY_RUN" = 1 ]; then
					run_batch "$T/prune.$ns" "${ns#-}"
				elif [ "$ns" = - ]; then
					ip -force -batch "$T/prune.-" 2>/dev/null || :
				else
					ns_ip "$ns" -force -batch "$T/prune.$ns" 2>/dev/null || :
				fi
			done <"$T/prunes"
		fi
	fi
	if [ -s "$T/promote" ] && [ "$DRY_RUN" = 0 ]; then
		while read -r ns dev; do
			in_netns "$ns" sh -c "echo 1 >/proc/sys/net/ipv4/conf/$dev/promote_secondaries"
		done <"$T/promote"
	fi
	clear_strays
	hooks tables
	hooks neighbours
	if [ "$nsnew" != 0 ] || [ "$created" != 0 ]; then
		say "[$phase/$phases] creating $nsnew namespaces and $created devices"
	fi
	make_namespaces
	run_batch "$T/batch.-"
	if [ "$intending" = 1 ] && [ "$nsgone" != 0 ]; then
		stat_namespaces
		put_record "$T/netns" "$STATE/netns"
	fi
	hooks created
	# Until here a host device's name in the intent explains an unmarked one to the next run.
	[ "$intending" = 0 ] || rm -f "$STATE/intent"
	say "[$phases/$phases] configuring $nns namespaces"
	# Sysctls the lab no longer has were put back by the removals above (prune.awk).
	[ "$SYSCTLS" = 1 ] || [ "$DRY_RUN" = 1 ] || [ ! -e "$STATE/sysctl" ] || rm -f "$STATE/sysctl"
	hooks configuring
	run_namespace_batches
	run_batch "$T/batch.late"
	run_tc_batches
	hooks configured
	save_record record.post
	drop_removers
	[ "$DRY_RUN" = 1 ] || say "up"
}

# The identities of the lab's namespaces, into $T/netns.
stat_namespaces() {
	# shellcheck disable=SC2046
	stat -c "$NETNS_ID" $(netns_files) >"$T/netns" 2>"$T/stat.err" ||
		die "a namespace of the lab is missing after its creation ($(sed -n '1s/.*: //p' "$T/stat.err")): the intent is kept; run up again"
}

# The namespaces, by a batch of their own, recorded with their identities (NETNS_ID) before
# anything else is made: the intent only names them, and a name alone never makes an object
# the lab's (a killed run's leftover and one made by someone else since look the same). The
# batch ignores INT and TERM, so what it made is known exactly: every `netns add` line but
# those ip reports as failed. Only a SIGKILL in it leaves a namespace unrecorded; the next run
# refuses that one in one line with the command that removes it. A record that cannot be
# written takes the namespaces just made with it: unrecorded, they could not be told apart.
make_namespaces() {
	if [ "$DRY_RUN" = 1 ]; then
		run_batch "$T/batch.netns"
		return
	fi
	[ "$intending" = 1 ] || return 0
	failed=0
	: >"$T/netns.err"
	if [ -s "$T/batch.netns" ]; then
		trap '' INT TERM
		ip -force -batch "$T/batch.netns" 2>"$T/netns.err" || failed=$?
		trap 'exit 130' INT
		trap 'exit 143' TERM
	fi
	awk -v f="$T/batch.netns" -v failed="$failed" '
		index($0, "Command failed " f ":") == 1 { n = $0; sub(/.*:/, "", n); bad[n] = 1; known = 1 }
		END {
			# A failure ip did not place (another ip, a signal): nothing is claimed.
			if (failed && !known) exit
			while ((getline l < f) > 0) { i++; if (!(i in bad) && l ~ /^netns add /) print substr(l, 11) }
		}' "$T/netns.err" >"$T/made"
	if [ "$failed" = 0 ]; then
		stat_namespaces
	else
		grep -v '^Command failed ' "$T/netns.err" >&2 || :
		# shellcheck disable=SC2046 # nsgen names: safe to split
		[ ! -s "$T/made" ] || stat -c "$NETNS_ID" $(sed 's|^|/run/netns/|' "$T/made") >"$T/netns"
	fi
	# The namespaces recorded before stay recorded: those the lab no longer declares are
	# deleted by the batch of the host, after this (record_namespaces then drops them).
	{ cat "$STATE/netns" 2>/dev/null || :; cat "$T/netns" 2>/dev/null || :; } |
		awk '{ n = $1; if (!(n in at)) order[++k] = n; at[n] = $0 } END { for (i = 1; i <= k; i++) print at[order[i]] }' >"$T/netns.all"
	if ! write_record "$T/netns.all" "$STATE/netns"; then
		while read -r n; do ip netns del "$n" 2>/dev/null || :; done <"$T/made"
		rm -f "$STATE/intent" 2>/dev/null || :
		die "cannot write $STATE/netns ($why): the namespaces it just made are removed again; make room in $STATE and run $ACTION again"
	fi
	[ "$failed" = 0 ] || die "creating the namespaces failed (the ip errors are above); the ones made are recorded"
}

# One worker per CPU: each namespace batch spends most of its time entering the namespace, so
# batches for different namespaces overlap well. They are independent: every device they
# configure was created by the host batch before. $T/batches holds them as sections: "== NS",
# then the lines of its batch.
run_namespace_batches() {
	[ -s "$T/batches" ] || return 0
	if [ "$DRY_RUN" = 1 ]; then
		awk '/^== / { ns = $2; next } { print "ip -n " ns " " $0 }' "$T/batches"
		return
	fi
	workers=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
	awk -v n="$workers" -v f="$T/worker." '/^== / { w = k++ % n } { print > (f w) }' "$T/batches"
	pids=
	for list in "$T"/worker.*; do
		run_sections <"$list" &
		pids="$pids $!"
	done
	failed=0
	for pid in $pids; do
		wait "$pid" || failed=1
	done
	[ "$failed" = 0 ] || die "configuring the namespaces failed (the ip errors are above)"
}

# The sections on stdin, each run by one `ip -batch` inside its namespace; fails if any failed.
run_sections() {
	ns='' batch='' failed=0
	while IFS= read -r line; do
		case $line in
		"== "*)
			run_section
			ns=${line#== } batch=''
			;;
		*) batch="$batch$line
" ;;
		esac
	done
	run_section
	return "$failed"
}
run_section() {
	[ -n "$ns" ] || return 0
	ns_ip "$ns" -batch - <<EOF || failed=1
$batch
EOF
}

# The shaping, after the devices exist: one `tc -batch` per namespace that needs a change.
run_tc_batches() {
	[ -s "$T/tcbatches" ] || return 0
	while read -r ns; do
		if [ "$DRY_RUN" = 1 ] && [ "$ns" = - ]; then
			sed 's|^|tc |' "$T/tcbatch.$ns"
		elif [ "$DRY_RUN" = 1 ]; then
			sed "s|^|tc -n $ns |" "$T/tcbatch.$ns"
		elif [ "$ns" = - ]; then
			tc -batch "$T/tcbatch.$ns" || die "shaping the host's devices failed (the tc errors are above)"
		else
			ns_run "$ns" tc -batch "$T/tcbatch.$ns" || die "shaping in $ns failed (the tc errors are above)"
		fi
	done <"$T/tcbatches"
}

