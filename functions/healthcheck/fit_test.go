package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/fleet"
)

// TestRotateStarvesNoPortal: with n portals of which fit are checked a
// run, every portal is among the first fit within ceil(n/fit)
// consecutive scheduled runs, whatever the start.
func TestRotateStarvesNoPortal(t *testing.T) {
	const interval = 15 * time.Minute
	start := time.Date(2026, 11, 29, 9, 7, 0, 0, time.UTC)
	for _, tc := range []struct{ n, fit int }{{7, 2}, {7, 1}, {10, 3}, {10, 5}, {51, 20}, {3, 2}} {
		targets := make([]target, tc.n)
		for i := range targets {
			targets[i] = target{SecretID: fmt.Sprint(i)}
		}
		runs := (tc.n + tc.fit - 1) / tc.fit
		for first := range tc.n { // any start
			seen := map[string]bool{}
			for k := range runs {
				run := fleet.Run{At: start.Add(time.Duration(first+k) * interval)}
				got := rotate(targets, run, tc.fit, interval)
				if len(got) != tc.n {
					t.Fatalf("rotate() returned %d targets, want %d", len(got), tc.n)
				}
				for _, x := range got[:tc.fit] {
					seen[x.SecretID] = true
				}
			}
			if len(seen) != tc.n {
				t.Errorf("n=%d fit=%d from run %d: %d of the portals checked within %d runs, want all", tc.n, tc.fit, first, len(seen), runs)
			}
		}
	}
	// Two invocations of one interval see the same order.
	targets := []target{{SecretID: "a"}, {SecretID: "b"}, {SecretID: "c"}}
	a := rotate(targets, fleet.Run{At: start}, 1, interval)
	b := rotate(targets, fleet.Run{At: start.Add(time.Minute)}, 1, interval)
	if a[0] != b[0] {
		t.Errorf("rotate() within one interval = %v then %v, want the same order", a[0], b[0])
	}
}

// TestCapacity: the portals whose whole PORTAL_TIMEOUT fits, waves of
// MAX_CONCURRENCY.
func TestCapacity(t *testing.T) {
	now := time.Now()
	h := &handler{cfg: config{PortalTimeout: 40 * time.Second, MaxConcurrency: 10}}
	for _, tc := range []struct {
		deadline time.Duration
		want     int
	}{{90 * time.Second, 20}, {125 * time.Second, 30}, {9 * time.Second, 10}, {0, -1}} {
		ctx := context.Background()
		if tc.deadline > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, now.Add(tc.deadline))
			defer cancel()
		}
		if got := h.capacity(ctx, now); got != tc.want {
			t.Errorf("capacity(%v) = %d, want %d", tc.deadline, got, tc.want)
		}
	}
}
