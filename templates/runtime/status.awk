# The state (s) and description (what) of each declared object, from the module of its kind or
# the branches below, then the extra objects: "STATE WHAT" lines and a count.
function status(    r, f, n, bad, total, cnt, key) {
	for (r = 1; r <= rows; r++) {
		split(line[r], f, " ")
		what = ""; s = ""
		if (hook_status(r, f)) {
		} else if (f[1] == "netns") {
			s = nsstate(f[3]); what = "namespace " f[3]
			if (s == "stale-ours" || s == "stale-foreign") s = "broken"
			else if (s == "ours") s = "ok"
		} else if (f[1] == "veth") {
			what = "veth " place(f[2], f[3]) " <-> " place(f[4], f[5])
			s = devstate(f[2], f[3]); n = devstate(f[4], f[5])
			if (s == "ours" && n != "ours") s = n
		} else if (f[1] == "link") {
			what = "link " place(f[2], f[3]) " up" (f[4] != "-" ? " master " f[4] : "")
			s = devstate(f[2], f[3])
			key = f[2] SUBSEP f[3]
			if (s == "ours") {
				if (!isup[key]) s = "down"
				else if (f[4] != "-" && master[key] != f[4]) s = "drifted (master " master[key] ")"
				else if (f[5] != "-" && mtu[key] != f[5]) s = "drifted (mtu " mtu[key] ")"
				else if (f[6] != "-" && mac[key] != f[6]) s = "drifted (mac " mac[key] ")"
			}
		} else if (f[1] == "addr") {
			what = "address " f[4] " on " place(f[2], f[3])
			if (f[2] == "-") s = (hostaddr[f[4]] == f[3] && ours_root(f[3])) ? "ok" : "missing"
			else s = ((f[2], f[3], f[4]) in addr) ? addr[f[2], f[3], f[4]] : "missing"
		} else continue
		if (s == "ours") s = "ok"
		total++
		if (s != "ok") bad++
		cnt[s]++
		printf "%-10s %s\n", s, what
	}
	for (r = 1; r <= nhosts; r++) {
		total++; s = hostsstate[r]; if (s != "ok") bad++
		cnt[s]++
		printf "%-10s %s\n", s, "names in " hostsfile[r]
	}
	for (r = 1; r <= nmore; r++) {
		total++; s = morestate[r]; if (s != "ok") bad++
		cnt[s]++
		printf "%-10s %s\n", s, morewhat[r]
	}
	for (r = 1; r <= nextra; r++) {
		what = extra_row(extra[r], 0)
		if (what == "") continue
		total++; bad++; cnt["extra"]++
		printf "%-10s %s\n", "extra", what
	}
	printf "%s: %d of %d objects ok", lab, total - bad, total
	for (s in cnt) if (s != "ok") printf ", %d %s", cnt[s], s
	printf "\n"
	exit bad ? 3 : 0
}
