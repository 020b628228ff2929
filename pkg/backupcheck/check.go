package backupcheck

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
)

// StateReader reads the portal's paid-backup wallet setting.
type StateReader interface {
	GetBackupServiceState(ctx context.Context) (docspace.ServiceState, docspace.Result, error)
}

// ScheduleReader reads a portal's backup schedule.
type ScheduleReader interface {
	GetBackupSchedule(ctx context.Context) (*docspace.Schedule, docspace.Result, error)
}

// HistoryReader reads a portal's list of stored backups.
type HistoryReader interface {
	GetBackupHistory(ctx context.Context) ([]docspace.HistoryRecord, docspace.Result, error)
}

// ProgressReader reads a portal's running or last queued backup job.
type ProgressReader interface {
	GetBackupProgress(ctx context.Context) (*docspace.Progress, docspace.Result, error)
}

// SettingsReader reads the portal's settings (self-hosted or not, status).
type SettingsReader interface {
	GetPortalSettings(ctx context.Context) (docspace.PortalSettings, docspace.Result, error)
}

// Reader is every part of *docspace.Client that Check needs. Check calls
// it from several goroutines at once.
type Reader interface {
	StateReader
	ScheduleReader
	HistoryReader
	ProgressReader
	SettingsReader
}

var _ Reader = (*docspace.Client)(nil)

// Signals selects the calls Check makes.
type Signals struct {
	// State asks for the paid-backup switch (service_inactive).
	State bool
	// Schedule asks for the schedule (no_schedule) and, since staleness
	// needs it, for the history too.
	Schedule bool
	// History asks for the history (backup_stale).
	History bool
	// Progress asks for the last job (backup_failed, backup_warning).
	Progress bool
}

// AllSignals turns every signal on.
func AllSignals() Signals { return Signals{State: true, Schedule: true, History: true, Progress: true} }

// FutureTolerance is how far in the future a history record may be dated
// (clock skew) before Check ignores it.
const FutureTolerance = time.Hour

// RunningJobGrace is how long past the staleness threshold Check waits
// for a backup job that is running before it calls the backup stale.
const RunningJobGrace = 12 * time.Hour

// Options tunes Check. The zero value checks nothing; use AllSignals.
type Options struct {
	Signals Signals
	// StaleAfter is how old the newest backup may be. Zero derives it from
	// the schedule (see StaleAfterFrom), or 26 h when the schedule is
	// unknown.
	StaleAfter time.Duration
	// FirstSeen is when the watcher first saw this portal's schedule, zero
	// if unknown. With no backup in the history it is the baseline from
	// which the first backup is awaited.
	FirstSeen time.Time
	// SelfHosted overrides what the settings route says: true means a
	// self-hosted server (enabled: false is then normal), false a cloud
	// portal. Nil asks the settings route when enabled is false.
	SelfHosted *bool
	// Standalone is what the settings route said about this portal on an
	// earlier run (its "standalone" member), nil if unknown. When it is set
	// and SelfHosted is nil, enabled: false is judged by it without asking
	// the route again; an empty 403 or 404 still asks the route (the
	// portal's status changes, its kind does not).
	Standalone *bool
	// Open holds, for the job reasons (BackupFailed, BackupWarning) that
	// the alert state has failing, when their streak began. Once the job's
	// progress item is gone, such a reason stays failing until the history
	// holds a backup newer than that.
	Open map[Reason]time.Time
}

// answers holds what the calls returned.
type answers struct {
	state       docspace.ServiceState
	stateErr    error
	sched       *docspace.Schedule
	schedErr    error
	history     []docspace.HistoryRecord
	historyErr  error
	prog        *docspace.Progress
	progErr     error
	settings    *docspace.PortalSettings
	settingsErr error
}

