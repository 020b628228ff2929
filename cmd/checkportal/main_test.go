package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/fakeportal"
)

const testKey = "sk-checkportal-test"

func fakePortal(t *testing.T) string {
	t.Helper()
	p, err := fakeportal.New(testKey, fakeportal.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return srv.URL
}

func runWith(t *testing.T, args []string, env map[string]string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut, time.Now)
	return code, out.String(), errOut.String()
}

func TestRun(t *testing.T) {
	url := fakePortal(t)
	tests := []struct {
		name, url, key string
		args           []string
		wantCode       int
		// want must all be in the output (stdout and stderr).
		want []string
	}{
		{name: "healthy", url: url, key: testKey, wantCode: 0,
			want: []string{": healthy\n", "Last backup:   ", " h ago)", "Next due:      ", "(in ", "8 request(s), 0 retried", "Freshness:     from the count route (no side effect); the history read once"}},
		{name: "inactive", url: url + "/p/inactive", key: testKey, wantCode: 2,
			want: []string{": service_inactive (warning)", "Problem: service_inactive (warning)", "What to do: "}},
		{name: "stale", url: url + "/p/stale", key: testKey, wantCode: 2,
			want: []string{"backup_stale (critical)", "What to do: ", "days ago)"}},
		{name: "wrong key", url: url, key: "sk-wrong-key-0000", wantCode: 2, want: []string{"permission_denied (critical)"}},
		{name: "key with a trailing newline and spaces is trimmed", url: url, key: "  " + testKey + "\n", wantCode: 0, want: []string{": healthy"}},
		{name: "no key", url: url, key: "", wantCode: 1, want: []string{"check-portal: DOCSPACE_API_KEY is not set: the portal's API key (sk-...)"}},
		{name: "no URL", url: "", key: testKey, wantCode: 1, want: []string{"check-portal: DOCSPACE_URL is not set: the portal's address, such as https://portal.example.com"}},
		{name: "neither", url: "", key: "", wantCode: 1, want: []string{"DOCSPACE_URL is not set", "\ncheck-portal: DOCSPACE_API_KEY is not set"}},
		{name: "key with a space", url: url, key: "Bearer " + testKey, wantCode: 1, want: []string{"DOCSPACE_API_KEY: invalid API key: the key holds a space"}},
		{name: "key too short", url: url, key: "sk-1", wantCode: 1, want: []string{"DOCSPACE_API_KEY: invalid API key"}},
		{name: "http without ALLOW_INSECURE_HTTP", url: url, key: testKey, wantCode: 1, want: []string{"must use https (http:// only with ALLOW_INSECURE_HTTP=true, for a local test portal)"}},
		{name: "no scheme", url: "portal.example.com", key: testKey, wantCode: 1, want: []string{`portal URL "portal.example.com" has no scheme: write it as https://portal.example.com`}},
		{name: "a page copied from the browser", url: "https://portal.example.com/products/files/", key: testKey, wantCode: 1,
			want: []string{"portal URL https://portal.example.com/products/files/ is a page of the portal, not its address: use https://portal.example.com"}},
		{name: "an argument", url: url, key: testKey, args: []string{"https://portal.example.com"}, wantCode: 1, want: []string{"unexpected argument"}},
		{name: "help", url: url, key: testKey, args: []string{"-h"}, wantCode: 0, want: []string{"Exit status: 0 healthy, 2 a problem, 1 bad input"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"DOCSPACE_URL": tt.url, "DOCSPACE_API_KEY": tt.key, "ALLOW_INSECURE_HTTP": "true"}
			if strings.HasPrefix(tt.name, "http without") {
				delete(env, "ALLOW_INSECURE_HTTP")
			}
			code, out, errOut := runWith(t, tt.args, env)
			if code != tt.wantCode {
				t.Errorf("run() = %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, out, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out+errOut, w) {
					t.Errorf("run() output lacks %q:\n%s%s", w, out, errOut)
				}
			}
			if strings.Contains(out+errOut, testKey) {
				t.Errorf("output holds the key:\n%s%s", out, errOut)
			}
		})
	}
}

