package docspace

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// TestGetPortalSettingsIsAnonymous: the settings route is asked without
// the key (a scope-limited key gets an empty 403 there from v3.7.1).
func TestGetPortalSettingsIsAnonymous(t *testing.T) {
	var gotAuth atomic.Value
	gotAuth.Store("unset")
	c := newTestClient(t, onlyPath(t, SettingsPath, func(w http.ResponseWriter, r *http.Request) {
		gotAuth.Store(r.Header.Get("Authorization"))
		if r.Header.Get("Authorization") != "" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		jsonReply(`{"response":{"standalone":true,"version":"3.7.2.1000","tenantStatus":0},"count":1,"status":0,"statusCode":200}`)(w, r)
	}))
	st, _, err := c.GetPortalSettings(context.Background())
	if err != nil {
		t.Fatalf("GetPortalSettings() error = %v", err)
	}
	if got := gotAuth.Load().(string); got != "" {
		t.Errorf("Authorization = %q, want none", got)
	}
	v, ok := st.ServerVersion()
	if !st.Standalone || !ok || v != (Version{3, 7, 2, 1000}) {
		t.Errorf("GetPortalSettings() = %+v (version %v, %v), want standalone 3.7.2.1000", st, v, ok)
	}
}

func TestParseVersion(t *testing.T) {
	for _, tt := range []struct {
		in       string
		ok       bool
		count    bool
		progress bool
	}{
		{"3.7.2.1000", true, true, true},
		{"3.7.1", true, true, true},
		{"3.7.0.900", true, true, false},
		{"3.5.0", true, true, false},
		{"3.2.1.12", true, false, false},
		{"2.6", true, false, false},
		{"", false, false, false},
		{"v3.7", false, false, false},
		{"3.x.1", false, false, false},
		{"1.2.3.4.5", false, false, false},
	} {
		v, ok := ParseVersion(tt.in)
		if ok != tt.ok || (ok && (v.AtLeast(CountSince) != tt.count || v.AtLeast(ProgressStatusSince) != tt.progress)) {
			t.Errorf("ParseVersion(%q) = %v, %v; count %v, status %v; want %v, %v, %v", tt.in, v, ok, v.AtLeast(CountSince), v.AtLeast(ProgressStatusSince), tt.ok, tt.count, tt.progress)
		}
	}
}

func TestGetPortalZone(t *testing.T) {
	tests := []struct {
		name, body string
		wantZone   string
		exact      bool
		wantOffset int // seconds east of UTC on 2026-07-01
		wantErr    bool
	}{
		{"iana", `{"response":{"standalone":false,"timezone":"Europe/Berlin","utcOffset":"01:00:00","utcHoursOffset":1}}`, "Europe/Berlin", true, 7200, false},
		{"unknown name, offset", `{"response":{"standalone":false,"timezone":"Tokyo Standard Time","utcOffset":"09:00:00","utcHoursOffset":9}}`, "Tokyo Standard Time", false, 9 * 3600, false},
		{"half hours", `{"response":{"standalone":false,"utcHoursOffset":-3.5}}`, "UTC", false, -3*3600 - 1800, false},
		{"anonymous answer", `{"response":{"standalone":false,"version":"3.7.2"}}`, "", false, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotAuth string
			c := newTestClient(t, onlyPath(t, SettingsPath, func(w http.ResponseWriter, r *http.Request) {
				gotAuth = r.Header.Get("Authorization")
				jsonReply(tt.body)(w, r)
			}))
			z, _, err := c.GetPortalZone(context.Background())
			if gotAuth != "Bearer "+string(testKey) {
				t.Errorf("Authorization = %q, want the key", gotAuth)
			}
			if tt.wantErr {
				var bad *BadResponseError
				if !errors.As(err, &bad) {
					t.Fatalf("GetPortalZone() error = %v, want *BadResponseError", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("GetPortalZone() error = %v", err)
			}
			loc, exact, err := z.Location()
			if err != nil {
				t.Fatalf("Location() error = %v", err)
			}
			_, off := time.Date(2026, 7, 1, 12, 0, 0, 0, loc).Zone()
			if loc.String() != tt.wantZone || exact != tt.exact || off != tt.wantOffset {
				t.Errorf("Location() = %s (exact %v, offset %d), want %s (%v, %d)", loc, exact, off, tt.wantZone, tt.exact, tt.wantOffset)
			}
		})
	}
}

func TestGetBackupsCount(t *testing.T) {
	var gotQuery atomic.Value
	c := newTestClient(t, onlyPath(t, CountPath, func(w http.ResponseWriter, r *http.Request) {
		gotQuery.Store(r.URL.RawQuery)
		jsonReply(`{"response":3,"count":1,"status":0,"statusCode":200}`)(w, r)
	}))
	from := time.Date(2026, 3, 1, 2, 0, 4, 500, time.FixedZone("X", 3600))
	to := from.Add(26 * time.Hour)
	n, res, err := c.GetBackupsCount(context.Background(), from, to, true)
	if err != nil || n != 3 || res.Attempts != 1 {
		t.Fatalf("GetBackupsCount() = %d, %+v, %v, want 3, 1 attempt", n, res, err)
	}
	if got, want := gotQuery.Load().(string), "from=2026-03-01T01%3A00%3A04&paid=true&to=2026-03-02T03%3A00%3A04"; got != want {
		t.Errorf("query = %q, want %q", got, want)
	}
	if _, _, err := c.GetBackupsCount(context.Background(), to, from, false); err == nil {
		t.Error("GetBackupsCount(from after to) error = nil, want one")
	}
	c = newTestClient(t, jsonReply(`{"count":0,"status":0,"statusCode":200}`))
	var bad *BadResponseError
	if _, _, err := c.GetBackupsCount(context.Background(), from, to, false); !errors.As(err, &bad) {
		t.Errorf("GetBackupsCount(no response) error = %v, want *BadResponseError", err)
	}
}

// TestHistoryIsNotRetriedOn5xx: every history read asks the storage for
// every record and may prune records: a 5xx is not asked again.
func TestHistoryIsNotRetriedOn5xx(t *testing.T) {
	var calls atomic.Int32
	c := newTestClient(t, onlyPath(t, HistoryPath, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		reply(500, "application/json", `{"error":{"message":"The AWS Access Key Id you provided does not exist in our records."},"status":1,"statusCode":500}`)(w, r)
	}))
	_, res, err := c.GetBackupHistory(context.Background())
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != 500 || calls.Load() != 1 || res.Attempts != 1 {
		t.Fatalf("GetBackupHistory() = %+v, %v after %d call(s), want one 500", res, err, calls.Load())
	}
	if ae.Message != "The AWS Access Key Id you provided does not exist in our records." {
		t.Errorf("message = %q", ae.Message)
	}
}
