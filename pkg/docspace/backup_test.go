package docspace

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fixture returns the content of testdata/name.
func fixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return string(b)
}

// jsonReply answers 200 with a JSON body.
func jsonReply(body string) http.HandlerFunc {
	return reply(200, "application/json; charset=utf-8", body)
}

// onlyPath fails the test when the client asks for another path than want.
func onlyPath(t *testing.T, want string, h http.HandlerFunc) http.HandlerFunc {
	t.Helper()
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != want || r.Method != http.MethodGet {
			t.Errorf("request %s %s, want GET %s", r.Method, r.URL.Path, want)
		}
		h(w, r)
	}
}

// checkErr checks err against the wanted sentinel or *BadResponseError, and
// that it leaks neither the key nor the server's stack trace.
func checkErr(t *testing.T, call string, err error, sentinel error, bad bool) {
	t.Helper()
	switch {
	case sentinel == nil && !bad:
		if err != nil {
			t.Fatalf("%s error = %v, want nil", call, err)
		}
		return
	case err == nil:
		t.Fatalf("%s error = nil, want one", call)
	case sentinel != nil && !errors.Is(err, sentinel):
		t.Errorf("errors.Is(%v, %v) = false, want true", err, sentinel)
	case bad:
		wantBadResponse(t, err)
	}
	if msg := err.Error(); strings.Contains(msg, string(testKey)) || strings.Contains(msg, "Secret") {
		t.Errorf("%s error %q leaks the key or the server stack", call, msg)
	}
}

func utc(y int, m time.Month, d, h, min, s, ns int) time.Time {
	return time.Date(y, m, d, h, min, s, ns, time.UTC)
}

func TestGetBackupSchedule(t *testing.T) {
	ten := 10
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		want     *Schedule
		sentinel error
		bad      bool
	}{
		{name: "present", handler: jsonReply(fixture(t, "schedule.json")), want: &Schedule{
			StorageType: StorageDocuments, StorageParams: map[string]string{"folderId": "123"},
			CronParams:    CronParams{Period: PeriodWeekly, Hour: 2, Day: 1},
			BackupsStored: &ten, LastBackupTime: Time{utc(2026, 3, 1, 2, 0, 4, 0)},
		}},
		{name: "unlimited and never run", handler: jsonReply(fixture(t, "schedule_unlimited_never.json")), want: &Schedule{
			StorageType: StorageLocal, StorageParams: map[string]string{"filePath": "/backup"},
			CronParams:     CronParams{Period: PeriodDaily, Hour: 23},
			LastBackupTime: Time{time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)}, Dump: true,
		}},
		{name: "last backup with Z and fraction", handler: jsonReply(`{"response":{"cronParams":{"period":2,"hour":0,"day":31},"lastBackupTime":"2026-03-01T02:00:04.25Z"}}`), want: &Schedule{
			CronParams: CronParams{Period: PeriodMonthly, Day: 31}, LastBackupTime: Time{utc(2026, 3, 1, 2, 0, 4, 25e7)},
		}},
		{name: "last backup with offset", handler: jsonReply(`{"response":{"lastBackupTime":"2026-03-01T05:00:04+03:00"}}`), want: &Schedule{
			LastBackupTime: Time{utc(2026, 3, 1, 2, 0, 4, 0)},
		}},
		{name: "no schedule", handler: jsonReply(fixture(t, "empty.json"))},
		{name: "null response", handler: jsonReply(`{"response":null,"count":0,"status":0}`)},
		{name: "date of wrong type", handler: jsonReply(`{"response":{"lastBackupTime":5}}`), bad: true},
		{name: "period of wrong type", handler: jsonReply(`{"response":{"cronParams":{"period":"x","hour":2,"day":0}}}`), bad: true},
		{name: "storage param not a string", handler: jsonReply(`{"response":{"storageParams":{"folderId":1}}}`), bad: true},
		{name: "response is a list", handler: jsonReply(`{"response":[]}`), bad: true},
		{name: "unparsable date", handler: jsonReply(`{"response":{"lastBackupTime":"yesterday"}}`), bad: true},
		{name: "html from login proxy", handler: reply(200, "text/html", "<html>login</html>"), bad: true},
		{name: "truncated json", handler: jsonReply(`{"response":{"storageType":0,`), bad: true},
		{name: "402 unpaid portal", handler: reply(402, "application/json", fixture(t, "error_402.json")), sentinel: ErrPaymentRequired},
		{name: "403 not admin", handler: reply(403, "application/json", fixture(t, "error_403.json")), sentinel: ErrPermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, onlyPath(t, SchedulePath, tt.handler))
			got, res, err := c.GetBackupSchedule(context.Background())
			checkErr(t, "GetBackupSchedule()", err, tt.sentinel, tt.bad)
			if err != nil {
				if got != nil {
					t.Errorf("GetBackupSchedule() = %+v with error, want nil", got)
				}
				return
			}
			if res.StatusCode != 200 || res.Attempts != 1 {
				t.Errorf("GetBackupSchedule() result = %+v, want 200 after 1 attempt", res)
			}
			if !equalJSON(t, got, tt.want) {
				t.Errorf("GetBackupSchedule() = %s, want %s", mustJSON(t, got), mustJSON(t, tt.want))
			}
		})
	}
}

