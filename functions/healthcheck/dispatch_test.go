package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/backupcheck"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/fleet"
)

// recordingQueue keeps the jobs dispatched to it.
type recordingQueue struct{ jobs []fleet.Job }

func (q *recordingQueue) Dispatch(_ context.Context, jobs []fleet.Job) (fleet.Sent, error) {
	q.jobs = append(q.jobs, jobs...)
	return fleet.Sent{Messages: len(jobs), Calls: 1}, nil
}

// TestDispatchKeepsPortalOptions: a portal's own "dump" and "selfHosted"
// travel through the queue, so a list big enough to be dispatched gets the
// verdicts a direct run gives: a dump server's schedule is found, and a
// portal said to be self-hosted gets no service_inactive.
func TestDispatchKeepsPortalOptions(t *testing.T) {
	f := newFixture(t, map[string]string{"DISPATCH_ABOVE": "1"})
	q := &recordingQueue{}
	f.h.dispatcher = q
	input := fmt.Sprintf(`{"portals":[{"portalUrl":%q,"secretId":"docspace/key","dump":true},{"portalUrl":%q,"secretId":"docspace/key","selfHosted":true}]}`,
		f.url+"/p/dump-1", f.url+"/p/inactive-2")
	if _, err := f.h.Handle(context.Background(), json.RawMessage(input)); err != nil || len(q.jobs) != 2 {
		t.Fatalf("Handle(list) = %v with %d jobs queued, want 2 queued", err, len(q.jobs))
	}
	var batch events.SQSEvent
	for i, j := range q.jobs {
		body, err := j.Encode()
		if err != nil {
			t.Fatal(err)
		}
		batch.Records = append(batch.Records, events.SQSMessage{MessageId: fmt.Sprint(i), EventSource: "aws:sqs", Body: body})
	}
	raw, _ := json.Marshal(batch)
	out, err := f.h.Handle(context.Background(), raw)
	if err != nil || len(out.Verdicts) != 2 || len(out.BatchItemFailures) != 0 {
		t.Fatalf("Handle(SQS batch) = %+v, %v; want 2 verdicts, no failure", out, err)
	}
	for _, v := range out.Verdicts {
		if v.Reason != backupcheck.Healthy {
			t.Errorf("queued check of %s = %s (%s), want healthy as in a direct run", v.Portal, v.Reason, v.Detail)
		}
	}
}

// TestNoQueueWarns: without QUEUE_URL (the template without Fleet=true), a
// run over more than DISPATCH_ABOVE portals checks what fits itself and
// says in its log that the check queue is the way for a fleet.
func TestNoQueueWarns(t *testing.T) {
	f := newFixture(t, map[string]string{"DISPATCH_ABOVE": "1"})
	out, err := f.h.Handle(context.Background(), f.input("healthy-1", "healthy-2"))
	if err != nil || len(out.Verdicts) != 2 {
		t.Fatalf("Handle() = %+v, %v; want 2 verdicts", out, err)
	}
	if logs := f.logs.String(); !strings.Contains(logs, `"level":"WARN","msg":"more portals than DISPATCH_ABOVE and no QUEUE_URL`) || !strings.Contains(logs, "Fleet=true") {
		t.Errorf("log does not warn about the missing queue:\n%s", logs)
	}
}

// TestDispatchStarvesNoPortal: consumers that check only the first c of
// the n messages a run queues (the rest are dropped as stale once they
// fall behind) still check every portal within 4n/c consecutive
// scheduled runs, whatever c and whatever the first run; invocations of
// one schedule interval queue in the same order.
func TestDispatchStarvesNoPortal(t *testing.T) {
	const n = 10
	f := newFixture(t, map[string]string{"DISPATCH_ABOVE": "1"})
	q := &recordingQueue{}
	f.h.dispatcher = q
	var names []string
	for i := range n {
		names = append(names, fmt.Sprintf("healthy-%d", i))
	}
	input := f.input(names...)
	start := time.Date(2026, 12, 2, 2, 7, 0, 0, time.UTC)
	var at time.Time
	f.h.now = func() time.Time { return at }
	queued := func(when time.Time) []fleet.Job {
		t.Helper()
		at, q.jobs = when, nil
		if _, err := f.h.Handle(context.Background(), input); err != nil || len(q.jobs) != n {
			t.Fatalf("Handle() = %v with %d jobs queued, want %d", err, len(q.jobs), n)
		}
		return q.jobs
	}
	for _, c := range []int{1, 2, 3, 4, 6, 9} {
		runs := 4 * n / c
		for first := range 8 {
			checked := map[string]bool{}
			for k := range runs {
				for _, j := range queued(start.Add(time.Duration(first+k) * DefaultScheduleInterval))[:c] {
					checked[j.PortalURL] = true
				}
			}
			if len(checked) != n {
				t.Fatalf("consumers checking %d a run, from run %d: %d of %d portals checked within %d runs, want all", c, first, len(checked), n, runs)
			}
		}
	}
	a := queued(start)[0]
	if b := queued(start.Add(7 * time.Minute))[0]; a.PortalURL != b.PortalURL {
		t.Errorf("two invocations of one interval queue first %s then %s, want the same order", a.PortalURL, b.PortalURL)
	}
}
