package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/internal/motoserver"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/fakeportal"
)

// newStateRig is a fault rig with the alert state table in use and its
// clock stopped, for the test to move. moto is behind a serializing proxy:
// its conditional writes are not atomic under concurrent requests, and
// TestOverlappingRunsAlertOnce relies on them.
func newStateRig(t *testing.T) *faultRig {
	t.Helper()
	r := newFaultRig(t, motoserver.StartSerialized(t), nil)
	r.useState(t, nil, "")
	r.setClock(time.Now().UTC())
	return r
}

// runPortal checks portal name once and returns the notices that reached
// the queue as kind:reason:severity.
func (r *faultRig) runPortal(t *testing.T, name string) []string {
	t.Helper()
	raw := r.input(r.url + "/p/" + name)
	if _, err := r.run(t, context.Background(), raw); err != nil {
		t.Fatalf("Handle() error = %v", err)
	}
	return r.received(t)
}

// received drains the queue and returns its notices as kind:reason:severity.
func (r *faultRig) received(t *testing.T) []string {
	t.Helper()
	var got []string
	for _, a := range r.alerts(t, 500*time.Millisecond) {
		got = append(got, a.Attributes["kind"]+":"+a.Attributes["reason"]+":"+a.Attributes["severity"])
	}
	return got
}

// TestStateTransitions walks one portal through a bad answer that needs
// two runs to alert, a reminder a day later, and recovery.
func TestStateTransitions(t *testing.T) {
	r := newStateRig(t)
	const name = "transitions"
	steps := []struct {
		what     string
		scenario fakeportal.Scenario
		after    time.Duration
		want     string
	}{
		{"first bad answer: below the threshold of 2", fakeportal.HTML, 0, ""},
		{"second bad answer: alert", fakeportal.HTML, 15 * time.Minute, "alert:bad_response:warning"},
		{"third: no repeat", fakeportal.HTML, 15 * time.Minute, ""},
		{"a day after the alert: reminder", fakeportal.HTML, 24 * time.Hour, "reminder:bad_response:warning"},
		{"15 minutes later: no second reminder", fakeportal.HTML, 15 * time.Minute, ""},
		{"healthy again: resolved", fakeportal.Healthy, 15 * time.Minute, "resolved:bad_response:resolved"},
		{"still healthy: nothing", fakeportal.Healthy, 15 * time.Minute, ""},
		{"backups stop: critical at once", fakeportal.Stale, 15 * time.Minute, "alert:backup_stale:critical"},
		// An empty history is no recovery: backup_stale stays open.
		{"schedule deleted, no backup left: new reason alerts, stale stays", fakeportal.NoSchedule, 15 * time.Minute, "alert:no_schedule:critical"},
		{"schedule and fresh backups back: both resolve", fakeportal.Healthy, 15 * time.Minute, "resolved:no_schedule:resolved,resolved:backup_stale:resolved"},
	}
	for _, s := range steps {
		r.advance(s.after)
		if err := r.portal.SetPortalScenario(name, s.scenario); err != nil {
			t.Fatal(err)
		}
		got := strings.Join(r.runPortal(t, name), ",")
		if !sameSet(got, s.want) {
			t.Errorf("%s: notices = %q, want %q", s.what, got, s.want)
		}
	}
}

// TestOverlappingRunsAlertOnce starts several runs for the same failing
// portal at once: the conditional writes let exactly one of them alert.
func TestOverlappingRunsAlertOnce(t *testing.T) {
	r := newStateRig(t)
	raw := r.input(r.url + "/p/backup_failed-overlap")
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if _, err := r.h.Handle(context.Background(), raw); err != nil {
				t.Errorf("Handle() error = %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if got := r.received(t); len(got) != 1 || got[0] != "alert:backup_failed:critical" {
		t.Errorf("notices = %v, want exactly one backup_failed alert", got)
	}
}

// TestResolvedOnlyForDeliveredAlert: an alert SNS never took is not
// followed by a resolved notice when the portal recovers (nobody was told
// of the problem), and the undelivered alert is not sent late either.
func TestResolvedOnlyForDeliveredAlert(t *testing.T) {
	r := newStateRig(t)
	const name = "stale-undelivered"
	r.h.publisher = &failFirstPublisher{next: r.h.publisher, match: name}
	if err := r.portal.SetPortalScenario(name, fakeportal.Stale); err != nil {
		t.Fatal(err)
	}
	if _, err := r.run(t, context.Background(), r.input(r.url+"/p/"+name)); err == nil {
		t.Fatal("Handle() error = nil, want the unpublished alert reported")
	}
	if got := r.received(t); len(got) != 0 {
		t.Fatalf("notices = %v, want none (SNS refused the alert)", got)
	}
	r.advance(15 * time.Minute)
	if err := r.portal.SetPortalScenario(name, fakeportal.Healthy); err != nil {
		t.Fatal(err)
	}
	if got := r.runPortal(t, name); len(got) != 0 {
		t.Errorf("notices after recovery = %v, want none: the alert was never delivered", got)
	}
	r.advance(15 * time.Minute)
	if got := r.runPortal(t, name); len(got) != 0 {
		t.Errorf("notices on the next healthy run = %v, want none", got)
	}
}

func sameSet(a, b string) bool {
	split := func(s string) map[string]int {
		m := map[string]int{}
		for _, x := range strings.Split(s, ",") {
			if x != "" {
				m[x]++
			}
		}
		return m
	}
	return fmt.Sprint(split(a)) == fmt.Sprint(split(b))
}

// TestMain shares one moto_server between the package's tests; each rig
// creates its resources under names of its own.
func TestMain(m *testing.M) { motoserver.Main(m) }
