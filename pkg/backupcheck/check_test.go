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
	zone        *docspace.PortalZone // nil: UTC
	zoneErr     error
	// countErr answers the count route; paid is the paid flag of the
	// history's records (the count route counts them, removed ones too:
	// removed lists records the history no longer shows).
	countErr error
	paid     bool
	removed  []docspace.HistoryRecord
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

func (f *fakeReader) GetPortalZone(context.Context) (docspace.PortalZone, docspace.Result, error) {
	f.call("zone")
	z := docspace.PortalZone{TimeZone: "UTC", UTCOffset: "00:00:00"}
	if f.zone != nil {
		z = *f.zone
	}
	return z, f.result(f.zoneErr), f.zoneErr
}

func (f *fakeReader) GetBackupsCount(_ context.Context, from, to time.Time, paid bool) (int, docspace.Result, error) {
	f.call("count")
	n := 0
	for _, rec := range append(slices.Clone(f.history), f.removed...) {
		if paid == f.paid && !rec.CreatedOn.Never() && !rec.CreatedOn.Before(from) && !rec.CreatedOn.After(to) {
			n++
		}
	}
	return n, f.result(f.countErr), f.countErr
}

// historyReads counts the history reads.
func (f *fakeReader) historyReads() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Count(strings.Join(f.calls, " "), "history")
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
	// A healthy portal: the count route (both paid values), never the
	// history.
	all := []string{"count", "count", "progress", "schedule", "settings", "state", "zone"}
	// A stale one: the count route, "ever" too, and the history once for
	// the newest backup's date.
	stale := []string{"count", "count", "count", "count", "history", "progress", "schedule", "settings", "state", "zone"}
	remembered := []string{"count", "count", "progress", "schedule", "state"}
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
			want: Healthy, wantCalls: all, wantDetail: []string{"2 backup(s) landed since 2026-11-28T02:00:04Z (count route)", "daily schedule expects one every 26 h", "next run is due about 2026-11-30T02:00:00Z"}},
		{name: "no progress job is healthy", reader: &fakeReader{schedule: daily(), history: backups(2 * h)}, want: Healthy, wantCalls: all},

		// A failing call stops only what depends on it; the most urgent
		// problem is the verdict's reason.
		{name: "state 403", reader: &fakeReader{stateErr: err403, schedule: daily(), history: backups(h)}, want: PermissionDenied, wantCalls: all,
			wantDetail: []string{"reading the backup service state failed", "Access denied"}},
		{name: "schedule html", reader: &fakeReader{scheduleErr: errHTML, history: backups(h)}, want: BadResponse, wantCalls: all},
		{name: "schedule 402", reader: &fakeReader{scheduleErr: err402, history: backups(h)}, want: PaymentRequired, wantCalls: all},
		{name: "progress unreachable", reader: &fakeReader{schedule: daily(), history: backups(h), progressErr: errRefused}, want: Unreachable, wantCalls: all,
			wantDetail: []string{"giving up after 3 attempt(s)"}},

		// Priority between problems found together.
		{name: "payment before inactive", reader: &fakeReader{disabled: true, scheduleErr: err402}, want: PaymentRequired, wantCalls: all},
		{name: "no schedule before inactive", reader: &fakeReader{disabled: true, history: backups(h)}, want: NoSchedule, wantCalls: all},
		{name: "inactive alone on a cloud portal", reader: &fakeReader{disabled: true, schedule: daily(), history: backups(h), progress: completed}, want: ServiceInactive, wantCalls: all,
			wantDetail: []string{"enabled: false", "free backups"}},
		{name: "inactive on a self-hosted server is normal", reader: &fakeReader{disabled: true, schedule: daily(), history: backups(h), progress: completed, settings: docspace.PortalSettings{Standalone: true}},
			want: Healthy, wantCalls: all, wantDetail: []string{"self-hosted"}},
		{name: "self-hosted as an earlier run's settings said: not asked again", reader: &fakeReader{disabled: true, schedule: daily(), history: backups(h), progress: completed, settingsErr: errRefused},
			opts: Options{Facts: &Facts{Standalone: true, Version: "3.7.2"}}, want: Healthy, wantCalls: remembered, wantDetail: []string{"self-hosted"}},
		{name: "cloud as an earlier run's settings said: inactive, not asked again", reader: &fakeReader{disabled: true, schedule: daily(), history: backups(h), progress: completed, settings: docspace.PortalSettings{Standalone: true}},
			opts: Options{Facts: &Facts{Standalone: false, Version: "3.7.2"}}, want: ServiceInactive, wantCalls: remembered, wantDetail: []string{"free backups"}},
		{name: "a remembered kind does not skip the status of an empty 404", reader: &fakeReader{schedule: daily(), history: backups(h), progressErr: &docspace.APIError{StatusCode: 404, Method: "GET", Path: docspace.ProgressPath, Body: docspace.BodyEmpty}, settings: docspace.PortalSettings{Standalone: true, TenantStatus: ptr(docspace.TenantSuspended)}},
			opts: Options{Facts: &Facts{Standalone: true, Version: "3.7.2"}}, want: PortalSuspended, wantCalls: []string{"count", "count", "progress", "schedule", "settings", "state"}},
		{name: "no schedule before failed", reader: &fakeReader{history: backups(200 * h), progress: failedJob}, want: NoSchedule, wantCalls: stale,
			wantDetail: []string{"deletes the schedule itself after a billing failure", "200 h (8.3 days) ago"}},
		{name: "failed before stale", reader: &fakeReader{schedule: daily(), history: backups(98 * h), progress: failedJob}, want: BackupFailed, wantCalls: stale,
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
			wantDetail: []string{"no backup landed since 2026-11-28T02:00:04Z, 26 h ago (count route: none in that window, 1 before it); the daily schedule expects one every 26 h; the newest backup in the history is from 2026-11-25T02:00:04Z, 98 h ago"}},

		// Signals switched off.
		{name: "state only, inactive", reader: &fakeReader{disabled: true}, opts: Options{Signals: Signals{State: true}}, want: ServiceInactive, wantCalls: []string{"settings", "state"}},
		{name: "state only, no schedule not seen", reader: &fakeReader{}, opts: Options{Signals: Signals{State: true}}, want: Healthy, wantCalls: []string{"settings", "state"},
			wantDetail: []string{"enabled: true"}},
		{name: "state off ignores inactive", reader: &fakeReader{disabled: true, schedule: daily(), history: backups(h)}, opts: Options{Signals: Signals{Schedule: true, History: true, Progress: true}},
			want: Healthy, wantCalls: []string{"count", "count", "progress", "schedule", "settings", "zone"}},
		{name: "schedule on, history off still judges freshness", reader: &fakeReader{schedule: daily(), history: backups(30 * h)}, opts: Options{Signals: Signals{Schedule: true}},
			want: BackupStale, wantCalls: []string{"count", "count", "count", "count", "history", "schedule", "settings", "zone"}},
		{name: "history only uses 26 h", reader: &fakeReader{history: backups(27 * h)}, opts: Options{Signals: Signals{History: true}}, want: BackupStale, wantCalls: []string{"count", "count", "count", "count", "history", "settings", "zone"},
			wantDetail: []string{"the check expects one every 26 h"}},
		{name: "history only with StaleAfter", reader: &fakeReader{history: backups(27 * h)}, opts: Options{Signals: Signals{History: true}, StaleAfter: 48 * h}, want: Healthy},
		{name: "progress off ignores failed job", reader: &fakeReader{schedule: daily(), history: backups(h), progress: failedJob}, opts: Options{Signals: Signals{State: true, Schedule: true}},
			want: Healthy, wantCalls: []string{"count", "count", "schedule", "settings", "state", "zone"}},
		{name: "progress only", reader: &fakeReader{progress: failedJob}, opts: Options{Signals: Signals{Progress: true}}, want: BackupFailed, wantCalls: []string{"progress", "settings"}},
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
			wantDetail: []string{"no backup ever", "watcher first saw the schedule at 2026-11-27T22:00:04Z, 30 h ago"}},
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
	// A person asking once wants the newest backup's date: the history is
	// read although the count says backups land.
	r := &fakeReader{schedule: daily(), history: backups(5*h, 29*h), progress: completed, attempts: 2}
	v := Check(context.Background(), "p", r, Options{Signals: AllSignals(), WantNewest: true}, now)
	if v.Reason != Healthy || v.Calls != 16 || v.Result.Attempts != 16 || v.Result.Latency != 10*time.Millisecond || v.Result.StatusCode != 200 {
		t.Errorf("Check() = %s, calls %d, result %+v; want healthy, 16 calls (8 routes twice), 10ms (the longest call), 200", v.Reason, v.Calls, v.Result)
	}
	if !v.HistoryRead || v.Sources[BackupStale] != SourceCount || v.BackupsCounted == nil || *v.BackupsCounted != 1 {
		t.Errorf("Check() historyRead %v, sources %v, counted %v; want the history read, staleness from the count (1)", v.HistoryRead, v.Sources, v.BackupsCounted)
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
	for _, key := range []string{`"lastBackup":"2026-11-28T23:00:04Z"`, `"nextDue":"2026-11-30T02:00:00Z"`, `"staleAfterMs":93600000`, `"schedule":{"period":0,"hour":2,"day":0}`, `"calls":16`, `"result":{"httpStatus":200,"requests":16,"latencyMs":10}`, `"historyRead":true`, `"backup_stale":"count"`} {
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
	r = &fakeReader{scheduleErr: err402}
	v = Check(context.Background(), "p", r, Options{Signals: AllSignals()}, now)
	if v.Result.StatusCode != 402 || v.Calls != 7 {
		t.Errorf("Check() result = %+v, calls %d, want 402 after 7", v.Result, v.Calls)
	}
	if _, ok := v.HoursSinceLastBackup(); ok {
		t.Error("HoursSinceLastBackup() ok = true without a history, want false")
	}

	// Without WantNewest a healthy portal's history is not read.
	r = &fakeReader{schedule: daily(), history: backups(5 * h), progress: completed}
	v = Check(context.Background(), "p", r, Options{Signals: AllSignals()}, now)
	if r.historyReads() != 0 || v.HistoryRead || v.LastBackup != nil {
		t.Errorf("Check() read the history %d time(s) (historyRead %v, lastBackup %v), want none", r.historyReads(), v.HistoryRead, v.LastBackup)
	}
}

// portal serves the routes from fixed bodies; a route without a body
// answers 404. The count route's answer for "ever" (from countEpoch) is
// the body of CountPath+"#ever", when there is one.
func portal(t *testing.T, bodies map[string]string, status map[string]int) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := bodies[r.URL.Path]
		if ever, set := bodies[r.URL.Path+"#ever"]; set && strings.HasPrefix(r.URL.Query().Get("from"), countEpoch.Format("2006-01-02")) {
			body = ever
		}
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
	settings := `{"response":{"standalone":false,"version":"3.7.2.1000","tenantStatus":0,"timezone":"UTC","utcOffset":"00:00:00","utcHoursOffset":0},"count":1,"status":0,"statusCode":200}`
	zero := `{"response":0,"count":1,"status":0,"statusCode":200}`
	two := `{"response":2,"count":1,"status":0,"statusCode":200}`
	forbidden := `{"error":{"message":"Access denied","type":"System.Security.SecurityException","stack":"at ASC.Web.Api.Secret()","hresult":-2146233088},"status":1,"statusCode":403}`
	tests := []struct {
		name   string
		bodies map[string]string
		status map[string]int
		want   Reason
		calls  int
	}{
		{name: "stale daily", bodies: map[string]string{docspace.DefaultStatePath: state, docspace.SchedulePath: sched, docspace.HistoryPath: history, docspace.ProgressPath: none, docspace.SettingsPath: settings, docspace.CountPath: zero, docspace.CountPath + "#ever": two},
			want: BackupStale, calls: 10},
		{name: "no schedule", bodies: map[string]string{docspace.DefaultStatePath: state, docspace.SchedulePath: none, docspace.HistoryPath: none, docspace.ProgressPath: none, docspace.SettingsPath: settings, docspace.CountPath: two},
			want: NoSchedule, calls: 7},
		{name: "history 403", bodies: map[string]string{docspace.DefaultStatePath: state, docspace.SchedulePath: sched, docspace.HistoryPath: forbidden, docspace.ProgressPath: none, docspace.SettingsPath: settings, docspace.CountPath: zero, docspace.CountPath + "#ever": two},
			status: map[string]int{docspace.HistoryPath: 403}, want: PermissionDenied, calls: 10},
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
				if want := "the newest backup in the history is from 2026-11-25T02:00:04Z, 98 h ago"; !strings.Contains(v.Detail, want) {
					t.Errorf("Check() detail = %q, want %q", v.Detail, want)
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
