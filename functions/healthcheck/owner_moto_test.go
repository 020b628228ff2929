package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/docspace-backup-watch/docspace-backup-watch/internal/localrun"
	"github.com/docspace-backup-watch/docspace-backup-watch/internal/motoserver"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/alertstate"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/fleet"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/secrets"
)

// otherKey is a second secret's key for a portal that answers faultKey
// only: a revoked key.
const otherKey = "sk-revoked-other-KEY-00000000000000000"

// ownedPair registers two secrets without the portal tag (registered by
// hand, or by an earlier release), both bound to the rig's portal playing
// scenario portal: good with the portal's key, its ARN sorting first, and
// revoked with another key.
func (r *fleetRig) ownedPair(t *testing.T, portal string) (good, revoked string) {
	t.Helper()
	r.secretValues = append(r.secretValues, otherKey)
	ctx := context.Background()
	good, err := localrun.RegisterPortal(ctx, r.aws, r.tag.Value+"/a-good", r.tlsURL+"/p/"+portal, faultKey, r.tag.Key, r.tag.Value)
	if err != nil {
		t.Fatal(err)
	}
	revoked, err = localrun.RegisterPortal(ctx, r.aws, r.tag.Value+"/z-revoked", r.tlsURL+"/p/"+portal, otherKey, r.tag.Key, r.tag.Value)
	if err != nil {
		t.Fatal(err)
	}
	if good >= revoked {
		t.Fatalf("ARN %s sorts after %s: the test needs it first", good, revoked)
	}
	return good, revoked
}

// deliver hands the consumer one message for the registered entry id (or
// SECRET_ID: the PORTAL_URL portal) of run, an invocation of its own, and returns the verdicts ("name:reason");
// the message is never a batch item failure.
func (r *fleetRig) deliver(t *testing.T, id string, run fleet.Run) []string {
	t.Helper()
	job := fleet.Job{SecretID: id, Registered: true, Run: run}
	if id == r.h.cfg.SecretID {
		job = fleet.Job{PortalURL: r.h.cfg.PortalURL, Run: run} // the PORTAL_URL portal
	}
	body, err := job.Encode()
	if err != nil {
		t.Fatal(err)
	}
	ev := events.SQSEvent{Records: []events.SQSMessage{{MessageId: fmt.Sprintf("%s-%s", run.ID, id), Body: body, EventSource: "aws:sqs"}}}
	raw, _ := json.Marshal(ev)
	out, err := r.run(t, context.Background(), raw)
	if err != nil || len(out.BatchItemFailures) != 0 {
		t.Errorf("Handle(message for %s) = %+v, %v; want no error and no batch item failure", id, out, err)
	}
	var verdicts []string
	for _, v := range out.Verdicts {
		verdicts = append(verdicts, v.Portal[strings.Index(v.Portal, "/p/")+3:]+":"+string(v.Reason))
	}
	return verdicts
}

// deliverRun delivers the messages of ids in this order, each as deliver
// does, for the run numbered run, and returns their verdicts.
func (r *fleetRig) deliverRun(t *testing.T, run int, ids ...string) []string {
	t.Helper()
	var verdicts []string
	for _, id := range ids {
		verdicts = append(verdicts, r.deliver(t, id, fleet.Run{ID: fmt.Sprintf("run-%d", run), At: r.clock()})...)
	}
	return verdicts
}

// alternatingRuns delivers the messages of first and second over four
// runs, one interval apart, first's ahead in the even runs, and wants the
// verdict want alone from the second run on.
func (r *fleetRig) alternatingRuns(t *testing.T, first, second, want string) {
	t.Helper()
	for run := range 4 {
		order := []string{first, second}
		if run%2 == 1 {
			order = []string{second, first}
		}
		if verdicts := r.deliverRun(t, run, order...); run > 0 && fmt.Sprint(verdicts) != "["+want+"]" {
			t.Errorf("run %d (%s first): verdicts = %v, want %s alone", run, order[0], verdicts, want)
		}
		r.advance(r.h.cfg.ScheduleInterval)
	}
}

// wantOwnerDrops checks that the warnings of a dropped message name used
// and notUsed, n of them.
func (r *fleetRig) wantOwnerDrops(t *testing.T, n int, used, notUsed string) {
	t.Helper()
	lines := r.logs.lines(t, "queued portal dropped: "+msgTwoSecrets)
	if len(lines) != n {
		t.Errorf("%d drop warning(s), want %d: %v", len(lines), n, lines)
	}
	for _, l := range lines {
		if l["used"] != used || l["notUsed"] != notUsed || l["level"] != "WARN" {
			t.Errorf("drop warning = %v, want it naming %s used and %s not", l, used, notUsed)
		}
	}
}

