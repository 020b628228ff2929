package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/backupcheck"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/fleet"
)

// jobQueue puts portals on the queue; it is *fleet.Dispatcher.
type jobQueue interface {
	Dispatch(ctx context.Context, jobs []fleet.Job) (fleet.Sent, error)
}

var _ jobQueue = (*fleet.Dispatcher)(nil)

// dispatch puts targets on the queue, one message each, instead of
// checking them: the queue's event source mapping brings them back in
// batches (sqs.go). listErr, a failed registry listing, fails the run too.
func (h *handler) dispatch(ctx context.Context, log *slog.Logger, targets []target, listErr error) (output, error) {
	sent, err := h.queue(ctx, log, targets)
	return output{Verdicts: []backupcheck.Verdict{}, Dispatched: &sent}, errors.Join(err, listErr)
}

// queue puts targets on the queue, one message each, and logs what it did.
func (h *handler) queue(ctx context.Context, log *slog.Logger, targets []target) (fleet.Sent, error) {
	jobs := make([]fleet.Job, len(targets))
	for i, t := range targets {
		jobs[i] = fleet.Job{PortalURL: t.PortalURL, SecretID: t.SecretID, Registered: t.registered, Dump: t.Dump, SelfHosted: t.SelfHosted, Run: t.run}
		if t.PortalURL == "" && t.SecretID == "" && !t.registered {
			// The PORTAL_URL portal; the consumer adds SECRET_ID.
			jobs[i].PortalURL = h.cfg.PortalURL
		}
	}
	sent, err := h.dispatcher.Dispatch(ctx, jobs)
	if err != nil {
		log.ErrorContext(ctx, "portals NOT all queued: those not queued are not checked in this run", "portals", len(jobs), "queued", sent.Messages, "error", err)
	} else {
		log.InfoContext(ctx, "portals queued", "portals", len(jobs), "messages", sent.Messages, "calls", sent.Calls, "dispatchAbove", h.cfg.DispatchAbove)
	}
	return sent, err
}
