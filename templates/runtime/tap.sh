# TAP devices: their owners and groups, read where the lab has TAPs ("== tun NS" sections of
# `ip -d -j link show type tun`, and "== ids": the users and groups the plan names).
observe_taps() {
	for ns in $TAP_NAMESPACES; do
		echo "== tun $ns"
		in_lab_netns "$ns" ip -d -j link show type tun
	done
	echo "== ids"
	# shellcheck disable=SC2046 # user and group names are [a-z0-9_.-]: safe to split
	account passwd u $(awk '$1 == "tap" && $4 != "-" { print $4 }' "$T/plan")
	# shellcheck disable=SC2046
	account group g $(awk '$1 == "tap" && $5 != "-" { print $5 }' "$T/plan")
}
hook observe_links observe_taps

# "TAG NAME ID" for each user (or group) named or numbered, from NSS where getent exists.
account() {
	db=$1 tag=$2
	shift 2
	[ $# -gt 0 ] || return 0
	if command -v getent >/dev/null 2>&1; then
		getent "$db" "$@" || :
	else
		cat "/etc/$db"
	fi | awk -F: -v t="$tag" '{ print t, $1, $3 }'
}

