# ---- Runtime: the same for every lab. It reads the host's state once, compares it with the
# plan in one awk pass (linear in the size of the lab), and feeds only what is needed to one
# `ip -batch` for the host namespace and one `ip -n NS -batch` per namespace.

# The C locale: ip, awk and sort then print and order the same on every host, and each of
# the hundreds of processes verify starts skips loading a locale (ping calls setlocale):
# verify of a 300-namespace star took 0.44 s under C.UTF-8 and 0.36 s under C.
LC_ALL=C
export LC_ALL

# "LAB: [I/N] WHAT" starts phase I of N of a long action: nsgen's executor draws its progress
# bar from these lines, so keep that form when adding or renumbering phases.
say() { printf '%s: %s\n' "$LAB" "$*"; }
die() {
	printf '%s: error: %s\n' "$LAB" "$*" >&2
	exit 1
}
usage() {
	cat <<EOF
usage: sh ${0##*/} [up|down|status|verify|labs] [--dry-run]
  up       create what is missing, repair drift, remove what the lab no longer declares (default)
  down     remove everything lab $LAB applied on this host, in any version
  status   list declared objects as ok, missing or foreign, and undeclared ones as extra
           (exit 3 unless all ok)
  verify   ping every declared address and gateway, then the declared checks (exit 4 if any fails)
  labs     list every nsgen lab with state on this host
  --dry-run  with up or down: print the ip commands that would run, change nothing
EOF
}

ACTION=
DRY_RUN=0
for arg in "$@"; do
	case $arg in
	--dry-run | -n) DRY_RUN=1 ;;
	-h | --help)
		usage
		exit 0
		;;
	up | down | status | verify | labs)
		if [ -n "$ACTION" ]; then
			usage >&2
			exit 2
		fi
		ACTION=$arg
		;;
	*)
		printf '%s: unknown action or option: %s\n' "$LAB" "$arg" >&2
		usage >&2
		exit 2
		;;
	esac
done
ACTION=${ACTION:-up}
case $DRY_RUN.$ACTION in
1.status | 1.verify | 1.labs)
	printf '%s: --dry-run goes with up or down; %s changes nothing anyway\n' "$LAB" "$ACTION" >&2
	exit 2
	;;
esac

command -v ip >/dev/null 2>&1 || die "ip not found: install iproute2"
# A bridge spanning hosts floods through its tunnel with FDB entries: the bridge tool. #@tunnels
command -v bridge >/dev/null 2>&1 || die "bridge not found: install iproute2 (it has the bridge tool)" #@tunnels
if [ "$(id -u)" != 0 ] && [ "$ACTION" != labs ]; then
	case $0 in
	*.sh) die "needs root (CAP_NET_ADMIN): try sudo sh $0 $ACTION" ;;
	*) die "needs root (CAP_NET_ADMIN): run it with sudo" ;;
	esac
fi

