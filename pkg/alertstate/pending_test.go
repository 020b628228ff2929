package alertstate

import (
	"context"
	"testing"
	"time"
)

// TestStep is the pure transition of one item, table by table: counting,
// reasons the run could not judge, per-reason reminders, pending notices.
func TestStep(t *testing.T) {
	p := DefaultPolicy()
	failingItem := func(reason string) item {
		return item{reason: reason, exists: true, failing: true, since: t0, failures: 3, notified: true, lastNotified: t0, lastSeen: at(2 * m15), version: 4}
	}
	withPending := func(it item, k Kind, claimed time.Time) item {
		it.pending, it.pendingAt, it.claimedAt, it.pendingSince, it.pendingFailures = k, t0, claimed, t0, 1
		return it
	}
	tests := []struct {
		name     string
		cur      item
		obs      observation
		now      time.Time
		want     Notice // Portal and ClaimedAt not compared
		wantItem func(cur item) item
	}{
		{name: "unknown leaves a failing reason alone", cur: failingItem("backup_stale"), obs: unknown, now: at(3 * m15),
			wantItem: func(c item) item { return c }},
		{name: "unknown leaves a fresh claim alone", cur: withPending(failingItem("backup_stale"), Alert, at(3*m15)), obs: unknown, now: at(3*m15 + time.Minute),
			wantItem: func(c item) item { return c }},
		{name: "unknown sends a claim older than the lease, late", cur: withPending(failingItem("backup_stale"), Alert, t0), obs: unknown, now: at(m15),
			want:     Notice{Kind: Alert, Reason: "backup_stale", Since: t0, Failures: 1, Late: true, DueAt: t0},
			wantItem: func(c item) item { c.claimedAt, c.lastSeen = at(m15), at(m15); return c }},
		{name: "fine resolves a notified reason and claims the notice", cur: failingItem("backup_stale"), obs: fine, now: at(3 * m15),
			want: Notice{Kind: Resolved, Reason: "backup_stale", Since: t0, Failures: 3, LastNotified: t0, DueAt: at(3 * m15)},
			wantItem: func(c item) item {
				c.failing, c.since, c.failures, c.notified, c.lastSeen = false, time.Time{}, 0, false, at(3*m15)
				c.pending, c.pendingAt, c.claimedAt, c.pendingSince, c.pendingFailures, c.pendingLastNotified = Resolved, at(3*m15), at(3*m15), t0, 3, t0
				return c
			}},
		{name: "fine on a reason not failing changes nothing", cur: item{reason: "backup_stale", exists: true, lastSeen: t0, version: 2}, obs: fine, now: at(m15),
			wantItem: func(c item) item { return c }},
		{name: "failing reaches the threshold and claims the alert", cur: item{reason: "unreachable", exists: true, failing: true, since: t0, failures: 1, lastSeen: t0, version: 1}, obs: failing, now: at(m15),
			want: Notice{Kind: Alert, Reason: "unreachable", Since: t0, Failures: 2, DueAt: at(m15)},
			wantItem: func(c item) item {
				c.failures, c.notified, c.lastNotified, c.lastSeen = 2, true, at(m15), at(m15)
				c.pending, c.pendingAt, c.claimedAt, c.pendingSince, c.pendingFailures = Alert, at(m15), at(m15), t0, 2
				return c
			}},
		{name: "portal_busy needs two runs", cur: item{reason: "portal_busy"}, obs: failing, now: t0,
			wantItem: func(c item) item { c.failing, c.since, c.failures, c.lastSeen = true, t0, 1, t0; return c }},
		{name: "service_inactive never reminds by default", cur: failingItem("service_inactive"), obs: failing, now: at(72 * time.Hour),
			wantItem: func(c item) item { c.failures, c.lastSeen = 4, at(72*time.Hour); return c }},
		{name: "a due reminder while the alert is pending sends the alert, late", cur: withPending(failingItem("backup_stale"), Alert, t0), obs: failing, now: at(24 * time.Hour),
			want: Notice{Kind: Alert, Reason: "backup_stale", Since: t0, Failures: 1, Late: true, DueAt: t0},
			wantItem: func(c item) item {
				c.failures, c.lastSeen, c.lastNotified, c.claimedAt = 4, at(24*time.Hour), at(24*time.Hour), at(24*time.Hour)
				return c
			}},
		// A resolved notice only for an alert that was delivered: an alert
		// that never left goes with its streak, unsent, and no all-clear
		// follows it (also once its lease is over).
		{name: "an undelivered alert resolves without a notice and is dropped", cur: withPending(failingItem("backup_stale"), Alert, t0), obs: fine, now: at(m15),
			wantItem: func(c item) item {
				c.failing, c.since, c.failures, c.notified, c.lastSeen = false, time.Time{}, 0, false, at(m15)
				c.pending, c.pendingAt, c.claimedAt, c.pendingSince, c.pendingFailures, c.pendingLastNotified = None, time.Time{}, time.Time{}, time.Time{}, 0, time.Time{}
				return c
			}},
		{name: "an undelivered alert with a fresh claim resolves without a notice", cur: withPending(failingItem("backup_stale"), Alert, at(m15)), obs: fine, now: at(m15 + time.Minute),
			wantItem: func(c item) item {
				c.failing, c.since, c.failures, c.notified, c.lastSeen = false, time.Time{}, 0, false, at(m15+time.Minute)
				c.pending, c.pendingAt, c.claimedAt, c.pendingSince, c.pendingFailures, c.pendingLastNotified = None, time.Time{}, time.Time{}, time.Time{}, 0, time.Time{}
				return c
			}},
		{name: "a resolved replaces an undelivered reminder (its alert went out)", cur: withPending(failingItem("backup_stale"), Reminder, t0), obs: fine, now: at(m15),
			want: Notice{Kind: Resolved, Reason: "backup_stale", Since: t0, Failures: 3, LastNotified: t0, DueAt: at(m15)},
			wantItem: func(c item) item {
				c.failing, c.since, c.failures, c.notified, c.lastSeen = false, time.Time{}, 0, false, at(m15)
				c.pending, c.pendingAt, c.claimedAt, c.pendingSince, c.pendingFailures, c.pendingLastNotified = Resolved, at(m15), at(m15), t0, 3, t0
				return c
			}},
		{name: "a failing run while a claim is fresh counts and sends nothing", cur: withPending(failingItem("backup_stale"), Alert, at(3*m15)), obs: failing, now: at(3*m15 + time.Minute),
			wantItem: func(c item) item { c.failures, c.lastSeen = 4, at(3*m15+time.Minute); return c }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, n := p.step(tt.cur, tt.obs, tt.now)
			if want := tt.wantItem(tt.cur); got != want {
				t.Errorf("step() item =\n%+v\nwant\n%+v", got, want)
			}
			n.Portal = ""
			if !noticesEqual([]Notice{n}, []Notice{tt.want}) || !n.DueAt.Equal(tt.want.DueAt) {
				t.Errorf("step() notice = %+v, want %+v", n, tt.want)
			}
			if (n.Kind == None) != n.ClaimedAt.IsZero() || (n.Kind != None && !n.ClaimedAt.Equal(got.claimedAt)) {
				t.Errorf("step() notice ClaimedAt = %v, item claimedAt %v", n.ClaimedAt, got.claimedAt)
			}
		})
	}
}

