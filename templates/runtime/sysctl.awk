# Sysctls inside the namespaces of the lab: rows "sysctl NS KEY VALUE PROBE", compared with the
# values read there ("== sysctl NS" sections: "KEY VALUE"). Putting back a key no longer
# declared is in prune.awk, which every script carries.
sec == "sysctl" { v = $2; for (i = 3; i <= NF; i++) v = v "," $i; sysval[secns, $1] = v; next }
function status_sysctl(r, f) {
	if (f[1] != "sysctl") return 0
	what = "sysctl " f[3] " = " f[4] " in " f[2]; gsub(/,/, " ", what)
	if (!((f[2], f[3]) in sysval)) s = "missing"
	else if (sysval[f[2], f[3]] != f[4]) { s = "drifted (" sysval[f[2], f[3]] ")"; gsub(/,/, " ", s) }
	else s = "ok"
	return 1
}
