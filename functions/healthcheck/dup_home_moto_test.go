package main

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/internal/localrun"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/registry"
)

// TestFleetHomeBoundElsewhereLeavesNoPortalOut: SECRET_ID, whose ARN
// sorts first, holds a key bound to another portal than PORTAL_URL (the
// stack's PortalUrl moved, the secret still names the old portal), and a
// registered secret is tagged and bound to PORTAL_URL's portal. The
// dispatcher reads SECRET_ID's key before leaving the registered one out,
// so it queues it, and the portal gets a verdict from it.
func TestFleetHomeBoundElsewhereLeavesNoPortalOut(t *testing.T) {
	r := newFleetRig(t)
	r.setClock(time.Now().UTC())
	r.h.cfg.PortalURL = r.tlsURL + "/p/healthy-home"
	home, err := localrun.RegisterPortal(context.Background(), r.aws, fmt.Sprintf("a-home-%d", stackSeq.Add(1)), r.tlsURL+"/p/healthy-old", faultKey, "", "")
	if err != nil {
		t.Fatal(err)
	}
	r.h.cfg.SecretID = home
	entry := r.registerFor(t, "z-home", "healthy-home", true)
	if home >= entry {
		t.Fatalf("ARN %s sorts after %s: the test needs SECRET_ID first", home, entry)
	}
	r.register(t, "healthy-other0", "", r.tag.Value)
	r.register(t, "healthy-other1", "", r.tag.Value)
	out, err := r.run(t, context.Background(), []byte(`{"source":"schedule"}`))
	if err != nil || out.Dispatched == nil {
		t.Fatalf("Handle(schedule) = %+v, %v; want the portals queued", out, err)
	}
	c := r.consume(t)
	if c.verdicts["healthy-home:healthy"] != 1 {
		t.Errorf("verdicts = %v, failed %v; want healthy-home checked once, with %s", c.verdicts, c.failed, entry)
	}
}

// refreshFails is a registry whose listing past its cache fails.
type refreshFails struct{ portalLister }

func (refreshFails) Refresh(context.Context) ([]registry.Entry, error) {
	return nil, errors.New("listing throttled")
}

// TestFleetFailedRefreshQueuesEveryEntry: two secrets are tagged and
// bound to one portal, and the registry cannot be listed again past its
// cache (the one that sorts first may have been removed since): the
// dispatcher leaves neither out, and the consumers' owner claim settles
// which checks the portal.
func TestFleetFailedRefreshQueuesEveryEntry(t *testing.T) {
	r := newFleetRig(t)
	r.setClock(time.Now().UTC())
	first := r.registerFor(t, "a-first", "healthy-p", true)
	second := r.registerFor(t, "z-second", "healthy-p", true)
	r.register(t, "healthy-other0", "", r.tag.Value)
	r.register(t, "healthy-other1", "", r.tag.Value)
	r.h.registry = refreshFails{r.h.registry}
	out, err := r.run(t, context.Background(), []byte(`{"source":"schedule"}`))
	if err != nil || out.Dispatched == nil {
		t.Fatalf("Handle(schedule) = %+v, %v; want the portals queued", out, err)
	}
	count := map[string]int{}
	for _, j := range r.queuedJobs(t) {
		count[j.SecretID]++
	}
	if count[first] != 1 || count[second] != 1 {
		t.Errorf("queued %d message(s) for %s and %d for %s, want 1 each", count[first], first, count[second], second)
	}
	if lines := r.logs.lines(t, msgTwoSecrets); len(lines) != 0 {
		t.Errorf("two-secrets warnings = %v, want none: no entry is left out", lines)
	}
}
