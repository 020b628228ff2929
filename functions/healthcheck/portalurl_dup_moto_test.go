package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/fleet"
)

// TestFleetPortalURLRegisteredQueuedOnce: the PORTAL_URL portal is also
// registered (a parameter, or a tagged secret). A fleet run queues it
// once, as a direct run checks it once: with SECRET_ID when its ARN sorts
// first, otherwise with the registered entry; either way once the keys
// of both (the two keys the dispatcher reads: SECRET_ID's may be bound
// to another portal) show them bound to the portal; it says so naming
// both. A consumer given the other one's message (queued by an earlier
// release) after the queued one drops it on the owner claim, so the
// portal gets one verdict.
func TestFleetPortalURLRegisteredQueuedOnce(t *testing.T) {
	for _, homeFirst := range []bool{true, false} {
		t.Run(fmt.Sprintf("SECRET_ID first %v", homeFirst), func(t *testing.T) {
			r := newFleetRig(t)
			now := time.Now().UTC()
			r.setClock(now)
			ctx := context.Background()
			path := r.useParameters(t)
			// SECRET_ID bound to the PORTAL_URL portal, named to sort
			// before or after the registered entry's ARN.
			prefix := "a"
			if !homeFirst {
				prefix = "zz"
			}
			home := r.useHome(t, prefix, faultKey)
			var entry string
			if homeFirst {
				// arn:aws:secretsmanager sorts before arn:aws:ssm.
				entry = r.registerParameterFor(t, path, "home", "healthy-home")
			} else {
				entry = r.registerFor(t, "home", "healthy-home", true)
			}
			for i := range 3 {
				r.register(t, fmt.Sprintf("healthy-other%d", i), "", r.tag.Value)
			}
			used, notUsed := home, entry
			if !homeFirst {
				used, notUsed = entry, home
			}
			keys := &countingKeys{next: r.h.keys}
			r.h.keys = keys
			out, err := r.run(t, ctx, []byte(`{"source":"schedule"}`))
			if err != nil || out.Dispatched == nil {
				t.Fatalf("Handle(schedule) = %+v, %v, want the portals queued", out, err)
			}
			queued := r.queuedJobs(t)
			homeJobs, entryJobs := 0, 0
			for _, j := range queued {
				switch {
				case j.PortalURL == r.h.cfg.PortalURL && j.SecretID == "":
					homeJobs++
				case j.SecretID == entry:
					entryJobs++
				}
			}
			if (homeFirst && (homeJobs != 1 || entryJobs != 0)) || (!homeFirst && (homeJobs != 0 || entryJobs != 1)) {
				t.Errorf("queued %d PORTAL_URL message(s) and %d for %s; want the portal once, with %s", homeJobs, entryJobs, entry, used)
			}
			lines := r.logs.lines(t, msgPortalURLRegistered)
			if len(lines) != 1 || lines[0]["used"] != used || lines[0]["notUsed"] != notUsed || lines[0]["level"] != "WARN" {
				t.Errorf("warnings = %v, want one naming %s used and %s not", lines, used, notUsed)
			}
			// The registered entry's and SECRET_ID's.
			if n := keys.n.Load(); n != 2 {
				t.Errorf("the dispatcher read %d key(s), want 2", n)
			}

			// The queued messages and the other one's, as an earlier
			// release queued it, each to an invocation of its own.
			other := fleet.Job{SecretID: entry, Registered: true, Run: fleet.Run{ID: "old-dispatcher", At: now}}
			if !homeFirst {
				other = fleet.Job{PortalURL: r.h.cfg.PortalURL, Run: fleet.Run{ID: "old-dispatcher", At: now}}
			}
			var verdicts []string
			for i, j := range append(queued, other) {
				body, err := j.Encode()
				if err != nil {
					t.Fatal(err)
				}
				raw, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{{MessageId: fmt.Sprint("m", i), Body: body, EventSource: "aws:sqs"}}})
				out, err := r.run(t, ctx, raw)
				if err != nil || len(out.BatchItemFailures) != 0 {
					t.Errorf("Handle(message %d) = %+v, %v; want no failure", i, out, err)
				}
				verdicts = append(verdicts, verdictNames(out)...)
			}
			if n := strings.Count(fmt.Sprint(verdicts), "healthy-home:healthy"); n != 1 {
				t.Errorf("verdicts = %v, want healthy-home checked once", verdicts)
			}
			if lines := r.logs.lines(t, "queued portal dropped: "+msgPortalURLRegistered); len(lines) != 1 || lines[0]["notUsed"] != notUsed {
				t.Errorf("drop warnings = %v, want one naming %s not used", lines, notUsed)
			}
		})
	}
}
