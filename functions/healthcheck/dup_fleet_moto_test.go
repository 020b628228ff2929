package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/docspace-backup-watch/docspace-backup-watch/internal/localrun"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/fleet"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/registry"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/secrets"
)

// registerFor registers, as a second secret made by hand would be, the
// secret name (under the rig's stack) bound to the rig's portal playing
// scenario portal, with the stack's tag and, when tagged, the portal tag
// that registry.Register puts on it. It returns the secret's ARN.
func (r *fleetRig) registerFor(t *testing.T, name, portal string, tagged bool) string {
	t.Helper()
	tagFor := ""
	if tagged {
		tagFor = portal
	}
	return r.registerTagged(t, name, portal, tagFor)
}

// registerTagged is registerFor with the portal tag of the portal tagFor
// (none when "").
func (r *fleetRig) registerTagged(t *testing.T, name, portal, tagFor string) string {
	t.Helper()
	ctx := context.Background()
	arn, err := localrun.RegisterPortal(ctx, r.aws, r.tag.Value+"/"+name, r.tlsURL+"/p/"+portal, faultKey, r.tag.Key, r.tag.Value)
	if err != nil {
		t.Fatal(err)
	}
	if tagFor != "" {
		u, err := docspace.ValidateBaseURL(r.tlsURL+"/p/"+tagFor, true)
		if err != nil {
			t.Fatal(err)
		}
		tag := smtypes.Tag{Key: aws.String(registry.PortalTagKey), Value: aws.String(registry.PortalTagValue(docspace.PortalName(u)))}
		if _, err := r.sm.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: aws.String(arn), Tags: []smtypes.Tag{tag}}); err != nil {
			t.Fatal(err)
		}
	}
	return arn
}

// countingKeys counts the keys read.
type countingKeys struct {
	next bindingSource
	n    atomic.Int64
}

func (k *countingKeys) Binding(ctx context.Context, secretID string) (secrets.Binding, error) {
	k.n.Add(1)
	return k.next.Binding(ctx, secretID)
}

