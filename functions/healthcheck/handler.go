package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/alert"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/fleet"
)

// handler holds the function's dependencies.
type handler struct {
	cfg config
	// keys reads each secret's key and the portal it is bound to.
	keys      bindingSource
	publisher alert.Publisher
	// state is nil when no STATE_TABLE is set: then every failing run alerts.
	state stateRecorder
	// registry is nil when neither REGISTRY_TAG_VALUE nor
	// REGISTRY_PARAMETER_PATH is set.
	registry portalLister
	// dispatcher is nil when no QUEUE_URL is set: every run checks its
	// portals itself.
	dispatcher jobQueue
	// clientOptions are added to every portal client (tests: a trusted
	// test certificate).
	clientOptions []docspace.Option
	logger        *slog.Logger
	// metrics receives one EMF line per portal per run, each with
	// metricsLevel as its level (metrics.LevelFor; "" is INFO).
	metrics      io.Writer
	metricsLevel string
	now          func() time.Time
	// reserveFor says how much of an invocation's remaining time to keep
	// at its end (nil: defaultReserve; tests widen it).
	reserveFor func(remaining time.Duration) reserve

	metricsMu sync.Mutex
	// kinds remembers each portal's settings answer (self-hosted or
	// cloud, version, time zone) for the warm function, so that the
	// settings route is not asked every run.
	kinds kindCache
	// historyTurns lets one run per HISTORY_EVERY read a portal's history
	// when there is no alert state table.
	historyTurns historyTurns
}

// Handle checks every portal of the event, concurrently up to
// MAX_CONCURRENCY, each within its own time budget (see checkTargets); a
// failure on one portal never hides another's verdict. A scheduled run
// that queues or splits its portals first leaves out a second entry
// bound to a portal (queueOnce); a run takes only the portals that fit
// in its time (fit.go): the rest go to the queue, or to a later run, and
// those it checks claim their portal's owner (claimPortals). It returns an error when the run itself failed
// for some portal (bad input, no key, a notice that could not be
// published, a portal left unchecked), so that Lambda's error metric and
// the template's alarm see it.
func (h *handler) Handle(ctx context.Context, raw json.RawMessage) (output, error) {
	requestID := ""
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		requestID = lc.AwsRequestID
	}
	log := h.logger.With("requestId", requestID)
	if batch, ok := asSQSEvent(raw); ok {
		return h.handleSQS(ctx, log, batch)
	}
	targets, dropped, err := parseInput(raw, h.cfg.MaxPortals)
	if err != nil {
		log.ErrorContext(ctx, "bad input", "error", err)
		return output{}, err
	}
	if len(dropped) > 0 {
		log.InfoContext(ctx, "duplicate portals in the input checked once", "duplicates", dropped)
	}
	var listErr error
	scheduled := len(targets) == 1 && targets[0] == (target{}) && h.registry != nil
	if scheduled {
		// A run whose input names no portal: PORTAL_URL and every
		// registered portal.
		targets, listErr = h.scheduledTargets(ctx, log)
		if len(targets) == 0 && listErr == nil {
			log.WarnContext(ctx, "nothing to check: no portal is registered and PORTAL_URL is not set", "registry", h.cfg.registries())
		}
	}
	run := h.newRun(requestID)
	for i := range targets {
		targets[i].run = run
	}
	if scheduled && h.splits(ctx, len(targets)) {
		// Each portal once before the portals are queued or split: two
		// entries of one portal never fall on both sides of the split.
		// (A run that checks them all reads every key: resolveAll.)
		targets = h.queueOnce(ctx, log, targets)
	}
	if h.dispatcher != nil && len(targets) > h.cfg.DispatchAbove {
		return h.dispatch(ctx, log, targets, listErr)
	}
	if h.dispatcher == nil && len(targets) > h.cfg.DispatchAbove {
		log.WarnContext(ctx, "more portals than DISPATCH_ABOVE and no QUEUE_URL: this run checks what fits in its time and leaves the rest to later runs (deploy with Fleet=true for the check queue)", "portals", len(targets), "dispatchAbove", h.cfg.DispatchAbove)
	}
	targets, rest := h.takeWhatFits(ctx, log, targets, run)
	if scheduled && len(rest) > 0 && len(targets) > 0 {
		var lease time.Duration // queued, the rest claim in this run
		if h.dispatcher == nil {
			// Each portal's turn comes once in this many runs (rotate).
			rotation := (len(targets) + len(rest) + len(targets) - 1) / len(targets)
			lease = time.Duration(rotation+1) * h.cfg.ScheduleInterval
		}
		h.claimPortals(ctx, log, targets, lease)
	}
	out, err := h.checkTargets(ctx, log, targets)
	if nerr := h.notChecked(ctx, log, &out, rest); nerr != nil {
		err = joinErrors(err, nerr)
	}
	if listErr != nil {
		err = joinErrors(listErr, err)
	}
	return out, err
}

// newRun names this invocation's run: its Lambda request ID (a random one
// outside Lambda) and the time it began.
func (h *handler) newRun(requestID string) fleet.Run {
	if requestID == "" {
		requestID = rand.Text()
	}
	return fleet.Run{ID: requestID, At: h.now().UTC()}
}
