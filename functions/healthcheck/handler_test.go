package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/alertstate"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/backupcheck"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/fakeportal"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/secrets"
)

const testKey = "sk-handler-test-key-123456"

// fakeKeys holds testKey bound to portal ("" for a bare-key secret) under
// every secret id.
type fakeKeys struct {
	err    error
	portal string
}

func (f fakeKeys) Binding(context.Context, string) (secrets.Binding, error) {
	if f.err != nil {
		return secrets.Binding{}, f.err
	}
	return secrets.Binding{PortalURL: f.portal, Key: testKey}, nil
}

type fakePublisher struct {
	mu     sync.Mutex
	inputs []*sns.PublishInput
	err    error
}

func (f *fakePublisher) Publish(_ context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inputs = append(f.inputs, in)
	if f.err != nil {
		return nil, f.err
	}
	return &sns.PublishOutput{MessageId: aws.String(fmt.Sprintf("msg-%d", len(f.inputs)))}, nil
}

// attrs returns the reason and kind attributes of each published message.
func (f *fakePublisher) sent() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, in := range f.inputs {
		out = append(out, aws.ToString(in.MessageAttributes["kind"].StringValue)+":"+aws.ToString(in.MessageAttributes["reason"].StringValue))
	}
	return out
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines returns the JSON lines of the buffer whose msg is msg.
func (b *syncBuffer) lines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", l, err)
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

type fixture struct {
	h        *handler
	portal   *fakeportal.Portal
	url      string
	pub      *fakePublisher
	logs     *syncBuffer
	emf      *syncBuffer
	inFlight atomic.Int32
	peak     atomic.Int32

	// portalsMu guards the requests in flight per portal and the peak
	// number of portals with requests in flight.
	portalsMu   sync.Mutex
	portals     map[string]int
	peakPortals int

	// refuseSettings answers the settings route with an empty 403;
	// settingsRefused counts those answers.
	refuseSettings  atomic.Bool
	settingsRefused atomic.Int32
}

