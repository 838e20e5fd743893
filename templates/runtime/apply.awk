function up(    r, f, n, s, a, b, ip, net, i, out, named) {
	if (prune_reads(out) + lost_reads(out)) {
		for (n in out) print n, "all" > (dir "/reads")
		exit 5
	}
	prune()
	# A host device with the mark of the lab under a name no row has: a device of the lab renamed by
	# hand. It goes (a veth end with its peer), and what it was is made again under its name.
	for (r = 1; r <= rows; r++) names(key[r], named)
	for (i = 1; i <= nrec; i++) names(recrow[i], named)
	for (n in alias) if (alias[n] == mark && !(n in named))
		unstray("-", n, "device " n " in the host has the mark of the lab under a name it does not declare (renamed by hand)")
	for (r = 1; r <= rows; r++) {
		split(line[r], f, " ")
		if (hook_up(r, f)) continue
		if (f[1] == "netns") {
			n = f[3]; s = nsstate(n)
			if (s == "foreign") refuse("namespace " n " exists and was not created by lab " lab)
			else if (s == "stale-foreign") refuse("/run/netns/" n " is a stale file left by someone else; if it is garbage, remove it with: ip netns del " n)
			else if (s == "unconfirmed") refuse(unconfirmed("namespace " n, "ip netns del " n))
			else if (s == "missing" || s == "stale-ours") {
				# A batch of their own, so that their identities are recorded before anything
				# else is made in the host.
				if (s == "stale-ours") nsroot[++nnsroot] = "netns del " n
				nsroot[++nnsroot] = cmd[r]; intents[++nintents] = "netns " n; newns[n] = 1; nsnew++
			}
		} else if (f[1] == "veth") {
			a = newns[f[2]] ? "missing" : devstate(f[2], f[3])
			b = newns[f[4]] ? "missing" : devstate(f[4], f[5])
			# The end inside a namespace that was not looked into is there iff its host end is
			# and has its peer in that namespace: an end moved away by hand is missing.
			if (a == "unread") a = (b == "missing") ? "missing" : peerstate(f[5], f[2])
			if (b == "unread") b = (a == "missing") ? "missing" : peerstate(f[3], f[4])
			if (a == "foreign") refuse("device " f[3] " exists in the host and was not created by lab " lab)
			if (b == "foreign") refuse("device " f[5] " exists in the host and was not created by lab " lab)
			if (a == "unconfirmed") refuse(unconfirmed("device " f[3], "ip link del dev " f[3]))
			if (b == "unconfirmed") refuse(unconfirmed("device " f[5], "ip link del dev " f[5]))
			if (a == "foreign" || b == "foreign" || a == "unconfirmed" || b == "unconfirmed") continue
			if (a != "missing" && b == "missing") unstray(f[2], f[3], lost(f[2], f[3], f[4], f[5]))
			if (b != "missing" && a == "missing") unstray(f[4], f[5], lost(f[4], f[5], f[2], f[3]))
			if (a == "missing" || b == "missing") {
				emit("-", cmd[r]); created++
				if (f[2] == "-") create_root(f[3])
				if (f[4] == "-") create_root(f[5])
			}
		} else {
			if (f[1] == "addr" && f[2] == "-") {
				ip = f[4]; sub(/\/.*/, "", ip)
				if ((ip in hostip) && hostip[ip] != f[3] && !ours_root(hostip[ip]))
					refuse("address " ip " is already on host device " hostip[ip])
				net = f[5]
				if ((net in hostroute) && hostroute[net] != f[3] && !ours_root(hostroute[net]))
					refuse("the host already routes " net " through " hostroute[net] "; give the lab another subnet")
			}
			emit(f[2], cmd[r])
		}
	}
	if (errors != "") { printf "%s", errors > "/dev/stderr"; exit 1 }
	for (i = 1; i <= nlate; i++) emit(latens[i], latecmd[i])
	write_batches()
	hook_up_end()
	write_records()
	write_tc_batches()
	printf "" > (dir "/intent")
	for (i = 1; i <= nintents; i++) print intents[i] > (dir "/intent")
	print nsnew + 0, created + 0, nns + 0, removed + 0, nsgone + 0 > (dir "/counts")
}
# A device made by one command in the batch of the host (a bridge, say), marked when in the host.
# Returns the state it was found in.
function device_up(r, f,    s) {
	s = devstate(f[2], f[3])
	if (s == "foreign") refuse("device " f[3] " exists in the host and was not created by lab " lab)
	else if (s == "missing") { emit("-", cmd[r]); created++; if (f[2] == "-") create_root(f[3]) }
	else if (s == "unconfirmed") refuse(unconfirmed("device " f[3], "ip link del dev " f[3]))
	return s
}
# A veth whose end in the host is gone while its namespace stays: the pair is made and deleted
# whole, so that end was moved away by hand, and the end left in the namespace must be seen
# to be removed.
function lost_reads(out,    r, f, c) {
	for (r = 1; r <= rows; r++) {
		if (substr(line[r], 1, 5) != "veth ") continue
		split(line[r], f, " ")
		if (f[2] == "-" && f[4] != "-" && !(("-", f[3]) in dev) && !(f[4] in wasread)) c += needs(f[4], out)
		if (f[4] == "-" && f[2] != "-" && !(("-", f[5]) in dev) && !(f[2] in wasread)) c += needs(f[2], out)
	}
	return c
}
function names(row, named,    f, k, i) { k = split(row, f, " "); for (i = 2; i <= k; i++) named[f[i]] = 1 }
# One end of a veth pair exists without the other: it goes before the pair is made whole.
# WHY is what up says it repairs: a hand edit must not be mended in silence.
function unstray(n, d, why) { print n, d, why > (dir "/stray") }
function lost(n, d, pn, pd) {
	return "veth " place(n, d) " has lost its peer " place(pn, pd) " (moved or renamed by hand, or left by a killed run)"
}
function write_batches(    i, j, n, file) {
	file = dir "/batch.-"
	for (i = 1; i <= nroot; i++) print root[i] > file
	close(file)
	file = dir "/batch.late"
	for (i = 1; i <= nlateroot; i++) print lateroot[i] > file
	close(file)
	file = dir "/batch.netns"
	for (i = 1; i <= nnsroot; i++) print nsroot[i] > file
	close(file)
	# One file of sections, not a file per namespace: creating a thousand files in a directory
	# of /tmp (ext4) costs each a scan past every inode freed in the last minutes (by the last
	# run too), and that made the cost of up per namespace grow with the lab.
	file = dir "/batches"
	for (i = 1; i <= nns; i++) {
		n = nsorder[i]
		print "== " n > file
		for (j = 1; j <= nscount[n]; j++) print nsbatch[n, j] > file
	}
}
