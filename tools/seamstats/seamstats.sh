#!/bin/sh
# seamstats.sh REV...: issue 18's figures for each git revision (see
# main.go for what counts), and the duplicate pairs of the `duplicates` tool
# (when it is installed) over the revision's whole tree and over
# internal/store and internal/api without tests and migrations.
# Run from the repository: the counter is built from this checkout and reads
# each revision's tree, extracted with git archive into a temporary folder.
# SEAMSTATS_WHERE=1 lists every place counted.
set -eu
[ $# -ge 1 ] || { echo "usage: $0 REV..." >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/seamstats" ./tools/seamstats
for rev in "$@"; do
	dir="$tmp/tree"
	rm -rf "$dir" && mkdir -p "$dir"
	git archive "$rev" | tar -x -C "$dir"
	echo "== $rev ($(git log -1 --format='%h %ad' --date=short "$rev"))"
	"$tmp/seamstats" "$dir"
	if command -v duplicates >/dev/null 2>&1; then
		all=$(duplicates --repo "$dir" --most 1 --seconds 300 | head -1 | sed 's/ pairs.*//')
		echo "duplicate pairs, whole tree	$all"
		for pkg in internal/store internal/api; do
			n=$(duplicates --repo "$dir/$pkg" --most 200 --seconds 300 |
				grep -E '^D[0-9]+ ' | grep -v -e migrations/ -e '_test\.go' | wc -l)
			echo "duplicate pairs, $pkg (no tests, no migrations)	$n"
		done
	else
		echo "duplicate pairs	(the duplicates tool is not installed)"
	fi
done
