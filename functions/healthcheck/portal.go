package main

// The per-portal flow shared by every kind of event: a time budget per
// portal, the check, the alert state, the notices and their delivery.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/alert"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/alertstate"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/backupcheck"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/fleet"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/metrics"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/registry"
)

// stateRecorder is *alertstate.Store: what the table remembers of a
// portal, recording a run, and clearing a delivered notice.
type stateRecorder interface {
	Load(ctx context.Context, portal string) (alertstate.Memory, error)
	Record(ctx context.Context, portal string, run alertstate.Run, now time.Time) ([]alertstate.Notice, error)
	Delivered(ctx context.Context, n alertstate.Notice) error
}

var _ stateRecorder = (*alertstate.Store)(nil)

// errPanic marks a portal whose check panicked.
var errPanic = errors.New("check panicked")

// Time kept at the end of an invocation.
const (
	// maxDeadlineReserve is the most of the function's remaining time kept
	// for the alert state, publishing and logging after the checks (a
	// third of a shorter invocation).
	maxDeadlineReserve = 5 * time.Second
	// maxDeliveredTimeout bounds the write that clears a delivered notice
	// (a quarter of the reserve in short invocations); it runs on a context
	// that outlives the invocation's deadline, and publishing stops this
	// long before that deadline so that it fits.
	maxDeliveredTimeout = time.Second
)

// reserve is the time kept at the end of an invocation.
type reserve struct {
	// end is kept after the checks for the alert state, publishing and
	// logging.
	end time.Duration
	// deliver bounds the write that clears a delivered notice; publishing
	// stops this long before the deadline.
	deliver time.Duration
}

// defaultReserve is the reserve of an invocation with remaining time
// left: maxDeadlineReserve (a third of a shorter invocation), and
// maxDeliveredTimeout of it (a quarter, in short ones) for the write that
// clears a delivered notice.
func defaultReserve(remaining time.Duration) reserve {
	end := min(maxDeadlineReserve, remaining/3)
	return reserve{end: end, deliver: min(maxDeliveredTimeout, end/4)}
}

// budget hands each portal its time within the invocation.
type budget struct {
	// cutoff is when checks must be over, so that notices and logs still
	// fit before the deadline; zero without a deadline.
	cutoff time.Time
	// perPortal is PORTAL_TIMEOUT, capped by what the whole invocation
	// has, so that a single portal is always checked.
	perPortal time.Duration
	// publishBy is when publishing must stop (zero: no deadline), and
	// deliver how long the write that clears a delivered notice may take.
	publishBy time.Time
	deliver   time.Duration
}

// newBudget measures the budget of an invocation whose context is ctx at
// now; reserveFor says what to keep at the end of the time remaining
// (nil: defaultReserve).
func newBudget(ctx context.Context, perPortal time.Duration, now time.Time, reserveFor func(remaining time.Duration) reserve) budget {
	if reserveFor == nil {
		reserveFor = defaultReserve
	}
	dl, ok := ctx.Deadline()
	if !ok {
		return budget{perPortal: perPortal, deliver: maxDeliveredTimeout}
	}
	r := reserveFor(dl.Sub(now))
	b := budget{cutoff: dl.Add(-r.end), perPortal: perPortal, publishBy: dl.Add(-r.deliver), deliver: r.deliver}
	b.perPortal = max(0, min(perPortal, b.cutoff.Sub(now)))
	return b
}

// startSlack is how much of its budget a portal may lack at its start:
// when the whole invocation is shorter than PORTAL_TIMEOUT, the first
// portals start a few milliseconds after the budget was measured.
const startSlack = time.Second

// start returns the time a portal starting now gets, and false when its
// budget no longer fits before the cutoff: that portal is not checked
// this run.
func (b budget) start(now time.Time) (time.Duration, bool) {
	if b.cutoff.IsZero() {
		return b.perPortal, true
	}
	left := b.cutoff.Sub(now)
	if b.perPortal <= 0 || left <= 0 || left < b.perPortal-startSlack {
		return 0, false
	}
	return min(b.perPortal, left), true
}