func TestDeliveredStep(t *testing.T) {
	cur := item{reason: "backup_stale", exists: true, failing: true, pending: Alert, pendingAt: t0, claimedAt: at(m15), pendingSince: t0, pendingFailures: 1, version: 3}
	tests := []struct {
		name    string
		n       Notice
		changed bool
	}{
		{"its own claim is cleared", Notice{Kind: Alert, ClaimedAt: at(m15)}, true},
		{"an older claim leaves the new one", Notice{Kind: Alert, ClaimedAt: t0}, false},
		{"another kind leaves it", Notice{Kind: Resolved, ClaimedAt: at(m15)}, false},
	}
	for _, tt := range tests {
		got, changed := delivered(cur, tt.n)
		if changed != tt.changed || (changed && (got.pending != None || !got.claimedAt.IsZero() || !got.failing)) || (!changed && got != cur) {
			t.Errorf("%s: delivered() = %+v, %v", tt.name, got, changed)
		}
	}
}

func TestScheduleStep(t *testing.T) {
	ttl := 30 * 24 * time.Hour
	seen := item{reason: ScheduleItem, exists: true, firstSeen: t0, lastSeen: t0, version: 1}
	tests := []struct {
		name      string
		cur       item
		saw       ScheduleSeen
		now       time.Time
		write     bool
		firstSeen time.Time
	}{
		{"first sight is remembered", item{}, SchedulePresent, t0, true, t0},
		{"later sights keep the first", seen, SchedulePresent, at(m15), false, t0},
		{"refreshed after half the TTL", seen, SchedulePresent, at(15 * 24 * time.Hour), true, t0},
		{"no schedule forgets it", seen, ScheduleAbsent, at(m15), true, time.Time{}},
		{"no schedule and nothing known writes nothing", item{}, ScheduleAbsent, t0, false, time.Time{}},
		{"not read changes nothing", seen, ScheduleUnknown, at(m15), false, t0},
	}
	for _, tt := range tests {
		got, write := scheduleStep(tt.cur, tt.saw, tt.now, ttl)
		if write != tt.write || !got.firstSeen.Equal(tt.firstSeen) || (write && got.reason != ScheduleItem) {
			t.Errorf("%s: scheduleStep() = %+v, %v; want write %v, firstSeen %v", tt.name, got, write, tt.write, tt.firstSeen)
		}
	}
}