func TestGetBackupHistory(t *testing.T) {
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		want     []HistoryRecord
		sentinel error
		bad      bool
	}{
		{name: "three records, unordered, dates with and without offset", handler: jsonReply(fixture(t, "history.json")), want: []HistoryRecord{
			{ID: "0b9c4c1e-0000-4000-8000-000000000001", FileName: "backup_2026-03-01.tar.gz", CreatedOn: Time{utc(2026, 3, 1, 2, 0, 4, 0)}, ExpiresOn: Time{utc(2026, 4, 1, 2, 0, 4, 0)}},
			{ID: "0b9c4c1e-0000-4000-8000-000000000003", FileName: "backup_2026-03-03.tar.gz", CreatedOn: Time{utc(2026, 3, 3, 2, 0, 5, 123456700)}, ExpiresOn: Time{time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)}},
			{ID: "0b9c4c1e-0000-4000-8000-000000000002", FileName: "backup_2026-03-02.tar.gz", StorageType: StorageCustomCloud, CreatedOn: Time{utc(2026, 3, 2, 2, 0, 4, 0)}, ExpiresOn: Time{utc(2026, 4, 2, 2, 0, 4, 0)}},
		}},
		{name: "no response", handler: jsonReply(fixture(t, "empty.json")), want: []HistoryRecord{}},
		{name: "empty list", handler: jsonReply(`{"response":[],"count":0}`), want: []HistoryRecord{}},
		{name: "createdOn of wrong type", handler: jsonReply(`{"response":[{"id":"a","createdOn":5}]}`), bad: true},
		{name: "storageType of wrong type", handler: jsonReply(`{"response":[{"id":"a","storageType":"Documents"}]}`), bad: true},
		{name: "response is an object", handler: jsonReply(`{"response":{"id":"a"}}`), bad: true},
		{name: "html from login proxy", handler: reply(200, "text/html; charset=utf-8", "<!doctype html><title>Sign in</title>"), bad: true},
		{name: "402 unpaid portal", handler: reply(402, "application/json", fixture(t, "error_402.json")), sentinel: ErrPaymentRequired},
		{name: "403 not admin", handler: reply(403, "application/json", fixture(t, "error_403.json")), sentinel: ErrPermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, onlyPath(t, HistoryPath, tt.handler))
			got, _, err := c.GetBackupHistory(context.Background())
			checkErr(t, "GetBackupHistory()", err, tt.sentinel, tt.bad)
			if err != nil {
				return
			}
			if got == nil {
				t.Fatal("GetBackupHistory() = nil, want a non-nil list")
			}
			if !equalJSON(t, got, tt.want) {
				t.Errorf("GetBackupHistory() = %s, want %s", mustJSON(t, got), mustJSON(t, tt.want))
			}
		})
	}
}

