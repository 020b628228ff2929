package main

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/backupcheck"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/fleet"
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
func (h *handler) handleSQS(ctx context.Context, log *slog.Logger, batch events.SQSEvent) (output, error) {
	out := output{Verdicts: []backupcheck.Verdict{}}
	var (
		targets []target
		ids     []string
	)
	for _, m := range batch.Records {
		job, err := fleet.DecodeJob(m.Body)
		if err != nil {
			log.ErrorContext(ctx, "message is not a portal to check: back to the queue, then to the dead-letter queue", "messageId", m.MessageId, "receiveCount", m.Attributes["ApproximateReceiveCount"], "error", err)
			out.BatchItemFailures = append(out.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			continue
		}
		targets = append(targets, target{PortalURL: job.PortalURL, SecretID: job.SecretID, registered: job.Registered, Dump: job.Dump, SelfHosted: job.SelfHosted})
		ids = append(ids, m.MessageId)
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
	log.InfoContext(ctx, "queue batch", "messages", len(batch.Records), "checked", len(out.Verdicts), "retried", len(out.BatchItemFailures))
	return out, nil
}
