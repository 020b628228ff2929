package fakeportal_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/fakeportal"
)

// harmRig is a fake portal at a fixed time and a client factory for it.
type harmRig struct {
	portal *fakeportal.Portal
	url    string
	now    time.Time
}

func newHarmRig(t *testing.T, cfg fakeportal.Config) harmRig {
	t.Helper()
	now := time.Date(2026, 3, 15, 10, 0, 0, 0, time.UTC)
	p, err := fakeportal.New(key, cfg, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return harmRig{portal: p, url: srv.URL, now: now}
}

func (r harmRig) client(t *testing.T, name string) *docspace.Client {
	t.Helper()
	c, err := docspace.NewClient(r.url+"/p/"+name, key, docspace.WithInsecureHTTP(), docspace.WithRetryPolicy(docspace.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// count asks the count route for both paid values over [from, to].
func (r harmRig) count(t *testing.T, c *docspace.Client, from, to time.Time) int {
	t.Helper()
	total := 0
	for _, paid := range []bool{false, true} {
		n, _, err := c.GetBackupsCount(context.Background(), from, to, paid)
		if err != nil {
			t.Fatalf("GetBackupsCount(paid=%v) error = %v", paid, err)
		}
		total += n
	}
	return total
}

func TestCountRoute(t *testing.T) {
	r := newHarmRig(t, fakeportal.Config{})
	c := r.client(t, "healthy-1")
	ctx := context.Background()
	// Healthy: backups 3, 27 and 51 h old; the newest is a paid one.
	if n, _, err := c.GetBackupsCount(ctx, r.now.Add(-26*time.Hour), r.now, false); err != nil || n != 0 {
		t.Errorf("free backups in the last 26 h = %d, %v, want 0", n, err)
	}
	if n := r.count(t, c, r.now.Add(-26*time.Hour), r.now); n != 1 {
		t.Errorf("backups in the last 26 h = %d, want 1", n)
	}
	if n := r.count(t, c, r.now.Add(-100*time.Hour), r.now); n != 3 {
		t.Errorf("backups in the last 100 h = %d, want 3", n)
	}
	if n := r.count(t, r.client(t, "stale-1"), r.now.Add(-26*time.Hour), r.now); n != 0 {
		t.Errorf("stale: backups in the last 26 h = %d, want 0", n)
	}
	if got := r.portal.Stats().History["healthy-1"]; got != 0 {
		t.Errorf("history reads = %d, want 0: counting reads no history", got)
	}
	// Bad bounds: 400, as the server answers.
	resp, _ := get(t, r.url+"/p/healthy-1"+fakeportal.CountPath+"?from=2026-03-02T00:00:00&to=2026-03-01T00:00:00&paid=false", "Bearer "+key)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("count with from after to: status %d, want 400", resp.StatusCode)
	}
}

// TestPrunedHistory: the history's first read removes the records whose
// storage did not answer; the count route still counts them.
func TestPrunedHistory(t *testing.T) {
	r := newHarmRig(t, fakeportal.Config{})
	c := r.client(t, "pruned-1")
	ctx := context.Background()
	for i := range 2 {
		recs, _, err := c.GetBackupHistory(ctx)
		if err != nil || len(recs) != 0 {
			t.Errorf("history read %d = %v, %v, want an empty list", i+1, recs, err)
		}
	}
	if n := r.count(t, c, r.now.Add(-100*time.Hour), r.now); n != 3 {
		t.Errorf("count after pruning = %d, want 3 (removed records count)", n)
	}
	if got := r.portal.Stats().History["pruned-1"]; got != 2 {
		t.Errorf("history reads = %d, want 2", got)
	}
	// Another portal keeps its records.
	if recs, _, err := r.client(t, "healthy-2").GetBackupHistory(ctx); err != nil || len(recs) != 3 {
		t.Errorf("healthy history = %d record(s), %v, want 3", len(recs), err)
	}
}

func TestStorageError(t *testing.T) {
	r := newHarmRig(t, fakeportal.Config{})
	c := r.client(t, "storage_error-1")
	_, _, err := c.GetBackupHistory(context.Background())
	var ae *docspace.APIError
	if !errors.As(err, &ae) || ae.StatusCode != 500 || ae.Message != fakeportal.S3Message {
		t.Fatalf("history error = %v, want a 500 with the S3 message", err)
	}
	sched, _, err := c.GetBackupSchedule(context.Background())
	if err != nil || sched == nil || sched.StorageType != docspace.StorageThirdPartyConsumer || sched.StorageParams["bucket"] == "" {
		t.Errorf("schedule = %+v, %v, want S3 storage with a bucket", sched, err)
	}
	if n := r.count(t, c, r.now.Add(-26*time.Hour), r.now); n != 1 {
		t.Errorf("count = %d, want 1", n)
	}
}

func TestRecordLatency(t *testing.T) {
	r := newHarmRig(t, fakeportal.Config{RecordLatency: fakeportal.Duration(20 * time.Millisecond)})
	start := time.Now()
	if _, _, err := r.client(t, "healthy-1").GetBackupHistory(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Three records: at least 60 ms (a lower bound, never flaky).
	if took := time.Since(start); took < 60*time.Millisecond {
		t.Errorf("history took %v, want at least 60ms (3 records x 20ms)", took)
	}
}

func TestSettingsAnonymousAndSignedIn(t *testing.T) {
	r := newHarmRig(t, fakeportal.Config{})
	ctx := context.Background()
	tests := []struct {
		name       string
		standalone bool
		version    string
		zone       string // "" refused or absent
		zoneErr    bool
	}{
		{"healthy-1", false, "3.7.2.1234", "UTC", false},
		{"tokyo-1", false, "3.7.2.1234", "Asia/Tokyo", false},
		{"scope_limited-1", true, "3.7.2.1234", "", true},
		{"old_server-1", true, "3.2.1.700", "", true},
	}
	for _, tt := range tests {
		c := r.client(t, tt.name)
		st, _, err := c.GetPortalSettings(ctx)
		if err != nil || st.Standalone != tt.standalone || st.Version != tt.version {
			t.Errorf("%s anonymous settings = %+v, %v, want standalone %v, version %s", tt.name, st, err, tt.standalone, tt.version)
		}
		z, _, err := c.GetPortalZone(ctx)
		if (err != nil) != tt.zoneErr || z.TimeZone != tt.zone {
			t.Errorf("%s zone = %+v, %v, want %q (error %v)", tt.name, z, err, tt.zone, tt.zoneErr)
		}
	}
	if _, _, err := r.client(t, "scope_limited-1").GetPortalZone(ctx); !errors.Is(err, docspace.ErrPermissionDenied) {
		t.Errorf("scope-limited signed-in settings error = %v, want an empty 403", err)
	}
	if got := r.portal.Stats().Anonymous; got != len(tests) {
		t.Errorf("anonymous requests = %d, want %d", got, len(tests))
	}
	z, _, err := r.client(t, "tokyo-2").GetPortalZone(ctx)
	if err != nil || z.UTCOffset != "09:00:00" || z.UTCHoursOffset == nil || *z.UTCHoursOffset != 9 {
		t.Errorf("tokyo zone = %+v, %v, want offset 09:00:00 / 9", z, err)
	}
	// The newest backup is at 02:00 in Tokyo, 17:00 UTC.
	recs, _, err := r.client(t, "tokyo-3").GetBackupHistory(ctx)
	newest, ok := docspace.Newest(recs)
	if err != nil || !ok || newest.CreatedOn.UTC().Hour() != 17 {
		t.Errorf("tokyo newest backup = %v, %v, want at 17:00 UTC", newest.CreatedOn, err)
	}
}

func TestStuckJob(t *testing.T) {
	r := newHarmRig(t, fakeportal.Config{})
	c := r.client(t, "stuck-1")
	ctx := context.Background()
	pr, _, err := c.GetBackupProgress(ctx)
	if err != nil || pr == nil || pr.Status == nil || *pr.Status != docspace.ProgressRunning || pr.Done() {
		t.Fatalf("progress = %+v, %v, want Running", pr, err)
	}
	sched, _, err := c.GetBackupSchedule(ctx)
	if err != nil || sched == nil || r.now.Sub(sched.LastBackupTime.Time) != 20*time.Hour {
		t.Errorf("schedule = %+v, %v, want lastBackupTime 20 h ago", sched, err)
	}
}

func TestOldServer(t *testing.T) {
	r := newHarmRig(t, fakeportal.Config{})
	c := r.client(t, "old_server-1")
	ctx := context.Background()
	for name, call := range map[string]func() error{
		"state": func() error { _, _, err := c.GetBackupServiceState(ctx); return err },
		"count": func() error { _, _, err := c.GetBackupsCount(ctx, r.now.Add(-time.Hour), r.now, false); return err },
	} {
		var ae *docspace.APIError
		if err := call(); !errors.As(err, &ae) || ae.StatusCode != 404 || ae.Body != docspace.BodyEmpty {
			t.Errorf("%s error = %v, want an empty 404", name, err)
		}
	}
	if pr, _, err := c.GetBackupProgress(ctx); err != nil || pr == nil || pr.Status != nil {
		t.Errorf("progress = %+v, %v, want no status", pr, err)
	}
}

// TestEmptyBodies: the server's payment filter, rate limiters and missing
// routes answer with empty bodies; the concurrency limiter sends no
// Retry-After.
func TestEmptyBodies(t *testing.T) {
	r := newHarmRig(t, fakeportal.Config{FailFirst: 1})
	for _, tt := range []struct {
		path       string
		status     int
		retryAfter string
	}{
		{"/p/payment_required-1" + fakeportal.SchedulePath, 402, ""},
		{"/p/rate_limited-1" + fakeportal.StatePath, 429, "1"},
		{"/p/concurrency_limited-1" + fakeportal.StatePath, 429, ""},
		{"/p/not_found-1" + fakeportal.StatePath, 404, ""},
		{"/p/healthy-1/api/2.0/backup/nosuchroute", 404, ""},
		{"/p/old_server-1" + fakeportal.CountPath, 404, ""},
	} {
		resp, body := get(t, r.url+tt.path, "Bearer "+key)
		if resp.StatusCode != tt.status || len(body) != 0 || resp.Header.Get("Retry-After") != tt.retryAfter {
			t.Errorf("GET %s = %d, body %q, Retry-After %q; want %d, empty, %q", tt.path, resp.StatusCode, body, resp.Header.Get("Retry-After"), tt.status, tt.retryAfter)
		}
	}
	// Through the client: the concurrency limiter's 429 is retried after
	// the client's own backoff, and then the portal answers.
	c, err := docspace.NewClient(r.url+"/p/concurrency_limited-2", key, docspace.WithInsecureHTTP(),
		docspace.WithRetryPolicy(docspace.RetryPolicy{MaxAttempts: 3, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	st, res, err := c.GetBackupServiceState(context.Background())
	if err != nil || !st.Enabled || res.Attempts != 2 {
		t.Errorf("state through the concurrency limiter = %+v, %+v, %v; want enabled after 2 attempts", st, res, err)
	}
}

// TestUnknownScenarioRefused: a /p/ name that starts with no scenario is
// refused, not played as healthy.
func TestUnknownScenarioRefused(t *testing.T) {
	r := newHarmRig(t, fakeportal.Config{})
	resp, body := get(t, r.url+"/p/heathy-1"+fakeportal.StatePath, "Bearer "+key)
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(body), "names no scenario") || !strings.Contains(string(body), "healthy") {
		t.Errorf("unknown scenario: %d %q, want 404 naming the scenarios", resp.StatusCode, body)
	}
	if err := r.portal.SetPortalScenario("heathy-1", fakeportal.Stale); err != nil {
		t.Fatal(err)
	}
	if resp, _ := get(t, r.url+"/p/heathy-1"+fakeportal.StatePath, "Bearer "+key); resp.StatusCode != 200 {
		t.Errorf("after SetPortalScenario: %d, want 200", resp.StatusCode)
	}
}
