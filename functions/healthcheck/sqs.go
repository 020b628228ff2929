package main

import (
	"context"
	"encoding/json"
	"log/slog"
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
// Four kinds of message are dropped (deleted, not retried), each
// logged: one whose run began more than SCHEDULE_INTERVAL ago, or names
// no run (a later run has queued its portal again; counted in the
// StaleMessagesDropped metric), a registered portal whose secret is no
// longer registered (removed or untagged while it waited), and one whose
// portal is another message's: its secret carries the portal tag of
// another registered entry, or of the PORTAL_URL portal, whose ARN (or
// SECRET_ID) sorts first, or it is the PORTAL_URL portal and a registered
// entry tagged for it sorts first (the dispatcher's rule, onePerPortal:
// the other one checks the portal), and, while a registered entry carries
// no portal (so the dispatcher queued every entry), one whose portal,
// known once its key is read, another registered entry owns in the alert
// state (ownsPortal: the entry whose ARN sorts first, from the second
// run on).
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
			if home && registered != nil && registered.homeDup != nil {
				// A registered entry bound to the PORTAL_URL portal sorts
				// first: its message checks the portal.
				h.logDuplicate(ctx, log, "queued portal dropped: ", *registered.homeDup, registered.home, "messageId", m.MessageId)
				continue
			}
		}
		if job.Registered && registered != nil {
			e, ok := registered.byID[job.SecretID]
			t.portalTag = e.portal
			if !ok {
				log.WarnContext(ctx, "queued portal dropped: its secret is no longer registered (removed or untagged while it waited)", "messageId", m.MessageId, "secretId", job.SecretID, "registry", h.cfg.registries())
				continue
			}
			if d := e.dup; d != nil {
				// Queued before the dispatcher knew of the other entry (or
				// by an earlier release): the other entry's message (or
				// the PORTAL_URL portal's) checks the portal.
				h.logDuplicate(ctx, log, "queued portal dropped: ", *d, registered.home, "messageId", m.MessageId)
				continue
			}
		}
		if (job.Registered || home) && registered != nil && registered.unbound {
			// Some entry carries no portal: which two are one portal is
			// known only once their keys are read.
			t.owners = registered
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

// registeredEntry is what the consumer knows of a registered secret: its
// portal tag, and dup when another entry tagged for its portal sorts
// first.
type registeredEntry struct {
	portal string
	dup    *registry.Duplicate
}

// registeredSet is what the consumer knows of the registry: the
// registered entries by ARN, and the PORTAL_URL portal's own place (home,
// homeDup when a registered entry checks that portal instead of
// SECRET_ID).
type registeredSet struct {
	byID    map[string]registeredEntry
	home    *registry.Entry
	homeDup *registry.Duplicate
	// unbound is an entry without a portal (no portal tag, no
	// description): registered by hand or by an earlier release.
	unbound bool
}

// registeredSecrets returns the registered entries, each with the entry
// used instead of it when another entry, or SECRET_ID for the PORTAL_URL
// portal, carries the same portal tag and sorts first (onePerPortal, the
// dispatcher's rule); a listing that failed returns nil (logged), and
// then no message is dropped.
func (h *handler) registeredSecrets(ctx context.Context, log *slog.Logger) *registeredSet {
	entries, err := h.registry.Portals(ctx)
	if err != nil {
		log.WarnContext(ctx, "cannot list the registered portals: queued portals are checked without asking whether they are still registered", "error", err)
		return nil
	}
	set := &registeredSet{byID: make(map[string]registeredEntry, len(entries))}
	for _, e := range entries {
		set.byID[e.SecretID] = registeredEntry{portal: e.Portal}
		set.unbound = set.unbound || e.Portal == ""
	}
	_, dups, home := h.onePerPortal(entries)
	set.home = home
	for _, d := range dups {
		if home != nil && d.NotUsed == *home {
			set.homeDup = &d
			continue
		}
		set.byID[d.NotUsed.SecretID] = registeredEntry{portal: d.Portal, dup: &d}
	}
	return set
}
