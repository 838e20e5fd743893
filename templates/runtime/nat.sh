# NAT ([host] nat): applying the table and holding host forwarding for it, and their status
# (nat-prune.sh holds the rest).

# Hold host IPv4 forwarding on for this lab, recording what was found the first time.
forward_hold() {
	fwd_now=$(cat /proc/sys/net/ipv4/ip_forward)
	if [ "$DRY_RUN" = 1 ]; then
		[ "$fwd_now" = 1 ] || echo "sysctl -w net.ipv4.ip_forward=1"
		return 0
	fi
	host_lock "$FORWARD_RECORD"
	[ -e "$FORWARD_RECORD" ] || put_record /dev/null "$FORWARD_RECORD"
	awk -v lab="$LAB" -v now="$fwd_now" -v out="$T/forward.new" '
		$1 == "original" { found = $3; have = 1 }
		$1 == "lab" && $2 != lab { labs[++n] = $0 }
		END {
			print "# nsgen: host IPv4 forwarding turned on by [host] nat (docs/script.md: NAT)" > out
			print "original net.ipv4.ip_forward", (have ? found : now), 1 > out
			for (i = 1; i <= n; i++) print labs[i] > out
			print "lab", lab, 1 > out
		}' "$FORWARD_RECORD"
	put_record "$T/forward.new" "$FORWARD_RECORD"
	if [ "$fwd_now" != 1 ]; then
		echo 1 >/proc/sys/net/ipv4/ip_forward
		say "host IPv4 forwarding was $fwd_now: turned on for NAT (put back when the last lab with NAT on this host goes)"
	fi
	release_lock "$FORWARD_RECORD.lock"
}

# Before anything changes.
check_nat() {
	command -v nft >/dev/null 2>&1 || die "[host] nat needs nftables and nft is not installed: nothing was changed"
}

apply_nat() {
	if [ "$DRY_RUN" = 1 ]; then
		echo "nft -f - (table ip $NAT_TABLE, replaced whole):"
		nat_rules | sed 's/^/  /'
		forward_hold
		return 0
	fi
	# Recorded first: a run killed after this still lets down remove the table.
	put_record /dev/null "$STATE/nat"
	forward_hold
	nat_rules | nft -f - || die "nft refused the table ip $NAT_TABLE (the error is above)"
}

observe_nat() {
	echo "== more"
	if nft list table ip "$NAT_TABLE" >/dev/null 2>&1; then echo "ok nat table ip $NAT_TABLE"; else echo "missing nat table ip $NAT_TABLE"; fi
	fwd_now=$(cat /proc/sys/net/ipv4/ip_forward)
	if [ "$fwd_now" = 1 ]; then echo "ok host IPv4 forwarding (for NAT)"; else echo "off host IPv4 forwarding (for NAT)"; fi
}

hook check check_nat
hook configured apply_nat
hook observe_status observe_nat