// TestFleetUntaggedPairOneOwner is the seesaw the portal tag cannot stop:
// two secrets without it, bound to one portal, one with a revoked key,
// both queued every run and delivered one at a time in either order.
// From the second run on only the secret whose ARN sorts first (the
// good one) checks the portal, whatever the order, the other's message is
// dropped with a warning naming both, and no notice goes out: no alert
// and resolved in turn.
func TestFleetUntaggedPairOneOwner(t *testing.T) {
	for _, revokedFirst := range []bool{true, false} {
		t.Run(fmt.Sprintf("revoked delivered first in the first run: %v", revokedFirst), func(t *testing.T) {
			r := newFleetRig(t)
			r.setClock(time.Now().UTC())
			good, revoked := r.ownedPair(t, "healthy-owned")
			drops := 0
			for run := range 6 {
				order := []string{good, revoked}
				if (run%2 == 0) == revokedFirst {
					order = []string{revoked, good}
				}
				verdicts := r.deliverRun(t, run, order...)
				if len(verdicts) == 1 {
					drops++
				}
				if run > 0 && fmt.Sprint(verdicts) != "[healthy-owned:healthy]" {
					t.Errorf("run %d (%s first): verdicts = %v, want the good secret's alone", run, order[0], verdicts)
				}
				switch {
				case run == 0 && revokedFirst:
					// The first run counts the first message it checks.
					r.wantAlerts(t, "alert:permission_denied")
				case run == 1 && revokedFirst:
					r.wantAlerts(t, "resolved:permission_denied")
				default:
					r.wantAlerts(t)
				}
				r.advance(r.h.cfg.ScheduleInterval)
			}
			r.wantOwnerDrops(t, drops, good, revoked)
			if drops < 5 {
				t.Errorf("%d run(s) checked the portal once, want at least 5 of 6", drops)
			}
			r.checkNoLeak(t)
		})
	}
}

// TestFleetOwnerHandsOver: the secret that owns the portal is removed
// from the registry; the other secret's next message takes the portal
// over and checks it, and so do the runs after.
func TestFleetOwnerHandsOver(t *testing.T) {
	r := newFleetRig(t)
	r.setClock(time.Now().UTC())
	good, revoked := r.ownedPair(t, "healthy-handover")
	for run := range 2 {
		verdicts := r.deliverRun(t, run, good, revoked)
		if fmt.Sprint(verdicts) != "[healthy-handover:healthy]" {
			t.Errorf("run %d: verdicts = %v, want the good secret's alone", run, verdicts)
		}
		r.advance(r.h.cfg.ScheduleInterval)
	}
	r.wantOwnerDrops(t, 2, good, revoked)
	if _, err := r.sm.DeleteSecret(context.Background(), &secretsmanager.DeleteSecretInput{SecretId: aws.String(good), ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	for run := 2; run < 4; run++ {
		verdicts := r.deliverRun(t, run, revoked)
		if fmt.Sprint(verdicts) != "[healthy-handover:permission_denied]" {
			t.Errorf("run %d: verdicts = %v, want the remaining secret's", run, verdicts)
		}
		r.advance(r.h.cfg.ScheduleInterval)
	}
	lines := r.logs.lines(t, "portal owner no longer registered: this entry takes the portal over")
	if len(lines) != 1 || lines[0]["owner"] != good || lines[0]["secretId"] != revoked {
		t.Errorf("hand-over lines = %v, want one from %s to %s", lines, good, revoked)
	}
	r.wantOwnerDrops(t, 2, good, revoked)
}

// TestFleetOwnerRebound: the owner's key is bound to another portal now
// (still registered, it no longer checks this one); the other secret's
// message reads the owner's key and takes the portal over at once, so the
// portal left is checked from the first run after the rebinding, and no
// drop names an owner bound elsewhere.
func TestFleetOwnerRebound(t *testing.T) {
	r := newFleetRig(t)
	r.setClock(time.Now().UTC())
	good, revoked := r.ownedPair(t, "healthy-left")
	for _, id := range []string{good, revoked} {
		r.deliver(t, id, fleet.Run{ID: "run-0", At: r.clock()})
	}
	value, _ := json.Marshal(map[string]string{"portalUrl": r.tlsURL + "/p/healthy-moved", "apiKey": faultKey})
	if _, err := r.sm.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{SecretId: aws.String(good), SecretString: aws.String(string(value))}); err != nil {
		t.Fatal(err)
	}
	r.h.keys = secrets.NewStore(r.sm, r.h.cfg.SecretKeyField, 0) // no cached key
	var got []string
	for run := 1; run <= 4; run++ {
		r.advance(r.h.cfg.ScheduleInterval)
		verdicts := r.deliverRun(t, run, good, revoked)
		got = append(got, fmt.Sprint(verdicts))
	}
	want := slices.Repeat([]string{"[healthy-moved:healthy healthy-left:permission_denied]"}, 4)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("verdicts by run = %v, want %v", got, want)
	}
	r.wantOwnerDrops(t, 1, good, revoked) // run 0's, before the rebinding
	lines := r.logs.lines(t, "portal owner is bound to another portal now: this entry takes the portal over")
	if len(lines) != 1 || lines[0]["owner"] != good || lines[0]["secretId"] != revoked {
		t.Errorf("hand-over lines = %v, want one from %s to %s", lines, good, revoked)
	}
}

