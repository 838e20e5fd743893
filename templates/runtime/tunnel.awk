# Tunnels: rows "vxlan NS DEV" (a tunnel end, made and removed as a bridge is) and
# "fdb - DEV DST" (a flood entry of a tunnel device, from `bridge -j fdb show`: "== fdb -").
sec == "fdb" { jflood(); next }
# Flood entries of tunnel devices: the all-zero MAC and a dst.
function jflood(    k, parts, i, rec) {
	k = split($0, parts, /[}],[{]/)
	for (i = 1; i <= k; i++) {
		rec = parts[i]
		if (jstr(rec, "mac") == "00:00:00:00:00:00" && jstr(rec, "dst") != "-") fdb[jstr(rec, "ifname"), jstr(rec, "dst")] = 1
	}
}
function reads_tunnel(f, seen) { if (f[1] == "vxlan" && f[2] != "-") want(f[2], seen) }
function going_tunnel(f, devgoing) { if (f[1] == "vxlan") devgoing[f[2], f[3]] = 1 }
function needs_tunnel(f, out) { return (f[1] == "vxlan" && f[2] != "-") ? needs(f[2], out) : 0 }
function up_tunnel(r, f) {
	if (f[1] == "vxlan") device_up(r, f)
	else if (f[1] == "fdb") flood[++nflood] = cmd[r]
	else return 0
	return 1
}
# The flood entries to remove, then those to add.
function up_end_tunnel(    i) {
	for (i = 1; i <= nfloodel; i++) print floodel[i] > (dir "/flood")
	for (i = 1; i <= nflood; i++) print flood[i] > (dir "/flood")
}
function status_tunnel(r, f) {
	if (f[1] == "vxlan") { s = devstate(f[2], f[3]); what = "vxlan " place(f[2], f[3]) }
	else if (f[1] == "fdb") { what = "flood " f[3] " to " f[4]; s = ((f[3], f[4]) in fdb) ? "ok" : "missing" }
	else return 0
	return 1
}
# A tunnel end goes as a bridge does; a flood entry of a tunnel device that stays goes alone.
function extra_tunnel(f, act) {
	if (f[1] == "vxlan") {
		if (f[2] == "-" ? !ours_root(f[3]) : !(alive(f[2]) && ((f[2], f[3]) in dev))) return ""
		if (act) { unapply(f[2], "link del dev " f[3]); forget(f[2], f[3]) }
		return "vxlan " place(f[2], f[3])
	}
	if (f[1] == "fdb") {
		if (!((f[3], f[4]) in fdb) || !ours_root(f[3])) return ""
		if (act) { removed++; floodel[++nfloodel] = "fdb del 00:00:00:00:00:00 dev " f[3] " dst " f[4] }
		return "flood " f[3] " to " f[4]
	}
	return ""
}
# After the bridges and veths: a tunnel end may be a port of one.
function prune_tunnel(    i) { for (i = 1; i <= nextra; i++) if (extra[i] ~ /^vxlan /) extra_row(extra[i], 1) }
function down_tunnel(f, d) {
	if (f[1] != "vxlan" || f[2] != "-") return 0
	d[1] = f[3]
	return 1
}
