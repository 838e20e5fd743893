# Forwarding: rows "fwd NS", IPv4 and IPv6 forwarding on in a namespace ("== fwd NS" sections:
# both values, read by observe.sh; turned off by prune.awk when no longer declared).
function status_forwarding(r, f) {
	if (f[1] != "fwd") return 0
	what = "forwarding in " f[2]
	s = (fwd[f[2]] == "11") ? "ok" : "off"
	return 1
}