func TestRunJSON(t *testing.T) {
	url := fakePortal(t)
	tests := []struct {
		name, path  string
		wantCode    int
		wantOutcome string
		wantRetries int
		// wantRequests counts the retries too: the state, schedule and
		// progress routes, the settings route without and with the key,
		// the count route for both paid values (and for "ever" when none
		// landed in the window), and the history once.
		wantRequests int
	}{
		{"healthy", "", 0, "healthy", 0, 8},
		{"stale", "/p/stale", 2, "backup_stale", 0, 10},
		// The flaky portal fails its first 2 requests with a 503: two
		// routes are retried once each.
		{"flaky", "/p/flaky", 0, "healthy", 2, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runWith(t, []string{"-json"}, map[string]string{"DOCSPACE_URL": url + tt.path, "DOCSPACE_API_KEY": testKey, "ALLOW_INSECURE_HTTP": "true"})
			if code != tt.wantCode {
				t.Fatalf("run(-json) = %d, want %d (stderr %s)", code, tt.wantCode, errOut)
			}
			var r map[string]any
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatalf("run(-json) printed %s: %v", out, err)
			}
			if r["outcome"] != tt.wantOutcome {
				t.Errorf("outcome = %v, want %s", r["outcome"], tt.wantOutcome)
			}
			if r["retries"] != float64(tt.wantRetries) || r["requests"] != float64(tt.wantRequests) {
				t.Errorf("requests, retries = %v, %v, want %d, %d", r["requests"], r["retries"], tt.wantRequests, tt.wantRetries)
			}
			if r["historyRead"] != true {
				t.Errorf("historyRead = %v, want true: a person asking once may read the history once", r["historyRead"])
			}
			for _, field := range []string{"latencyMs", "staleAfterMs", "lastBackup", "nextDue", "checkedAt", "httpStatus"} {
				if _, ok := r[field]; !ok {
					t.Errorf("-json output lacks %q: %s", field, out)
				}
			}
			for _, field := range []string{"latencyNs", "staleAfterNs", "attempts"} {
				if _, ok := r[field]; ok {
					t.Errorf("-json output has %q: %s", field, out)
				}
			}
			if tt.wantCode == 2 {
				problems, _ := r["problems"].([]any)
				if len(problems) == 0 || problems[0].(map[string]any)["whatToDo"] == "" {
					t.Errorf("problems = %v, want each with whatToDo", r["problems"])
				}
			}
		})
	}
}

// TestExitStatusReachesTheShell builds the command and runs the binary, as
// `make check-portal` and the README do: the exit status is the verdict's.
func TestExitStatusReachesTheShell(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "check-portal")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	url := fakePortal(t)
	for _, tt := range []struct {
		path, key string
		want      int
	}{{"", testKey, 0}, {"/p/inactive", testKey, 2}, {"", "", 1}} {
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "DOCSPACE_URL="+url+tt.path, "DOCSPACE_API_KEY="+tt.key, "ALLOW_INSECURE_HTTP=true")
		err := cmd.Run()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tt.want {
			t.Errorf("check-portal for %q with key %v: exit status %d, want %d", tt.path, tt.key != "", code, tt.want)
		}
	}
}

