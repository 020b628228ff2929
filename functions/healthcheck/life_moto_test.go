package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/docspace-backup-watch/docspace-backup-watch/internal/motoserver"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/alert"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/alertstate"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/fakeportal"
)

// hangingPublisher, with hang set, fails every publish as SNS does when it
// hangs until the publish's deadline: with context.DeadlineExceeded, at
// once rather than after the wait, and it records that deadline (the test
// checks it); off, it passes the publish on.
type hangingPublisher struct {
	next alert.Publisher
	hang bool
	// deadlines are the publish deadlines of the hung publishes (zero:
	// none).
	deadlines []time.Time
}

func (p *hangingPublisher) Publish(ctx context.Context, in *sns.PublishInput, opts ...func(*sns.Options)) (*sns.PublishOutput, error) {
	if p.hang {
		dl, _ := ctx.Deadline()
		p.deadlines = append(p.deadlines, dl)
		return nil, fmt.Errorf("publish hung until its deadline: %w", context.DeadlineExceeded)
	}
	return p.next.Publish(ctx, in, opts...)
}

// TestPortalLife plays one portal's life through the handler against moto,
// run after run (a run every 15 minutes unless said), and asserts the exact
// notices that reach the topic's queue at each run:
//
//   - zero false alarms: enabled: false on a self-hosted server, and runs
//     that cannot see a reason, send nothing;
//   - zero false all-clears: a run that could not judge a reason (the
//     portal unreachable, a failed job's progress item gone) resolves
//     nothing; only a run that judged the reason fine does;
//   - zero lost notices: a notice whose publish hung until the deadline
//     arrives with the next run, marked late.
//
// Each run has a minute, and a reserve (reserveFor) that leaves the write
// clearing a delivered notice 15 s: on a loaded machine moto takes what it
// takes. A hung publish fails at once (hangingPublisher), and its deadline
// must leave that write its time before the run's deadline.
//
// Every notice sent is one of the steps' want lists, and every want is
// sent: the totals are checked at the end.
func TestPortalLife(t *testing.T) {
	r := newFaultRig(t, motoserver.Start(t), nil)
	r.useState(t, nil, "")
	start := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	r.setClock(start)
	pub := &hangingPublisher{next: r.h.publisher}
	r.h.publisher = pub
	const deliver = 15 * time.Second
	r.h.reserveFor = func(time.Duration) reserve { return reserve{end: 20 * time.Second, deliver: deliver} }
	const name = "life"
	raw := r.input(r.url + "/p/" + name)

	steps := []struct {
		what     string
		after    time.Duration
		scenario fakeportal.Scenario
		// newest fixes the newest backup this long before the run's time;
		// 0 lets it follow the clock (3 h before now).
		newest time.Duration
		// snsHangs makes the publish hang until the run's deadline.
		snsHangs bool
		want     []string
	}{
		{what: "self-hosted, enabled: false, fresh backups: its normal state", scenario: fakeportal.SelfHosted},
		{what: "backups stop: one stale alert", scenario: fakeportal.SelfHosted, newest: 5 * 24 * time.Hour, want: []string{"alert:backup_stale:critical"}},
		{what: "the portal is unreachable for a run: stale is not resolved", scenario: fakeportal.BadGateway},
		{what: "reachable again, still stale: nothing new", scenario: fakeportal.SelfHosted, newest: 5*24*time.Hour + 30*time.Minute},
		{what: "fresh again: one resolved", scenario: fakeportal.SelfHosted, want: []string{"resolved:backup_stale:resolved"}},

		{what: "a job fails as the server shows it (Completed with an error)", scenario: fakeportal.FailedAsCompleted, newest: 3 * time.Hour,
			want: []string{"alert:backup_failed:critical"}},
		{what: "a day later the progress item is gone and no backup came: not resolved; stale now too, and the failure's reminder",
			after: 24 * time.Hour, scenario: fakeportal.FailedAsCompleted, newest: 3*time.Hour + 24*time.Hour + 15*time.Minute,
			want: []string{"alert:backup_stale:critical", "reminder:backup_failed:critical"}},
		{what: "still no new backup: nothing", scenario: fakeportal.FailedAsCompleted, newest: 3*time.Hour + 24*time.Hour + 30*time.Minute},
		{what: "a new backup lands: both resolve", scenario: fakeportal.Healthy, newest: time.Hour,
			want: []string{"resolved:backup_failed:resolved", "resolved:backup_stale:resolved"}},

		{what: "the schedule vanishes while SNS hangs until the deadline: nothing arrives", scenario: fakeportal.NoSchedule, snsHangs: true},
		{what: "the next run delivers the alert, late", scenario: fakeportal.NoSchedule, want: []string{"alert:no_schedule:critical"}},
		{what: "and nothing twice", scenario: fakeportal.NoSchedule},
		{what: "schedule back: resolved", scenario: fakeportal.Healthy, want: []string{"resolved:no_schedule:resolved"}},
	}
	var sent, wanted []string
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
		pub.hang = s.snsHangs
		pub.deadlines = nil
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		deadline, _ := ctx.Deadline()
		_, err := r.run(t, ctx, raw)
		cancel()
		if s.snsHangs {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("step %d (%s): Handle() error = %v, want the publish cut at the deadline", i, s.what, err)
			}
			if len(pub.deadlines) != 1 || pub.deadlines[0].IsZero() || pub.deadlines[0].After(deadline.Add(-deliver)) {
				t.Errorf("step %d (%s): publish deadlines = %v, want one, %v before the run's deadline %v", i, s.what, pub.deadlines, deliver, deadline)
			}
		} else if err != nil {
			t.Fatalf("step %d (%s): Handle() error = %v", i, s.what, err)
		}
		// Publishing to moto is synchronous: what is not queued now was
		// not sent.
		alerts := r.alerts(t, 0)
		var got []string
		for _, a := range alerts {
			got = append(got, a.Attributes["kind"]+":"+a.Attributes["reason"]+":"+a.Attributes["severity"])
			late := strings.HasPrefix(a.Subject, "[late] ")
			if wantLate := i > 0 && steps[i-1].snsHangs; late != wantLate {
				t.Errorf("step %d (%s): notice %q late = %v, want %v", i, s.what, a.Subject, late, wantLate)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, s.want) {
			t.Errorf("step %d (%s): notices = %v, want %v", i, s.what, got, s.want)
		}
		sent = append(sent, got...)
		wanted = append(wanted, s.want...)
	}
	// Zero false alarms, zero false all-clears, zero lost notices: what
	// was sent is exactly what the life called for.
	slices.Sort(sent)
	slices.Sort(wanted)
	if !slices.Equal(sent, wanted) {
		t.Errorf("all notices = %v, want exactly %v", sent, wanted)
	}
}