# The lab's records decide what up and down may remove: nobody else may be able to write them.
umask 022
STATE_ROOT=${STATE%/*}

T=$(mktemp -d "${TMPDIR:-/tmp}/nsgen.XXXXXX")
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
plan >"$T/plan"

# What tells one namespace from another of the same name: the kernel reuses the inode number
# of a deleted namespace, so the nsfs inode's change time (in nanoseconds) goes with it.
NETNS_ID='%n %i %z'

# The namespace files of the lab, for one stat call that covers them all.
netns_files() {
	# shellcheck disable=SC2086 # nsgen names are [A-Za-z0-9_.-]: safe to split
	[ -z "$NAMESPACES" ] || printf '/run/netns/%s\n' $NAMESPACES
}

# Those, and every namespace the lab's records name (an earlier version's, a killed run's).
recorded_netns_files() {
	netns_files
	[ -d "$STATE" ] || return 0
	cat "$STATE/netns" "$STATE/record" "$STATE/intent" 2>/dev/null |
		awk '$1 ~ /^\/run\/netns\// { print $1 } $1 == "netns" && NF == 3 { print "/run/netns/" $3 }
			$1 == "netns" && NF == 2 { print "/run/netns/" $2 }' || :
}

# An `ip ... show` whose listing is whole. A dump that runs while the kernel adds or removes
# devices (another lab's, say) can be cut short or warn about a vanished peer namespace; such
# a listing would mislead the decisions, so it is taken again.
dump() {
	tries=0
	while :; do
		if "$@" >"$T/dump.out" 2>"$T/dump.err" && [ ! -s "$T/dump.err" ]; then
			cat "$T/dump.out"
			return 0
		fi
		tries=$((tries + 1))
		if [ "$tries" -ge 5 ]; then
			cat "$T/dump.err" >&2
			cat "$T/dump.out"
			return 0
		fi
		sleep 0.05 2>/dev/null || sleep 1
	done
}

# Everything up, down and status need to know about the host, in one file of sections.
observe_host() {
	{
		echo '== perm'
		stat -c '%u %a %n' "$STATE_ROOT" "$STATE" "$STATE"/* 2>/dev/null || :
		files=$(recorded_netns_files)
		echo '== ino'
		# shellcheck disable=SC2086 # see netns_files
		stat -c "$NETNS_ID" $files 2>/dev/null || :
		echo '== fs'
		# A killed `ip netns add` can leave a plain file here instead of an nsfs mount.
		# shellcheck disable=SC2086
		stat -f -c '%n %T' $files 2>/dev/null || :
		echo '== json -'
		dump ip -j link show
		if [ "$HOST_L3" = 1 ]; then
			dump ip -j address show
			dump ip -j route show
			dump ip -6 -j route show
		fi
		echo '== fdb -' #@tunnels
		dump bridge -j fdb show #@tunnels
	} >"$T/obs"
}

# TAP owners and the qdiscs of shaped devices, read only where the lab has them (or had
# them, by its record): a lab that never had either reads nothing more.
observe_links() {
	: >"$T/tcplaces"
	if [ -s "$STATE/record" ] && [ -z "${TC_NAMESPACES:-}" ]; then
		awk '$1 == "qdisc" && !seen[$2]++ { print $2 }' "$STATE/record" >"$T/tcplaces"
	fi
	[ -n "${TC_NAMESPACES:-}${TAP_NAMESPACES:-}" ] || [ -s "$T/tcplaces" ] || return 0
	{
		for ns in ${TAP_NAMESPACES:-}; do
			echo "== tun $ns"
			in_lab_netns "$ns" ip -d -j link show type tun
		done
		if [ -n "${TC_NAMESPACES:-}" ]; then
			{
				for ns in $TC_NAMESPACES; do echo "$ns"; done
				[ ! -s "$STATE/record" ] || awk '$1 == "qdisc" { print $2 }' "$STATE/record"
			} | awk '!seen[$0]++' >"$T/tcplaces"
		fi
		while read -r ns; do
			echo "== tc $ns"
			in_lab_netns "$ns" tc -j qdisc show </dev/null
		done <"$T/tcplaces"
		if [ -n "${TAP_NAMESPACES:-}" ]; then
			echo "== ids"
			# shellcheck disable=SC2046 # user and group names are [a-z0-9_.-]: safe to split
			account passwd u $(awk '$1 == "tap" && $4 != "-" { print $4 }' "$T/plan")
			# shellcheck disable=SC2046
			account group g $(awk '$1 == "tap" && $5 != "-" { print $5 }' "$T/plan")
		fi
	} >>"$T/obs"
}
in_lab_netns() {
	if [ "$1" = - ]; then
		shift
		"$@" 2>/dev/null || :
	elif [ -e "/run/netns/$1" ]; then
		ns_run "$@" 2>/dev/null || :
	fi
}
# "TAG NAME ID" for each user (or group) named or numbered, from NSS where getent exists.
account() {
	db=$1 tag=$2
	shift 2
	[ $# -gt 0 ] || return 0
	if command -v getent >/dev/null 2>&1; then
		getent "$db" "$@" || :
	else
		cat "/etc/$db"
	fi | awk -F: -v t="$tag" '{ print t, $1, $3 }'
}

# Whether the running kernel has qdisc KIND, found without changing anything: loaded
# (/sys/module, /proc/modules), built in or loadable (modules.builtin, modules.dep of the
# running kernel), or said by its config (/proc/config.gz). /sys/module alone proves
# nothing: a built-in module without parameters is not listed there (tbf, here).
qdisc_available() {
	[ -e "/sys/module/sch_$1" ] && return 0
	grep -qs "^sch_$1 " /proc/modules && return 0
	mods=/lib/modules/$(uname -r)
	grep -qs "/sch_$1\.ko" "$mods/modules.builtin" "$mods/modules.dep" && return 0
	if [ -r /proc/config.gz ] && command -v zcat >/dev/null 2>&1; then
		sym=$(echo "$1" | tr '[:lower:]' '[:upper:]')
		zcat /proc/config.gz | grep -Eq "^CONFIG_NET_SCH_$sym=[ym]\$"
		return
	fi
	[ ! -e "$mods/modules.dep" ] || return 1
	# Nothing to read: ask the kernel in a namespace of this process alone, which vanishes
	# with it (it loads the module where one exists, as the real qdisc would).
	command -v unshare >/dev/null 2>&1 || return 0
	case $1 in
	tbf) set -- tbf rate 1mbit burst 10kb latency 10ms ;;
	esac
	unshare --net tc qdisc add dev lo root "$@" >/dev/null 2>&1
}

# Before anything changes: tc is there and the kernel has every qdisc the lab needs.
check_links() {
	[ -n "${TC_NAMESPACES:-}" ] || return 0
	command -v tc >/dev/null 2>&1 || die "tc not found: install iproute2 (the lab shapes links)"
	awk '$1 == "qdisc" { k = $5; if (!(k in u)) o[++n] = k; u[k] = u[k] (u[k] == "" ? "" : ", ") ($2 == "-" ? "host" : $2) ":" $3 }
		END { for (i = 1; i <= n; i++) print o[i], u[o[i]] }' "$T/plan" >"$T/qdiscs"
	while read -r kind users; do
		qdisc_available "$kind" ||
			die "the kernel has no $kind qdisc (sch_$kind), needed by $users; nothing was changed"
	done <"$T/qdiscs"
}

# The shaping, after the devices exist: one `tc -batch` per namespace that needs a change.
run_tc_batches() {
	[ -s "$T/tcbatches" ] || return 0
	while read -r ns; do
		if [ "$DRY_RUN" = 1 ] && [ "$ns" = - ]; then
			sed 's|^|tc |' "$T/tcbatch.$ns"
		elif [ "$DRY_RUN" = 1 ]; then
			sed "s|^|tc -n $ns |" "$T/tcbatch.$ns"
		elif [ "$ns" = - ]; then
			tc -batch "$T/tcbatch.$ns" || die "shaping the host's devices failed (the tc errors are above)"
		else
			ns_run "$ns" tc -batch "$T/tcbatch.$ns" || die "shaping in $ns failed (the tc errors are above)"
		fi
	done <"$T/tcbatches"
}

# Run the plan through the decision program. MODE is up, down, status, or reads (which
# namespaces must be looked into before deciding).
decide() {
	NSGEN_SOURCE=$SOURCE awk -v mode="$1" -v mark="$MARK" -v lab="$LAB" -v dir="$T" -v state="$STATE" \
		-v hostl3="$HOST_L3" -v proto="$ROUTE_PROTO" -v sha="$SOURCE_SHA256" "$DECIDE" "$T/plan" "$T/obs"
}

# shellcheck disable=SC2016 # an awk program: its $ fields are awk's, not the shell's
DECIDE='
function nsstate(n) {
	if (!(n in fstype)) return "missing"
	if (fstype[n] != "nsfs") return ((n in owned) || (("netns " n) in intent)) ? "stale-ours" : "stale-foreign"
	if ((n in owned) && owned[n] == ino[n]) return "ours"
	if (("netns " n) in intent) return "ours"
	return "foreign"
}
# A device: "missing", "ours", "unmarked" (created by a run killed before it marked it), "foreign".
function devstate(n, d) {
	if (n != "-") {
		if (nsstate(n) != "ours") return "missing"
		if (!(n in wasread)) return "unread"
		return ((n, d) in dev) ? "ours" : "missing"
	}
	if (!(("-", d) in dev)) return "missing"
	if (alias[d] == mark) return "ours"
	if (("link " d) in intent) return "unmarked"
	return "foreign"
}
function ours_root(d) { return (("-", d) in dev) && (alias[d] == mark || (("link " d) in intent)) }
function place(n, d) { return (n == "-" ? "host" : n) ":" d }
function refuse(msg) { errors = errors lab ": refusing: " msg "\n" }
function emit(n, line) {
	if (n == "-") { root[++nroot] = line; return }
	if (!(n in nscount)) nsorder[++nns] = n
	nsbatch[n, ++nscount[n]] = line
}
# Recorded in the intent file before the batch runs; marked right after it is created.
function create_root(d) { intents[++nintents] = "link " d; emit("-", "link set dev " d " alias " mark) }
# Listings come from `ip -j`: one line per listing, an array of flat objects (addresses nest
# one level, in "addr_info"). Plain `ip -o link` would also name each veth peer namespace,
# scanning /run/netns: O(N) per call, and noisy when a stale file lies there.
function jstr(rec, key) {
	if (!match(rec, "\"" key "\":\"[^\"]*\"")) return "-"
	return substr(rec, RSTART + length(key) + 4, RLENGTH - length(key) - 5)
}
function jnum(rec, key) {
	if (!match(rec, "\"" key "\":[0-9]+")) return "-"
	return substr(rec, RSTART + length(key) + 3, RLENGTH - length(key) - 3)
}
# Devices (`link show`) or devices with their addresses (`address show`) of namespace n.
function jdevices(n,    k, parts, i, rec, name) {
	k = split($0, parts, /[{]"ifindex":/)
	for (i = 2; i <= k; i++) {
		rec = parts[i]
		name = jstr(rec, "ifname")
		if (index(rec, "\"addr_info\":")) { jaddresses(n, name, rec); continue }
		dev[n, name] = 1
		isup[n, name] = (rec ~ /"flags":[[][^]]*"UP"/)
		mtu[n, name] = jnum(rec, "mtu")
		master[n, name] = jstr(rec, "master")
		mac[n, name] = jstr(rec, "address")
		if (n == "-") alias[name] = jstr(rec, "ifalias")
	}
}
function jaddresses(n, name, rec,    k, parts, i, a, ip) {
	k = split(rec, parts, /[{]"family":/)
	for (i = 2; i <= k; i++) {
		a = parts[i]
		ip = jstr(a, "local")
		if (n == "-") { hostaddr[ip "/" jnum(a, "prefixlen")] = name; hostip[ip] = name }
		else addr[n, name, ip "/" jnum(a, "prefixlen")] = (index(a, "\"tentative\":true") ? "tentative" : "ok")
	}
}
# Flood entries of tunnel devices (`bridge -j fdb show`): the all-zero MAC and a dst. #@tunnels
function jflood(    k, parts, i, rec) { #@tunnels
	k = split($0, parts, /[}],[{]/) #@tunnels
	for (i = 1; i <= k; i++) { #@tunnels
		rec = parts[i] #@tunnels
		if (jstr(rec, "mac") == "00:00:00:00:00:00" && jstr(rec, "dst") != "-") fdb[jstr(rec, "ifname"), jstr(rec, "dst")] = 1 #@tunnels
	} #@tunnels
} #@tunnels
function jroutes(n,    k, parts, i, rec) {
	k = split($0, parts, /[}],[{]/)
	for (i = 1; i <= k; i++) {
		rec = parts[i]
		if (n == "-") hostroute[jstr(rec, "dst")] = jstr(rec, "dev")
		route[n, jstr(rec, "dst"), jstr(rec, "gateway")] = jstr(rec, "protocol")
		routedev[n, jstr(rec, "dst"), jstr(rec, "gateway")] = jstr(rec, "dev")
	}
}

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
	# The record of everything the lab applied (README, "The record"): a version line, a
	# source line, then one line per object, the fields of its plan row.
	while ((getline rec < (state "/record")) > 0) {
		if (++nrecline == 1) { recversion = rec; continue }
		if (rec ~ /^source /) { recsource = rec; continue }
		if (!(rec in recorded)) { recorded[rec] = 1; recrow[++nrec] = rec }
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
	key[rows] = fields(i ? substr($0, 1, i - 1) : $0); planned[key[rows]] = 1
	if ($1 == "netns") declns[$3] = 1
	else if ($1 == "link") plink[$2, $3] = key[rows]
	else if ($1 == "route") planroute[$2, $3, family($4)] = 1
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
sec == "hosts" { hostsfile[++nhosts] = $1; hostsstate[nhosts] = $2; next }
sec == "more" { morestate[++nmore] = $1; morewhat[nmore] = substr($0, length($1) + 2); next }
sec == "sysctl" { v = $2; for (i = 3; i <= NF; i++) v = v "," $i; sysval[secns, $1] = v; next }
sec == "tun" { if (index($0, "{\"ifindex\":")) jtun(secns); next }
sec == "tc" { if (index($0, "{\"kind\":")) jqdiscs(secns); next }
sec == "ids" { ids[$1, $2] = $3; ids[$1, $3] = $3; next }
sec == "fdb" { jflood(); next } #@tunnels

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

# Namespaces whose devices cannot be seen from the host (bridges and veths inside them).
function reads(    r, f, n, seen, out) {
	prune_reads(out)
	for (n in out) { seen[n] = 1; print n, "all" }
	for (r = 1; r <= rows; r++) {
		split(line[r], f, " ")
		if (f[1] == "bridge" && f[2] != "-") want(f[2], seen)
		if (f[1] == "macvlan") want(f[2], seen)
		if (f[1] == "veth" && f[2] != "-" && f[4] != "-") { want(f[2], seen); want(f[4], seen) }
		if (f[1] == "vxlan" && f[2] != "-") want(f[2], seen) #@tunnels
		if (f[1] == "netns" && mode == "statusreads") want(f[3], seen)
		if (f[1] == "tap" && f[2] != "-") want(f[2], seen)
	}
}
function want(n, seen) { if (!(n in seen) && nsstate(n) == "ours") { seen[n] = 1; print n } }

# ---- What the lab applied earlier and no longer declares. Rows of the record that are not
# rows of the plan are "extra": removed by up, listed by status, and removed by down with all
# the rest. Only what is there now is removed, found by the same reads as everything else:
# the namespaces to read in full are those holding extra objects, so an unchanged lab costs
# no read more than before.
function family(ip) { return index(ip, ":") ? 6 : 4 }
# Under /proc/sys: dots separate, a slash stands for a dot in a device name; values: commas
# stand for blanks.
function sysctl_path(k) { gsub(/\//, "\001", k); gsub(/\./, "/", k); gsub(/\001/, ".", k); return k }
function fields(s,    p, n, i, out) {
	n = split(s, p, " "); out = p[1]
	for (i = 2; i <= n; i++) out = out " " p[i]
	return out
}
# A namespace whose contents are kept (the host, or a declared namespace of the lab)).
function alive(n) { return n == "-" || (!(n in going) && (n in declns) && nsstate(n) == "ours") }
function prune_reads(out,    i, f, c, p, devgoing) {
	for (i = 1; i <= nextra; i++) {
		split(extra[i], f, " ")
		if (f[1] == "bridge" || f[1] == "macvlan") devgoing[f[2], f[3]] = 1
		if (f[1] == "vxlan") devgoing[f[2], f[3]] = 1 #@tunnels
		else if (f[1] == "veth") { devgoing[f[2], f[3]] = 1; devgoing[f[4], f[5]] = 1 }
	}
	for (i = 1; i <= nextra; i++) {
		split(extra[i], f, " ")
		if ((f[1] == "bridge" && f[2] != "-") || f[1] == "macvlan") c += needs(f[2], out)
		if (f[1] == "vxlan" && f[2] != "-") c += needs(f[2], out) #@tunnels
		else if (f[1] == "veth" && f[2] != "-" && f[4] != "-") c += needs(f[2], out) + needs(f[4], out)
		else if (f[1] == "addr" && !((f[2], f[3]) in devgoing)) c += needs(f[2], out)
		else if (f[1] == "route" && !((f[2], f[3], family(f[4])) in planroute)) c += needs(f[2], out)
		else if (f[1] == "tap" && f[2] != "-" && !((f[2], f[3]) in ptap)) c += needs(f[2], out)
		else if (f[1] == "link" && f[2] != "-" && ((f[2], f[3]) in plink)) {
			split(plink[f[2], f[3]], p, " ")
			if ((f[4] != "-" && p[4] == "-") || (f[5] != "-" && p[5] == "-")) c += needs(f[2], out)
		}
	}
	return c
}
function needs(n, out) {
	if (n == "-") { if (hostl3 || ("-" in out)) return 0; out["-"] = 1; return 1 }
	if (!alive(n) || (n in full) || (n in out)) return 0
	out[n] = 1
	return 1
}
# The device is gone, and with a veth its peer: later decisions see it missing.
function forget(n, d) { delete dev[n, d]; if (n == "-") delete alias[d] }
# For one extra row: what it is (or "" when nothing of it is left to remove), and with act,
# the commands that remove it: device deletions inside a namespace in the prune batch of
# that namespace (run before the batch of the host), the rest at the start of the batches.
function extra_row(row, act,    f, s, d, p, n) {
	split(row, f, " ")
	if (f[1] == "netns") {
		if (f[3] in declns) return ""
		s = nsstate(f[3])
		if (s != "ours" && s != "stale-ours") return ""
		if (act) { going[f[3]] = 1; goner[++ngoners] = f[3] }
		return "namespace " f[3]
	}
	# A tunnel end goes as a bridge does; a flood entry of a tunnel device that stays goes alone. #@tunnels
	if (f[1] == "vxlan") { #@tunnels
		if (f[2] == "-" ? !ours_root(f[3]) : !(alive(f[2]) && ((f[2], f[3]) in dev))) return "" #@tunnels
		if (act) { unapply(f[2], "link del dev " f[3]); forget(f[2], f[3]) } #@tunnels
		return "vxlan " place(f[2], f[3]) #@tunnels
	} #@tunnels
	if (f[1] == "fdb") { #@tunnels
		if (!((f[3], f[4]) in fdb) || !ours_root(f[3])) return "" #@tunnels
		if (act) { removed++; floodel[++nfloodel] = "fdb del 00:00:00:00:00:00 dev " f[3] " dst " f[4] } #@tunnels
		return "flood " f[3] " to " f[4] #@tunnels
	} #@tunnels
	if (f[1] == "bridge") {
		if (f[2] == "-" ? !ours_root(f[3]) : !(alive(f[2]) && ((f[2], f[3]) in dev))) return ""
		if (act) { unapply(f[2], "link del dev " f[3]); forget(f[2], f[3]) }
		return "bridge " place(f[2], f[3])
	}
	if (f[1] == "macvlan") {
		if (!(alive(f[2]) && ((f[2], f[3]) in dev))) return ""
		if (act) { unapply(f[2], "link del dev " f[3]); forget(f[2], f[3]) }
		return "macvlan " place(f[2], f[3]) " on " f[4] " (" f[5] ")"
	}
	if (f[1] == "veth") {
		if (f[2] == "-" && ours_root(f[3])) { n = "-"; d = f[3] }
		else if (f[4] == "-" && ours_root(f[5])) { n = "-"; d = f[5] }
		else if (f[2] != "-" && alive(f[2]) && ((f[2], f[3]) in dev)) { n = f[2]; d = f[3] }
		else if (f[4] != "-" && alive(f[4]) && ((f[4], f[5]) in dev)) { n = f[4]; d = f[5] }
		else return ""
		if (act) { unapply(n, "link del dev " d); forget(f[2], f[3]); forget(f[4], f[5]) }
		return "veth " place(f[2], f[3]) " <-> " place(f[4], f[5])
	}
	if (!alive(f[2])) return ""
	if (f[1] == "addr") {
		if (f[2] == "-" ? hostaddr[f[4]] != f[3] || !ours_root(f[3]) : !((f[2], f[3], f[4]) in addr) || !((f[2], f[3]) in dev)) return ""
		# Removed last, once the addresses declared now are on: with promote_secondaries on,
		# removing the primary address of a subnet keeps the others (added by a person, say) and the
		# routes through it.
		if (act) {
			removed++; latens[++nlate] = f[2]; latecmd[nlate] = "address del " f[4] " dev " f[3]
			if (f[4] !~ /:/) print f[2], f[3] > (dir "/promote")
		}
		return "address " f[4] " on " place(f[2], f[3])
	}
	if (f[1] == "route") {
		# Only a route of the protocol of nsgen: a route of a daemon to the same place stays. A
		# route still declared with another gateway is replaced in place instead.
		if (!((f[2], f[3], f[4]) in route) || route[f[2], f[3], f[4]] != proto) return ""
		if ((f[2], f[3], family(f[4])) in planroute || !((f[2], routedev[f[2], f[3], f[4]]) in dev)) return ""
		if (act) unapply(f[2], "route del " f[3] " via " f[4] " proto " proto)
		return "route " f[3] " via " f[4] " in " (f[2] == "-" ? "host" : f[2])
	}
	if (f[1] == "link") {
		# Attributes no longer declared on a device that stays: back to the defaults of the kernel.
		if (!((f[2], f[3]) in plink) || !((f[2], f[3]) in dev)) return ""
		split(plink[f[2], f[3]], p, " ")
		s = ""
		if (f[4] != "-" && p[4] == "-" && master[f[2], f[3]] == f[4]) s = s " nomaster"
		if (f[5] != "-" && p[5] == "-" && mtu[f[2], f[3]] == f[5]) s = s " mtu 1500"
		if (s == "") return ""
		if (act) unapply(f[2], "link set dev " f[3] s)
		return "link " place(f[2], f[3]) (index(s, "nomaster") ? " master " f[4] : "") (index(s, "mtu") ? " mtu " f[5] : "")
	}
	if (f[1] == "tap" || f[1] == "qdisc") return extra_link(f, act)
	if (f[1] == "fwd") {
		if ((f[2] in wasread) && fwd[f[2]] == "00") return ""
		if (act) unapply("-", "netns exec " f[2] " " FWD_OFF)
		return "forwarding in " f[2]
	}
	if (f[1] == "sysctl") {
		if (!((f[2], f[3]) in sysorig) || ((f[2], f[3]) in plansysctl)) return ""
		s = sysorig[f[2], f[3]]; gsub(/,/, " ", s)
		if (act) unapply("-", "netns exec " f[2] " sh -c \"echo " s " >/proc/sys/" sysctl_path(f[3]) "\"")
		gsub(/,/, " ", f[4])
		return "sysctl " f[3] " = " f[4] " in " f[2]
	}
	return ""
}
# A host device and a namespace are deleted at the start of the batch of the host, where a
# failure stops the run (each was seen to be there, and to be of the lab). The rest goes to prune
# batches run before it, one per namespace, with -force: a removal that fails finds its
# object gone already (the kernel removes the secondary addresses of a subnet with its primary).
function unapply(n, cmdline) {
	removed++
	if (n == "-" && cmdline ~ /^(link del|netns del) /) { emit(n, cmdline); return }
	if (!(n in nprune)) pruneorder[++nprunens] = n
	prunebatch[n, ++nprune[n]] = cmdline
}
function prune(    i, j, n, f, file) {
	# Namespaces first, so that nothing inside one that goes is removed on its own; routes
	# before addresses, which take the routes through them along.
	for (i = 1; i <= nextra; i++) if (extra[i] ~ /^netns /) extra_row(extra[i], 1)
	for (i = 1; i <= nextra; i++) if (extra[i] ~ /^(bridge|veth|macvlan) /) extra_row(extra[i], 1)
	for (i = 1; i <= nextra; i++) if (extra[i] ~ /^vxlan /) extra_row(extra[i], 1) #@tunnels
	for (i = 1; i <= ngoners; i++) {
		n = goner[i]
		# Processes in it are stopped first (see stop_processes), or it would live on unnamed.
		split(ino[n], f, " "); print n, f[1] > (dir "/stop")
		unapply("-", "netns del " n); nsgone++
	}
	for (i = 1; i <= nextra; i++) if (extra[i] ~ /^route /) extra_row(extra[i], 1)
	for (i = 1; i <= nextra; i++) if (extra[i] !~ /^(netns|bridge|veth|macvlan|route) /) extra_row(extra[i], 1)
	for (i = 1; i <= nprunens; i++) {
		n = pruneorder[i]; file = dir "/prune." n
		for (j = 1; j <= nprune[n]; j++) print prunebatch[n, j] > file
		close(file); print n > (dir "/prunes")
	}
}
# The record as this run leaves it: before anything is applied, all it had and all that is
# about to be applied (a killed run leaves a superset, which the next run prunes); after a
# run that completed, exactly the rows of the plan and any rows of kinds this script cannot
# undo (from a newer nsgen), kept for the version that can.
function write_records(    r, i, new, file, head, f) {
	srand(); now = srand()
	head = "nsgen-record 1\nsource " sha " " now " " ENVIRON["NSGEN_SOURCE"]
	for (r = 1; r <= rows; r++) if (!(key[r] in recorded)) new++
	split(recsource, f, " ")
	if (new || f[2] != sha) {
		file = dir "/record.pre"
		print head > file
		for (i = 1; i <= nrec; i++) print recrow[i] > file
		for (r = 1; r <= rows; r++) if (!(key[r] in recorded)) print key[r] > file
		close(file)
	}
	if (new || f[2] != sha || nextra) {
		file = dir "/record.post"
		print head > file
		for (r = 1; r <= rows; r++) print key[r] > file
		for (i = 1; i <= nextra; i++) { split(extra[i], f, " "); if (!(f[1] in known)) print extra[i] > file }
		close(file)
	}
}

function up(    r, f, n, s, a, b, ip, net, i, out) {
	if (prune_reads(out)) {
		for (n in out) print n, "all" > (dir "/reads")
		exit 5
	}
	prune()
	for (r = 1; r <= rows; r++) {
		split(line[r], f, " ")
		if (f[1] == "netns") {
			n = f[3]; s = nsstate(n)
			if (s == "foreign") refuse("namespace " n " exists and was not created by lab " lab)
			else if (s == "stale-foreign") refuse("/run/netns/" n " is a stale file left by someone else; if it is garbage, remove it with: ip netns del " n)
			else if (s == "missing" || s == "stale-ours") {
				if (s == "stale-ours") root[++nroot] = "netns del " n
				emit("-", cmd[r]); intents[++nintents] = "netns " n; newns[n] = 1; nsnew++
			}
		} else if (f[1] == "bridge") { #@single
		} else if (f[1] == "bridge" || f[1] == "vxlan") { #@tunnels
			s = devstate(f[2], f[3])
			if (s == "foreign") refuse("device " f[3] " exists in the host and was not created by lab " lab)
			else if (s == "missing") { emit("-", cmd[r]); created++; if (f[2] == "-") create_root(f[3]) }
			else if (s == "unmarked") emit("-", "link set dev " f[3] " alias " mark)
		} else if (f[1] == "macvlan") {
			# "macvlan NS NAME PARENT MODE": made on PARENT, a device of the host, never changed.
			if (!(("-", f[4]) in dev)) refuse("macvlan " place(f[2], f[3]) ": its parent " f[4] " is not a device of the host")
			else if (ours_root(f[4])) refuse("macvlan " place(f[2], f[3]) ": its parent " f[4] " is a device of lab " lab)
			else if (newns[f[2]] || devstate(f[2], f[3]) == "missing") { emit("-", cmd[r]); created++ }
		} else if (f[1] == "veth") {
			a = newns[f[2]] ? "missing" : devstate(f[2], f[3])
			b = newns[f[4]] ? "missing" : devstate(f[4], f[5])
			# The end inside a namespace that was not looked into is there iff its host end is.
			if (a == "unread") a = (b == "missing") ? "missing" : "ours"
			if (b == "unread") b = (a == "missing") ? "missing" : "ours"
			if (a == "foreign") refuse("device " f[3] " exists in the host and was not created by lab " lab)
			if (b == "foreign") refuse("device " f[5] " exists in the host and was not created by lab " lab)
			if (a == "foreign" || b == "foreign") continue
			if (a != "missing" && b == "missing") unstray(f[2], f[3])
			if (b != "missing" && a == "missing") unstray(f[4], f[5])
			if (a == "missing" || b == "missing") {
				emit("-", cmd[r]); created++
				if (f[2] == "-") create_root(f[3])
				if (f[4] == "-") create_root(f[5])
			} else {
				if (a == "unmarked") emit("-", "link set dev " f[3] " alias " mark)
				if (b == "unmarked") emit("-", "link set dev " f[5] " alias " mark)
			}
		} else if (f[1] == "tap") tap_up(r, f)
		else if (f[1] == "qdisc") qdisc_up(r, f)
		else if (f[1] == "fdb") flood[++nflood] = cmd[r] #@tunnels
		else {
			if (f[1] == "addr" && f[2] == "-") {
				ip = f[4]; sub(/\/.*/, "", ip)
				if ((ip in hostip) && hostip[ip] != f[3] && !ours_root(hostip[ip]))
					refuse("address " ip " is already on host device " hostip[ip])
				net = f[5]
				if ((net in hostroute) && hostroute[net] != f[3] && !ours_root(hostroute[net]))
					refuse("the host already routes " net " through " hostroute[net] "; give the lab another subnet")
			}
			# Test membership before reading: reading an awk array element creates it.
			if (f[1] == "route" && f[2] == "-" && (f[3] in hostroute) && !ours_root(hostroute[f[3]]))
				refuse("the host already has a route to " f[3] " (dev " hostroute[f[3]] ")")
			emit(f[2], cmd[r])
		}
	}
	if (errors != "") { printf "%s", errors > "/dev/stderr"; exit 1 }
	for (i = 1; i <= nlate; i++) emit(latens[i], latecmd[i])
	write_batches()
	for (i = 1; i <= nfloodel; i++) print floodel[i] > (dir "/flood") #@tunnels
	for (i = 1; i <= nflood; i++) print flood[i] > (dir "/flood") #@tunnels
	write_records()
	write_tc_batches()
	printf "" > (dir "/intent")
	for (i = 1; i <= nintents; i++) print intents[i] > (dir "/intent")
	print nsnew + 0, created + 0, nns + 0, removed + 0, nsgone + 0 > (dir "/counts")
}
# One end of a veth pair exists without the other: it goes before the pair is made whole.
function unstray(n, d) { print n, d > (dir "/stray") }
function write_batches(    i, j, n, file) {
	file = dir "/batch.-"
	for (i = 1; i <= nroot; i++) print root[i] > file
	close(file)
	for (i = 1; i <= nns; i++) {
		n = nsorder[i]; file = dir "/batch." n
		for (j = 1; j <= nscount[n]; j++) print nsbatch[n, j] > file
		# Not "batch.list": that is the batch of a namespace called "list".
		close(file); print n > (dir "/batches")
	}
}

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
		if ((f[1] == "bridge" || f[1] == "tap") && f[2] == "-") { d[1] = f[3]; k = 1 } #@single
		if ((f[1] == "bridge" || f[1] == "tap" || f[1] == "vxlan") && f[2] == "-") { d[1] = f[3]; k = 1 } #@tunnels
		else if (f[1] == "veth") {
			k = 0
			if (f[2] == "-") d[++k] = f[3] SUBSEP f[4]
			if (f[4] == "-") d[++k] = f[5] SUBSEP f[2]
		} else continue
		paired = 0
		for (i = 1; i <= k; i++) {
			split(d[i], e, SUBSEP)
			handled[e[1]] = 1
			if (!(("-", e[1]) in dev)) continue
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
function note(what) { notes = notes lab ": leaving " what ": not created by lab " lab "\n" }

# ---- TAP devices and qdiscs: rows "tap NS DEV OWNER GROUP" and
# "qdisc NS DEV root|child tbf RATE-BYTES/S BURST-BYTES LATENCY-US" or
# "qdisc NS DEV root netem DELAY-US JITTER-US LOSS-PERCENT", from `ip -d -j link show type
# tun`, `tc -j qdisc show` and getent, read only where the lab has them.
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
function jqdiscs(n,    k, parts, i, rec, d) {
	k = split($0, parts, /[{]"kind":/)
	for (i = 2; i <= k; i++) {
		rec = "{\"kind\":" parts[i]; d = jstr(rec, "dev")
		if (index(rec, "\"root\":true")) { qroot[n, d] = rec; qhandle[n, d] = jstr(rec, "handle") }
		else if (jstr(rec, "parent") == "6e73:1") qchild[n, d] = rec
	}
}
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
function temit(n, line) {
	if (!(n in tccount)) tcorder[++ntc] = n
	tcbatch[n, ++tccount[n]] = line
}
# `tc qdisc replace` cannot change the kind of a qdisc under the same handle: a root of
# nsgen of another kind goes first. Unchanged qdiscs are not touched (tbf would drop its
# queue).
function qdisc_up(r, f,    key, x) {
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
function write_tc_batches(    i, j, n, file) {
	for (i = 1; i <= ntc; i++) {
		n = tcorder[i]; file = dir "/tcbatch." n
		for (j = 1; j <= tccount[n]; j++) print tcbatch[n, j] > file
		close(file); print n > (dir "/tcbatches")
	}
}
# A TAP or qdisc of the record that the plan no longer has (see extra_row). A TAP still
# declared with another owner, or a qdisc still declared on its device, is changed in place.
function extra_link(f, act,    n, d, c) {
	n = f[2]; d = f[3]
	if (f[1] == "tap") {
		if ((n, d) in ptap) return ""
		if (n == "-" ? !ours_root(d) : !((n, d) in dev)) return ""
		if (act) { unapply(n, "link del dev " d); forget(n, d) }
		return "tap " place(n, d)
	}
	# Only on a device that stays: a device that goes takes its qdiscs along.
	if (((n, d, f[4]) in pqdisc) || !((n, d) in plink)) return ""
	if (f[4] == "root") {
		if (qhandle[n, d] != "6e73:") return ""
		c = "qdisc del dev " d " root"
	} else {
		# Gone with its root when that goes too.
		if (qchild[n, d] == "" || !((n, d, "root") in pqdisc)) return ""
		c = "qdisc del dev " d " parent 6e73:1 handle 6e74:"
	}
	if (act) { removed++; temit(n, c) }
	return "qdisc " f[5] " on " place(n, d)
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
function tap_up(r, f,    n, d, s, x) {
	n = f[2]; d = f[3]
	if (f[4] != "-" && f[4] !~ /^[0-9]+$/ && !(("u", f[4]) in ids))
		refuse("user " f[4] ", the owner of TAP " place(n, d) ", does not exist on this host")
	if (f[5] != "-" && f[5] !~ /^[0-9]+$/ && !(("g", f[5]) in ids))
		refuse("group " f[5] " of TAP " place(n, d) " does not exist on this host")
	s = newns[n] ? "missing" : devstate(n, d)
	if (s == "foreign") { refuse("device " d " exists in the host and was not created by lab " lab); return }
	if (s == "missing") {
		emit(n, cmd[r]); created++
		if (n == "-") create_root(d)
		return
	}
	if (s == "unmarked") emit("-", "link set dev " d " alias " mark)
	x = tapdrift(f)
	if (x == "") return
	# The owner of a TAP is set only as it is created (TUNSETOWNER needs it open): re-create it.
	emit(n, (x == "not a TAP" ? "link del dev " d : "tuntap del dev " d " mode tap"))
	emit(n, cmd[r])
	if (n == "-") emit("-", "link set dev " d " alias " mark)
}

function status(    r, f, s, n, what, bad, total, cnt, key) {
	for (r = 1; r <= rows; r++) {
		split(line[r], f, " ")
		what = ""; s = ""
		if (f[1] == "netns") {
			s = nsstate(f[3]); what = "namespace " f[3]
			if (s == "stale-ours" || s == "stale-foreign") s = "broken"
			else if (s == "ours") s = "ok"
		} else if (f[1] == "bridge") { #@single
		} else if (f[1] == "bridge" || f[1] == "vxlan") { #@tunnels
			s = devstate(f[2], f[3]); what = "bridge " place(f[2], f[3]) #@single
			s = devstate(f[2], f[3]); what = f[1] " " place(f[2], f[3]) #@tunnels
		} else if (f[1] == "macvlan") {
			s = devstate(f[2], f[3]); what = "macvlan " place(f[2], f[3]) " on " f[4] " (" f[5] ")"
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
		} else if (f[1] == "route") {
			what = "route " f[3] " via " f[4] " in " (f[2] == "-" ? "host" : f[2])
			if (f[2] == "-") s = (f[3] in hostroute) && ours_root(hostroute[f[3]]) ? "ok" : "missing"
			else s = ((f[2], f[3], f[4]) in route) ? "ok" : "missing"
		} else if (f[1] == "fwd") {
			what = "forwarding in " f[2]
			s = (fwd[f[2]] == "11") ? "ok" : "off"
		} else if (f[1] == "sysctl") {
			what = "sysctl " f[3] " = " f[4] " in " f[2]; gsub(/,/, " ", what)
			if (!((f[2], f[3]) in sysval)) s = "missing"
			else if (sysval[f[2], f[3]] != f[4]) { s = "drifted (" sysval[f[2], f[3]] ")"; gsub(/,/, " ", s) }
			else s = "ok"
		} else if (f[1] == "tap") {
			what = "tap " place(f[2], f[3]) (f[4] != "-" ? " owner " f[4] : "") (f[5] != "-" ? " group " f[5] : "")
			s = devstate(f[2], f[3])
			if (s == "ours" && tapdrift(f) != "") s = "drifted (" tapdrift(f) ")"
		} else if (f[1] == "qdisc") {
			what = "qdisc on " place(f[2], f[3]) ": " substr(cmd[r], index(cmd[r], ": ") + 2)
			s = devstate(f[2], f[3])
			if (s == "ours") s = qstate(f)
		} else if (f[1] == "fdb") { #@tunnels
			what = "flood " f[3] " to " f[4] #@tunnels
			s = ((f[3], f[4]) in fdb) ? "ok" : "missing" #@tunnels
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
'

# Commands inside a namespace. `ip -n` and `ip netns exec` also make a private copy of the
# mount table, which holds one mount per namespace on the host: that makes each call O(N)
# and a whole lab O(N^2). nsenter --net only switches the network namespace (measured 3.5x
# faster per call with 1000 namespaces); ip is the fallback where nsenter is missing.
if command -v nsenter >/dev/null 2>&1; then
	ns_run() {
		_ns=$1
		shift
		nsenter --net="/run/netns/$_ns" "$@"
	}
	ns_ip() {
		_ns=$1
		shift
		nsenter --net="/run/netns/$_ns" ip "$@"
	}
else
	ns_run() {
		_ns=$1
		shift
		ip netns exec "$_ns" "$@"
	}
	ns_ip() {
		_ns=$1
		shift
		ip -n "$_ns" "$@"
	}
fi

# Run one prepared batch file in the host or in namespace NS, or print it under --dry-run
# as the equivalent one-line commands.
run_batch() {
	[ -s "$1" ] || return 0
	if [ "$DRY_RUN" = 1 ]; then
		sed "s|^|ip ${2:+-n $2 }|" "$1"
	elif [ -n "${2:-}" ]; then
		ns_ip "$2" -batch "$1"
	else
		ip -batch "$1"
	fi
}

# The host's addresses and routes, for a lab that otherwise needs only its devices: the
# record names a host address or route to remove.
host_reads() {
	echo "== json - all"
	dump ip -j address show
	dump ip -j route show
	dump ip -6 -j route show
}

# MODE listed: the namespaces in $T/reads, as decide up listed them ("NS all": in full, for
# the record's objects to remove; "- all": the host's addresses and routes).
do_reads() {
	mode=$1
	[ "$mode" = listed ] || decide "$mode" >"$T/reads"
	if [ "$mode" = statusreads ]; then
		status_reads
		[ "$SYSCTLS" = 0 ] || while read -r ns _; do [ "$ns" = - ] || read_sysctls "$ns"; done <"$T/reads" >>"$T/obs"
		return
	fi
	while read -r ns what; do
		if [ "$ns" = - ]; then
			host_reads
			continue
		fi
		if [ "$what" = all ]; then
			echo "== json $ns all"
			ns_ip "$ns" -j -batch - <<EOF
link show
address show
route show
EOF
			ns_ip "$ns" -6 -j route show
			echo "== fwd $ns"
			ns_run "$ns" cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/all/forwarding
			[ "$SYSCTLS" = 0 ] || read_sysctls "$ns"
		else
			echo "== json $ns"
			ns_ip "$ns" -j link show
		fi
	done <"$T/reads" >>"$T/obs"
}

# ---- sysctls inside the lab's namespaces ([namespaces.NS] sysctls). Plan rows
# "sysctl NS KEY VALUE PROBE": VALUE with its words joined by commas, PROBE the /proc/sys path
# that shows the kernel has KEY (for a per-device key, its `default` counterpart: the device
# may not exist yet).

# Before anything changes: every key must exist in a network namespace. A new one, made by
# unshare and gone with it, has exactly the per-namespace keys; without unshare the host's
# own namespace is the nearest proxy.
check_sysctls() {
	awk '$1 == "sysctl" { print $5, $3 }' "$T/plan" | sort -u >"$T/sysctl.probe"
	# shellcheck disable=SC2016 # a program for the sh that unshare runs
	probe='while read -r p k; do [ -e "/proc/sys/$p" ] || echo "$k"; done'
	if command -v unshare >/dev/null 2>&1 && unshare --net true 2>/dev/null; then
		unshare --net sh -c "$probe" <"$T/sysctl.probe" >"$T/sysctl.missing"
	else
		sh -c "$probe" <"$T/sysctl.probe" >"$T/sysctl.missing"
	fi
	[ -s "$T/sysctl.missing" ] || return 0
	die "the kernel has no sysctl $(tr '\n' ' ' <"$T/sysctl.missing")inside a network namespace (a host-wide key, or one this kernel lacks): nothing was changed"
}

# $STATE/sysctl: "NS KEY VALUE" for each declared key, the value it had before the lab first
# wrote it, read once (after the namespaces and devices exist, before their batches run);
# pruning a key no longer declared puts that value back. Keys no longer declared are dropped.
save_sysctls() {
	[ "$DRY_RUN" = 0 ] || return 0
	awk -v f="$STATE/sysctl" -v new="$T/sysctl.new" '
		BEGIN { while ((getline l < f) > 0) { split(l, a, " "); old[a[1] " " a[2]] = l } }
		$1 != "sysctl" { next }
		($2 " " $3) in old { print old[$2 " " $3] > new; next }
		{ print $2, $3 }' "$T/plan" >"$T/sysctl.read"
	[ -s "$T/sysctl.read" ] || [ -e "$STATE/sysctl" ] || return 0
	cut -d' ' -f1 "$T/sysctl.read" | sort -u >"$T/sysctl.ns"
	while read -r ns; do
		awk -v ns="$ns" '$1 == ns { print $2 }' "$T/sysctl.read" >"$T/sysctl.keys"
		# shellcheck disable=SC2016 # a program for the namespace's own sh
		ns_run "$ns" sh -c 'while read -r k; do
			v=$(tr "\t " ",," <"/proc/sys/$(echo "$k" | tr ./ /.)" 2>/dev/null) && echo "$0 $k $v"
		done' "$ns" <"$T/sysctl.keys" >>"$T/sysctl.new"
	done <"$T/sysctl.ns"
	[ -d "$STATE" ] || mkdir -p "$STATE"
	if [ -s "$T/sysctl.new" ]; then mv "$T/sysctl.new" "$STATE/sysctl"; else rm -f "$STATE/sysctl"; fi
}

# "KEY VALUE" for each of namespace $1's declared keys, its section of the observations.
read_sysctls() {
	awk -v ns="$1" '$1 == "sysctl" && $2 == ns { print $3 }' "$T/plan" >"$T/sysctl.keys"
	[ -s "$T/sysctl.keys" ] || return 0
	echo "== sysctl $1"
	# shellcheck disable=SC2016 # a program for the namespace's own sh
	ns_run "$1" sh -c 'while read -r k; do
		v=$(tr "\t" " " <"/proc/sys/$(echo "$k" | tr ./ /.)" 2>/dev/null) && echo "$k $v"
	done' <"$T/sysctl.keys"
}

# ---- Names (names = true): /etc/netns/NS/hosts, which `ip netns exec NS` bind-mounts over
# /etc/hosts, in every namespace of the lab. A file is the lab's when its first line is the
# lab's mark; $STATE/hosts lists the directories it wrote a file in, "DIR created" when nsgen
# made the directory (down removes it once empty) and "DIR existed" when it did not.

hosts_mark() { echo "# $MARK hosts: written by nsgen for lab $LAB; up rewrites it, down removes it"; }

# "ok", "missing", "foreign" (not written by this lab) or "drifted" for the file in $1.
hosts_state() {
	if [ ! -e "$1" ]; then
		echo missing
	elif ! head -n 1 "$1" | cmp -s - "$T/hosts.mark"; then
		echo foreign
	elif cmp -s "$T/hosts" "$1"; then
		echo ok
	else
		echo drifted
	fi
}

# Before anything changes: a hosts file the lab did not write is refused like a foreign device.
check_hosts() {
	hosts_mark >"$T/hosts.mark"
	hosts_file >"$T/hosts"
	for ns in $NAMESPACES; do
		[ "$(hosts_state "/etc/netns/$ns/hosts")" != foreign ] && continue
		printf '%s: refusing: /etc/netns/%s/hosts exists and was not written by lab %s\n' "$LAB" "$ns" "$LAB" >&2
		exit 1
	done
}

write_hosts() {
	for ns in $NAMESPACES; do
		d=/etc/netns/$ns
		state=$(hosts_state "$d/hosts")
		if [ "$DRY_RUN" = 1 ]; then
			[ "$state" = ok ] || echo "write $d/hosts"
			continue
		fi
		[ -d "$STATE" ] || mkdir -p "$STATE"
		[ -d /etc/netns ] || grep -q "^/etc/netns " "$STATE/hosts" 2>/dev/null || echo "/etc/netns created" >>"$STATE/hosts"
		if ! grep -q "^$d " "$STATE/hosts" 2>/dev/null; then
			# Recorded first, so a run killed here still knows the directory is nsgen's.
			if [ -d "$d" ]; then echo "$d existed"; else echo "$d created"; fi >>"$STATE/hosts"
			mkdir -p "$d"
		fi
		[ "$state" = ok ] || { cp "$T/hosts" "$d/hosts.nsgen" && mv "$d/hosts.nsgen" "$d/hosts"; }
	done
}

# Remove the lab's hosts files that are no longer declared (all of them with $1 = all, for
# down), and the directories nsgen made for them once empty; a file someone else wrote stays.
prune_hosts() {
	[ -s "$STATE/hosts" ] || return 0
	hosts_mark >"$T/hosts.mark"
	: >"$T/hosts.keep"
	if [ "$1" != all ] && [ "$NAMES" = 1 ]; then
		{
			echo /etc/netns
			for ns in $NAMESPACES; do echo "/etc/netns/$ns"; done
		} >"$T/hosts.keep"
	fi
	# Newest first, so that /etc/netns itself (when nsgen made it) goes after the directories in it.
	awk 'FILENAME == ARGV[1] { keep[$1] = 1; next } !($1 in keep) { gone[++n] = $0 }
		END { while (n) print gone[n--] }' "$T/hosts.keep" "$STATE/hosts" >"$T/hosts.gone"
	while read -r d how; do
		if [ -e "$d/hosts" ] && [ "$(hosts_state "$d/hosts")" != foreign ]; then
			if [ "$DRY_RUN" = 1 ]; then echo "rm $d/hosts"; else rm -f "$d/hosts"; fi
		fi
		[ "$how" != created ] || [ "$DRY_RUN" = 1 ] || rmdir "$d" 2>/dev/null || :
	done <"$T/hosts.gone"
	[ "$DRY_RUN" = 0 ] || return 0
	awk 'FILENAME == ARGV[1] { keep[$1] = 1; next } $1 in keep' "$T/hosts.keep" "$STATE/hosts" >"$T/hosts.left"
	if [ -s "$T/hosts.left" ]; then mv "$T/hosts.left" "$STATE/hosts"; else rm -f "$STATE/hosts"; fi
}

# The status section: each declared namespace's file.
observe_hosts() {
	hosts_mark >"$T/hosts.mark"
	hosts_file >"$T/hosts"
	echo "== hosts"
	for ns in $NAMESPACES; do
		echo "/etc/netns/$ns/hosts $(hosts_state "/etc/netns/$ns/hosts")"
	done
}

# ---- NAT ([host] nat): the lab's own nftables table, and host IPv4 forwarding, which every
# lab with NAT on this host shares. $STATE/nat says the lab applied its table (so down, and
# an up that no longer declares NAT, remove it); the forwarding record is host-wide, in the
# format of the other host-wide records under /run/nsgen/.host: "original KEY FOUND SET"
# (the value found before the first lab turned it on, and the value nsgen set) and one
# "lab NAME 1" per lab that holds it. It is changed under host_lock.

NAT_TABLE="nsgen-$LAB"
FORWARD_RECORD=/run/nsgen/.host/forward

# The lock of a host-wide record ($1), between the labs of one host: mkdir is atomic. One left
# by a killed run is taken over after 5 s. Released with rmdir "$1.lock".
host_lock() {
	mkdir -p "${1%/*}"
	tries=0
	until mkdir "$1.lock" 2>/dev/null; do
		tries=$((tries + 1))
		if [ "$tries" -ge 100 ]; then
			rmdir "$1.lock" 2>/dev/null || :
			tries=0
		fi
		sleep 0.05 2>/dev/null || sleep 1
	done
}

# Hold host IPv4 forwarding on for this lab, recording what was found the first time.
forward_hold() {
	fwd_now=$(cat /proc/sys/net/ipv4/ip_forward)
	if [ "$DRY_RUN" = 1 ]; then
		[ "$fwd_now" = 1 ] || echo "sysctl -w net.ipv4.ip_forward=1"
		return 0
	fi
	host_lock "$FORWARD_RECORD"
	[ -e "$FORWARD_RECORD" ] || : >"$FORWARD_RECORD"
	awk -v lab="$LAB" -v now="$fwd_now" -v out="$T/forward.new" '
		$1 == "original" { found = $3; have = 1 }
		$1 == "lab" && $2 != lab { labs[++n] = $0 }
		END {
			print "# nsgen: host IPv4 forwarding turned on by [host] nat (README: NAT)" > out
			print "original net.ipv4.ip_forward", (have ? found : now), 1 > out
			for (i = 1; i <= n; i++) print labs[i] > out
			print "lab", lab, 1 > out
		}' "$FORWARD_RECORD"
	mv "$T/forward.new" "$FORWARD_RECORD"
	if [ "$fwd_now" != 1 ]; then
		echo 1 >/proc/sys/net/ipv4/ip_forward
		say "host IPv4 forwarding was $fwd_now: turned on for NAT (put back when the last lab with NAT on this host goes)"
	fi
	rmdir "$FORWARD_RECORD.lock"
}

# Let go of it: the last lab that held it puts back what was found, unless someone changed it.
forward_release() {
	[ -e "$FORWARD_RECORD" ] && grep -q "^lab $LAB " "$FORWARD_RECORD" || return 0
	fwd_now=$(cat /proc/sys/net/ipv4/ip_forward)
	others=$(awk -v lab="$LAB" '$1 == "lab" && $2 != lab { n++ } END { print n + 0 }' "$FORWARD_RECORD")
	found=$(awk '$1 == "original" { print $3 }' "$FORWARD_RECORD")
	if [ "$DRY_RUN" = 1 ]; then
		[ "$others" != 0 ] || [ "$fwd_now" != 1 ] || [ "$found" = 1 ] || echo "sysctl -w net.ipv4.ip_forward=$found"
		return 0
	fi
	host_lock "$FORWARD_RECORD"
	if [ "$others" != 0 ]; then
		grep -v "^lab $LAB " "$FORWARD_RECORD" >"$T/forward.new"
		mv "$T/forward.new" "$FORWARD_RECORD"
		say "host IPv4 forwarding stays on: $others other lab(s) with NAT still need it"
	else
		if [ "$fwd_now" = 1 ] && [ "$found" != 1 ]; then
			echo "$found" >/proc/sys/net/ipv4/ip_forward
			say "host IPv4 forwarding put back to $found, as it was before NAT"
		elif [ "$fwd_now" != 1 ]; then
			say "leaving host IPv4 forwarding at $fwd_now: it was changed after nsgen turned it on"
		fi
		rm -f "$FORWARD_RECORD"
	fi
	rmdir "$FORWARD_RECORD.lock"
}

# Before anything changes.
check_nat() {
	command -v nft >/dev/null 2>&1 || die "[host] nat needs nftables and nft is not installed: nothing was changed"
}

apply_nat() {
	if [ "$DRY_RUN" = 1 ]; then
		echo "nft -f - (table ip $NAT_TABLE, replaced whole):"
		nat_rules | sed 's/^/  /'
		forward_hold
		return 0
	fi
	[ -d "$STATE" ] || mkdir -p "$STATE"
	# Recorded first: a run killed after this still lets down remove the table.
	: >"$STATE/nat"
	forward_hold
	nat_rules | nft -f - || die "nft refused the table ip $NAT_TABLE (the error is above)"
}

remove_nat() {
	if command -v nft >/dev/null 2>&1 && nft list table ip "$NAT_TABLE" >/dev/null 2>&1; then
		if [ "$DRY_RUN" = 1 ]; then echo "nft delete table ip $NAT_TABLE"; else nft delete table ip "$NAT_TABLE"; fi
	fi
	forward_release
	[ "$DRY_RUN" = 1 ] || rm -f "$STATE/nat"
}

observe_nat() {
	echo "== more"
	if nft list table ip "$NAT_TABLE" >/dev/null 2>&1; then echo "ok nat table ip $NAT_TABLE"; else echo "missing nat table ip $NAT_TABLE"; fi
	fwd_now=$(cat /proc/sys/net/ipv4/ip_forward)
	if [ "$fwd_now" = 1 ]; then echo "ok host IPv4 forwarding (for NAT)"; else echo "off host IPv4 forwarding (for NAT)"; fi
}

# status: everything it compares in a namespace (devices, addresses, routes of both families,
# forwarding) from one `ip -batch` inside it, the namespaces spread over one worker per CPU as
# up's batches are. `route show table all` is the one listing of both families in a batch; the
# netconf line becomes the "fwd" section (IPv4 then IPv6 forwarding of "all").
status_reads() {
	[ -s "$T/reads" ] || return 0
	! grep -q '^- ' "$T/reads" || host_reads >>"$T/obs"
	grep -q -v '^- ' "$T/reads" || return 0
	printf 'link show\naddress show\nroute show table all\nnetconf show\n' >"$T/sread.batch"
	workers=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
	awk -v n="$workers" -v f="$T/sread." '$1 != "-" { print $1 > (f "ns." (NR % n)) }' "$T/reads"
	pids=
	for list in "$T"/sread.ns.*; do
		(while read -r ns; do
			echo "== json $ns all"
			ns_ip "$ns" -j -batch "$T/sread.batch"
		done <"$list" >"$list.out") &
		pids="$pids $!"
	done
	for pid in $pids; do
		wait "$pid" || :
	done
	cat "$T"/sread.ns.*.out | awk '
		/^== json / { ns = $3; print; next }
		/^[[][{]"family":/ {
			print "== fwd " ns
			v4 = 0; v6 = 0
			if ($0 ~ /"family":"inet","interface":"all","forwarding":true/) v4 = 1
			if ($0 ~ /"family":"inet6","interface":"all","forwarding":true/) v6 = 1
			print v4; print v6
			next
		}
		{ print }' >>"$T/obs"
}

# A veth end without its peer: left by a run killed halfway, or on its way out (the kernel
# removes the veth ends of a deleted namespace's pairs a moment later, so a crashed down leaves
# some). Remove it and wait until it is gone, so that the pair can be created again.
clear_strays() {
	[ -s "$T/stray" ] || return 0
	while read -r ns dev; do
		set -- ip
		[ "$ns" = - ] || set -- ns_ip "$ns"
		if [ "$DRY_RUN" = 1 ]; then
			[ "$ns" = - ] && echo "ip link del dev $dev" || echo "ip -n $ns link del dev $dev"
			continue
		fi
		"$@" link del dev "$dev" 2>/dev/null || :
		tries=0
		while "$@" link show dev "$dev" >/dev/null 2>&1; do
			tries=$((tries + 1))
			[ "$tries" -lt 400 ] || die "$dev is still present; cannot re-create its veth pair"
			sleep 0.05 2>/dev/null || sleep 1
		done
	done <"$T/stray"
}

# Replace a record file with the one decide prepared, in one rename.
save_record() {
	[ -s "$T/$1" ] && [ "$DRY_RUN" = 0 ] || return 0
	[ -d "$STATE" ] || mkdir -p "$STATE"
	cp "$T/$1" "$STATE/record.new"
	mv "$STATE/record.new" "$STATE/record"
}

up() {
	[ "$SYSCTLS" = 0 ] || check_sysctls
	[ "$NAMES" = 0 ] || check_hosts
	[ "$NAT" = 0 ] || check_nat
	daemons check #@daemons
	check_links
	observe_host
	[ "$NS_READS" = 0 ] || do_reads reads
	observe_links
	decide up && decided=0 || decided=$?
	if [ "$decided" = 5 ]; then
		# The record names objects to remove in namespaces not read yet.
		do_reads listed
		decide up
	elif [ "$decided" != 0 ]; then
		exit "$decided"
	fi
	read -r nsnew created nns removed nsgone <"$T/counts"
	phase=1 phases=2
	[ "$removed" = 0 ] || phases=3
	# Written before anything is applied: a killed run leaves a record of all it may have done.
	save_record record.pre
	record=0
	if [ "$DRY_RUN" = 0 ] && { [ -s "$T/intent" ] || [ -e "$STATE/intent" ] || [ "$nsgone" != 0 ]; }; then
		record=1
		[ -d "$STATE" ] || mkdir -p "$STATE"
		# Written before anything is created: a run killed halfway leaves a record that lets
		# the next run tell its own unmarked objects from foreign ones.
		cat "$T/intent" >>"$STATE/intent"
	fi
	if [ "$removed" != 0 ]; then
		say "[1/3] removing $removed objects the lab no longer declares ($nsgone namespaces)"
		phase=2
		stop_processes
		if [ -s "$T/prunes" ]; then
			while read -r ns; do
				if [ "$DRY_RUN" = 1 ]; then
					run_batch "$T/prune.$ns" "${ns#-}"
				elif [ "$ns" = - ]; then
					ip -force -batch "$T/prune.-" 2>/dev/null || :
				else
					ns_ip "$ns" -force -batch "$T/prune.$ns" 2>/dev/null || :
				fi
			done <"$T/prunes"
		fi
	fi
	if [ -s "$T/promote" ] && [ "$DRY_RUN" = 0 ]; then
		while read -r ns dev; do
			in_netns "$ns" sh -c "echo 1 >/proc/sys/net/ipv4/conf/$dev/promote_secondaries"
		done <"$T/promote"
	fi
	clear_strays
	neighbour_table up
	if [ "$nsnew" != 0 ] || [ "$created" != 0 ]; then
		say "[$phase/$phases] creating $nsnew namespaces and $created devices"
	fi
	run_batch "$T/batch.-"
	run_flood #@tunnels
	if [ "$record" = 1 ]; then
		# shellcheck disable=SC2046
		stat -c "$NETNS_ID" $(netns_files) >"$STATE/netns.new" 2>/dev/null || :
		mv "$STATE/netns.new" "$STATE/netns"
		rm -f "$STATE/intent"
	fi
	say "[$phases/$phases] configuring $nns namespaces"
	[ "$SYSCTLS" = 0 ] && [ ! -e "$STATE/sysctl" ] || save_sysctls
	run_namespace_batches
	run_tc_batches
	[ "$NAMES" = 0 ] || write_hosts
	[ ! -e "$STATE/hosts" ] || prune_hosts declared
	if [ "$NAT" = 1 ]; then apply_nat; elif [ -e "$STATE/nat" ]; then remove_nat; fi
	save_record record.post
	daemons up #@daemons
	[ "$DRY_RUN" = 1 ] || say "up"
}

# Head-end replication: a bridge spanning hosts floods to each other host through its tunnel. #@tunnels
run_flood() { #@tunnels
	[ -s "$T/flood" ] || return 0 #@tunnels
	if [ "$DRY_RUN" = 1 ]; then #@tunnels
		sed 's|^|bridge |' "$T/flood" #@tunnels
	else #@tunnels
		bridge -batch "$T/flood" #@tunnels
	fi #@tunnels
} #@tunnels
 #@tunnels
# A namespace that is deleted while processes run in it lives on without a name, and so do
# its veth ends: stop them first (TERM, then KILL after a grace period), each named. They
# are found by their network namespace's inode, the one its /run/netns file shows.
stop_processes() {
	[ -s "$T/stop" ] || return 0
	stat -L -c '%i %n' /proc/[0-9]*/ns/net 2>/dev/null | awk -v f="$T/stop" -v lab="$LAB" -v dry="$DRY_RUN" -v out="$T/pids" -v self="$$" '
		BEGIN { while ((getline l < f) > 0) { split(l, a, " "); ns[a[2]] = a[1] } }
		$1 in ns {
			pid = $2; sub(/^\/proc\//, "", pid); sub(/\/.*/, "", pid)
			if (pid == self) next
			comm = "?"; file = "/proc/" pid "/comm"; getline comm < file; close(file)
			printf "%s: %s: %s pid %s (%s)\n", lab, ns[$1], dry ? "would stop" : "stopping", pid, comm
			print pid, $1 > out
		}'
	[ "$DRY_RUN" = 0 ] && [ -s "$T/pids" ] || return 0
	signal=TERM tries=0
	while :; do
		# shellcheck disable=SC2046 # pids: digits
		kill -"$signal" $(cut -d' ' -f1 "$T/pids") 2>/dev/null || :
		while [ "$tries" -lt 40 ]; do
			sleep 0.05 2>/dev/null || sleep 1
			tries=$((tries + 1))
			still_running || return 0
		done
		[ "$signal" = TERM ] || die "processes still running in a namespace to delete: $(cut -d' ' -f1 "$T/pids" | tr '\n' ' ')"
		signal=KILL tries=20
	done
}

# Whether any process in $T/pids is still in the namespace it was found in (a zombie has
# left it already).
still_running() {
	# shellcheck disable=SC2046
	stat -L -c '%i %n' $(awk '{ print "/proc/" $1 "/ns/net" }' "$T/pids") 2>/dev/null |
		awk -v f="$T/pids" 'BEGIN { while ((getline l < f) > 0) { split(l, a, " "); want["/proc/" a[1] "/ns/net"] = a[2] } }
			want[$2] == $1 { c++ } END { exit c ? 0 : 1 }'
}

# One worker per CPU: each namespace batch spends most of its time entering the namespace, so
# batches for different namespaces overlap well. They are independent: every device they
# configure was created by the host batch before.
run_namespace_batches() {
	[ -s "$T/batches" ] || return 0
	workers=1
	[ "$DRY_RUN" = 1 ] || workers=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
	if [ "$workers" -le 1 ]; then
		while read -r ns; do run_batch "$T/batch.$ns" "$ns"; done <"$T/batches"
		return
	fi
	awk -v n="$workers" -v f="$T/worker." '{ print > (f (NR % n)) }' "$T/batches"
	pids=
	for list in "$T"/worker.*; do
		(while read -r ns; do run_batch "$T/batch.$ns" "$ns"; done <"$list") &
		pids="$pids $!"
	done
	failed=0
	for pid in $pids; do
		wait "$pid" || failed=1
	done
	[ "$failed" = 0 ] || die "configuring the namespaces failed (the ip errors are above)"
}

# Wait until every device in FILE has left the host namespace.
wait_gone() {
	tries=0
	while :; do
		# While the kernel removes devices a link dump can be cut short ("Dump was
		# interrupted"): such a listing proves nothing, so it only counts as a retry.
		left=$(ip -br link show 2>"$T/dump.err" | awk -v f="$1" '
			BEGIN { while ((getline d < f) > 0) want[d] = 1 }
			{ n = $1; sub(/@.*/, "", n); if (n in want) c++ }
			END { print c + 0 }')
		[ "$left" = 0 ] && [ ! -s "$T/dump.err" ] && return 0
		tries=$((tries + 1))
		[ "$tries" -lt "$2" ] || return 1
		sleep 0.05 2>/dev/null || sleep 1
	done
}

down() {
	observe_host
	decide down
	read -r nsdel devdel <"$T/counts"
	say "[1/1] removing $nsdel namespaces and $devdel devices"
	daemons down #@daemons
	stop_processes
	if [ -s "$T/macvlans" ]; then
		while read -r ns dev; do
			if [ "$DRY_RUN" = 1 ]; then echo "ip -n $ns link del dev $dev"; else ns_ip "$ns" link del dev "$dev" 2>/dev/null || :; fi
		done <"$T/macvlans"
	fi
	run_batch "$T/batch.-"
	if [ -s "$T/loose" ]; then
		while read -r d; do
			if [ "$DRY_RUN" = 1 ]; then
				echo "ip link del dev $d"
			else
				ip link del dev "$d" 2>/dev/null || :
			fi
		done <"$T/loose"
	fi
	[ ! -e "$STATE/hosts" ] || prune_hosts all
	[ "$NAT" = 0 ] && [ ! -e "$STATE/nat" ] || remove_nat
	neighbour_table down
	[ "$DRY_RUN" = 0 ] || return 0
	rm -rf "$STATE"
	if [ -s "$T/gone" ] && ! wait_gone "$T/gone" 400; then
		# The kernel normally removes a deleted namespace's veth peers within a second.
		while read -r d; do ip link del dev "$d" 2>/dev/null || :; done <"$T/gone"
		wait_gone "$T/gone" 100 || die "devices still present after down: $(tr '\n' ' ' <"$T/gone")"
	fi
	say "down"
}

status() {
	observe_host
	[ "$NAMES" = 0 ] || observe_hosts >>"$T/obs"
	[ "$NAT" = 0 ] || observe_nat >>"$T/obs"
	daemons status >>"$T/obs" #@daemons
	do_reads statusreads
	observe_links
	decide status
}

# Every lab with state on this host, one line each, read from the records (README, "The
# record"); a record that others could have written is named and skipped.
labs() {
	[ -d "$STATE_ROOT" ] || return 0
	stat -c '%u %a %n' "$STATE_ROOT" "$STATE_ROOT"/* "$STATE_ROOT"/*/* >"$T/perm" 2>/dev/null || :
	awk -v root="$STATE_ROOT" '
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
					else if (f[1] == "bridge" && f[2] == "-") ndev++
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
		}' "$T/perm"
}

# ---- Why pings across a bridge fail: the firewall. With bridge netfilter on (br_netfilter,
# as on every Docker host), frames between the ports of a bridge traverse the FORWARD chain of
# the bridge's namespace, and Docker sets its policy to DROP. verify names what blocks and the
# rule that lets each of the lab's bridges through; nothing here changes the firewall.

# Run a command in namespace $1 ("-" is the host).
in_netns() {
	if [ "$1" = - ]; then
		shift
		"$@"
	else
		ns_run "$@"
	fi
}

# For namespace $1, IP family $2 (4 or 6) and the bridges that follow: say what drops their
# traffic, and append the commands that would allow it to $T/fixes.
firewall_blocks() {
	fw_ns=$1
	if [ "$2" = 4 ]; then
		fw_tool=iptables fw_sysctl=bridge-nf-call-iptables fw_family=ip
	else
		fw_tool=ip6tables fw_sysctl=bridge-nf-call-ip6tables fw_family=ip6
	fi
	shift 2
	[ "$(in_netns "$fw_ns" cat "/proc/sys/net/bridge/$fw_sysctl" 2>/dev/null)" = 1 ] || return 0
	fw_where=host
	fw_exec=
	if [ "$fw_ns" != - ]; then
		fw_where="namespace $fw_ns"
		fw_exec="ip netns exec $fw_ns "
	fi
	fw_on="bridge netfilter is on in the $fw_where (net.bridge.$fw_sysctl = 1)"
	fw_iptables=0
	if command -v "$fw_tool" >/dev/null 2>&1 &&
		in_netns "$fw_ns" "$fw_tool" -S FORWARD 2>/dev/null | grep -qx -- '-P FORWARD DROP'; then
		fw_iptables=1
		fw_blocked=
		for br in "$@"; do
			in_netns "$fw_ns" "$fw_tool" -C FORWARD -i "$br" -o "$br" -j ACCEPT 2>/dev/null && continue
			fw_blocked="$fw_blocked $br"
			echo "$fw_exec$fw_tool -I FORWARD -i $br -o $br -j ACCEPT" >>"$T/fixes"
		done
		[ -z "$fw_blocked" ] ||
			say "$fw_on and the $fw_tool FORWARD policy is DROP: it drops traffic across bridge$fw_blocked"
	fi
	if command -v nft >/dev/null 2>&1; then
		# Forward chains with policy drop of this family or inet; iptables-nft's own chain
		# was reported above.
		in_netns "$fw_ns" nft list ruleset 2>/dev/null | awk -v fam="$fw_family" -v seen="$fw_iptables" '
			$1 == "table" { f = $2; t = $3 }
			$1 == "chain" { c = $2 }
			/hook forward/ && /policy drop/ && (f == fam || f == "inet") &&
				!(seen && f == fam && t == "filter" && c == "FORWARD") { print f, t, c }' >"$T/nftdrop"
		while read -r f t c; do
			fw_blocked=
			for br in "$@"; do
				in_netns "$fw_ns" nft list chain "$f" "$t" "$c" 2>/dev/null |
					grep -q "iifname \"$br\" oifname \"$br\" .*accept" && continue
				fw_blocked="$fw_blocked $br"
				echo "${fw_exec}nft 'insert rule $f $t $c iifname \"$br\" oifname \"$br\" accept'" >>"$T/fixes"
			done
			[ -z "$fw_blocked" ] ||
				say "$fw_on and nftables chain $f $t $c has policy drop: it drops traffic across bridge$fw_blocked"
		done <"$T/nftdrop"
	elif [ "$fw_iptables" = 0 ] && ! command -v "$fw_tool" >/dev/null 2>&1; then
		say "$fw_on: a FORWARD policy of DROP there drops traffic across bridge $* (neither $fw_tool nor nft is installed to check)"
	fi
}

diagnose_firewall() {
	: >"$T/fixes"
	awk '$1 == "bridge" { if (!($2 in b)) o[++n] = $2; b[$2] = b[$2] " " $3 }
		END { for (i = 1; i <= n; i++) print o[i] b[o[i]] }' "$T/plan" >"$T/bridges"
	fw_families=$(awk '$1 == "addr" { if ($4 ~ /:/) six = " 6"; else four = " 4" }
		END { print four six }' "$T/plan")
	while read -r fw_holder fw_bridges; do
		for family in $fw_families; do
			# shellcheck disable=SC2086 # bridge names are [A-Za-z0-9_.-]: safe to split
			firewall_blocks "$fw_holder" "$family" $fw_bridges </dev/null
		done
	done <"$T/bridges"
	[ -s "$T/fixes" ] || return 0
	say "to let the lab's bridges forward (nsgen never changes the firewall), run:"
	awk '!seen[$0]++ { print "  " $0 }' "$T/fixes"
}

# ---- The neighbour (ARP and NDP) tables. The kernel keeps one per family for every network
# namespace together, sized by gc_thresh1/2/3, which exist only in the host's initial
# namespace; an entry younger than 5 s cannot be collected. A lab that needs more entries than
# gc_thresh3 stalls, and its pings fail, though nothing in it is wrong.

NEIGH_RECORD=/run/nsgen/.host/neigh

# "FAMILY ENTRIES TABLE-FULLS" for IPv4 and IPv6, host-wide (the statistics files are per table,
# so they read the same in every namespace). The counts are hexadecimal, one line per CPU.
neigh_fulls() {
	for fam in 4 6; do
		file=/proc/net/stat/arp_cache
		[ "$fam" = 4 ] || file=/proc/net/stat/ndisc_cache
		[ -r "$file" ] || continue
		awk -v fam="$fam" '
			function hex(s,    i, n) {
				n = 0; s = tolower(s)
				for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
				return n
			}
			NR == 1 { for (i = 1; i <= NF; i++) if ($i == "table_fulls") col = i; next }
			{ entries = hex($1); if (col) fulls += hex($col) }
			END { print fam, entries + 0, fulls + 0 }' "$file"
	done
}

neigh_need() { if [ "$1" = 4 ]; then echo "$NEIGH4"; else echo "$NEIGH6"; fi; }

# The six gc_thresh values, IPv4's three then IPv6's, in $GC; empty outside the host's initial
# namespace, where they are absent. One cat: a sysctl file reads whole or not at all.
gc_load() {
	GC=$(cat /proc/sys/net/ipv4/neigh/default/gc_thresh1 /proc/sys/net/ipv4/neigh/default/gc_thresh2 \
		/proc/sys/net/ipv4/neigh/default/gc_thresh3 /proc/sys/net/ipv6/neigh/default/gc_thresh1 \
		/proc/sys/net/ipv6/neigh/default/gc_thresh2 /proc/sys/net/ipv6/neigh/default/gc_thresh3 \
		2>/dev/null) || GC=
}

# Frames the host dropped because a CPU's input backlog was full, all CPUs together (the
# second column of softnet_stat, hexadecimal).
backlog_drops() {
	awk 'function hex(s,    i, n) {
			n = 0; s = tolower(s)
			for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
			return n
		}
		{ d += hex($2) } END { print d + 0 }' /proc/net/softnet_stat 2>/dev/null || echo 0
}

# verify, after failures: a bridge copies every broadcast (ARP included) and multicast frame to
# each of its ports at once, into one CPU's backlog; with more ports than the backlog holds, or
# while a large bridge floods its ports' IPv6 start-up traffic, frames are dropped.
diagnose_backlog() {
	drops=$(($(backlog_drops) - $1))
	[ "$drops" -gt 0 ] || return 0
	max=$(cat /proc/sys/net/core/netdev_max_backlog 2>/dev/null) || return 0
	ports=$(awk '$1 == "link" && $4 != "-" { n[$2 " " $4]++ } END { for (b in n) if (n[b] > m) m = n[b]; print m + 0 }' "$T/plan")
	size=1024
	while [ "$size" -lt $((max * 2)) ] || [ "$size" -lt $((ports * 4)) ]; do size=$((size * 2)); done
	say "the host dropped $drops frames while verify ran because a CPU's input backlog was full (net.core.netdev_max_backlog = $max; a bridge copies each broadcast to all its ports, $ports on the lab's largest): the failures above may be that; make room with: sysctl -w net.core.netdev_max_backlog=$size"
}

# gc_thresh$2 of IPv$1 (as last loaded) in $v; fails where there is none.
gc_read() {
	_fam=$1 _i=$2
	# shellcheck disable=SC2086 # numbers
	set -- $GC
	[ $# = 6 ] || return 1
	[ "$_fam" = 4 ] || shift 3
	shift $((_i - 1))
	v=$1
}

# The sysctl assignments that give IPv$1 a table of $2 entries (gc_thresh2 and gc_thresh1 in the
# kernel's default proportion, 1/2 and 1/8), only for values that are lower now.
neigh_raises() {
	for i in 1 2 3; do
		case $i in 1) want=$(($2 / 8)) ;; 2) want=$(($2 / 2)) ;; *) want=$2 ;; esac
		gc_read "$1" "$i" || return 0
		[ "$want" -le "$v" ] || printf ' net.ipv%s.neigh.default.gc_thresh%s=%s' "$1" "$i" "$want"
	done
}

# A table size that makes room for $1 entries: a power of two, twice what is needed.
neigh_size() {
	size=1024
	while [ "$size" -lt $(($1 * 2)) ]; do size=$((size * 2)); done
	echo "$size"
}

# up: when the lab needs more entries than the host's gc_thresh3, say so in one line with the
# commands that make room. nsgen changes them only with [host] neighbour_table.
neigh_warn() {
	gc_load
	need='' have='' raises='' biggest=0
	for fam in 4 6; do
		n=$(neigh_need "$fam")
		[ "$n" -gt 0 ] && gc_read "$fam" 3 && [ "$n" -gt "$v" ] || continue
		need="$need${need:+ and }$n IPv$fam"
		have="$have${have:+, }net.ipv$fam.neigh.default.gc_thresh3 = $v"
		[ "$n" -le "$biggest" ] || biggest=$n
	done
	[ -n "$need" ] || return 0
	size=$(neigh_size "$biggest")
	for fam in 4 6; do
		n=$(neigh_need "$fam")
		[ "$n" -eq 0 ] || raises="$raises$(neigh_raises "$fam" "$size")"
	done
	printf '%s: warning: the lab needs about %s neighbour entries, more than the host has room for (%s; one table serves every namespace), so its traffic may stall and pings fail; make room with: sysctl -w%s (or set [host] neighbour_table = %s)\n' \
		"$LAB" "$need" "$have" "$raises" "$size" >&2
}

# verify, after failures: if a neighbour table filled up while the pings ran (its table_fulls
# count grew) or is nearly full now, that is the likely cause; name it and the sysctl.
diagnose_neighbours() {
	gc_load
	neigh_fulls | while read -r fam entries fulls; do
		before=$(awk -v fam="$fam" '$1 == fam { print $3 }' "$1")
		gc3=
		gc_read "$fam" 3 && gc3=$v
		grew=0
		[ "$fulls" -le "${before:-$fulls}" ] || grew=1
		near=0
		[ -z "$gc3" ] || [ $((entries * 10)) -lt $((gc3 * 9)) ] || near=1
		[ "$grew" = 1 ] || [ "$near" = 1 ] || continue
		if [ -z "$gc3" ]; then
			say "the host's IPv$fam neighbour table was full while verify ran ($entries entries; one table serves every namespace): the failures above may be that; raise net.ipv$fam.neigh.default.gc_thresh3 in the host's initial network namespace"
			continue
		fi
		n=$(neigh_need "$fam")
		[ "$n" -ge "$entries" ] || n=$entries
		[ "$n" -ge "$gc3" ] || n=$gc3
		size=$(neigh_size "$n")
		say "the host's IPv$fam neighbour table was full while verify ran ($entries entries, net.ipv$fam.neigh.default.gc_thresh3 = $gc3; one table serves every namespace): the failures above may be that, not the lab; make room with: sysctl -w$(neigh_raises "$fam" "$size") (or set [host] neighbour_table = $size)"
	done
}

# [host] neighbour_table: raise the host's gc_thresh values to hold $1 entries (0: this lab no
# longer asks), never lowering them, and put back what was found when the last lab that raised
# them lets go. The record, one line each ("original KEY FOUND SET": the value found before the
# first raise and the value nsgen last wrote; "lab NAME SIZE": a lab that holds a raise), is
# shared by every lab on the host, so it is changed under a lock.
neigh_hold() {
	gc_load
	gc_read 4 3 || {
		[ "$1" = 0 ] || printf '%s: warning: cannot raise the neighbour table: gc_thresh3 exists only in the host'\''s initial network namespace\n' "$LAB" >&2
		return 0
	}
	for fam in 4 6; do
		for i in 1 2 3; do
			gc_read "$fam" "$i" && echo "net.ipv$fam.neigh.default.gc_thresh$i $v"
		done
	done >"$T/gc.now"
	if [ "$DRY_RUN" = 0 ]; then
		host_lock "$NEIGH_RECORD"
		[ -e "$NEIGH_RECORD" ] || : >"$NEIGH_RECORD"
		record=$NEIGH_RECORD
	else
		record=$NEIGH_RECORD
		[ -e "$record" ] || record=/dev/null
	fi
	awk -v lab="$LAB" -v size="$1" -v now="$T/gc.now" -v out="$T/neigh.new" '
		BEGIN { while ((getline l < now) > 0) { split(l, a, " "); cur[a[1]] = a[2]; keys[++nk] = a[1] } }
		$1 == "original" { found[$2] = $3; set[$2] = $4 }
		$1 == "lab" && $2 != lab { hold[$2] = $3; nh++ }
		END {
			if (size > 0) { hold[lab] = size; nh++ }
			for (l in hold) if (hold[l] + 0 > target) target = hold[l] + 0
			print "# nsgen: host-wide neighbour table sizes raised by [host] neighbour_table (README: Large labs)" > out
			for (k = 1; k <= nk; k++) {
				key = keys[k]; v = cur[key] + 0
				if (nh == 0) {
					if (!(key in found)) continue
					if (v == set[key] + 0) { if (v != found[key] + 0) print "write", key, found[key] }
					else print "changed", key, v
					continue
				}
				want = (key ~ /1$/) ? int(target / 8) : (key ~ /2$/) ? int(target / 2) : target
				if (!(key in found)) found[key] = v
				if (want > v) { print "write", key, want; v = want }
				print "original", key, found[key], v > out
			}
			for (l in hold) print "lab", l, hold[l] > out
			if (nh == 0) print "empty"
		}' "$record" >"$T/neigh.do"
	# A raise is recorded before it is made and a record removed after the values are back,
	# so a run killed in between leaves a record that the next down can still act on.
	empty=0
	grep -qx empty "$T/neigh.do" && empty=1
	[ "$DRY_RUN" = 1 ] || [ "$empty" = 1 ] || mv "$T/neigh.new" "$NEIGH_RECORD"
	while read -r what key value; do
		case $what in
		write)
			if [ "$DRY_RUN" = 1 ]; then
				echo "sysctl -w $key=$value"
			else
				echo "$value" >"/proc/sys/$(echo "$key" | tr . /)"
			fi
			;;
		changed) printf '%s: leaving %s at %s: it was changed after nsgen raised it\n' "$LAB" "$key" "$value" >&2 ;;
		esac
	done <"$T/neigh.do"
	[ "$DRY_RUN" = 0 ] || return 0
	[ "$empty" = 0 ] || rm -f "$NEIGH_RECORD"
	rmdir "$NEIGH_RECORD.lock"
}

# The neighbour-table step of up and down: hold or let go of this lab's raise, then (up) warn.
neighbour_table() {
	if [ "$1" = up ] && [ "$NEIGH_TABLE" != 0 ]; then
		neigh_hold "$NEIGH_TABLE"
	elif [ -e "$NEIGH_RECORD" ] && grep -q "^lab $LAB " "$NEIGH_RECORD"; then
		neigh_hold 0
	fi
	[ "$1" != up ] || neigh_warn
}

# One check of verify: "INDEX ok|FAIL ..." for the line of $T/checks it came from. A reachable
# ping probes every 0.2 s for 3 s and, unanswered, tries again, at most 9 s in all: a neighbour
# entry the kernel could not make at once (its table full of entries too young to collect), or
# an ARP exchange lost while a large bridge floods its ports' IPv6 start-up traffic right after
# up, is not a failure of the lab. An unreachable check keeps its single 3 s wait.
VERIFY_TRIES=3
verify_one() {
	if [ "$from" = - ]; then
		set -- ping -I "$device"
		from=host
	else
		set -- ns_run "$from" ping
	fi
	if [ "$expect" = reachable ]; then
		tries=0
		while :; do
			"$@" -c 1 -i 0.2 -w 3 -q "$address" >/dev/null 2>&1 && got=0 || got=$?
			tries=$((tries + 1))
			[ "$got" = 1 ] && [ "$tries" -lt "$VERIFY_TRIES" ] || break
		done
	else
		"$@" -c 1 -w 3 -q "$address" >/dev/null 2>&1 && got=0 || got=$?
	fi
	# ping exits 1 when nothing answered and 2 when there is no route: both are
	# "unreachable". But nsenter exits 1 too when it cannot enter the namespace, ping -I
	# 2 when the device is gone, and a ping that never ran proves no isolation.
	if [ "$got" = 1 ] || [ "$got" = 2 ]; then
		if [ "$from" = host ]; then
			[ -e "/sys/class/net/$device" ] || ip link show dev "$device" >/dev/null 2>&1 ||
				got="no device $device"
		else
			ns_run "$from" true 2>/dev/null || got="no namespace"
		fi
	fi
	case $expect.$got in
	reachable.0) result="ok    $from -> $address ($what)" ;;
	reachable.*) result="FAIL  $from -> $address ($what)" ;;
	unreachable.1 | unreachable.2) result="ok    $from -/-> $address ($what)" ;;
	unreachable.0) result="FAIL  $from -/-> $address ($what): it answered" ;;
	*)
		case $got in [0-9]*) got="exit $got" ;; esac
		result="FAIL  $from -/-> $address ($what): ping could not run ($got)"
		;;
	esac
	printf '%s %s\n' "$index" "$result"
}

