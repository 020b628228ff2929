package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/docspace-backup-watch/docspace-backup-watch/internal/localrun"
	"github.com/docspace-backup-watch/docspace-backup-watch/internal/motoserver"
)

// TestDemoShowsEveryCase runs the demo as `make demo` does and checks that
// each step shows its log line and the alert it should (or none).
func TestDemoShowsEveryCase(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo builds and runs the function; skipped with -short")
	}
	var out bytes.Buffer
	err := run(context.Background(), &out)
	if errors.Is(err, motoserver.ErrNotInstalled) && os.Getenv("CI") == "" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatalf("run() error = %v\n%s", err, out.String())
	}
	sections := strings.Split(out.String(), "\n=== ")[1:]
	want := []struct{ outcome, alert string }{
		{`"outcome":"healthy"`, "Alerts in the queue: none"},
		{`"outcome":"service_inactive"`, "Subject: DocSpace backup warning: service_inactive on 127.0.0.1:"},
		{`"outcome":"permission_denied"`, "Subject: DocSpace backup critical: permission_denied on 127.0.0.1:"},
		{`"outcome":"backup_stale"`, "Subject: DocSpace backup critical: backup_stale on 127.0.0.1:"},
		{`"outcome":"backup_stale"`, "Alerts in the queue: none"},
		{`"outcome":"healthy"`, "Subject: DocSpace backup resolved: backup_stale on 127.0.0.1:"},
	}
	if len(sections) != len(want) {
		t.Fatalf("demo printed %d steps, want %d:\n%s", len(sections), len(want), out.String())
	}
	for i, w := range want {
		if !strings.Contains(sections[i], w.outcome) || !strings.Contains(sections[i], w.alert) {
			t.Errorf("step %d = %s\nwant %s and %q", i+1, sections[i], w.outcome, w.alert)
		}
	}
	for i, sec := range sections {
		if !strings.Contains(sec, "Emulator's REPORT line (its own figures") {
			t.Errorf("step %d does not label the emulator's REPORT line as the emulator's:\n%s", i+1, sec)
		}
	}
	// One chat notice, the first notice's: the inactive service's warning.
	if n := strings.Count(out.String(), "or a webhook receives it (shown once)"); n != 1 || !strings.Contains(sections[1], `"textType": "client-markdown"`) || !strings.Contains(sections[1], `"title": ":warning: WARNING: service_inactive on 127.0.0.1:`) {
		t.Errorf("demo shows %d chat notices, want the inactive service's warning once:\n%s", n, out.String())
	}
	if !strings.Contains(out.String(), "in its responses or in an alert (the demo checked each)") {
		t.Errorf("demo does not end with its checked claim:\n%s", out.String())
	}
	if strings.Contains(out.String(), demoKey) || strings.Contains(out.String(), "BackupController.cs") {
		t.Errorf("demo output leaks the key or the server's stack trace")
	}
}

// TestKeyLeak checks that the demo's closing claim covers the log, the
// responses and the alerts.
func TestKeyLeak(t *testing.T) {
	const key = "sk-demo-leak-test-0000"
	clean := localrun.Invocation{Response: []byte(`{"verdicts":[]}`), Logs: []string{`{"msg":"backup check"}`}}
	tests := []struct {
		name   string
		inv    localrun.Invocation
		alerts []localrun.Alert
		want   string
	}{
		{"nothing", clean, []localrun.Alert{{Subject: "s", Message: "m", Attributes: map[string]string{"kind": "alert"}}}, ""},
		{"log", localrun.Invocation{Logs: []string{"x " + key}}, nil, "log"},
		{"response", localrun.Invocation{Response: []byte(`{"errorMessage":"` + key + `"}`)}, nil, "response"},
		{"alert text", clean, []localrun.Alert{{Subject: "s", Message: "Raw state: " + key}}, "alert"},
		{"alert subject", clean, []localrun.Alert{{Subject: key}}, "alert"},
		{"alert attribute", clean, []localrun.Alert{{Subject: "s", Attributes: map[string]string{"portal": key}}}, "alert"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := keyLeak(key, tt.inv, tt.alerts)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("keyLeak() = %v, want an error naming %q", err, tt.want)
			}
		})
	}
}

// TestStepsClaimNoTimeThatDoesNotPass: the demo runs its steps one after
// another, so no step may say that time passed before it.
func TestStepsClaimNoTimeThatDoesNotPass(t *testing.T) {
	later := regexp.MustCompile(`(?i)\b(minutes?|hours?|days?) later\b`)
	for i, s := range steps(t.TempDir()) {
		if later.MatchString(s.title) {
			t.Errorf("step %d is titled %q: the demo runs it at once", i+1, s.title)
		}
		if m := later.FindString(s.explain); m != "" && !strings.Contains(s.explain, "run at once here") {
			t.Errorf("step %d says %q without saying the demo runs it at once: %s", i+1, m, s.explain)
		}
	}
}
