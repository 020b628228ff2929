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
// Two kinds of message are dropped (deleted, not retried): one whose run
// began more than SCHEDULE_INTERVAL ago, or names no run (a later run has
// queued its portal again; counted in the StaleMessagesDropped metric),
// and a registered portal whose secret is no longer registered (removed
// or untagged while it waited), both logged.
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
		registered map[string]bool
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
		if job.Registered && h.registry != nil {
			if !listed {
				registered, listed = h.registeredSecrets(ctx, log), true
			}
			if registered != nil && !registered[job.SecretID] {
				log.WarnContext(ctx, "queued portal dropped: its secret is no longer registered (removed or untagged while it waited)", "messageId", m.MessageId, "secretId", job.SecretID, "registry", h.cfg.registries())
				continue
			}
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

// registeredSecrets returns the registered secrets' ARNs as a set; a
// listing that failed returns nil (logged), and then no message is
// dropped as unregistered.
func (h *handler) registeredSecrets(ctx context.Context, log *slog.Logger) map[string]bool {
	entries, err := h.registry.Portals(ctx)
	if err != nil {
		log.WarnContext(ctx, "cannot list the registered portals: queued portals are checked without asking whether they are still registered", "error", err)
		return nil
	}
	set := make(map[string]bool, len(entries))
	for _, e := range entries {
		set[e.SecretID] = true
	}
	return set
}
