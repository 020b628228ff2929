package backupcheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
)

// fakeReader answers each call from its fields and records the calls.
type fakeReader struct {
	disabled    bool
	stateErr    error
	schedule    *docspace.Schedule
	scheduleErr error
	history     []docspace.HistoryRecord
	historyErr  error
	progress    *docspace.Progress
	progressErr error
	settings    docspace.PortalSettings
	settingsErr error
	// attempts is the Attempts every call reports; 0 means 1.
	attempts int

	mu    sync.Mutex
	calls []string
}

func (f *fakeReader) call(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, name)
}

// sortedCalls returns the calls made, sorted: Check makes them at once.
func (f *fakeReader) sortedCalls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Sorted(slices.Values(f.calls))
}

func (f *fakeReader) GetPortalSettings(context.Context) (docspace.PortalSettings, docspace.Result, error) {
	f.call("settings")
	return f.settings, f.result(f.settingsErr), f.settingsErr
}

func (f *fakeReader) result(err error) docspace.Result {
	res := docspace.Result{StatusCode: 200, Attempts: max(f.attempts, 1), Latency: 10 * time.Millisecond}
	var ae *docspace.APIError
	switch {
	case errors.As(err, &ae):
		res.StatusCode = ae.StatusCode
	case err != nil:
		res.StatusCode = 0
	}
	return res
}

func (f *fakeReader) GetBackupServiceState(context.Context) (docspace.ServiceState, docspace.Result, error) {
	f.call("state")
	return docspace.ServiceState{Enabled: !f.disabled}, f.result(f.stateErr), f.stateErr
}

func (f *fakeReader) GetBackupSchedule(context.Context) (*docspace.Schedule, docspace.Result, error) {
	f.call("schedule")
	return f.schedule, f.result(f.scheduleErr), f.scheduleErr
}

func (f *fakeReader) GetBackupHistory(context.Context) ([]docspace.HistoryRecord, docspace.Result, error) {
	f.call("history")
	return f.history, f.result(f.historyErr), f.historyErr
}

func (f *fakeReader) GetBackupProgress(context.Context) (*docspace.Progress, docspace.Result, error) {
	f.call("progress")
	return f.progress, f.result(f.progressErr), f.progressErr
}

// now is a Sunday; the last good backup ran on Wednesday, 98 h before.
var (
	now       = utc(2026, 11, 29, 4, 0).Add(4 * time.Second)
	wednesday = utc(2026, 11, 25, 2, 0).Add(4 * time.Second)
	never     = docspace.Time{Time: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)}
)

func schedule(period docspace.CronPeriod, hour, day int) *docspace.Schedule {
	return &docspace.Schedule{CronParams: docspace.CronParams{Period: period, Hour: hour, Day: day}, LastBackupTime: never}
}

func daily() *docspace.Schedule { return schedule(docspace.PeriodDaily, 2, 0) }

// backups returns history records created at each of the given ages
// before now, plus one record without a date.
func backups(ages ...time.Duration) []docspace.HistoryRecord {
	recs := []docspace.HistoryRecord{{ID: "undated", CreatedOn: never}}
	for i, age := range ages {
		recs = append(recs, docspace.HistoryRecord{ID: fmt.Sprint(i), CreatedOn: docspace.Time{Time: now.Add(-age)}})
	}
	return recs
}

var (
	completed  = &docspace.Progress{IsCompleted: true, Progress: 100, Status: ptr(docspace.ProgressCompleted)}
	failedJob  = &docspace.Progress{IsCompleted: true, Progress: 40, Status: ptr(docspace.ProgressFailed), Error: "Storage quota exceeded\n   at ASC.Data.Backup.Secret()"}
	err402     = &docspace.APIError{StatusCode: 402, Method: "GET", Path: docspace.HistoryPath, Message: "Payment required"}
	err403     = &docspace.APIError{StatusCode: 403, Method: "GET", Path: docspace.DefaultStatePath, Message: "Access denied"}
	errRefused = &docspace.RetryError{Attempts: 3, Err: &docspace.TransportError{Path: docspace.ProgressPath, Err: errors.New("connection refused")}}
	errHTML    = &docspace.BadResponseError{StatusCode: 200, Path: docspace.SchedulePath, ContentType: "text/html", Reason: "not JSON"}
	h          = time.Hour
	day        = 24 * time.Hour
)

