package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/backupcheck"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/fleet"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/metrics"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/registry"
)

// asSQSEvent reports whether raw is a batch from the queue's event source
// mapping: a Records list whose every record comes from aws:sqs.
func asSQSEvent(raw json.RawMessage) (events.SQSEvent, bool) {
	var probe struct {
		Records []struct {
			EventSource string `json:"eventSource"`
		} `json:"Records"`
	}
	if json.Unmarshal(raw, &probe) != nil || len(probe.Records) == 0 {
		return events.SQSEvent{}, false
	}
	for _, r := range probe.Records {
		if r.EventSource != "aws:sqs" {
			return events.SQSEvent{}, false
		}
	}
	var batch events.SQSEvent
	if json.Unmarshal(raw, &batch) != nil {
		return events.SQSEvent{}, false
	}
	return batch, true
}

// handleSQS checks the portals of a queue batch through the same path as a
// direct run (state, notices, logs and metrics alike). A message whose
// portal could not be checked (unreadable key, refused URL, notice not
// published, no time left in the invocation) or that is not a portal at
// all is a batch item failure:
// only it goes back to the queue, and to the dead-letter queue after the
// queue's maxReceiveCount. The batch itself never fails.
//
// Two kinds of message are dropped (deleted, not retried), each
// logged: one whose run began more than SCHEDULE_INTERVAL ago, or names
// no run (a later run has queued its portal again; counted in the
// StaleMessagesDropped metric), and a registered portal whose secret is
// no longer registered (removed or untagged while it waited; a listing
// up to its TTL old that lacks the secret is refreshed first, so that a
// secret registered since is not dropped). A message is never dropped
// because another entry is tagged for its portal: the listings of the
// dispatcher and the consumer may differ. With the alert state table, a
// registered portal and the PORTAL_URL portal claim their portal once
// the key is read (ownsPortal, on the portal the key is really bound
// to): the entry whose ARN sorts first checks it, from the second run on
// once a run, and another's message is dropped, logged naming both.
func (h *handler) handleSQS(ctx context.Context, log *slog.Logger, batch events.SQSEvent) (output, error) {
	out := output{Verdicts: []backupcheck.Verdict{}}
	var (
		targets []target
		ids     []string
		stale   int
	)
	now := h.now()
	// The registered secrets, listed once a batch when needed (nil: the
	// listing failed).
	var (
		registered *registeredSet
		listed     bool
	)
	for _, m := range batch.Records {
		job, err := fleet.DecodeJob(m.Body)
		if err != nil {
			log.ErrorContext(ctx, "message is not a portal to check: back to the queue, then to the dead-letter queue", "messageId", m.MessageId, "receiveCount", m.Attributes["ApproximateReceiveCount"], "error", err)
			out.BatchItemFailures = append(out.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			continue
		}
		t := target{PortalURL: job.PortalURL, SecretID: job.SecretID, registered: job.Registered, Dump: job.Dump, SelfHosted: job.SelfHosted, run: job.Run}
		if age, ok := job.Run.Age(now); !ok || age > h.cfg.ScheduleInterval {
			stale++
			log.WarnContext(ctx, "queued portal dropped: its run began more than one schedule interval ago, and a later run has queued it again", "messageId", m.MessageId, "target", t.String(), "runId", job.Run.ID, "age", age.Round(time.Second).String(), "scheduleInterval", h.cfg.ScheduleInterval.String())
			continue
		}
		home := !job.Registered && job.SecretID == "" && job.PortalURL != "" && job.PortalURL == h.cfg.PortalURL
		if (job.Registered || home) && h.registry != nil {
			if !listed {
				registered, listed = h.registeredSecrets(ctx, log), true
			}
			if registered != nil {
				// Another entry may be bound to this portal: the one
				// whose ARN sorts first claims it (ownsPortal).
				t.owners = registered
			}
		}
		if job.Registered && registered != nil {
			if registered.gone(ctx, log, job.SecretID) {
				log.WarnContext(ctx, "queued portal dropped: its secret is no longer registered (removed or untagged while it waited)", "messageId", m.MessageId, "secretId", job.SecretID, "registry", h.cfg.registries())
				continue
			}
			t.portalTag = registered.portalTag(job.SecretID)
		}
		targets = append(targets, t)
		ids = append(ids, m.MessageId)
	}
	if stale > 0 {
		h.writeCounts(ctx, log, map[string]int{metrics.StaleMessagesDropped: stale})
	}
	for i, r := range h.checkEach(ctx, log, targets) {
		if r.verdict != nil {
			out.Verdicts = append(out.Verdicts, *r.verdict)
		}
		// A portal skipped for lack of time was not checked: it goes back
		// to the queue like one that failed.
		if r.err != nil || r.skipped {
			out.BatchItemFailures = append(out.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: ids[i]})
		}
	}
	log.InfoContext(ctx, "queue batch", "messages", len(batch.Records), "checked", len(out.Verdicts), "retried", len(out.BatchItemFailures), "stale", stale)
	return out, nil
}