// TestRunReadsTheFunctionsSettings: DUMP, SELF_HOSTED, STALE_AFTER and
// HTTP_TIMEOUT change the verdict as they change the function's.
func TestRunReadsTheFunctionsSettings(t *testing.T) {
	url := fakePortal(t)
	slow, err := fakeportal.New(testKey, fakeportal.Config{Delay: fakeportal.Duration(2 * time.Second)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	slowSrv := httptest.NewServer(slow)
	t.Cleanup(slowSrv.Close)
	tests := []struct {
		name, url   string
		env         map[string]string
		wantOutcome string
	}{
		{"stale after 1h: a 3 h old backup is stale", url, map[string]string{"STALE_AFTER": "1h"}, "backup_stale"},
		{"the default threshold", url, nil, "healthy"},
		{"self-hosted: enabled false is normal", url + "/p/inactive", map[string]string{"SELF_HOSTED": "true"}, "healthy"},
		{"cloud: enabled false warns", url + "/p/inactive", map[string]string{"SELF_HOSTED": "false"}, "service_inactive"},
		{"dump: the whole-server schedule shows", url + "/p/dump", map[string]string{"DUMP": "true", "SELF_HOSTED": "true"}, "healthy"},
		{"no dump: no schedule shows", url + "/p/dump", map[string]string{"SELF_HOSTED": "true"}, "no_schedule"},
		{"a timeout shorter than the portal's delay", slowSrv.URL, map[string]string{"HTTP_TIMEOUT": "300ms"}, "unreachable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"DOCSPACE_URL": tt.url, "DOCSPACE_API_KEY": testKey, "ALLOW_INSECURE_HTTP": "true"}
			for k, v := range tt.env {
				env[k] = v
			}
			_, out, errOut := runWith(t, []string{"-json"}, env)
			var r map[string]any
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatalf("run(-json) printed %s: %v (stderr %s)", out, err, errOut)
			}
			if r["outcome"] != tt.wantOutcome {
				t.Errorf("run(-json) with %v: outcome = %v, want %s", tt.env, r["outcome"], tt.wantOutcome)
			}
		})
	}
}

// TestRunRefusesBadSettings: one error names every bad variable, worded
// as the function words its own.
func TestRunRefusesBadSettings(t *testing.T) {
	env := map[string]string{"DOCSPACE_URL": "https://portal.example.com", "DOCSPACE_API_KEY": testKey,
		"DUMP": "yes", "SELF_HOSTED": "maybe", "STALE_AFTER": "2d", "HTTP_TIMEOUT": "0"}
	code, out, errOut := runWith(t, nil, env)
	if code != 1 {
		t.Errorf("run() = %d, want 1", code)
	}
	for _, want := range []string{`DUMP="yes" is not true or false`, `SELF_HOSTED="maybe" is not true, false or auto`,
		`STALE_AFTER="2d" is not a positive duration`, `HTTP_TIMEOUT="0" is not a positive duration`} {
		if !strings.Contains(errOut, want) {
			t.Errorf("run() stderr lacks %q:\n%s%s", want, out, errOut)
		}
	}
}

// TestRunJSONError: with -json, bad input is a JSON error on stdout.
func TestRunJSONError(t *testing.T) {
	for _, env := range []map[string]string{
		{"DOCSPACE_URL": "portal.example.com", "DOCSPACE_API_KEY": testKey},
		{"DOCSPACE_URL": "https://portal.example.com"},
	} {
		code, out, _ := runWith(t, []string{"-json"}, env)
		var r struct {
			Error string `json:"error"`
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil || r.Error == "" || code != 1 {
			t.Errorf("run(-json) with %v = %d, stdout %q; want 1 and {\"error\": ...}", env, code, out)
		}
		if strings.Contains(out, testKey) {
			t.Errorf("run(-json) error holds the key: %s", out)
		}
	}
}

// TestRunSpeaksToATerminal: the advice names what a person at a terminal
// sets, not the deployed function's secret or its place in AWS.
func TestRunSpeaksToATerminal(t *testing.T) {
	url := fakePortal(t)
	for _, tt := range []struct {
		path, key, want string
	}{
		{"", "sk-wrong-key-0000", "Check the API key in DOCSPACE_API_KEY"},
		{"/p/ip_restricted", testKey, "refuses this machine's address"},
		{"/p/inactive", testKey, "set SELF_HOSTED=true"},
	} {
		_, out, errOut := runWith(t, nil, map[string]string{"DOCSPACE_URL": url + tt.path, "DOCSPACE_API_KEY": tt.key, "ALLOW_INSECURE_HTTP": "true"})
		if !strings.Contains(out, tt.want) {
			t.Errorf("run() for %s lacks %q:\n%s%s", tt.path, tt.want, out, errOut)
		}
		for _, aws := range []string{"Secrets Manager", "from AWS", "the function's", "NAT gateway", "selfHosted option"} {
			if strings.Contains(out+errOut, aws) {
				t.Errorf("run() for %s speaks of %q:\n%s", tt.path, aws, out)
			}
		}
	}
}