func TestCheck(t *testing.T) {
	all := []string{"history", "progress", "schedule", "state"}
	withSettings := []string{"history", "progress", "schedule", "settings", "state"}
	tests := []struct {
		name       string
		reader     *fakeReader
		opts       Options // zero Signals means AllSignals unless noSignals
		noSignals  bool
		want       Reason
		wantCalls  []string // nil: not checked
		wantDetail []string // substrings
	}{
		{name: "healthy", reader: &fakeReader{schedule: daily(), history: backups(2*h, 26*h), progress: completed},
			want: Healthy, wantCalls: all, wantDetail: []string{"2 h ago", "daily schedule expects one every 26 h", "next run is due about 2026-11-30T02:00:00Z"}},
		{name: "no progress job is healthy", reader: &fakeReader{schedule: daily(), history: backups(2 * h)}, want: Healthy, wantCalls: all},

		// A failing call stops only what depends on it; the most urgent
		// problem is the verdict's reason.
		{name: "state 403", reader: &fakeReader{stateErr: err403, schedule: daily(), history: backups(h)}, want: PermissionDenied, wantCalls: all,
			wantDetail: []string{"reading the backup service state failed", "Access denied"}},
		{name: "schedule html", reader: &fakeReader{scheduleErr: errHTML, history: backups(h)}, want: BadResponse, wantCalls: all},
		{name: "history 402", reader: &fakeReader{schedule: daily(), historyErr: err402}, want: PaymentRequired, wantCalls: all},
		{name: "progress unreachable", reader: &fakeReader{schedule: daily(), history: backups(h), progressErr: errRefused}, want: Unreachable, wantCalls: all,
			wantDetail: []string{"giving up after 3 attempt(s)"}},

		// Priority between problems found together.
		{name: "payment before inactive", reader: &fakeReader{disabled: true, historyErr: err402, schedule: daily()}, want: PaymentRequired, wantCalls: withSettings},
		{name: "no schedule before inactive", reader: &fakeReader{disabled: true, history: backups(h)}, want: NoSchedule, wantCalls: withSettings},
		{name: "inactive alone on a cloud portal", reader: &fakeReader{disabled: true, schedule: daily(), history: backups(h), progress: completed}, want: ServiceInactive, wantCalls: withSettings,
			wantDetail: []string{"enabled: false", "free backups"}},
		{name: "inactive on a self-hosted server is normal", reader: &fakeReader{disabled: true, schedule: daily(), history: backups(h), progress: completed, settings: docspace.PortalSettings{Standalone: true}},
			want: Healthy, wantCalls: withSettings, wantDetail: []string{"self-hosted"}},
		{name: "self-hosted as an earlier run's settings said: not asked again", reader: &fakeReader{disabled: true, schedule: daily(), history: backups(h), progress: completed, settingsErr: errRefused},
			opts: Options{Standalone: ptr(true)}, want: Healthy, wantCalls: all, wantDetail: []string{"self-hosted"}},
		{name: "cloud as an earlier run's settings said: inactive, not asked again", reader: &fakeReader{disabled: true, schedule: daily(), history: backups(h), progress: completed, settings: docspace.PortalSettings{Standalone: true}},
			opts: Options{Standalone: ptr(false)}, want: ServiceInactive, wantCalls: all, wantDetail: []string{"free backups"}},
		{name: "a remembered kind does not skip the status of an empty 404", reader: &fakeReader{schedule: daily(), history: backups(h), progressErr: &docspace.APIError{StatusCode: 404, Method: "GET", Path: docspace.ProgressPath, Body: docspace.BodyEmpty}, settings: docspace.PortalSettings{Standalone: true, TenantStatus: ptr(docspace.TenantSuspended)}},
			opts: Options{Standalone: ptr(true)}, want: PortalSuspended, wantCalls: withSettings},
		{name: "no schedule before failed", reader: &fakeReader{history: backups(200 * h), progress: failedJob}, want: NoSchedule, wantCalls: all,
			wantDetail: []string{"deletes the schedule itself after a billing failure", "200 h (8.3 days) ago"}},
		{name: "failed before stale", reader: &fakeReader{schedule: daily(), history: backups(98 * h), progress: failedJob}, want: BackupFailed, wantCalls: all,
			wantDetail: []string{"Storage quota exceeded"}},
		{name: "failed by status alone", reader: &fakeReader{schedule: daily(), history: backups(h), progress: &docspace.Progress{Status: ptr(docspace.ProgressFailed)}}, want: BackupFailed,
			wantDetail: []string{"status Failed"}},
		{name: "a failed restore is not a failed backup", reader: &fakeReader{schedule: daily(), history: backups(h), progress: &docspace.Progress{Status: ptr(docspace.ProgressFailed), BackupProgressEnum: 1, Error: "restore failed"}}, want: Healthy},
		{name: "failed by error text alone", reader: &fakeReader{schedule: daily(), history: backups(h), progress: &docspace.Progress{Status: ptr(docspace.ProgressRunning), Error: "disk full"}}, want: BackupFailed},
		{name: "failed as completed", reader: &fakeReader{schedule: daily(), history: backups(h), progress: &docspace.Progress{IsCompleted: true, Status: ptr(docspace.ProgressCompleted), Error: "The remote storage refused the upload"}}, want: BackupFailed,
			wantDetail: []string{"failed (status Completed): The remote storage refused the upload"}},
		{name: "failed without a status field", reader: &fakeReader{schedule: daily(), history: backups(h), progress: &docspace.Progress{IsCompleted: true, Error: "disk full"}}, want: BackupFailed,
			wantDetail: []string{"status unknown"}},
		{name: "cancelled is not a failure", reader: &fakeReader{schedule: daily(), history: backups(h), progress: &docspace.Progress{IsCompleted: true, Status: ptr(docspace.ProgressCanceled), Warning: "Backup cancelled"}}, want: Healthy},
		{name: "warning job", reader: &fakeReader{schedule: daily(), history: backups(h), progress: &docspace.Progress{IsCompleted: true, Status: ptr(docspace.ProgressCompleted), Warning: "3 files are missing"}}, want: BackupWarning,
			wantDetail: []string{"completed with a warning: 3 files are missing"}},
		{name: "stale daily", reader: &fakeReader{schedule: daily(), history: []docspace.HistoryRecord{{CreatedOn: docspace.Time{Time: wednesday}}}, progress: completed}, want: BackupStale,
			wantDetail: []string{"newest backup is from 2026-11-25T02:00:04Z, 98 h ago; the daily schedule expects one every 26 h"}},

		// Signals switched off.
		{name: "state only, inactive", reader: &fakeReader{disabled: true}, opts: Options{Signals: Signals{State: true}}, want: ServiceInactive, wantCalls: []string{"settings", "state"}},
		{name: "state only, no schedule not seen", reader: &fakeReader{}, opts: Options{Signals: Signals{State: true}}, want: Healthy, wantCalls: []string{"state"},
			wantDetail: []string{"enabled: true"}},
		{name: "state off ignores inactive", reader: &fakeReader{disabled: true, schedule: daily(), history: backups(h)}, opts: Options{Signals: Signals{Schedule: true, History: true, Progress: true}},
			want: Healthy, wantCalls: all[:3]},
		{name: "schedule on, history off still reads history", reader: &fakeReader{schedule: daily(), history: backups(30 * h)}, opts: Options{Signals: Signals{Schedule: true}},
			want: BackupStale, wantCalls: []string{"history", "schedule"}},
		{name: "history only uses 26 h", reader: &fakeReader{history: backups(27 * h)}, opts: Options{Signals: Signals{History: true}}, want: BackupStale, wantCalls: []string{"history"},
			wantDetail: []string{"the check expects one every 26 h"}},
		{name: "history only with StaleAfter", reader: &fakeReader{history: backups(27 * h)}, opts: Options{Signals: Signals{History: true}, StaleAfter: 48 * h}, want: Healthy},
		{name: "progress off ignores failed job", reader: &fakeReader{schedule: daily(), history: backups(h), progress: failedJob}, opts: Options{Signals: Signals{State: true, Schedule: true}},
			want: Healthy, wantCalls: []string{"history", "schedule", "state"}},
		{name: "progress only", reader: &fakeReader{progress: failedJob}, opts: Options{Signals: Signals{Progress: true}}, want: BackupFailed, wantCalls: []string{"progress"}},
		{name: "nothing on", reader: &fakeReader{disabled: true}, noSignals: true, want: Healthy, wantCalls: []string{}},

		// Thresholds.
		{name: "daily 25 h", reader: &fakeReader{schedule: daily(), history: backups(25 * h)}, want: Healthy},
		{name: "daily 27 h", reader: &fakeReader{schedule: daily(), history: backups(27*h, 50*h)}, want: BackupStale},
		{name: "weekly 7 days 20 h", reader: &fakeReader{schedule: schedule(docspace.PeriodWeekly, 2, 1), history: backups(7*day + 20*h)}, want: Healthy},
		{name: "weekly 8 days 1 h", reader: &fakeReader{schedule: schedule(docspace.PeriodWeekly, 2, 1), history: backups(8*day + h)}, want: BackupStale,
			wantDetail: []string{"weekly schedule expects one every 192 h (8.0 days)"}},
		{name: "monthly 31 days", reader: &fakeReader{schedule: schedule(docspace.PeriodMonthly, 2, 31), history: backups(31 * day)}, want: Healthy},
		{name: "monthly 33 days", reader: &fakeReader{schedule: schedule(docspace.PeriodMonthly, 2, 31), history: backups(33 * day)}, want: BackupStale},
		{name: "StaleAfter overrides the schedule", reader: &fakeReader{schedule: daily(), history: backups(13 * h)}, opts: Options{StaleAfter: 12 * h}, want: BackupStale,
			wantDetail: []string{"limit of 12 h"}},

		// No history.
		{name: "new schedule, no history, no baseline", reader: &fakeReader{schedule: daily(), history: []docspace.HistoryRecord{}}, want: Healthy,
			wantDetail: []string{"first backup is due about 2026-11-30T02:00:00Z"}},
		{name: "only undated records count as none", reader: &fakeReader{schedule: daily(), history: backups()}, want: Healthy},
		{name: "first seen 10 h ago", reader: &fakeReader{schedule: daily()}, opts: Options{FirstSeen: now.Add(-10 * h)}, want: Healthy,
			wantDetail: []string{"first backup is expected by 2026-11-29T20:00:04Z"}},
		{name: "first seen 30 h ago", reader: &fakeReader{schedule: daily()}, opts: Options{FirstSeen: now.Add(-30 * h)}, want: BackupStale,
			wantDetail: []string{"no backup in the history", "watcher first saw the schedule at 2026-11-27T22:00:04Z, 30 h ago"}},
		{name: "queued job 3 days ago, never finished", reader: &fakeReader{schedule: &docspace.Schedule{LastBackupTime: docspace.Time{Time: now.Add(-3 * day)}}}, want: BackupStale,
			wantDetail: []string{"last backup job was queued"}},
		{name: "earliest baseline wins", reader: &fakeReader{schedule: &docspace.Schedule{LastBackupTime: docspace.Time{Time: now.Add(-h)}}}, opts: Options{FirstSeen: now.Add(-30 * h)}, want: BackupStale},
		{name: "weekly new schedule not stale before first due + grace", reader: &fakeReader{schedule: schedule(docspace.PeriodWeekly, 2, 7)},
			opts: Options{FirstSeen: now.Add(-2 * h), StaleAfter: h}, want: Healthy, wantDetail: []string{"expected by 2026-12-05T04:00:00Z"}},
		{name: "weekly new schedule stale after first due + grace", reader: &fakeReader{schedule: schedule(docspace.PeriodWeekly, 4, 1)},
			opts: Options{FirstSeen: now.Add(-7*day - 3*h), StaleAfter: h}, want: BackupStale},
		{name: "history only, no baseline", reader: &fakeReader{}, opts: Options{Signals: Signals{History: true}}, want: Healthy, wantDetail: []string{"no known start"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			if opts.Signals == (Signals{}) && !tt.noSignals {
				opts.Signals = AllSignals()
			}
			v := Check(context.Background(), "portal.example.com", tt.reader, opts, now)
			if v.Reason != tt.want {
				t.Errorf("Check(%s) = %s (%s), want %s", tt.name, v.Reason, v.Detail, tt.want)
			}
			if got := tt.reader.sortedCalls(); tt.wantCalls != nil && !slices.Equal(got, tt.wantCalls) {
				t.Errorf("Check(%s) calls = %v, want %v", tt.name, got, tt.wantCalls)
			}
			if v.Calls != len(tt.reader.calls) || v.Result.Attempts != v.Calls {
				t.Errorf("Check(%s) Calls, Attempts = %d, %d, want %d", tt.name, v.Calls, v.Result.Attempts, len(tt.reader.calls))
			}
			for _, s := range tt.wantDetail {
				if !strings.Contains(v.Detail, s) {
					t.Errorf("Check(%s) detail = %q, want it to hold %q", tt.name, v.Detail, s)
				}
			}
			if strings.Contains(v.Detail, "Secret") {
				t.Errorf("Check(%s) detail = %q leaks a stack trace", tt.name, v.Detail)
			}
			if v.Portal != "portal.example.com" || !v.At.Equal(now) {
				t.Errorf("Check(%s) portal, at = %q, %v", tt.name, v.Portal, v.At)
			}
			if v.Reason != Healthy && v.Detail == "" {
				t.Errorf("Check(%s) = %s without a detail", tt.name, v.Reason)
			}
		})
	}
}

