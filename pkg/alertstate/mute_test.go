package alertstate

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestQuietStep is the mute's and the acknowledgement's transition, table
// by table: what a held notice leaves in the item.
func TestQuietStep(t *testing.T) {
	p := DefaultPolicy()
	muted := Mute{Since: t0, Until: at(4 * time.Hour), Reason: "planned upgrade"}
	failingItem := item{reason: "backup_stale", exists: true, failing: true, since: t0, failures: 3, notified: true, lastNotified: t0, lastSeen: at(2 * m15), version: 4}
	tests := []struct {
		name     string
		cur      item
		obs      observation
		mute     Mute
		now      time.Time
		want     Kind
		wantItem func(cur item) item
	}{
		{name: "a muted first failure counts, holds the alert and remembers the mute",
			cur: item{reason: "backup_stale"}, obs: failing, mute: muted, now: at(m15),
			wantItem: func(c item) item {
				c.failing, c.since, c.failures, c.lastSeen, c.mutedSince = true, at(m15), 1, at(m15), t0
				return c
			}},
		{name: "after the mute the held alert goes out, saying since when it was muted",
			cur: item{reason: "backup_stale", exists: true, failing: true, since: at(m15), failures: 5, lastSeen: at(4 * time.Hour), mutedSince: t0, version: 5},
			obs: failing, mute: muted, now: at(4*time.Hour + m15), want: Alert,
			wantItem: func(c item) item {
				c.failures, c.notified, c.lastNotified, c.lastSeen, c.mutedSince = 6, true, at(4*time.Hour+m15), at(4*time.Hour+m15), time.Time{}
				c.pending, c.pendingAt, c.claimedAt, c.pendingSince, c.pendingFailures, c.pendingMutedSince = Alert, at(4*time.Hour+m15), at(4*time.Hour+m15), at(m15), 6, t0
				return c
			}},
		{name: "a due reminder is held by a mute",
			cur: failingItem, obs: failing, mute: Mute{Since: at(23 * time.Hour), Until: at(30 * time.Hour), Reason: "r"}, now: at(24 * time.Hour),
			wantItem: func(c item) item {
				c.failures, c.lastSeen, c.mutedSince = 4, at(24*time.Hour), at(23*time.Hour)
				return c
			}},
		{name: "a resolve during a mute ends the streak quietly",
			cur: failingItem, obs: fine, mute: muted, now: at(3 * m15),
			wantItem: func(c item) item {
				c.failing, c.since, c.failures, c.notified, c.lastSeen = false, time.Time{}, 0, false, at(3*m15)
				return c
			}},
		{name: "an old claim waits for the mute's end, which it remembers",
			cur: func() item {
				c := failingItem
				c.pending, c.pendingAt, c.claimedAt, c.pendingSince, c.pendingFailures = Alert, t0, t0, t0, 1
				return c
			}(), obs: unknown, mute: muted, now: at(m15),
			wantItem: func(c item) item { c.mutedSince = t0; return c }},
		{name: "an acknowledged reason gets no reminder",
			cur: func() item { c := failingItem; c.ackedAt = at(time.Hour); return c }(), obs: failing, now: at(24 * time.Hour),
			wantItem: func(c item) item { c.failures, c.lastSeen = 4, at(24*time.Hour); return c }},
		{name: "an acknowledged reason still resolves, and the acknowledgement ends",
			cur: func() item { c := failingItem; c.ackedAt = at(time.Hour); return c }(), obs: fine, now: at(25 * time.Hour), want: Resolved,
			wantItem: func(c item) item {
				c.failing, c.since, c.failures, c.notified, c.lastSeen, c.ackedAt = false, time.Time{}, 0, false, at(25*time.Hour), time.Time{}
				c.pending, c.pendingAt, c.claimedAt, c.pendingSince, c.pendingFailures, c.pendingLastNotified = Resolved, at(25*time.Hour), at(25*time.Hour), t0, 3, t0
				return c
			}},
		{name: "an ended mute holds nothing",
			cur: failingItem, obs: failing, mute: Mute{Since: at(time.Hour), Until: at(2 * time.Hour), Reason: "r"}, now: at(24 * time.Hour), want: Reminder,
			wantItem: func(c item) item {
				c.failures, c.lastSeen, c.lastNotified = 4, at(24*time.Hour), at(24*time.Hour)
				c.pending, c.pendingAt, c.claimedAt, c.pendingSince, c.pendingFailures, c.pendingLastNotified = Reminder, at(24*time.Hour), at(24*time.Hour), t0, 4, t0
				return c
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, n := p.quietStep(tt.cur, tt.obs, Run{}, tt.mute, tt.now)
			if want := tt.wantItem(tt.cur); got != want {
				t.Errorf("quietStep() item =\n%+v\nwant\n%+v", got, want)
			}
			if n.Kind != tt.want {
				t.Errorf("quietStep() notice = %+v, want kind %q", n, tt.want)
			}
		})
	}
}