// TestNoFalseAllClear alternates runs that cannot judge staleness (the
// portal unreachable) with runs that find it stale: one alert, no
// resolved, and the unreachable reason never reaches its threshold.
func TestNoFalseAllClear(t *testing.T) {
	s, _ := NewStore(newFake(), "alerts", DefaultPolicy())
	ctx := context.Background()
	unreachable := Run{Failing: []string{"unreachable"}, Evaluated: []string{"unreachable"}}
	stale := Run{Failing: []string{"backup_stale"}, Evaluated: testReasons}
	var got []string
	for i := range 8 {
		run := stale
		if i%2 == 1 {
			run = unreachable
		}
		ns, err := s.Record(ctx, "p", run, at(time.Duration(i)*m15))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range ns {
			got = append(got, string(n.Kind)+":"+n.Reason)
		}
		deliver(t, s, ns)
	}
	if len(got) != 1 || got[0] != "alert:backup_stale" {
		t.Errorf("notices = %v, want one backup_stale alert and nothing else", got)
	}
}

// TestPendingNotice: a notice that was claimed and not delivered is sent
// again, late, by the first run after the lease, whatever that run found;
// an overlapping run within the lease does not send it; once delivered it
// is not sent again.
func TestPendingNotice(t *testing.T) {
	s, _ := NewStore(newFake(), "alerts", DefaultPolicy())
	ctx := context.Background()
	first, err := s.Record(ctx, "p", judged("backup_failed"), t0)
	if err != nil || len(first) != 1 || first[0].Kind != Alert || first[0].Late {
		t.Fatalf("Record() = %+v, %v; want an alert", first, err)
	}
	// SNS hung until the deadline: the alert was never delivered.
	overlapping, _ := s.Record(ctx, "p", judged("backup_failed"), at(time.Minute))
	if len(overlapping) != 0 {
		t.Errorf("overlapping Record() = %+v, want nothing within the lease", overlapping)
	}
	// The next run cannot judge it (progress unreachable) and still sends it.
	next, err := s.Record(ctx, "p", Run{Failing: []string{"unreachable"}, Evaluated: []string{"unreachable"}}, at(m15))
	if err != nil || len(next) != 1 || next[0].Kind != Alert || next[0].Reason != "backup_failed" || !next[0].Late || !next[0].DueAt.Equal(t0) {
		t.Fatalf("next Record() = %+v, %v; want the backup_failed alert, late, due at %v", next, err, t0)
	}
	deliver(t, s, next)
	// The first run's Delivered, arriving late, changes nothing.
	if err := s.Delivered(ctx, first[0]); err != nil {
		t.Fatal(err)
	}
	if again, _ := s.Record(ctx, "p", judged("backup_failed"), at(2*m15)); len(again) != 0 {
		t.Errorf("Record() after delivery = %+v, want nothing", again)
	}
}

