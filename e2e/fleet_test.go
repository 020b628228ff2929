package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/docspace-backup-watch/docspace-backup-watch/internal/localrun"
	"github.com/docspace-backup-watch/docspace-backup-watch/internal/motoserver"
)

// TestEndToEndFleet: the built bootstrap under the emulator dispatches a
// scheduled run over more than DISPATCH_ABOVE portals to the queue in
// moto_server; the messages, read back and handed to the same function as
// the SQS events of the event source mapping, give each portal exactly one
// verdict. A portal that cannot be checked (its secret bound to http) is
// the only message retried and ends in the dead-letter queue, and so does
// a message that is not a portal at all.
func TestEndToEndFleet(t *testing.T) {
	ctx := context.Background()
	tagValue := fmt.Sprintf("e2e-fleet-%d", tagSeq.Add(1))
	queue, err := localrun.CreateCheckQueue(ctx, motoserver.AWSConfig(env.moto), tagValue+"-checks", 2)
	if err != nil {
		t.Fatal(err)
	}
	r := newFleetRigWithTag(t, tagValue, map[string]string{"QUEUE_URL": queue.URL, "DISPATCH_ABOVE": "2"})
	for _, name := range []string{"healthy-q1", "healthy-q2", "healthy-q3", "stale-q4"} {
		r.register(t, name, "", true)
	}
	r.register(t, "healthy-q5-http", env.portalURL, true)
	poison, err := queue.Send(ctx, "not a portal")
	if err != nil {
		t.Fatal(err)
	}
	env.stack.Alerts(ctx, 0)

	_, inv := r.invoke(t, `{}`)
	var dispatched struct {
		Dispatched struct{ Messages, Calls int }
		Verdicts   []any
	}
	if err := json.Unmarshal(inv.Response, &dispatched); err != nil || inv.Failed || dispatched.Dispatched.Messages != 6 || len(dispatched.Verdicts) != 0 {
		t.Fatalf("scheduled run = %s, want 6 portals queued and none checked", inv.Response)
	}

	verdicts := map[string]int{}
	var failed []string
	for batches := 0; ; batches++ {
		if batches > 20 {
			t.Fatal("the queue did not empty in 20 batches")
		}
		ev, err := queue.ReceiveBatch(ctx, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(ev.Records) == 0 {
			break
		}
		payload, _ := json.Marshal(ev)
		got, inv := r.invoke(t, string(payload))
		for _, v := range got {
			verdicts[v]++
		}
		var resp struct {
			BatchItemFailures []events.SQSBatchItemFailure `json:"batchItemFailures"`
		}
		if err := json.Unmarshal(inv.Response, &resp); err != nil || inv.Failed {
			t.Fatalf("SQS batch: response %s, want batch item failures, not a failed invocation", inv.Response)
		}
		checkFleetMetrics(t, inv)
		ids, err := queue.Settle(ctx, ev, resp.BatchItemFailures, inv.Failed)
		if err != nil {
			t.Fatal(err)
		}
		failed = append(failed, ids...)
	}
	want := map[string]int{"healthy-default:healthy": 1, "healthy-q1:healthy": 1, "healthy-q2:healthy": 1, "healthy-q3:healthy": 1, "stale-q4:backup_stale": 1}
	if fmt.Sprint(verdicts) != fmt.Sprint(want) {
		t.Errorf("verdicts per portal = %v, want %v", verdicts, want)
	}
	// Two messages fail on each of their 2 receives: the http-bound
	// portal's and the poison one.
	if len(failed) != 4 || !slices.Contains(failed, poison) {
		t.Errorf("batch item failures = %v, want the poison message %s and the http-bound portal, twice each", failed, poison)
	}
	dead, err := queue.DeadLetters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for _, m := range dead.Records {
		bodies = append(bodies, m.Body)
	}
	slices.Sort(bodies)
	if len(bodies) != 2 || bodies[0] != "not a portal" || !strings.Contains(bodies[1], "healthy-q5-http") {
		t.Errorf("dead-letter queue holds %q, want the http-bound portal's job and the poison message", bodies)
	}
	alerts, _ := env.stack.Alerts(ctx, time.Second)
	if len(alerts) != 1 || alerts[0].Attributes["reason"] != "backup_stale" {
		t.Errorf("alerts = %+v, want the one stale portal's alert", alerts)
	}
}

// checkFleetMetrics: an invocation that checked portals prints one fleet
// EMF line (PortalsChecked, no dimension) and, by default, no line with a
// portal dimension.
func checkFleetMetrics(t *testing.T, inv localrun.Invocation) {
	t.Helper()
	fleet := 0
	for _, line := range inv.Logs {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil || m["_aws"] == nil {
			continue
		}
		if m["Portal"] != nil {
			t.Errorf("EMF line with a portal dimension, PORTAL_METRICS unset: %s", line)
		}
		if m["PortalsChecked"] != nil {
			fleet++
		}
	}
	if fleet != 1 {
		t.Errorf("%d fleet EMF lines, want 1:\n%s", fleet, strings.Join(inv.Logs, "\n"))
	}
}
