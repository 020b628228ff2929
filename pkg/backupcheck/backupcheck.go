// Package backupcheck turns a DocSpace portal's answers into a verdict:
// every problem found, each with its own reason, and the reasons the run
// could judge.
//
// Check asks the portal's routes (the backup state, the schedule, the last
// job, the settings route, then the count route, and the history only when
// it adds something) and judges every signal it got:
// a call that fails stops only the judgments that depend on it, and no
// reason hides another. A reason the run could not judge is left out of
// Verdict.Evaluated, so that the alert state neither counts it as failing
// nor as fine.
package backupcheck

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
)

// Reason names a problem a portal can have.
type Reason string

// Reasons a verdict can carry.
const (
	Healthy Reason = "healthy"
	// ServiceInactive: the paid-backup wallet setting is off on a cloud
	// portal (enabled: false): once the free backups are used up,
	// automatic backups stop being paid for. Never on a self-hosted server.
	ServiceInactive Reason = "service_inactive"
	// PermissionDenied: 401, a 403 from a user who is not owner or admin,
	// or an empty 403 on an active portal (the key's scopes).
	PermissionDenied Reason = "permission_denied"
	// PaymentRequired: 402, the portal is not paid for.
	PaymentRequired Reason = "payment_required"
	Unreachable     Reason = "unreachable"
	BadResponse     Reason = "bad_response"
	// NoSchedule: the portal has no automatic backup schedule. The server
	// deletes the schedule itself after a billing failure.
	NoSchedule Reason = "no_schedule"
	// BackupStale: the newest backup is older than the schedule allows.
	BackupStale Reason = "backup_stale"
	// BackupFailed: the last backup job failed (a non-empty error, whatever
	// its status), and no newer backup or clean job came since.
	BackupFailed Reason = "backup_failed"
	// BackupWarning: the last backup job ended with a warning such as
	// missing files: the backup exists but is incomplete.
	BackupWarning Reason = "backup_warning"
	// PortalBusy: the portal is being restored, transferred, migrated or
	// encrypted and refuses the backup routes for a while (empty 403).
	PortalBusy Reason = "portal_busy"
	// PortalSuspended: the portal is suspended or being removed (empty 404).
	PortalSuspended Reason = "portal_suspended"
	// IPRestricted: the portal's IP restriction refuses the watcher.
	IPRestricted Reason = "ip_restricted"
	// StorageUnavailable: the server cannot reach the backup storage
	// (credentials, network): reading the history, it answered 500 with
	// the storage's message. Backups cannot land there.
	StorageUnavailable Reason = "storage_unavailable"
	// BackupStuck: a backup job has been Running far longer than a backup
	// takes since the schedule queued it: its worker died, and while the
	// job stays Running the scheduler drops new scheduled jobs.
	BackupStuck Reason = "backup_stuck"
)

// Priority lists the failing reasons, most urgent first: the verdict's
// Reason is the first of its problems in this order.
var Priority = []Reason{
	PermissionDenied, IPRestricted, PortalSuspended, PaymentRequired, PortalBusy, Unreachable, BadResponse,
	NoSchedule, StorageUnavailable, BackupStuck, BackupFailed, BackupStale, BackupWarning, ServiceInactive,
}

// callReasons are the reasons a failing call gives.
var callReasons = []Reason{PermissionDenied, IPRestricted, PortalSuspended, PaymentRequired, PortalBusy, Unreachable, BadResponse}

// Problem is one thing wrong with a portal.
type Problem struct {
	Reason Reason `json:"reason"`
	Detail string `json:"detail"`
}

