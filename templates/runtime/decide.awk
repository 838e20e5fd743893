function nsstate(n) {
	if (!(n in fstype)) return "missing"
	if (fstype[n] != "nsfs") return ((n in owned) || (("netns " n) in intent)) ? "stale-ours" : "stale-foreign"
	if ((n in owned) && owned[n] == ino[n]) return "ours"
	# Named by the intent of a run killed before it recorded what it made: made by that run, or
	# made by someone else since. Only an identity read back after creation tells, and there
	# is none: never adopted, never removed, the user decides.
	if (("netns " n) in intent) return "unconfirmed"
	return "foreign"
}
# A device: "missing", "ours", "unconfirmed" (unmarked, named by the intent of a killed run), "foreign".
function devstate(n, d) {
	if (n != "-") {
		if (nsstate(n) != "ours") return "missing"
		if (!(n in wasread)) return "unread"
		return ((n, d) in dev) ? "ours" : "missing"
	}
	if (!(("-", d) in dev)) return "missing"
	if (alias[d] == mark) return "ours"
	if (("link " d) in intent) return "unconfirmed"
	return "foreign"
}
function ours_root(d) { return (("-", d) in dev) && alias[d] == mark }
# The one line for an object a killed run may have made: what to run if it is that leftover.
function unconfirmed(what, remedy) {
	return what ": made by someone else or by a run of lab " lab " killed before it recorded it; if nothing else uses it, remove it with: " remedy
}
function place(n, d) { return (n == "-" ? "host" : n) ":" d }
function refuse(msg) { errors = errors lab ": refusing: " msg "\n" }
function emit(n, line) {
	if (n == "-") { root[++nroot] = line; return }
	if (!(n in nscount)) nsorder[++nns] = n
	nsbatch[n, ++nscount[n]] = line
}
# Named in the intent file before the batch runs (for the message if the run is killed before
# the next line); marked right after it is created, in the same batch: the mark is its identity.
function create_root(d) { intents[++nintents] = "link " d; emit("-", "link set dev " d " alias " mark) }
# The lab records: the namespaces it created (with their inodes), and what a run was about
# to create when it last stopped.
BEGIN {
	while ((getline rec < (state "/netns")) > 0) {
		n = rec; sub(/ .*/, "", n); sub(/.*\//, "", n)
		owned[n] = substr(rec, index(rec, " ") + 1)
	}
	while ((getline rec < (state "/intent")) > 0) intent[rec] = 1
	# The value each sysctl had before the lab first wrote it: what pruning puts back.
	while ((getline rec < (state "/sysctl")) > 0) { split(rec, f, " "); sysorig[f[1], f[2]] = f[3] }
	# The record of everything the lab applied (docs/script.md, "Labs that change: the
	# record"): a version line, a source line, then one line per object, the fields of its
	# plan row.
	while ((getline rec < (state "/record")) > 0) {
		if (++nrecline == 1) { recversion = rec; continue }
		if (rec ~ /^source /) { recsource = rec; continue }
		if (!(rec in recorded)) { recorded[rec] = 1; recrow[++nrec] = rec }
		# The routes the lab made, keyed as the kernel keys them: a route there under such a
		# key that is not one of these (or of another protocol) belongs to someone else.
		if (rec ~ /^route /) { split(rec, f, " "); recroute[rkey(f)] = 1 }
	}
	# The kinds this script can undo (extra_row). A new kind of object adds its plan row, its
	# name here and its removal in extra_row; rows of kinds not listed are kept in the record.
	nk = split("netns bridge veth link addr route fwd tap qdisc sysctl macvlan", k, " ")
	for (i = 1; i <= nk; i++) known[k[i]] = 1
	FWD_OFF = "sh -c \"echo 0 >/proc/sys/net/ipv4/ip_forward && echo 0 >/proc/sys/net/ipv6/conf/all/forwarding\""
}
FILENAME == ARGV[1] {
	i = index($0, " | ")
	rows++; line[rows] = $0; cmd[rows] = i ? substr($0, i + 3) : ""
	# A kernel without IPv6 refuses the option, and makes no link-local address anyway.
	if (!ipv6) sub(/ addrgenmode none/, "", cmd[rows])
	key[rows] = fields(i ? substr($0, 1, i - 1) : $0); planned[key[rows]] = 1
	if ($1 == "netns") declns[$3] = 1
	else if ($1 == "link") plink[$2, $3] = key[rows]
	else if ($1 == "route") { split(key[rows], pf, " "); planroute[$2, $3, rfamily(pf), rmetric(pf)] = 1 }
	else if ($1 == "sysctl") plansysctl[$2, $3] = 1
	else if ($1 == "tap") ptap[$2, $3] = 1
	else if ($1 == "qdisc") pqdisc[$2, $3, $4] = 1
	next
}
/^== / {
	sec = $2; secns = $3
	if (sec == "json" && secns != "-") wasread[secns] = 1
	if ($4 == "all") full[secns] = 1
	next
}
sec == "perm" {
	if (permerr != "") next
	path = substr($0, length($1 $2) + 3)
	if ($1 != 0) permerr = path " is owned by uid " $1 ", not root"
	else if (substr($2, length($2) - 1) ~ /[2367]/) permerr = path " is writable by group or others (mode " $2 ")"
	next
}
sec == "ino" { n = $1; sub(/.*\//, "", n); ino[n] = substr($0, length($1) + 2); next }
sec == "fs" { n = $1; sub(/.*\//, "", n); fstype[n] = $2; next }
sec == "json" {
	if (index($0, "{\"ifindex\":")) jdevices(secns)
	else jroutes(secns)
	next
}
sec == "fwd" { fwd[secns] = fwd[secns] $1; next }
sec == "nsid" { jnsids(); next }
sec == "hosts" { hostsfile[++nhosts] = $1; hostsstate[nhosts] = $2; next }
sec == "more" { morestate[++nmore] = $1; morewhat[nmore] = substr($0, length($1) + 2); next }

END {
	if (permerr != "" && mode != "reads" && mode != "statusreads") {
		printf "%s: refusing: %s: this record cannot be trusted; check who changed it, then chown root and chmod go-w it, or remove it\n", lab, permerr > "/dev/stderr"
		exit 1
	}
	if (recversion != "" && recversion != "nsgen-record 1") {
		printf "%s: refusing: %s/record has format \"%s\"; this script reads \"nsgen-record 1\": use the nsgen that wrote it\n", lab, state, recversion > "/dev/stderr"
		exit 1
	}
	if ("-" in full) hostl3 = 1
	for (i = 1; i <= nrec; i++) if (!(recrow[i] in planned)) extra[++nextra] = recrow[i]
	if (mode == "reads" || mode == "statusreads") reads()
	else if (mode == "up") up()
	else if (mode == "down") down()
	else if (mode == "status") status()
}

# Namespaces whose devices cannot be seen from the host (bridges and veths inside them), and
# those where the lab routes ("NS routes": their routes are read with their devices, to tell the
# routes of the lab from those of others).
function reads(    r, f, n, seen, out, i) {
	prune_reads(out)
	for (n in out) { seen[n] = 1; print n, "all" }
	for (r = 1; r <= rows; r++) {
		split(line[r], f, " ")
		if (f[1] == "veth" && f[2] != "-" && f[4] != "-") { want(f[2], seen, ""); want(f[4], seen, "") }
		if (f[1] == "netns" && mode == "statusreads") want(f[3], seen, "")
		hook_reads(f, seen)
	}
	delete out
	if (mode == "reads") lost_reads(out)
	for (n in out) want(n, seen, "")
	for (i = 1; i <= nwanted; i++) print wanted[i] (seen[wanted[i]] != "" ? " " seen[wanted[i]] : "")
}
function want(n, seen, what) {
	if (nsstate(n) != "ours") return
	if (!(n in seen)) { wanted[++nwanted] = n; seen[n] = what }
	else if (seen[n] == "") seen[n] = what
}

