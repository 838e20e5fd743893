# The processes in the namespaces to delete, from "INODE /proc/PID/ns/net" lines of stat:
# "PID INODE" lines into file out; each one not seen before is named (first round) or
# counted (later rounds, which a supervisor or a forking shell cause).
BEGIN {
	while ((getline l < f) > 0) { split(l, a, " "); ns[a[2]] = a[1] }
	while ((getline l < seen) > 0) known[l] = 1
	# Or busybox awk keeps the file open for reading, and the appends below go nowhere.
	close(seen)
	printf "" > out
}
$1 in ns {
	pid = $2; sub(/^\/proc\//, "", pid); sub(/\/.*/, "", pid)
	if (pid == self) next
	print pid, $1 > out
	if (pid in known) next
	print pid >> seen
	if (!first) { later++; next }
	comm = "?"; file = "/proc/" pid "/comm"; getline comm < file; close(file)
	printf "%s: %s: %s pid %s (%s)\n", lab, ns[$1], dry ? "would stop" : "stopping", pid, comm
}
END { if (later) printf "%s: stopping %d more processes started meanwhile\n", lab, later }
