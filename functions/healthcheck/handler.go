package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/alert"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/alertstate"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/backupcheck"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/metrics"
)

// stateRecorder records a verdict and returns the notices to send, and
// gives back a notice that could not be published; it is
// *alertstate.Store.
type stateRecorder interface {
	Record(ctx context.Context, portal, reason string, now time.Time) ([]alertstate.Notice, error)
	Release(ctx context.Context, n alertstate.Notice) error
}

var _ stateRecorder = (*alertstate.Store)(nil)

// output is the function's result: one verdict per portal checked, in the
// order of the input.
type output struct {
	Verdicts []backupcheck.Verdict `json:"verdicts"`
}

// handler holds the function's dependencies.
type handler struct {
	cfg config
	// keys reads each secret's key and the portal it is bound to.
	keys      bindingSource
	publisher alert.Publisher
	// state is nil when no STATE_TABLE is set: then every failing run alerts.
	state stateRecorder
	// registry is nil when no REGISTRY_TAG_VALUE is set.
	registry portalLister
	// clientOptions are added to every portal client (tests: a trusted
	// test certificate).
	clientOptions []docspace.Option
	logger        *slog.Logger
	// metrics receives one EMF line per portal per run.
	metrics io.Writer
	now     func() time.Time

	metricsMu sync.Mutex
}

// maxDeadlineReserve is the most of the function's remaining time kept for
// publishing alerts and logging after the portals' checks are cut off.
const maxDeadlineReserve = 5 * time.Second

// Handle checks every portal of the event, concurrently up to
// MAX_CONCURRENCY; a failure on one portal never hides another's verdict.
// It returns an error when the run itself failed for some portal (bad
// input, no key, or a notice that could not be published), so that
// Lambda's error metric, retries and the template's alarm see it.
func (h *handler) Handle(ctx context.Context, raw json.RawMessage) (output, error) {
	requestID := ""
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		requestID = lc.AwsRequestID
	}
	log := h.logger.With("requestId", requestID)
	targets, dropped, err := parseInput(raw, h.cfg.MaxPortals)
	if err != nil {
		log.ErrorContext(ctx, "bad input", "error", err)
		return output{}, err
	}
	if len(dropped) > 0 {
		log.InfoContext(ctx, "duplicate portals in the input checked once", "duplicates", dropped)
	}
	var listErr error
	if len(targets) == 1 && targets[0] == (target{}) && h.registry != nil {
		// A run whose input names no portal: PORTAL_URL and every
		// registered portal.
		targets, listErr = h.scheduledTargets(ctx, log)
		if len(targets) == 0 && listErr == nil {
			log.WarnContext(ctx, "nothing to check: no portal is registered and PORTAL_URL is not set", "tag", h.cfg.RegistryTag.String())
		}
	}
	out, err := h.checkTargets(ctx, log, targets)
	return out, errors.Join(err, listErr)
}

// checkTargets is the one "check these portals" path every kind of event
// feeds: each target is resolved (which key goes where, refused before
// any request) and checked, concurrently up to MAX_CONCURRENCY.
func (h *handler) checkTargets(ctx context.Context, log *slog.Logger, targets []target) (output, error) {
	// Stop the checks early enough to alert and log before the function's
	// timeout: a retry cut short still ends in a verdict.
	checkCtx := ctx
	if dl, ok := ctx.Deadline(); ok {
		reserve := min(maxDeadlineReserve, time.Until(dl)/5)
		var cancel context.CancelFunc
		checkCtx, cancel = context.WithDeadline(ctx, dl.Add(-reserve))
		defer cancel()
	}

	verdicts := make([]*backupcheck.Verdict, len(targets))
	errs := make([]error, len(targets))
	sem := make(chan struct{}, h.cfg.MaxConcurrency)
	// claimed holds the portals taken by a target, so that two targets
	// that resolve to one portal (a secret alone and its URL) check it once.
	var claimed sync.Map
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			verdicts[i], errs[i] = h.checkPortal(ctx, checkCtx, log, t, &claimed)
		}()
	}
	wg.Wait()
	out := output{Verdicts: []backupcheck.Verdict{}}
	for _, v := range verdicts {
		if v != nil {
			out.Verdicts = append(out.Verdicts, *v)
		}
	}
	return out, errors.Join(errs...)
}

