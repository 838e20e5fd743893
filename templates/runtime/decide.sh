# Run the plan through the decision program. MODE is up, down, status, or reads (which
# namespaces must be looked into before deciding).
decide() {
	[ -d /proc/sys/net/ipv6/conf ] && _ipv6=1 || _ipv6=0
	NSGEN_SOURCE=$SOURCE awk -v mode="$1" -v mark="$MARK" -v lab="$LAB" -v dir="$T" -v state="$STATE" \
		-v hostl3="$HOST_L3" -v proto="$ROUTE_PROTO" -v sha="$SOURCE_SHA256" -v ipv6="$_ipv6" "$DECIDE" "$T/plan" "$T/obs"
}

