# ---- Processes ([[namespaces.NS.processes]]): each runs as /bin/sh -c COMMAND inside NS
# through `ip netns exec` (so the lab's files show under /etc), in a session of its own, its
# output appended to $STATE/log/NS/NAME.log, with NSGEN_LAB, NSGEN_NS, NSGEN_RUN (the private
# directory $STATE/run/NS) and NSGEN_PROCESS set. Their record ($STATE/processes), and their
# stopping by it, are daemons-prune's; DIGEST there is the plan's for what a process was
# started with.

# Whether pid $1 runs in namespace $2 as the lab has it now (not in one deleted under it).
proc_in_ns() {
	[ "$(stat -L -c %i "/proc/$1/ns/net" 2>/dev/null)" = "$(stat -L -c %i "/run/netns/$2" 2>/dev/null)" ]
}

# The record of process $1 $2 as "PID START DIGEST", or nothing.
proc_record() {
	awk -v k="$1 $2" '$1 " " $2 == k { print $3, $4, $5 }' "$T/procrec"
}

# The last lines of the log of process $1:$2, on stderr.
proc_log_tail() {
	log=$STATE/log/$1/$2.log
	printf '%s: the last lines of %s:\n' "$LAB" "$log" >&2
	tail -n 20 "$log" 2>/dev/null | sed 's/^/    /' >&2 || :
}

# Start process $2 of namespace $1 (DIGEST $3), detached. Its pid is read later (proc_pid):
# the processes of a lab start without waiting for each other's.
proc_start() {
	mkdir -p "$STATE/log/$1" "$STATE/run/$1" "$STATE/pid"
	s_pidf=$STATE/pid/$1.$2
	rm -f "$s_pidf"
	echo "$1 $2 0 0 $3" >>"$STATE/processes"
	printf '==== nsgen: %s starting %s:%s\n' "$(date -u '+%Y-%m-%dT%H:%M:%SZ')" "$1" "$2" >>"$STATE/log/$1/$2.log"
	# shellcheck disable=SC2016 # $$, $0 and $1 are the started shell's
	NSGEN_LAB=$LAB NSGEN_NS=$1 NSGEN_RUN=$STATE/run/$1 NSGEN_PROCESS=$2 setsid \
		ip netns exec "$1" /bin/sh -c 'echo $$ >"$0.new" && mv "$0.new" "$0" && exec /bin/sh -c "$1"' \
		"$s_pidf" "$(lab_text "command:$1:$2")" </dev/null >>"$STATE/log/$1/$2.log" 2>&1 &
	echo "$1 $2 $3" >>"$T/launched"
}

