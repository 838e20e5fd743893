function down(    r, f, n, s, d, e, i, k, explicit, nexp, dels, ndel, goingns, nloose, paired, handled, seen, dv) {
	# Everything the lab ever applied, in any version: the plan, the record, the namespaces
	# its records name, and (below) every host device with its mark.
	for (i = 1; i <= nextra; i++) line[++rows] = extra[i]
	for (n in declns) seen[n] = 1
	for (i = 1; i <= nrec; i++) { split(recrow[i], f, " "); if (f[1] == "netns") seen[f[3]] = 1 }
	for (n in owned) if (!(n in seen)) { seen[n] = 1; line[++rows] = "netns - " n }
	for (k in intent) if (k ~ /^netns /) {
		n = substr(k, 7)
		if (!(n in seen)) { seen[n] = 1; line[++rows] = "netns - " n }
	}
	for (r = 1; r <= rows; r++) {
		split(line[r], f, " ")
		if (f[1] == "netns") {
			n = f[3]; s = nsstate(n)
			if (s == "ours" || s == "stale-ours") {
				dels[++ndel] = "netns del " n; goingns[n] = 1
				if (s == "ours") { split(ino[n], e, " "); print n, e[1] > (dir "/stop") }
			}
			else if (s == "unconfirmed") keep("netns " n, unconfirmed("namespace " n, "ip netns del " n))
			else if (s == "foreign" || s == "stale-foreign") note("namespace " n)
		}
	}
	# A macvlan outlives the deletion of its namespace for a moment (the kernel cleans namespaces
	# up later), still counted by its parent: deleted first, at once, so down returns clean.
	for (r = 1; r <= rows; r++) {
		split(line[r], f, " ")
		if (f[1] == "macvlan" && nsstate(f[2]) == "ours") print f[2], f[3] > (dir "/macvlans")
	}
	for (r = 1; r <= rows; r++) {
		split(line[r], f, " ")
		if ((f[1] == "bridge" || f[1] == "tap") && f[2] == "-") { d[1] = f[3]; k = 1 }
		else if (f[1] == "veth") {
			k = 0
			if (f[2] == "-") d[++k] = f[3] SUBSEP f[4]
			if (f[4] == "-") d[++k] = f[5] SUBSEP f[2]
		} else if (!(k = hook_down(f, d))) continue
		paired = 0
		for (i = 1; i <= k; i++) {
			split(d[i], e, SUBSEP)
			handled[e[1]] = 1
			if (!(("-", e[1]) in dev)) continue
			if (devstate("-", e[1]) == "unconfirmed") { keep("link " e[1], unconfirmed("host device " e[1], "ip link del dev " e[1])); continue }
			if (!ours_root(e[1])) { note("host device " e[1]); continue }
			print e[1] > (dir "/gone")
			# A veth end whose peer namespace is deleted goes with it, 30x faster than one by one.
			if (f[1] == "veth" && alias[e[1]] == mark && (e[2] in goingns)) continue
			# Both ends in the host: deleting the first deletes the second; never name it again.
			if (paired) continue
			# Its namespace is gone already (a killed down): the kernel is removing it, or a
			# process keeps that namespace alive. Deleted alone, where "already gone" is no error.
			if (f[1] == "veth" && e[2] != "-") { print e[1] > (dir "/loose"); nloose++; continue }
			explicit[++nexp] = "link del dev " e[1]
			paired = (f[1] == "veth")
		}
	}
	# Marked by the lab but named by no record (a version before the record, a lost record):
	# the mark says it is of the lab.
	for (dv in alias) if (alias[dv] == mark && !(dv in handled)) {
		print dv > (dir "/gone"); print dv > (dir "/loose"); nloose++
	}
	for (i = 1; i <= nexp; i++) root[++nroot] = explicit[i]
	for (i = 1; i <= ndel; i++) root[++nroot] = dels[i]
	if (notes != "") printf "%s", notes > "/dev/stderr"
	write_batches()
	print ndel + 0, nexp + nloose + 0 > (dir "/counts")
}
function note(what) { leave(what ": not created by lab " lab) }
function leave(why) { notes = notes lab ": leaving " why "\n" }
# Left, and still named in the intent that down keeps: the next run says the same of it.
function keep(claim, why) { leave(why); print claim > (dir "/keep") }
