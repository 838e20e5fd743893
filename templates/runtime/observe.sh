# An `ip ... show` whose listing is whole. A dump that runs while the kernel adds or removes
# devices (another lab's, say) can be cut short or warn about a vanished peer namespace; such
# a listing would mislead the decisions, so it is taken again.
dump() {
	tries=0
	while :; do
		if "$@" >"$T/dump.out" 2>"$T/dump.err" && [ ! -s "$T/dump.err" ]; then
			cat "$T/dump.out"
			return 0
		fi
		tries=$((tries + 1))
		if [ "$tries" -ge 5 ]; then
			cat "$T/dump.err" >&2
			cat "$T/dump.out"
			return 0
		fi
		sleep 0.05 2>/dev/null || sleep 1
	done
}

# Everything up, down and status need to know about the host, in one file of sections.
observe_host() {
	{
		echo '== perm'
		stat -c '%u %a %n' "$STATE_ROOT" "$STATE" "$STATE"/* 2>/dev/null || :
		files=$(recorded_netns_files)
		echo '== ino'
		# shellcheck disable=SC2086 # see netns_files
		stat -c "$NETNS_ID" $files 2>/dev/null || :
		echo '== fs'
		# A killed `ip netns add` can leave a plain file here instead of an nsfs mount.
		# shellcheck disable=SC2086
		stat -f -c '%n %T' $files 2>/dev/null || :
		echo '== json -'
		dump ip -j link show
		if [ "$HOST_L3" = 1 ]; then
			dump ip -j address show
			dump ip -j route show
			dump ip -6 -j route show
		fi
		# What the link_netnsid of a veth end in the host names: the namespace of its peer. Not
		# `ip netns list-id`: a dump of the ids, cut short past a page of them.
		if [ "$ACTION" = up ]; then
			echo '== nsid'
			ip -j netns list 2>/dev/null || :
		fi
		hooks observe
	} >"$T/obs"
}

# TAP owners and the qdiscs of shaped devices, read only where the lab has them (or had
# them, by its record): a lab that never had either reads nothing more.
observe_links() {
	: >"$T/tcplaces"
	if [ -s "$STATE/record" ] && [ -z "${TC_NAMESPACES:-}" ]; then
		awk '$1 == "qdisc" && !seen[$2]++ { print $2 }' "$STATE/record" >"$T/tcplaces"
	fi
	[ -n "${TC_NAMESPACES:-}${TAP_NAMESPACES:-}" ] || [ -s "$T/tcplaces" ] || return 0
	{
		hooks observe_links
		if [ -n "${TC_NAMESPACES:-}" ]; then
			{
				for ns in $TC_NAMESPACES; do echo "$ns"; done
				[ ! -s "$STATE/record" ] || awk '$1 == "qdisc" { print $2 }' "$STATE/record"
			} | awk '!seen[$0]++' >"$T/tcplaces"
		fi
		while read -r ns; do
			echo "== tc $ns"
			in_lab_netns "$ns" tc -j qdisc show </dev/null
		done <"$T/tcplaces"
	} >>"$T/obs"
}
in_lab_netns() {
	if [ "$1" = - ]; then
		shift
		"$@" 2>/dev/null || :
	elif [ -e "/run/netns/$1" ]; then
		ns_run "$@" 2>/dev/null || :
	fi
}

# Commands inside a namespace. `ip -n` and `ip netns exec` also make a private copy of the
# mount table, which holds one mount per namespace on the host: that makes each call O(N)
# and a whole lab O(N^2). nsenter --net only switches the network namespace (measured 3.5x
# faster per call with 1000 namespaces); ip is the fallback where nsenter is missing.
if command -v nsenter >/dev/null 2>&1; then
	ns_run() {
		_ns=$1
		shift
		nsenter --net="/run/netns/$_ns" "$@"
	}
	ns_ip() {
		_ns=$1
		shift
		nsenter --net="/run/netns/$_ns" ip "$@"
	}
else
	ns_run() {
		_ns=$1
		shift
		ip netns exec "$_ns" "$@"
	}
	ns_ip() {
		_ns=$1
		shift
		ip -n "$_ns" "$@"
	}
fi

# Run one prepared batch file in the host or in namespace NS, or print it under --dry-run
# as the equivalent one-line commands.
run_batch() {
	[ -s "$1" ] || return 0
	if [ "$DRY_RUN" = 1 ]; then
		sed "s|^|ip ${2:+-n $2 }|" "$1"
	elif [ -n "${2:-}" ]; then
		ns_ip "$2" -batch "$1"
	else
		ip -batch "$1"
	fi
}

# The host's addresses and routes, for a lab that otherwise needs only its devices: the
# record names a host address or route to remove.
host_reads() {
	echo "== json - all"
	dump ip -j address show
	dump ip -j route show
	dump ip -6 -j route show
}

# MODE listed: the namespaces in $T/reads, as decide up listed them ("NS all": in full, for
# the record's objects to remove; "- all": the host's addresses and routes).
do_reads() {
	mode=$1
	[ "$mode" = listed ] || decide "$mode" >"$T/reads"
	if [ "$mode" = statusreads ]; then
		status_reads
		[ -z "${HOOKS_read_namespace-}" ] ||
			while read -r ns _; do [ "$ns" = - ] || hooks read_namespace "$ns"; done <"$T/reads" >>"$T/obs"
		return
	fi
	: >"$T/reads.some"
	while read -r ns what; do
		if [ "$ns" = - ]; then
			host_reads
		elif [ "$what" = all ]; then
			echo "== json $ns all"
			ns_ip "$ns" -j -batch - <<EOF
link show
address show
route show
EOF
			ns_ip "$ns" -6 -j route show
			echo "== fwd $ns"
			ns_run "$ns" cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/all/forwarding
			hooks read_namespace "$ns"
		else
			echo "$ns $what" >>"$T/reads.some"
		fi
	done <"$T/reads" >>"$T/obs"
	spread "$T/reads.some" read_some >>"$T/obs"
}

# The devices of namespace $1, with its routes (both families, main table) when $2 is "routes".
read_some() {
	echo "== json $1"
	if [ "$2" = routes ]; then
		printf 'link show\nroute show table all\n' | ns_ip "$1" -j -batch -
	else
		ns_ip "$1" -j link show
	fi
}

# Run `$2 NS WHAT` for each line "NS WHAT" of file $1, the lines spread over one worker per CPU
# as up's batches are: each call spends most of its time entering the namespace. The output
# comes worker by worker, each namespace under its own section heading.
spread() {
	[ -s "$1" ] || return 0
	workers=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
	rm -f "$T"/spread.*
	awk -v n="$workers" -v f="$T/spread." '{ print > (f (NR % n) ".in") }' "$1"
	pids=
	for list in "$T"/spread.*.in; do
		(while read -r _ns _what; do "$2" "$_ns" "$_what"; done <"$list" >"${list%.in}.out") &
		pids="$pids $!"
	done
	for pid in $pids; do
		wait "$pid" || :
	done
	cat "$T"/spread.*.out
}

# status: everything it compares in a namespace (devices, addresses, routes of both families,
# forwarding) from one `ip -batch` inside it. `route show table all` is the one listing of both
# families in a batch; the netconf line becomes the "fwd" section (IPv4 then IPv6 forwarding of
# "all").
status_reads() {
	[ -s "$T/reads" ] || return 0
	! grep -q '^- ' "$T/reads" || host_reads >>"$T/obs"
	grep -v '^- ' "$T/reads" >"$T/sread.list" || return 0
	printf 'link show\naddress show\nroute show table all\nnetconf show\n' >"$T/sread.batch"
	spread "$T/sread.list" status_read | awk '
		/^== json / { ns = $3; print; next }
		/^[[][{]"family":/ {
			print "== fwd " ns
			v4 = 0; v6 = 0
			if ($0 ~ /"family":"inet","interface":"all","forwarding":true/) v4 = 1
			if ($0 ~ /"family":"inet6","interface":"all","forwarding":true/) v6 = 1
			print v4; print v6
			next
		}
		{ print }' >>"$T/obs"
}
status_read() {
	echo "== json $1 all"
	ns_ip "$1" -j -batch "$T/sread.batch"
}

# Run a command in namespace $1 ("-" is the host).
in_netns() {
	if [ "$1" = - ]; then
		shift
		"$@"
	else
		ns_run "$@"
	fi
}

