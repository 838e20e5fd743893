# NAT ([host] nat): the lab's own nftables table, and host IPv4 forwarding, which every
# lab with NAT on this host shares. $STATE/nat says the lab applied its table (so down, and
# an up that no longer declares NAT, remove it); the forwarding record is host-wide, in the
# format of the other host-wide records under /run/nsgen/.host: "original KEY FOUND SET"
# (the value found before the first lab turned it on, and the value nsgen set) and one
# "lab NAME 1" per lab that holds it. It is changed under host_lock.

NAT_TABLE="nsgen-$LAB"
FORWARD_RECORD=/run/nsgen/.host/forward

# Let go of it: the last lab that held it puts back what was found, unless someone changed it.
forward_release() {
	trust_host_record "$FORWARD_RECORD"
	[ -e "$FORWARD_RECORD" ] && grep -q "^lab $LAB " "$FORWARD_RECORD" || return 0
	# Read under its lock: two labs letting go at once would each count the other.
	[ "$DRY_RUN" = 1 ] || host_lock "$FORWARD_RECORD"
	fwd_now=$(cat /proc/sys/net/ipv4/ip_forward)
	others=$(awk -v lab="$LAB" '$1 == "lab" && $2 != lab { n++ } END { print n + 0 }' "$FORWARD_RECORD")
	found=$(awk '$1 == "original" { print $3 }' "$FORWARD_RECORD")
	if [ "$DRY_RUN" = 1 ]; then
		[ "$others" != 0 ] || [ "$fwd_now" != 1 ] || [ "$found" = 1 ] || echo "sysctl -w net.ipv4.ip_forward=$found"
		return 0
	fi
	if [ "$others" != 0 ]; then
		grep -v "^lab $LAB " "$FORWARD_RECORD" >"$T/forward.new"
		put_record "$T/forward.new" "$FORWARD_RECORD"
		say "host IPv4 forwarding stays on: $others other lab(s) with NAT still need it"
	else
		if [ "$fwd_now" = 1 ] && [ "$found" != 1 ]; then
			echo "$found" >/proc/sys/net/ipv4/ip_forward
			say "host IPv4 forwarding put back to $found, as it was before NAT"
		elif [ "$fwd_now" != 1 ]; then
			say "leaving host IPv4 forwarding at $fwd_now: it was changed after nsgen turned it on"
		fi
		rm -f "$FORWARD_RECORD"
	fi
	release_lock "$FORWARD_RECORD.lock"
}

remove_nat() {
	if command -v nft >/dev/null 2>&1 && nft list table ip "$NAT_TABLE" >/dev/null 2>&1; then
		if [ "$DRY_RUN" = 1 ]; then echo "nft delete table ip $NAT_TABLE"; else nft delete table ip "$NAT_TABLE"; fi
	fi
	forward_release
	[ "$DRY_RUN" = 1 ] || rm -f "$STATE/nat"
}

# up of a version that no longer declares NAT.
nat_undeclared() { [ "$NAT" = 1 ] || [ ! -e "$STATE/nat" ] || remove_nat; }
nat_down() { [ "$NAT" = 0 ] && [ ! -e "$STATE/nat" ] || remove_nat; }
nat_prune_left() { [ -e "$STATE/nat" ]; }
hook configured nat_undeclared
hook removed nat_down
