# What the lab applied earlier and no longer declares. Rows of the record that are not
# rows of the plan are "extra": removed by up, listed by status, and removed by down with all
# the rest. Only what is there now is removed, found by the same reads as everything else:
# the namespaces to read in full are those holding extra objects, so an unchanged lab costs
# no read more than before.
# A route row: "route NS KEY VIAS [DEV METRIC]", VIAS joined by commas, "-" for a device
# route. It is keyed as the kernel keys it: family, destination, metric (unset: the default
# of the kernel, 0 for IPv4 and 1024 for IPv6).
function rfamily(f) { return family(f[4] != "-" ? f[4] : f[3]) }
function rmetric(f) { return (f[6] != "" && f[6] != "-") ? f[6] : (rfamily(f) == 6 ? 1024 : 0) }
function rkey(f) { return f[2] SUBSEP f[3] SUBSEP rfamily(f) SUBSEP rmetric(f) }
function routetext(f) {
	return "route " f[3] (f[4] != "-" ? " via " f[4] : "") (f[5] != "" && f[5] != "-" ? " dev " f[5] : "") \
		(f[6] != "" && f[6] != "-" ? " metric " f[6] : "") " in " (f[2] == "-" ? "host" : f[2])
}
# The same gateways, in any order: the kernel keeps the next hops of a multipath route as given,
# but an equal route is equal whatever order a person wrote them in.
function samehops(a, b,    x, y, nx, ny, i, have) {
	nx = split(a, x, ","); ny = split(b, y, ",")
	if (nx != ny) return 0
	for (i = 1; i <= nx; i++) have[x[i]] = 1
	for (i = 1; i <= ny; i++) if (!(y[i] in have)) return 0
	return 1
}
# Under /proc/sys: dots separate, a slash stands for a dot in a device name; values: commas
# stand for blanks.
function sysctl_path(k) { gsub(/\//, "\001", k); gsub(/\./, "/", k); gsub(/\001/, ".", k); return k }
function fields(s,    p, n, i, out) {
	n = split(s, p, " "); out = p[1]
	for (i = 2; i <= n; i++) out = out " " p[i]
	return out
}
# A namespace whose contents are kept (the host, or a declared namespace of the lab)).
function alive(n) { return n == "-" || (!(n in going) && (n in declns) && nsstate(n) == "ours") }
function prune_reads(out,    i, f, c, p, devgoing) {
	for (i = 1; i <= nextra; i++) {
		split(extra[i], f, " ")
		hook_going(f, devgoing)
		if (f[1] == "bridge" || f[1] == "macvlan") devgoing[f[2], f[3]] = 1
		else if (f[1] == "veth") { devgoing[f[2], f[3]] = 1; devgoing[f[4], f[5]] = 1 }
	}
	for (i = 1; i <= nextra; i++) {
		split(extra[i], f, " ")
		c += hook_needs(f, out)
		if ((f[1] == "bridge" && f[2] != "-") || f[1] == "macvlan") c += needs(f[2], out)
		else if (f[1] == "veth" && f[2] != "-" && f[4] != "-") c += needs(f[2], out) + needs(f[4], out)
		else if (f[1] == "addr" && !((f[2], f[3]) in devgoing)) c += needs(f[2], out)
		else if (f[1] == "route" && !(rkey(f) in planroute)) c += needs(f[2], out)
		else if (f[1] == "tap" && f[2] != "-" && !((f[2], f[3]) in ptap)) c += needs(f[2], out)
		else if (f[1] == "link" && f[2] != "-" && ((f[2], f[3]) in plink)) {
			split(plink[f[2], f[3]], p, " ")
			if ((f[4] != "-" && p[4] == "-") || (f[5] != "-" && p[5] == "-")) c += needs(f[2], out)
		}
	}
	return c
}
function needs(n, out) {
	if (n == "-") { if (hostl3 || ("-" in out)) return 0; out["-"] = 1; return 1 }
	if (!alive(n) || (n in full) || (n in out)) return 0
	out[n] = 1
	return 1
}
# The device is gone, and with a veth its peer: later decisions see it missing.
function forget(n, d) { delete dev[n, d]; if (n == "-") delete alias[d] }
# For one extra row: what it is (or "" when nothing of it is left to remove), and with act,
# the commands that remove it: device deletions inside a namespace in the prune batch of
# that namespace (run before the batch of the host), the rest at the start of the batches.
function extra_row(row, act,    f, s, d, p, n) {
	split(row, f, " ")
	s = hook_extra(f, act)
	if (s != "") return s
	if (f[1] == "netns") {
		if (f[3] in declns) return ""
		s = nsstate(f[3])
		if (s != "ours" && s != "stale-ours") return ""
		if (act) { going[f[3]] = 1; goner[++ngoners] = f[3] }
		return "namespace " f[3]
	}
	if (f[1] == "bridge") {
		if (f[2] == "-" ? !ours_root(f[3]) : !(alive(f[2]) && ((f[2], f[3]) in dev))) return ""
		if (act) { unapply(f[2], "link del dev " f[3]); forget(f[2], f[3]) }
		return "bridge " place(f[2], f[3])
	}
	if (f[1] == "macvlan") {
		if (!(alive(f[2]) && ((f[2], f[3]) in dev))) return ""
		if (act) { unapply(f[2], "link del dev " f[3]); forget(f[2], f[3]) }
		return "macvlan " place(f[2], f[3]) " on " f[4] " (" f[5] ")"
	}
	if (f[1] == "veth") {
		if (f[2] == "-" && ours_root(f[3])) { n = "-"; d = f[3] }
		else if (f[4] == "-" && ours_root(f[5])) { n = "-"; d = f[5] }
		else if (f[2] != "-" && alive(f[2]) && ((f[2], f[3]) in dev)) { n = f[2]; d = f[3] }
		else if (f[4] != "-" && alive(f[4]) && ((f[4], f[5]) in dev)) { n = f[4]; d = f[5] }
		else return ""
		if (act) { unapply(n, "link del dev " d); forget(f[2], f[3]); forget(f[4], f[5]) }
		return "veth " place(f[2], f[3]) " <-> " place(f[4], f[5])
	}
	if (!alive(f[2])) return ""
	if (f[1] == "addr") {
		if (f[2] == "-" ? hostaddr[f[4]] != f[3] || !ours_root(f[3]) : !((f[2], f[3], f[4]) in addr) || !((f[2], f[3]) in dev)) return ""
		# Removed last, once the addresses declared now are on: with promote_secondaries on,
		# removing the primary address of a subnet keeps the others (added by a person, say) and the
		# routes through it.
		if (act) {
			removed++; latens[++nlate] = f[2]; latecmd[nlate] = "address del " f[4] " dev " f[3]
			if (f[4] !~ /:/) print f[2], f[3] > (dir "/promote")
		}
		return "address " f[4] " on " place(f[2], f[3])
	}
	if (f[1] == "route") {
		# Only a route of the protocol of nsgen: a route of a daemon to the same place stays. A
		# route still declared (same destination and metric) with other gateways is replaced
		# in place instead.
		s = rkey(f)
		if (!(s in rtvia) || rtproto[s] != proto || !samehops(rtvia[s], f[4])) return ""
		if ((s in planroute) || !((f[2], rtdev[s]) in dev)) return ""
		# "default" has no family of its own: ip would read it as IPv4.
		d = f[3] != "default" ? f[3] : rfamily(f) == 6 ? "::/0" : "0.0.0.0/0"
		if (act) unapply(f[2], "route del " d " metric " rmetric(f) " proto " proto)
		return routetext(f)
	}
	if (f[1] == "link") {
		# Attributes no longer declared on a device that stays: back to the defaults of the kernel.
		if (!((f[2], f[3]) in plink) || !((f[2], f[3]) in dev)) return ""
		split(plink[f[2], f[3]], p, " ")
		s = ""
		if (f[4] != "-" && p[4] == "-" && master[f[2], f[3]] == f[4]) s = s " nomaster"
		if (f[5] != "-" && p[5] == "-" && mtu[f[2], f[3]] == f[5]) s = s " mtu 1500"
		if (s == "") return ""
		if (act) unapply(f[2], "link set dev " f[3] s)
		return "link " place(f[2], f[3]) (index(s, "nomaster") ? " master " f[4] : "") (index(s, "mtu") ? " mtu " f[5] : "")
	}
	if (f[1] == "tap") {
		# A TAP still declared with another owner is re-created in place instead.
		if ((f[2], f[3]) in ptap) return ""
		if (f[2] == "-" ? !ours_root(f[3]) : !((f[2], f[3]) in dev)) return ""
		if (act) { unapply(f[2], "link del dev " f[3]); forget(f[2], f[3]) }
		return "tap " place(f[2], f[3])
	}
	if (f[1] == "qdisc") return unshape(f, act)
	if (f[1] == "fwd") {
		if ((f[2] in wasread) && fwd[f[2]] == "00") return ""
		if (act) unapply("-", "netns exec " f[2] " " FWD_OFF)
		return "forwarding in " f[2]
	}
	if (f[1] == "sysctl") {
		if (!((f[2], f[3]) in sysorig) || ((f[2], f[3]) in plansysctl)) return ""
		s = sysorig[f[2], f[3]]; gsub(/,/, " ", s)
		if (act) unapply("-", "netns exec " f[2] " sh -c \"echo " s " >/proc/sys/" sysctl_path(f[3]) "\"")
		gsub(/,/, " ", f[4])
		return "sysctl " f[3] " = " f[4] " in " f[2]
	}
	return ""
}
# A host device and a namespace are deleted at the start of the batch of the host, where a
# failure stops the run (each was seen to be there, and to be of the lab). The rest goes to prune
# batches run before it, one per namespace, with -force: a removal that fails finds its
# object gone already (the kernel removes the secondary addresses of a subnet with its primary).
function unapply(n, cmdline) {
	removed++
	if (n == "-" && cmdline ~ /^(link del|netns del) /) { emit(n, cmdline); return }
	if (!(n in nprune)) pruneorder[++nprunens] = n
	prunebatch[n, ++nprune[n]] = cmdline
}
function prune(    i, j, n, f, file) {
	# Namespaces first, so that nothing inside one that goes is removed on its own; routes
	# before addresses, which take the routes through them along.
	for (i = 1; i <= nextra; i++) if (extra[i] ~ /^netns /) extra_row(extra[i], 1)
	for (i = 1; i <= nextra; i++) if (extra[i] ~ /^(bridge|veth|macvlan) /) extra_row(extra[i], 1)
	hook_prune()
	for (i = 1; i <= ngoners; i++) {
		n = goner[i]
		# Processes in it are stopped first (see stop_processes), or it would live on unnamed.
		split(ino[n], f, " "); print n, f[1] > (dir "/stop")
		unapply("-", "netns del " n); nsgone++
	}
	for (i = 1; i <= nextra; i++) if (extra[i] ~ /^route /) extra_row(extra[i], 1)
	for (i = 1; i <= nextra; i++) if (extra[i] !~ /^(netns|bridge|veth|macvlan|route) /) extra_row(extra[i], 1)
	for (i = 1; i <= nprunens; i++) {
		n = pruneorder[i]; file = dir "/prune." n
		for (j = 1; j <= nprune[n]; j++) print prunebatch[n, j] > file
		close(file); print n > (dir "/prunes")
	}
}
# The record as this run leaves it: before anything is applied, all it had and all that is
# about to be applied (a killed run leaves a superset, which the next run prunes); after a
# run that completed, exactly the rows of the plan and any rows of kinds this script cannot
# undo (from a newer nsgen), kept for the version that can.
function write_records(    r, i, new, file, head, f) {
	srand(); now = srand()
	head = "nsgen-record 1\nsource " sha " " now " " ENVIRON["NSGEN_SOURCE"]
	for (r = 1; r <= rows; r++) if (!(key[r] in recorded)) new++
	split(recsource, f, " ")
	if (new || f[2] != sha) {
		file = dir "/record.pre"
		print head > file
		for (i = 1; i <= nrec; i++) print recrow[i] > file
		for (r = 1; r <= rows; r++) if (!(key[r] in recorded)) print key[r] > file
		close(file)
	}
	if (new || f[2] != sha || nextra) {
		file = dir "/record.post"
		print head > file
		for (r = 1; r <= rows; r++) print key[r] > file
		for (i = 1; i <= nextra; i++) { split(extra[i], f, " "); if (!(f[1] in known)) print extra[i] > file }
		close(file)
	}
}