func TestCheckFillsVerdict(t *testing.T) {
	r := &fakeReader{schedule: daily(), history: backups(5*h, 29*h), progress: completed, attempts: 2}
	v := Check(context.Background(), "p", r, Options{Signals: AllSignals()}, now)
	if v.Reason != Healthy || v.Calls != 8 || v.Result.Attempts != 8 || v.Result.Latency != 10*time.Millisecond || v.Result.StatusCode != 200 {
		t.Errorf("Check() = %s, calls %d, result %+v; want healthy, 8 calls, 10ms (the calls run at once), 200", v.Reason, v.Calls, v.Result)
	}
	if v.Enabled == nil || !*v.Enabled {
		t.Errorf("Check() enabled = %v, want true", v.Enabled)
	}
	if v.LastBackup == nil || !v.LastBackup.Equal(now.Add(-5*h)) {
		t.Errorf("Check() last backup = %v, want %v", v.LastBackup, now.Add(-5*h))
	}
	if v.NextDue == nil || !v.NextDue.Equal(utc(2026, 11, 30, 2, 0)) {
		t.Errorf("Check() next due = %v, want 2026-11-30T02:00Z", v.NextDue)
	}
	if v.StaleAfter != 26*h || v.Schedule == nil || *v.Schedule != daily().CronParams {
		t.Errorf("Check() staleAfter, schedule = %v, %+v, want 26h, daily", v.StaleAfter, v.Schedule)
	}
	if got, ok := v.HoursSinceLastBackup(); !ok || got != 5 {
		t.Errorf("HoursSinceLastBackup() = %v, %v, want 5, true", got, ok)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json.Marshal(verdict) error = %v", err)
	}
	for _, key := range []string{`"lastBackup":"2026-11-28T23:00:04Z"`, `"nextDue":"2026-11-30T02:00:00Z"`, `"staleAfterMs":93600000`, `"schedule":{"period":0,"hour":2,"day":0}`, `"calls":8`, `"result":{"httpStatus":200,"requests":8,"latencyMs":10}`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("json.Marshal(verdict) = %s, want it to hold %s", b, key)
		}
	}
	for _, key := range []string{"Ns\"", `"attempts"`} {
		if strings.Contains(string(b), key) {
			t.Errorf("json.Marshal(verdict) = %s, want no %s: the log line's and check-portal's names (requests, latencyMs)", b, key)
		}
	}

	// The worst status code across calls is kept.
	r = &fakeReader{schedule: daily(), historyErr: err402}
	v = Check(context.Background(), "p", r, Options{Signals: AllSignals()}, now)
	if v.Result.StatusCode != 402 || v.Calls != 4 {
		t.Errorf("Check() result = %+v, calls %d, want 402 after 4", v.Result, v.Calls)
	}
	if _, ok := v.HoursSinceLastBackup(); ok {
		t.Error("HoursSinceLastBackup() ok = true without a history, want false")
	}
}

