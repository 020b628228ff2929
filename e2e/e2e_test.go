// Package e2e runs the built bootstrap under the AWS Lambda Runtime
// Interface Emulator against the fake DocSpace portal and moto_server.
package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/internal/localrun"
	"github.com/docspace-backup-watch/docspace-backup-watch/internal/motoserver"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/fakeportal"
)

const apiKey = "sk-e2e-secret-key-0123456789"

// env is what every test shares: one emulator, one portal, one moto.
var env struct {
	portal    *fakeportal.Portal
	portalURL string
	stack     *localrun.Stack
	fn        *localrun.Function
	// moto, bootstrap and rie let a test start its own function.
	moto, bootstrap, rie string
}

func TestMain(m *testing.M) {
	code, err := setUp(m)
	if errors.Is(err, motoserver.ErrNotInstalled) && os.Getenv("CI") == "" {
		fmt.Println("skipping end-to-end tests:", err)
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e setup:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func setUp(m *testing.M) (int, error) {
	ctx := context.Background()
	moto, err := motoserver.Run(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer moto.Close()
	root, err := localrun.ModuleRoot(ctx)
	if err != nil {
		return 0, err
	}
	dir, err := os.MkdirTemp("", "e2e-bootstrap-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	bootstrap, err := localrun.BuildBootstrap(ctx, root, dir)
	if err != nil {
		return 0, err
	}
	rie, err := localrun.RIEPath(ctx, root)
	if err != nil {
		return 0, err
	}
	env.portal, err = fakeportal.New(apiKey, fakeportal.Config{}, nil)
	if err != nil {
		return 0, err
	}
	var stopPortal func()
	env.portalURL, stopPortal, err = localrun.Serve(env.portal)
	if err != nil {
		return 0, err
	}
	defer stopPortal()
	env.stack, err = localrun.CreateStack(ctx, motoserver.AWSConfig(moto.Endpoint), "e2e", apiKey, localrun.BoundTo(env.portalURL))
	if err != nil {
		return 0, err
	}
	fnEnv := env.stack.FunctionEnv(moto.Endpoint, env.portalURL)
	fnEnv["HTTP_TIMEOUT"] = "1s"
	// Alert on the first unreachable or bad answer, so that each case
	// below is one run; the thresholds have their own tests.
	fnEnv["FAIL_AFTER_TRANSIENT"] = "1"
	// Per-portal metrics, whose lines the cases below read.
	fnEnv["PORTAL_METRICS"] = "all"
	env.moto, env.bootstrap, env.rie = moto.Endpoint, bootstrap, rie
	env.fn, err = localrun.StartFunction(ctx, rie, bootstrap, fnEnv, nil)
	if err != nil {
		return 0, err
	}
	defer env.fn.Close()
	return m.Run(), nil
}

// invoke runs the function once with payload and returns its verdict, the
// invocation and the alerts that reached the queue.
func invoke(t *testing.T, payload string) (map[string]any, localrun.Invocation, []localrun.Alert) {
	t.Helper()
	verdicts, inv, alerts := invokeMany(t, payload)
	if inv.Failed {
		return nil, inv, alerts
	}
	if len(verdicts) != 1 {
		t.Fatalf("Invoke(%s) result %s: want one verdict", payload, inv.Response)
	}
	return verdicts[0], inv, alerts
}

// invokeMany runs the function once and returns all its verdicts.
func invokeMany(t *testing.T, payload string) ([]map[string]any, localrun.Invocation, []localrun.Alert) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	inv, err := env.fn.Invoke(ctx, []byte(payload))
	if err != nil {
		t.Fatalf("Invoke(%s) error = %v", payload, err)
	}
	for _, line := range inv.Logs {
		if strings.Contains(line, apiKey) {
			t.Errorf("a log line holds the API key: %s", line)
		}
	}
	var out struct{ Verdicts []map[string]any }
	if !inv.Failed {
		if err := json.Unmarshal(inv.Response, &out); err != nil {
			t.Fatalf("Invoke(%s) result %s is not a list of verdicts: %v", payload, inv.Response, err)
		}
	}
	alerts, err := env.stack.Alerts(ctx, 0) // the run has returned: its notices are queued
	if err != nil {
		t.Fatalf("Alerts() error = %v", err)
	}
	return out.Verdicts, inv, alerts
}

// resultLine returns the function's one JSON result line.
func resultLine(t *testing.T, inv localrun.Invocation) map[string]any {
	t.Helper()
	for _, line := range inv.Logs {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "backup check" {
			return m
		}
	}
	t.Fatalf("no JSON result line among the logs:\n%s", strings.Join(inv.Logs, "\n"))
	return nil
}

// emfLine returns the function's one per-portal CloudWatch Embedded Metric
// Format line (PORTAL_METRICS=all here); the fleet lines have no Portal.
func emfLine(t *testing.T, inv localrun.Invocation) map[string]any {
	t.Helper()
	var found []map[string]any
	for _, line := range inv.Logs {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["_aws"] != nil && m["Portal"] != nil {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d EMF lines among the logs, want 1:\n%s", len(found), strings.Join(inv.Logs, "\n"))
	}
	return found[0]
}

// portalInput checks the fake portal playing scenario with the stack's
// secret, which is bound to the fake portal's base URL.
func portalInput(scenario string) string {
	return fmt.Sprintf(`{"portalUrl":%q,"secretId":%q}`, env.portalURL+"/p/"+scenario, env.stack.SecretARN)
}

func TestEndToEnd(t *testing.T) {
	scheduled, err := os.ReadFile("../events/scheduled.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		payload      string
		wantOutcome  string
		wantStatus   float64
		wantAttempts float64
		wantAlert    bool
	}{
		// Seven calls at once: state, schedule, progress, the settings
		// route without the key and with it (the time zone), the count
		// route for both paid values. The history is not read.
		{"healthy scheduler event", string(scheduled), "healthy", 200, 7, false},
		{"inactive", portalInput("inactive"), "service_inactive", 200, 7, true},
		{"403", portalInput("forbidden"), "permission_denied", 403, 7, true},
		{"5xx then recover", portalInput("flaky"), "healthy", 200, 9, false},
		{"html body", portalInput("html"), "bad_response", 200, 7, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env.portal.ResetStats()
			verdict, inv, alerts := invoke(t, tt.payload)
			if got := verdict["reason"]; got != tt.wantOutcome {
				t.Errorf("verdict reason = %v, want %s (result %s)", got, tt.wantOutcome, inv.Response)
			}
			line := resultLine(t, inv)
			emf := emfLine(t, inv)
			if wantHealthy := tt.wantOutcome == "healthy"; (emf["Healthy"] == float64(1)) != wantHealthy || emf["Portal"] != line["portal"] {
				t.Errorf("EMF line = %v, want Healthy %v for portal %v", emf, wantHealthy, line["portal"])
			}
			if line["outcome"] != tt.wantOutcome || line["httpStatus"] != tt.wantStatus || line["requests"] != tt.wantAttempts {
				t.Errorf("result line = %v, want outcome %s, httpStatus %v, requests %v", line, tt.wantOutcome, tt.wantStatus, tt.wantAttempts)
			}
			// A healthy portal's freshness comes from the count route: its
			// history, whose every read may remove records, is not read.
			if tt.wantOutcome == "healthy" && (env.portal.Stats().Requests[fakeportal.HistoryPath] != 0 || line["historyRead"] != false) {
				t.Errorf("history read %d time(s) (log %v), want none for a healthy portal", env.portal.Stats().Requests[fakeportal.HistoryPath], line["historyRead"])
			}
			if line["requestId"] == "" || !strings.HasPrefix(fmt.Sprint(line["portal"]), strings.TrimPrefix(env.portalURL, "http://")) {
				t.Errorf("result line = %v, want a requestId and the portal host", line)
			}
			if !tt.wantAlert {
				if len(alerts) != 0 {
					t.Errorf("alerts = %+v, want none", alerts)
				}
				return
			}
			if len(alerts) != 1 {
				t.Fatalf("alerts = %+v, want exactly one", alerts)
			}
			a := alerts[0]
			if a.Attributes["reason"] != tt.wantOutcome || !strings.Contains(a.Subject, tt.wantOutcome) || len(a.Subject) > 99 {
				t.Errorf("alert subject %q, attributes %v: want reason %s", a.Subject, a.Attributes, tt.wantOutcome)
			}
			if strings.Contains(a.Message, "BackupController.cs") || strings.Contains(a.Message, apiKey) {
				t.Errorf("alert body leaks the stack trace or the key:\n%s", a.Message)
			}
		})
	}
}

func TestEndToEndTimeout(t *testing.T) {
	// Every answer comes after 3 s; the function gives each attempt 1 s.
	if err := env.portal.SetConfig(fakeportal.Config{Scenario: fakeportal.Healthy, Delay: fakeportal.Duration(3 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	defer env.portal.SetConfig(fakeportal.Config{Scenario: fakeportal.Healthy})
	verdict, inv, alerts := invoke(t, `{}`)
	if verdict["reason"] != "unreachable" {
		t.Errorf("verdict = %s, want reason unreachable", inv.Response)
	}
	// 3 attempts on each call made at once: state, schedule, progress and
	// the count route for both paid values, and the settings route twice
	// unless the warm function remembers its answer from an earlier test.
	if line := resultLine(t, inv); (line["requests"] != float64(15) && line["requests"] != float64(21)) || !strings.Contains(fmt.Sprint(line["detail"]), "giving up after 3 attempt(s)") {
		t.Errorf("result line = %v, want 3 attempts on each of the 5 (or 7) calls and the timeout in detail", line)
	}
	if len(alerts) != 1 || alerts[0].Attributes["reason"] != "unreachable" {
		t.Errorf("alerts = %+v, want one unreachable alert", alerts)
	}
}

func TestEndToEndBadEvent(t *testing.T) {
	_, inv, alerts := invoke(t, `"not an object"`)
	if !inv.Failed || !strings.Contains(string(inv.Response), "JSON object") {
		t.Errorf("result = %s, want an error naming the expected event", inv.Response)
	}
	if len(alerts) != 0 {
		t.Errorf("alerts = %+v, want none for a bad event", alerts)
	}
}

// TestEndToEndStaleThenResolved: a portal whose backups stopped alerts
// once, stays quiet while still stale, and sends a resolved notice when a
// fresh backup appears.
func TestEndToEndStaleThenResolved(t *testing.T) {
	const name = "e2e-stale-recovery"
	input := portalInput(name)
	steps := []struct {
		scenario    fakeportal.Scenario
		wantOutcome string
		wantAlerts  []string // kind:reason:severity
	}{
		{fakeportal.Stale, "backup_stale", []string{"alert:backup_stale:critical"}},
		{fakeportal.Stale, "backup_stale", nil},
		{fakeportal.Healthy, "healthy", []string{"resolved:backup_stale:resolved"}},
		{fakeportal.Healthy, "healthy", nil},
	}
	for i, s := range steps {
		if err := env.portal.SetPortalScenario(name, s.scenario); err != nil {
			t.Fatal(err)
		}
		verdict, inv, alerts := invoke(t, input)
		if verdict["reason"] != s.wantOutcome {
			t.Errorf("run %d: verdict = %s, want %s", i+1, inv.Response, s.wantOutcome)
		}
		var got []string
		for _, a := range alerts {
			got = append(got, a.Attributes["kind"]+":"+a.Attributes["reason"]+":"+a.Attributes["severity"])
		}
		if strings.Join(got, ",") != strings.Join(s.wantAlerts, ",") {
			t.Errorf("run %d: alerts = %v, want %v", i+1, got, s.wantAlerts)
		}
		// The first stale run reads the history once for the newest
		// backup's date; the next one is within HISTORY_EVERY and quotes
		// that read.
		if i == 0 && (verdict["lastBackup"] == nil || verdict["historyRead"] != true) {
			t.Errorf("run %d: verdict %s has no lastBackup from a history read", i+1, inv.Response)
		}
		if i == 1 && (verdict["historyRead"] != false || !strings.Contains(fmt.Sprint(verdict["detail"]), "when the newest backup was from")) {
			t.Errorf("run %d: verdict %s read the history again or does not quote the last read", i+1, inv.Response)
		}
	}
}

// TestEndToEndManyPortals checks several portals in one run: each gets
// its own verdict, log line and alert.
func TestEndToEndManyPortals(t *testing.T) {
	payload := fmt.Sprintf(`{"portals":[%s,%s,%s]}`, portalInput("healthy-many"), portalInput("inactive-many"), portalInput("no_schedule-many"))
	verdicts, inv, alerts := invokeMany(t, payload)
	var reasons []string
	for _, v := range verdicts {
		reasons = append(reasons, fmt.Sprint(v["reason"]))
	}
	if strings.Join(reasons, ",") != "healthy,service_inactive,no_schedule" {
		t.Errorf("verdicts = %v, want healthy, service_inactive, no_schedule", reasons)
	}
	lines := 0
	for _, l := range inv.Logs {
		if strings.Contains(l, `"msg":"backup check"`) {
			lines++
		}
	}
	if lines != 3 || len(alerts) != 2 {
		t.Errorf("%d result lines and %d alerts, want 3 and 2", lines, len(alerts))
	}
}