// TestFleetUntaggedPairOverlapping: the two secrets' messages reach two
// consumers at once, every run; moto is behind the serializing proxy.
// From the second run on the portal is checked once a run, with the good
// secret, and the notices are at most the first run's alert and its
// resolve.
func TestFleetUntaggedPairOverlapping(t *testing.T) {
	r := newFleetRigAt(t, motoserver.StartSerialized(t))
	r.setClock(time.Now().UTC())
	good, revoked := r.ownedPair(t, "healthy-overlap")
	for run := range 5 {
		var (
			mu       sync.Mutex
			verdicts []string
			wg       sync.WaitGroup
		)
		start := make(chan struct{})
		for _, id := range []string{revoked, good} {
			wg.Go(func() {
				<-start
				v := r.deliverRun(t, run, id)
				mu.Lock()
				verdicts = append(verdicts, v...)
				mu.Unlock()
			})
		}
		close(start)
		wg.Wait()
		if run > 0 && fmt.Sprint(verdicts) != "[healthy-overlap:healthy]" {
			t.Errorf("run %d: verdicts = %v, want the good secret's alone", run, verdicts)
		}
		r.advance(r.h.cfg.ScheduleInterval)
	}
	// The first run counted whichever check came first: the revoked key's
	// alert and its resolve in the second run, or nothing; never more.
	got := r.alerts(t, 0)
	for limit := time.Now().Add(30 * time.Second); len(got)%2 == 1 && time.Now().Before(limit); {
		got = append(got, r.alerts(t, time.Second)...)
	}
	var kinds []string
	for _, a := range got {
		kinds = append(kinds, a.Attributes["kind"]+":"+a.Attributes["reason"])
	}
	slices.Sort(kinds)
	if k := fmt.Sprint(kinds); k != "[]" && k != "[alert:permission_denied resolved:permission_denied]" {
		t.Errorf("notices = %s, want none, or one alert and its resolve", k)
	}
}

// TestFleetUndescribedParametersOneOwner: two parameters without the
// description portals add writes, bound to one portal, one with a revoked
// key, delivered in either order: from the second run on only the one
// whose ARN sorts first checks the portal.
func TestFleetUndescribedParametersOneOwner(t *testing.T) {
	r := newFleetRig(t)
	r.setClock(time.Now().UTC())
	path := r.useParameters(t)
	r.secretValues = append(r.secretValues, otherKey)
	client := ssm.NewFromConfig(r.aws)
	put := func(name, key string) string {
		t.Helper()
		value, _ := json.Marshal(map[string]string{"portalUrl": r.tlsURL + "/p/healthy-param", "apiKey": key})
		if _, err := client.PutParameter(context.Background(), &ssm.PutParameterInput{Name: aws.String(path + "/" + name), Type: ssmtypes.ParameterTypeSecureString, Value: aws.String(string(value))}); err != nil {
			t.Fatal(err)
		}
		out, err := client.GetParameter(context.Background(), &ssm.GetParameterInput{Name: aws.String(path + "/" + name)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.Parameter.ARN)
	}
	good, revoked := put("a-good", faultKey), put("z-revoked", otherKey)
	r.alternatingRuns(t, revoked, good, "healthy-param:healthy")
	r.wantOwnerDrops(t, 3, good, revoked)
}

// ownerItems counts the "#owner" items in the rig's alert state table.
func (r *fleetRig) ownerItems(t *testing.T) int {
	t.Helper()
	out, err := dynamodb.NewFromConfig(r.aws).Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(r.stack.StateTable)})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, it := range out.Items {
		if v, ok := it[alertstate.ReasonKey].(*dbtypes.AttributeValueMemberS); ok && v.Value == alertstate.OwnerItem {
			n++
		}
	}
	return n
}

