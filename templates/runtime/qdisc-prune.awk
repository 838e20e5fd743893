# The qdiscs nsgen made (handles 6e73: and 6e74:) where the lab has or had them ("== tc NS"
# sections of `tc -j qdisc show`), the tc batches, and the removal of a qdisc the plan no
# longer has: carried by every script, since an earlier version may have shaped.
sec == "tc" { if (index($0, "{\"kind\":")) jqdiscs(secns); next }
function jqdiscs(n,    k, parts, i, rec, d) {
	k = split($0, parts, /[{]"kind":/)
	for (i = 2; i <= k; i++) {
		rec = "{\"kind\":" parts[i]; d = jstr(rec, "dev")
		if (index(rec, "\"root\":true")) { qroot[n, d] = rec; qhandle[n, d] = jstr(rec, "handle") }
		else if (jstr(rec, "parent") == "6e73:1") qchild[n, d] = rec
	}
}
function temit(n, line) {
	if (!(n in tccount)) tcorder[++ntc] = n
	tcbatch[n, ++tccount[n]] = line
}
function write_tc_batches(    i, j, n, file) {
	for (i = 1; i <= ntc; i++) {
		n = tcorder[i]; file = dir "/tcbatch." n
		for (j = 1; j <= tccount[n]; j++) print tcbatch[n, j] > file
		close(file); print n > (dir "/tcbatches")
	}
}
# A qdisc of the record that the plan no longer has (see extra_row); one still declared on its
# device is changed in place instead.
function unshape(f, act,    n, d, c) {
	n = f[2]; d = f[3]
	# Only on a device that stays: a device that goes takes its qdiscs along.
	if (((n, d, f[4]) in pqdisc) || !((n, d) in plink)) return ""
	if (f[4] == "root") {
		if (qhandle[n, d] != "6e73:") return ""
		c = "qdisc del dev " d " root"
	} else {
		# Gone with its root when that goes too.
		if (qchild[n, d] == "" || !((n, d, "root") in pqdisc)) return ""
		c = "qdisc del dev " d " parent 6e73:1 handle 6e74:"
	}
	if (act) { removed++; temit(n, c) }
	return "qdisc " f[5] " on " place(n, d)
}
