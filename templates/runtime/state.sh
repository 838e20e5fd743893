# The runtime reads the host's state once, compares it with the plan in one awk pass (linear
# in the size of the lab), and feeds only what is needed to one `ip -batch` for the host
# namespace and one `ip -n NS -batch` per namespace.

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
usage: sh ${0##*/} [up|down|status|verify|labs] [--dry-run] [--wait DURATION]
  up       create what is missing, repair drift, remove what the lab no longer declares (default)
  down     remove everything lab $LAB applied on this host, in any version
  status   list declared objects as ok, missing or foreign, and undeclared ones as extra
           (exit 3 unless all ok)
  verify   ping every declared address and gateway, then the declared checks (exit 4 if any
           fails, 3 if the lab is not up); --wait 60s: retry each check for up to 60 s
  labs     list every nsgen lab with state on this host
  --dry-run  with up or down: print the ip commands that would run, change nothing
EOF
}

ACTION=
DRY_RUN=0
# verify --wait DURATION: how long each check may retry unless it declares its own wait.
VERIFY_WAIT=
while [ $# -gt 0 ]; do
	arg=$1
	shift
	case $arg in
	--wait=*) set -- "${arg#--wait=}" "$@" && arg=--wait ;;
	esac
	case $arg in
	--dry-run | -n) DRY_RUN=1 ;;
	--wait)
		case ${1-} in
		*[!0-9sm]* | '' | [sm]* | *[sm]?*) VERIFY_WAIT=bad ;;
		*m) VERIFY_WAIT=$((${1%m} * 60)) ;;
		*s) VERIFY_WAIT=${1%s} ;;
		*) VERIFY_WAIT=$1 ;;
		esac
		if [ "$VERIFY_WAIT" = bad ]; then
			printf '%s: --wait takes whole seconds or minutes, e.g. 60s or 2m; got: %s\n' "$LAB" "${1-}" >&2
			exit 2
		fi
		shift
		;;
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
if [ -n "$VERIFY_WAIT" ] && [ "$ACTION" != verify ]; then
	printf '%s: --wait goes with verify\n' "$LAB" >&2
	exit 2
fi
case $DRY_RUN.$ACTION in
1.status | 1.verify | 1.labs)
	printf '%s: --dry-run goes with up or down; %s changes nothing anyway\n' "$LAB" "$ACTION" >&2
	exit 2
	;;
esac

command -v ip >/dev/null 2>&1 || die "ip not found: install iproute2"
command -v awk >/dev/null 2>&1 || die "awk not found: install mawk (or any POSIX awk)"
if [ "$(id -u)" != 0 ] && [ "$ACTION" != labs ]; then
	case $0 in
	*.sh) die "needs root (CAP_NET_ADMIN): try sudo sh $0 $ACTION" ;;
	*) die "needs root (CAP_NET_ADMIN): run it with sudo" ;;
	esac
fi

# Steps that modules add to up, down, status and verify, by point: `hook POINT FUNCTION`
# appends one, `hooks POINT [ARG...]` runs them with the ARGs, in the order the modules come
# in this script. The points: check (up, before anything changes), observe (into the host's
# listing), observe_links (into the TAP and qdisc listing), read_namespace NS (a namespace
# read in full), created (after the host's batch), configured (after the namespaces'
# batches), neighbours (up's neighbour-table step), down (before anything is removed),
# observe_status (status, into its listing), verify (before the pings) and diagnose (after
# failed checks).
hook() { eval "HOOKS_$1=\"\${HOOKS_$1-} $2\""; }
hooks() {
	_steps=
	eval "_steps=\${HOOKS_$1-}"
	shift
	for _step in $_steps; do "$_step" "$@"; done
}

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

# Replace a record file with the one decide prepared, in one rename.
save_record() {
	[ -s "$T/$1" ] && [ "$DRY_RUN" = 0 ] || return 0
	[ -d "$STATE" ] || mkdir -p "$STATE"
	cp "$T/$1" "$STATE/record.new"
	mv "$STATE/record.new" "$STATE/record"
}