func newFixture(t *testing.T, env map[string]string) *fixture {
	t.Helper()
	f := &fixture{pub: &fakePublisher{}, logs: &syncBuffer{}, emf: &syncBuffer{}, portals: map[string]int{}}
	var err error
	f.portal, err = fakeportal.New(testKey, fakeportal.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := f.inFlight.Add(1)
		defer f.inFlight.Add(-1)
		for p := f.peak.Load(); n > p && !f.peak.CompareAndSwap(p, n); p = f.peak.Load() {
		}
		name := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/p/"), "/", 2)[0]
		f.portalsMu.Lock()
		f.portals[name]++
		f.peakPortals = max(f.peakPortals, len(f.portals))
		f.portalsMu.Unlock()
		defer func() {
			f.portalsMu.Lock()
			if f.portals[name]--; f.portals[name] == 0 {
				delete(f.portals, name)
			}
			f.portalsMu.Unlock()
		}()
		if f.refuseSettings.Load() && strings.HasSuffix(r.URL.Path, fakeportal.SettingsPath) {
			f.settingsRefused.Add(1)
			w.WriteHeader(http.StatusForbidden)
			return
		}
		f.portal.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	f.url = srv.URL
	vars := map[string]string{"PORTAL_URL": srv.URL, "SECRET_ID": "docspace/key", "TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:alerts", "ALLOW_INSECURE_HTTP": "true", "HTTP_TIMEOUT": "1s"}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := loadConfig(func(name string) string { return vars[name] })
	if err != nil {
		t.Fatalf("loadConfig() error = %v", err)
	}
	f.h = &handler{cfg: cfg, keys: fakeKeys{portal: srv.URL}, publisher: f.pub, logger: slog.New(slog.NewJSONHandler(f.logs, nil)), metrics: f.emf, now: time.Now}
	t.Cleanup(func() {
		if strings.Contains(f.logs.String()+f.emf.String(), testKey) {
			t.Errorf("logs hold the API key:\n%s", f.logs)
		}
	})
	return f
}

// input names the fake portals of scenarios, each with the fixture's
// secret, which is bound to the fake portal's base URL.
func (f *fixture) input(scenarios ...string) json.RawMessage {
	if len(scenarios) == 1 {
		return json.RawMessage(fmt.Sprintf(`{"portalUrl":%q,"secretId":"docspace/key"}`, f.url+"/p/"+scenarios[0]))
	}
	var ts []target
	for _, s := range scenarios {
		ts = append(ts, target{PortalURL: f.url + "/p/" + s, SecretID: "docspace/key"})
	}
	b, _ := json.Marshal(map[string]any{"portals": ts})
	return b
}

func TestHandleOnePortal(t *testing.T) {
	tests := []struct {
		scenario   string
		wantReason backupcheck.Reason
		wantCalls  int
	}{
		// State, schedule and progress; the settings route without the
		// key and with it (the time zone); the count route for both paid
		// values: 7, all at once. The history only when it adds something.
		{"healthy", backupcheck.Healthy, 7},
		{"inactive", backupcheck.ServiceInactive, 7},
		{"selfhosted", backupcheck.Healthy, 7},
		{"forbidden", backupcheck.PermissionDenied, 7},
		{"payment_required", backupcheck.PaymentRequired, 7},
		{"html", backupcheck.BadResponse, 7},
		{"no_schedule", backupcheck.NoSchedule, 9}, // and "ever" (none)
		{"stale", backupcheck.BackupStale, 10},     // and "ever", and the history for the date
		{"backup_failed", backupcheck.BackupFailed, 7},
		{"new_schedule", backupcheck.Healthy, 9},             // and "ever" (none yet)
		{"pruned", backupcheck.Healthy, 7},                   // the count says backups landed
		{"storage_error", backupcheck.StorageUnavailable, 8}, // S3: the history probed once
		{"stuck", backupcheck.BackupStuck, 7},
		{"tokyo", backupcheck.Healthy, 7},
		{"scope_limited", backupcheck.Healthy, 7},       // no false service_inactive
		{"old_server", backupcheck.Healthy, 8},          // the count route (absent), then the history
		{"concurrency_limited", backupcheck.Healthy, 9}, // two 429s retried
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			f := newFixture(t, nil)
			out, err := f.h.Handle(context.Background(), f.input(tt.scenario))
			if err != nil {
				t.Fatalf("Handle() error = %v", err)
			}
			if len(out.Verdicts) != 1 || out.Verdicts[0].Reason != tt.wantReason || out.Verdicts[0].Calls != tt.wantCalls {
				t.Fatalf("Handle() = %+v, want one verdict %s after %d calls", out, tt.wantReason, tt.wantCalls)
			}
			wantSent := 1
			if tt.wantReason == backupcheck.Healthy {
				wantSent = 0
			}
			if got := f.pub.sent(); len(got) != wantSent || (wantSent == 1 && got[0] != "alert:"+string(tt.wantReason)) {
				t.Errorf("published %v, want %d alert for %s", got, wantSent, tt.wantReason)
			}
			lines := f.logs.lines(t, "backup check")
			if len(lines) != 1 || lines[0]["outcome"] != string(tt.wantReason) || lines[0]["portal"] == "" {
				t.Fatalf("log = %s, want one result line with outcome %s", f.logs, tt.wantReason)
			}
			// The log line says which signal each judgement came from, and
			// whether the history was read.
			v := out.Verdicts[0]
			if read, ok := lines[0]["historyRead"].(bool); !ok || read != v.HistoryRead {
				t.Errorf("log historyRead = %v, want %v", lines[0]["historyRead"], v.HistoryRead)
			}
			if src, _ := lines[0]["sources"].(map[string]any); v.Judged(backupcheck.BackupStale) && (src == nil || src["backup_stale"] != v.Sources[backupcheck.BackupStale]) {
				t.Errorf("log sources = %v, want backup_stale from %q", lines[0]["sources"], v.Sources[backupcheck.BackupStale])
			}
			// The fleet metrics: one line, and one per failing reason; no
			// per-portal line unless PORTAL_METRICS asks.
			wantLines := 1
			if tt.wantReason != backupcheck.Healthy {
				wantLines = 2
			}
			if n := strings.Count(f.emf.String(), `"_aws"`); n != wantLines || strings.Contains(f.emf.String(), `"Portal"`) || !strings.Contains(f.emf.String(), `"PortalsChecked":1`) {
				t.Errorf("metrics = %s, want %d fleet EMF line(s) and no portal dimension", f.emf, wantLines)
			}
			for _, in := range f.pub.inputs {
				if strings.Contains(aws.ToString(in.Message), "BackupController.cs") {
					t.Errorf("alert holds the server's stack trace: %s", aws.ToString(in.Message))
				}
			}
		})
	}
}

func TestHandleSignalsSwitchedOff(t *testing.T) {
	f := newFixture(t, map[string]string{"CHECK_SCHEDULE": "false", "CHECK_HISTORY": "false", "CHECK_PROGRESS": "false"})
	out, err := f.h.Handle(context.Background(), f.input("stale"))
	if err != nil || len(out.Verdicts) != 1 || out.Verdicts[0].Reason != backupcheck.Healthy || out.Verdicts[0].Calls != 2 {
		t.Errorf("Handle() = %+v, %v; want healthy after 2 calls with only the state signal (and the settings route)", out, err)
	}
}