# Pings are independent and mostly wait (for a process to start, for an answer, for an
# unreachable check's timeout), so several run at once; the report keeps the checks' order.
VERIFY_WORKERS_PER_CPU=4
VERIFY_WORKERS_MAX=32

verify() {
	command -v ping >/dev/null 2>&1 || die "verify needs ping: install iputils-ping"
	checks >"$T/checks"
	neigh_fulls >"$T/fulls.before"
	drops_before=$(backlog_drops)
	cpus=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
	workers=$((cpus * VERIFY_WORKERS_PER_CPU))
	[ "$workers" -le "$VERIFY_WORKERS_MAX" ] || workers=$VERIFY_WORKERS_MAX
	awk -v n="$workers" -v f="$T/vq." '{ print NR, $0 > (f (NR % n)) }' "$T/checks"
	pids=
	for list in "$T"/vq.*; do
		[ -e "$list" ] || continue
		(while read -r index from device address expect what; do
			verify_one
		done <"$list" >"$T/vr.${list##*.}") &
		pids="$pids $!"
	done
	for pid in $pids; do
		wait "$pid" || die "verify could not run its pings"
	done
	: >"$T/vr.all"
	for out in "$T"/vr.[0-9]*; do
		[ -e "$out" ] && cat "$out" >>"$T/vr.all"
	done
	sort -k1,1n "$T/vr.all" | cut -d ' ' -f 2-
	total=$(awk 'END { print NR }' "$T/checks")
	failed=$(awk '$2 == "FAIL" { n++ } END { print n + 0 }' "$T/vr.all")
	say "verify: $((total - failed)) of $total checks passed"
	[ "$failed" = 0 ] || {
		diagnose_neighbours "$T/fulls.before"
		diagnose_backlog "$drops_before"
		diagnose_firewall
		exit 4
	}
}

"$ACTION"
