package alert

import (
	"strings"
	"testing"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/alertstate"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/backupcheck"
)

// TestSelfHostedAdviceHasNoBilling: a self-hosted server has no billing,
// so its alerts never send its admin to payments or the tariff, and name
// the backup service where the scheduler or a worker is the cause.
func TestSelfHostedAdviceHasNoBilling(t *testing.T) {
	at := time.Date(2026, 11, 29, 4, 0, 0, 0, time.UTC)
	for _, r := range backupcheck.Priority {
		if r == backupcheck.PaymentRequired || r == backupcheck.ServiceInactive {
			continue // a 402 and the wallet setting exist on cloud portals only
		}
		v := backupcheck.Verdict{Portal: "docs.example.org", Reason: r, Problems: []backupcheck.Problem{{Reason: r, Detail: "what happened"}}, At: at, Standalone: ptr(true)}
		m := Compose(v, alertstate.Notice{Kind: alertstate.Alert, Portal: v.Portal, Reason: string(r), Since: at, Failures: 1})
		low := strings.ToLower(m.Email)
		if strings.Contains(low, "payment") || strings.Contains(low, "tariff") || strings.Contains(low, "billing") {
			t.Errorf("self-hosted %s alert mentions billing:\n%s", r, m.Email)
		}
		if NextStepFor(v, r) == "" {
			t.Errorf("NextStepFor(self-hosted, %s) is empty", r)
		}
	}
	for _, r := range []backupcheck.Reason{backupcheck.BackupStale, backupcheck.BackupStuck} {
		if s := NextStepFor(backupcheck.Verdict{Standalone: ptr(true)}, r); !strings.Contains(s, "onlyoffice-backup-background-tasks") {
			t.Errorf("NextStepFor(self-hosted, %s) = %q, want the backup service named", r, s)
		}
	}
	// A cloud portal's stale advice still names the payments, and a
	// stuck job the provider.
	if s := NextStepFor(backupcheck.Verdict{Standalone: ptr(false)}, backupcheck.BackupStale); !strings.Contains(s, "payments") {
		t.Errorf("NextStepFor(cloud, backup_stale) = %q, want the payments", s)
	}
	if s := NextStepFor(backupcheck.Verdict{}, backupcheck.BackupStuck); !strings.Contains(s, "provider") {
		t.Errorf("NextStepFor(unknown kind, backup_stuck) = %q, want the provider", s)
	}
	for _, r := range []backupcheck.Reason{backupcheck.StorageUnavailable, backupcheck.BackupStuck} {
		if SeverityOf(r) != Critical {
			t.Errorf("SeverityOf(%s) = %s, want critical", r, SeverityOf(r))
		}
	}
}

func ptr[T any](v T) *T { return &v }
