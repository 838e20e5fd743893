# What the modules of files, processes and one-shot commands share: the texts of their tables
# (lab_text) and the environment of what runs in a namespace.

# Text without its final newline (a file that ends without one).
nsgen_chomp() { awk 'NR > 1 { printf "\n" } { printf "%s", $0 }'; }

# A command run by /bin/sh -c inside namespace $1, through `ip netns exec` (which shows the
# lab's files under /etc), with the environment of the namespace's processes.
daemon_sh() {
	_ns=$1
	shift
	NSGEN_LAB=$LAB NSGEN_NS=$_ns NSGEN_RUN=$STATE/run/$_ns ip netns exec "$_ns" /bin/sh -c "$@"
}