// Check asks the portal for the enabled signals, all at once, and judges
// every one of them (see the package documentation). The history is read
// when Schedule or History is on. The settings route is read only when
// needed: enabled is false and neither Options.SelfHosted nor
// Options.Standalone is set, or a call got an
// empty 403 or 404 (the portal's status tells a restore or a suspension
// from a key problem).
//
// The portal is stale when its newest backup (records dated more than
// FutureTolerance ahead ignored) is older than the threshold. With no
// backup in the history, the wait starts at the earliest of
// Options.FirstSeen and the schedule's lastBackupTime; the portal is stale
// once that baseline plus the threshold has passed, and never before the
// schedule's first due time after the baseline plus FirstBackupGrace. While
// a backup job runs, a portal up to RunningJobGrace past the threshold is
// not judged stale (nor fine) yet.
func Check(ctx context.Context, portal string, r Reader, opts Options, now time.Time) Verdict {
	now = now.UTC()
	v := Verdict{Portal: portal, At: now, Reason: Healthy}
	sig := opts.Signals
	readHistory := sig.Schedule || sig.History

	var a answers
	var mu sync.Mutex
	record := func(res docspace.Result) {
		mu.Lock()
		defer mu.Unlock()
		v.Calls += res.Attempts
		v.Result.Attempts += res.Attempts
		v.Result.Latency = max(v.Result.Latency, res.Latency)
		v.Result.StatusCode = max(v.Result.StatusCode, res.StatusCode)
	}
	var wg sync.WaitGroup
	if sig.State {
		wg.Go(func() {
			var res docspace.Result
			a.state, res, a.stateErr = r.GetBackupServiceState(ctx)
			record(res)
		})
	}
	if sig.Schedule {
		wg.Go(func() {
			var res docspace.Result
			a.sched, res, a.schedErr = r.GetBackupSchedule(ctx)
			record(res)
		})
	}
	if readHistory {
		wg.Go(func() {
			var res docspace.Result
			a.history, res, a.historyErr = r.GetBackupHistory(ctx)
			record(res)
		})
	}
	if sig.Progress {
		wg.Go(func() {
			var res docspace.Result
			a.prog, res, a.progErr = r.GetBackupProgress(ctx)
			record(res)
		})
	}
	wg.Wait()

	callErrs := []struct {
		what string
		err  error
	}{{"service state", a.stateErr}, {"schedule", a.schedErr}, {"history", a.historyErr}, {"progress", a.progErr}}
	needSettings := sig.State && a.stateErr == nil && !a.state.Enabled && opts.SelfHosted == nil && opts.Standalone == nil
	for _, c := range callErrs {
		if emptyRefusal(c.err) {
			needSettings = true
		}
	}
	if needSettings {
		st, res, err := r.GetPortalSettings(ctx)
		record(res)
		if err == nil {
			a.settings = &st
		}
		a.settingsErr = err
	}
	switch {
	case a.settings != nil:
		standalone := a.settings.Standalone
		v.Standalone = &standalone
	case opts.Standalone != nil:
		standalone := *opts.Standalone
		v.Standalone = &standalone
	}
	if opts.SelfHosted != nil {
		standalone := *opts.SelfHosted
		v.Standalone = &standalone
	}

	j := judge{v: &v, now: now}

	// The calls' own errors: one problem per reason, naming the first
	// call that gave it.
	failedCalls := 0
	for _, c := range callErrs {
		if c.err == nil {
			continue
		}
		failedCalls++
		reason, why := classify(c.err, a.settings, a.settingsErr)
		detail := fmt.Sprintf("reading the backup %s failed: %v", c.what, c.err)
		if why != "" {
			detail += "; " + why
		}
		j.fail(reason, detail)
	}
	if failedCalls == 0 {
		for _, r := range callReasons {
			j.fine(r)
		}
	}

	// service_inactive: the wallet setting, read for what it means here.
	if sig.State && a.stateErr == nil {
		enabled := a.state.Enabled
		v.Enabled = &enabled
		j.serviceState(enabled, opts.SelfHosted != nil, a.settingsErr)
	}

	// no_schedule.
	if sig.Schedule && a.schedErr == nil {
		seen := a.sched != nil
		v.ScheduleSeen = &seen
		switch {
		case a.sched == nil && v.Standalone != nil && *v.Standalone:
			j.fail(NoSchedule, "the self-hosted server shows no automatic backup schedule for the portal; if it backs up with a whole-server dump schedule, that shows only with the dump option on (DUMP, or \"dump\": true for the portal); otherwise set the automatic backup up in Settings > Backup")
		case a.sched == nil:
			j.fail(NoSchedule, "the portal has no automatic backup schedule; DocSpace deletes the schedule itself after a billing failure, so check the portal's payments and set the automatic backup up again")
		default:
			j.fine(NoSchedule)
			cron := a.sched.CronParams
			v.Schedule = &cron
			due := NextDue(cron, now)
			v.NextDue = &due
		}
	}

	// The newest backup, records from the future ignored.
	var future []time.Time
	if readHistory && a.historyErr == nil {
		var kept []docspace.HistoryRecord
		for _, rec := range a.history {
			if !rec.CreatedOn.Never() && rec.CreatedOn.After(now.Add(FutureTolerance)) {
				future = append(future, rec.CreatedOn.UTC())
				continue
			}
			kept = append(kept, rec)
		}
		if newest, ok := docspace.Newest(kept); ok {
			t := newest.CreatedOn.UTC()
			v.LastBackup = &t
		}
	}
	if p, ok := v.Problem(NoSchedule); ok && v.LastBackup != nil {
		j.set(NoSchedule, p.Detail+fmt.Sprintf("; the newest backup is from %s, %s ago", stamp(*v.LastBackup), hours(now.Sub(*v.LastBackup))))
	}

	// backup_failed and backup_warning.
	if sig.Progress {
		j.jobs(a, opts, readHistory)
	}

	// backup_stale: needs the history and, unless a threshold is given,
	// the schedule.
	if readHistory && a.historyErr == nil && (opts.StaleAfter > 0 || !sig.Schedule || a.schedErr == nil) {
		var running *docspace.Progress
		// A backup job that runs (a job only queued, status Created, does
		// not count: a worker that never starts it is what staleness is
		// for).
		if p := a.prog; sig.Progress && a.progErr == nil && p != nil && p.BackupProgressEnum == 0 && !p.Done() && !p.Failed() &&
			(p.Status == nil || *p.Status == docspace.ProgressRunning) {
			running = p
		}
		j.staleness(a.sched, opts, future, running)
	} else if readHistory {
		v.StaleAfter = 0
	}

	// The verdict's reason: the most urgent problem.
	slices.SortStableFunc(v.Problems, func(x, y Problem) int {
		return slices.Index(Priority, x.Reason) - slices.Index(Priority, y.Reason)
	})
	slices.SortFunc(v.Evaluated, func(x, y Reason) int { return strings.Compare(string(x), string(y)) })
	v.Evaluated = slices.Compact(v.Evaluated)
	if v.Evaluated == nil {
		v.Evaluated = []Reason{}
	}
	if len(v.Problems) > 0 {
		v.Reason, v.Detail = v.Problems[0].Reason, v.Problems[0].Detail
	} else {
		v.Detail = j.healthy
		if v.Detail == "" && v.Enabled != nil {
			v.Detail = "the portal reports the backup service as active (enabled: true)"
		}
	}
	return v
}

