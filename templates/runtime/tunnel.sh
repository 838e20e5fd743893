# Tunnels (VXLAN between the hosts of a lab across hosts): a bridge spanning hosts floods
# through its tunnel with FDB entries, made and read with the bridge tool.
command -v bridge >/dev/null 2>&1 || die "bridge not found: install iproute2 (it has the bridge tool)"

observe_flood() {
	echo '== fdb -'
	dump bridge -j fdb show
}
hook observe observe_flood

# Head-end replication: a bridge spanning hosts floods to each other host through its tunnel.
run_flood() {
	[ -s "$T/flood" ] || return 0
	if [ "$DRY_RUN" = 1 ]; then
		sed 's|^|bridge |' "$T/flood"
	else
		bridge -batch "$T/flood"
	fi
}
hook created run_flood
