# Declared routes: rows "route NS KEY VIAS [DEV METRIC]" (see prune.awk, which keys them and
# removes those the lab no longer declares).
# The route of someone else (a person, a daemon) that the kernel holds under the key of plan
# row r, described, or "": one of another protocol, or of the protocol of the lab that its record
# does not name. `ip route replace` would take it over silently.
function foreign_route(r,    f, s) {
	split(substr(line[r], 1, index(line[r], " | ") - 1), f, " ")
	s = rkey(f)
	if (!(s in rtvia) || (rtproto[s] == proto && (s in recroute))) return ""
	f[4] = rtvia[s]; f[5] = rtdev[s]
	return routetext(f) " (proto " rtproto[s] ")"
}
# Where the lab routes, its routes are read with the devices, to tell them from those of others.
function reads_route(f, seen) { if (f[1] == "route" && f[2] != "-" && mode == "reads") want(f[2], seen, "routes") }
function up_route(r, f,    s) {
	if (f[1] != "route") return 0
	# Test membership before reading: reading an awk array element creates it.
	if (f[2] == "-" && (f[3] in hostroute) && !ours_root(hostroute[f[3]]))
		refuse("the host already has a route to " f[3] " (dev " hostroute[f[3]] ")")
	else if ((s = foreign_route(r)) != "")
		refuse(s " exists and was not created by lab " lab)
	# A route of the host through a bridge that goes up late (bridge.awk) follows it.
	if (f[2] == "-" && nlateroot) lateroot[++nlateroot] = cmd[r]
	else emit(f[2], cmd[r])
	return 1
}
function status_route(r, f,    key) {
	if (f[1] != "route") return 0
	# Its fields alone: a row without DEV and METRIC has the command after them.
	split(substr(line[r], 1, index(line[r], " | ") - 1), f, " ")
	what = routetext(f); key = rkey(f)
	if (foreign_route(r) != "") s = "foreign"
	else if (f[2] == "-") s = (f[3] in hostroute) && ours_root(hostroute[f[3]]) ? "ok" : "missing"
	else if (!(key in rtvia)) s = "missing"
	else if (!samehops(rtvia[key], f[4])) s = "drifted (via " rtvia[key] ")"
	else if (f[5] != "" && f[5] != "-" && rtdev[key] != f[5]) s = "drifted (dev " rtdev[key] ")"
	else s = "ok"
	return 1
}
