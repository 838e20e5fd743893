# Frames the host dropped because a CPU's input backlog was full, all CPUs together (the
# second column of softnet_stat, hexadecimal).
backlog_drops() {
	awk 'function hex(s,    i, n) {
			n = 0; s = tolower(s)
			for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
			return n
		}
		{ d += hex($2) } END { print d + 0 }' /proc/net/softnet_stat 2>/dev/null || echo 0
}

backlog_drops_before() { drops_before=$(backlog_drops); }
hook verify backlog_drops_before

# verify, after failures: a bridge copies every broadcast (ARP included) and multicast frame to
# each of its ports at once, into one CPU's backlog; with more ports than the backlog holds, or
# while a large bridge floods its ports' IPv6 start-up traffic, frames are dropped.
diagnose_backlog() {
	drops=$(($(backlog_drops) - drops_before))
	[ "$drops" -gt 0 ] || return 0
	max=$(cat /proc/sys/net/core/netdev_max_backlog 2>/dev/null) || return 0
	ports=$(awk '$1 == "link" && $4 != "-" { n[$2 " " $4]++ } END { for (b in n) if (n[b] > m) m = n[b]; print m + 0 }' "$T/plan")
	size=1024
	while [ "$size" -lt $((max * 2)) ] || [ "$size" -lt $((ports * 4)) ]; do size=$((size * 2)); done
	say "the host dropped $drops frames while verify ran because a CPU's input backlog was full (net.core.netdev_max_backlog = $max; a bridge copies each broadcast to all its ports, $ports on the lab's largest): the failures above may be that; make room with: sysctl -w net.core.netdev_max_backlog=$size"
}
hook diagnose diagnose_backlog