// checkTargets checks targets (see checkEach) and sums them up as the
// function's output and error.
func (h *handler) checkTargets(ctx context.Context, log *slog.Logger, targets []target) (output, error) {
	results := h.checkEach(ctx, log, targets)
	var (
		verdicts []backupcheck.Verdict
		skipped  []string
		errs     []error
	)
	for i, r := range results {
		switch {
		case r.verdict != nil:
			verdicts = append(verdicts, *r.verdict)
		case r.skipped:
			skipped = append(skipped, targets[i].String())
		}
		errs = append(errs, r.err)
	}
	// The result stays under Lambda's limit whatever the list (see
	// shapeOutput); the log lines have every verdict in full.
	out := shapeOutput(verdicts, maxResponseBytes)
	out.Skipped, out.SkippedPortals = len(skipped), skipped
	if out.Skipped > 0 {
		log.WarnContext(ctx, "invocation ran out of time: portals skipped", "checked", len(verdicts), "skipped", out.Skipped, "portals", len(targets))
	}
	return out, joinErrors(errs...)
}

// portalResult is what became of one target: its verdict (nil when its
// check could not run or its portal was already checked in this call),
// the error of the run for it, or skipped for lack of time.
type portalResult struct {
	verdict *backupcheck.Verdict
	err     error
	skipped bool
}

// checkEach is the one "check these portals" path every kind of event
// feeds: each target is resolved (which key goes where, refused before any
// request; see resolveAll, which also picks one target per portal) and
// checked, MAX_CONCURRENCY at a time. A portal starts only
// when its whole budget (PORTAL_TIMEOUT) still fits before the cutoff; the
// others are skipped: logged, counted in the output, and their alert state
// left unchanged (a portal never contacted is never called unreachable).
// The results are in the order of targets.
func (h *handler) checkEach(ctx context.Context, log *slog.Logger, targets []target) []portalResult {
	b := newBudget(ctx, h.cfg.PortalTimeout, time.Now(), h.reserveFor)
	verdicts := make([]*backupcheck.Verdict, len(targets))
	skipped := make([]bool, len(targets))
	errs := make([]error, len(targets))
	sem := make(chan struct{}, h.cfg.MaxConcurrency)
	h.prefetchKeys(ctx, targets)
	res := h.resolveAll(ctx, log, targets, b)
	var wg sync.WaitGroup
	for i, t := range targets {
		if res[i].err != nil {
			errs[i] = res[i].err
			continue
		}
		if res[i].dup {
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			// A panic while checking one portal is that portal's error
			// alone: the other portals of the run or batch go on.
			defer func() {
				if p := recover(); p != nil {
					errs[i] = fmt.Errorf("%s: %w: %v", t, errPanic, p)
					stack := debug.Stack()
					if rp, ok := p.(*backupcheck.RoutePanic); ok {
						stack = rp.Stack // the route's goroutine
					}
					log.ErrorContext(ctx, "portal check panicked: recovered, this portal alone fails", "target", t.String(), "panic", fmt.Sprint(p), "stack", string(stack))
				}
			}()
			d, ok := b.start(time.Now())
			if !ok {
				skipped[i] = true
				log.WarnContext(ctx, "portal not checked: no time left in this invocation for its budget; its alert state is unchanged", "target", t.String(), "portalTimeout", h.cfg.PortalTimeout.String())
				return
			}
			portalCtx, cancel := context.WithTimeout(ctx, d)
			defer cancel()
			verdicts[i], errs[i] = h.checkPortal(ctx, portalCtx, log, t, res[i].r, b)
		})
	}
	wg.Wait()
	results := make([]portalResult, len(targets))
	var checked []backupcheck.Verdict
	for i := range targets {
		results[i] = portalResult{verdict: verdicts[i], err: errs[i], skipped: skipped[i]}
		if verdicts[i] != nil {
			checked = append(checked, *verdicts[i])
		}
	}
	h.writeFleetMetrics(ctx, log, checked)
	return results
}

// writeFleetMetrics writes the fleet metrics of one invocation's verdicts,
// with no portal dimension (see metrics.FleetLines), unless FLEET_METRICS
// is false.
func (h *handler) writeFleetMetrics(ctx context.Context, log *slog.Logger, verdicts []backupcheck.Verdict) {
	if h.metrics == nil || !h.cfg.FleetMetrics {
		return
	}
	h.metricsMu.Lock()
	defer h.metricsMu.Unlock()
	if err := metrics.WriteFleet(h.metrics, h.cfg.MetricsNamespace, h.metricsLevel, h.now(), verdicts); err != nil {
		log.WarnContext(ctx, "fleet metrics not written", "error", err)
	}
}

