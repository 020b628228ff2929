package main

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/backupcheck"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/fakeportal"
)

// TestPortalKindRemembered: a self-hosted server answers enabled: false on
// every run; the warm function asks its settings route (without the key,
// and with it for the time zone) once per portalKindTTL, never remembers
// a refusal, and asks again once the TTL has passed.
func TestPortalKindRemembered(t *testing.T) {
	f := newFixture(t, nil)
	now := time.Now()
	f.h.now = func() time.Time { return now }
	steps := []struct {
		what         string
		refuse       bool
		advance      time.Duration
		wantSettings int
		wantFailing  bool
	}{
		{what: "settings refused: service_inactive warns", refuse: true, wantSettings: 2, wantFailing: true},
		{what: "the refusal was not remembered: asked again, self-hosted", wantSettings: 2},
		{what: "remembered: not asked", advance: 15 * time.Minute, wantSettings: 0},
		{what: "still remembered just before the TTL", advance: portalKindTTL - 15*time.Minute - time.Second, wantSettings: 0},
		{what: "TTL passed: asked again", advance: time.Second, wantSettings: 2},
		{what: "remembered again", wantSettings: 0},
	}
	for _, st := range steps {
		now = now.Add(st.advance)
		f.refuseSettings.Store(st.refuse)
		f.portal.ResetStats()
		f.settingsRefused.Store(0)
		out, err := f.h.Handle(t.Context(), f.input(string(fakeportal.SelfHosted)))
		if err != nil {
			t.Fatalf("%s: Handle() error = %v", st.what, err)
		}
		got := f.portal.Stats().Requests[fakeportal.SettingsPath] + int(f.settingsRefused.Load())
		if got != st.wantSettings {
			t.Errorf("%s: settings requests = %d, want %d", st.what, got, st.wantSettings)
		}
		if len(out.Verdicts) != 1 {
			t.Fatalf("%s: %d verdicts, want 1", st.what, len(out.Verdicts))
		}
		if v := out.Verdicts[0]; v.Healthy() == st.wantFailing {
			t.Errorf("%s: verdict %s (%s), want failing %v", st.what, v.Reason, v.Detail, st.wantFailing)
		}
	}
}

// TestKindCacheConcurrent: many portals read and written at once (run
// with -race).
func TestKindCacheConcurrent(t *testing.T) {
	var c kindCache
	now := time.Now()
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			p := fmt.Sprintf("p%d.example.com", i%5)
			c.put(p, backupcheck.Facts{Standalone: i%2 == 0}, now)
			if got := c.get(p, now); got == nil {
				t.Errorf("get(%q) = nil right after put", p)
			}
		})
	}
	wg.Wait()
	if got := c.get("p0.example.com", now.Add(portalKindTTL)); got != nil {
		t.Errorf("get after the TTL = %+v, want nil", *got)
	}
}

// TestKindCacheForgets: answers of portals not checked again are dropped
// within two TTLs, so a warm function's cache does not grow with every
// portal it ever saw.
func TestKindCacheForgets(t *testing.T) {
	var c kindCache
	now := time.Now()
	for i := range 100 {
		c.put(fmt.Sprintf("p%d.example.com", i), backupcheck.Facts{Standalone: true}, now)
	}
	c.put("late.example.com", backupcheck.Facts{}, now.Add(portalKindTTL/2))
	c.put("next.example.com", backupcheck.Facts{}, now.Add(portalKindTTL))
	if n := len(c.entries); n != 2 {
		t.Errorf("after a TTL, %d entries, want 2 (the 100 expired ones dropped)", n)
	}
	if got := c.get("late.example.com", now.Add(portalKindTTL)); got == nil || got.Standalone {
		t.Errorf("get(late) = %v, want false", got)
	}
}
