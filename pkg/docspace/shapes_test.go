package docspace

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestErrorBodies: the server's filters answer 403 and 404 with an empty
// body (scopes, portal status) and the IP restriction with a bare JSON
// string; each has its own meaning and explanation.
func TestErrorBodies(t *testing.T) {
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		body     BodyKind
		is       []error
		isNot    []error
		wantText string
	}{
		{name: "403 envelope: not owner or admin", handler: reply(403, "application/json", `{"error":{"message":"Access denied","stack":"at X"},"status":1,"statusCode":403}`),
			body: BodyEnvelope, is: []error{ErrPermissionDenied}, isNot: []error{ErrIPRestricted}, wantText: "not owner or admin"},
		{name: "403 empty: scopes or a restore", handler: reply(403, "", ""),
			body: BodyEmpty, is: []error{ErrPermissionDenied}, isNot: []error{ErrIPRestricted}, wantText: "scopes do not cover backup"},
		{name: "403 bare string: IP restriction", handler: reply(403, "application/json; charset=utf-8", `"Access denied due to IP restrictions"`),
			body: BodyString, is: []error{ErrIPRestricted, ErrPermissionDenied}, wantText: "IP restriction"},
		{name: "403 html: a firewall or proxy, not the server", handler: reply(403, "text/html", "<html><title>403 Forbidden</title><body>Request blocked</body></html>"),
			body: BodyOther, is: []error{ErrPermissionDenied}, isNot: []error{ErrIPRestricted}, wantText: "in front of the portal"},
		{name: "404 empty: suspended or removed", handler: reply(404, "", ""),
			body: BodyEmpty, is: []error{ErrNotFound}, wantText: "suspended or being removed"},
		{name: "404 html: no route", handler: reply(404, "text/html", "<html>404</html>"),
			body: BodyOther, is: []error{ErrNotFound}, wantText: "v3.5.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, tt.handler)
			_, _, err := c.GetBackupServiceState(context.Background())
			var ae *APIError
			if !errors.As(err, &ae) || ae.Body != tt.body {
				t.Fatalf("GetBackupServiceState() error = %#v, want an *APIError with body kind %d", err, tt.body)
			}
			for _, target := range tt.is {
				if !errors.Is(err, target) {
					t.Errorf("errors.Is(%v, %v) = false, want true", err, target)
				}
			}
			for _, target := range tt.isNot {
				if errors.Is(err, target) {
					t.Errorf("errors.Is(%v, %v) = true, want false", err, target)
				}
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q, want it to say %q", err, tt.wantText)
			}
		})
	}
}

// TestRetryAfterIsCapped: a Retry-After longer than MaxBackoff ends the
// retries at once instead of waiting it out, whatever its form: seconds,
// a number of seconds too large for a time.Duration, or an HTTP date.
func TestRetryAfterIsCapped(t *testing.T) {
	for _, after := range []string{"3600", "9223372037", "99999999999999999999", time.Now().Add(2 * time.Hour).UTC().Format(http.TimeFormat)} {
		var calls atomic.Int32
		c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			w.Header().Set("Retry-After", after)
			reply(429, "", "")(w, r)
		}))
		start := time.Now()
		_, res, err := c.GetBackupServiceState(context.Background())
		if !errors.Is(err, ErrRateLimited) || calls.Load() != 1 || res.Attempts != 1 {
			t.Errorf("Retry-After %q: err, calls, attempts = %v, %d, %d; want rate limited after 1 call", after, err, calls.Load(), res.Attempts)
		}
		if d := time.Since(start); d > 30*time.Second {
			t.Errorf("Retry-After %q: GetBackupServiceState() took %v, it waited for Retry-After", after, d)
		}
	}
}

func TestRetryPolicyWorstCase(t *testing.T) {
	if got, want := DefaultRetryPolicy.WorstCase(DefaultTimeout), 40*time.Second; got != want {
		t.Errorf("DefaultRetryPolicy.WorstCase(%v) = %v, want %v", DefaultTimeout, got, want)
	}
}