// Verdict is the outcome of one check of one portal.
type Verdict struct {
	Portal string `json:"portal"`
	// Reason is the most urgent problem's reason (see Priority), or
	// Healthy when there is none.
	Reason Reason `json:"reason"`
	// Detail explains Reason; for a healthy portal it sums up the state.
	Detail string `json:"detail,omitempty"`
	// Problems are every problem found, most urgent first.
	Problems []Problem `json:"problems,omitempty"`
	// Evaluated are the reasons this run could judge, failing or fine. A
	// reason missing from it is unknown this run: its alert state must not
	// change.
	Evaluated []Reason  `json:"evaluated"`
	At        time.Time `json:"at"`
	Enabled   *bool     `json:"enabled,omitempty"`
	// Standalone is true on a self-hosted server; nil when unknown.
	Standalone *bool `json:"standalone,omitempty"`
	// ServerVersion is the server's version from the settings route, ""
	// when unknown.
	ServerVersion string `json:"serverVersion,omitempty"`
	// Zone is the portal's time zone, in which the schedule's hour and
	// the due times are read; "" when unknown (UTC assumed, which Detail
	// says).
	Zone string `json:"zone,omitempty"`
	// Sources names, for each judged reason, the signal it was judged
	// from: "count" (the count route, no side effect), "history" (read
	// this run), "history (remembered)" (an earlier run's read),
	// "progress", "schedule", "state+settings", "progress+schedule".
	Sources map[Reason]string `json:"sources,omitempty"`
	// HistoryRead says whether this run read the history (which asks the
	// storage about every record and may remove records).
	HistoryRead bool `json:"historyRead"`
	// BackupsCounted is how many backups the count route counts in the
	// staleness window; nil when it was not asked.
	BackupsCounted *int `json:"backupsCounted,omitempty"`
	// Facts is what the settings route said this run, nil when it was not
	// asked: a caller may keep it for later runs (Options.Facts).
	Facts *Facts `json:"-"`
	// Result sums up the calls: the worst (highest) status code seen, the
	// total attempts, and the latency of the longest call.
	Result docspace.Result `json:"result"`
	// LastBackup is the newest backup in the history (records dated in the
	// future ignored), nil when unknown or the history was not read this
	// run.
	LastBackup *time.Time `json:"lastBackup,omitempty"`
	// NextDue is the schedule's next run after At, in the portal's time
	// zone (UTC when unknown).
	NextDue *time.Time `json:"nextDue,omitempty"`
	// StaleAfter is the staleness threshold used, zero when freshness
	// was not checked. It is written in milliseconds, as staleAfterMs.
	StaleAfter time.Duration `json:"-"`
	// Schedule is the portal's backup schedule, nil when it has none or
	// it was not checked.
	Schedule *docspace.CronParams `json:"schedule,omitempty"`
	// ScheduleSeen says whether the schedule route answered with a
	// schedule (true) or without one (false); nil when it was not read.
	ScheduleSeen *bool `json:"scheduleSeen,omitempty"`
	// Calls is the number of HTTP requests made, retries included.
	Calls int `json:"calls"`
}

// Healthy reports whether the verdict found no problem.
func (v Verdict) Healthy() bool { return len(v.Problems) == 0 && v.Reason == Healthy }

// Failing returns the reasons of the verdict's problems.
func (v Verdict) Failing() []Reason {
	out := make([]Reason, 0, len(v.Problems))
	for _, p := range v.Problems {
		out = append(out, p.Reason)
	}
	return out
}

// Problem returns the problem of reason r, if the verdict has it.
func (v Verdict) Problem(r Reason) (Problem, bool) {
	for _, p := range v.Problems {
		if p.Reason == r {
			return p, true
		}
	}
	return Problem{}, false
}

// Judged reports whether the run could judge reason r.
func (v Verdict) Judged(r Reason) bool { return slices.Contains(v.Evaluated, r) }

// HoursSinceLastBackup returns the hours between the newest backup and
// the verdict's time; false when the newest backup is unknown.
func (v Verdict) HoursSinceLastBackup() (float64, bool) {
	if v.LastBackup == nil {
		return 0, false
	}
	return v.At.Sub(*v.LastBackup).Hours(), true
}

// Classify maps a client error to a reason, without the settings route's
// help: an empty 403 reads as PermissionDenied and an empty 404 as
// BadResponse (see Check for the finer reading); another 4xx but 408 and
// 429 (the portal, or a proxy in front of it, answered and refused the
// request as made) is BadResponse; nil is Healthy.
func Classify(err error) Reason {
	var bad *docspace.BadResponseError
	var ae *docspace.APIError
	switch {
	case err == nil:
		return Healthy
	case errors.Is(err, docspace.ErrIPRestricted):
		return IPRestricted
	case errors.Is(err, docspace.ErrPermissionDenied):
		return PermissionDenied
	case errors.Is(err, docspace.ErrPaymentRequired):
		return PaymentRequired
	case errors.As(err, &bad), errors.Is(err, docspace.ErrNotFound):
		return BadResponse
	case errors.As(err, &ae) && ae.StatusCode >= 400 && ae.StatusCode < 500 &&
		ae.StatusCode != http.StatusRequestTimeout && ae.StatusCode != http.StatusTooManyRequests:
		return BadResponse
	default:
		return Unreachable
	}
}