// writeCounts writes one line of run metrics (metrics.WriteCounts).
func (h *handler) writeCounts(ctx context.Context, log *slog.Logger, counts map[string]int) {
	if h.metrics == nil {
		return
	}
	h.metricsMu.Lock()
	defer h.metricsMu.Unlock()
	if err := metrics.WriteCounts(h.metrics, h.cfg.MetricsNamespace, h.metricsLevel, h.now(), counts); err != nil {
		log.WarnContext(ctx, "run metrics not written", "error", err)
	}
}

// resolution is what resolve made of one target: where its key goes, or
// why it goes nowhere; dup marks a target whose portal another target of
// the call checks.
type resolution struct {
	r   resolved
	err error
	dup bool
}

// resolveAll resolves targets, MAX_CONCURRENCY at a time, each within its
// PORTAL_TIMEOUT, and picks one target per portal: two targets that
// resolve to one portal (a secret alone and its URL, or two secrets bound
// to one portal) check it once, with the secret whose ARN sorts first
// (the first target on a tie), whatever the order or speed of the
// reads. Two secrets for one portal are logged as a warning naming both,
// and so is a registered secret whose portal tag names another portal. A
// queued target that claims its portal's owner (ownsPortal) and finds
// another entry owning it is left out the same way.
// Errors are logged and returned per target.
func (h *handler) resolveAll(ctx context.Context, log *slog.Logger, targets []target, b budget) []resolution {
	res := make([]resolution, len(targets))
	sem := make(chan struct{}, h.cfg.MaxConcurrency)
	var wg sync.WaitGroup
	for i, t := range targets {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			defer func() {
				if p := recover(); p != nil {
					res[i].err = fmt.Errorf("%s: %w: %v", t, errPanic, p)
					log.ErrorContext(ctx, "portal check panicked: recovered, this portal alone fails", "target", t.String(), "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				}
			}()
			rctx := ctx
			if b.perPortal > 0 {
				var cancel context.CancelFunc
				rctx, cancel = context.WithTimeout(ctx, b.perPortal)
				defer cancel()
			}
			r, err := h.resolve(rctx, t)
			if err != nil {
				msg := "cannot read the API key"
				if errors.Is(err, errRefused) {
					msg = "target refused"
				}
				log.ErrorContext(ctx, msg, "target", t.String(), "error", err)
				res[i].err = fmt.Errorf("%s: %w", t, err)
				return
			}
			if t.portalTag != "" && registry.PortalTagValue(r.Portal) != t.portalTag {
				log.WarnContext(ctx, msgStaleTag, "secretId", r.SecretID, "tagged", t.portalTag, "portal", r.Portal)
			}
			res[i].r = r
			// Another entry bound to this portal owns it (a queued
			// portal without a portal tag): not checked here.
			res[i].dup = !h.ownsPortal(rctx, log, t, r)
		})
	}
	wg.Wait()
	owner := map[string]int{}
	for i := range res {
		if res[i].err != nil || res[i].dup {
			continue
		}
		p := res[i].r.Portal
		if j, ok := owner[p]; !ok || res[i].r.SecretID < res[j].r.SecretID {
			owner[p] = i
		}
	}
	for i := range res {
		if res[i].err != nil || res[i].dup {
			continue
		}
		w := owner[res[i].r.Portal]
		if w == i {
			continue
		}
		res[i].dup = true
		if used, other := res[w].r.SecretID, res[i].r.SecretID; used != other {
			msg := msgTwoSecrets
			if h.cfg.PortalURL != "" && (used == h.cfg.SecretID || other == h.cfg.SecretID) {
				msg = msgPortalURLRegistered
			}
			log.WarnContext(ctx, msg, "portal", res[i].r.Portal, "used", used, "notUsed", other)
		} else {
			log.InfoContext(ctx, "portal already checked in this run", "portal", res[i].r.Portal, "secretId", other)
		}
	}
	return res
}

