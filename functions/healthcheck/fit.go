package main

// What one direct run takes on: only the portals whose whole budget fits
// in the invocation; the rest go to the queue, or wait for a later run,
// which starts with them (rotation), and the run fails so that the
// monitor's alarm sees it.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/fleet"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/metrics"
)

// errNotChecked is a run that left portals unchecked.
var errNotChecked = errors.New("portals not checked in this run")

// capacity returns how many portals an invocation whose context is ctx
// can check at now, each with its whole PORTAL_TIMEOUT, MAX_CONCURRENCY
// at a time: the waves of PORTAL_TIMEOUT that fit before the cutoff
// (at least one), times MAX_CONCURRENCY; -1 without a deadline (no
// limit).
func (h *handler) capacity(ctx context.Context, now time.Time) int {
	b := newBudget(ctx, h.cfg.PortalTimeout, now, h.reserveFor)
	if b.cutoff.IsZero() {
		return -1
	}
	waves := 1
	if b.perPortal > 0 {
		waves = max(1, int(b.cutoff.Sub(now)/b.perPortal))
	}
	return waves * h.cfg.MaxConcurrency
}

// splits reports whether a run over n portals queues them or checks only
// some of them: more than DISPATCH_ABOVE with a check queue, or more than
// fit in the invocation (capacity).
func (h *handler) splits(ctx context.Context, n int) bool {
	if h.dispatcher != nil && n > h.cfg.DispatchAbove {
		return true
	}
	fit := h.capacity(ctx, time.Now())
	return fit >= 0 && n > fit
}

// rotate returns targets turned so that the run's window of fit portals
// moves on by fit every schedule interval: run k starts at (k*fit) mod n,
// so every portal is among the first fit within ceil(n/fit) consecutive
// scheduled runs. The order is the same for every invocation of one
// interval.
func rotate(targets []target, run fleet.Run, fit int, interval time.Duration) []target {
	n := len(targets)
	if fit <= 0 || fit >= n || interval <= 0 {
		return targets
	}
	k := run.At.Unix() / int64(interval/time.Second)
	offset := int((k % int64(n)) * int64(fit) % int64(n))
	return append(append(make([]target, 0, n), targets[offset:]...), targets[:offset]...)
}

// takeWhatFits splits targets into those this invocation checks and the
// rest, rotated (see rotate); it logs the split.
func (h *handler) takeWhatFits(ctx context.Context, log *slog.Logger, targets []target, run fleet.Run) (checked, rest []target) {
	fit := h.capacity(ctx, time.Now())
	if fit < 0 || len(targets) <= fit {
		return targets, nil
	}
	targets = rotate(targets, run, fit, h.cfg.ScheduleInterval)
	where := "not checked in this run: a later run starts with them"
	if h.dispatcher != nil {
		where = "put on the check queue"
	}
	log.WarnContext(ctx, "more portals than fit in this invocation: the rest are "+where, "portals", len(targets), "fit", fit, "portalTimeout", h.cfg.PortalTimeout.String(), "maxConcurrency", h.cfg.MaxConcurrency)
	return targets[:fit], targets[fit:]
}

// notChecked finishes a direct run's output for the portals it did not
// check: rest (over its capacity) are queued when there is a queue, and
// otherwise counted with the portals skipped for lack of time; any
// portal not checked and not queued makes the run fail with
// errNotChecked, so that the function's error metric and the monitor's
// alarm see it, and is counted in the PortalsNotChecked metric with the
// fleet metrics (FLEET_METRICS).
func (h *handler) notChecked(ctx context.Context, log *slog.Logger, out *output, rest []target) error {
	var errs []error
	if len(rest) > 0 && h.dispatcher != nil {
		sent, err := h.queue(ctx, log, rest)
		out.Dispatched = &sent
		errs = append(errs, err)
		if err == nil {
			rest = nil
		} else {
			// Which were queued is not known: count them all as not checked.
			log.ErrorContext(ctx, "portals over this invocation's capacity NOT all queued", "portals", len(rest), "queued", sent.Messages)
		}
	}
	for _, t := range rest {
		out.SkippedPortals = append(out.SkippedPortals, t.String())
	}
	out.Skipped += len(rest)
	if out.Skipped == 0 {
		return errors.Join(errs...)
	}
	if h.cfg.FleetMetrics {
		h.writeCounts(ctx, log, map[string]int{metrics.PortalsNotChecked: out.Skipped})
	}
	errs = append(errs, fmt.Errorf("%w: %d portal(s), their alert state unchanged (at most %d fit in one invocation: PORTAL_TIMEOUT %v, MAX_CONCURRENCY %d; raise MAX_CONCURRENCY, or use the check queue)",
		errNotChecked, out.Skipped, max(0, h.capacity(ctx, time.Now())), h.cfg.PortalTimeout, h.cfg.MaxConcurrency))
	return errors.Join(errs...)
}
