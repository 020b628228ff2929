package main

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// database is what the v1 layout holds, built as
// golang.org/x/vulndb/internal/database builds it.
type database struct {
	meta    dbMeta
	modules map[string]*moduleIndex
	vulns   map[string]vulnIndex
	entries []entry
}

// dbMeta is index/db.json.
type dbMeta struct {
	Modified osvTime `json:"modified"`
}

// moduleIndex is one element of index/modules.json.
type moduleIndex struct {
	Path  string       `json:"path"`
	Vulns []moduleVuln `json:"vulns"`
}

type moduleVuln struct {
	ID       string  `json:"id"`
	Modified osvTime `json:"modified"`
	Fixed    string  `json:"fixed,omitempty"`
}

// vulnIndex is one element of index/vulns.json.
type vulnIndex struct {
	ID       string   `json:"id"`
	Modified osvTime  `json:"modified"`
	Aliases  []string `json:"aliases,omitempty"`
}

// load reads every .json file under dir, in filepath.WalkDir's (lexical)
// order, but for directories and files named index.json.
func load(dir string) (*database, error) {
	db := &database{modules: map[string]*moduleIndex{}, vulns: map[string]vulnIndex{}}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || d.Name() == "index.json" || filepath.Ext(d.Name()) != ".json" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var e entry
		if err := json.Unmarshal(b, &e); err != nil {
			return fmt.Errorf("decode %s: %w", path, err)
		}
		if err := db.add(e); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	return db, nil
}

// add adds an entry to the database and its indexes.
func (db *database) add(e entry) error {
	if e.ID == "" || e.ID == "." || e.ID == ".." || strings.ContainsAny(e.ID, `/\`) {
		return fmt.Errorf("entry ID %q is not a file name", e.ID)
	}
	if _, ok := db.vulns[e.ID]; ok {
		return fmt.Errorf("id %q appears twice in database", e.ID)
	}
	db.vulns[e.ID] = vulnIndex{ID: e.ID, Modified: e.Modified, Aliases: e.Aliases}
	db.entries = append(db.entries, e)
	for _, a := range e.Affected {
		m := db.modules[a.Module.Path]
		if m == nil {
			m = &moduleIndex{Path: a.Module.Path, Vulns: []moduleVuln{}}
			db.modules[a.Module.Path] = m
		}
		m.Vulns = append(m.Vulns, moduleVuln{ID: e.ID, Modified: e.Modified, Fixed: latestFixed(a.Ranges)})
	}
	if e.Modified.After(db.meta.Modified.Time) {
		db.meta.Modified = e.Modified
	}
	return nil
}

// latestFixed returns the latest fixed version of the SEMVER ranges, or ""
// if a range introduces the vulnerability again after it (as
// golang.org/x/vulndb/internal/osvutils.LatestFixed does).
func latestFixed(ranges []osvRange) string {
	var latest string
	for _, r := range ranges {
		if r.Type != rangeTypeSemver {
			continue
		}
		for _, e := range r.Events {
			if e.Fixed != "" && semverBefore(latest, e.Fixed) {
				latest = e.Fixed
			}
		}
		for _, e := range r.Events {
			if e.Introduced != "" && e.Introduced != "0" && semverBefore(latest, e.Introduced) {
				latest = ""
				break
			}
		}
	}
	return latest
}

// write writes the database into dir (index/ and ID/), each file as NAME.json
// and NAME.json.gz.
func (db *database) write(dir string) error {
	modules := slices.SortedFunc(maps.Values(db.modules), func(a, b *moduleIndex) int { return cmp.Compare(a.Path, b.Path) })
	for _, m := range modules {
		slices.SortStableFunc(m.Vulns, func(a, b moduleVuln) int { return cmp.Compare(a.ID, b.ID) })
	}
	vulns := slices.SortedFunc(maps.Values(db.vulns), func(a, b vulnIndex) int { return cmp.Compare(a.ID, b.ID) })

	index := filepath.Join(dir, "index")
	if err := os.MkdirAll(index, 0o755); err != nil {
		return err
	}
	for name, v := range map[string]any{"db.json": db.meta, "modules.json": modules, "vulns.json": vulns} {
		if err := writeJSON(filepath.Join(index, name), v); err != nil {
			return err
		}
	}
	ids := filepath.Join(dir, "ID")
	if err := os.MkdirAll(ids, 0o755); err != nil {
		return err
	}
	for _, e := range db.entries {
		if err := writeJSON(filepath.Join(ids, e.ID+".json"), e); err != nil {
			return err
		}
	}
	return nil
}

// writeJSON writes v, JSON-encoded, to name and, gzipped at level 9, to
// name.gz.
func writeJSON(name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", name, err)
	}
	if err := os.WriteFile(name, b, 0o644); err != nil {
		return err
	}
	var gz bytes.Buffer
	w, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return os.WriteFile(name+".gz", gz.Bytes(), 0o644)
}