func TestNewest(t *testing.T) {
	rec := func(id string, created time.Time) HistoryRecord {
		return HistoryRecord{ID: id, CreatedOn: Time{created}}
	}
	never := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		records []HistoryRecord
		wantID  string
		wantOK  bool
	}{
		{name: "nil", records: nil},
		{name: "only never", records: []HistoryRecord{rec("a", never), rec("b", time.Time{})}},
		{name: "unordered", records: []HistoryRecord{rec("a", utc(2026, 3, 1, 2, 0, 0, 0)), rec("c", utc(2026, 3, 3, 2, 0, 0, 0)), rec("b", utc(2026, 3, 2, 2, 0, 0, 0))}, wantID: "c", wantOK: true},
		{name: "never skipped", records: []HistoryRecord{rec("a", never), rec("b", utc(2020, 1, 1, 0, 0, 0, 0))}, wantID: "b", wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Newest(tt.records)
			if ok != tt.wantOK || got.ID != tt.wantID {
				t.Errorf("Newest() = %q, %v, want %q, %v", got.ID, ok, tt.wantID, tt.wantOK)
			}
		})
	}
}

func TestGetBackupProgress(t *testing.T) {
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		want       *Progress
		wantFailed bool
		sentinel   error
		bad        bool
	}{
		{name: "completed", handler: jsonReply(fixture(t, "progress.json")), want: &Progress{
			IsCompleted: true, Progress: 100, Link: "https://portal/backups/backup_2026-03-03.tar.gz", TenantID: 1,
			Status: ptr(ProgressCompleted), TaskID: "7f3e0a4c-1d9b-4a0e-9a4d-1b2c3d4e5f60",
		}},
		{name: "failed with error and warning", handler: jsonReply(fixture(t, "progress_failed.json")), wantFailed: true, want: &Progress{
			IsCompleted: true, Progress: 40, Error: "Storage quota exceeded", Warning: "slow storage", TenantID: 1,
			Status: ptr(ProgressFailed), TaskID: "7f3e0a4c-1d9b-4a0e-9a4d-1b2c3d4e5f61",
		}},
		{name: "error text without failed status", handler: jsonReply(`{"response":{"error":"disk full","status":1}}`), wantFailed: true, want: &Progress{Error: "disk full", Status: ptr(ProgressRunning)}},
		{name: "running", handler: jsonReply(`{"response":{"isCompleted":false,"progress":30,"error":"","status":1,"backupProgressEnum":0}}`), want: &Progress{Progress: 30, Status: ptr(ProgressRunning)}},
		// The real server marks a failed job Completed and sets the error.
		{name: "failed as completed", handler: jsonReply(`{"response":{"isCompleted":true,"progress":100,"error":"The remote storage refused the upload","status":2,"backupProgressEnum":0}}`),
			wantFailed: true, want: &Progress{IsCompleted: true, Progress: 100, Error: "The remote storage refused the upload", Status: ptr(ProgressCompleted)}},
		{name: "cancelled", handler: jsonReply(`{"response":{"isCompleted":true,"progress":10,"error":"","warning":"Backup cancelled","status":3}}`),
			want: &Progress{IsCompleted: true, Progress: 10, Warning: "Backup cancelled", Status: ptr(ProgressCanceled)}},
		// Servers before v3.7.1 leave status out: unknown, not Created.
		{name: "no status field", handler: jsonReply(`{"response":{"isCompleted":true,"progress":100,"error":""}}`),
			want: &Progress{IsCompleted: true, Progress: 100}},
		{name: "no job", handler: jsonReply(fixture(t, "empty.json"))},
		{name: "status of wrong type", handler: jsonReply(`{"response":{"status":"Failed"}}`), bad: true},
		{name: "error of wrong type", handler: jsonReply(`{"response":{"error":{"message":"x"}}}`), bad: true},
		{name: "html", handler: reply(200, "text/html", "<html></html>"), bad: true},
		{name: "403 not admin", handler: reply(403, "application/json", fixture(t, "error_403.json")), sentinel: ErrPermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, onlyPath(t, ProgressPath, tt.handler))
			got, _, err := c.GetBackupProgress(context.Background())
			checkErr(t, "GetBackupProgress()", err, tt.sentinel, tt.bad)
			if err != nil {
				return
			}
			if !equalJSON(t, got, tt.want) {
				t.Errorf("GetBackupProgress() = %s, want %s", mustJSON(t, got), mustJSON(t, tt.want))
			}
			if got != nil && got.Failed() != tt.wantFailed {
				t.Errorf("Progress.Failed() = %v, want %v", got.Failed(), tt.wantFailed)
			}
		})
	}
}

