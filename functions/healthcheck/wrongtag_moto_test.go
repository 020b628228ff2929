package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/docspace-backup-watch/docspace-backup-watch/internal/localrun"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/fleet"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/registry"
)

// TestWrongPortalTagSilencesNoPortal: a secret tagged for portal a but
// bound to portal b (a wrong or stale tag; anyone who may tag a secret
// can write one), its ARN sorting before the secret really bound to a.
// Neither a direct run nor a run that queues its portals leaves a out on
// the tag's word: both portals get a verdict, and a warning names the
// secret, the tagged portal and the one its key is bound to.
func TestWrongPortalTagSilencesNoPortal(t *testing.T) {
	for _, fleetRun := range []bool{false, true} {
		t.Run(fmt.Sprintf("queued %v", fleetRun), func(t *testing.T) {
			r := newFleetRig(t)
			r.setClock(time.Now().UTC())
			wrong := r.registerTagged(t, "a-wrong", "healthy-b", "healthy-a")
			good := r.registerFor(t, "z-good", "healthy-a", true)
			if wrong >= good {
				t.Fatalf("ARN %s sorts after %s: the test needs it first", wrong, good)
			}
			if fleetRun {
				// Over DISPATCH_ABOVE even with one secret left out.
				r.register(t, "healthy-other0", "", r.tag.Value)
				r.register(t, "healthy-other1", "", r.tag.Value)
			}
			out, err := r.run(t, context.Background(), []byte(`{"source":"schedule"}`))
			if err != nil || (out.Dispatched != nil) != fleetRun {
				t.Fatalf("Handle(schedule) = %+v, %v; want queued %v", out, err, fleetRun)
			}
			verdicts := verdictNames(out)
			if fleetRun {
				if out.Dispatched.Messages != 5 {
					t.Errorf("Dispatched = %+v, want 5 messages (PORTAL_URL, both secrets, the others)", *out.Dispatched)
				}
				c := r.consume(t)
				verdicts = nil
				for v, n := range c.verdicts {
					for range n {
						verdicts = append(verdicts, v)
					}
				}
			}
			for _, want := range []string{"healthy-a:healthy", "healthy-b:healthy"} {
				if n := strings.Count(fmt.Sprint(verdicts), want); n != 1 {
					t.Errorf("verdicts = %v, want %s once", verdicts, want)
				}
			}
			lines := r.logs.lines(t, msgStaleTag)
			if len(lines) == 0 {
				t.Fatalf("no stale tag warning, want one naming %s", wrong)
			}
			for _, l := range lines {
				if l["secretId"] != wrong || !strings.HasSuffix(fmt.Sprint(l["tagged"]), "/p/healthy-a") || !strings.HasSuffix(fmt.Sprint(l["portal"]), "/p/healthy-b") || l["level"] != "WARN" {
					t.Errorf("stale tag warning = %v, want it naming %s, tagged healthy-a, bound to healthy-b", l, wrong)
				}
			}
			if lines := r.logs.lines(t, msgTwoSecrets); len(lines) != 0 {
				t.Errorf("two-secrets warnings = %v, want none: the two secrets are bound to two portals", lines)
			}
		})
	}
}

