# ---- One-shot commands (namespaces.NS.exec): run in NS, each by /bin/sh -c through `ip netns
# exec` with the environment of its processes, after its processes are ready. $STATE/exec
# records "NS DIGEST NETNS-ID" of each namespace's last complete run: they run again when the
# digest (its files, processes and commands) changes, when the namespace is a new one (its
# inode and change time), or when one of its processes was started by this run.

exec_id() { stat -L -c '%i-%Z' "/run/netns/$1" 2>/dev/null || :; }

exec_check() { lab_execs >"$T/execs"; }
hook check exec_check

exec_up() {
	: >"$T/exec.new"
	while read -r ns digest count; do
		id=$(exec_id "$ns")
		if grep -qxF "$ns $digest $id" "$STATE/exec" 2>/dev/null &&
			! awk -v ns="$ns" '$1 == ns { found = 1 } END { exit !found }' "$T/started" 2>/dev/null; then
			echo "$ns $digest $id" >>"$T/exec.new"
			continue
		fi
		[ "$DRY_RUN" = 1 ] || mkdir -p "$STATE/run/$ns"
		i=1
		while [ "$i" -le "$count" ]; do
			command=$(lab_text "exec:$ns:$i")
			if [ "$DRY_RUN" = 1 ]; then
				echo "exec in $ns: $command"
			elif ! daemon_sh "$ns" "$command" </dev/null >"$T/exec.out" 2>&1; then
				sed 's/^/    /' "$T/exec.out" >&2
				die "exec[$((i - 1))] in $ns failed (its output is above): $command"
			fi
			i=$((i + 1))
		done
		[ "$DRY_RUN" = 1 ] && continue
		say "exec: ran $count in $ns"
		echo "$ns $digest $id" >>"$T/exec.new"
		# Recorded at once, the other namespaces' lines kept: a later failure does not make
		# this namespace's commands run again.
		awk 'FILENAME == ARGV[1] { done[$1] = 1; print; next } !($1 in done)' "$T/exec.new" "$STATE/exec" 2>/dev/null >"$STATE/exec.part" || :
		mv "$STATE/exec.part" "$STATE/exec"
	done <"$T/execs"
	[ "$DRY_RUN" = 0 ] || return 0
	if [ -s "$T/exec.new" ]; then mv "$T/exec.new" "$STATE/exec"; else rm -f "$STATE/exec"; fi
}
hook configured exec_up

# The status lines: each namespace's commands as ok (ran for what is declared now) or pending.
exec_status() {
	lab_execs >"$T/execs"
	echo "== more"
	while read -r ns digest count; do
		if grep -qxF "$ns $digest $(exec_id "$ns")" "$STATE/exec" 2>/dev/null; then
			echo "ok exec in $ns ($count commands)"
		else
			echo "pending exec in $ns ($count commands; up runs them)"
		fi
	done <"$T/execs"
}
hook observe_status exec_status