// checkPortal checks one portal within portalCtx, records the run, sends
// its notices on ctx, and writes its log and metrics lines. The verdict is
// nil when the check could not run.
func (h *handler) checkPortal(ctx, portalCtx context.Context, log *slog.Logger, t target, r resolved, b budget) (*backupcheck.Verdict, error) {
	portal := r.Portal
	dump := h.cfg.Dump
	if t.Dump != nil {
		dump = *t.Dump
	}
	opts := []docspace.Option{docspace.WithTimeout(h.cfg.HTTPTimeout), docspace.WithStatePath(h.cfg.StatePath), docspace.WithDump(dump)}
	if h.cfg.AllowHTTP {
		opts = append(opts, docspace.WithInsecureHTTP())
	}
	opts = append(opts, h.clientOptions...)
	client, err := docspace.NewClient(r.URL.String(), r.Key, opts...)
	if err != nil {
		log.ErrorContext(ctx, "bad portal client", "portal", portal, "error", err)
		return nil, fmt.Errorf("portal %s: %w", portal, err)
	}

	now := h.now()
	checkOpts := backupcheck.Options{Signals: h.cfg.Signals, StaleAfter: h.cfg.StaleAfter, SelfHosted: h.cfg.SelfHosted, Dump: dump}
	if t.SelfHosted != nil {
		checkOpts.SelfHosted = t.SelfHosted
	}
	// The history is read at most once per HISTORY_EVERY: with the alert
	// state table across cold starts and overlapping runs, without it
	// per warm function.
	var gate *storeGate
	checkOpts.History = memoryGate{turns: &h.historyTurns, portal: portal, now: now, every: h.cfg.HistoryEvery}
	forgot := false
	var mute alertstate.Mute
	if h.state != nil {
		mem, err := h.state.Load(portalCtx, portal)
		mute = mem.Mute
		if err != nil {
			forgot = true
			log.WarnContext(ctx, "alert state unavailable: checking without what it remembers", "portal", portal, "error", err)
		}
		checkOpts.FirstSeen = mem.ScheduleFirstSeen
		checkOpts.HistoryReadAt, checkOpts.HistoryNewest = mem.HistoryReadAt, mem.HistoryNewest
		checkOpts.Open = map[backupcheck.Reason]time.Time{}
		for r, since := range mem.Open {
			checkOpts.Open[backupcheck.Reason(r)] = since
		}
		if hc, ok := h.state.(historyClaimer); ok {
			gate = &storeGate{store: hc, portal: portal, now: now, every: h.cfg.HistoryEvery, newest: mem.HistoryNewest}
			checkOpts.History = gate
		}
	}
	checkOpts.Facts = h.kinds.get(portal, now)
	v := backupcheck.Check(portalCtx, portal, client, checkOpts, now)
	if v.Facts != nil {
		// The settings route answered this run: remember it.
		h.kinds.put(portal, *v.Facts, now)
	}
	if gate != nil && gate.claimed && v.HistoryRead {
		var newest time.Time
		if v.LastBackup != nil {
			newest = *v.LastBackup
		}
		if err := gate.store.RecordHistoryNewest(portalCtx, portal, now, newest); err != nil {
			log.WarnContext(ctx, "history read not recorded: the next read after HISTORY_EVERY will not know its newest backup", "portal", portal, "error", err)
		}
	}
	boundVerdict(&v)
	if forgot {
		v.Evaluated = withoutMemory(v)
	}

	attrs := []any{
		"portal", v.Portal, "outcome", string(v.Reason), "httpStatus", v.Result.StatusCode,
		"latencyMs", v.Result.Latency.Milliseconds(), "requests", v.Result.Attempts,
	}
	if len(v.Problems) > 1 {
		attrs = append(attrs, "problems", v.Failing())
	}
	if v.Enabled != nil {
		attrs = append(attrs, "enabled", *v.Enabled)
	}
	if v.LastBackup != nil {
		attrs = append(attrs, "lastBackup", v.LastBackup.Format(time.RFC3339))
	}
	// Which signal each judgement came from, and whether this run read the
	// history (which asks the storage about every record).
	attrs = append(attrs, "historyRead", v.HistoryRead)
	if len(v.Sources) > 0 {
		attrs = append(attrs, "sources", v.Sources)
	}
	if v.BackupsCounted != nil {
		attrs = append(attrs, "backupsCounted", *v.BackupsCounted)
	}
	if v.Detail != "" {
		attrs = append(attrs, "detail", v.Detail)
	}
	if mute.Active(h.now()) {
		// Checked and logged, but the alert state holds its notices back.
		attrs = append(attrs, "mutedUntil", mute.Until.Format(time.RFC3339), "muteReason", mute.Reason)
	}

	// Publishing stops early enough for the write that clears a delivered
	// notice to fit before the deadline.
	noticeCtx := ctx
	if !b.publishBy.IsZero() {
		var cancel context.CancelFunc
		noticeCtx, cancel = context.WithDeadline(ctx, b.publishBy)
		defer cancel()
	}
	notices := h.notices(noticeCtx, log, v, t.run)
	var kinds, ids []string
	var publishErrs []error
	for _, n := range notices {
		id, err := alert.Publish(noticeCtx, h.publisher, h.cfg.TopicARN, alert.Compose(v, n))
		if err != nil {
			// The notice stays pending in the alert state: the first run
			// after the lease sends it, marked late.
			publishErrs = append(publishErrs, err)
			continue
		}
		kinds = append(kinds, noticeName(n))
		ids = append(ids, id)
		if h.state != nil && !n.ClaimedAt.IsZero() {
			// Clear the claim even when the deadline has passed.
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.deliver)
			if err := h.state.Delivered(dctx, n); err != nil {
				log.WarnContext(ctx, "notice sent but not marked delivered: a later run sends it again", "portal", v.Portal, "notice", noticeName(n), "error", err)
			}
			cancel()
		}
	}
	if len(kinds) > 0 {
		attrs = append(attrs, "notices", kinds, "alertMessageIds", ids)
	}
	h.writeMetrics(ctx, log, v)
	if err := errors.Join(publishErrs...); err != nil {
		// With the alert state the notice stays pending: a later run sends it.
		log.ErrorContext(ctx, "backup check: notice NOT published", append(attrs, "pending", h.state != nil, "error", err)...)
		return &v, fmt.Errorf("portal %s (%s): %w", v.Portal, v.Reason, err)
	}
	level := slog.LevelInfo
	if !v.Healthy() {
		level = slog.LevelWarn
	}
	log.Log(ctx, level, "backup check", attrs...)
	return &v, nil
}