// TestHangingPortalInAList: one portal of a list hangs for its whole
// budget; the portals that do not fit in the invocation are not checked,
// said so (the run fails), and never recorded (nor alerted) as
// unreachable.
//
// The cutoff comes 5 s after the run starts and the reserve is the rest of
// a minute (reserveFor; TestBudget checks defaultReserve), so that the
// alert gets out however slow moto is on a loaded machine.
func TestHangingPortalInAList(t *testing.T) {
	t.Parallel() // it mostly waits on timeouts, as do the other three tests marked so: they wait together
	r := newFaultRig(t, motoserver.Start(t), map[string]string{
		"HTTP_TIMEOUT": "20s", "PORTAL_TIMEOUT": "3s", "MAX_CONCURRENCY": "1", "FAIL_AFTER_TRANSIENT": "1",
	})
	r.useState(t, nil, "")
	// A clock at which the run's order is the input's (see rotate: the
	// 1995492nd interval of 15 minutes, a multiple of the 3 portals).
	r.setClock(time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC))
	sec := r.stack.SecretARN
	// A first run, with no deadline, reads the key: the hanging portal
	// then spends its budget on the portal, whatever moto's speed.
	warm, _ := json.Marshal(target{PortalURL: r.url + "/p/healthy-warm-up", SecretID: sec})
	if out, err := r.run(t, context.Background(), warm); err != nil || len(out.Verdicts) != 1 {
		t.Fatalf("first Handle() = %+v, %v; want one verdict", out, err)
	}
	in := map[string][]target{"portals": {
		{PortalURL: r.url + "/p/trickle-hang", SecretID: sec}, {PortalURL: r.url + "/p/healthy-a", SecretID: sec}, {PortalURL: r.url + "/p/stale-b", SecretID: sec},
	}}
	raw, _ := json.Marshal(in)
	// 5 s before the cutoff, 3 s of it for the hanging portal; the others
	// would need 3 s more and are not checked.
	r.h.reserveFor = func(remaining time.Duration) reserve {
		return reserve{end: remaining - 5*time.Second, deliver: 10 * time.Second}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := r.run(t, ctx, raw)
	if !errors.Is(err, errNotChecked) {
		t.Fatalf("Handle() error = %v, want errNotChecked", err)
	}
	if len(out.Verdicts) != 1 || !strings.HasSuffix(out.Verdicts[0].Portal, "/p/trickle-hang") || out.Verdicts[0].Reason != "unreachable" {
		t.Errorf("verdicts = %+v, want only the hanging portal, unreachable", out.Verdicts)
	}
	if out.Skipped != 2 || len(out.SkippedPortals) != 2 {
		t.Errorf("skipped = %d %v, want the 2 other portals", out.Skipped, out.SkippedPortals)
	}
	if n := len(r.logs.lines(t, "more portals than fit in this invocation: the rest are not checked in this run: a later run starts with them")); n != 1 {
		t.Errorf("logs = %s, want a line saying portals were not checked", r.logs)
	}
	// The skipped portals have no state at all; the hanging one alerts.
	store, _ := alertstate.NewStore(dynamodb.NewFromConfig(r.aws), r.stack.StateTable, r.h.cfg.Policy)
	for _, p := range []string{"healthy-a", "stale-b"} {
		m, err := store.Load(context.Background(), strings.TrimPrefix(r.url, "http://")+"/p/"+p)
		if err != nil || len(m.Open) != 0 || !m.ScheduleFirstSeen.IsZero() {
			t.Errorf("state of skipped %s = %+v, %v; want nothing recorded", p, m, err)
		}
	}
	r.wantAlerts(t, "alert:unreachable")
	if st := r.portal.Stats(); st.Portals["healthy-a"] != 0 || st.Portals["stale-b"] != 0 {
		t.Errorf("portal requests = %v, want none to the skipped portals", st.Portals)
	}
}
