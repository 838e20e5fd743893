# Checks with a port ([[checks]] port): a TCP connection from a namespace, by bash's /dev/tcp
# under timeout, or nc where bash is missing.
check_tcp_tool() {
	if command -v bash >/dev/null 2>&1 && command -v timeout >/dev/null 2>&1; then
		TCP_TOOL=bash
	elif command -v nc >/dev/null 2>&1; then
		TCP_TOOL=nc
	else
		die "verify needs bash (its /dev/tcp, with timeout) or nc for the lab's tcp checks: install bash or netcat-openbsd"
	fi
}
hook verify check_tcp_tool

tcp_check() { shown="$from -> ${address#tcp:}"; }

# One try: got 0 when the connection was made; 1 when it was refused or timed out; anything
# else when the try itself could not run.
tcp_once() {
	_host=${address#tcp:}
	_port=${_host##*:}
	_host=${_host%:*}
	if [ "$TCP_TOOL" = bash ]; then
		# shellcheck disable=SC2016
		out=$(ns_run "$from" timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$_host" "$_port" 2>&1) && got=0 || got=$?
	else
		out=$(ns_run "$from" nc -z -w 3 "$_host" "$_port" 2>&1) && got=0 || got=$?
	fi
	# bash: "...: /dev/tcp/10.0.0.2/179: Connection refused"; nc: "nc: connect to ... failed:
	# Connection refused": the reason is after the last colon.
	reason=$(printf '%s\n' "$out" | awk 'NF { r = $0 } END { sub(/^.*: /, "", r); print (r == "" ? "no answer" : r) }')
	case $got in 124) got=1 reason="no answer in 3 s" ;; [1-9]*) ns_run "$from" true 2>/dev/null && got=1 || got="no namespace" ;; esac
}