// withoutMemory returns the reasons v judged, less those whose "fine"
// needs what the alert state remembers (an open failure whose progress
// item is gone, a schedule's first sight): without it, a run must not
// resolve them.
func withoutMemory(v backupcheck.Verdict) []backupcheck.Reason {
	var out []backupcheck.Reason
	for _, r := range v.Evaluated {
		_, failing := v.Problem(r)
		switch {
		case failing:
		case r == backupcheck.BackupFailed, r == backupcheck.BackupWarning, r == backupcheck.BackupStale:
			continue
		}
		out = append(out, r)
	}
	return out
}

func noticeName(n alertstate.Notice) string {
	s := string(n.Kind) + ":" + n.Reason
	if n.Late {
		s += ":late"
	}
	return s
}

// notices records v in the alert state and returns what to send. Without a
// store, or when the store is unavailable, every problem of v alerts: a
// duplicate beats silence.
func (h *handler) notices(ctx context.Context, log *slog.Logger, v backupcheck.Verdict, r fleet.Run) []alertstate.Notice {
	direct := func(ns []alertstate.Notice) []alertstate.Notice {
		for _, p := range v.Problems {
			if !hasNotice(ns, string(p.Reason)) {
				ns = append(ns, alertstate.Notice{Kind: alertstate.Alert, Portal: v.Portal, Reason: string(p.Reason), Since: v.At, Failures: 1})
			}
		}
		return ns
	}
	if h.state == nil {
		return direct(nil)
	}
	run := alertstate.Run{ID: r.ID, At: r.At}
	for _, r := range v.Failing() {
		run.Failing = append(run.Failing, string(r))
	}
	for _, r := range v.Evaluated {
		run.Evaluated = append(run.Evaluated, string(r))
	}
	if v.ScheduleSeen != nil {
		run.Schedule = alertstate.ScheduleAbsent
		if *v.ScheduleSeen {
			run.Schedule = alertstate.SchedulePresent
		}
	}
	ns, err := h.state.Record(ctx, v.Portal, run, h.now())
	switch {
	case err == nil:
		return ns
	case errors.Is(err, alertstate.ErrUnavailable):
		log.WarnContext(ctx, "alert state unavailable: alerting anyway, a duplicate beats silence", "portal", v.Portal, "error", err)
		return direct(ns)
	default:
		log.WarnContext(ctx, "alert state changed by an overlapping run; it sends the notice", "portal", v.Portal, "error", err)
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
	if h.metrics == nil || !h.cfg.PortalMetrics.Wants(v.Portal) {
		return
	}
	h.metricsMu.Lock()
	defer h.metricsMu.Unlock()
	if err := metrics.Write(h.metrics, h.cfg.MetricsNamespace, h.metricsLevel, v); err != nil {
		log.WarnContext(ctx, "metrics line not written", "portal", v.Portal, "error", err)
	}
}
