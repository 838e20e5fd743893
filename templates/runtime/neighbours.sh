# The neighbour tables of a lab that needs many entries: up warns when the host has too little
# room, verify says when a full table may explain its failures (see neighbour-table.sh).

# "FAMILY ENTRIES TABLE-FULLS" for IPv4 and IPv6, host-wide (the statistics files are per table,
# so they read the same in every namespace). The counts are hexadecimal, one line per CPU.
neigh_fulls() {
	for fam in 4 6; do
		file=/proc/net/stat/arp_cache
		[ "$fam" = 4 ] || file=/proc/net/stat/ndisc_cache
		[ -r "$file" ] || continue
		awk -v fam="$fam" '
			function hex(s,    i, n) {
				n = 0; s = tolower(s)
				for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
				return n
			}
			NR == 1 { for (i = 1; i <= NF; i++) if ($i == "table_fulls") col = i; next }
			{ entries = hex($1); if (col) fulls += hex($col) }
			END { print fam, entries + 0, fulls + 0 }' "$file"
	done
}

# The six gc_thresh values, IPv4's three then IPv6's, in $GC; empty outside the host's initial
# namespace, where they are absent. One cat: a sysctl file reads whole or not at all.
gc_load() {
	GC=$(cat /proc/sys/net/ipv4/neigh/default/gc_thresh1 /proc/sys/net/ipv4/neigh/default/gc_thresh2 \
		/proc/sys/net/ipv4/neigh/default/gc_thresh3 /proc/sys/net/ipv6/neigh/default/gc_thresh1 \
		/proc/sys/net/ipv6/neigh/default/gc_thresh2 /proc/sys/net/ipv6/neigh/default/gc_thresh3 \
		2>/dev/null) || GC=
}

# gc_thresh$2 of IPv$1 (as last loaded) in $v; fails where there is none.
gc_read() {
	_fam=$1 _i=$2
	# shellcheck disable=SC2086 # numbers
	set -- $GC
	[ $# = 6 ] || return 1
	[ "$_fam" = 4 ] || shift 3
	shift $((_i - 1))
	v=$1
}

neigh_need() { if [ "$1" = 4 ]; then echo "$NEIGH4"; else echo "$NEIGH6"; fi; }

# The sysctl assignments that give IPv$1 a table of $2 entries (gc_thresh2 and gc_thresh1 in the
# kernel's default proportion, 1/2 and 1/8), only for values that are lower now.
neigh_raises() {
	for i in 1 2 3; do
		case $i in 1) want=$(($2 / 8)) ;; 2) want=$(($2 / 2)) ;; *) want=$2 ;; esac
		gc_read "$1" "$i" || return 0
		[ "$want" -le "$v" ] || printf ' net.ipv%s.neigh.default.gc_thresh%s=%s' "$1" "$i" "$want"
	done
}

# A table size that makes room for $1 entries: a power of two, twice what is needed.
neigh_size() {
	size=1024
	while [ "$size" -lt $(($1 * 2)) ]; do size=$((size * 2)); done
	echo "$size"
}

hook neighbours neigh_warn

# up: when the lab needs more entries than the host's gc_thresh3, say so in one line with the
# commands that make room. nsgen changes them only with [host] neighbour_table.
neigh_warn() {
	gc_load
	need='' have='' raises='' biggest=0
	for fam in 4 6; do
		n=$(neigh_need "$fam")
		[ "$n" -gt 0 ] && gc_read "$fam" 3 && [ "$n" -gt "$v" ] || continue
		need="$need${need:+ and }$n IPv$fam"
		have="$have${have:+, }net.ipv$fam.neigh.default.gc_thresh3 = $v"
		[ "$n" -le "$biggest" ] || biggest=$n
	done
	[ -n "$need" ] || return 0
	size=$(neigh_size "$biggest")
	for fam in 4 6; do
		n=$(neigh_need "$fam")
		[ "$n" -eq 0 ] || raises="$raises$(neigh_raises "$fam" "$size")"
	done
	printf '%s: warning: the lab needs about %s neighbour entries, more than the host has room for (%s; one table serves every namespace), so its traffic may stall and pings fail; make room with: sysctl -w%s (or set [host] neighbour_table = %s)\n' \
		"$LAB" "$need" "$have" "$raises" "$size" >&2
}

# verify, before the pings: each table's count of times it was full.
neigh_fulls_before() { neigh_fulls >"$T/fulls.before"; }
hook verify neigh_fulls_before

# The lab's own share of the table of IPv$1: the entries its namespaces hold now.
neigh_lab_entries() {
	_n=0
	for ns in $NAMESPACES; do
		[ -e "/run/netns/$ns" ] || continue
		_n=$((_n + $(ns_ip "$ns" "-$1" neigh show 2>/dev/null | wc -l)))
	done
	echo "$_n"
}

# verify, after failures: if a neighbour table filled up while the pings ran (its table_fulls
# count grew) or is nearly full now, and the lab shows it was hit (a ping that could not even
# be sent, as when no neighbour entry can be made) or drove it (its namespaces hold half the
# entries), that is the likely cause; name it and the sysctl. The counts are host-wide: other
# labs move them too, and alone they blame the table for failures of the lab's own routing.
diagnose_neighbours() {
	gc_load
	unsent=0
	! grep -Eq '^[0-9]+ FAIL .*: (sendmsg: )?(Invalid argument|No buffer space available)$' "$T/vr.all" || unsent=1
	neigh_fulls | while read -r fam entries fulls; do
		before=$(awk -v fam="$fam" '$1 == fam { print $3 }' "$T/fulls.before")
		gc3=
		gc_read "$fam" 3 && gc3=$v
		grew=0
		[ "$fulls" -le "${before:-$fulls}" ] || grew=1
		near=0
		[ -z "$gc3" ] || [ $((entries * 10)) -lt $((gc3 * 9)) ] || near=1
		[ "$grew" = 1 ] || [ "$near" = 1 ] || continue
		[ "$unsent" = 1 ] || [ $(($(neigh_lab_entries "$fam") * 2)) -ge "$entries" ] || continue
		if [ -z "$gc3" ]; then
			say "the host's IPv$fam neighbour table was full while verify ran ($entries entries; one table serves every namespace): the failures above may be that; raise net.ipv$fam.neigh.default.gc_thresh3 in the host's initial network namespace"
			continue
		fi
		n=$(neigh_need "$fam")
		[ "$n" -ge "$entries" ] || n=$entries
		[ "$n" -ge "$gc3" ] || n=$gc3
		size=$(neigh_size "$n")
		say "the host's IPv$fam neighbour table was full while verify ran ($entries entries, net.ipv$fam.neigh.default.gc_thresh3 = $gc3; one table serves every namespace): the failures above may be that, not the lab; make room with: sysctl -w$(neigh_raises "$fam" "$size") (or set [host] neighbour_table = $size)"
	done
}
hook diagnose diagnose_neighbours
