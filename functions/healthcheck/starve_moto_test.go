package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/internal/motoserver"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/metrics"
)

// starveInput is six portals that never answer ahead of one whose backups
// stopped, all with the rig's secret.
func starveInput(r *faultRig) json.RawMessage {
	var in struct {
		Portals []target `json:"portals"`
	}
	for i := range 6 {
		in.Portals = append(in.Portals, target{PortalURL: fmt.Sprintf("%s/p/trickle-hang%d", r.url, i), SecretID: r.stack.SecretARN})
	}
	in.Portals = append(in.Portals, target{PortalURL: r.url + "/p/stale-last", SecretID: r.stack.SecretARN})
	raw, _ := json.Marshal(in)
	return raw
}

// oneWave keeps one PORTAL_TIMEOUT of checks in an invocation: the cutoff
// comes 3 s after the start (the reserve is the rest of a minute, so the
// notices get out however slow moto is).
func oneWave(remaining time.Duration) reserve {
	return reserve{end: remaining - 3*time.Second, deliver: 10 * time.Second}
}

// TestNoPortalStarves is the review's starvation case: six portals that
// never answer ahead of one whose backups stopped, two at a time, in
// invocations with time for one wave. Each run checks the two that fit,
// fails (so the monitor's alarm sees it) and writes PortalsNotChecked;
// the order turns every schedule interval, so the stale portal is checked
// and alerts within ceil(7/2) = 4 runs.
func TestNoPortalStarves(t *testing.T) {
	t.Parallel() // it mostly waits on timeouts, as do the other three tests marked so: they wait together
	r := newFaultRig(t, motoserver.Start(t), map[string]string{
		"HTTP_TIMEOUT": "20s", "PORTAL_TIMEOUT": "2s", "MAX_CONCURRENCY": "2",
	})
	r.useState(t, nil, "")
	r.h.reserveFor = oneWave
	r.setClock(time.Now().UTC())
	raw := starveInput(r)
	checkedStale := 0
	for run := range 4 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		out, err := r.run(t, ctx, raw)
		cancel()
		if !errors.Is(err, errNotChecked) || !strings.Contains(err.Error(), "5 portal(s)") {
			t.Errorf("run %d: Handle() error = %v, want errNotChecked for 5 portals", run, err)
		}
		if len(out.Verdicts) != 2 || out.Skipped != 5 || len(out.SkippedPortals) != 5 {
			t.Errorf("run %d: %d verdicts, %d skipped %v; want 2 checked and 5 not", run, len(out.Verdicts), out.Skipped, out.SkippedPortals)
		}
		for _, v := range out.Verdicts {
			if strings.HasSuffix(v.Portal, "/p/stale-last") {
				checkedStale++
			}
		}
		r.advance(15 * time.Minute)
	}
	if checkedStale == 0 {
		t.Error("the stale portal was not checked in 4 runs: starved")
	}
	var notChecked []float64
	for _, line := range strings.Split(strings.TrimSpace(r.emf.String()), "\n") {
		var doc map[string]any
		if json.Unmarshal([]byte(line), &doc) == nil && doc[metrics.PortalsNotChecked] != nil {
			notChecked = append(notChecked, doc[metrics.PortalsNotChecked].(float64))
		}
	}
	if fmt.Sprint(notChecked) != "[5 5 5 5]" {
		t.Errorf("%s = %v, want 5 in each of the 4 runs", metrics.PortalsNotChecked, notChecked)
	}
	// A hanging portal checked twice in the 4 runs may alert too.
	var stale int
	for _, a := range r.alerts(t, 500*time.Millisecond) {
		if a.Attributes["reason"] == "backup_stale" && a.Attributes["kind"] == "alert" {
			stale++
		}
	}
	if stale != 1 {
		t.Errorf("%d backup_stale alert(s), want 1", stale)
	}
}

// TestOverCapacityGoesToTheQueue: with a check queue, the portals over an
// invocation's capacity are queued instead of left unchecked, and the run
// does not fail.
func TestOverCapacityGoesToTheQueue(t *testing.T) {
	r := newFleetRig(t)
	r.h.cfg.PortalTimeout, r.h.cfg.MaxConcurrency, r.h.cfg.DispatchAbove = 2*time.Second, 2, 50
	r.h.reserveFor = oneWave
	r.setClock(time.Now().UTC())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var in struct {
		Portals []target `json:"portals"`
	}
	for i := range 5 {
		in.Portals = append(in.Portals, target{PortalURL: fmt.Sprintf("%s/p/healthy-cap%d", r.url, i), SecretID: r.stack.SecretARN})
	}
	raw, _ := json.Marshal(in)
	out, err := r.run(t, ctx, raw)
	if err != nil || len(out.Verdicts) != 2 || out.Dispatched == nil || out.Dispatched.Messages != 3 || out.Skipped != 0 {
		t.Fatalf("Handle() = %d verdicts, dispatched %+v, skipped %d, %v; want 2 checked, 3 queued, no error", len(out.Verdicts), out.Dispatched, out.Skipped, err)
	}
	c := r.consume(t)
	if len(c.verdicts) != 3 || len(c.failed) != 0 {
		t.Errorf("consumed = %v, failures %v; want the 3 queued portals checked", c.verdicts, c.failed)
	}
}
