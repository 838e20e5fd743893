# ---- Files ([namespaces.NS.files]): /etc/netns/NS/PATH, which `ip netns exec NS` bind-mounts
# over /etc/PATH's first part. $STATE/files records what the lab wrote, "file NS PATH" before it
# writes one (so a run killed while writing still knows it), and "dir DIR" for each directory
# it made; their removal, by the record, is daemons-prune's. A file is the lab's when the
# record names it: one there that the lab did not write is refused, and a lab file edited by
# hand is written again.

# sha256 of file $1, "" when there is none.
file_sum() {
	[ -f "$1" ] || return 0
	sha256sum <"$1" | cut -c1-64
}

file_ours() { grep -qxF "file $1 $2" "$STATE/files" 2>/dev/null; }

# Before anything changes: nothing foreign at a declared path, and the host has each path's
# first part under /etc (ip netns exec mounts over it, and shows nothing where it is missing).
files_check() {
	lab_files >"$T/files"
	while read -r ns path mode sum key; do
		f=/etc/netns/$ns/$path
		if { [ -e "$f" ] || [ -L "$f" ]; } && ! file_ours "$ns" "$path"; then
			die "refusing: $f exists and was not written by lab $LAB"
		fi
		[ ! -d "$f" ] || [ -L "$f" ] || die "refusing: $f is a directory"
		top=${path%%/*}
		if [ "$top" = "$path" ]; then
			[ -f "/etc/$top" ] || die "/etc/$top must exist on the host as a file: ip netns exec shows $f as /etc/$top only over one"
		else
			[ -d "/etc/$top" ] || die "/etc/$top must exist on the host as a directory: ip netns exec shows /etc/netns/$ns/$top as /etc/$top only over one"
		fi
	done <"$T/files"
}
hook check files_check

# Make directory $1 and those above it up to /etc/netns, recording each one made.
files_mkdir() {
	[ -d "$1" ] && return 0
	files_mkdir "${1%/*}"
	echo "dir $1" >>"$STATE/files"
	mkdir "$1"
}

# Write each file that is missing or differs (content or mode), atomically.
files_up() {
	written=0
	while read -r ns path mode sum key; do
		f=/etc/netns/$ns/$path
		if [ "$(file_sum "$f")" = "$sum" ] && [ "$(stat -c %a "$f")" = "$mode" ]; then continue; fi
		if [ "$DRY_RUN" = 1 ]; then
			echo "write $f"
			continue
		fi
		[ -d "$STATE" ] || mkdir -p "$STATE"
		file_ours "$ns" "$path" || echo "file $ns $path" >>"$STATE/files"
		files_mkdir "${f%/*}"
		lab_text "$key" >"$f.nsgen"
		chmod "$mode" "$f.nsgen"
		mv -f "$f.nsgen" "$f"
		written=$((written + 1))
	done <"$T/files"
	[ "$written" = 0 ] || say "files: wrote $written"
}
hook configured files_up

# The status lines: each declared file as ok, missing, drifted or foreign, and each the lab
# wrote and no longer declares as extra.
files_status() {
	lab_files >"$T/files"
	echo "== more"
	while read -r ns path mode sum key; do
		f=/etc/netns/$ns/$path
		now=$(file_sum "$f")
		why=
		if [ -z "$now" ] && [ ! -e "$f" ]; then
			s=missing
		elif ! file_ours "$ns" "$path"; then
			s=foreign
		elif [ "$now" != "$sum" ]; then
			s=drifted why=" (content)"
		elif [ "$(stat -c %a "$f")" != "$mode" ]; then
			s=drifted why=" (mode $(stat -c %a "$f"))"
		else
			s=ok
		fi
		echo "$s file $f$why"
	done <"$T/files"
	[ -s "$STATE/files" ] || return 0
	awk 'FILENAME == ARGV[1] { keep["file " $1 " " $2] = 1; next } $1 == "file" && !($0 in keep) && !seen[$0]++ { print $2, $3 }' \
		"$T/files" "$STATE/files" | while read -r ns path; do
		[ ! -e "/etc/netns/$ns/$path" ] || echo "extra file /etc/netns/$ns/$path"
	done
}
hook observe_status files_status
