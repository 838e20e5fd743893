# an ARP exchange lost while a large bridge floods its ports' IPv6 start-up traffic right after
# up, is not a failure of the lab. An unreachable check keeps its single 3 s wait.
VERIFY_TRIES=3
verify_one() {
	if [ "$from" = - ]; then
		set -- ping -I "$device"
		from=host
	elif [ "$device" != - ]; then
		# A link-local gateway answers only on its own link.
		set -- ns_run "$from" ping -I "$device"
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
	hooks verify
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
		hooks diagnose
		exit 4
	}
}

