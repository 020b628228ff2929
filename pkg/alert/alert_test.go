package alert

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/alertstate"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/backupcheck"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
)

var (
	at       = time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	since    = time.Date(2026, 11, 28, 3, 15, 0, 0, time.UTC)
	lastGood = time.Date(2026, 11, 24, 2, 0, 4, 0, time.UTC)
	nextDue  = time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC)
)

func staleVerdict(portal string) backupcheck.Verdict {
	return backupcheck.Verdict{
		Portal: portal, Reason: backupcheck.BackupStale, At: at,
		Detail:     "newest backup is from 2026-11-24T02:00:04Z, 127 h ago; the daily schedule expects one every 26 h",
		LastBackup: &lastGood, NextDue: &nextDue,
		Schedule: &docspace.CronParams{Period: docspace.PeriodDaily, Hour: 2},
		Result:   docspace.Result{StatusCode: 200, Attempts: 4},
	}
}

func TestCompose(t *testing.T) {
	tests := []struct {
		name         string
		v            backupcheck.Verdict
		n            alertstate.Notice
		wantSeverity Severity
		wantSubject  string
		wantEmail    []string
	}{
		{
			name: "alert", v: staleVerdict("portal.example.com"),
			n:            alertstate.Notice{Kind: alertstate.Alert, Reason: "backup_stale", Since: since, Failures: 1},
			wantSeverity: Critical, wantSubject: "DocSpace backup critical: backup_stale on portal.example.com",
			wantEmail: []string{"Portal: portal.example.com", "Problem: backup_stale", "Failing since: 2026-11-28T03:15:00Z", "Last successful backup: 2026-11-24T02:00:04Z", "Next backup due: 2026-11-30T02:00:00Z", "What to do: Open Settings > Backup", "schedule daily at hour 2"},
		},
		{
			name: "reminder", v: staleVerdict("portal.example.com"),
			n:            alertstate.Notice{Kind: alertstate.Reminder, Reason: "backup_stale", Since: since, Failures: 97, LastNotified: since},
			wantSeverity: Critical, wantSubject: "DocSpace backup still failing: backup_stale on portal.example.com",
			wantEmail: []string{"Reminder: still failing; previous notice at 2026-11-28T03:15:00Z", "(97 failing run(s))"},
		},
		{
			name: "resolved", v: backupcheck.Verdict{Portal: "portal.example.com", Reason: backupcheck.Healthy, At: at, LastBackup: &at, Detail: "newest backup is from 2026-11-29T09:00:00Z, 0 h ago"},
			n:            alertstate.Notice{Kind: alertstate.Resolved, Reason: "backup_stale", Since: since, Failures: 20},
			wantSeverity: Resolved, wantSubject: "DocSpace backup resolved: backup_stale on portal.example.com",
			wantEmail: []string{"Resolved: backup_stale", "It was failing since: 2026-11-28T03:15:00Z (20 failing run(s))", "Now: healthy", "Last successful backup: 2026-11-29T09:00:00Z"},
		},
		{
			name: "warning without a notice from the state store", v: backupcheck.Verdict{Portal: "p.example.com", Reason: backupcheck.Unreachable, At: at, Detail: "giving up after 3 attempt(s)"},
			n:            alertstate.Notice{Kind: alertstate.Alert},
			wantSeverity: Warning, wantSubject: "DocSpace backup warning: unreachable on p.example.com",
			wantEmail: []string{"Failing since: 2026-11-29T09:00:00Z (1 failing run(s))", "Last successful backup: unknown", "Raw state: no valid answer"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Compose(tt.v, tt.n)
			if m.Severity != tt.wantSeverity || m.Subject != tt.wantSubject {
				t.Errorf("Compose() severity, subject = %s, %q; want %s, %q", m.Severity, m.Subject, tt.wantSeverity, tt.wantSubject)
			}
			for _, want := range tt.wantEmail {
				if !strings.Contains(m.Email, want) {
					t.Errorf("Compose() email lacks %q:\n%s", want, m.Email)
				}
			}
			if m.Default != m.Email {
				t.Errorf("Compose() default differs from email")
			}
			checkSMS(t, m.SMS)
		})
	}
}

