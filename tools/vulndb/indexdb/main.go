// Command indexdb builds a Go vulnerability database in the v1 layout
// (https://go.dev/security/vuln/database#api) from a directory of OSV
// JSON files, as the indexdb command of golang.org/x/vulndb does, with
// the standard library only: it builds in a second on a machine whose Go
// caches are empty, where the official command first downloads and
// compiles about sixty modules.
//
// Usage:
//
//	go run ./indexdb -vulns DIR -out DIR
//
// It reads every *.json file under -vulns (subdirectories included; a
// file named index.json is skipped, as the official command skips it) and
// writes into -out, each file as NAME.json and as NAME.json.gz:
//
//	index/db.json       {"modified": the latest modified time of any entry}
//	index/modules.json  each affected module, sorted by path, with the IDs,
//	                    modified times and latest fixed versions of its
//	                    entries, sorted by ID
//	index/vulns.json    each entry's ID, modified time and aliases, sorted by ID
//	ID/<ID>.json        each entry, decoded and encoded again
//
// govulncheck reads index/db.json, index/modules.json and ID/<ID>.json from
// a file:// database, and the .json.gz files from an https:// one.
//
// The output is byte for byte the official command's, .json.gz files
// included, when both are built by the same Go toolchain. TestGolden
// checks it against the official output for the fixtures of
// tools/vulndb/testdata; to check the whole pinned database, run from
// tools/vulndb (the official command takes a minute or two to build):
//
//	osv=$(go list -m -f '{{.Dir}}' golang.org/x/vulndb)/data/osv
//	go tool indexdb -vulns $osv -out /tmp/official
//	go run ./indexdb -vulns $osv -out /tmp/ours
//	diff -r /tmp/official /tmp/ours
//
// Like the official command it refuses a file that is not a JSON object
// of the OSV schema's types (a time that is not RFC 3339, an unknown
// review_status) and two entries with the same ID, and otherwise does not
// validate entries (the published database is validated upstream). Unlike
// it, it also refuses an entry whose ID is empty or is not a plain file
// name, since the ID names the file it writes.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	vulns := flag.String("vulns", "", "directory of OSV JSON files (required)")
	out := flag.String("out", "", "directory to write the database to (required)")
	flag.Parse()
	if *vulns == "" || *out == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: indexdb -vulns DIR -out DIR")
		os.Exit(2)
	}
	db, err := load(*vulns)
	if err == nil {
		err = db.write(*out)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "indexdb:", err)
		os.Exit(1)
	}
}
