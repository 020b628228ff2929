package main

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/backupcheck"
)

// TestBudget: each portal gets PORTAL_TIMEOUT, starts only while that
// still fits before the cutoff (5 s, or a third of a short invocation,
// before the deadline), and a portal alone always gets what there is.
func TestBudget(t *testing.T) {
	t0 := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	withDeadline := func(d time.Duration) context.Context {
		ctx, cancel := context.WithDeadline(context.Background(), t0.Add(d))
		t.Cleanup(cancel)
		return ctx
	}
	tests := []struct {
		name    string
		ctx     context.Context
		per     time.Duration
		startAt time.Duration
		want    time.Duration
		wantOK  bool
	}{
		{"no deadline", context.Background(), 40 * time.Second, time.Hour, 40 * time.Second, true},
		{"first wave of 90 s", withDeadline(90 * time.Second), 40 * time.Second, 0, 40 * time.Second, true},
		{"second wave at 40 s", withDeadline(90 * time.Second), 40 * time.Second, 40 * time.Second, 40 * time.Second, true},
		{"third wave at 80 s is skipped", withDeadline(90 * time.Second), 40 * time.Second, 80 * time.Second, 0, false},
		{"45.5 s in: 39.5 s left, within the 1 s slack", withDeadline(90 * time.Second), 40 * time.Second, 45*time.Second + 500*time.Millisecond, 39*time.Second + 500*time.Millisecond, true},
		{"an invocation shorter than the budget: the first portals get it all", withDeadline(9 * time.Second), 40 * time.Second, 10 * time.Millisecond, 6*time.Second - 10*time.Millisecond, true},
		{"and later ones are skipped", withDeadline(9 * time.Second), 40 * time.Second, 2 * time.Second, 0, false},
		{"past the cutoff", withDeadline(90 * time.Second), time.Second, 86 * time.Second, 0, false},
	}
	for _, tt := range tests {
		b := newBudget(tt.ctx, tt.per, t0, nil)
		got, ok := b.start(t0.Add(tt.startAt))
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("%s: start() = %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.wantOK)
		}
	}
	b := newBudget(withDeadline(90*time.Second), 40*time.Second, t0, nil)
	if !b.publishBy.Equal(t0.Add(89*time.Second)) || b.deliver != time.Second || !b.cutoff.Equal(t0.Add(85*time.Second)) {
		t.Errorf("newBudget(90 s) = %+v, want cutoff at 85 s, publishing until 89 s, 1 s to clear a delivered notice", b)
	}
}

// TestWithoutMemory: a run that could not read the alert state resolves
// nothing whose judgment needs it.
func TestWithoutMemory(t *testing.T) {
	v := backupcheck.Verdict{
		Problems:  []backupcheck.Problem{{Reason: backupcheck.BackupFailed, Detail: "x"}},
		Evaluated: []backupcheck.Reason{backupcheck.BackupFailed, backupcheck.BackupStale, backupcheck.BackupWarning, backupcheck.NoSchedule, backupcheck.Unreachable},
	}
	got := withoutMemory(v)
	want := []backupcheck.Reason{backupcheck.BackupFailed, backupcheck.NoSchedule, backupcheck.Unreachable}
	if !slices.Equal(got, want) {
		t.Errorf("withoutMemory() = %v, want %v", got, want)
	}
}