// checkPortal checks one portal, sends its notices, and writes its log and
// metrics lines. The verdict is nil when the check could not run.
func (h *handler) checkPortal(ctx, checkCtx context.Context, log *slog.Logger, t target, claimed *sync.Map) (*backupcheck.Verdict, error) {
	r, err := h.resolve(checkCtx, t)
	if err != nil {
		msg := "cannot read the API key"
		if errors.Is(err, errRefused) {
			msg = "target refused"
		}
		log.ErrorContext(ctx, msg, "target", t.String(), "error", err)
		return nil, fmt.Errorf("%s: %w", t, err)
	}
	portal := r.Portal
	if _, dup := claimed.LoadOrStore(portal, true); dup {
		log.InfoContext(ctx, "portal already checked in this run", "portal", portal, "secretId", r.SecretID)
		return nil, nil
	}
	opts := []docspace.Option{docspace.WithTimeout(h.cfg.HTTPTimeout), docspace.WithStatePath(h.cfg.StatePath)}
	if h.cfg.AllowHTTP {
		opts = append(opts, docspace.WithInsecureHTTP())
	}
	opts = append(opts, h.clientOptions...)
	client, err := docspace.NewClient(r.URL.String(), r.Key, opts...)
	if err != nil {
		log.ErrorContext(ctx, "bad portal client", "portal", portal, "error", err)
		return nil, fmt.Errorf("portal %s: %w", portal, err)
	}
	v := backupcheck.Check(checkCtx, portal, client, backupcheck.Options{Signals: h.cfg.Signals, StaleAfter: h.cfg.StaleAfter}, h.now())

	attrs := []any{
		"portal", v.Portal, "outcome", string(v.Reason), "httpStatus", v.Result.StatusCode,
		"latencyMs", v.Result.Latency.Milliseconds(), "attempts", v.Result.Attempts,
	}
	if v.Enabled != nil {
		attrs = append(attrs, "enabled", *v.Enabled)
	}
	if v.LastBackup != nil {
		attrs = append(attrs, "lastBackup", v.LastBackup.Format(time.RFC3339))
	}
	if v.Detail != "" {
		attrs = append(attrs, "detail", v.Detail)
	}

	notices := h.notices(ctx, log, v)
	var kinds, ids []string
	var publishErrs []error
	for _, n := range notices {
		id, err := alert.Publish(ctx, h.publisher, h.cfg.TopicARN, alert.Compose(v, n))
		if err != nil {
			publishErrs = append(publishErrs, err)
			// The store took the notice as sent: give it back, so that the
			// retry or the next run sends it instead of losing it.
			if h.state != nil && !n.ClaimedAt.IsZero() {
				if rerr := h.state.Release(ctx, n); rerr != nil {
					log.ErrorContext(ctx, "notice could not be given back to the alert state; it may be lost until the reminder", "portal", v.Portal, "notice", string(n.Kind)+":"+n.Reason, "error", rerr)
				}
			}
			continue
		}
		kinds = append(kinds, string(n.Kind)+":"+n.Reason)
		ids = append(ids, id)
	}
	if len(kinds) > 0 {
		attrs = append(attrs, "notices", kinds, "alertMessageIds", ids)
	}
	h.writeMetrics(ctx, log, v)
	if err := errors.Join(publishErrs...); err != nil {
		log.ErrorContext(ctx, "backup check: notice NOT published", append(attrs, "error", err)...)
		return &v, fmt.Errorf("portal %s (%s): %w", v.Portal, v.Reason, err)
	}
	level := slog.LevelInfo
	if !v.Healthy() {
		level = slog.LevelWarn
	}
	log.Log(ctx, level, "backup check", attrs...)
	return &v, nil
}

// notices asks the state store what to send for v. Without a store, or
// when the store is unavailable, a failing verdict alerts anyway: a
// duplicate beats silence.
func (h *handler) notices(ctx context.Context, log *slog.Logger, v backupcheck.Verdict) []alertstate.Notice {
	direct := alertstate.Notice{Kind: alertstate.Alert, Portal: v.Portal, Reason: string(v.Reason), Since: v.At, Failures: 1}
	if h.state == nil {
		if v.Healthy() {
			return nil
		}
		return []alertstate.Notice{direct}
	}
	ns, err := h.state.Record(ctx, v.Portal, string(v.Reason), h.now())
	switch {
	case err == nil:
		return ns
	case errors.Is(err, alertstate.ErrConflict):
		log.WarnContext(ctx, "alert state changed by an overlapping run; it sends the notice", "portal", v.Portal, "error", err)
		return ns
	default:
		log.WarnContext(ctx, "alert state unavailable: alerting anyway, a duplicate beats silence", "portal", v.Portal, "error", err)
		if !v.Healthy() && !hasNotice(ns, string(v.Reason)) {
			ns = append(ns, direct)
		}
		return ns
	}
}

func hasNotice(ns []alertstate.Notice, reason string) bool {
	for _, n := range ns {
		if n.Reason == reason && n.Kind != alertstate.Resolved {
			return true
		}
	}
	return false
}

func (h *handler) writeMetrics(ctx context.Context, log *slog.Logger, v backupcheck.Verdict) {
	if h.metrics == nil {
		return
	}
	h.metricsMu.Lock()
	defer h.metricsMu.Unlock()
	if err := metrics.Write(h.metrics, h.cfg.MetricsNamespace, v); err != nil {
		log.WarnContext(ctx, "metrics line not written", "portal", v.Portal, "error", err)
	}
}
