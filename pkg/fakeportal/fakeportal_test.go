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
	"sync"
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
		{"flaky", true, nil}, // 503 twice, then healthy: the client retries
		// 429 with Retry-After: 1, longer than this client's 10 ms cap on
		// waits: it gives up at once instead of waiting.
		{"rate_limited", false, docspace.ErrRateLimited},
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

// TestRealShapes reads every real-server shape through the client.
func TestRealShapes(t *testing.T) {
	now := time.Date(2026, 3, 15, 10, 0, 0, 0, time.UTC)
	clock := now
	var mu sync.Mutex
	p, err := fakeportal.New(key, fakeportal.Config{}, func() time.Time { mu.Lock(); defer mu.Unlock(); return clock })
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	client := func(t *testing.T, name string, opts ...docspace.Option) *docspace.Client {
		t.Helper()
		opts = append([]docspace.Option{docspace.WithInsecureHTTP(), docspace.WithRetryPolicy(docspace.RetryPolicy{MaxAttempts: 1})}, opts...)
		c, err := docspace.NewClient(srv.URL+"/p/"+name, key, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ctx := context.Background()
	progress := func(t *testing.T, name string) *docspace.Progress {
		t.Helper()
		pr, _, err := client(t, name).GetBackupProgress(ctx)
		if err != nil {
			t.Fatalf("GetBackupProgress(%s) error = %v", name, err)
		}
		return pr
	}
	settings := func(t *testing.T, name string) docspace.PortalSettings {
		t.Helper()
		st, _, err := client(t, name).GetPortalSettings(ctx)
		if err != nil {
			t.Fatalf("GetPortalSettings(%s) error = %v", name, err)
		}
		return st
	}
	apiErr := func(t *testing.T, name string) *docspace.APIError {
		t.Helper()
		_, _, err := client(t, name).GetBackupSchedule(ctx)
		var ae *docspace.APIError
		if !errors.As(err, &ae) {
			t.Fatalf("GetBackupSchedule(%s) error = %v, want an *APIError", name, err)
		}
		return ae
	}

	t.Run("failed as completed", func(t *testing.T) {
		pr := progress(t, "failed_as_completed-1")
		if pr == nil || !pr.Failed() || pr.StatusName() != "Completed" {
			t.Errorf("progress = %+v, want failed with status Completed", pr)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		pr := progress(t, "cancelled-1")
		if pr == nil || pr.Failed() || !pr.Cancelled() || pr.Warning != "Backup cancelled" {
			t.Errorf("progress = %+v, want cancelled, not failed", pr)
		}
	})
	t.Run("warning job", func(t *testing.T) {
		pr := progress(t, "warning_job-1")
		if pr == nil || pr.Failed() || !strings.Contains(pr.Warning, "missing") {
			t.Errorf("progress = %+v, want a warning about missing files", pr)
		}
	})
	t.Run("no status", func(t *testing.T) {
		pr := progress(t, "no_status-1")
		if pr == nil || pr.Status != nil || pr.StatusName() != "unknown" {
			t.Errorf("progress = %+v, want no status", pr)
		}
	})
	t.Run("progress gone after a day", func(t *testing.T) {
		if pr := progress(t, "failed_as_completed-expiring"); pr == nil {
			t.Fatal("progress = nil, want the failed job")
		}
		mu.Lock()
		clock = now.Add(fakeportal.ProgressLifetime + time.Minute)
		mu.Unlock()
		defer func() { mu.Lock(); clock = now; mu.Unlock() }()
		if pr := progress(t, "failed_as_completed-expiring"); pr != nil {
			t.Errorf("progress a day later = %+v, want none", pr)
		}
	})
	t.Run("empty 404 suspended", func(t *testing.T) {
		ae := apiErr(t, "suspended-1")
		if ae.StatusCode != 404 || ae.Body != docspace.BodyEmpty {
			t.Errorf("error = %+v, want an empty 404", ae)
		}
		if st := settings(t, "suspended-1"); st.TenantStatus == nil || *st.TenantStatus != docspace.TenantSuspended {
			t.Errorf("settings = %+v, want tenantStatus Suspended", st)
		}
	})
	t.Run("empty 403 restoring", func(t *testing.T) {
		ae := apiErr(t, "restoring-1")
		if ae.StatusCode != 403 || ae.Body != docspace.BodyEmpty {
			t.Errorf("error = %+v, want an empty 403", ae)
		}
		if st := settings(t, "restoring-1"); st.TenantStatus == nil || !st.TenantStatus.Busy() {
			t.Errorf("settings = %+v, want a busy tenant status", st)
		}
	})
	t.Run("empty 403 scope", func(t *testing.T) {
		ae := apiErr(t, "scope_denied-1")
		if ae.StatusCode != 403 || ae.Body != docspace.BodyEmpty {
			t.Errorf("error = %+v, want an empty 403", ae)
		}
		if st := settings(t, "scope_denied-1"); st.TenantStatus == nil || *st.TenantStatus != docspace.TenantActive {
			t.Errorf("settings = %+v, want tenantStatus Active", st)
		}
	})
	t.Run("IP restriction", func(t *testing.T) {
		ae := apiErr(t, "ip_restricted-1")
		if !errors.Is(ae, docspace.ErrIPRestricted) || !strings.Contains(ae.Message, "IP") {
			t.Errorf("error = %+v, want the IP restriction", ae)
		}
		// The restriction applies to signed-in callers only.
		if _, _, err := client(t, "ip_restricted-1").GetPortalZone(ctx); !errors.Is(err, docspace.ErrIPRestricted) {
			t.Errorf("signed-in settings error = %v, want the IP restriction", err)
		}
		if _, _, err := client(t, "ip_restricted-1").GetPortalSettings(ctx); err != nil {
			t.Errorf("anonymous settings error = %v, want an answer", err)
		}
	})
	t.Run("self-hosted and cloud enabled false", func(t *testing.T) {
		for name, standalone := range map[string]bool{"selfhosted-1": true, "inactive-1": false} {
			st, _, err := client(t, name).GetBackupServiceState(ctx)
			if err != nil || st.Enabled {
				t.Errorf("%s state = %+v, %v; want enabled false", name, st, err)
			}
			if s := settings(t, name); s.Standalone != standalone {
				t.Errorf("%s standalone = %v, want %v", name, s.Standalone, standalone)
			}
		}
	})
	t.Run("future-dated record", func(t *testing.T) {
		h, _, err := client(t, "future_record-1").GetBackupHistory(ctx)
		if err != nil {
			t.Fatal(err)
		}
		newest, _ := docspace.Newest(h)
		if !newest.CreatedOn.After(now.Add(29 * 24 * time.Hour)) {
			t.Errorf("newest record = %v, want one 30 days in the future", newest.CreatedOn)
		}
	})
	t.Run("day-31 monthly schedule", func(t *testing.T) {
		s, _, err := client(t, "monthly31-1").GetBackupSchedule(ctx)
		if err != nil || s == nil || s.CronParams.Period != docspace.PeriodMonthly || s.CronParams.Day != 31 {
			t.Fatalf("schedule = %+v, %v; want monthly on day 31", s, err)
		}
		h, _, _ := client(t, "monthly31-1").GetBackupHistory(ctx)
		newest, _ := docspace.Newest(h)
		if want := time.Date(2026, 1, 31, 2, 0, 0, 0, time.UTC); !newest.CreatedOn.Equal(want) {
			t.Errorf("newest backup = %v, want %v (February has no 31st)", newest.CreatedOn, want)
		}
	})
	t.Run("dump schedule", func(t *testing.T) {
		s, _, err := client(t, "dump-1").GetBackupSchedule(ctx)
		if err != nil || s != nil {
			t.Errorf("schedule without dump = %+v, %v; want none", s, err)
		}
		s, _, err = client(t, "dump-1", docspace.WithDump(true)).GetBackupSchedule(ctx)
		if err != nil || s == nil || !s.Dump {
			t.Errorf("schedule with dump = %+v, %v; want the dump schedule", s, err)
		}
		// The server files a dump's backups under no portal: only the
		// history with ?dump=true lists them.
		if h, _, err := client(t, "dump-1").GetBackupHistory(ctx); err != nil || len(h) != 0 {
			t.Errorf("history without dump = %+v, %v; want none", h, err)
		}
		h, _, err := client(t, "dump-1", docspace.WithDump(true)).GetBackupHistory(ctx)
		if newest, ok := docspace.Newest(h); err != nil || !ok || !newest.CreatedOn.Equal(now.Add(-3*time.Hour)) {
			t.Errorf("history with dump = %+v, %v; want the dump's backups, the newest 3 h old", h, err)
		}
	})
	t.Run("PostgreSQL dates", func(t *testing.T) {
		_, srvBody := get(t, srv.URL+"/p/postgres-1"+fakeportal.HistoryPath, "Bearer "+key)
		if !strings.Contains(string(srvBody), ".123456Z") {
			t.Errorf("history = %s, want dates with fractions and Z", srvBody)
		}
		h, _, err := client(t, "postgres-1").GetBackupHistory(ctx)
		if err != nil {
			t.Fatal(err)
		}
		newest, _ := docspace.Newest(h)
		if want := now.Add(-3 * time.Hour).Add(123456 * time.Microsecond); !newest.CreatedOn.Equal(want) {
			t.Errorf("newest = %v, want %v", newest.CreatedOn, want)
		}
	})
	t.Run("fixed newest backup", func(t *testing.T) {
		fixed := now.Add(-100 * time.Hour)
		p.SetPortalBackup("healthy-fixed", fixed)
		h, _, _ := client(t, "healthy-fixed").GetBackupHistory(ctx)
		if newest, _ := docspace.Newest(h); !newest.CreatedOn.Equal(fixed) {
			t.Errorf("newest = %v, want %v", newest.CreatedOn, fixed)
		}
		p.SetPortalBackup("healthy-fixed", time.Time{})
		h, _, _ = client(t, "healthy-fixed").GetBackupHistory(ctx)
		if newest, _ := docspace.Newest(h); !newest.CreatedOn.Equal(now.Add(-3 * time.Hour)) {
			t.Errorf("newest after reset = %v, want 3 h ago", newest.CreatedOn)
		}
	})
}
