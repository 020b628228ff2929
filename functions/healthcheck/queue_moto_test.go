package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/docspace-backup-watch/docspace-backup-watch/internal/motoserver"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/fleet"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/metrics"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/secrets"
)

// dispatchRun runs a scheduled run that queues the rig's portals and
// returns the batch of every queued message, as the event source mapping
// would hand it over.
func (r *fleetRig) dispatchRun(t *testing.T) events.SQSEvent {
	t.Helper()
	out, err := r.run(t, context.Background(), []byte(`{"source":"schedule"}`))
	if err != nil || out.Dispatched == nil {
		t.Fatalf("Handle(schedule) = %+v, %v, want the portals queued", out, err)
	}
	ev, err := r.queue.ReceiveBatch(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Records) != out.Dispatched.Messages {
		t.Fatalf("received %d of the %d queued messages", len(ev.Records), out.Dispatched.Messages)
	}
	return ev
}

// handleBatch hands ev to the handler n times at once, as overlapping
// consumers given the same messages would.
func (r *fleetRig) handleBatch(t *testing.T, ev events.SQSEvent, n int) {
	t.Helper()
	raw, _ := json.Marshal(ev)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			<-start
			if _, err := r.h.Handle(context.Background(), raw); err != nil {
				t.Errorf("Handle(SQS batch) error = %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
}

// TestFleetRunCountsOnce: a queued portal whose message is delivered to
// two consumers at once and then once more (a redelivery) counts once
// for its run: bad_response, which alerts after 2 failing runs, stays
// quiet through the first run's deliveries and alerts exactly once in the
// second run. moto is behind the serializing proxy (conditional writes).
func TestFleetRunCountsOnce(t *testing.T) {
	r := newFleetRigAt(t, motoserver.StartSerialized(t))
	r.setClock(time.Now().UTC())
	for i := range 3 {
		r.register(t, fmt.Sprintf("healthy-once%d", i), "", r.tag.Value)
	}
	r.register(t, "html-once", "", r.tag.Value)

	ev := r.dispatchRun(t)
	r.handleBatch(t, ev, 3)
	r.advance(5 * time.Minute)
	r.handleBatch(t, ev, 1)
	r.wantAlerts(t)

	r.advance(10 * time.Minute)
	ev2 := r.dispatchRun(t)
	r.handleBatch(t, ev2, 3)
	r.advance(time.Minute)
	r.handleBatch(t, ev2, 1)
	// A backlogged message of the first run, still within the interval
	// but older than the run already counted, counts nothing either.
	r.handleBatch(t, ev, 1)
	r.wantAlerts(t, "alert:bad_response")
}

// emfCounts sums the metric name over the rig's EMF lines.
func (r *fleetRig) emfCount(t *testing.T, name string) (int, bool) {
	t.Helper()
	sum, seen := 0, false
	for _, line := range strings.Split(strings.TrimSpace(r.emf.String()), "\n") {
		var doc map[string]any
		if line == "" || json.Unmarshal([]byte(line), &doc) != nil {
			continue
		}
		if v, ok := doc[name].(float64); ok {
			sum, seen = sum+int(v), true
		}
	}
	return sum, seen
}

// TestFleetStaleMessagesDropped: a queued portal whose run began more
// than one schedule interval ago, and one that names no run (an earlier
// release's), are dropped: no verdict, no batch item failure (nothing
// reaches the dead-letter queue), a log line each, and the count in the
// StaleMessagesDropped metric; a fresh one is checked.
func TestFleetStaleMessagesDropped(t *testing.T) {
	r := newFleetRig(t)
	now := time.Now().UTC()
	r.setClock(now)
	ctx := context.Background()
	send := func(name string, run fleet.Run) {
		t.Helper()
		body, err := fleet.Job{SecretID: r.register(t, name, "", r.tag.Value), Registered: true, Run: run}.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.queue.Send(ctx, body); err != nil {
			t.Fatal(err)
		}
	}
	send("stale-old-run", fleet.Run{ID: "old", At: now.Add(-r.h.cfg.ScheduleInterval - time.Minute)})
	send("stale-no-run", fleet.Run{})
	send("healthy-fresh", fleet.Run{ID: "fresh", At: now.Add(-time.Minute)})
	c := r.consume(t)
	if fmt.Sprint(c.verdicts) != "map[healthy-fresh:healthy:1]" || len(c.failed) != 0 {
		t.Errorf("verdicts = %v, failures %v; want the fresh portal alone and no failure", c.verdicts, c.failed)
	}
	if n, ok := r.emfCount(t, metrics.StaleMessagesDropped); !ok || n != 2 {
		t.Errorf("%s = %d (written %v), want 2", metrics.StaleMessagesDropped, n, ok)
	}
	if lines := r.logs.lines(t, "queued portal dropped: its run began more than one schedule interval ago, and a later run has queued it again"); len(lines) != 2 {
		t.Errorf("%d stale log lines, want 2", len(lines))
	}
	if n := r.portal.Stats().Portals["stale-old-run"] + r.portal.Stats().Portals["stale-no-run"]; n != 0 {
		t.Errorf("the stale portals got %d requests, want none", n)
	}
	r.wantAlerts(t)
}

// TestFleetRemovedPortalDropped: a portal removed (its secret deleted)
// or untagged while its message waits is dropped and logged, not retried
// into the dead-letter queue.
func TestFleetRemovedPortalDropped(t *testing.T) {
	r := newFleetRig(t)
	r.setClock(time.Now().UTC())
	ctx := context.Background()
	for i := range 3 {
		r.register(t, fmt.Sprintf("healthy-stay%d", i), "", r.tag.Value)
	}
	removed := r.register(t, "healthy-removed", "", r.tag.Value)
	untagged := r.register(t, "healthy-untagged", "", r.tag.Value)
	r.dispatchRunOnly(t)
	if _, err := r.sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(removed), ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.sm.UntagResource(ctx, &secretsmanager.UntagResourceInput{SecretId: aws.String(untagged), TagKeys: []string{r.tag.Key}}); err != nil {
		t.Fatal(err)
	}
	c := r.consume(t)
	if len(c.failed) != 0 || c.verdicts["healthy-removed:healthy"] != 0 || c.verdicts["healthy-untagged:healthy"] != 0 || c.verdicts["healthy-stay0:healthy"] != 1 {
		t.Errorf("verdicts = %v, failures %v; want the registered portals checked, the removed and untagged ones dropped without a failure", c.verdicts, c.failed)
	}
	dead, err := r.queue.DeadLetters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(dead.Records) != 0 {
		t.Errorf("dead-letter queue holds %d message(s), want none", len(dead.Records))
	}
	lines := r.logs.lines(t, "queued portal dropped: its secret is no longer registered (removed or untagged while it waited)")
	if len(lines) != 2 {
		t.Errorf("%d removed-portal log lines, want 2", len(lines))
	}
}

// dispatchRunOnly runs a scheduled run that queues the rig's portals.
func (r *fleetRig) dispatchRunOnly(t *testing.T) {
	t.Helper()
	out, err := r.run(t, context.Background(), []byte(`{"source":"schedule"}`))
	if err != nil || out.Dispatched == nil {
		t.Fatalf("Handle(schedule) = %+v, %v, want the portals queued", out, err)
	}
}

// panickyKeys panics when asked for the secret whose ARN contains match.
type panickyKeys struct {
	next  bindingSource
	match string
}

func (k panickyKeys) Binding(ctx context.Context, secretID string) (secrets.Binding, error) {
	if strings.Contains(secretID, k.match) {
		panic("unexpected shape of " + k.match)
	}
	return k.next.Binding(ctx, secretID)
}

// TestFleetPanicIsOnePortals: a panic while checking one queued portal is
// recovered: only its message fails (and is retried), the batch's other
// portals get their verdicts, and the log says which portal panicked.
func TestFleetPanicIsOnePortals(t *testing.T) {
	r := newFleetRig(t)
	r.setClock(time.Now().UTC())
	for i := range 3 {
		r.register(t, fmt.Sprintf("healthy-calm%d", i), "", r.tag.Value)
	}
	r.register(t, "healthy-panics", "", r.tag.Value)
	r.h.keys = panickyKeys{next: r.h.keys, match: "healthy-panics"}
	ev := r.dispatchRun(t)
	raw, _ := json.Marshal(ev)
	out, err := r.run(t, context.Background(), raw)
	if err != nil {
		t.Fatalf("Handle(SQS batch) error = %v, want the batch to succeed", err)
	}
	panicked := ""
	for _, m := range ev.Records {
		if strings.Contains(m.Body, "healthy-panics") {
			panicked = m.MessageId
		}
	}
	if len(out.BatchItemFailures) != 1 || out.BatchItemFailures[0].ItemIdentifier != panicked || len(out.Verdicts) != len(ev.Records)-1 {
		t.Errorf("batch = %d verdicts, failures %v; want %d verdicts and the panicking portal's message %s alone failed", len(out.Verdicts), out.BatchItemFailures, len(ev.Records)-1, panicked)
	}
	if lines := r.logs.lines(t, "portal check panicked: recovered, this portal alone fails"); len(lines) != 1 || lines[0]["panic"] != "unexpected shape of healthy-panics" {
		t.Errorf("panic log lines = %v, want one for the panicking portal", lines)
	}
}