func TestGetPortalSettings(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		want       PortalSettings
		bad        bool
		wantStatus string
	}{
		{name: "self-hosted", body: `{"response":{"culture":"en-US","standalone":true,"version":"3.7.2.1234","tenantStatus":0,"docSpace":true},"count":1,"status":0,"statusCode":200}`,
			want: PortalSettings{Standalone: true, Version: "3.7.2.1234", TenantStatus: ptr(TenantActive)}, wantStatus: "Active"},
		{name: "cloud, restoring", body: `{"response":{"standalone":false,"version":"3.7.2","tenantStatus":4}}`,
			want: PortalSettings{Version: "3.7.2", TenantStatus: ptr(TenantRestoring)}, wantStatus: "Restoring"},
		{name: "no standalone member", body: `{"response":{"version":"3.7.2"}}`, bad: true},
		{name: "no response", body: `{"count":0}`, bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, onlyPath(t, SettingsPath, jsonReply(tt.body)))
			got, _, err := c.GetPortalSettings(context.Background())
			if tt.bad {
				wantBadResponse(t, err)
				return
			}
			if err != nil {
				t.Fatalf("GetPortalSettings() error = %v", err)
			}
			if !equalJSON(t, got, tt.want) {
				t.Errorf("GetPortalSettings() = %s, want %s", mustJSON(t, got), mustJSON(t, tt.want))
			}
			if got.TenantStatus.String() != tt.wantStatus {
				t.Errorf("TenantStatus = %v, want %s", got.TenantStatus, tt.wantStatus)
			}
		})
	}
	for s, busy := range map[TenantStatus]bool{TenantActive: false, TenantSuspended: false, TenantRestoring: true, TenantTransferring: true, TenantEncryption: true} {
		if s.Busy() != busy {
			t.Errorf("%v.Busy() = %v, want %v", s, s.Busy(), busy)
		}
	}
}

// TestDumpQuery: WithDump asks the schedule, the history and the progress
// with ?dump=true, and only them: the server files a dump's backups under
// no portal (tenant -1), so the history without the query never lists
// them.
func TestDumpQuery(t *testing.T) {
	for _, dump := range []bool{false, true} {
		var mu sync.Mutex
		queries := map[string]string{}
		c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			queries[r.URL.Path] = r.URL.RawQuery
			mu.Unlock()
			jsonReply(`{"response":{"enabled":true,"standalone":true},"count":1}`)(w, r)
		}), WithDump(dump))
		ctx := context.Background()
		_, _, _ = c.GetBackupServiceState(ctx)
		_, _, _ = c.GetBackupSchedule(ctx)
		_, _, _ = c.GetBackupHistory(ctx)
		_, _, _ = c.GetBackupProgress(ctx)
		_, _, _ = c.GetPortalSettings(ctx)
		want := ""
		if dump {
			want = "dump=true"
		}
		for path, q := range queries {
			w := ""
			if path == SchedulePath || path == HistoryPath || path == ProgressPath {
				w = want
			}
			if q != w {
				t.Errorf("WithDump(%v): %s asked with query %q, want %q", dump, path, q, w)
			}
		}
		if len(queries) != 5 {
			t.Errorf("WithDump(%v): routes asked = %v, want 5", dump, queries)
		}
	}
}

// TestInFlightLimit: one client never has more than MaxInFlight requests
// open at once, however many goroutines call it.
func TestInFlightLimit(t *testing.T) {
	var inFlight, peak atomic.Int32
	release := make(chan struct{})
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		<-release
		jsonReply(`{"response":{"enabled":true}}`)(w, r)
	}))
	var wg sync.WaitGroup
	for range 3 * MaxInFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, _ = c.GetBackupServiceState(context.Background())
		}()
	}
	// Let the first requests arrive, then release every one.
	for inFlight.Load() < MaxInFlight {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if got := peak.Load(); got != MaxInFlight {
		t.Errorf("peak requests in flight = %d, want %d", got, MaxInFlight)
	}
}
