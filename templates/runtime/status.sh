status() {
	observe_host
	hooks observe_status >>"$T/obs"
	do_reads statusreads
	observe_links
	decide status
}

