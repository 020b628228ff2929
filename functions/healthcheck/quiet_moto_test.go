package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/docspace-backup-watch/docspace-backup-watch/internal/motoserver"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/alertstate"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/backupcheck"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/fakeportal"
)

// TestQuietWhenPlanned plays a scripted sequence through the handler
// against moto (a run every 15 minutes unless said) and asserts the exact
// notices that reach the topic's queue at each run: a mute is set, backups
// stop during it (checked and logged, nothing sent), the mute ends with the
// problem still there (the alert, saying since when the portal was muted),
// the problem resolves (resolved); then a new problem is acknowledged (no
// reminder a day later) and resolves (resolved still sent).
func TestQuietWhenPlanned(t *testing.T) {
	// The portal is self-hosted throughout: the fake's no_schedule
	// scenario answers the settings route as a cloud portal, and the warm
	// function remembers a portal's kind for an hour.
	r := newFaultRig(t, motoserver.Start(t), map[string]string{"SELF_HOSTED": "true"})
	r.useState(t, nil, "")
	start := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	r.setClock(start)
	const name = "quiet"
	raw := r.input(r.url + "/p/" + name)
	portal := strings.TrimPrefix(r.url, "http://") + "/p/" + name
	store, err := alertstate.NewStore(dynamodb.NewFromConfig(r.aws), r.stack.StateTable, r.h.cfg.Policy)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	steps := []struct {
		what     string
		after    time.Duration
		scenario fakeportal.Scenario
		// newest fixes the newest backup this long before the run's time.
		newest time.Duration
		// before runs before the check, at the run's time.
		before func(t *testing.T, now time.Time)
		muted  bool
		want   []string
		// wantText must be in the text of each notice sent.
		wantText string
	}{
		{what: "healthy", scenario: fakeportal.SelfHosted},
		{what: "muted for 4 h: checked and logged as muted", scenario: fakeportal.SelfHosted, muted: true,
			before: func(t *testing.T, now time.Time) {
				if _, err := store.Mute(ctx, portal, alertstate.Mute{Until: now.Add(4 * time.Hour), Reason: "storage migration"}, now); err != nil {
					t.Fatal(err)
				}
			}},
		{what: "backups stop during the mute: nothing sent", scenario: fakeportal.SelfHosted, newest: 5 * 24 * time.Hour, muted: true},
		{what: "an hour later, still stale and muted: nothing", after: time.Hour, scenario: fakeportal.SelfHosted, newest: 5*24*time.Hour + time.Hour, muted: true},
		{what: "the mute has ended, the problem stands: the alert, saying since when it was muted", after: 3 * time.Hour, scenario: fakeportal.SelfHosted, newest: 5*24*time.Hour + 4*time.Hour,
			want: []string{"alert:backup_stale:critical"}, wantText: "Muted: the portal was muted since 2026-11-03T10:15:00Z; the mute has ended and the problem still stands"},
		{what: "fresh again: resolved", scenario: fakeportal.SelfHosted, want: []string{"resolved:backup_stale:resolved"}},

		{what: "the schedule vanishes: the alert", scenario: fakeportal.NoSchedule, want: []string{"alert:no_schedule:critical"}},
		{what: "acknowledged; a day later still failing: no reminder", after: 24 * time.Hour, scenario: fakeportal.NoSchedule,
			before: func(t *testing.T, now time.Time) {
				if err := store.Ack(ctx, portal, "no_schedule", now.Add(-23*time.Hour)); err != nil {
					t.Fatal(err)
				}
			}},
		{what: "the schedule is back: resolved still goes out", scenario: fakeportal.SelfHosted, want: []string{"resolved:no_schedule:resolved"}},
	}
	for i, s := range steps {
		after := s.after
		if after == 0 && i > 0 {
			after = 15 * time.Minute
		}
		r.advance(after)
		if err := r.portal.SetPortalScenario(name, s.scenario); err != nil {
			t.Fatal(err)
		}
		var newest time.Time
		if s.newest > 0 {
			newest = r.clock().Add(-s.newest)
		}
		r.portal.SetPortalBackup(name, newest)
		if s.before != nil {
			s.before(t, r.clock())
		}
		logged := 0
		if strings.TrimSpace(r.logs.String()) != "" {
			logged = len(r.logs.lines(t, "backup check"))
		}
		if _, err := r.run(t, context.Background(), raw); err != nil {
			t.Fatalf("step %d (%s): Handle() error = %v", i, s.what, err)
		}
		lines := r.logs.lines(t, "backup check")
		if len(lines) != logged+1 {
			t.Fatalf("step %d (%s): %d new backup check lines, want 1", i, s.what, len(lines)-logged)
		}
		line := lines[len(lines)-1]
		if _, muted := line["mutedUntil"]; muted != s.muted || (s.muted && line["muteReason"] != "storage migration") {
			t.Errorf("step %d (%s): log line %v, want muted = %v", i, s.what, line, s.muted)
		}
		var got []string
		for _, a := range r.alerts(t, 0) {
			got = append(got, a.Attributes["kind"]+":"+a.Attributes["reason"]+":"+a.Attributes["severity"])
			if !strings.Contains(a.Message, s.wantText) {
				t.Errorf("step %d (%s): notice text lacks %q:\n%s", i, s.what, s.wantText, a.Message)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, s.want) {
			t.Errorf("step %d (%s): notices = %v, want %v", i, s.what, got, s.want)
		}
	}
	r.checkNoLeak(t)
}

// TestMuteRegisteredPortal: a portal from the registry, checked by a
// scheduled run, is muted the same way: checked and logged, nothing sent;
// once unmuted, its problem alerts, saying since when it was muted.
func TestMuteRegisteredPortal(t *testing.T) {
	r := newRegistryRig(t, motoserver.Start(t))
	r.useState(t, nil, "")
	start := time.Date(2026, 11, 4, 10, 0, 0, 0, time.UTC)
	r.setClock(start)
	r.register(t, "no_schedule-muted", "", r.tag.Value)
	portal := strings.TrimPrefix(r.tlsURL, "https://") + "/p/no_schedule-muted"
	store, err := alertstate.NewStore(dynamodb.NewFromConfig(r.aws), r.stack.StateTable, r.h.cfg.Policy)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := store.Mute(ctx, portal, alertstate.Mute{Until: start.Add(time.Hour), Reason: "re-creating the schedule"}, start); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"", "alert:no_schedule"} {
		if i == 1 {
			r.advance(15 * time.Minute)
			if _, err := store.Unmute(ctx, portal, r.clock()); err != nil {
				t.Fatal(err)
			}
		}
		out, err := r.run(t, ctx, []byte(`{"source":"schedule"}`))
		// The scheduled run checks PORTAL_URL's portal too (healthy).
		if err != nil || !slices.ContainsFunc(out.Verdicts, func(v backupcheck.Verdict) bool { return v.Portal == portal && v.Reason == "no_schedule" }) {
			t.Fatalf("run %d: Handle() = %+v, %v; want the registered portal checked, no_schedule", i, out.Verdicts, err)
		}
		var got []string
		for _, a := range r.alerts(t, 0) {
			got = append(got, a.Attributes["kind"]+":"+a.Attributes["reason"])
			if !strings.Contains(a.Message, "Muted: the portal was muted since 2026-11-04T10:00:00Z") {
				t.Errorf("run %d: alert text lacks since when it was muted:\n%s", i, a.Message)
			}
		}
		if strings.Join(got, ",") != want {
			t.Errorf("run %d: notices = %v, want %q", i, got, want)
		}
		var line map[string]any
		for _, l := range r.logs.lines(t, "backup check") {
			if l["portal"] == portal {
				line = l
			}
		}
		if _, muted := line["mutedUntil"]; muted != (i == 0) {
			t.Errorf("run %d: log line %v, want mutedUntil only while muted", i, line)
		}
	}
}
