# What an earlier version of the lab ran and wrote in its namespaces, by the record alone: a
# remover (see `remover`), so a version that declares fewer processes, files or one-shot
# commands (or none: `down --lab` too, by the kept copy) stops what the record says it
# started and removes the files it wrote. The declared tables are $T/procs, $T/files and $T/execs, written by
# the modules of processes, files and exec at up's check; none when a module is absent.
#
# Processes: $STATE/processes records "NS NAME PID START DIGEST", the last line of a process
# the one that holds: START is its start time (field 22 of /proc/PID/stat), so a pid the
# kernel gave to another process since is never signalled. A line with PID 0 is written
# before a start: the started shell writes its pid to $STATE/pid/NS.NAME, and a run killed
# in between finds the process there, known by its environment. Files: $STATE/files records
# "file NS PATH" (/etc/netns/NS/PATH) and "dir DIR" for each directory the lab made.

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

# Drop process $1:$2 from the record.
proc_forget() {
	awk -v k="$1 $2" '$1 " " $2 != k' "$STATE/processes" >"$STATE/processes.new"
	mv "$STATE/processes.new" "$STATE/processes"
	rm -f "$STATE/pid/$1.$2"
}

# Stop the processes the lab started and no longer declares, before up starts any.
processes_prune() {
	if [ -s "$STATE/processes" ]; then
		[ -e "$T/procs" ] || : >"$T/procs"
		processes_records | awk 'FILENAME == ARGV[1] { decl[$1 " " $2] = 1; next } !(($1 " " $2) in decl)' "$T/procs" - >"$T/procgone"
		while read -r ns name pid start digest; do
			[ "$DRY_RUN" = 1 ] || ! proc_alive "$pid" "$start" || say "stopping $ns:$name, no longer declared"
			proc_stop "$ns" "$name" "$pid" "$start" || continue
			[ "$DRY_RUN" = 1 ] || proc_forget "$ns" "$name"
		done <"$T/procgone"
	fi
	[ "$DRY_RUN" = 0 ] || return 0
	[ -s "$STATE/processes" ] || rm -rf "$STATE/processes" "$STATE/pid"
	# The private directories and logs of namespaces the lab no longer has.
	for d in "$STATE"/run/* "$STATE"/log/*; do
		[ -d "$d" ] || continue
		case " $NAMESPACES " in *" ${d##*/} "*) ;; *) rm -rf "$d" ;; esac
	done
}

# Stop every process the lab started, those that others wait for last: up keeps the record
# in start order.
processes_down() {
	processes_records | awk '{ l[NR] = $0 } END { for (i = NR; i > 0; i--) print l[i] }' |
		while read -r ns name pid start digest; do
			[ "$DRY_RUN" = 1 ] || ! proc_alive "$pid" "$start" || say "stopping $ns:$name (pid $pid)"
			proc_stop "$ns" "$name" "$pid" "$start" || :
		done
}

# Remove the lab's files that are no longer declared (all of them with $1 = all), then the
# directories it made that are left empty, deepest first; the record keeps the rest.
files_prune() {
	[ -s "$STATE/files" ] || return 0
	if [ "$1" = all ] || [ ! -e "$T/files" ]; then
		: >"$T/files.keep"
	else
		awk '{ print "file", $1, $2 }' "$T/files" >"$T/files.keep"
	fi
	awk 'FILENAME == ARGV[1] { keep[$0] = 1; next } $1 == "file" && !($0 in keep) && !seen[$0]++ { print $2, $3 }' \
		"$T/files.keep" "$STATE/files" >"$T/files.gone"
	while read -r ns path; do
		f=/etc/netns/$ns/$path
		if [ "$DRY_RUN" = 1 ]; then
			[ ! -e "$f" ] || echo "rm $f"
		else
			rm -f "$f" "$f.nsgen"
		fi
	done <"$T/files.gone"
	[ "$DRY_RUN" = 0 ] || return 0
	awk '$1 == "dir" { print $2 }' "$STATE/files" | sort -ru | while read -r d; do
		rmdir "$d" 2>/dev/null || :
	done
	awk 'FILENAME == ARGV[1] { keep[$0] = 1; next }
		$1 == "file" && ($0 in keep) && !seen[$0]++ { print; next }
		$1 == "dir" && !seen[$0]++ { d = $2; if (system("test -d \"" d "\"") == 0) print }' \
		"$T/files.keep" "$STATE/files" >"$T/files.left"
	if [ -s "$T/files.left" ]; then mv "$T/files.left" "$STATE/files"; else rm -f "$STATE/files"; fi
}

# up: what the lab no longer declares goes before anything new is written or started.
daemons_prune() {
	processes_prune
	files_prune declared
	# One-shot commands of namespaces that declare none now: they run again if declared again.
	[ -s "$STATE/exec" ] && [ "$DRY_RUN" = 0 ] || return 0
	[ -e "$T/execs" ] || : >"$T/execs"
	awk 'FILENAME == ARGV[1] { decl[$1] = 1; next } $1 in decl' "$T/execs" "$STATE/exec" >"$T/exec.kept"
	if [ -s "$T/exec.kept" ]; then mv "$T/exec.kept" "$STATE/exec"; else rm -f "$STATE/exec"; fi
}
hook configured daemons_prune

daemons_prune_left() { [ -s "$STATE/processes" ] || [ -s "$STATE/files" ] || [ -s "$STATE/exec" ]; }

# down: the processes stop before their files go (and before their namespaces do).
daemons_down() {
	processes_down
	files_prune all
}
hook down daemons_down