// refresher lists the registry again, whatever its cache holds; it is
// *registry.Registry and registry.All.
type refresher interface {
	Refresh(ctx context.Context) ([]registry.Entry, error)
}

var (
	_ refresher = (*registry.Registry)(nil)
	_ refresher = registry.All(nil)
)

// registeredSet is what a consumer knows of the registry within one
// batch: the registered entries' portal tags by ARN, from a listing up to
// its TTL old, listed again (once a batch) before the set drops a message
// on what it says; and SECRET_ID, registered for the PORTAL_URL portal.
// It is safe for concurrent use.
type registeredSet struct {
	lister portalLister
	home   string

	mu    sync.Mutex
	byID  map[string]string
	fresh bool
}

// registeredSecrets lists the registered entries (through the registry's
// cache); a listing that failed returns nil (logged), and then no message
// is dropped and none claims its portal.
func (h *handler) registeredSecrets(ctx context.Context, log *slog.Logger) *registeredSet {
	entries, err := h.registry.Portals(ctx)
	if err != nil {
		log.WarnContext(ctx, "cannot list the registered portals: queued portals are checked without asking whether they are still registered", "error", err)
		return nil
	}
	s := &registeredSet{lister: h.registry}
	if h.cfg.PortalURL != "" {
		s.home = h.cfg.SecretID
	}
	s.set(entries)
	return s
}

func (s *registeredSet) set(entries []registry.Entry) {
	s.byID = make(map[string]string, len(entries))
	for _, e := range entries {
		s.byID[e.SecretID] = e.Portal
	}
}

// portalTag is the portal tag of the registered entry id, as listed.
func (s *registeredSet) portalTag(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byID[id]
}

// lookup reports whether entry is registered. When the listing is not
// fresh and its answer is drop (a message would be dropped on it), the
// registry is listed again first; a failed listing returns its error.
func (s *registeredSet) lookup(ctx context.Context, log *slog.Logger, entry string, drop bool) (bool, error) {
	if s.home != "" && entry == s.home {
		return true, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.byID[entry]
	if ok != drop || s.fresh {
		return ok, nil
	}
	var entries []registry.Entry
	var err error
	if r, can := s.lister.(refresher); can {
		entries, err = r.Refresh(ctx)
	} else {
		entries, err = s.lister.Portals(ctx)
	}
	if err != nil {
		log.WarnContext(ctx, "cannot list the registered portals again: no queued portal is dropped on the earlier listing", "error", err)
		return ok, err
	}
	s.set(entries)
	s.fresh = true
	_, ok = s.byID[entry]
	return ok, nil
}

// gone reports whether entry is no longer registered, by a fresh listing.
func (s *registeredSet) gone(ctx context.Context, log *slog.Logger, entry string) bool {
	ok, err := s.lookup(ctx, log, entry, false)
	return err == nil && !ok
}
