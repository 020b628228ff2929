package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/docspace-backup-watch/docspace-backup-watch/internal/localrun"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/registry"
)

// splitPair registers two secrets bound to the rig's portal playing
// portal, with its portal tag when tagged: good (faultKey), whose ARN
// sorts first, and revoked (otherKey), whose checks fail.
func (r *fleetRig) splitPair(t *testing.T, portal string, tagged bool) (good, revoked string) {
	t.Helper()
	r.secretValues = append(r.secretValues, otherKey)
	ctx := context.Background()
	tagKey := ""
	if tagged {
		tagKey = registry.PortalTagKey
	}
	u, err := docspace.ValidateBaseURL(r.tlsURL+"/p/"+portal, true)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 2)
	for i, key := range []string{faultKey, otherKey} {
		ids[i], err = localrun.RegisterPortal(ctx, r.aws, r.tag.Value+"/"+[]string{"a-good", "z-revoked"}[i], r.tlsURL+"/p/"+portal, key, r.tag.Key, r.tag.Value)
		if err != nil {
			t.Fatal(err)
		}
		if tagKey != "" {
			tag := smtypes.Tag{Key: aws.String(tagKey), Value: aws.String(registry.PortalTagValue(docspace.PortalName(u)))}
			if _, err := r.sm.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: aws.String(ids[i]), Tags: []smtypes.Tag{tag}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if ids[0] >= ids[1] {
		t.Fatalf("ARN %s sorts after %s: the test needs it first", ids[0], ids[1])
	}
	return ids[0], ids[1]
}

// oneAtATime gives the rig's direct runs room for one portal: one wave
// of PORTAL_TIMEOUT, one check at a time.
func (r *fleetRig) oneAtATime() {
	r.h.cfg.PortalTimeout, r.h.cfg.MaxConcurrency, r.h.cfg.DispatchAbove = 2*time.Second, 1, 50
	r.h.reserveFor = oneWave
}

// scheduledRun runs the schedule with a deadline (so that the run takes
// only what fits) and returns its output and error.
func (r *fleetRig) scheduledRun(t *testing.T) (output, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return r.run(t, ctx, []byte(`{"source":"schedule"}`))
}

// TestDirectSplitKeepsDuplicatesTogether: a run without a check queue
// that has room for one portal a run, over three portals: PORTAL_URL's,
// p (two secrets tagged and bound to it, the one that sorts last with a
// revoked key) and q. The run leaves the second entry of p out before it
// splits the portals, so p is checked with the good key whenever it is
// checked, each run counts two portals not checked (never p through one
// entry while the other checked it), and the order turns so that p is
// checked within three runs.
func TestDirectSplitKeepsDuplicatesTogether(t *testing.T) {
	r := newFleetRig(t)
	r.h.dispatcher = nil
	r.oneAtATime()
	r.setClock(time.Now().UTC())
	good, _ := r.splitPair(t, "healthy-p", true)
	r.register(t, "healthy-q", "", r.tag.Value)
	checkedP := 0
	for run := range 4 {
		out, err := r.scheduledRun(t)
		if !errors.Is(err, errNotChecked) {
			t.Errorf("run %d: Handle() error = %v, want errNotChecked", run, err)
		}
		names := verdictNames(out)
		if len(names) != 1 || out.Skipped != 2 {
			t.Errorf("run %d: verdicts %v, %d skipped %v; want 1 checked and 2 not", run, names, out.Skipped, out.SkippedPortals)
		}
		for _, n := range names {
			if strings.HasPrefix(n, "healthy-p:") {
				checkedP++
				if n != "healthy-p:healthy" {
					t.Errorf("run %d: verdict %s, want healthy-p checked with %s", run, n, good)
				}
			}
		}
		r.advance(r.h.cfg.ScheduleInterval)
	}
	if checkedP == 0 {
		t.Error("healthy-p not checked in 4 runs")
	}
}

// TestDirectSplitUntaggedOneOwner: a run with a check queue that has room
// for one portal, over PORTAL_URL's and two secrets bound to p without
// its portal tag (the one that sorts last with a revoked key), so that
// they may fall on either side of the split. The entry checked directly
// claims p's owner as a queued one does, so from the second run on p is
// checked once a run, with the good key.
func TestDirectSplitUntaggedOneOwner(t *testing.T) {
	r := newFleetRig(t)
	r.oneAtATime()
	r.setClock(time.Now().UTC())
	good, _ := r.splitPair(t, "healthy-p", false)
	for run := range 4 {
		out, err := r.scheduledRun(t)
		if err != nil || out.Dispatched == nil || out.Skipped != 0 {
			t.Fatalf("run %d: Handle() = %+v, %v; want the rest queued", run, out, err)
		}
		verdicts, _ := r.consumeEach(t)
		var p []string
		for _, v := range append(verdictNames(out), verdicts...) {
			if strings.HasPrefix(v, "healthy-p:") {
				p = append(p, v)
			}
		}
		if run > 0 && fmt.Sprint(p) != "[healthy-p:healthy]" {
			t.Errorf("run %d: healthy-p verdicts %v, want it checked once, with %s", run, p, good)
		}
		r.advance(r.h.cfg.ScheduleInterval)
	}
}

// TestDirectSplitUntaggedNoQueue is TestDirectSplitUntaggedOneOwner
// without a check queue: each run checks one of the three entries, and
// once the good one has claimed p, the revoked one that falls in a run's
// window no longer checks it (p waits for the good one, counted as not
// checked meanwhile).
func TestDirectSplitUntaggedNoQueue(t *testing.T) {
	r := newFleetRig(t)
	r.h.dispatcher = nil
	r.oneAtATime()
	r.setClock(time.Now().UTC())
	r.splitPair(t, "healthy-p", false)
	claimed := false
	for run := range 4 {
		out, err := r.scheduledRun(t)
		if !errors.Is(err, errNotChecked) || out.Skipped != 2 {
			t.Errorf("run %d: Handle() = %d skipped, %v; want 2 not checked, errNotChecked", run, out.Skipped, err)
		}
		for _, v := range verdictNames(out) {
			if claimed && v == "healthy-p:permission_denied" {
				t.Errorf("run %d: healthy-p checked with the revoked key after the good one had claimed it", run)
			}
			claimed = claimed || v == "healthy-p:healthy"
		}
		r.advance(r.h.cfg.ScheduleInterval)
	}
	if !claimed {
		t.Error("healthy-p not checked with the good key in 4 runs")
	}
}

// TestDirectSplitOwnerOutlastsTheRotation: without a check queue, a run
// over six portals with room for one reaches each portal once in six runs,
// longer than the owner's usual lease of three intervals. The two entries
// of p are registered with three portals between them, so the revoked
// entry's turn comes four runs after the good one's: the good entry's
// claim must last until its turn comes again, or the revoked entry takes
// the portal between two of the good one's turns (a slow alert/resolved
// swing).
func TestDirectSplitOwnerOutlastsTheRotation(t *testing.T) {
	r := newFleetRig(t)
	r.h.dispatcher = nil
	r.oneAtATime()
	r.setClock(time.Now().UTC())
	r.secretValues = append(r.secretValues, otherKey)
	ctx := context.Background()
	register := func(name, key string) string {
		arn, err := localrun.RegisterPortal(ctx, r.aws, r.tag.Value+"/"+name, r.tlsURL+"/p/healthy-p", key, r.tag.Key, r.tag.Value)
		if err != nil {
			t.Fatal(err)
		}
		return arn
	}
	good := register("a-good", faultKey)
	for i := range 3 {
		r.register(t, fmt.Sprintf("healthy-r%d", i), "", r.tag.Value)
	}
	if revoked := register("z-revoked", otherKey); good >= revoked {
		t.Fatalf("ARN %s sorts after %s: the test needs it first", good, revoked)
	}
	claimed, checked := false, 0
	for run := range 13 {
		out, err := r.scheduledRun(t)
		if !errors.Is(err, errNotChecked) || out.Skipped != 5 {
			t.Errorf("run %d: Handle() = %d skipped, %v; want 5 not checked, errNotChecked", run, out.Skipped, err)
		}
		for _, v := range verdictNames(out) {
			if claimed && v == "healthy-p:permission_denied" {
				t.Errorf("run %d: healthy-p checked with the revoked key after the good one had claimed it", run)
			}
			if v == "healthy-p:healthy" {
				claimed = true
				checked++
			}
		}
		r.advance(r.h.cfg.ScheduleInterval)
	}
	if checked < 2 {
		t.Errorf("healthy-p checked with the good key %d time(s) in 13 runs, want once a rotation", checked)
	}
}
