# ---- Processes ([[namespaces.NS.processes]]): each runs as /bin/sh -c COMMAND inside NS
# through `ip netns exec` (so the lab's files show under /etc), in a session of its own, its
# output appended to $STATE/log/NS/NAME.log, with NSGEN_LAB, NSGEN_NS, NSGEN_RUN (the private
# directory $STATE/run/NS) and NSGEN_PROCESS set. $STATE/processes records "NS NAME PID START
# DIGEST", the last line of a process the one that holds: START is its start time (field 22
# of /proc/PID/stat), so a pid the kernel gave to another process since is never signalled;
# DIGEST is the plan's for what it was started with. A line with PID 0 is written before a
# start: the started shell writes its pid to $STATE/pid/NS.NAME, and a run killed in between
# finds the process there, known by its environment.

# The state (field 3) and start time (field 22) of process $1, "" when there is none: the
# fields after the command name, which may hold blanks and parentheses.
proc_stat() {
	[ "$1" != 0 ] || return 0
	sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1,20 || :
}

# Whether pid $1, started at $2, still runs (a zombie has exited).
proc_alive() {
	case $(proc_stat "$1") in
	Z* | "") return 1 ;;
	*" $2") return 0 ;;
	*) return 1 ;;
	esac
}

# Whether pid $1 runs in namespace $2 as the lab has it now (not in one deleted under it).
proc_in_ns() {
	[ "$(stat -L -c %i "/proc/$1/ns/net" 2>/dev/null)" = "$(stat -L -c %i "/run/netns/$2" 2>/dev/null)" ]
}

# The record, one line per process ("NS NAME PID START DIGEST"), a start that a killed run
# left unrecorded resolved from its pid file.
processes_records() {
	[ -s "$STATE/processes" ] || return 0
	awk '{ k = $1 " " $2; if (!(k in last)) order[++n] = k; last[k] = $0 }
		END { for (i = 1; i <= n; i++) print last[order[i]] }' "$STATE/processes" |
		while read -r ns name pid start digest; do
			if [ "$pid" = 0 ] && [ -s "$STATE/pid/$ns.$name" ]; then
				p=$(cat "$STATE/pid/$ns.$name")
				if [ "$(tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null |
					grep -cxF -e "NSGEN_LAB=$LAB" -e "NSGEN_NS=$ns" -e "NSGEN_PROCESS=$name")" = 3 ]; then
					pid=$p start=$(proc_stat "$p")
					start=${start#* }
				fi
			fi
			echo "$ns $name $pid $start $digest"
		done
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

# Stop process $1:$2 (pid $3, started at $4): TERM to its session's group, KILL after a
# grace period; 1 when it still runs.
proc_stop() {
	proc_alive "$3" "$4" || return 0
	if [ "$DRY_RUN" = 1 ]; then
		echo "stop $1:$2 (pid $3)"
		return 0
	fi
	k_target=$3
	# Its own group (setsid made it the leader): whatever it started goes with it.
	[ "$(sed 's/^.*) //' "/proc/$3/stat" 2>/dev/null | cut -d' ' -f3)" != "$3" ] || k_target=-$3
	for k_signal in TERM KILL; do
		kill -s "$k_signal" -- "$k_target" 2>/dev/null || :
		k_tries=0
		while proc_alive "$3" "$4"; do
			k_tries=$((k_tries + 1))
			[ "$k_tries" -le 100 ] || break
			sleep 0.05 2>/dev/null || sleep 1
		done
		proc_alive "$3" "$4" || return 0
	done
	say "could not stop $1:$2 (pid $3)"
	return 1
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

# Drop process $1:$2 from the record.
proc_forget() {
	awk -v k="$1 $2" '$1 " " $2 != k' "$STATE/processes" >"$STATE/processes.new"
	mv "$STATE/processes.new" "$STATE/processes"
}

processes_check() {
	command -v setsid >/dev/null 2>&1 || die "setsid not found: install util-linux"
}

# Stop what the lab no longer declares; start what is missing, dead, or changed (command,
# ready command or its namespace's files), each once those it waits for are ready; leave
# alone what runs unchanged.
processes_up() {
	lab_processes >"$T/procs"
	processes_records >"$T/procrec"
	: >"$T/started"
	: >"$T/awaited"
	: >"$T/launched"
	awk 'FILENAME == ARGV[1] { decl[$1 " " $2] = 1; next } !(($1 " " $2) in decl)' "$T/procs" "$T/procrec" >"$T/procgone"
	while read -r ns name pid start digest; do
		[ "$DRY_RUN" = 1 ] || say "stopping $ns:$name, no longer declared"
		proc_stop "$ns" "$name" "$pid" "$start" || continue
		[ "$DRY_RUN" = 1 ] || proc_forget "$ns" "$name"
	done <"$T/procgone"
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
	# The record keeps the declared processes only; the private directories and logs of
	# namespaces the lab no longer has go.
	if [ -e "$STATE/processes" ]; then
		processes_records | awk 'FILENAME == ARGV[1] { decl[$1 " " $2] = 1; next } ($1 " " $2) in decl' "$T/procs" - >"$STATE/processes.new"
		mv "$STATE/processes.new" "$STATE/processes"
	fi
	for d in "$STATE"/run/* "$STATE"/log/*; do
		[ -d "$d" ] || continue
		case " $NAMESPACES " in *" ${d##*/} "*) ;; *) rm -rf "$d" ;; esac
	done
}

# Stop every process the lab started, those that others wait for last.
processes_down() {
	[ -s "$STATE/processes" ] || return 0
	lab_processes >"$T/procs"
	processes_records >"$T/procrec"
	awk 'FILENAME == ARGV[1] { at[$1 " " $2] = FNR; next } { print at[$1 " " $2] + 0, NR, $0 }' "$T/procs" "$T/procrec" |
		sort -k1,1nr -k2,2nr | while read -r _ _ ns name pid start digest; do
		[ "$DRY_RUN" = 1 ] || ! proc_alive "$pid" "$start" || say "stopping $ns:$name (pid $pid)"
		proc_stop "$ns" "$name" "$pid" "$start" || :
	done
}

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