// TestFleetMixedPairOneOwner: of two secrets bound to one portal, the one
// that sorts first carries the portal tag and the other does not, so the
// dispatcher queues both. While an entry without a portal is registered,
// every queued entry claims its portal: from the second run on only the
// tagged one checks it. With every entry tagged, each message still
// claims its portal (a consumer's listing may differ from the
// dispatcher's): one owner item a portal.
func TestFleetMixedPairOneOwner(t *testing.T) {
	r := newFleetRig(t)
	r.setClock(time.Now().UTC())
	r.secretValues = append(r.secretValues, otherKey)
	good := r.registerFor(t, "a-good", "healthy-mixed", true)
	revoked, err := localrun.RegisterPortal(context.Background(), r.aws, r.tag.Value+"/z-revoked", r.tlsURL+"/p/healthy-mixed", otherKey, r.tag.Key, r.tag.Value)
	if err != nil {
		t.Fatal(err)
	}
	r.alternatingRuns(t, revoked, good, "healthy-mixed:healthy")
	r.wantOwnerDrops(t, 3, good, revoked)

	// Every entry tagged: each message claims its own portal.
	s := newFleetRig(t)
	s.setClock(time.Now().UTC())
	for _, name := range []string{"healthy-t1", "healthy-t2"} {
		s.deliver(t, s.registerFor(t, name, name, true), fleet.Run{ID: "run-0", At: s.clock()})
	}
	if n := s.ownerItems(t); n != 2 {
		t.Errorf("%d owner item(s) written with every entry tagged, want 2 (one a portal)", n)
	}
	if n := r.ownerItems(t); n != 1 {
		t.Errorf("%d owner item(s) for the pair, want 1", n)
	}
}

// TestFleetPortalURLUntaggedOneOwner: a secret without the portal tag is
// registered for the PORTAL_URL portal, and sorts before SECRET_ID (whose
// key is revoked); both are queued. From the second run on only the
// registered secret checks the portal, in either order, and the dropped
// PORTAL_URL message says so naming both.
func TestFleetPortalURLUntaggedOneOwner(t *testing.T) {
	r := newFleetRig(t)
	r.setClock(time.Now().UTC())
	r.secretValues = append(r.secretValues, otherKey)
	ctx := context.Background()
	home := r.useHome(t, "zz", otherKey)
	good, err := localrun.RegisterPortal(ctx, r.aws, r.tag.Value+"/a-home", r.h.cfg.PortalURL, faultKey, r.tag.Key, r.tag.Value)
	if err != nil {
		t.Fatal(err)
	}
	if good >= home {
		t.Fatalf("ARN %s sorts after %s: the test needs it first", good, home)
	}
	r.alternatingRuns(t, home, good, "healthy-home:healthy")
	lines := r.logs.lines(t, "queued portal dropped: "+msgPortalURLRegistered)
	if len(lines) != 3 {
		t.Errorf("%d drop warning(s), want 3: %v", len(lines), lines)
	}
	for _, l := range lines {
		if l["used"] != good || l["notUsed"] != home {
			t.Errorf("drop warning = %v, want it naming %s used and %s not", l, good, home)
		}
	}
}

// TestFleetPortalURLMovedOwner: SECRET_ID owns the PORTAL_URL portal,
// also registered with an entry that sorts after it; the stack's PortalUrl
// (and SECRET_ID's binding) then move to another portal. From the first
// run after the move the registered entry's message takes the portal
// left over and checks it.
func TestFleetPortalURLMovedOwner(t *testing.T) {
	r := newFleetRig(t)
	r.setClock(time.Now().UTC())
	home := r.useHome(t, "a", faultKey)
	entry := r.registerFor(t, "z-home", "healthy-home", true)
	if home >= entry {
		t.Fatalf("ARN %s sorts after %s: the test needs it first", home, entry)
	}
	var got []string
	for run := range 2 {
		if run == 1 {
			r.h.cfg.PortalURL = r.tlsURL + "/p/healthy-moved"
			value, _ := json.Marshal(map[string]string{"portalUrl": r.h.cfg.PortalURL, "apiKey": faultKey})
			if _, err := r.sm.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{SecretId: aws.String(home), SecretString: aws.String(string(value))}); err != nil {
				t.Fatal(err)
			}
			r.h.keys = secrets.NewStore(r.sm, r.h.cfg.SecretKeyField, 0) // no cached key
		}
		verdicts := r.deliverRun(t, run, home, entry)
		got = append(got, fmt.Sprint(verdicts))
		r.advance(r.h.cfg.ScheduleInterval)
	}
	want := []string{"[healthy-home:healthy]", "[healthy-moved:healthy healthy-home:healthy]"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("verdicts by run = %v, want %v", got, want)
	}
}