# Once process $1:$2, started by this run, has written its pid file: record its pid and
# start time. Nothing for a process this run did not start, or whose pid is known already.
proc_pid() {
	grep -q "^$1 $2 " "$T/awaited" && return 0
	p_digest=$(awk -v k="$1 $2" '$1 " " $2 == k { print $3 }' "$T/launched")
	[ -n "$p_digest" ] || return 0
	p_pidf=$STATE/pid/$1.$2
	p_tries=0
	until [ -s "$p_pidf" ]; do
		p_tries=$((p_tries + 1))
		if [ "$p_tries" -gt 1000 ]; then
			proc_log_tail "$1" "$2"
			die "$1:$2 did not start"
		fi
		sleep 0.01 2>/dev/null || sleep 1
	done
	p_pid=$(cat "$p_pidf")
	p_start=$(proc_stat "$p_pid")
	p_start=${p_start#* }
	echo "$1 $2 $p_pid ${p_start:-0} $p_digest" >>"$STATE/processes"
	echo "$1 $2 $p_pid ${p_start:-0}" | tee -a "$T/awaited" >>"$T/started"
}

# What is left of the session of process $2 of namespace $1 that has exited (what it
# started): KILLed. Only members still in the namespace: its group id may be a new process's.
proc_leftovers() {
	l_ino=$(stat -L -c %i "/run/netns/$1" 2>/dev/null) || return 0
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v g="$2" '{ p = $1; sub(/^.*\) /, ""); if ($3 == g) print p }' |
		while read -r l_pid; do
			[ "$(stat -L -c %i "/proc/$l_pid/ns/net" 2>/dev/null)" != "$l_ino" ] || kill -s KILL "$l_pid" 2>/dev/null || :
		done
}

# Wait until process $1 (NS:NAME) is ready: its `ready` command exits 0 within its timeout.
# Fails up, with the end of its log, when it exits first. A process that up left running is
# asked too: it may never have got ready.
proc_ready() {
	grep -qxF "$1" "$T/ready" 2>/dev/null && return 0
	# Names of their own: the callers' loops read ns, name and timeout.
	r_ns=${1%%:*} r_name=${1#*:}
	proc_pid "$r_ns" "$r_name"
	# shellcheck disable=SC2046 # pid and start time: words
	set -- "$1" $(awk -v k="$r_ns $r_name" '$1 " " $2 == k { print $3, $4 }' "$T/awaited")
	[ $# = 3 ] || return 0
	r_timeout=$(awk -v k="$r_ns $r_name" '$1 " " $2 == k { print $3 }' "$T/procs")
	r_ready=$(lab_text "ready:$1")
	r_ticks=0
	while :; do
		if ! proc_alive "$2" "$3"; then
			proc_log_tail "$r_ns" "$r_name"
			die "$1 exited before it was ready"
		fi
		if [ -z "$r_ready" ]; then
			[ "$r_ticks" -gt 0 ] && break
		elif daemon_sh "$r_ns" "$r_ready" </dev/null >"$T/ready.out" 2>&1; then
			break
		fi
		r_ticks=$((r_ticks + 1))
		if [ $((r_ticks * 100)) -gt "$r_timeout" ]; then
			sed 's/^/    /' "$T/ready.out" >&2
			proc_log_tail "$r_ns" "$r_name"
			die "$1 was not ready after ${r_timeout}ms: its ready command never exited 0 (its last output is above)"
		fi
		sleep 0.1 2>/dev/null || sleep 1
	done
	echo "$1" >>"$T/ready"
}

processes_check() {
	command -v setsid >/dev/null 2>&1 || die "setsid not found: install util-linux"
	lab_processes >"$T/procs"
}
hook check processes_check

# Start what is missing, dead, or changed (command, ready command or its namespace's files),
# each once those it waits for are ready; leave alone what runs unchanged. What the lab no
# longer declares was stopped before (daemons-prune).
processes_up() {
	processes_records >"$T/procrec"
	: >"$T/started"
	: >"$T/awaited"
	: >"$T/launched"
	while read -r ns name _ digest after; do
		# shellcheck disable=SC2046 # pid, start time, digest: words
		set -- $(proc_record "$ns" "$name")
		if [ $# = 3 ] && proc_alive "$1" "$2"; then
			if [ "$3" = "$digest" ] && proc_in_ns "$1" "$ns"; then
				echo "$ns $name $1 $2" >>"$T/awaited"
				continue
			fi
			why=changed
			proc_in_ns "$1" "$ns" || why="outside its namespace"
			[ "$DRY_RUN" = 1 ] || say "restarting $ns:$name ($why)"
			proc_stop "$ns" "$name" "$1" "$2" || die "$ns:$name (pid $1) could not be stopped"
		elif [ $# = 3 ] && [ "$1" != 0 ]; then
			[ "$DRY_RUN" = 1 ] || say "$ns:$name had exited (pid $1): starting it again"
			[ "$DRY_RUN" = 1 ] || proc_leftovers "$ns" "$1"
		fi
		if [ "$DRY_RUN" = 1 ]; then
			echo "start $ns:$name"
			continue
		fi
		if [ "$after" != - ]; then
			for dep in $(echo "$after" | tr ',' ' '); do proc_ready "$dep"; done
		fi
		proc_start "$ns" "$name" "$digest"
	done <"$T/procs"
	[ "$DRY_RUN" = 0 ] || return 0
	while read -r ns name digest; do proc_pid "$ns" "$name"; done <"$T/launched"
	# The rest are awaited side by side: each mostly waits for its daemon.
	waits=
	while read -r ns name pid start; do
		proc_ready "$ns:$name" &
		waits="$waits $!"
	done <"$T/awaited"
	failed=0
	for w in $waits; do wait "$w" || failed=1; done
	[ "$failed" = 0 ] || die "not every process got ready (see above)"
	count=$(awk 'END { print NR }' "$T/started")
	[ "$count" = 0 ] || say "processes: started $count, all ready"
	# The record keeps the declared processes only, in start order: down stops them in reverse.
	if [ -e "$STATE/processes" ]; then
		processes_records | awk 'FILENAME == ARGV[1] { at[$1 " " $2] = FNR; next }
			($1 " " $2) in at { print at[$1 " " $2], $0 }' "$T/procs" - | sort -n | cut -d' ' -f2- >"$STATE/processes.new"
		mv "$STATE/processes.new" "$STATE/processes"
	fi
}
hook configured processes_up

# The status lines: each declared process running (ok), changed, dead or missing; each the
# lab started and no longer declares, still running, as extra.
processes_status() {
	lab_processes >"$T/procs"
	processes_records >"$T/procrec"
	echo "== more"
	while read -r ns name _ digest after; do
		# shellcheck disable=SC2046 # pid, start time, digest: words
		set -- $(proc_record "$ns" "$name")
		what="process $ns:$name"
		if [ $# != 3 ]; then
			echo "missing $what"
		elif ! proc_alive "$1" "$2"; then
			echo "dead $what (pid $1 has exited; see $STATE/log/$ns/$name.log)"
		elif ! proc_in_ns "$1" "$ns"; then
			echo "stray $what (pid $1 runs outside the namespace)"
		elif [ "$3" != "$digest" ]; then
			echo "changed $what (pid $1 runs an earlier command or files)"
		else
			echo "ok $what running (pid $1)"
		fi
	done <"$T/procs"
	awk 'FILENAME == ARGV[1] { decl[$1 " " $2] = 1; next } !(($1 " " $2) in decl)' "$T/procs" "$T/procrec" |
		while read -r ns name pid start digest; do
			! proc_alive "$pid" "$start" || echo "extra process $ns:$name (pid $pid)"
		done
}
hook observe_status processes_status