// portal serves the four backup routes from fixed bodies; a route without
// a body answers 404.
func portal(t *testing.T, bodies map[string]string, status map[string]int) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := bodies[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if code := status[r.URL.Path]; code != 0 {
			w.WriteHeader(code)
		}
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestCheckWithRealClient(t *testing.T) {
	const key docspace.APIKey = "sk-real-client-test-key-0123456789"
	state := `{"response":{"enabled":true},"count":1,"status":0,"statusCode":200}`
	sched := `{"response":{"storageType":0,"storageParams":{"folderId":"1"},"cronParams":{"period":0,"hour":2,"day":0},"lastBackupTime":"2026-11-25T02:00:00","dump":false},"count":1,"status":0,"statusCode":200}`
	history := `{"response":[{"id":"a","fileName":"a.tar.gz","storageType":0,"createdOn":"2026-11-24T02:00:04","expiresOn":"0001-01-01T00:00:00"},{"id":"b","fileName":"b.tar.gz","storageType":0,"createdOn":"2026-11-25T02:00:04.123Z","expiresOn":"0001-01-01T00:00:00"}],"count":2,"status":0,"statusCode":200}`
	none := `{"count":0,"status":0,"statusCode":200}`
	forbidden := `{"error":{"message":"Access denied","type":"System.Security.SecurityException","stack":"at ASC.Web.Api.Secret()","hresult":-2146233088},"status":1,"statusCode":403}`
	tests := []struct {
		name   string
		bodies map[string]string
		status map[string]int
		want   Reason
		calls  int
	}{
		{name: "stale daily", bodies: map[string]string{docspace.DefaultStatePath: state, docspace.SchedulePath: sched, docspace.HistoryPath: history, docspace.ProgressPath: none}, want: BackupStale, calls: 4},
		{name: "no schedule", bodies: map[string]string{docspace.DefaultStatePath: state, docspace.SchedulePath: none, docspace.HistoryPath: none, docspace.ProgressPath: none}, want: NoSchedule, calls: 4},
		{name: "history 403", bodies: map[string]string{docspace.DefaultStatePath: state, docspace.SchedulePath: sched, docspace.HistoryPath: forbidden},
			status: map[string]int{docspace.HistoryPath: 403}, want: PermissionDenied, calls: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := docspace.NewClient(portal(t, tt.bodies, tt.status), key, docspace.WithInsecureHTTP(),
				docspace.WithRetryPolicy(docspace.RetryPolicy{MaxAttempts: 2, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond}))
			if err != nil {
				t.Fatalf("NewClient() error = %v", err)
			}
			v := Check(context.Background(), c.Host(), c, Options{Signals: AllSignals()}, now)
			if v.Reason != tt.want || v.Calls != tt.calls {
				t.Errorf("Check() = %s (%s) after %d calls, want %s after %d", v.Reason, v.Detail, v.Calls, tt.want, tt.calls)
			}
			if strings.Contains(v.Detail, string(key)) || strings.Contains(v.Detail, "Secret") {
				t.Errorf("Check() detail = %q leaks the key or the stack", v.Detail)
			}
			if tt.want == BackupStale {
				if want := "newest backup is from 2026-11-25T02:00:04Z, 98 h ago; the daily schedule expects one every 26 h"; !strings.Contains(v.Detail, want) {
					t.Errorf("Check() detail = %q, want %q", v.Detail, want)
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
