# TAP devices: rows "tap NS DEV OWNER GROUP", compared with `ip -d -j link show type tun`
# ("== tun NS" sections) and the users and groups getent knows ("== ids"). Their removal,
# generic to devices, is in prune.awk.
sec == "tun" { if (index($0, "{\"ifindex\":")) jtun(secns); next }
sec == "ids" { ids[$1, $2] = $3; ids[$1, $3] = $3; next }
function jtun(n,    k, parts, i, rec, name, data) {
	k = split($0, parts, /[{]"ifindex":/)
	for (i = 2; i <= k; i++) {
		rec = parts[i]; name = jstr(rec, "ifname")
		# After info_data: the link itself has a "group" too (its device group).
		data = substr(rec, index(rec, "\"info_data\":"))
		istun[n, name] = jstr(data, "type")
		tunuser[n, name] = jstr(data, "user")
		tungroup[n, name] = jstr(data, "group")
	}
}
function canon(t, v) { return ((t, v) in ids) ? ids[t, v] : v }
# "" when the TAP is as row f declares, else what differs.
function tapdrift(f,    key) {
	key = f[2] SUBSEP f[3]
	if (istun[key] != "tap") return "not a TAP"
	if (canon("u", f[4]) != canon("u", tunuser[key])) return "owner " (tunuser[key] == "-" ? "unset" : tunuser[key])
	if (canon("g", f[5]) != canon("g", tungroup[key])) return "group " (tungroup[key] == "-" ? "unset" : tungroup[key])
	return ""
}
function tap_decide(r, f,    n, d, s, x) {
	n = f[2]; d = f[3]
	if (f[4] != "-" && f[4] !~ /^[0-9]+$/ && !(("u", f[4]) in ids))
		refuse("user " f[4] ", the owner of TAP " place(n, d) ", does not exist on this host")
	if (f[5] != "-" && f[5] !~ /^[0-9]+$/ && !(("g", f[5]) in ids))
		refuse("group " f[5] " of TAP " place(n, d) " does not exist on this host")
	s = newns[n] ? "missing" : devstate(n, d)
	if (s == "foreign") { refuse("device " d " exists in the host and was not created by lab " lab); return }
	if (s == "unconfirmed") { refuse(unconfirmed("device " d, "ip link del dev " d)); return }
	if (s == "missing") {
		emit(n, cmd[r]); created++
		if (n == "-") create_root(d)
		return
	}
	x = tapdrift(f)
	if (x == "") return
	# The owner of a TAP is set only as it is created (TUNSETOWNER needs it open): re-create it.
	emit(n, (x == "not a TAP" ? "link del dev " d : "tuntap del dev " d " mode tap"))
	emit(n, cmd[r])
	if (n == "-") emit("-", "link set dev " d " alias " mark)
}


function reads_tap(f, seen) { if (f[1] == "tap" && f[2] != "-") want(f[2], seen) }
function up_tap(r, f) {
	if (f[1] != "tap") return 0
	tap_decide(r, f)
	return 1
}
function status_tap(r, f) {
	if (f[1] != "tap") return 0
	what = "tap " place(f[2], f[3]) (f[4] != "-" ? " owner " f[4] : "") (f[5] != "-" ? " group " f[5] : "")
	s = devstate(f[2], f[3])
	if (s == "ours" && tapdrift(f) != "") s = "drifted (" tapdrift(f) ")"
	return 1
}