// queuedJobs receives every message on the rig's queue (and leaves them
// there, invisible) and returns their jobs.
func (r *fleetRig) queuedJobs(t *testing.T) []fleet.Job {
	t.Helper()
	var jobs []fleet.Job
	for {
		ev, err := r.queue.ReceiveBatch(context.Background(), 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(ev.Records) == 0 {
			return jobs
		}
		for _, m := range ev.Records {
			j, err := fleet.DecodeJob(m.Body)
			if err != nil {
				t.Fatal(err)
			}
			jobs = append(jobs, j)
		}
	}
}

// TestFleetTwoSecretsOnePortalQueuedOnce: two registered secrets carry
// the portal tag of one portal, one listed in the first page and the
// other in the last (two to a page), among more portals than one
// SendMessageBatch call takes. The dispatcher queues that portal once,
// with the secret whose ARN sorts first (listed last), whatever the
// listing's order, and warns naming both, once both secrets' keys (the
// two keys it reads) show them bound to the tagged portal.
func TestFleetTwoSecretsOnePortalQueuedOnce(t *testing.T) {
	r := newFleetRig(t)
	r.setClock(time.Now().UTC())
	later := r.registerFor(t, "z-twice", "healthy-twice", true)
	for i := range 10 {
		r.register(t, fmt.Sprintf("healthy-other%d", i), "", r.tag.Value)
	}
	first := r.registerFor(t, "a-twice", "healthy-twice", true)
	if first >= later {
		t.Fatalf("ARN %s sorts after %s: the test needs it first", first, later)
	}
	if sent := r.wantQueuedOnce(t, first, later); sent.Calls != 2 {
		t.Errorf("Dispatched = %+v, want 12 messages in 2 calls", sent)
	}
}

// wantQueuedOnce runs the schedule over PORTAL_URL's portal, ten others
// and one bound to the entries first and later (first's ARN sorting
// first), and wants twelve messages, one for first and none for later,
// one warning naming both, and the two entries' keys read; it returns
// what the dispatcher sent.
func (r *fleetRig) wantQueuedOnce(t *testing.T, first, later string) fleet.Sent {
	t.Helper()
	keys := &countingKeys{next: r.h.keys}
	r.h.keys = keys
	out, err := r.run(t, context.Background(), []byte(`{"source":"schedule"}`))
	if err != nil || out.Dispatched == nil {
		t.Fatalf("Handle(schedule) = %+v, %v, want the portals queued", out, err)
	}
	if out.Dispatched.Messages != 12 {
		t.Errorf("Dispatched = %+v, want 12 messages", *out.Dispatched)
	}
	count := map[string]int{}
	for _, j := range r.queuedJobs(t) {
		count[j.SecretID]++
	}
	if count[first] != 1 || count[later] != 0 {
		t.Errorf("queued %d message(s) for %s and %d for %s, want 1 and 0", count[first], first, count[later], later)
	}
	lines := r.logs.lines(t, msgTwoSecrets)
	if len(lines) != 1 || lines[0]["used"] != first || lines[0]["notUsed"] != later || lines[0]["level"] != "WARN" {
		t.Errorf("warnings = %v, want one naming %s used and %s not", lines, first, later)
	}
	if n := keys.n.Load(); n != 2 {
		t.Errorf("the dispatcher read %d key(s), want 2 (the two entries')", n)
	}
	return *out.Dispatched
}

// consumeEach hands the rig's queued messages to the handler one at a
// time, each an invocation of its own, and returns the verdicts
// ("name:reason") and the batch item failures.
func (r *fleetRig) consumeEach(t *testing.T) ([]string, int) {
	t.Helper()
	ctx := context.Background()
	var verdicts []string
	failed := 0
	for range 50 {
		ev, err := r.queue.ReceiveBatch(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(ev.Records) == 0 {
			return verdicts, failed
		}
		raw, _ := json.Marshal(ev)
		out, err := r.run(t, ctx, raw)
		if err != nil {
			t.Errorf("Handle(SQS batch) error = %v", err)
		}
		for _, v := range out.Verdicts {
			verdicts = append(verdicts, v.Portal[strings.Index(v.Portal, "/p/")+3:]+":"+string(v.Reason))
		}
		failed += len(out.BatchItemFailures)
		if _, err := r.queue.Settle(ctx, ev, out.BatchItemFailures, err != nil); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("the queue did not empty in 50 invocations")
	return nil, 0
}

// TestFleetConsumerDropsTheSecondSecret: messages for both secrets bound
// to one portal (queued by an earlier release's dispatcher, or by one
// whose listing did not yet show the second secret) reach two
// invocations, the one that sorts last first, two runs in a row. No
// consumer drops a message on the portal tag (its listing may be older or
// newer than the dispatcher's): each claims the portal once its key is
// read, so the first run checks it with both, and from the second run on
// the message of the secret that does not sort first is dropped and
// logged, not retried. The alert state counts the portal once a run.
func TestFleetConsumerDropsTheSecondSecret(t *testing.T) {
	r := newFleetRig(t)
	r.setClock(time.Now().UTC())
	later := r.registerFor(t, "z-twice", "html-twice", true)
	first := r.registerFor(t, "a-twice", "html-twice", true)
	r.wantSecondDropped(t, "html-twice:bad_response", first, later)
}

// wantSecondDropped queues the messages of later and first (one portal,
// scenario verdict), two runs in a row, each message to an invocation of
// its own, and checks that the first run checks the portal with both, the
// second with first alone, and that the alert state counted one run each
// (bad_response alerts after two failing runs: once, in the second).
func (r *fleetRig) wantSecondDropped(t *testing.T, verdict, first, later string) {
	t.Helper()
	ctx := context.Background()
	for run, want := range []string{verdict + " " + verdict, verdict} {
		for _, id := range []string{later, first} {
			body, err := fleet.Job{SecretID: id, Registered: true, Run: fleet.Run{ID: fmt.Sprint("run-", run), At: r.clock()}}.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.queue.Send(ctx, body); err != nil {
				t.Fatal(err)
			}
		}
		verdicts, failed := r.consumeEach(t)
		if fmt.Sprint(verdicts) != "["+want+"]" || failed != 0 {
			t.Errorf("run %d: verdicts = %v, %d failure(s); want [%s] and no failure", run, verdicts, failed, want)
		}
		if run == 0 {
			r.wantAlerts(t)
		}
		r.advance(r.h.cfg.ScheduleInterval)
	}
	r.wantAlerts(t, "alert:bad_response")
	r.wantOwnerDrops(t, 1, first, later)
}

// TestFleetUntaggedDuplicatesCountOnce: two secrets bound to one portal
// without the portal tag (registered before it existed) are both queued,
// each handed to an invocation of its own; the first run may check both
// (the one that sorts first may come second), the second run checks the
// portal once (the secret that sorts first owns it), and the alert state
// counts the portal once a run: bad_response, which alerts after 2
// failing runs, stays quiet through the first run and alerts once in the
// second.
func TestFleetUntaggedDuplicatesCountOnce(t *testing.T) {
	r := newFleetRig(t)
	r.setClock(time.Now().UTC())
	r.registerFor(t, "a-twice", "html-untagged", false)
	r.registerFor(t, "z-twice", "html-untagged", false)
	for i := range 2 {
		r.register(t, fmt.Sprintf("healthy-other%d", i), "", r.tag.Value)
	}
	for run, want := range [][]string{nil, {"alert:bad_response"}} {
		r.dispatchRunOnly(t)
		verdicts, failed := r.consumeEach(t)
		n := strings.Count(fmt.Sprint(verdicts), "html-untagged:bad_response")
		if n < 1 || n > 2-run || failed != 0 {
			t.Errorf("run %d: verdicts = %v, %d failure(s); want html-untagged checked (twice at most in the first run, once after), no failure", run, verdicts, failed)
		}
		r.wantAlerts(t, want...)
		r.advance(15 * time.Minute)
	}
}

// TestStalePortalTagSaidSo: a secret whose portal tag names another
// portal than its key is bound to (its value changed after it was
// tagged) wins the other portal's place as the ARN that sorts first;
// the run checks the portal its key is bound to and says that the tag is
// wrong, naming the secret and both portals, so that the portal left out
// is not left out silently.
func TestStalePortalTagSaidSo(t *testing.T) {
	r := newFleetRig(t)
	r.setClock(time.Now().UTC())
	stale := r.registerTagged(t, "a-moved", "healthy-moved", "healthy-left")
	r.registerFor(t, "z-left", "healthy-left", true)
	out, err := r.run(t, context.Background(), []byte(`{"source":"schedule"}`))
	if err != nil || out.Dispatched != nil {
		t.Fatalf("Handle(schedule) = %+v, %v, want a direct run", out, err)
	}
	if got := fmt.Sprint(verdictNames(out)); !strings.Contains(got, "healthy-moved:healthy") {
		t.Errorf("verdicts = %s, want healthy-moved checked", got)
	}
	// A consumer given the secret's message says so too.
	body, err := fleet.Job{SecretID: stale, Registered: true, Run: fleet.Run{ID: "queued", At: r.clock()}}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.queue.Send(context.Background(), body); err != nil {
		t.Fatal(err)
	}
	if verdicts, _ := r.consumeEach(t); fmt.Sprint(verdicts) != "[healthy-moved:healthy]" {
		t.Errorf("consumer verdicts = %v, want healthy-moved checked", verdicts)
	}
	lines := r.logs.lines(t, msgStaleTag)
	if len(lines) != 2 {
		t.Fatalf("stale tag warnings = %v, want one from the run and one from the consumer", lines)
	}
	for _, l := range lines {
		if l["secretId"] != stale || !strings.HasSuffix(fmt.Sprint(l["tagged"]), "/p/healthy-left") || !strings.HasSuffix(fmt.Sprint(l["portal"]), "/p/healthy-moved") {
			t.Errorf("stale tag warning = %v, want it naming %s, tagged healthy-left, bound to healthy-moved", l, stale)
		}
	}
}
