# Listings come from `ip -j`: one line per listing, an array of flat objects (addresses nest
# one level, in "addr_info"). Plain `ip -o link` would also name each veth peer namespace,
# scanning /run/netns: O(N) per call, and noisy when a stale file lies there.
function jstr(rec, key) {
	if (!match(rec, "\"" key "\":\"[^\"]*\"")) return "-"
	return substr(rec, RSTART + length(key) + 4, RLENGTH - length(key) - 5)
}
function jnum(rec, key) {
	if (!match(rec, "\"" key "\":[0-9]+")) return "-"
	return substr(rec, RSTART + length(key) + 3, RLENGTH - length(key) - 3)
}
# Devices (`link show`) or devices with their addresses (`address show`) of namespace n.
function jdevices(n,    k, parts, i, rec, name) {
	k = split($0, parts, /[{]"ifindex":/)
	for (i = 2; i <= k; i++) {
		rec = parts[i]
		name = jstr(rec, "ifname")
		if (index(rec, "\"addr_info\":")) { jaddresses(n, name, rec); continue }
		dev[n, name] = 1
		isup[n, name] = (rec ~ /"flags":[[][^]]*"UP"/)
		mtu[n, name] = jnum(rec, "mtu")
		master[n, name] = jstr(rec, "master")
		mac[n, name] = jstr(rec, "address")
		if (n == "-") alias[name] = jstr(rec, "ifalias")
	}
}
function jaddresses(n, name, rec,    k, parts, i, a, ip) {
	k = split(rec, parts, /[{]"family":/)
	for (i = 2; i <= k; i++) {
		a = parts[i]
		ip = jstr(a, "local")
		if (n == "-") { hostaddr[ip "/" jnum(a, "prefixlen")] = name; hostip[ip] = name }
		else addr[n, name, ip "/" jnum(a, "prefixlen")] = (index(a, "\"tentative\":true") ? "tentative" : "ok")
	}
}
function jroutes(n,    k, parts, i, rec) {
	k = split($0, parts, /[}],[{]/)
	for (i = 1; i <= k; i++) {
		rec = parts[i]
		if (n == "-") hostroute[jstr(rec, "dst")] = jstr(rec, "dev")
		route[n, jstr(rec, "dst"), jstr(rec, "gateway")] = jstr(rec, "protocol")
		routedev[n, jstr(rec, "dst"), jstr(rec, "gateway")] = jstr(rec, "dev")
	}
}

