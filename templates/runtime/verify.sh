# A reachable ping is tried up to three times before it fails: a ping lost to
# an ARP exchange lost while a large bridge floods its ports' IPv6 start-up traffic right after
# up, is not a failure of the lab. An unreachable check keeps its single 3 s wait.
VERIFY_TRIES=3

# now: centiseconds since boot (POSIX sh has no clock finer than date's seconds). Set, not
# printed: a command substitution forks, once more per check.
now_cs() {
	read -r _up _ </proc/uptime
	_s=${_up%.*}
	_f=${_up#*.}
	now=$((_s * 100 + ${_f#0}))
}

# One try of a ping: got is ping's exit status, reason its own words on failure ("Destination
# Net Unreachable (from 10.1.0.1)", "Network is unreachable"), "no answer" without any.
# Its output goes to the worker's file $pinged, not into a command substitution: that would
# fork a subshell per ping, a tenth of verify's time.
ping_once() {
	if [ "$expect" = reachable ]; then
		tries=0
		while :; do
			"$@" -c 1 -i 0.2 -w 3 "$address" >"$pinged" 2>&1 && got=0 || got=$?
			tries=$((tries + 1))
			[ "$got" = 1 ] && [ "$tries" -lt "$VERIFY_TRIES" ] || break
		done
	else
		"$@" -c 1 -w 3 "$address" >"$pinged" 2>&1 && got=0 || got=$?
	fi
	# Read only when it may be shown: an awk per answered ping is a third of verify's processes.
	[ "$got" = 0 ] && return 0
	reason=$(awk '
		/^From .* icmp_seq=[0-9]+ / { r = $0; sub(/^From [^ ]+ icmp_seq=[0-9]+ /, "", r); r = r " (from " $2 ")" }
		/^ping: / { r = $0; sub(/^ping: (connect: )?/, "", r) }
		END { print (r == "" ? "no answer" : r) }' "$pinged")
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
}

verify_one() {
	wait=0
	case $expect in *+*)
		wait=${expect#*+}
		expect=${expect%%+*}
		;;
	*) [ -z "$VERIFY_WAIT" ] || wait=$VERIFY_WAIT ;;
	esac
	case $address in
	# Checks of other kinds, from the module of each (check-tcp, check-command): KIND_check
	# sets what is shown, KIND_once makes one try.
	tcp:* | command:*)
		kind=${address%%:*}
		"${kind}_check"
		;;
	*)
		kind=ping
		if [ "$from" = - ]; then
			set -- ping -I "$device"
			from=host
		elif [ "$device" != - ]; then
			# A link-local gateway answers only on its own link.
			set -- ns_run "$from" ping -I "$device"
		else
			set -- ns_run "$from" ping
		fi
		shown="$from -> $address"
		;;
	esac
	[ "$expect" = reachable ] || shown=$(printf '%s\n' "$shown" | sed 's/ -> / -\/-> /')
	now_cs
	start=$now
	while :; do
		"${kind}_once" "$@"
		case $expect.$got in reachable.0 | unreachable.1 | unreachable.2) break ;; esac
		case $got in [0-9]*) ;; *) break ;; esac
		now_cs
		elapsed=$((now - start))
		[ "$elapsed" -lt "$((wait * 100))" ] || break
		sleep 1
	done
	took=
	if [ "$wait" != 0 ]; then
		now_cs
		elapsed=$((now - start))
		took=" after $((elapsed / 100)).$((elapsed % 100 / 10))s"
	fi
	case $expect.$got in
	reachable.0 | unreachable.1 | unreachable.2) result="ok    $shown ($what)$took" ;;
	reachable.[0-9]*) result="FAIL  $shown ($what)$took: $reason" ;;
	unreachable.0) result="FAIL  $shown ($what)$took: it answered" ;;
	*)
		case $got in [0-9]*) got="exit $got" ;; esac
		result="FAIL  $shown ($what): $kind could not run ($got)"
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
	# A lab that is not up has nothing to ping: one line says so, not a FAIL per check.
	if [ ! -s "$STATE/record" ]; then
		case $0 in
		*.sh) say "the lab is not up: run sh $0 up" ;;
		*) say "the lab is not up: run its up first (nsgen up FILE)" ;;
		esac
		exit 3
	fi
	total=$(awk 'END { print NR }' "$T/checks")
	if [ "$total" = 0 ]; then
		say "verify: nothing to check: the lab declares no address, route or check"
		exit 0
	fi
	hooks verify
	cpus=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
	workers=$((cpus * VERIFY_WORKERS_PER_CPU))
	[ "$workers" -le "$VERIFY_WORKERS_MAX" ] || workers=$VERIFY_WORKERS_MAX
	# Round robin, but partners (two pings in a row, each from where the other goes; see the
	# plan) go to one worker, the second after the first: it finds the neighbour entry that
	# the first one's request left, where two at once would both broadcast.
	awk -v n="$workers" -v f="$T/vq." '
		{ who = $5; sub(/:.*/, "", who); if (who == "host") who = "-" }
		$4 == "reachable" && $1 == pwho && who == pfrom { pfrom = ""; print NR, $0 > (f q); next }
		{ q = (NR - 1) % n; pfrom = $1; pwho = who; if ($4 != "reachable") pfrom = ""; print NR, $0 > (f q) }' "$T/checks"
	pids=
	for list in "$T"/vq.*; do
		[ -e "$list" ] || continue
		(pinged="$T/vo.${list##*.}"
		while read -r index from device address expect what; do
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
	failed=$(awk '$2 == "FAIL" { n++ } END { print n + 0 }' "$T/vr.all")
	say "verify: $((total - failed)) of $total checks passed"
	[ "$failed" = 0 ] || {
		hooks diagnose
		exit 4
	}
}
