// Package backupcheck turns a DocSpace portal's answers into one verdict:
// healthy, or a reason that needs a person.
//
// Run looks at the backup service state only. Check also reads the backup
// schedule, history and last job, so that it sees a schedule the server
// deleted (no_schedule), a failed job (backup_failed) and backups that
// stopped (backup_stale).
package backupcheck

import (
	"context"
	"errors"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
)

// Reason names why a portal is not healthy.
type Reason string

// Reasons a verdict can carry.
const (
	Healthy          Reason = "healthy"
	ServiceInactive  Reason = "service_inactive"
	PermissionDenied Reason = "permission_denied"
	PaymentRequired  Reason = "payment_required"
	Unreachable      Reason = "unreachable"
	BadResponse      Reason = "bad_response"
	// NoSchedule: the portal has no automatic backup schedule. The server
	// deletes the schedule itself after a billing failure.
	NoSchedule Reason = "no_schedule"
	// BackupStale: the newest backup is older than the schedule allows.
	BackupStale Reason = "backup_stale"
	// BackupFailed: the last backup job failed.
	BackupFailed Reason = "backup_failed"
)

// StateReader is the part of *docspace.Client a check needs.
type StateReader interface {
	GetBackupServiceState(ctx context.Context) (docspace.ServiceState, docspace.Result, error)
}

var _ StateReader = (*docspace.Client)(nil)

// Verdict is the outcome of one check of one portal.
type Verdict struct {
	Portal  string    `json:"portal"`
	Reason  Reason    `json:"reason"`
	Detail  string    `json:"detail,omitempty"`
	At      time.Time `json:"at"`
	Enabled *bool     `json:"enabled,omitempty"`
	// Result sums up the calls: the worst (highest) status code seen, the
	// total attempts and the total latency.
	Result docspace.Result `json:"result"`
	// LastBackup is the newest backup in the history, nil when unknown.
	LastBackup *time.Time `json:"lastBackup,omitempty"`
	// NextDue is the schedule's next run after At (hour taken as UTC).
	NextDue *time.Time `json:"nextDue,omitempty"`
	// StaleAfter is the staleness threshold used, zero when the history
	// was not checked.
	StaleAfter time.Duration `json:"staleAfterNs,omitempty"`
	// Schedule is the portal's backup schedule, nil when it has none or
	// it was not checked.
	Schedule *docspace.CronParams `json:"schedule,omitempty"`
	// Calls is the number of HTTP requests made, retries included.
	Calls int `json:"calls"`
}

// Healthy reports whether the verdict needs no alert.
func (v Verdict) Healthy() bool { return v.Reason == Healthy }

// HoursSinceLastBackup returns the hours between the newest backup and
// the verdict's time; false when the newest backup is unknown.
func (v Verdict) HoursSinceLastBackup() (float64, bool) {
	if v.LastBackup == nil {
		return 0, false
	}
	return v.At.Sub(*v.LastBackup).Hours(), true
}

// Classify maps a client error to a reason; nil is Healthy.
func Classify(err error) Reason {
	var bad *docspace.BadResponseError
	switch {
	case err == nil:
		return Healthy
	case errors.Is(err, docspace.ErrPermissionDenied):
		return PermissionDenied
	case errors.Is(err, docspace.ErrPaymentRequired):
		return PaymentRequired
	case errors.As(err, &bad), errors.Is(err, docspace.ErrNotFound):
		return BadResponse
	default:
		return Unreachable
	}
}