// TestMuteSequence plays mute, failure, the mute's end and the resolve
// through the store, and an acknowledgement through a streak, with the
// exact notices of each run.
func TestMuteSequence(t *testing.T) {
	api := newFake()
	s, err := NewStore(api, "state", DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const portal = "mute.example.com"
	if _, err := s.Mute(ctx, portal, Mute{Until: at(2 * time.Hour), Reason: "storage migration"}, t0); err != nil {
		t.Fatalf("Mute() error = %v", err)
	}
	record := func(when time.Duration, failingReasons ...string) []Notice {
		t.Helper()
		ns, err := s.Record(ctx, portal, Run{Failing: failingReasons, Evaluated: append([]string{Healthy}, testReasons...)}, at(when))
		if err != nil {
			t.Fatalf("Record() error = %v", err)
		}
		for _, n := range ns {
			if err := s.Delivered(ctx, n); err != nil {
				t.Fatal(err)
			}
		}
		return ns
	}
	if ns := record(m15, "backup_stale"); len(ns) != 0 {
		t.Errorf("failing while muted: notices %+v, want none", ns)
	}
	m, err := s.Load(ctx, portal)
	if err != nil || !m.Mute.Active(at(m15)) || m.Mute.Reason != "storage migration" || len(m.Open) != 1 {
		t.Errorf("Load() = %+v, %v; want the mute and the open problem", m, err)
	}
	if ns := record(time.Hour, "backup_stale"); len(ns) != 0 {
		t.Errorf("still failing while muted: notices %+v, want none", ns)
	}
	ns := record(2*time.Hour, "backup_stale")
	if len(ns) != 1 || ns[0].Kind != Alert || !ns[0].MutedSince.Equal(t0) || !ns[0].Since.Equal(at(m15)) || ns[0].Failures != 3 {
		t.Errorf("the mute ended, the problem stands: notices %+v, want one alert muted since %v", ns, t0)
	}
	if ns := record(2*time.Hour + m15); len(ns) != 1 || ns[0].Kind != Resolved {
		t.Errorf("resolve: notices %+v, want one resolved", ns)
	}

	// Acknowledged: no reminder; the resolved notice still goes out.
	if ns := record(3*time.Hour, "no_schedule"); len(ns) != 1 || ns[0].Kind != Alert || !ns[0].MutedSince.IsZero() {
		t.Fatalf("new problem after the mute: notices %+v, want one alert without a mute", ns)
	}
	if err := s.Ack(ctx, portal, "no_schedule", at(3*time.Hour+time.Minute)); err != nil {
		t.Fatalf("Ack() error = %v", err)
	}
	if ns := record(28*time.Hour, "no_schedule"); len(ns) != 0 {
		t.Errorf("acknowledged, a day later: notices %+v, want no reminder", ns)
	}
	if ns := record(28*time.Hour + m15); len(ns) != 1 || ns[0].Kind != Resolved {
		t.Errorf("acknowledged problem resolves: notices %+v, want the resolved notice", ns)
	}
	record(29*time.Hour, "no_schedule")
	if ns := record(53*time.Hour, "no_schedule"); len(ns) != 1 || ns[0].Kind != Reminder {
		t.Errorf("a new streak after the resolve: notices %+v, want its reminder (the acknowledgement ended)", ns)
	}
}

// TestMuteBadInput: a bad mute, an unmute without a mute and an
// acknowledgement of a reason that is not open fail clearly and write
// nothing.
func TestMuteBadInput(t *testing.T) {
	api := newFake()
	s, err := NewStore(api, "state", DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const portal = "bad.example.com"
	for name, m := range map[string]Mute{
		"over 30 days":    {Until: at(MaxMute + time.Minute), Reason: "r"},
		"end in the past": {Until: at(-time.Minute), Reason: "r"},
		"end now":         {Until: t0, Reason: "r"},
		"no reason":       {Until: at(time.Hour), Reason: "  "},
	} {
		if _, err := s.Mute(ctx, portal, m, t0); !errors.Is(err, ErrBadMute) {
			t.Errorf("Mute(%s) error = %v, want ErrBadMute", name, err)
		}
	}
	if _, err := s.Unmute(ctx, portal, t0); !errors.Is(err, ErrNotMuted) {
		t.Errorf("Unmute() of an unmuted portal error = %v, want ErrNotMuted", err)
	}
	if _, err := s.Record(ctx, portal, Run{Failing: []string{"backup_stale"}}, t0); err != nil {
		t.Fatal(err)
	}
	puts := api.puts
	for _, reason := range []string{"no_schedule", "#schedule", "#mute", ""} {
		if err := s.Ack(ctx, portal, reason, at(m15)); !errors.Is(err, ErrNotOpen) {
			t.Errorf("Ack(%q) error = %v, want ErrNotOpen", reason, err)
		}
	}
	if api.puts != puts {
		t.Errorf("bad input wrote %d item(s), want none", api.puts-puts)
	}
	if _, err := s.Mute(ctx, portal, Mute{Until: at(time.Hour), Reason: "r"}, t0); err != nil {
		t.Fatal(err)
	}
	if m, err := s.Unmute(ctx, portal, at(m15)); err != nil || !m.Until.Equal(at(m15)) {
		t.Errorf("Unmute() = %+v, %v; want the mute ended now", m, err)
	}
	if mem, _ := s.Load(ctx, portal); mem.Mute.Active(at(m15)) {
		t.Errorf("after Unmute() the mute %+v is still active", mem.Mute)
	}
}