// judge collects a verdict's problems and judged reasons.
type judge struct {
	v   *Verdict
	now time.Time
	// healthy is the detail of a verdict without problems.
	healthy string
}

func (j *judge) fail(r Reason, detail string) {
	j.v.Evaluated = append(j.v.Evaluated, r)
	if _, ok := j.v.Problem(r); ok {
		return // the first call's explanation stands
	}
	j.v.Problems = append(j.v.Problems, Problem{Reason: r, Detail: detail})
}

func (j *judge) set(r Reason, detail string) {
	for i := range j.v.Problems {
		if j.v.Problems[i].Reason == r {
			j.v.Problems[i].Detail = detail
		}
	}
}

func (j *judge) fine(r Reason) { j.v.Evaluated = append(j.v.Evaluated, r) }

// emptyRefusal reports whether err is a 403 or 404 with an empty body,
// whose meaning the portal's status tells.
func emptyRefusal(err error) bool {
	var ae *docspace.APIError
	return errors.As(err, &ae) && ae.Body == docspace.BodyEmpty &&
		(ae.StatusCode == http.StatusForbidden || ae.StatusCode == http.StatusNotFound)
}

// classify maps a call's error to a reason and an explanation, reading an
// empty 403 or 404 with the portal's status from the settings route.
func classify(err error, settings *docspace.PortalSettings, settingsErr error) (Reason, string) {
	var ae *docspace.APIError
	if !errors.As(err, &ae) || ae.Body != docspace.BodyEmpty {
		return Classify(err), ""
	}
	var status *docspace.TenantStatus
	if settings != nil {
		status = settings.TenantStatus
	}
	switch ae.StatusCode {
	case http.StatusForbidden:
		if status != nil && status.Busy() {
			return PortalBusy, fmt.Sprintf("the portal's status is %s: it refuses the backup routes until that ends, which needs no action", status)
		}
		if status != nil {
			return PermissionDenied, fmt.Sprintf("the portal's status is %s, so the key's scopes refuse the backup routes: use a key with *:read (or no scopes)", status)
		}
		return PermissionDenied, fmt.Sprintf("the portal's status is unknown (settings route: %v): either the key's scopes lack *:read or the portal is being restored or transferred", settingsErr)
	case http.StatusNotFound:
		switch {
		case status != nil && (*status == docspace.TenantSuspended || *status == docspace.TenantRemovePending):
			return PortalSuspended, fmt.Sprintf("the portal's status is %s", status)
		case errors.Is(settingsErr, docspace.ErrNotFound):
			return PortalSuspended, "the settings route answers 404 too: the portal is being removed or does not exist"
		case status != nil:
			return BadResponse, fmt.Sprintf("the portal is %s, so the server lacks the route", status)
		}
	}
	return Classify(err), ""
}

