# Every lab with state on this host, one line each, read from the records (docs/script.md, "Labs
# that change: the record"); a record that others could have written is named and skipped.
labs() {
	[ -d "$STATE_ROOT" ] || return 0
	stat -c '%u %a %n' "$STATE_ROOT" "$STATE_ROOT"/* "$STATE_ROOT"/*/* >"$T/perm" 2>/dev/null || :
	awk -v root="$STATE_ROOT" "$LABS_AWK" "$T/perm"
}

