# The neighbour (ARP and NDP) tables. The kernel keeps one per family for every network
# namespace together, sized by gc_thresh1/2/3, which exist only in the host's initial
# namespace; an entry younger than 5 s cannot be collected. A lab that needs more entries than
# gc_thresh3 stalls, and its pings fail, though nothing in it is wrong.

NEIGH_RECORD=/run/nsgen/.host/neigh

# [host] neighbour_table: raise the host's gc_thresh values to hold $1 entries (0: this lab no
# longer asks), never lowering them, and put back what was found when the last lab that raised
# them lets go. The record, one line each ("original KEY FOUND SET": the value found before the
# first raise and the value nsgen last wrote; "lab NAME SIZE": a lab that holds a raise), is
# shared by every lab on the host, so it is changed under a lock.
neigh_hold() {
	for fam in 4 6; do
		for i in 1 2 3; do
			v=$(cat "/proc/sys/net/ipv$fam/neigh/default/gc_thresh$i" 2>/dev/null) &&
				echo "net.ipv$fam.neigh.default.gc_thresh$i $v"
		done
	done >"$T/gc.now"
	grep -q '^net.ipv4.neigh.default.gc_thresh3 ' "$T/gc.now" || {
		[ "$1" = 0 ] || printf '%s: warning: cannot raise the neighbour table: gc_thresh3 exists only in the host'\''s initial network namespace\n' "$LAB" >&2
		return 0
	}
	if [ "$DRY_RUN" = 0 ]; then
		host_lock "$NEIGH_RECORD"
		[ -e "$NEIGH_RECORD" ] || put_record /dev/null "$NEIGH_RECORD"
		record=$NEIGH_RECORD
	else
		record=$NEIGH_RECORD
		[ -e "$record" ] || record=/dev/null
	fi
	awk -v lab="$LAB" -v size="$1" -v now="$T/gc.now" -v out="$T/neigh.new" '
		BEGIN { while ((getline l < now) > 0) { split(l, a, " "); cur[a[1]] = a[2]; keys[++nk] = a[1] } }
		$1 == "original" { found[$2] = $3; set[$2] = $4 }
		$1 == "lab" && $2 != lab { hold[$2] = $3; nh++ }
		END {
			if (size > 0) { hold[lab] = size; nh++ }
			for (l in hold) if (hold[l] + 0 > target) target = hold[l] + 0
			print "# nsgen: host-wide neighbour table sizes raised by [host] neighbour_table (docs/performance.md: Large labs)" > out
			for (k = 1; k <= nk; k++) {
				key = keys[k]; v = cur[key] + 0
				if (nh == 0) {
					if (!(key in found)) continue
					if (v == set[key] + 0) { if (v != found[key] + 0) print "write", key, found[key] }
					else print "changed", key, v
					continue
				}
				want = (key ~ /1$/) ? int(target / 8) : (key ~ /2$/) ? int(target / 2) : target
				if (!(key in found)) found[key] = v
				if (want > v) { print "write", key, want; v = want }
				print "original", key, found[key], v > out
			}
			for (l in hold) print "lab", l, hold[l] > out
			if (nh == 0) print "empty"
		}' "$record" >"$T/neigh.do"
	# A raise is recorded before it is made and a record removed after the values are back,
	# so a run killed in between leaves a record that the next down can still act on.
	empty=0
	grep -qx empty "$T/neigh.do" && empty=1
	[ "$DRY_RUN" = 1 ] || [ "$empty" = 1 ] || put_record "$T/neigh.new" "$NEIGH_RECORD"
	while read -r what key value; do
		case $what in
		write)
			if [ "$DRY_RUN" = 1 ]; then
				echo "sysctl -w $key=$value"
			else
				echo "$value" >"/proc/sys/$(echo "$key" | tr . /)"
			fi
			;;
		changed) printf '%s: leaving %s at %s: it was changed after nsgen raised it\n' "$LAB" "$key" "$value" >&2 ;;
		esac
	done <"$T/neigh.do"
	[ "$DRY_RUN" = 0 ] || return 0
	[ "$empty" = 0 ] || rm -f "$NEIGH_RECORD"
	release_lock "$NEIGH_RECORD.lock"
}

# The neighbour-table step of up and down: hold or let go of this lab's raise.
neigh_table_step() {
	trust_host_record "$NEIGH_RECORD"
	if [ "$ACTION" = up ] && [ "$NEIGH_TABLE" != 0 ]; then
		neigh_hold "$NEIGH_TABLE"
	elif neighbour_table_left; then
		neigh_hold 0
	fi
}
neighbour_table_left() { [ -e "$NEIGH_RECORD" ] && grep -q "^lab $LAB " "$NEIGH_RECORD"; }
hook tables neigh_table_step
hook removed neigh_table_step
