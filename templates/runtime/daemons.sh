# ---- What runs in the lab's namespaces: files, processes and one-shot commands, one module
# each (observe, decide and apply side by side). up, down and status call these hooks.
daemons() {
	case $1 in
	check)
		files_check
		processes_check
		;;
	up)
		files_up
		processes_up
		exec_up
		;;
	down)
		processes_down
		files_down
		;;
	status)
		files_status
		processes_status
		exec_status
		;;
	esac
}

# Text without its final newline (a file that ends without one).
nsgen_chomp() { awk 'NR > 1 { printf "\n" } { printf "%s", $0 }'; }

# A command run by /bin/sh -c inside namespace $1, through `ip netns exec` (which shows the
# lab's files under /etc), with the environment of the namespace's processes.
daemon_sh() {
	_ns=$1
	shift
	NSGEN_LAB=$LAB NSGEN_NS=$_ns NSGEN_RUN=$STATE/run/$_ns ip netns exec "$_ns" /bin/sh -c "$@"
}
