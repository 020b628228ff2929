package main

import (
	"encoding/json"
	"fmt"
	"time"
)

// The OSV entry as golang.org/x/vulndb/internal/osv declares it: the same
// fields, in the same order, with the same JSON tags and the same custom
// encodings, so that decoding a file and encoding it again gives the
// official command's bytes (fields it does not know are dropped, times are
// rewritten in UTC without fractional seconds).

type entry struct {
	SchemaVersion    string            `json:"schema_version,omitempty"`
	ID               string            `json:"id"`
	Modified         osvTime           `json:"modified,omitempty"`
	Published        osvTime           `json:"published,omitempty"`
	Withdrawn        *osvTime          `json:"withdrawn,omitempty"`
	Aliases          []string          `json:"aliases,omitempty"`
	Related          []string          `json:"related,omitempty"`
	Summary          string            `json:"summary,omitempty"`
	Details          string            `json:"details"`
	Affected         []affected        `json:"affected"`
	References       []reference       `json:"references,omitempty"`
	Credits          []credit          `json:"credits,omitempty"`
	DatabaseSpecific *databaseSpecific `json:"database_specific,omitempty"`
}

type affected struct {
	Module            module             `json:"package"`
	Ranges            []osvRange         `json:"ranges,omitempty"`
	EcosystemSpecific *ecosystemSpecific `json:"ecosystem_specific,omitempty"`
}

type module struct {
	Path      string `json:"name"`
	Ecosystem string `json:"ecosystem"`
}

// rangeTypeSemver is the only range type whose fixed versions count for
// index/modules.json.
const rangeTypeSemver = "SEMVER"

type osvRange struct {
	Type   string       `json:"type"`
	Events []rangeEvent `json:"events"`
}

type rangeEvent struct {
	Introduced string `json:"introduced,omitempty"`
	Fixed      string `json:"fixed,omitempty"`
}

type ecosystemSpecific struct {
	Packages     []osvPackage `json:"imports,omitempty"`
	CustomRanges []osvRange   `json:"custom_ranges,omitempty"`
}

type osvPackage struct {
	Path    string   `json:"path"`
	GOOS    []string `json:"goos,omitempty"`
	GOARCH  []string `json:"goarch,omitempty"`
	Symbols []string `json:"symbols,omitempty"`
}

type reference struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

type credit struct {
	Name string `json:"name"`
}

type databaseSpecific struct {
	URL          string       `json:"url,omitempty"`
	ReviewStatus reviewStatus `json:"review_status,omitempty"`
}

// osvTime is a time that decodes from RFC 3339 and encodes as RFC 3339 in
// UTC, to the second.
type osvTime struct {
	time.Time
}

func (t osvTime) MarshalJSON() ([]byte, error) {
	return json.Marshal(t.UTC().Format(time.RFC3339))
}

func (t *osvTime) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	parsed, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return err
	}
	t.Time = parsed.UTC()
	return nil
}

// reviewStatus is "", "UNREVIEWED" or "REVIEWED"; an integer, as upstream,
// so that omitempty drops the empty one.
type reviewStatus int

var reviewStatuses = []string{"", "UNREVIEWED", "REVIEWED"}

func (r reviewStatus) MarshalJSON() ([]byte, error) {
	if r < 0 || int(r) >= len(reviewStatuses) {
		return nil, fmt.Errorf("unknown review status %d", int(r))
	}
	return json.Marshal(reviewStatuses[r])
}

func (r *reviewStatus) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	for i, name := range reviewStatuses {
		if s == name {
			*r = reviewStatus(i)
			return nil
		}
	}
	return fmt.Errorf("unknown review status %q", s)
}
