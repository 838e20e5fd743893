# Macvlans: rows "macvlan NS NAME PARENT MODE", made on PARENT (a device of the host, never
# changed) directly in namespace NS. Removed as any device (prune.awk), and first of all by
# down (down.awk): the kernel removes the macvlans of a namespace later than the namespace.
function reads_macvlan(f, seen) { if (f[1] == "macvlan") want(f[2], seen) }
function up_macvlan(r, f) {
	if (f[1] != "macvlan") return 0
	if (!(("-", f[4]) in dev)) refuse("macvlan " place(f[2], f[3]) ": its parent " f[4] " is not a device of the host")
	else if (ours_root(f[4])) refuse("macvlan " place(f[2], f[3]) ": its parent " f[4] " is a device of lab " lab)
	else if (newns[f[2]] || devstate(f[2], f[3]) == "missing") { emit("-", cmd[r]); created++ }
	return 1
}
function status_macvlan(r, f) {
	if (f[1] != "macvlan") return 0
	s = devstate(f[2], f[3]); what = "macvlan " place(f[2], f[3]) " on " f[4] " (" f[5] ")"
	return 1
}