// serviceState judges service_inactive. enabled: false is the normal
// answer of a self-hosted server and of a cloud portal with free backups
// left; on a cloud portal it warns that automatic backups stop being paid
// for once the free ones are used up.
func (j *judge) serviceState(enabled, overridden bool, settingsErr error) {
	v := j.v
	switch {
	case enabled:
		j.fine(ServiceInactive)
	case v.Standalone != nil && *v.Standalone:
		j.fine(ServiceInactive)
		j.healthy = "the portal is self-hosted: enabled: false is its normal answer and its backups are not paid per use"
		if overridden {
			j.healthy += " (self-hosted by configuration)"
		}
	case v.Standalone != nil:
		j.fail(ServiceInactive, "the cloud portal's paid-backup setting is off (enabled: false): automatic backups run on the free backups left this month and stop being paid for once they are used up; this does not mean backups stopped")
	case retriable(settingsErr):
		// Cannot tell self-hosted from cloud this run: leave it unjudged.
		j.healthy = fmt.Sprintf("enabled: false, and the settings route did not answer (%v): whether that is normal (self-hosted) is unknown this run", settingsErr)
	default:
		j.fail(ServiceInactive, fmt.Sprintf("the paid-backup setting is off (enabled: false) and the settings route, which tells a self-hosted server (where that is normal) from a cloud portal, was refused (%v); if the portal is self-hosted, set its selfHosted option", settingsErr))
	}
}

// retriable reports whether err may pass by itself (no answer, 429, 5xx).
func retriable(err error) bool {
	return Classify(err) == Unreachable
}

