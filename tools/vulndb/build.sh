#!/usr/bin/env bash
# Builds the Go vulnerability database in the v1 layout govulncheck reads
# (index/db.json, index/modules.json, ID/GO-....json) from the OSV files of
# the golang.org/x/vulndb module pinned in this directory's go.mod, with that
# module's own indexdb command (`go tool indexdb`; Go builds it once per
# machine and keeps it in its build cache). The vulnerability service itself
# is not reachable from our machines: this is the offline, reproducible
# equivalent (the module's content is fixed by go.sum).
#
# Usage: tools/vulndb/build.sh [OSV_DIR]
# Prints the database directory. The database of a pinned version is built
# once per machine, under ${VULNDB_CACHE:-${XDG_CACHE_HOME:-~/.cache}/docspace-backup-watch/vulndb}/<version>.
# With OSV_DIR (a directory of OSV files, for tests), it builds a database
# of those files into a new temporary directory instead.
set -euo pipefail
osv=""
if [ $# -ge 1 ]; then
	osv="$(cd "$1" && pwd)" # relative to the caller's directory
fi
cd "$(dirname "$0")"
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"

build() { # build OSV_DIR OUT: build into a temporary sibling, then rename
	local tmp
	tmp="$(mktemp -d "$2.tmp.XXXXXX")"
	go tool indexdb -vulns "$1" -out "$tmp/db" >&2
	test -f "$tmp/db/index/modules.json"
	mv "$tmp/db" "$2"
	rmdir "$tmp"
}

if [ -n "$osv" ]; then
	out="$(mktemp -d)"
	rmdir "$out"
	build "$osv" "$out"
	echo "$out"
	exit 0
fi

version="$(go list -m -f '{{.Version}}' golang.org/x/vulndb)"
cache="${VULNDB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/docspace-backup-watch/vulndb}"
db="$cache/$version"
if [ ! -f "$db/index/modules.json" ]; then
	mkdir -p "$cache"
	go mod download golang.org/x/vulndb
	src="$(go list -m -f '{{.Dir}}' golang.org/x/vulndb)"
	echo "building the vulnerability database $version from $src/data/osv ($(ls "$src/data/osv" | wc -l) entries) into $db with go tool indexdb" >&2
	rm -rf "$db"
	build "$src/data/osv" "$db"
fi
echo "$db"
