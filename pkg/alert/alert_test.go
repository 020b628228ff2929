package alert

import (
	"strings"
	"testing"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/backupcheck"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
)

func TestCompose(t *testing.T) {
	off := false
	at := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		v    backupcheck.Verdict
		want []string
	}{
		{"inactive", backupcheck.Verdict{Portal: "portal.example.com", Reason: backupcheck.ServiceInactive, At: at, Enabled: &off, Result: docspace.Result{StatusCode: 200, Attempts: 1}},
			[]string{"portal.example.com", "service_inactive", "2026-11-29T03:00:00Z", `{"enabled":false}`, "What to do"}},
		{"forbidden", backupcheck.Verdict{Portal: "portal.example.com", Reason: backupcheck.PermissionDenied, At: at, Detail: "403 Access denied"},
			[]string{"permission_denied", "403 Access denied", "owner or admin"}},
		{"long unicode host", backupcheck.Verdict{Portal: strings.Repeat("ü", 80) + ".example.com", Reason: backupcheck.Unreachable, At: at}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Compose(tt.v)
			if len(m.Subject) > MaxSubjectLen {
				t.Errorf("Compose().Subject length = %d, want <= %d", len(m.Subject), MaxSubjectLen)
			}
			for _, r := range m.Subject {
				if r > 0x7e {
					t.Errorf("Compose().Subject = %q, want ASCII", m.Subject)
					break
				}
			}
			if !strings.Contains(m.Subject, "DocSpace backup alert") {
				t.Errorf("Compose().Subject = %q, want the product prefix", m.Subject)
			}
			for _, w := range tt.want {
				if !strings.Contains(m.Body, w) {
					t.Errorf("Compose().Body = %q, want it to contain %q", m.Body, w)
				}
			}
		})
	}
}
