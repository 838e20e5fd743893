# Whether the running kernel has qdisc KIND, found without changing anything: loaded
# (/sys/module, /proc/modules), built in or loadable (modules.builtin, modules.dep of the
# running kernel), or said by its config (/proc/config.gz). /sys/module alone proves
# nothing: a built-in module without parameters is not listed there (tbf, here).
qdisc_available() {
	[ -e "/sys/module/sch_$1" ] && return 0
	grep -qs "^sch_$1 " /proc/modules && return 0
	mods=/lib/modules/$(uname -r)
	grep -qs "/sch_$1\.ko" "$mods/modules.builtin" "$mods/modules.dep" && return 0
	if [ -r /proc/config.gz ] && command -v zcat >/dev/null 2>&1; then
		sym=$(echo "$1" | tr '[:lower:]' '[:upper:]')
		zcat /proc/config.gz | grep -Eq "^CONFIG_NET_SCH_$sym=[ym]\$"
		return
	fi
	[ ! -e "$mods/modules.dep" ] || return 1
	# Nothing to read: ask the kernel in a namespace of this process alone, which vanishes
	# with it (it loads the module where one exists, as the real qdisc would).
	command -v unshare >/dev/null 2>&1 || return 0
	case $1 in
	tbf) set -- tbf rate 1mbit burst 10kb latency 10ms ;;
	esac
	unshare --net tc qdisc add dev lo root "$@" >/dev/null 2>&1
}

# Before anything changes: tc is there and the kernel has every qdisc the lab needs.
check_links() {
	command -v tc >/dev/null 2>&1 || die "tc not found: install iproute2 (the lab shapes links)"
	awk '$1 == "qdisc" { k = $5; if (!(k in u)) o[++n] = k; u[k] = u[k] (u[k] == "" ? "" : ", ") ($2 == "-" ? "host" : $2) ":" $3 }
		END { for (i = 1; i <= n; i++) print o[i], u[o[i]] }' "$T/plan" >"$T/qdiscs"
	while read -r kind users; do
		qdisc_available "$kind" ||
			die "the kernel has no $kind qdisc (sch_$kind), needed by $users; nothing was changed"
	done <"$T/qdiscs"
}

hook check check_links