func TestEnumStrings(t *testing.T) {
	tests := []struct {
		got  string
		want string
	}{
		{PeriodDaily.String(), "daily"},
		{PeriodWeekly.String(), "weekly"},
		{PeriodMonthly.String(), "monthly"},
		{CronPeriod(7).String(), "CronPeriod(7)"},
		{StorageDocuments.String(), "Documents"},
		{StorageThirdpartyDocuments.String(), "ThirdpartyDocuments"},
		{StorageCustomCloud.String(), "CustomCloud"},
		{StorageLocal.String(), "Local"},
		{StorageDataStore.String(), "DataStore"},
		{StorageThirdPartyConsumer.String(), "ThirdPartyConsumer"},
		{StorageType(-1).String(), "StorageType(-1)"},
		{ProgressCreated.String(), "Created"},
		{ProgressRunning.String(), "Running"},
		{ProgressCompleted.String(), "Completed"},
		{ProgressCanceled.String(), "Canceled"},
		{ProgressFailed.String(), "Failed"},
		{ProgressStatus(5).String(), "ProgressStatus(5)"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("String() = %q, want %q", tt.got, tt.want)
		}
	}
}

func TestDecodeResponse(t *testing.T) {
	tests := []struct {
		name        string
		ctype       string
		body        string
		wantPresent bool
		wantBad     bool
	}{
		{name: "present", ctype: "application/json", body: `{"response":{"enabled":true}}`, wantPresent: true},
		{name: "no content type is accepted", body: `{"response":{"enabled":true}}`, wantPresent: true},
		{name: "problem+json", ctype: "application/problem+json", body: `{"response":{"enabled":true}}`, wantPresent: true},
		{name: "absent", ctype: "application/json", body: `{"count":0}`},
		{name: "null", ctype: "application/json", body: `{"response":null}`},
		// An error envelope under 200 is a failed call, not "no schedule".
		{name: "error envelope under 200", ctype: "application/json", body: `{"error":{"message":"Access denied","stack":"at X"},"status":1,"statusCode":403}`, wantBad: true},
		{name: "html", ctype: "text/html", body: `<html></html>`, wantBad: true},
		{name: "invalid json", ctype: "application/json", body: `{`, wantBad: true},
		{name: "wrong shape keeps present", ctype: "application/json", body: `{"response":{"enabled":"yes"}}`, wantPresent: true, wantBad: true},
		{name: "too large", ctype: "application/json", body: strings.Repeat(" ", MaxBodyBytes+1), wantBad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out struct {
				Enabled bool `json:"enabled"`
			}
			present, err := decodeResponse(200, tt.ctype, []byte(tt.body), DefaultStatePath, &out)
			var br *BadResponseError
			if present != tt.wantPresent || errors.As(err, &br) != tt.wantBad || (err != nil && !tt.wantBad) {
				t.Errorf("decodeResponse(%q) = %v, %v, want %v, bad %v", tt.name, present, err, tt.wantPresent, tt.wantBad)
			}
			if present && err == nil && !out.Enabled {
				t.Errorf("decodeResponse(%q) did not decode enabled", tt.name)
			}
		})
	}
}

