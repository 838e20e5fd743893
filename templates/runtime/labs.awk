# The lines of `labs`: one per lab under ROOT (/run/nsgen), from "UID MODE PATH" lines of
# stat (ROOT, the directory of each lab and its files) and the record of each lab.
function bad(uid, mode) { return uid != 0 || substr(mode, length(mode) - 1) ~ /[2367]/ }
# Days since 1970-01-01 to a civil date (H. Hinnant): no strftime in POSIX awk.
function iso(t,    z, era, doe, yoe, doy, mp, d, m, y) {
	z = int(t / 86400) + 719468; era = int(z / 146097); doe = z - era * 146097
	yoe = int((doe - int(doe / 1460) + int(doe / 36524) - int(doe / 146096)) / 365)
	y = yoe + era * 400; doy = doe - (365 * yoe + int(yoe / 4) - int(yoe / 100))
	mp = int((5 * doy + 2) / 153); d = doy - int((153 * mp + 2) / 5) + 1
	m = mp < 10 ? mp + 3 : mp - 9; if (m <= 2) y++
	t %= 86400
	return sprintf("%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, int(t / 3600), int(t % 3600 / 60), t % 60)
}
{
	path = substr($0, length($1 $2) + 3)
	if (path == root) { if (bad($1, $2)) { refused = path; exit } ; next }
	name = substr(path, length(root) + 2); sub(/\/.*/, "", name)
	if (!(name in seen)) { seen[name] = 1; order[++n] = name }
	if (bad($1, $2) && !(name in why)) why[name] = path " is " ($1 != 0 ? "not owned by root" : "writable by group or others (mode " $2 ")")
}
END {
	if (refused != "") { print "nsgen: refusing: " refused " is not owned by root or is writable by group or others" > "/dev/stderr"; exit 1 }
	if (n) printf "%-20s %10s %12s  %-20s  %-64s  %s\n", "LAB", "NAMESPACES", "HOST-DEVICES", "UP", "SHA256", "SOURCE"
	for (i = 1; i <= n; i++) {
		lab = order[i]
		if (lab in why) { print "nsgen: " lab ": not listed: " why[lab] > "/dev/stderr"; status = 1; continue }
		nns = 0; ndev = 0; sha = "-"; when = "-"; src = "-"; lines = 0
		file = root "/" lab "/record"
		while ((getline rec < file) > 0) {
			lines++
			split(rec, f, " ")
			if (f[1] == "source") { sha = f[2]; when = iso(f[3]); src = substr(rec, length(f[1] f[2] f[3]) + 4) }
			else if (f[1] == "netns") nns++
			else if ((f[1] == "bridge" || f[1] == "tap" || f[1] == "vxlan") && f[2] == "-") ndev++
			else if (f[1] == "veth") ndev += (f[2] == "-") + (f[4] == "-")
		}
		close(file)
		if (!lines) {
			# A lab brought up by a version without the record: its namespaces only.
			file = root "/" lab "/netns"; ndev = "?"
			while ((getline rec < file) > 0) nns++
			close(file)
		}
		printf "%-20s %10s %12s  %-20s  %-64s  %s\n", lab, nns, ndev, when, sha, src
	}
	exit status
}