// jobs judges backup_failed and backup_warning from the last job and, once
// its progress item is gone, from the history.
func (j *judge) jobs(a answers, opts Options, haveHistory bool) {
	if a.progErr != nil {
		return
	}
	p := a.prog
	isBackup := p != nil && p.BackupProgressEnum == 0
	switch {
	case isBackup && p.Failed():
		j.fail(BackupFailed, failedDetail(p))
		j.fine(BackupWarning)
		return
	case isBackup && p.Done() && !p.Cancelled() && strings.TrimSpace(p.Warning) != "":
		j.fine(BackupFailed)
		j.fail(BackupWarning, fmt.Sprintf("the last backup job completed with a warning: %s", firstLine(p.Warning)))
		return
	case isBackup && p.Done() && !p.Cancelled():
		j.fine(BackupFailed)
		j.fine(BackupWarning)
		return
	}
	// No job (its progress item vanishes a day after its last change), a
	// cancelled or running one, or a restore: a failure seen before stays
	// until the history holds a newer backup.
	for _, r := range []Reason{BackupFailed, BackupWarning} {
		since, open := opts.Open[r]
		switch {
		case !open:
			j.fine(r)
		case !haveHistory || a.historyErr != nil:
			// Cannot tell this run.
		case j.v.LastBackup != nil && j.v.LastBackup.After(since):
			j.fine(r)
		default:
			what := "failed"
			if r == BackupWarning {
				what = "ended with a warning"
			}
			j.fail(r, fmt.Sprintf("the backup job that %s (first seen %s) is no longer shown, and no newer backup is in the history since", what, stamp(since)))
		}
	}
}

// staleness judges backup_stale and says why.
//
// A backup job that is running (running, nil when none) holds the verdict
// back for up to RunningJobGrace past the threshold: a big portal's job
// takes hours and starts late when the worker's queue is long. Meanwhile
// backup_stale is left unjudged: no alert, and no resolve.
func (j *judge) staleness(sched *docspace.Schedule, opts Options, future []time.Time, running *docspace.Progress) {
	v, now := j.v, j.now
	var cron *docspace.CronParams
	if sched != nil {
		cron = &sched.CronParams
	}
	staleAfter := opts.StaleAfter
	if staleAfter <= 0 {
		staleAfter = DailyStaleAfter
		if cron != nil {
			from := now
			if v.LastBackup != nil {
				from = *v.LastBackup
			}
			staleAfter = StaleAfterFrom(*cron, from)
		}
	}
	v.StaleAfter = staleAfter
	stale, detail := staleness(now, v.LastBackup, sched, staleAfter, opts)
	if len(future) > 0 {
		detail += fmt.Sprintf("; %d history record(s) dated in the future (the latest %s) were ignored: check the portal's clock", len(future), stamp(slices.MaxFunc(future, time.Time.Compare)))
	}
	if stale && running != nil && v.LastBackup != nil && now.Sub(*v.LastBackup) <= staleAfter+RunningJobGrace {
		detail += fmt.Sprintf("; a backup job is running (%d%%): the check waits for it, up to %s past the limit", running.Progress, hours(RunningJobGrace))
		j.addHealthy(detail)
		return
	}
	if stale {
		detail += queued(now, v.LastBackup, sched, staleAfter)
		j.fail(BackupStale, detail)
		return
	}
	if v.LastBackup != nil {
		// Without any backup in the history nothing is fine yet: the run
		// waits (a new schedule) or cannot tell, and must not resolve a
		// backup_stale that an earlier run found.
		j.fine(BackupStale)
	}
	if v.LastBackup != nil && v.NextDue != nil {
		detail += fmt.Sprintf("; the next run is due about %s", stamp(*v.NextDue))
	}
	j.addHealthy(detail)
}

// addHealthy adds detail to the detail of a verdict without problems.
func (j *judge) addHealthy(detail string) {
	if j.healthy == "" {
		j.healthy = detail
	} else {
		j.healthy += "; " + detail
	}
}

