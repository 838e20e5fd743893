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
# read in full), tables (up, before the namespaces are made: host-wide table sizes),
# neighbours (up, after tables: warnings), created (after the host's batch), configuring
# (before the namespaces' batches), configured (after them), down (before anything is
# removed), removed (down, after the devices and namespaces), observe_status (status, into
# its listing), verify (before the pings) and diagnose (after failed checks).
hook() { eval "HOOKS_$1=\"\${HOOKS_$1-} $2\""; }
hooks() {
	_steps=
	eval "_steps=\${HOOKS_$1-}"
	shift
	for _step in $_steps; do "$_step" "$@"; done
}

# Removers (nsgen/runtime.py): the modules that remove NAT, names, processes and files, and the
# neighbour-table raise. The script carries one as a here-document that `remover NAME` writes
# into $T and sources. up keeps that copy beside the lab's record before it applies anything,
# and a script that does not carry NAME (a later version of the lab, `down --lab`) sources the
# kept copy, so what that kind applied is still removed. NAME_left (- as _) is true while the
# record holds something the remover removes: a kept copy goes once it is false.
REMOVERS=
KEPT=
remover() {
	cat >"$T/remover.$1"
	REMOVERS="$REMOVERS $1"
	# shellcheck source=/dev/null
	. "$T/remover.$1"
}

# The kept removers of the kinds this script does not carry (up and down, under the lab's
# lock). What they hold runs as root: a copy counts only as a trusted record does.
load_removers() {
	for _f in "$STATE"/removers/*.sh; do
		[ -e "$_f" ] || continue
		_name=${_f##*/}
		_name=${_name%.sh}
		case " $REMOVERS " in *" $_name "*) continue ;; esac
		trust_host_record "$_f"
		KEPT="$KEPT $_name"
		# shellcheck source=/dev/null
		. "$_f"
	done
}

keep_removers() {
	[ "$DRY_RUN" = 0 ] || return 0
	for _name in $REMOVERS; do
		cmp -s "$T/remover.$_name" "$STATE/removers/$_name.sh" 2>/dev/null ||
			put_record "$T/remover.$_name" "$STATE/removers/$_name.sh"
	done
}

drop_removers() {
	[ "$DRY_RUN" = 0 ] && [ -n "$KEPT" ] || return 0
	for _name in $KEPT; do
		"$(echo "$_name" | tr - _)_left" || rm -f "$STATE/removers/$_name.sh"
	done
	rmdir "$STATE/removers" 2>/dev/null || :
}

# The lab's records decide what up and down may remove: nobody else may be able to write them.
umask 022
STATE_ROOT=${STATE%/*}

# The start time of process $1 (clock ticks after boot; field 22 of its stat), "" when gone.
started() {
	_stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	# shellcheck disable=SC2086 # the fields after the command's name: no spaces within
	set -- ${_stat##*) }
	shift 19
	echo "$1"
}

# A run's temporary directory is named after the run (pid and start time): one left by a run
# that was killed (SIGKILL cannot be trapped) is removed by the next run of any lab, and only
# when its run is gone and it belongs to this user.
sweep_temp() {
	for _d in "${TMPDIR:-/tmp}"/nsgen.[0-9]*-[0-9]*.*; do
		[ -d "$_d" ] && [ ! -L "$_d" ] || continue
		_id=${_d##*/nsgen.}
		_id=${_id%.*}
		[ "$(started "${_id%%-*}")" != "${_id#*-}" ] || continue
		# Another run sweeping at the same moment may have removed it since.
		_uid=$(stat -c %u "$_d" 2>/dev/null) && [ "$_uid" = "$(id -u)" ] || continue
		rm -rf "$_d"
	done
}
sweep_temp
T=$(mktemp -d "${TMPDIR:-/tmp}/nsgen.$$-$(started $$).XXXXXX")
trap 'release_locks; rm -rf "$T"' EXIT
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

# Locks: a symlink to "PID START ACTION" of its holder (START: the process's start time, so a
# reused pid is told from the holder). A symlink is made with its content in one step, where a
# directory or a file is seen empty for a moment. A lock whose holder is gone (killed) is taken
# over at once; a live holder is waited for. Every lock held is released on exit.
# One actor per lab: up and down hold $LOCKS/$LAB for their whole run; a second actor waits up
# to NSGEN_LOCK_WAIT seconds (default 60), saying so in one line, then is refused. A host-wide
# record ($1 of host_lock) is changed under $1.lock, between the labs of one host.
LOCKS=$STATE_ROOT/.lock
HELD=

# The kernel's reason in the last error line of file $1 ("No space left on device"), without
# the words of the tool that printed it.
err_reason() { sed -n '$s/.*: //p' "$1"; }

# The lock cannot be made at all (a read-only or full /run): the reason of the kernel, without
# the words of mkdir or ln around it, and what to do.
lock_failed() {
	why=$(err_reason "$T/lock.err")
	die "cannot take the lock of $2 in ${1%/*} (${why:-unknown error}): nothing was changed; make $STATE_ROOT writable and run $ACTION again"
}