func TestHandleManyPortals(t *testing.T) {
	f := newFixture(t, map[string]string{"MAX_CONCURRENCY": "3"})
	if err := f.portal.SetConfig(fakeportal.Config{Scenario: fakeportal.Healthy, Delay: fakeportal.Duration(20 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	scenarios := []string{"healthy-1", "inactive-2", "forbidden-3", "healthy-4", "stale-5", "healthy-6", "unauthorized-7", "healthy-8"}
	raw := f.input(scenarios...)
	// One more portal whose URL is bad: its error must not hide the others.
	var in map[string][]target
	_ = json.Unmarshal(raw, &in)
	in["portals"] = append(in["portals"], target{PortalURL: "ftp://nope"})
	raw, _ = json.Marshal(in)

	out, err := f.h.Handle(context.Background(), raw)
	if err == nil || !strings.Contains(err.Error(), "ftp") {
		t.Errorf("Handle() error = %v, want the bad URL named", err)
	}
	want := []backupcheck.Reason{"healthy", "service_inactive", "permission_denied", "healthy", "backup_stale", "healthy", "permission_denied", "healthy"}
	if len(out.Verdicts) != len(want) {
		t.Fatalf("Handle() gave %d verdicts, want %d", len(out.Verdicts), len(want))
	}
	for i, v := range out.Verdicts {
		if v.Reason != want[i] || !strings.HasSuffix(v.Portal, "/p/"+scenarios[i]) {
			t.Errorf("verdict %d = %s for %s, want %s for %s", i, v.Reason, v.Portal, want[i], scenarios[i])
		}
	}
	if got := f.pub.sent(); len(got) != 4 {
		t.Errorf("published %v, want 4 alerts", got)
	}
	if got := len(f.logs.lines(t, "backup check")); got != len(want) {
		t.Errorf("%d result lines, want %d", got, len(want))
	}
	f.portalsMu.Lock()
	peakPortals := f.peakPortals
	f.portalsMu.Unlock()
	if peakPortals > 3 || peakPortals < 2 {
		t.Errorf("peak portals asked at once = %d, want 2..3 (MAX_CONCURRENCY=3)", peakPortals)
	}
	// Each portal's routes are asked at once, at most MaxInFlight of them.
	if peak := f.peak.Load(); peak > 3*docspace.MaxInFlight {
		t.Errorf("peak concurrent requests = %d, want at most %d", peak, 3*docspace.MaxInFlight)
	}
}

type fakeState struct {
	notices []alertstate.Notice
	err     error
}

func (s fakeState) Load(context.Context, string) (alertstate.Memory, error) {
	return alertstate.Memory{}, nil
}

func (s fakeState) Record(context.Context, string, alertstate.Run, time.Time) ([]alertstate.Notice, error) {
	return s.notices, s.err
}

func (s fakeState) Delivered(context.Context, alertstate.Notice) error { return nil }

func TestHandleStateOutcomes(t *testing.T) {
	tests := []struct {
		name     string
		scenario string
		state    fakeState
		want     []string
	}{
		{"below threshold: nothing", "inactive", fakeState{}, nil},
		{"threshold reached", "inactive", fakeState{notices: []alertstate.Notice{{Kind: alertstate.Alert, Reason: "service_inactive"}}}, []string{"alert:service_inactive"}},
		{"reminder", "inactive", fakeState{notices: []alertstate.Notice{{Kind: alertstate.Reminder, Reason: "service_inactive"}}}, []string{"reminder:service_inactive"}},
		{"resolved on a healthy run", "healthy", fakeState{notices: []alertstate.Notice{{Kind: alertstate.Resolved, Reason: "backup_stale"}}}, []string{"resolved:backup_stale"}},
		{"table unavailable: alert anyway", "inactive", fakeState{err: fmt.Errorf("query: %w", alertstate.ErrUnavailable)}, []string{"alert:service_inactive"}},
		{"table unavailable on a healthy run: silence", "healthy", fakeState{err: alertstate.ErrUnavailable}, nil},
		{"overlapping run owns it: no duplicate", "inactive", fakeState{err: alertstate.ErrConflict}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.h.state = tt.state
			if _, err := f.h.Handle(context.Background(), f.input(tt.scenario)); err != nil {
				t.Fatalf("Handle() error = %v", err)
			}
			if got := f.pub.sent(); strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("published %v, want %v", got, tt.want)
			}
			if tt.state.err != nil && !strings.Contains(f.logs.String(), "alert state") {
				t.Errorf("logs = %s, want the state failure logged", f.logs)
			}
		})
	}
}

func TestHandlePublishFailureIsAnError(t *testing.T) {
	f := newFixture(t, nil)
	f.pub.err = errors.New("throttled")
	if _, err := f.h.Handle(context.Background(), f.input("inactive")); err == nil {
		t.Fatal("Handle() error = nil, want the publish failure")
	}
	if !strings.Contains(f.logs.String(), "NOT published") {
		t.Errorf("logs = %s, want the failure logged", f.logs)
	}
}

func TestHandleDeadlineStillAlerts(t *testing.T) {
	t.Parallel() // it mostly waits on timeouts, as do the other three tests marked so: they wait together
	// HTTP_TIMEOUT's attempts would outlast the minute: only the cut ends
	// the check in time.
	f := newFixture(t, map[string]string{"HTTP_TIMEOUT": "30s"})
	if err := f.portal.SetConfig(fakeportal.Config{Scenario: fakeportal.Healthy, Delay: fakeportal.Duration(10 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	// The check is cut 1 s in; the reserve is the rest of a minute
	// (reserveFor; TestBudget checks defaultReserve), so that a loaded
	// machine still publishes in time.
	f.h.reserveFor = func(remaining time.Duration) reserve {
		return reserve{end: remaining - time.Second, deliver: 10 * time.Second}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := f.h.Handle(ctx, nil)
	if err != nil || len(out.Verdicts) != 1 || out.Verdicts[0].Reason != backupcheck.Unreachable {
		t.Fatalf("Handle() = %+v, %v; want one unreachable verdict", out, err)
	}
	if ctx.Err() != nil {
		t.Errorf("Handle() returned after the deadline")
	}
	if got := f.pub.sent(); len(got) != 1 {
		t.Errorf("published %v, want the alert sent before the deadline", got)
	}
}

func TestHandleBadInputAndKeyErrors(t *testing.T) {
	f := newFixture(t, nil)
	for _, raw := range []string{`"garbage"`, `[1,2]`, `{"portalUrl":"ftp://x"}`, `{"portalUrl":1}`, `{"portals":[{"portalUrl":"https://b.example.com"}]}`, `{"portalUrl":"https://a","portals":[{"portalUrl":"https://b"}]}`} {
		if _, err := f.h.Handle(context.Background(), json.RawMessage(raw)); err == nil {
			t.Errorf("Handle(%s) error = nil, want one", raw)
		}
	}
	f.h.keys = fakeKeys{err: errors.New("secret missing")}
	if _, err := f.h.Handle(context.Background(), nil); err == nil {
		t.Error("Handle() with no key error = nil, want one")
	}
	if len(f.pub.sent()) != 0 {
		t.Errorf("published %v for bad input, want nothing", f.pub.sent())
	}
}

func TestLoadConfig(t *testing.T) {
	base := map[string]string{"PORTAL_URL": "https://portal.example.com", "SECRET_ID": "s", "TOPIC_ARN": "arn:aws:sns:us-east-1:1:t"}
	cfg, err := loadConfig(func(name string) string { return base[name] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Signals != backupcheck.AllSignals() || cfg.MaxConcurrency != 10 || cfg.StateTable != "" ||
		cfg.Policy.FailAfter["unreachable"] != 2 || cfg.Policy.DefaultFailAfter != 1 || cfg.Policy.RemindEvery != 24*time.Hour || cfg.Policy.ResolveAfter != 1 ||
		cfg.HistoryEvery != 24*time.Hour {
		t.Errorf("loadConfig() defaults = %+v", cfg)
	}
	base["REMIND_EVERY"] = "0"
	if cfg, err := loadConfig(func(name string) string { return base[name] }); err != nil || cfg.Policy.RemindEvery != 0 {
		t.Errorf("REMIND_EVERY=0: %+v, %v; want reminders off", cfg.Policy, err)
	}
}

func TestLoadConfigNamesEveryBadVariable(t *testing.T) {
	_, err := loadConfig(func(name string) string {
		return map[string]string{"PORTAL_URL": "http://portal", "HTTP_TIMEOUT": "soon", "MAX_CONCURRENCY": "0", "FAIL_AFTER": "x", "CHECK_STATE": "maybe", "STALE_AFTER": "-1h", "HISTORY_EVERY": "0"}[name]
	})
	if err == nil {
		t.Fatal("loadConfig() error = nil, want one")
	}
	for _, name := range []string{"PORTAL_URL", "SECRET_ID", "TOPIC_ARN", "HTTP_TIMEOUT", "MAX_CONCURRENCY", "FAIL_AFTER", "CHECK_STATE", "STALE_AFTER", "HISTORY_EVERY"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("loadConfig() error %q does not name %s", err, name)
		}
	}
}
