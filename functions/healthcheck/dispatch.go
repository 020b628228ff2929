package main

import (
	"context"
	"errors"
	"log/slog"
	"math/bits"
	"time"

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
// batches (sqs.go), in an order that turns every schedule interval (see
// spread). listErr, a failed registry listing, fails the run too.
func (h *handler) dispatch(ctx context.Context, log *slog.Logger, targets []target, listErr error) (output, error) {
	var run fleet.Run
	if len(targets) > 0 {
		run = targets[0].run
	}
	sent, err := h.queue(ctx, log, spread(targets, run, h.cfg.ScheduleInterval))
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

// spread returns targets turned for the queue. The consumers take the
// messages about in the order they were sent and drop those more than a
// schedule interval old, so when they fall behind, the tail of the order
// is not checked; how many they manage is not known when the run queues.
// So the start moves by a different amount each schedule interval:
// interval k starts at n times the binary radical inverse of k (0, n/2,
// n/4, 3n/4, n/8, ...), and any 2^j consecutive intervals start at most
// 2n/2^j apart. Whatever number c of a run's n portals the consumers
// check, every portal is among the first c within 4n/c consecutive runs.
// The order is the same for every invocation of one interval.
func spread(targets []target, run fleet.Run, interval time.Duration) []target {
	n := len(targets)
	if n < 2 || interval < time.Second {
		return targets
	}
	k := run.At.Unix() / int64(interval/time.Second)
	offset, _ := bits.Mul64(bits.Reverse64(uint64(k)), uint64(n))
	return append(append(make([]target, 0, n), targets[offset:]...), targets[:offset]...)
}