func checkSMS(t *testing.T, sms string) {
	t.Helper()
	if len(sms) > MaxSMSLen || sms == "" {
		t.Errorf("SMS %q has %d characters, want 1..%d", sms, len(sms), MaxSMSLen)
	}
	for _, r := range sms {
		if r > 0x7e || strings.ContainsRune("[]{}\\^|~`", r) {
			t.Errorf("SMS %q holds %q, outside the GSM-7 basic set", sms, r)
		}
	}
}

func TestComposeLimitsHostileInput(t *testing.T) {
	v := staleVerdict(strings.Repeat("très-long-portal-🚀.", 20) + "example.com")
	m := Compose(v, alertstate.Notice{Kind: alertstate.Alert, Reason: "backup_stale", Since: since})
	if len(m.Subject) > MaxSubjectLen || !utf8.ValidString(m.Subject) {
		t.Errorf("subject %q has %d bytes, want at most %d", m.Subject, len(m.Subject), MaxSubjectLen)
	}
	for _, r := range m.Subject {
		if r < 0x20 || r > 0x7e {
			t.Errorf("subject %q is not printable ASCII", m.Subject)
		}
	}
	checkSMS(t, m.SMS)
}

func TestSeverityOf(t *testing.T) {
	for reason, want := range map[backupcheck.Reason]Severity{
		backupcheck.BackupStale: Critical, backupcheck.BackupFailed: Critical, backupcheck.NoSchedule: Critical,
		backupcheck.PermissionDenied: Critical, backupcheck.PaymentRequired: Critical,
		backupcheck.ServiceInactive: Warning, backupcheck.Unreachable: Warning, backupcheck.BadResponse: Warning,
	} {
		if got := SeverityOf(reason); got != want {
			t.Errorf("SeverityOf(%s) = %s, want %s", reason, got, want)
		}
		if nextSteps[reason] == "" {
			t.Errorf("no next step for %s", reason)
		}
	}
}

// TestComposeEachProblemAndLate: a verdict with several problems gives each
// notice its own problem's detail; a notice an earlier run could not
// deliver says it is late and when it was due; a notice of a reason this
// run could not judge says so.
func TestComposeEachProblemAndLate(t *testing.T) {
	v := staleVerdict("portal.example.com")
	v.Problems = []backupcheck.Problem{
		{Reason: backupcheck.BackupFailed, Detail: "the last backup job failed (status Completed): quota exceeded"},
		{Reason: backupcheck.BackupStale, Detail: v.Detail},
	}
	v.Reason, v.Detail = backupcheck.BackupFailed, v.Problems[0].Detail

	m := Compose(v, alertstate.Notice{Kind: alertstate.Alert, Reason: "backup_stale", Since: since, Failures: 1})
	if !strings.Contains(m.Email, "What happened: newest backup is from 2026-11-24T02:00:04Z") || strings.Contains(m.Email, "quota exceeded") {
		t.Errorf("stale notice body = %q, want the stale problem's detail only", m.Email)
	}
	if strings.Contains(m.Subject, "late") || strings.Contains(m.Email, "Late:") {
		t.Errorf("on-time notice = %q / %q, want no late note", m.Subject, m.Email)
	}

	late := Compose(v, alertstate.Notice{Kind: alertstate.Alert, Reason: "backup_failed", Since: since, Failures: 1, Late: true, DueAt: since})
	if !strings.HasPrefix(late.Subject, "[late] DocSpace backup critical: backup_failed") || !strings.Contains(late.Email, "Late: this notice was due at 2026-11-28T03:15:00Z") {
		t.Errorf("late notice = %q / %q, want it marked late with its due time", late.Subject, late.Email)
	}
	if !strings.HasPrefix(late.SMS, "LATE CRITICAL") {
		t.Errorf("late SMS = %q, want it marked late", late.SMS)
	}

	unjudged := Compose(v, alertstate.Notice{Kind: alertstate.Alert, Reason: "no_schedule", Since: since, Failures: 1, Late: true, DueAt: since})
	if !strings.Contains(unjudged.Email, "this run could not judge no_schedule") {
		t.Errorf("notice of an unjudged reason = %q, want it to say so", unjudged.Email)
	}
	for _, r := range backupcheck.Priority {
		if nextSteps[r] == "" {
			t.Errorf("reason %s has no advice", r)
		}
	}
}
