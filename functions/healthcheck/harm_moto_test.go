package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/backupcheck"
)

// TestHistoryReadRarelyAcrossColdStarts: every run judges freshness from
// the count route; over many cold runs with the alert state table, a
// portal's history (whose every read asks the storage about each record
// and may remove records) is read at most once per HISTORY_EVERY, and a
// healthy portal on the portal's own Documents storage never. A 5xx is not
// asked again, and the storage problem it shows stays open between reads.
func TestHistoryReadRarelyAcrossColdStarts(t *testing.T) {
	r := newStateRig(t)
	portals := []string{"healthy-h", "pruned-h", "stale-h", "old_server-h", "storage_error-h", "tokyo-h"}
	want := map[string]backupcheck.Reason{
		"healthy-h": backupcheck.Healthy, "pruned-h": backupcheck.Healthy, "stale-h": backupcheck.BackupStale,
		"old_server-h": backupcheck.Healthy, "storage_error-h": backupcheck.StorageUnavailable, "tokyo-h": backupcheck.Healthy,
	}
	runAll := func(t *testing.T, what string) map[string]backupcheck.Verdict {
		t.Helper()
		// A cold start: nothing the warm function remembered.
		r.h.kinds, r.h.historyTurns = kindCache{}, historyTurns{}
		got := map[string]backupcheck.Verdict{}
		for _, p := range portals {
			out, err := r.run(t, t.Context(), r.input(r.url+"/p/"+p))
			if err != nil || len(out.Verdicts) != 1 {
				t.Fatalf("%s: Handle(%s) = %+v, %v", what, p, out, err)
			}
			got[p] = out.Verdicts[0]
		}
		return got
	}
	reads := func() map[string]int { return r.portal.Stats().History }

	first := runAll(t, "first run")
	for p, v := range first {
		if v.Reason != want[p] {
			t.Errorf("first run: %s = %s (%s), want %s", p, v.Reason, v.Detail, want[p])
		}
	}
	if v := first["stale-h"]; v.LastBackup == nil || v.Sources[backupcheck.BackupStale] != backupcheck.SourceCount || !strings.Contains(v.Detail, "the newest backup in the history is from") {
		t.Errorf("stale verdict = %+v, want the count's judgement with the history's date", v)
	}
	if v := first["old_server-h"]; v.Sources[backupcheck.BackupStale] != backupcheck.SourceHistory {
		t.Errorf("old server sources = %v, want staleness from the history", v.Sources)
	}
	if v := first["tokyo-h"]; v.Zone != "Asia/Tokyo" || v.NextDue == nil || v.NextDue.UTC().Hour() != 17 {
		t.Errorf("tokyo verdict zone %q, next due %v; want Asia/Tokyo, 17:00 UTC", v.Zone, v.NextDue)
	}
	r.received(t)

	// Six more cold runs within the day, 15 minutes apart.
	for i := range 6 {
		r.advance(15 * time.Minute)
		got := runAll(t, "a later run")
		for p, v := range got {
			switch {
			case p == "storage_error-h":
				// Not probed again: the problem stays open, not resolved.
				if v.Judged(backupcheck.StorageUnavailable) {
					t.Errorf("run %d: storage judged without a history read: %+v", i+2, v)
				}
			case v.Reason != want[p]:
				t.Errorf("run %d: %s = %s (%s), want %s", i+2, p, v.Reason, v.Detail, want[p])
			}
		}
		if v := got["old_server-h"]; v.Sources[backupcheck.BackupStale] != backupcheck.SourceRemembered {
			t.Errorf("run %d: old server judged from %q, want the remembered history read", i+2, v.Sources[backupcheck.BackupStale])
		}
		if v := got["stale-h"]; !strings.Contains(v.Detail, "when the newest backup was from") {
			t.Errorf("run %d: stale detail = %q, want the last read's newest backup", i+2, v.Detail)
		}
	}
	wantReads := map[string]int{"stale-h": 1, "old_server-h": 1, "storage_error-h": 1}
	for _, p := range portals {
		if got := reads()[p]; got != wantReads[p] {
			t.Errorf("after 7 cold runs, %s's history was read %d time(s), want %d", p, got, wantReads[p])
		}
	}
	// No resolve of the storage problem between reads, no repeat either.
	if got := r.received(t); len(got) != 0 {
		t.Errorf("notices between reads = %v, want none", got)
	}

	// A day later: one more read each.
	r.advance(backupcheck.DailyStaleAfter - 2*time.Hour)
	runAll(t, "a day later")
	runAll(t, "a day later, again")
	for p, n := range wantReads {
		if got := reads()[p]; got != n+1 {
			t.Errorf("a day later, %s's history was read %d time(s) in all, want %d", p, got, n+1)
		}
	}
	if got := reads()["healthy-h"] + reads()["pruned-h"] + reads()["tokyo-h"]; got != 0 {
		t.Errorf("healthy portals' histories read %d time(s), want 0", got)
	}
	lines := r.resultLines(t)
	if len(lines) == 0 || !slices.ContainsFunc(lines, func(l map[string]any) bool { _, ok := l["sources"]; return ok }) {
		t.Errorf("log lines = %v, want the sources of the judgements", lines)
	}
}