// FuzzDecodeResponse checks that no body makes decodeResponse panic, that
// every failure is a *BadResponseError, and that success with present=true
// means out holds the decoded response.
func FuzzDecodeResponse(f *testing.F) {
	seeds := []string{
		`{"response":{"enabled":true},"count":1,"links":[{"href":"https://portal/api/2.0/backup/getservicestate","action":"GET"}],"status":0,"statusCode":200}`,
		`{"response":{"enabled":false},"status":0,"statusCode":200}`,
		fixture(f, "schedule.json"),
		fixture(f, "schedule_unlimited_never.json"),
		fixture(f, "empty.json"),
		fixture(f, "history.json"),
		fixture(f, "progress.json"),
		fixture(f, "progress_failed.json"),
		fixture(f, "error_403.json"),
		`<html><body>Sign in</body></html>`,
		`{"response":{"storageType":0,`,
		`{"response":[{"createdOn":5}]}`,
		`{"response":{"cronParams":{"period":"x"}}}`,
		`{"response":null}`,
		`{"response":"x"}`,
		`null`,
		``,
	}
	for _, s := range seeds {
		f.Add(200, "application/json; charset=utf-8", []byte(s))
	}
	f.Add(200, "text/html", []byte(seeds[9]))
	f.Add(204, "", []byte(nil))
	f.Fuzz(func(t *testing.T, status int, ctype string, body []byte) {
		status = 200 + ((status%100)+100)%100 // decodeResponse only sees 2xx
		var (
			anyOut any
			raw    json.RawMessage
			sched  Schedule
			hist   []HistoryRecord
			prog   Progress
		)
		always := func() bool { return true }
		targets := []fuzzTarget{
			{"any", &anyOut, func() bool { return anyOut != nil }},
			{"raw", &raw, func() bool { return len(raw) > 0 && json.Valid(raw) && string(raw) != "null" }},
			{"schedule", &sched, always},
			{"history", &hist, always},
			{"progress", &prog, always},
		}
		for _, tg := range targets {
			present, err := decodeResponse(status, ctype, body, HistoryPath, tg.out)
			if err != nil {
				var br *BadResponseError
				if !errors.As(err, &br) {
					t.Fatalf("decodeResponse(%s, %q) error = %T %v, want *BadResponseError", tg.name, body, err, err)
				}
				if br.StatusCode != status || br.Path != HistoryPath || br.ContentType == "" {
					t.Fatalf("decodeResponse(%s, %q) error = %+v, want status %d, path and content type", tg.name, body, br, status)
				}
				continue
			}
			if present && !tg.decoded() {
				t.Fatalf("decodeResponse(%s, %q) = present, nil, but out was not decoded", tg.name, body)
			}
		}
		// A body without a response member must not touch out.
		var fresh Progress
		if present, err := decodeResponse(status, ctype, body, HistoryPath, &fresh); err == nil && !present && fresh != (Progress{}) {
			t.Fatalf("decodeResponse(%q) = absent but out = %+v", body, fresh)
		}
	})
}

// fuzzTarget is a value FuzzDecodeResponse decodes into; decoded reports
// whether it holds a decoded response.
type fuzzTarget struct {
	name    string
	out     any
	decoded func() bool
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json.Marshal(%#v) error = %v", v, err)
	}
	return string(b)
}

// equalJSON compares got and want through their JSON forms, which also
// compares Time values as instants.
func equalJSON(t *testing.T, got, want any) bool {
	t.Helper()
	return mustJSON(t, got) == mustJSON(t, want)
}

func ptr[T any](v T) *T { return &v }

func TestProgressStates(t *testing.T) {
	tests := []struct {
		name                    string
		p                       Progress
		failed, cancelled, done bool
		status                  string
	}{
		{"failed as completed", Progress{Error: "disk full", Status: ptr(ProgressCompleted), IsCompleted: true}, true, false, true, "Completed"},
		{"blank error is no error", Progress{Error: "  ", Status: ptr(ProgressCompleted)}, false, false, true, "Completed"},
		{"cancelled", Progress{Warning: "Backup cancelled", Status: ptr(ProgressCanceled), IsCompleted: true}, false, true, true, "Canceled"},
		{"no status, completed", Progress{IsCompleted: true}, false, false, true, "unknown"},
		{"no status, running", Progress{}, false, false, false, "unknown"},
		{"created", Progress{Status: ptr(ProgressCreated)}, false, false, false, "Created"},
		{"failed status", Progress{Status: ptr(ProgressFailed)}, true, false, true, "Failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Failed(); got != tt.failed {
				t.Errorf("Failed() = %v, want %v", got, tt.failed)
			}
			if got := tt.p.Cancelled(); got != tt.cancelled {
				t.Errorf("Cancelled() = %v, want %v", got, tt.cancelled)
			}
			if got := tt.p.Done(); got != tt.done {
				t.Errorf("Done() = %v, want %v", got, tt.done)
			}
			if got := tt.p.StatusName(); got != tt.status {
				t.Errorf("StatusName() = %q, want %q", got, tt.status)
			}
		})
	}
}