func TestLoad(t *testing.T) {
	s, _ := NewStore(newFake(), "alerts", DefaultPolicy())
	ctx := context.Background()
	run := judged("backup_failed")
	run.Schedule = SchedulePresent
	if _, err := s.Record(ctx, "p", run, t0); err != nil {
		t.Fatal(err)
	}
	run.Schedule = SchedulePresent
	if _, err := s.Record(ctx, "p", run, at(m15)); err != nil {
		t.Fatal(err)
	}
	m, err := s.Load(ctx, "p")
	if err != nil || !m.ScheduleFirstSeen.Equal(t0) || len(m.Open) != 1 || !m.Open["backup_failed"].Equal(t0) {
		t.Errorf("Load() = %+v, %v; want schedule first seen %v and backup_failed open since then", m, err, t0)
	}
	run = judged(Healthy)
	run.Schedule = ScheduleAbsent
	if _, err := s.Record(ctx, "p", run, at(2*m15)); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.Load(ctx, "p"); !m.ScheduleFirstSeen.IsZero() || len(m.Open) != 0 {
		t.Errorf("Load() after the schedule vanished = %+v, want nothing remembered", m)
	}
}

// TestStepRun: one run counts once per reason. The same run again (a
// redelivered message, the portal's second secret in one run) and a run
// older than the last one counted observe nothing; a later run counts and
// is remembered.
func TestStepRun(t *testing.T) {
	p := DefaultPolicy()
	r1 := Run{ID: "run-1", At: t0}
	r2 := Run{ID: "run-2", At: at(m15)}
	once := item{reason: "unreachable", exists: true, failing: true, since: t0, failures: 1, lastSeen: t0, lastRun: r1.ID, lastRunAt: r1.At, version: 1}
	tests := []struct {
		name         string
		cur          item
		run          Run
		obs          observation
		wantFailures int
		wantRun      string
		wantKind     Kind
	}{
		{name: "a first run counts and is remembered", cur: item{reason: "unreachable"}, run: r1, obs: failing, wantFailures: 1, wantRun: r1.ID},
		{name: "the same run again counts nothing", cur: once, run: r1, obs: failing, wantFailures: 1, wantRun: r1.ID},
		{name: "the same run found fine resolves nothing", cur: once, run: r1, obs: fine, wantFailures: 1, wantRun: r1.ID},
		{name: "an older run counts nothing", cur: once, run: Run{ID: "run-0", At: t0.Add(-m15)}, obs: failing, wantFailures: 1, wantRun: r1.ID},
		{name: "a later run counts and reaches the threshold", cur: once, run: r2, obs: failing, wantFailures: 2, wantRun: r2.ID, wantKind: Alert},
		{name: "a run without an ID counts every time", cur: once, run: Run{}, obs: failing, wantFailures: 2, wantRun: r1.ID, wantKind: Alert},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, n := p.stepRun(tt.cur, tt.obs, tt.run, at(m15))
			if got.failures != tt.wantFailures || got.lastRun != tt.wantRun || n.Kind != tt.wantKind {
				t.Errorf("stepRun(%s) = failures %d, lastRun %q, notice %q; want %d, %q, %q", tt.run.ID, got.failures, got.lastRun, n.Kind, tt.wantFailures, tt.wantRun, tt.wantKind)
			}
		})
	}
}
