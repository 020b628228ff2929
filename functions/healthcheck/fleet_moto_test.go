package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"

	"github.com/docspace-backup-watch/docspace-backup-watch/internal/localrun"
	"github.com/docspace-backup-watch/docspace-backup-watch/internal/motoserver"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/alert"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/fleet"
)

// failFirstPublisher refuses the first publish for each portal whose name
// contains match, then lets every publish through.
type failFirstPublisher struct {
	next  alert.Publisher
	match string
	done  atomic.Bool
}

func (p *failFirstPublisher) Publish(ctx context.Context, in *sns.PublishInput, opts ...func(*sns.Options)) (*sns.PublishOutput, error) {
	if strings.Contains(aws.ToString(in.MessageAttributes["portal"].StringValue), p.match) && p.done.CompareAndSwap(false, true) {
		return nil, &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded", Fault: smithy.FaultClient}
	}
	return p.next.Publish(ctx, in, opts...)
}

// fleetRig is a registry rig whose handler dispatches above 3 portals to a
// queue in moto_server with its dead-letter queue (2 receives), and keeps
// the alert state in the rig's table.
type fleetRig struct {
	*registryRig
	queue *localrun.CheckQueue
}

func newFleetRig(t *testing.T) *fleetRig {
	t.Helper()
	return newFleetRigAt(t, motoserver.Start(t))
}

// newFleetRigAt is newFleetRig on the moto at endpoint.
func newFleetRigAt(t *testing.T, endpoint string) *fleetRig {
	t.Helper()
	r := &fleetRig{registryRig: newRegistryRig(t, endpoint)}
	r.useState(t, nil, "")
	var err error
	if r.queue, err = localrun.CreateCheckQueue(context.Background(), r.aws, fmt.Sprintf("checks-%d", stackSeq.Add(1)), 2); err != nil {
		t.Fatal(err)
	}
	if r.h.dispatcher, err = fleet.NewDispatcher(sqs.NewFromConfig(r.aws), r.queue.URL); err != nil {
		t.Fatal(err)
	}
	r.h.cfg.DispatchAbove = 3
	r.h.cfg.PortalURL = r.url + "/p/healthy-default"
	return r
}

// consumed is what the queue's batches did.
type consumed struct {
	// verdicts counts verdicts per portal name ("name:reason").
	verdicts map[string]int
	// failed are the message ids reported as batch item failures, in
	// order, with repeats.
	failed  []string
	batches int
}

