# Checks with a command ([[checks]] command): line N of check_commands, run by sh inside the
# namespace (ip netns exec: its /etc/netns files apply), with the environment the lab's
# processes get.
command_check() {
	_cmd=$(check_commands | awk -v n="${address#command:}" '$1 == n { sub(/^[0-9]+ /, ""); print; exit }')
	shown="$from: $_cmd"
}

command_once() {
	out=$(ip netns exec "$from" env NSGEN_LAB="$LAB" NSGEN_NS="$from" NSGEN_RUN="$STATE/run/$from" \
		sh -c "$_cmd" 2>&1 </dev/null) && got=0 || got=$?
	reason="exit $got"
	_last=$(printf '%s\n' "$out" | awk 'NF { r = $0 } END { print r }')
	[ -z "$_last" ] || reason="$reason: $_last"
}
