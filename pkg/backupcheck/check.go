package backupcheck

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
)

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

// Reader is every part of *docspace.Client that Check needs.
type Reader interface {
	StateReader
	ScheduleReader
	HistoryReader
	ProgressReader
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
	// Progress asks for the last job (backup_failed).
	Progress bool
}

// AllSignals turns every signal on.
func AllSignals() Signals { return Signals{State: true, Schedule: true, History: true, Progress: true} }

// Options tunes Check. The zero value checks nothing; use AllSignals.
type Options struct {
	Signals Signals
	// StaleAfter is how old the newest backup may be. Zero derives it from
	// the schedule (see StaleAfter), or 26 h when the schedule is unknown.
	StaleAfter time.Duration
	// FirstSeen is when the watcher first saw this portal's schedule, zero
	// if unknown. With no backup in the history it is the baseline from
	// which the first backup is awaited.
	FirstSeen time.Time
}

// Check asks the portal for the enabled signals, in the order state,
// schedule, history, progress, and returns one verdict with one reason.
// The history is read when Schedule or History is on.
//
// Reasons, by priority: an error from any call (the first one; see
// Classify), service_inactive, no_schedule, backup_failed, backup_stale,
// healthy. A call after the first error is not made.
//
// The portal is stale when its newest backup is older than the threshold
// (Options.StaleAfter, else StaleAfter of the schedule, else 26 h). With
// no backup in the history, the wait starts at the earliest of
// Options.FirstSeen and the schedule's lastBackupTime; the portal is stale
// once that baseline plus the threshold has passed, and never before the
// schedule's first due time after the baseline plus FirstBackupGrace.
// Without a baseline the schedule is taken as new and not stale.
func Check(ctx context.Context, portal string, r Reader, opts Options, now time.Time) Verdict {
	now = now.UTC()
	v := Verdict{Portal: portal, At: now, Reason: Healthy}
	sig := opts.Signals
	// record adds a call's result to the verdict and, on error, sets the
	// verdict's reason; it reports whether the call succeeded.
	record := func(what string, res docspace.Result, err error) bool {
		v.Calls += res.Attempts
		v.Result.Attempts += res.Attempts
		v.Result.Latency += res.Latency
		v.Result.StatusCode = max(v.Result.StatusCode, res.StatusCode)
		if err != nil {
			v.Reason = Classify(err)
			v.Detail = fmt.Sprintf("reading the backup %s failed: %v", what, err)
			return false
		}
		return true
	}

	if sig.State {
		st, res, err := r.GetBackupServiceState(ctx)
		if !record("service state", res, err) {
			return v
		}
		enabled := st.Enabled
		v.Enabled = &enabled
	}
	var sched *docspace.Schedule
	if sig.Schedule {
		s, res, err := r.GetBackupSchedule(ctx)
		if !record("schedule", res, err) {
			return v
		}
		sched = s
	}
	var history []docspace.HistoryRecord
	readHistory := sig.Schedule || sig.History
	if readHistory {
		h, res, err := r.GetBackupHistory(ctx)
		if !record("history", res, err) {
			return v
		}
		history = h
	}
	var prog *docspace.Progress
	if sig.Progress {
		p, res, err := r.GetBackupProgress(ctx)
		if !record("progress", res, err) {
			return v
		}
		prog = p
	}

	if sched != nil {
		cron := sched.CronParams
		v.Schedule = &cron
		due := NextDue(cron, now)
		v.NextDue = &due
	}
	if newest, ok := docspace.Newest(history); ok {
		t := newest.CreatedOn.UTC()
		v.LastBackup = &t
	}

	if readHistory {
		v.StaleAfter = opts.StaleAfter
		if v.StaleAfter <= 0 {
			v.StaleAfter = DailyStaleAfter
			if sched != nil {
				v.StaleAfter = StaleAfter(sched.CronParams)
			}
		}
	}

	switch {
	case v.Enabled != nil && !*v.Enabled:
		v.Reason = ServiceInactive
		v.Detail = "the portal reports the backup service as inactive (enabled: false): the paid-backup switch is off, so automatic backups may not run"
	case sig.Schedule && sched == nil:
		v.Reason = NoSchedule
		v.Detail = "the portal has no automatic backup schedule; DocSpace deletes the schedule itself after a billing failure, so check the portal's payments and set the automatic backup up again"
		if v.LastBackup != nil {
			v.Detail += fmt.Sprintf("; the newest backup is from %s, %s ago", stamp(*v.LastBackup), hours(now.Sub(*v.LastBackup)))
		}
	case prog != nil && prog.Failed() && prog.BackupProgressEnum == 0: // a failed restore or transfer is not a failed backup
		v.Reason = BackupFailed
		v.Detail = failedDetail(prog)
	case readHistory:
		stale, detail := staleness(now, v.LastBackup, sched, v.StaleAfter, opts)
		v.Detail = detail
		if stale {
			v.Reason = BackupStale
		} else if v.LastBackup != nil && v.NextDue != nil {
			v.Detail += fmt.Sprintf("; the next run is due about %s", stamp(*v.NextDue))
		}
	case v.Enabled != nil:
		v.Detail = "the portal reports the backup service as active (enabled: true)"
	}
	return v
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
		if age > staleAfter {
			return true, fmt.Sprintf("newest backup is from %s, %s ago; %s", stamp(*last), hours(age), expects)
		}
		return false, fmt.Sprintf("newest backup is from %s, %s ago; %s", stamp(*last), hours(age), expects)
	}

	// No backup in the history: wait from the earliest known start.
	var base time.Time
	var since string
	if !opts.FirstSeen.IsZero() {
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
	msg := strings.TrimSpace(p.Error)
	if i := strings.IndexAny(msg, "\r\n"); i >= 0 {
		msg = strings.TrimSpace(msg[:i])
	}
	if r := []rune(msg); len(r) > 200 {
		msg = string(r[:200]) + "..."
	}
	if msg == "" {
		return fmt.Sprintf("the last backup job ended with status %s", p.StatusName())
	}
	return fmt.Sprintf("the last backup job failed (status %s): %s", p.StatusName(), msg)
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
