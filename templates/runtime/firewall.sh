# Why pings across a bridge fail: the firewall. With bridge netfilter on (br_netfilter,
# as on every Docker host), frames between the ports of a bridge traverse the FORWARD chain of
# the bridge's namespace, and Docker sets its policy to DROP. verify names what blocks and the
# rule that lets each of the lab's bridges through; nothing here changes the firewall.

# For namespace $1, IP family $2 (4 or 6) and the bridges that follow: say what drops their
# traffic, and append the commands that would allow it to $T/fixes.
firewall_blocks() {
	fw_ns=$1
	if [ "$2" = 4 ]; then
		fw_tool=iptables fw_sysctl=bridge-nf-call-iptables fw_family=ip
	else
		fw_tool=ip6tables fw_sysctl=bridge-nf-call-ip6tables fw_family=ip6
	fi
	shift 2
	[ "$(in_netns "$fw_ns" cat "/proc/sys/net/bridge/$fw_sysctl" 2>/dev/null)" = 1 ] || return 0
	fw_where=host
	fw_exec=
	if [ "$fw_ns" != - ]; then
		fw_where="namespace $fw_ns"
		fw_exec="ip netns exec $fw_ns "
	fi
	fw_on="bridge netfilter is on in the $fw_where (net.bridge.$fw_sysctl = 1)"
	fw_iptables=0
	if command -v "$fw_tool" >/dev/null 2>&1 &&
		in_netns "$fw_ns" "$fw_tool" -S FORWARD 2>/dev/null | grep -qx -- '-P FORWARD DROP'; then
		fw_iptables=1
		fw_blocked=
		for br in "$@"; do
			in_netns "$fw_ns" "$fw_tool" -C FORWARD -i "$br" -o "$br" -j ACCEPT 2>/dev/null && continue
			fw_blocked="$fw_blocked $br"
			echo "$fw_exec$fw_tool -I FORWARD -i $br -o $br -j ACCEPT" >>"$T/fixes"
		done
		[ -z "$fw_blocked" ] ||
			say "$fw_on and the $fw_tool FORWARD policy is DROP: it drops traffic across bridge$fw_blocked"
	fi
	if command -v nft >/dev/null 2>&1; then
		# Forward chains with policy drop of this family or inet; iptables-nft's own chain
		# was reported above.
		in_netns "$fw_ns" nft list ruleset 2>/dev/null | awk -v fam="$fw_family" -v seen="$fw_iptables" '
			$1 == "table" { f = $2; t = $3 }
			$1 == "chain" { c = $2 }
			/hook forward/ && /policy drop/ && (f == fam || f == "inet") &&
				!(seen && f == fam && t == "filter" && c == "FORWARD") { print f, t, c }' >"$T/nftdrop"
		while read -r f t c; do
			fw_blocked=
			for br in "$@"; do
				in_netns "$fw_ns" nft list chain "$f" "$t" "$c" 2>/dev/null |
					grep -q "iifname \"$br\" oifname \"$br\" .*accept" && continue
				fw_blocked="$fw_blocked $br"
				echo "${fw_exec}nft 'insert rule $f $t $c iifname \"$br\" oifname \"$br\" accept'" >>"$T/fixes"
			done
			[ -z "$fw_blocked" ] ||
				say "$fw_on and nftables chain $f $t $c has policy drop: it drops traffic across bridge$fw_blocked"
		done <"$T/nftdrop"
	elif [ "$fw_iptables" = 0 ] && ! command -v "$fw_tool" >/dev/null 2>&1; then
		say "$fw_on: a FORWARD policy of DROP there drops traffic across bridge $* (neither $fw_tool nor nft is installed to check)"
	fi
}

diagnose_firewall() {
	: >"$T/fixes"
	awk '$1 == "bridge" { if (!($2 in b)) o[++n] = $2; b[$2] = b[$2] " " $3 }
		END { for (i = 1; i <= n; i++) print o[i] b[o[i]] }' "$T/plan" >"$T/bridges"
	fw_families=$(awk '$1 == "addr" { if ($4 ~ /:/) six = " 6"; else four = " 4" }
		END { print four six }' "$T/plan")
	while read -r fw_holder fw_bridges; do
		for family in $fw_families; do
			# shellcheck disable=SC2086 # bridge names are [A-Za-z0-9_.-]: safe to split
			firewall_blocks "$fw_holder" "$family" $fw_bridges </dev/null
		done
	done <"$T/bridges"
	[ -s "$T/fixes" ] || return 0
	say "to let the lab's bridges forward (nsgen never changes the firewall), run:"
	awk '!seen[$0]++ { print "  " $0 }' "$T/fixes"
}

hook diagnose diagnose_firewall
