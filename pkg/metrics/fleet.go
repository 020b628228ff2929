package metrics

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/backupcheck"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
)

// Fleet metric names: one set per invocation, with no portal dimension, so
// that their cost does not grow with the number of portals.
const (
	// PortalsChecked counts the portals checked (Count; sum them).
	PortalsChecked = "PortalsChecked"
	// UnhealthyPortals counts the portals with at least one problem
	// (Count), and with the dimension Reason, the portals with that
	// problem: a portal with two problems counts under both reasons.
	UnhealthyPortals = "UnhealthyPortals"
	// OldestBackupHours is the age of the oldest newest-backup among the
	// portals checked (None; take the Maximum); left out when no portal's
	// history was read.
	OldestBackupHours = "OldestBackupHours"
	// ReasonDimension is the dimension of UnhealthyPortals by reason.
	ReasonDimension = "Reason"
)

// FleetLines returns the EMF objects that sum up the verdicts of one
// invocation, without newlines: one with PortalsChecked, UnhealthyPortals
// and OldestBackupHours and no dimension, then one UnhealthyPortals per
// failing reason (sorted) with the dimension Reason. Each carries level
// as its LevelField (see LevelFor; "" is INFO).
func FleetLines(namespace, level string, at time.Time, verdicts []backupcheck.Verdict) ([][]byte, error) {
	if namespace == "" {
		namespace = DefaultNamespace
	}
	if level == "" {
		level = "INFO"
	}
	unhealthy := 0
	byReason := map[backupcheck.Reason]int{}
	oldest, haveOldest := 0.0, false
	for _, v := range verdicts {
		reasons := failing(v)
		if len(reasons) > 0 {
			unhealthy++
		}
		for _, r := range reasons {
			byReason[r]++
		}
		if h, ok := v.HoursSinceLastBackup(); ok && (!haveOldest || h > oldest) {
			oldest, haveOldest = h, true
		}
	}
	defs := []metricDef{{PortalsChecked, "Count"}, {UnhealthyPortals, "Count"}}
	doc := map[string]any{PortalsChecked: len(verdicts), UnhealthyPortals: unhealthy}
	if haveOldest {
		defs = append(defs, metricDef{OldestBackupHours, "None"})
		doc[OldestBackupHours] = oldest
	}
	docs := []map[string]any{withDirective(doc, namespace, at, []string{}, defs)}
	reasons := make([]string, 0, len(byReason))
	for r := range byReason {
		reasons = append(reasons, string(r))
	}
	slices.Sort(reasons)
	for _, r := range reasons {
		d := map[string]any{ReasonDimension: r, UnhealthyPortals: byReason[backupcheck.Reason(r)]}
		docs = append(docs, withDirective(d, namespace, at, []string{ReasonDimension}, []metricDef{{UnhealthyPortals, "Count"}}))
	}
	out := make([][]byte, 0, len(docs))
	for _, d := range docs {
		d[LevelField] = level
		b, err := json.Marshal(d)
		if err != nil {
			return nil, fmt.Errorf("encode fleet metrics: %w", err)
		}
		out = append(out, b)
	}
	return out, nil
}

// WriteFleet writes the FleetLines of verdicts to w, a line each.
func WriteFleet(w io.Writer, namespace, level string, at time.Time, verdicts []backupcheck.Verdict) error {
	lines, err := FleetLines(namespace, level, at, verdicts)
	if err != nil {
		return err
	}
	var buf []byte
	for _, l := range lines {
		buf = append(append(buf, l...), '\n')
	}
	_, err = w.Write(buf)
	return err
}

func withDirective(doc map[string]any, namespace string, at time.Time, dims []string, defs []metricDef) map[string]any {
	doc["_aws"] = map[string]any{
		"Timestamp":         at.UnixMilli(),
		"CloudWatchMetrics": []directive{{Namespace: namespace, Dimensions: [][]string{dims}, Metrics: defs}},
	}
	return doc
}

// failing returns the reasons of v's problems, or its Reason when it is
// unhealthy without a listed problem.
func failing(v backupcheck.Verdict) []backupcheck.Reason {
	if rs := v.Failing(); len(rs) > 0 {
		return slices.Compact(slices.Sorted(slices.Values(rs)))
	}
	if !v.Healthy() {
		return []backupcheck.Reason{v.Reason}
	}
	return nil
}

// Selection says which portals get per-portal metrics (Line): each such
// portal's metrics cost $0.30 a month apiece, so the default is none.
type Selection struct {
	all     bool
	portals map[string]bool
}

// ParseSelection reads PORTAL_METRICS: "" or "none" for none, "all" for
// every portal, or a comma-separated list of portals as URLs
// (https://a.example.com) or names (a.example.com, example.com/docspace),
// matched by the normalized name of docspace.PortalName. It returns an
// error naming an entry that is not a portal.
func ParseSelection(s string) (Selection, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "none":
		return Selection{}, nil
	case "all":
		return Selection{all: true}, nil
	}
	sel := Selection{portals: map[string]bool{}}
	for _, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		raw := entry
		if !strings.Contains(raw, "://") {
			raw = "https://" + raw
		}
		u, err := docspace.ValidateBaseURL(raw, true)
		if err != nil {
			return Selection{}, fmt.Errorf("portal %q: %w", entry, err)
		}
		sel.portals[docspace.PortalName(u)] = true
	}
	if len(sel.portals) == 0 {
		return Selection{}, fmt.Errorf("%q names no portal", s)
	}
	return sel, nil
}

// Wants reports whether portal, a name from docspace.PortalName, gets
// per-portal metrics.
func (s Selection) Wants(portal string) bool { return s.all || s.portals[portal] }

// String describes the selection for logs.
func (s Selection) String() string {
	switch {
	case s.all:
		return "all"
	case len(s.portals) == 0:
		return "none"
	}
	names := make([]string, 0, len(s.portals))
	for p := range s.portals {
		names = append(names, p)
	}
	slices.Sort(names)
	return strings.Join(names, ",")
}

// Run metrics: counts of one invocation, with no dimension, written by
// WriteCounts.
const (
	// PortalsNotChecked counts the portals a run left unchecked: no time
	// left for them, or more than fit and no queue to take the rest
	// (Count; sum them).
	PortalsNotChecked = "PortalsNotChecked"
	// StaleMessagesDropped counts the queued portals a consumer dropped
	// because their run began more than one schedule interval ago (or
	// names no run): a later run has queued them again (Count; sum them).
	StaleMessagesDropped = "StaleMessagesDropped"
)

// WriteCounts writes one EMF line with each named count as a Count metric
// without dimension, names sorted, and level as its LevelField (see
// LevelFor; "" is INFO). Nothing is written for no counts.
func WriteCounts(w io.Writer, namespace, level string, at time.Time, counts map[string]int) error {
	if len(counts) == 0 {
		return nil
	}
	if namespace == "" {
		namespace = DefaultNamespace
	}
	if level == "" {
		level = "INFO"
	}
	names := make([]string, 0, len(counts))
	for name := range counts {
		names = append(names, name)
	}
	slices.Sort(names)
	doc := map[string]any{LevelField: level}
	defs := make([]metricDef, 0, len(names))
	for _, name := range names {
		defs = append(defs, metricDef{name, "Count"})
		doc[name] = counts[name]
	}
	b, err := json.Marshal(withDirective(doc, namespace, at, []string{}, defs))
	if err != nil {
		return fmt.Errorf("encode run metrics: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
