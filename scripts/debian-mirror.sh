# debian-mirror.sh: sourced by build-test-image.sh and build-slurm-image.sh.
# find_mirror prints the Debian mirror for $suite main named in this machine's
# apt sources (one-line or deb822), or $FERRY_DEBIAN_MIRROR when set. The
# sourcing script defines die.

# mirror_from_sources_list prints the URI of the first one-line "deb" entry
# for $suite with component main in /etc/apt/sources.list.
mirror_from_sources_list() {
	[ -r /etc/apt/sources.list ] || return 0
	awk -v suite="$suite" '
		$1 != "deb" { next }
		{ i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } }
		$(i + 1) == suite { for (j = i + 2; j <= NF; j++) if ($j == "main") { print $i; exit } }
	' /etc/apt/sources.list
}

# mirror_from_deb822 prints the first URI of the first enabled deb822 stanza
# (/etc/apt/sources.list.d/*.sources) of type deb with $suite and main.
mirror_from_deb822() {
	local files=(/etc/apt/sources.list.d/*.sources)
	[ -e "${files[0]}" ] || return 0
	awk -v suite="$suite" '
		function has(list, word,   n, a, k) { n = split(list, a, /[ \t]+/); for (k = 1; k <= n; k++) if (a[k] == word) return 1; return 0 }
		function flush() {
			if (found == "" && has(f["types"], "deb") && has(f["suites"], suite) && has(f["components"], "main") && tolower(f["enabled"]) != "no") {
				split(f["uris"], u, /[ \t]+/); for (k = 1; k in u; k++) if (u[k] != "") { found = u[k]; break }
			}
			delete f; key = ""
		}
		/^[ \t]*#/ { next }
		/^[ \t]*$/ { flush(); next }
		/^[A-Za-z0-9-]+:/ { key = tolower(substr($0, 1, index($0, ":") - 1)); f[key] = substr($0, index($0, ":") + 1); next }
		/^[ \t]/ && key != "" { f[key] = f[key] " " $0 }
		END { flush(); if (found != "") print found }
	' "${files[@]}"
}

find_mirror() {
	if [ -n "${FERRY_DEBIAN_MIRROR:-}" ]; then
		printf '%s\n' "$FERRY_DEBIAN_MIRROR"
		return
	fi
	local m
	m=$(mirror_from_sources_list)
	[ -n "$m" ] || m=$(mirror_from_deb822)
	[ -n "$m" ] || die "no 'deb' source for $suite main in /etc/apt/sources.list{,.d/*.sources}"
	printf '%s\n' "${m%/}"
}
