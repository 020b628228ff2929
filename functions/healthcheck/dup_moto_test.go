package main

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/internal/localrun"
	"github.com/docspace-backup-watch/docspace-backup-watch/internal/motoserver"
)

// TestTwoSecretsOnePortalPickOne is the review's seesaw: two secrets bound
// to one portal, one with a revoked key. Every run checks the portal once,
// with the secret whose ARN sorts first (here the good one, listed second
// and checked second at MAX_CONCURRENCY 1), says so naming both, and sends
// nothing: no alert and resolved in turn.
func TestTwoSecretsOnePortalPickOne(t *testing.T) {
	r := newFaultRig(t, motoserver.Start(t), map[string]string{"MAX_CONCURRENCY": "1"})
	r.useState(t, nil, "")
	r.setClock(time.Now().UTC())
	ctx := context.Background()
	const revokedKey = "sk-revoked-key-0000000000000000000000"
	r.secretValues = append(r.secretValues, revokedKey)
	portal := r.url + "/p/healthy-twice"
	name := fmt.Sprintf("dup-%d", stackSeq.Add(1))
	good, err := localrun.RegisterPortal(ctx, r.aws, name+"/a", portal, faultKey, "", "")
	if err != nil {
		t.Fatal(err)
	}
	revoked, err := localrun.RegisterPortal(ctx, r.aws, name+"/b", portal, revokedKey, "", "")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(map[string][]target{"portals": {{SecretID: revoked}, {SecretID: good}}})
	for run := range 3 {
		out, err := r.run(t, ctx, raw)
		if err != nil || len(out.Verdicts) != 1 || out.Verdicts[0].Reason != "healthy" {
			t.Errorf("run %d: Handle() = %+v, %v; want one healthy verdict (the good secret's)", run, out.Verdicts, err)
		}
		r.advance(15 * time.Minute)
	}
	lines := r.logs.lines(t, "portal bound to two secrets: the one whose ARN sorts first is used, the other not; remove one (portals remove)")
	if len(lines) != 3 || lines[0]["used"] != good || lines[0]["notUsed"] != revoked {
		t.Errorf("warnings = %v, want one a run naming %s used and %s not", lines, good, revoked)
	}
	r.wantAlerts(t)
}
