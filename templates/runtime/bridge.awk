# Bridges: rows "bridge NS DEV", made by the batch of the host (marked there when in the host)
# and removed as any device (prune.awk, down.awk).
function reads_bridge(f, seen) { if (f[1] == "bridge" && f[2] != "-") want(f[2], seen) }
function up_bridge(r, f) {
	if (f[1] == "bridge") {
		if (device_up(r, f) == "missing" && f[2] == "-") fresh[f[3]] = 1
		return 1
	}
	# A host bridge made by this run goes up after every namespace is configured: while it is
	# down it drops their IPv6 start-up frames (DAD, MLD, router solicitations), which it would
	# otherwise copy to every port, each to each: kernel time that grows with the square of the
	# size of the lab. The routes of the host, through it, follow (route.awk).
	if (f[1] == "link" && f[2] == "-" && (f[3] in fresh)) {
		lateroot[++nlateroot] = cmd[r]
		return 1
	}
	return 0
}
function status_bridge(r, f) {
	if (f[1] != "bridge") return 0
	s = devstate(f[2], f[3]); what = "bridge " place(f[2], f[3])
	return 1
}
