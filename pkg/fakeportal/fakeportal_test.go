package fakeportal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/fakeportal"
)

const key = "sk-fakeportal-test-key"

func start(t *testing.T, cfg fakeportal.Config) (*fakeportal.Portal, *httptest.Server) {
	t.Helper()
	p, err := fakeportal.New(key, cfg, nil)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return p, srv
}

func get(t *testing.T, url, auth string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

func TestAuthNeedsBearer(t *testing.T) {
	p, srv := start(t, fakeportal.Config{})
	for _, tt := range []struct {
		auth string
		want int
	}{
		{"Bearer " + key, 200},
		{key, 401}, // a bare key is read as a cookie token
		{"", 401},
		{"Bearer sk-other", 401},
	} {
		if resp, _ := get(t, srv.URL+fakeportal.StatePath, tt.auth); resp.StatusCode != tt.want {
			t.Errorf("GET with Authorization %q = %d, want %d", tt.auth, resp.StatusCode, tt.want)
		}
	}
	if got := p.Stats().Unauthenticated; got != 3 {
		t.Errorf("Stats().Unauthenticated = %d, want 3", got)
	}
}

func TestScenariosThroughTheClient(t *testing.T) {
	_, srv := start(t, fakeportal.Config{})
	tests := []struct {
		portal  string
		enabled bool
		wantErr error
	}{
		{"healthy", true, nil},
		{"inactive-1", false, nil},
		{"forbidden", false, docspace.ErrPermissionDenied},
		{"unauthorized", false, docspace.ErrPermissionDenied},
		{"not_found", false, docspace.ErrNotFound},
		{"bad_gateway", false, docspace.ErrServer},
		{"flaky", true, nil},        // 503 twice, then healthy: the client retries
		{"rate_limited", true, nil}, // 429 with Retry-After: 1, twice
	}
	for _, tt := range tests {
		t.Run(tt.portal, func(t *testing.T) {
			c, err := docspace.NewClient(srv.URL+"/p/"+tt.portal, key, docspace.WithInsecureHTTP(),
				docspace.WithRetryPolicy(docspace.RetryPolicy{MaxAttempts: 3, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond}))
			if err != nil {
				t.Fatal(err)
			}
			st, _, err := c.GetBackupServiceState(context.Background())
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("GetBackupServiceState() error = %v, want %v", err, tt.wantErr)
				}
				if err != nil && strings.Contains(err.Error(), "BackupController.cs") {
					t.Errorf("error %q holds the server's stack trace", err)
				}
				return
			}
			if err != nil || st.Enabled != tt.enabled {
				t.Errorf("GetBackupServiceState() = %v, %v, want enabled %v", st, err, tt.enabled)
			}
		})
	}
}

func TestBadBodies(t *testing.T) {
	_, srv := start(t, fakeportal.Config{})
	for _, name := range []string{"html", "truncated", "huge"} {
		t.Run(name, func(t *testing.T) {
			c, _ := docspace.NewClient(srv.URL+"/p/"+name, key, docspace.WithInsecureHTTP())
			_, _, err := c.GetBackupServiceState(context.Background())
			var bad *docspace.BadResponseError
			if !errors.As(err, &bad) {
				t.Errorf("GetBackupServiceState() error = %v, want a *BadResponseError", err)
			}
		})
	}
	t.Run("trickle", func(t *testing.T) {
		c, _ := docspace.NewClient(srv.URL+"/p/trickle", key, docspace.WithInsecureHTTP(), docspace.WithTimeout(300*time.Millisecond),
			docspace.WithRetryPolicy(docspace.RetryPolicy{MaxAttempts: 1}))
		_, _, err := c.GetBackupServiceState(context.Background())
		var te *docspace.TransportError
		if !errors.As(err, &te) {
			t.Errorf("GetBackupServiceState() error = %v, want a *TransportError (timeout)", err)
		}
	})
}

func TestDatesHaveNoOffsetAndHistoryIsUnordered(t *testing.T) {
	now := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	p, err := fakeportal.New(key, fakeportal.Config{Scenario: fakeportal.Stale}, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	defer srv.Close()
	_, body := get(t, srv.URL+fakeportal.HistoryPath, "Bearer "+key)
	if !regexp.MustCompile(`"createdOn":"2026-11-24T08:00:00"`).Match(body) {
		t.Errorf("history = %s, want the newest createdOn 2026-11-24T08:00:00 without an offset", body)
	}
	var env struct {
		Response []struct{ CreatedOn string } `json:"response"`
	}
	if err := json.Unmarshal(body, &env); err != nil || len(env.Response) != 3 || env.Response[1].CreatedOn < env.Response[2].CreatedOn {
		t.Errorf("history = %s, want 3 records, the newest not last", body)
	}
	_, body = get(t, srv.URL+"/p/no_schedule"+fakeportal.SchedulePath, "Bearer "+key)
	if bytes.Contains(body, []byte(`"response"`)) || !bytes.Contains(body, []byte(`"count":0`)) {
		t.Errorf("no-schedule answer = %s, want no response member and count 0", body)
	}
}

func TestControlRoutes(t *testing.T) {
	p, srv := start(t, fakeportal.Config{})
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/_fake/config", strings.NewReader(`{"scenario":"inactive","delay":"10ms"}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("PUT /_fake/config = %v, %v, want 200", resp, err)
	}
	if got := p.Config(); got.Scenario != fakeportal.Inactive || time.Duration(got.Delay) != 10*time.Millisecond {
		t.Errorf("Config() = %+v, want inactive with 10ms delay", got)
	}
	_, body := get(t, srv.URL+fakeportal.StatePath, "Bearer "+key)
	if !bytes.Contains(body, []byte(`"enabled":false`)) {
		t.Errorf("state after switching to inactive = %s", body)
	}
	req, _ = http.NewRequest(http.MethodPut, srv.URL+"/_fake/config", strings.NewReader(`{"scenario":"nope"}`))
	if resp, _ := http.DefaultClient.Do(req); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("PUT unknown scenario = %d, want 400", resp.StatusCode)
	}
	_, body = get(t, srv.URL+"/_fake/stats", "")
	var st fakeportal.Stats
	if err := json.Unmarshal(body, &st); err != nil || st.Requests[fakeportal.StatePath] != 1 {
		t.Errorf("stats = %s, want one state request", body)
	}
}

func TestSetPortalScenario(t *testing.T) {
	p, srv := start(t, fakeportal.Config{})
	if err := p.SetPortalScenario("mine", fakeportal.Inactive); err != nil {
		t.Fatal(err)
	}
	_, body := get(t, srv.URL+"/p/mine"+fakeportal.StatePath, "Bearer "+key)
	if !bytes.Contains(body, []byte(`"enabled":false`)) {
		t.Errorf("state of /p/mine = %s, want enabled false", body)
	}
	_, body = get(t, srv.URL+fakeportal.StatePath, "Bearer "+key)
	if !bytes.Contains(body, []byte(`"enabled":true`)) {
		t.Errorf("state of the root portal = %s, want enabled true", body)
	}
	if err := p.SetPortalScenario("mine", "bogus"); err == nil {
		t.Error("SetPortalScenario(bogus) error = nil, want one")
	}
}