// consume plays the event source mapping until the queue is empty:
// batches of up to 10 messages handed to Handle as the SQS event, the
// answer settled as the mapping does.
func (r *fleetRig) consume(t *testing.T) consumed {
	t.Helper()
	ctx := context.Background()
	c := consumed{verdicts: map[string]int{}}
	for range 50 {
		ev, err := r.queue.ReceiveBatch(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(ev.Records) == 0 {
			return c
		}
		c.batches++
		raw, _ := json.Marshal(ev)
		out, err := r.run(t, ctx, raw)
		if err != nil {
			t.Errorf("Handle(SQS batch) error = %v: the batch itself must not fail", err)
		}
		for _, v := range out.Verdicts {
			c.verdicts[v.Portal[strings.Index(v.Portal, "/p/")+3:]+":"+string(v.Reason)]++
		}
		failed, err := r.queue.Settle(ctx, ev, out.BatchItemFailures, err != nil)
		if err != nil {
			t.Fatal(err)
		}
		c.failed = append(c.failed, failed...)
	}
	t.Fatal("the queue did not empty in 50 batches")
	return c
}

// TestFleetDispatchAndConsume: a scheduled run over more portals than
// DISPATCH_ABOVE queues one message per portal instead of checking; the
// batches fed back give every portal exactly one verdict and the notices
// of a direct run. A portal whose notice could not be published is the
// only message retried; its notice stays pending in the alert state (the
// retry comes within the claim's lease) and goes out once, late, with the
// next run after the lease.
func TestFleetDispatchAndConsume(t *testing.T) {
	r := newFleetRig(t)
	r.setClock(time.Now().UTC())
	want := map[string]int{"healthy-default:healthy": 1}
	for i := range 8 {
		name := fmt.Sprintf("healthy-f%02d", i)
		r.register(t, name, "", r.tag.Value)
		want[name+":healthy"] = 1
	}
	r.register(t, "stale-f1", "", r.tag.Value)
	r.register(t, "no_schedule-retry", "", r.tag.Value)
	want["stale-f1:backup_stale"] = 1
	r.h.publisher = &failFirstPublisher{next: r.h.publisher, match: "no_schedule-retry"}

	out, err := r.run(t, context.Background(), []byte(`{"source":"schedule"}`))
	if err != nil || out.Dispatched == nil || out.Dispatched.Messages != 11 || out.Dispatched.Calls != 2 || len(out.Verdicts) != 0 {
		t.Fatalf("Handle(schedule) = %+v, %v, want 11 portals queued in 2 calls and none checked", out, err)
	}
	if n := len(r.portal.Stats().Portals); n != 0 {
		t.Errorf("the dispatcher checked %d portals itself, want none", n)
	}
	r.wantAlerts(t)

	c := r.consume(t)
	// The retried portal has its verdict twice: the run whose notice failed,
	// and the retry.
	want["no_schedule-retry:no_schedule"] = 2
	if fmt.Sprint(c.verdicts) != fmt.Sprint(want) {
		t.Errorf("verdicts per portal = %v, want %v", c.verdicts, want)
	}
	if len(c.failed) != 1 {
		t.Errorf("batch item failures = %v, want exactly the one portal whose notice failed", c.failed)
	}
	r.wantAlerts(t, "alert:backup_stale")

	// The next scheduled run, after the lease: the same portals, the
	// pending notice sent, nothing repeated (the alert state works through
	// the queue as in a direct run).
	r.advance(r.h.cfg.Policy.Lease + time.Minute)
	if _, err := r.run(t, context.Background(), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	c = r.consume(t)
	delete(want, "no_schedule-retry:no_schedule")
	want["no_schedule-retry:no_schedule"] = 1
	if fmt.Sprint(c.verdicts) != fmt.Sprint(want) || len(c.failed) != 0 {
		t.Errorf("second run: verdicts = %v, failures %v, want %v and none", c.verdicts, c.failed, want)
	}
	r.wantAlerts(t, "alert:no_schedule")
	r.advance(15 * time.Minute)
	if _, err := r.run(t, context.Background(), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	r.consume(t)
	r.wantAlerts(t)
}

// TestFleetPoisonMessageToDeadLetterQueue: a message that is not a portal
// is reported failed on every receive, and after the queue's
// maxReceiveCount it is in the dead-letter queue, while the portals of its
// batches are checked.
func TestFleetPoisonMessageToDeadLetterQueue(t *testing.T) {
	r := newFleetRig(t)
	ctx := context.Background()
	poison, err := r.queue.Send(ctx, `{"portal":"https://typo.example.com"}`)
	if err != nil {
		t.Fatal(err)
	}
	job, _ := fleet.Job{SecretID: r.register(t, "healthy-next", "", r.tag.Value), Registered: true, Run: fleet.Run{ID: "now", At: time.Now().UTC()}}.Encode()
	if _, err := r.queue.Send(ctx, job); err != nil {
		t.Fatal(err)
	}
	c := r.consume(t)
	if c.failed == nil || slices.ContainsFunc(c.failed, func(id string) bool { return id != poison }) || len(c.failed) != r.queue.MaxReceiveCount {
		t.Errorf("batch item failures = %v, want the poison message %s on each of its %d receives", c.failed, poison, r.queue.MaxReceiveCount)
	}
	if fmt.Sprint(c.verdicts) != "map[healthy-next:healthy:1]" {
		t.Errorf("verdicts = %v, want the one portal checked once", c.verdicts)
	}
	dead, err := r.queue.DeadLetters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(dead.Records) != 1 || dead.Records[0].MessageId != poison {
		t.Errorf("dead-letter queue holds %+v, want the poison message %s", dead.Records, poison)
	}
	if lines := r.logs.lines(t, "message is not a portal to check: back to the queue, then to the dead-letter queue"); len(lines) != r.queue.MaxReceiveCount {
		t.Errorf("%d poison log lines, want %d", len(lines), r.queue.MaxReceiveCount)
	}
}

// TestSQSEventNotMistaken: only a batch whose every record comes from SQS
// takes the queue path.
func TestSQSEventNotMistaken(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want bool
	}{
		{`{"Records":[{"eventSource":"aws:sqs","messageId":"1","body":"{}"}]}`, true},
		{`{"Records":[{"eventSource":"aws:sqs"},{"eventSource":"aws:sns"}]}`, false},
		{`{"Records":[]}`, false},
		{`{"portals":[{"portalUrl":"https://a.example.com"}]}`, false},
		{`"Records"`, false},
	} {
		if _, got := asSQSEvent(json.RawMessage(tc.raw)); got != tc.want {
			t.Errorf("asSQSEvent(%s) = %v, want %v", tc.raw, got, tc.want)
		}
	}
}
