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
		if (n == "-") { alias[name] = jstr(rec, "ifalias"); peerid[name] = jnum(rec, "link_netnsid") }
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
# `ip netns list`: each named namespace with the id the host knows it by (link_netnsid).
function jnsids(    k, parts, i, rec) {
	k = split($0, parts, /[{]"name":/)
	for (i = 2; i <= k; i++) {
		rec = "\"name\":" parts[i]
		if (jnum(rec, "id") == "-") continue
		nsname[jnum(rec, "id")] = jstr(rec, "name"); nsnamed++
	}
}
# A veth end in namespace n, not read, judged from its peer in the host: there iff the peer of
# the host end is in the namespace of that name (not moved away by hand).
function peerstate(hostdev, n,    id) {
	id = peerid[hostdev]
	# No link_netnsid: the peer is in the host itself.
	if (id == "-") return "missing"
	# An ip that lists no ids cannot tell: the end is taken as there.
	if (!nsnamed) return "ours"
	return (id in nsname) && nsname[id] == n ? "ours" : "missing"
}
function family(ip) { return index(ip, ":") ? 6 : 4 }
# Routes of the main table, keyed as the kernel keys them: family, destination and metric (for IPv4
# the default 0 is left out of the listing, for IPv6 it is printed). A multipath route has no gateway
# of its own but "nexthops", an array of objects: its gateways are joined by commas, so
# that it compares whole with the row of the plan; "-" for a device route.
function jroutes(n,    k, parts, i, rec, hops, gw, d, m, key, p, j, depth, c) {
	# Each next hop has its own "flags":[...]: the array ends where its brackets balance.
	while ((p = index($0, "\"nexthops\":[")) > 0) {
		depth = 0
		for (j = p + 11; j <= length($0); j++) {
			c = substr($0, j, 1)
			if (c == "[") depth++
			else if (c == "]" && --depth == 0) break
		}
		hops = substr($0, p, j - p + 1)
		gsub(/[}],[{]/, "};{", hops); gsub(/"gateway"/, "\"hop\"", hops); gsub(/"dev"/, "\"hopdev\"", hops)
		sub(/"nexthops":/, "\"hops\":", hops)
		$0 = substr($0, 1, p - 1) hops substr($0, j + 1)
	}
	k = split($0, parts, /[}],[{]/)
	for (i = 1; i <= k; i++) {
		rec = parts[i]
		if (jstr(rec, "table") != "-") continue
		d = jstr(rec, "dst"); gw = jstr(rec, "gateway"); m = jnum(rec, "metric")
		if (m == "-") m = 0
		if (gw == "-" && index(rec, "\"hop\":")) gw = jhops(rec)
		if (n == "-") hostroute[d] = jstr(rec, "dev") == "-" ? jstr(rec, "hopdev") : jstr(rec, "dev")
		key = n SUBSEP d SUBSEP family(d gw) SUBSEP m
		rtvia[key] = gw; rtproto[key] = jstr(rec, "protocol")
		rtdev[key] = jstr(rec, "dev") == "-" ? jstr(rec, "hopdev") : jstr(rec, "dev")
	}
}
function jhops(rec,    out, rest) {
	out = ""; rest = rec
	while (match(rest, /"hop":"[^"]*"/)) {
		out = out (out == "" ? "" : ",") substr(rest, RSTART + 7, RLENGTH - 8)
		rest = substr(rest, RSTART + RLENGTH)
	}
	return out
}