# take_lock LOCK WHAT: WHAT names it in the lines a waiter prints; $AFTER ends its refusal.
take_lock() {
	mkdir -p "${1%/*}" 2>"$T/lock.err" || lock_failed "$1" "$2"
	[ -n "${ME:-}" ] || ME="$$ $(started $$) $ACTION"
	wait_max=${NSGEN_LOCK_WAIT:-60}
	case $wait_max in '' | *[!0-9]*) die "NSGEN_LOCK_WAIT must be a number of seconds" ;; esac
	tries=0 said=0 lost=0
	until ln -s "$ME" "$1" 2>"$T/lock.err"; do
		if ! holder=$(readlink "$1" 2>/dev/null); then
			# Released in between (its directory too, when it was the last), or the link
			# cannot be made at all (a read-only /run).
			lost=$((lost + 1))
			[ "$lost" -lt 20 ] || lock_failed "$1" "$2"
			mkdir -p "${1%/*}" 2>/dev/null || :
			continue
		fi
		# shellcheck disable=SC2086 # "PID START ACTION": digits and a word
		set -- "$1" "$2" $holder
		if [ "$(started "${3:-0}")" != "${4:-}" ]; then
			break_lock "$1" "$holder"
			continue
		fi
		if [ "$said" = 0 ]; then
			printf '%s: waiting for pid %s (%s) to finish with %s (up to %s s)\n' "$LAB" "$3" "${5:-?}" "$2" "$wait_max" >&2
			said=1
		fi
		tries=$((tries + 1))
		[ "$tries" -le $((wait_max * 20)) ] ||
			die "pid $3 (${5:-?}) still holds the lock of $2 after $wait_max s; $AFTER"
		sleep 0.05 2>/dev/null || sleep 1
	done
	HELD="$HELD $1"
}

# Remove lock $1 of a holder that is gone ($2: its content). Breakers take turns through
# $1.break (made like a lock) and look again before removing: a lock that changed meanwhile
# belongs to someone alive.
break_lock() {
	if ln -s "$ME" "$1.break" 2>/dev/null; then
		[ "$(readlink "$1" 2>/dev/null)" != "$2" ] || rm -f "$1"
		rm -f "$1.break"
		return
	fi
	# A breaker killed in these few lines leaves its mark: removed once its pid is gone.
	breaker=$(readlink "$1.break" 2>/dev/null) || return 0
	# shellcheck disable=SC2086
	set -- "$1" $breaker
	[ "$(started "${2:-0}")" = "${3:-}" ] || rm -f "$1.break"
	sleep 0.05 2>/dev/null || sleep 1
}

# Only a lock that is still this run's own: one released already may be someone else's now.
release_lock() { [ "$(readlink "$1" 2>/dev/null)" != "$ME" ] || rm -f "$1"; }
# On exit. The directory of the labs' locks goes when empty: /run/nsgen is left as it was.
release_locks() {
	[ -n "$HELD" ] || return 0
	for _lock in $HELD; do release_lock "$_lock"; done
	rmdir "$LOCKS" 2>/dev/null || :
}

host_lock() {
	trust_host_record "$1"
	AFTER="run $ACTION again when it ends"
	take_lock "$1.lock" "${1##*/} (a record shared by the labs of this host)"
}

# A host-wide record decides what down writes back into the host's sysctls: like the lab's
# records it counts only when root owns it and its directory and nobody else can write them,
# and neither may be a symlink (up would write where it points). Checked before any read.
trust_host_record() {
	for _f in "${1%/*}" "$1"; do
		[ -e "$_f" ] || [ -L "$_f" ] || continue
		_why=$(stat -c '%u %a %F' "$_f" | awk '
			$3 == "symbolic" { print "is a symlink"; exit }
			$1 != 0 { print "is not owned by root"; exit }
			substr($2, length($2) - 1) ~ /[2367]/ { print "is writable by group or others (mode " $2 ")" }')
		[ -z "$_why" ] || die "refusing: $_f $_why: this record cannot be trusted; check who changed it, then chown root and chmod go-w it, or remove it"
	done
}

# Replace record $2 with the complete file $1: written beside it, read back, synced, then
# renamed over it in one step. A write that fails (a full or read-only /run) leaves $2 as it
# was, and the run stops there in one line: the old record and the intent are kept, so a
# later run still knows what the lab made.
put_record() {
	write_record "$1" "$2" ||
		die "cannot write $2 ($why): the old record and intent are kept; make room in ${2%/*} and run $ACTION again"
}

# The same, returning 1 with the reason in $why.
write_record() {
	if mkdir -p "${2%/*}" 2>"$T/put.err" && cp "$1" "$2.new" 2>"$T/put.err" &&
		cmp -s "$1" "$2.new" 2>>"$T/put.err" && { sync "$2.new" 2>/dev/null || sync; } &&
		mv "$2.new" "$2" 2>"$T/put.err"; then
		return 0
	fi
	# On a read-only /run the half-written file cannot be removed either; the next write
	# replaces it.
	rm -f "$2.new" 2>/dev/null || :
	why=$(err_reason "$T/put.err")
	why=${why:-it reads back different}
	return 1
}

# Replace the record with the one decide prepared.
save_record() {
	[ -s "$T/$1" ] && [ "$DRY_RUN" = 0 ] || return 0
	put_record "$T/$1" "$STATE/record"
}

AFTER="nothing changed, try again when it ends"
case $DRY_RUN.$ACTION in 0.up | 0.down) take_lock "$LOCKS/$LAB" "this lab" ;; esac