// queued says whether the scheduler still queues jobs: lastBackupTime is
// set when a job is queued, not when it succeeds.
func queued(now time.Time, last *time.Time, sched *docspace.Schedule, staleAfter time.Duration) string {
	if sched == nil {
		return ""
	}
	if sched.LastBackupTime.Never() {
		return "; no backup job was ever queued: the scheduler skips portals whose tariff is overdue, so look at the portal's payments"
	}
	q := sched.LastBackupTime.UTC()
	if (last == nil || q.After(*last)) && now.Sub(q) <= staleAfter {
		return fmt.Sprintf("; jobs are still being queued (the last at %s) but no backup lands: look at the backup storage (free space, credentials)", stamp(q))
	}
	return fmt.Sprintf("; no job was queued since %s: the scheduler skips portals whose tariff is overdue, so look at the portal's payments", stamp(q))
}

// staleness decides whether the portal is stale and says why.
func staleness(now time.Time, last *time.Time, sched *docspace.Schedule, staleAfter time.Duration, opts Options) (bool, string) {
	expects := fmt.Sprintf("the check expects one every %s", hours(staleAfter))
	if sched != nil {
		if opts.StaleAfter > 0 {
			expects = fmt.Sprintf("the %s schedule is checked against a limit of %s", sched.CronParams.Period, hours(staleAfter))
		} else {
			expects = fmt.Sprintf("the %s schedule expects one every %s", sched.CronParams.Period, hours(staleAfter))
		}
	}
	if last != nil {
		age := now.Sub(*last)
		return age > staleAfter, fmt.Sprintf("newest backup is from %s, %s ago; %s", stamp(*last), hours(age), expects)
	}

	// No backup in the history: wait from the earliest known start (when
	// the watcher first saw the schedule counts only while there is one).
	var base time.Time
	var since string
	if !opts.FirstSeen.IsZero() && sched != nil {
		base, since = opts.FirstSeen.UTC(), "the watcher first saw the schedule"
	}
	if sched != nil && !sched.LastBackupTime.Never() {
		if t := sched.LastBackupTime.UTC(); base.IsZero() || t.Before(base) {
			base, since = t, "the last backup job was queued"
		}
	}
	if base.IsZero() {
		if sched == nil {
			return false, "no backup in the history yet, and no known start to count from"
		}
		return false, fmt.Sprintf("no backup in the history yet; the %s schedule looks new and its first backup is due about %s (the schedule's hour is in the portal's time zone, read here as UTC)",
			sched.CronParams.Period, stamp(NextDue(sched.CronParams, now)))
	}
	deadline := base.Add(staleAfter)
	if sched != nil {
		if first := NextDue(sched.CronParams, base).Add(FirstBackupGrace); first.After(deadline) {
			deadline = first
		}
	}
	if now.After(deadline) {
		return true, fmt.Sprintf("no backup in the history, although %s at %s, %s ago; %s", since, stamp(base), hours(now.Sub(base)), expects)
	}
	return false, fmt.Sprintf("no backup in the history yet; %s at %s, and the first backup is expected by %s", since, stamp(base), stamp(deadline))
}

// failedDetail describes a failed job with the first line of the server's
// error text, cut short, so that no stack trace reaches an alert.
func failedDetail(p *docspace.Progress) string {
	msg := firstLine(p.Error)
	if msg == "" {
		return fmt.Sprintf("the last backup job ended with status %s", p.StatusName())
	}
	return fmt.Sprintf("the last backup job failed (status %s): %s", p.StatusName(), msg)
}

// firstLine returns the first line of s, trimmed and cut to 200 runes.
func firstLine(s string) string {
	msg := strings.TrimSpace(s)
	if i := strings.IndexAny(msg, "\r\n"); i >= 0 {
		msg = strings.TrimSpace(msg[:i])
	}
	if r := []rune(msg); len(r) > 200 {
		msg = string(r[:200]) + "..."
	}
	return msg
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// hours writes d in whole hours, adding days from a week up.
func hours(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	h := d.Round(time.Hour).Hours()
	if d >= 7*24*time.Hour {
		return fmt.Sprintf("%.0f h (%.1f days)", h, d.Hours()/24)
	}
	return fmt.Sprintf("%.0f h", h)
}