// cachedRegistry is the rig's registry as a warm function holds it: a
// listing made now, reused for an hour.
func (r *fleetRig) cachedRegistry(t *testing.T) *registry.Registry {
	t.Helper()
	reg, err := registry.New(r.sm, r.tag, registry.WithTTL(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Portals(context.Background()); err != nil {
		t.Fatal(err)
	}
	return reg
}

// TestFleetStaleConsumerListingDropsNoPortal: a consumer's listing of the
// registry is cached for up to its TTL, so it may be older than the
// dispatcher's. Two secrets were tagged and bound to one portal, the one
// that sorts first owning it; the user removes that one, and a dispatcher
// with a fresh listing queues the other alone: the consumer whose
// listing still shows both checks it. A secret registered after the
// consumer listed is checked too, not dropped as removed.
func TestFleetStaleConsumerListingDropsNoPortal(t *testing.T) {
	r := newFleetRig(t)
	r.setClock(time.Now().UTC())
	ctx := context.Background()
	first := r.registerFor(t, "a-first", "healthy-p", true)
	second := r.registerFor(t, "z-second", "healthy-p", true)
	r.h.registry = r.cachedRegistry(t)
	if got := r.deliver(t, first, fleet.Run{ID: "run-0", At: r.clock()}); fmt.Sprint(got) != "[healthy-p:healthy]" {
		t.Fatalf("run 0: verdicts = %v, want healthy-p checked", got)
	}
	if _, err := r.sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(first), ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	r.advance(r.h.cfg.ScheduleInterval)
	if got := r.deliver(t, second, fleet.Run{ID: "run-1", At: r.clock()}); fmt.Sprint(got) != "[healthy-p:healthy]" {
		t.Errorf("run 1, the removed owner still in the consumer's listing: verdicts = %v, want healthy-p checked with %s", got, second)
	}

	r.h.registry = r.cachedRegistry(t)
	fresh := r.registerFor(t, "m-fresh", "healthy-fresh", true)
	if got := r.deliver(t, fresh, fleet.Run{ID: "run-1", At: r.clock()}); fmt.Sprint(got) != "[healthy-fresh:healthy]" {
		t.Errorf("a secret registered after the consumer listed: verdicts = %v, want healthy-fresh checked", got)
	}
	if lines := r.logs.lines(t, "queued portal dropped"); len(lines) != 0 {
		t.Errorf("drop warnings = %v, want none", lines)
	}
}

// useHome makes the rig's PORTAL_URL its TLS portal playing healthy-home,
// with SECRET_ID a new secret named to sort by prefix, holding key; it
// returns SECRET_ID.
func (r *fleetRig) useHome(t *testing.T, prefix, key string) string {
	t.Helper()
	r.h.cfg.PortalURL = r.tlsURL + "/p/healthy-home"
	home, err := localrun.RegisterPortal(context.Background(), r.aws, fmt.Sprintf("%s-home-%d", prefix, stackSeq.Add(1)), r.h.cfg.PortalURL, key, "", "")
	if err != nil {
		t.Fatal(err)
	}
	r.h.cfg.SecretID = home
	return home
}

// TestFleetInputListingPortalURLChecksIt: a schedule whose input lists
// the PORTAL_URL portal among more portals than DISPATCH_ABOVE queues
// them; the PORTAL_URL portal is also registered, with an entry whose
// ARN sorts before SECRET_ID, which this run never queued. The consumer
// checks the PORTAL_URL portal: it is not dropped for the registered
// entry.
func TestFleetInputListingPortalURLChecksIt(t *testing.T) {
	r := newFleetRig(t)
	r.setClock(time.Now().UTC())
	ctx := context.Background()
	home := r.useHome(t, "zz", faultKey)
	if entry := r.registerFor(t, "home", "healthy-home", true); entry >= home {
		t.Fatalf("ARN %s sorts after %s: the test needs it first", entry, home)
	}
	input := map[string][]map[string]string{"portals": {{"portalUrl": r.h.cfg.PortalURL}}}
	for i := range 3 {
		input["portals"] = append(input["portals"], map[string]string{"secretId": r.register(t, fmt.Sprintf("healthy-listed%d", i), "", "")})
	}
	raw, _ := json.Marshal(input)
	out, err := r.run(t, ctx, raw)
	if err != nil || out.Dispatched == nil || out.Dispatched.Messages != 4 {
		t.Fatalf("Handle(%s) = %+v, %v; want 4 portals queued", raw, out, err)
	}
	c := r.consume(t)
	var got []string
	for v := range c.verdicts {
		got = append(got, v)
	}
	slices.Sort(got)
	if c.verdicts["healthy-home:healthy"] != 1 || len(c.failed) != 0 {
		t.Errorf("verdicts = %v, failed %v; want healthy-home checked once, no failure", got, c.failed)
	}
}

// TestFleetStaleDispatcherListingDropsNoPortal: two secrets are tagged
// and bound to one portal; the user removes the one that sorts first
// while a warm dispatcher's listing (and key cache) still shows it. The
// dispatcher lists again before leaving the other out, so it queues the
// other too, and a consumer (its own, fresh listing) checks the portal
// with it: the removed secret's message alone is dropped.
func TestFleetStaleDispatcherListingDropsNoPortal(t *testing.T) {
	r := newFleetRig(t)
	r.setClock(time.Now().UTC())
	ctx := context.Background()
	first := r.registerFor(t, "a-first", "healthy-p", true)
	second := r.registerFor(t, "z-second", "healthy-p", true)
	for i := range 2 {
		r.register(t, fmt.Sprintf("healthy-other%d", i), "", r.tag.Value)
	}
	reg := r.cachedRegistry(t)
	if _, err := r.h.keys.Binding(ctx, first); err != nil {
		t.Fatal(err)
	}
	fresh := r.h.registry
	r.h.registry = reg
	if _, err := r.sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(first), ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	r.dispatchRunOnly(t)
	r.h.registry = fresh // the consumer: another instance
	c := r.consume(t)
	if c.verdicts["healthy-p:healthy"] != 1 || len(c.failed) != 0 {
		t.Errorf("verdicts = %v, failed %v; want healthy-p checked once (with %s), no failure", c.verdicts, c.failed, second)
	}
}

// TestFleetWrongTagOnSecondEntry: an entry tagged (a parameter:
// described) for portal a but bound to portal b, its ARN sorting after
// the entry really bound to a: a secret, a parameter, or SECRET_ID kept
// for the PORTAL_URL portal. The dispatcher reads the key of the entry it
// would leave out too, so it queues it: both portals get a verdict, a
// warning names the wrongly tagged entry, and none says two entries are
// bound to one portal.
func TestFleetWrongTagOnSecondEntry(t *testing.T) {
	for _, kind := range []string{"secret", "parameter", "SECRET_ID kept"} {
		t.Run(kind, func(t *testing.T) {
			r := newFleetRig(t)
			r.setClock(time.Now().UTC())
			a := "healthy-a"
			var good, wrong string
			switch kind {
			case "secret":
				good = r.registerFor(t, "a-good", a, true)
				wrong = r.registerTagged(t, "z-wrong", "healthy-b", a)
			case "parameter":
				path := r.useParameters(t)
				good = r.registerParameterFor(t, path, "a-good", a)
				wrong = r.registerParameterDescribed(t, path, "z-wrong", "healthy-b", a)
			case "SECRET_ID kept":
				a = "healthy-home"
				good = r.useHome(t, "a", faultKey)
				wrong = r.registerTagged(t, "z-wrong", "healthy-b", a)
			}
			if good >= wrong {
				t.Fatalf("ARN %s sorts after %s: the test needs it first", good, wrong)
			}
			// Over DISPATCH_ABOVE even with one entry left out.
			r.register(t, "healthy-other0", "", r.tag.Value)
			r.register(t, "healthy-other1", "", r.tag.Value)
			out, err := r.run(t, context.Background(), []byte(`{"source":"schedule"}`))
			if err != nil || out.Dispatched == nil {
				t.Fatalf("Handle(schedule) = %+v, %v; want the portals queued", out, err)
			}
			c := r.consume(t)
			for _, want := range []string{a + ":healthy", "healthy-b:healthy"} {
				if c.verdicts[want] != 1 {
					t.Errorf("verdicts = %v, failed %v; want %s once", c.verdicts, c.failed, want)
				}
			}
			lines := r.logs.lines(t, msgStaleTag)
			if len(lines) == 0 {
				t.Fatalf("no stale tag warning, want one naming %s", wrong)
			}
			for _, l := range lines {
				if l["secretId"] != wrong || !strings.HasSuffix(fmt.Sprint(l["tagged"]), "/p/"+a) || !strings.HasSuffix(fmt.Sprint(l["portal"]), "/p/healthy-b") || l["level"] != "WARN" {
					t.Errorf("stale tag warning = %v, want it naming %s, tagged %s, bound to healthy-b", l, wrong, a)
				}
			}
			for _, msg := range []string{msgTwoSecrets, msgPortalURLRegistered} {
				if lines := r.logs.lines(t, msg); len(lines) != 0 {
					t.Errorf("warnings %q = %v, want none: the entries are bound to two portals", msg, lines)
				}
			}
		})
	}
}
