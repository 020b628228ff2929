// Package backupcheck turns a DocSpace portal's answers into one verdict:
// healthy, or a reason that needs a person.
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
)

// StateReader is the part of *docspace.Client a check needs.
type StateReader interface {
	GetBackupServiceState(ctx context.Context) (docspace.ServiceState, docspace.Result, error)
}

var _ StateReader = (*docspace.Client)(nil)

// Verdict is the outcome of one check of one portal.
type Verdict struct {
	Portal  string          `json:"portal"`
	Reason  Reason          `json:"reason"`
	Detail  string          `json:"detail,omitempty"`
	At      time.Time       `json:"at"`
	Enabled *bool           `json:"enabled,omitempty"`
	Result  docspace.Result `json:"result"`
}

// Healthy reports whether the verdict needs no alert.
func (v Verdict) Healthy() bool { return v.Reason == Healthy }

// Run asks the portal for its backup state and classifies the answer.
func Run(ctx context.Context, portal string, r StateReader, now func() time.Time) Verdict {
	st, res, err := r.GetBackupServiceState(ctx)
	v := Verdict{Portal: portal, At: now().UTC(), Result: res, Reason: Classify(err)}
	if err != nil {
		v.Detail = err.Error()
		return v
	}
	enabled := st.Enabled
	v.Enabled = &enabled
	if !enabled {
		v.Reason = ServiceInactive
		v.Detail = "the portal reports the backup service as inactive (enabled: false)"
	}
	return v
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
