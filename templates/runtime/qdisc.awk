# Egress shaping: rows "qdisc NS DEV root|child tbf RATE-BYTES/S BURST-BYTES LATENCY-US" or
# "qdisc NS DEV root netem DELAY-US JITTER-US LOSS-PERCENT", compared with `tc -j qdisc show`
# (parsed by qdisc-prune.awk, which every script carries to remove what an earlier version made).
function jfloat(rec, key) {
	if (!match(rec, "\"" key "\":-?[0-9.]+([eE][-+]?[0-9]+)?")) return 0
	return substr(rec, RSTART + length(key) + 3, RLENGTH - length(key) - 3) + 0
}
function dash0(v) { return v == "-" ? 0 : v + 0 }
# The kernel keeps the burst and latency of tbf in clock ticks: read back, they round.
function near(a, b) { a += 0; b += 0; return (a - b < 3 && b - a < 3) || (b > 0 && a / b > 0.99 && a / b < 1.01) }
# "" when rec is the qdisc row f declares, "missing", or what differs from it.
function qdiff(rec, f,    k) {
	if (rec == "") return "missing"
	k = jstr(rec, "kind")
	if (k != f[5]) return k
	if (k == "tbf") {
		if (!near(jnum(rec, "rate"), f[6])) return "rate " jnum(rec, "rate") * 8 "bit"
		if (!near(jnum(rec, "burst"), f[7])) return "burst " jnum(rec, "burst") "b"
		if (!near(jnum(rec, "lat"), f[8])) return "latency " jnum(rec, "lat") "us"
		return ""
	}
	if (!near(jfloat(rec, "delay") * 1000000, dash0(f[6]))) return "delay " jfloat(rec, "delay") * 1000000 "us"
	if (!near(jfloat(rec, "jitter") * 1000000, dash0(f[7]))) return "jitter " jfloat(rec, "jitter") * 1000000 "us"
	if (!near(jfloat(rec, "loss") * 100, dash0(f[8]))) return "loss " jfloat(rec, "loss") * 100 "%"
	return ""
}
function qrec(f) { return f[4] == "root" ? qroot[f[2], f[3]] : qchild[f[2], f[3]] }
function qstate(f,    x) {
	x = qdiff(qrec(f), f)
	return x == "" ? "ok" : x == "missing" ? "missing" : "drifted (" x ")"
}
# `tc qdisc replace` cannot change the kind of a qdisc under the same handle: a root of
# nsgen of another kind goes first. Unchanged qdiscs are not touched (tbf would drop its
# queue).
function qdisc_decide(r, f,    key, x) {
	key = f[2] SUBSEP f[3]
	x = qdiff(qrec(f), f)
	if (f[4] == "root") {
		if (x == "") return
		if (x != "missing" && jstr(qroot[key], "kind") != f[5] && qhandle[key] == "6e73:") {
			temit(f[2], "qdisc del dev " f[3] " root"); regrown[key] = 1
		}
		if (x == "missing") regrown[key] = 1
	} else if (x == "" && !(key in regrown)) return
	temit(f[2], cmd[r])
}
function up_qdisc(r, f) {
	if (f[1] != "qdisc") return 0
	qdisc_decide(r, f)
	return 1
}
function status_qdisc(r, f) {
	if (f[1] != "qdisc") return 0
	what = "qdisc on " place(f[2], f[3]) ": " substr(cmd[r], index(cmd[r], ": ") + 2)
	s = devstate(f[2], f[3])
	if (s == "ours") s = qstate(f)
	return 1
}
