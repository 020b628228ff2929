package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// goldenDir holds the database the official indexdb (golang.org/x/vulndb,
// at the version tools/vulndb/go.mod pins) built from fixtureDir, without
// its .json.gz files. To make it again, from tools/vulndb:
//
//	rm -rf indexdb/testdata/golden
//	go tool indexdb -vulns testdata -out indexdb/testdata/golden
//	find indexdb/testdata/golden -name '*.gz' -delete
const (
	fixtureDir = "../testdata"
	goldenDir  = "testdata/golden"
)

// TestGolden builds a database from the fixtures and compares it with the
// official command's: every .json file byte for byte, no file more or
// less, and each .json.gz holding its .json. (The .gz bytes themselves are
// the official command's too when both are built by the same Go toolchain,
// but compress/flate may change between toolchains, so they are not
// goldens.)
func TestGolden(t *testing.T) {
	db, err := load(fixtureDir)
	if err != nil {
		t.Fatalf("load(%q): %v", fixtureDir, err)
	}
	out := t.TempDir()
	if err := db.write(out); err != nil {
		t.Fatalf("write: %v", err)
	}

	golden := readTree(t, goldenDir)
	got := readTree(t, out)
	if len(golden) < 10 {
		t.Fatalf("%s holds %d files: want the golden database", goldenDir, len(golden))
	}
	for name, want := range golden {
		if g, ok := got[name]; !ok {
			t.Errorf("%s: missing", name)
		} else if !bytes.Equal(g, want) {
			t.Errorf("%s =\n%s\nwant (official indexdb)\n%s", name, g, want)
		}
		gz, ok := got[name+".gz"]
		if !ok {
			t.Errorf("%s.gz: missing", name)
			continue
		}
		if plain := gunzip(t, name+".gz", gz); !bytes.Equal(plain, want) {
			t.Errorf("%s.gz holds\n%s\nwant\n%s", name, plain, want)
		}
	}
	for name := range got {
		if _, ok := golden[strings.TrimSuffix(name, ".gz")]; !ok {
			t.Errorf("%s: written, but not in the official database", name)
		}
	}
}

// readTree returns the files under dir by slash-separated relative path.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatalf("read %s: %v", dir, err)
	}
	return files
}

func gunzip(t *testing.T, name string, b []byte) []byte {
	t.Helper()
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	plain, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return plain
}

func TestLatestFixed(t *testing.T) {
	semver := func(events ...rangeEvent) osvRange { return osvRange{Type: rangeTypeSemver, Events: events} }
	intro := func(v string) rangeEvent { return rangeEvent{Introduced: v} }
	fixed := func(v string) rangeEvent { return rangeEvent{Fixed: v} }
	tests := []struct {
		name   string
		ranges []osvRange
		want   string
	}{
		{"no ranges", nil, ""},
		{"never fixed", []osvRange{semver(intro("0"))}, ""},
		{"fixed", []osvRange{semver(intro("0"), fixed("1.2.3"))}, "1.2.3"},
		{"numeric, not lexical", []osvRange{semver(intro("0"), fixed("1.9.0"), intro("1.10.0"), fixed("1.10.2"))}, "1.10.2"},
		{"prerelease before release", []osvRange{semver(intro("0"), fixed("2.0.0-rc.1")), semver(intro("0"), fixed("2.0.0"))}, "2.0.0"},
		{"shorthand version", []osvRange{semver(intro("0"), fixed("1.2.3"), fixed("1.3"))}, "1.3"},
		{"reintroduced after the fix", []osvRange{semver(intro("0"), fixed("1.2.0"), intro("1.5.0"))}, ""},
		{"reintroduced in a later range", []osvRange{semver(intro("0"), fixed("1.2.0")), semver(intro("1.5.0"))}, ""},
		{"fixed again in a later range", []osvRange{semver(intro("1.5.0")), semver(intro("0"), fixed("1.2.0"))}, "1.2.0"},
		{"invalid fixed version ignored", []osvRange{semver(intro("0"), fixed("1.0.0"), fixed("v2"), fixed("01.0.0"))}, "1.0.0"},
		{"not SEMVER", []osvRange{{Type: "ECOSYSTEM", Events: []rangeEvent{intro("0"), fixed("3.0.0")}}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := latestFixed(tt.ranges); got != tt.want {
				t.Errorf("latestFixed(%+v) = %q, want %q", tt.ranges, got, tt.want)
			}
		})
	}
}

// TestLoadRefuses checks the inputs load refuses; the official command
// refuses them too, but for the ID that is not a file name.
func TestLoadRefuses(t *testing.T) {
	const ok = `{"id": "GO-2000-0001", "modified": "2000-01-01T00:00:00Z", "details": "", "affected": []}`
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"not JSON", map[string]string{"a.json": "{"}, "decode"},
		{"not an object", map[string]string{"a.json": "[]"}, "decode"},
		{"time not RFC 3339", map[string]string{"a.json": strings.Replace(ok, "2000-01-01T00:00:00Z", "2000-01-01", 1)}, "decode"},
		{"unknown review status", map[string]string{"a.json": strings.Replace(ok, `"details"`, `"database_specific": {"review_status": "MAYBE"}, "details"`, 1)}, "review status"},
		{"same ID twice", map[string]string{"a.json": ok, "sub/b.json": ok}, "appears twice"},
		{"empty ID", map[string]string{"a.json": strings.Replace(ok, "GO-2000-0001", "", 1)}, "not a file name"},
		{"ID a path", map[string]string{"a.json": strings.Replace(ok, "GO-2000-0001", "../GO-2000-0001", 1)}, "not a file name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tt.files {
				path := filepath.Join(dir, filepath.FromSlash(name))
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := load(dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("load(%v) = %v, want an error containing %q", slices.Sorted(maps.Keys(tt.files)), err, tt.want)
			}
		})
	}
}

// TestLoadSkips checks that load reads only *.json files, and not index.json.
func TestLoadSkips(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"index.json":        "not read",
		"README.md":         "not read",
		"GO-2000-0001.json": `{"id": "GO-2000-0001", "details": "", "affected": []}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	db, err := load(dir)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if len(db.entries) != 1 || db.entries[0].ID != "GO-2000-0001" {
		t.Errorf("load read %+v, want GO-2000-0001 only", db.entries)
	}
}
