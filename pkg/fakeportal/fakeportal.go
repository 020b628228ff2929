// Package fakeportal is a fake ONLYOFFICE DocSpace portal for tests and the
// demo. It serves the backup routes the way ../shared/docspace-backup-api.md
// describes the real server: the response envelope, dates without an
// offset, Bearer API keys, error bodies with a stack trace, and the failure
// modes of real deployments (401/402/403/404/429/5xx, HTML pages from a
// proxy, truncated, huge and trickling bodies, slow answers).
//
// One Portal can stand for many portals: a request path that starts with
// /p/{name}/ is served as the portal named name, and when name starts with
// a scenario (for example /p/inactive-7/), that portal plays that scenario.
//
// The control routes under /_fake/ change the scenario at run time and
// report how many requests each route saw, so a test or the demo can switch
// a portal from failing to healthy between two runs.
package fakeportal

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Scenario is how the fake portal behaves.
type Scenario string

// Scenarios the fake portal plays.
const (
	// Healthy: service enabled, a daily schedule, a backup 3 h old, the last job completed.
	Healthy Scenario = "healthy"
	// Inactive: the paid-backup switch is off (enabled: false).
	Inactive Scenario = "inactive"
	// Unauthorized: 401 with an empty body on every route.
	Unauthorized Scenario = "unauthorized"
	// Forbidden: 403 "Access denied" with a server stack trace in the body.
	Forbidden Scenario = "forbidden"
	// PaymentRequired: the state route works, schedule and history answer 402.
	PaymentRequired Scenario = "payment_required"
	// NotFound: an old server without the backup routes (404).
	NotFound Scenario = "not_found"
	// ServerError: 500 with a JSON error body.
	ServerError Scenario = "server_error"
	// Flaky: 503 HTML from the proxy for the first FailFirst requests, then healthy.
	Flaky Scenario = "flaky"
	// BadGateway: 502 HTML from the proxy, always.
	BadGateway Scenario = "bad_gateway"
	// RateLimited: 429 with Retry-After: 1 for the first FailFirst requests, then healthy.
	RateLimited Scenario = "rate_limited"
	// HTML: 200 with a login page, as a portal behind a login proxy answers.
	HTML Scenario = "html"
	// Truncated: 200 with JSON cut in the middle.
	Truncated Scenario = "truncated"
	// Huge: 200 with a 50 MB JSON body.
	Huge Scenario = "huge"
	// Trickle: 200 whose body arrives one byte every 100 ms, forever.
	Trickle Scenario = "trickle"
	// NoSchedule: no backup schedule (as after the server deleted it on a billing failure).
	NoSchedule Scenario = "no_schedule"
	// Stale: a daily schedule whose newest backup is 5 days old.
	Stale Scenario = "stale"
	// BackupFailed: the last backup job failed (progress status 4 with an error).
	BackupFailed Scenario = "backup_failed"
	// NewSchedule: a schedule made today that has not run yet; no history.
	NewSchedule Scenario = "new_schedule"
)

// Scenarios lists every scenario, for help texts and validation.
var Scenarios = []Scenario{
	Healthy, Inactive, Unauthorized, Forbidden, PaymentRequired, NotFound, ServerError,
	Flaky, BadGateway, RateLimited, HTML, Truncated, Huge, Trickle, NoSchedule, Stale,
	BackupFailed, NewSchedule,
}

// Valid reports whether s is a known scenario.
func (s Scenario) Valid() bool {
	for _, k := range Scenarios {
		if k == s {
			return true
		}
	}
	return false
}

// Routes the fake portal serves, as the real server does.
const (
	StatePath    = "/api/2.0/backup/getservicestate"
	SchedulePath = "/api/2.0/backup/getbackupschedule"
	HistoryPath  = "/api/2.0/backup/getbackuphistory"
	ProgressPath = "/api/2.0/backup/getbackupprogress"
)

// HugeBodyBytes is the size of the Huge scenario's body.
const HugeBodyBytes = 50 << 20

// Config is the portal's behaviour; the zero Delay and FailFirst mean none.
type Config struct {
	Scenario Scenario `json:"scenario"`
	// Delay is waited before the headers of every answer.
	Delay Duration `json:"delay"`
	// FailFirst is how many requests per portal Flaky and RateLimited fail
	// before they answer like Healthy; 0 means 2.
	FailFirst int `json:"failFirst"`
}

// Duration is a time.Duration written as "200ms" in JSON.
type Duration time.Duration

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a Go duration string such as "200ms".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"200ms\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("duration %q is not a non-negative Go duration", s)
	}
	*d = Duration(v)
	return nil
}

// Stats counts the requests the portal saw.
type Stats struct {
	// Requests counts requests per route (without the /p/{name} prefix).
	Requests map[string]int `json:"requests"`
	// Portals counts requests per portal name ("" for the root portal).
	Portals map[string]int `json:"portals"`
	// Unauthenticated counts requests refused for a missing or wrong key.
	Unauthenticated int `json:"unauthenticated"`
}

// Portal is the fake portal, an http.Handler. It is safe for concurrent use.
type Portal struct {
	key string
	now func() time.Time

	mu        sync.Mutex
	cfg       Config
	overrides map[string]Scenario // per portal name, set by SetPortalScenario
	failures  map[string]int      // requests failed so far by Flaky/RateLimited, per portal
	stats     Stats
}

// New returns a portal that accepts only "Authorization: Bearer key" and
// plays cfg. now gives the clock for backup dates; nil means time.Now.
func New(key string, cfg Config, now func() time.Time) (*Portal, error) {
	if cfg.Scenario == "" {
		cfg.Scenario = Healthy
	}
	if !cfg.Scenario.Valid() {
		return nil, fmt.Errorf("fakeportal: unknown scenario %q", cfg.Scenario)
	}
	if now == nil {
		now = time.Now
	}
	p := &Portal{key: key, now: now, cfg: cfg, overrides: map[string]Scenario{}}
	p.resetLocked()
	return p, nil
}

// SetConfig changes the behaviour and resets the Flaky/RateLimited counters.
func (p *Portal) SetConfig(cfg Config) error {
	if !cfg.Scenario.Valid() {
		return fmt.Errorf("fakeportal: unknown scenario %q", cfg.Scenario)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cfg = cfg
	p.failures = map[string]int{}
	return nil
}

// SetPortalScenario makes the portal served under /p/{name}/ play s,
// whatever its name says, until changed again.
func (p *Portal) SetPortalScenario(name string, s Scenario) error {
	if !s.Valid() {
		return fmt.Errorf("fakeportal: unknown scenario %q", s)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.overrides[name] = s
	return nil
}

// Config returns the current behaviour.
func (p *Portal) Config() Config {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cfg
}

// Stats returns a copy of the request counts.
func (p *Portal) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Stats{Requests: map[string]int{}, Portals: map[string]int{}, Unauthenticated: p.stats.Unauthenticated}
	for k, v := range p.stats.Requests {
		s.Requests[k] = v
	}
	for k, v := range p.stats.Portals {
		s.Portals[k] = v
	}
	return s
}

// ResetStats zeroes the request counts and the Flaky/RateLimited counters.
func (p *Portal) ResetStats() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.resetLocked()
}

func (p *Portal) resetLocked() {
	p.failures = map[string]int{}
	p.stats = Stats{Requests: map[string]int{}, Portals: map[string]int{}}
}

// ServeHTTP serves the backup routes and the /_fake/ control routes.
func (p *Portal) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_fake/") {
		p.control(w, r)
		return
	}
	name, route := splitPortal(r.URL.Path)
	p.mu.Lock()
	cfg := p.cfg
	if s, ok := p.overrides[name]; ok {
		cfg.Scenario = s
	} else if s := Scenario(strings.SplitN(name, "-", 2)[0]); name != "" && s.Valid() {
		cfg.Scenario = s
	}
	p.stats.Requests[route]++
	p.stats.Portals[name]++
	p.mu.Unlock()

	if cfg.Delay > 0 {
		select {
		case <-time.After(time.Duration(cfg.Delay)):
		case <-r.Context().Done():
			return
		}
	}
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, "Method not allowed")
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+p.key {
		// The real server reads a bare "Authorization: sk-..." as a cookie
		// token and refuses it with 401, often with an empty body.
		p.mu.Lock()
		p.stats.Unauthenticated++
		p.mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	switch route {
	case StatePath, SchedulePath, HistoryPath, ProgressPath:
	default:
		writeError(w, http.StatusNotFound, "Not found")
		return
	}
	p.serveScenario(w, r, name, route, cfg)
}

// splitPortal splits "/p/name/api/..." into "name" and "/api/...".
func splitPortal(path string) (name, route string) {
	rest, ok := strings.CutPrefix(path, "/p/")
	if !ok {
		return "", path
	}
	name, route, _ = strings.Cut(rest, "/")
	return name, "/" + route
}

func (p *Portal) failFirst(name string, cfg Config) bool {
	limit := cfg.FailFirst
	if limit == 0 {
		limit = 2
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failures[name] < limit {
		p.failures[name]++
		return true
	}
	return false
}

func (p *Portal) serveScenario(w http.ResponseWriter, r *http.Request, name, route string, cfg Config) {
	now := p.now().UTC()
	switch cfg.Scenario {
	case Unauthorized:
		w.WriteHeader(http.StatusUnauthorized)
	case Forbidden:
		writeError(w, http.StatusForbidden, "Access denied")
	case PaymentRequired:
		if route == SchedulePath || route == HistoryPath {
			writeError(w, http.StatusPaymentRequired, "Payment required")
			return
		}
		p.serveHealthy(w, route, now, cfg.Scenario)
	case NotFound:
		writeError(w, http.StatusNotFound, "Not found")
	case ServerError:
		writeError(w, http.StatusInternalServerError, "Object reference not set to an instance of an object.")
	case BadGateway:
		writeHTML(w, http.StatusBadGateway, "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>")
	case Flaky:
		if p.failFirst(name, cfg) {
			writeHTML(w, http.StatusServiceUnavailable, "<html><head><title>503 Service Temporarily Unavailable</title></head><body><h1>503 Service Temporarily Unavailable</h1></body></html>")
			return
		}
		p.serveHealthy(w, route, now, Healthy)
	case RateLimited:
		if p.failFirst(name, cfg) {
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusTooManyRequests, "Too many requests")
			return
		}
		p.serveHealthy(w, route, now, Healthy)
	case HTML:
		writeHTML(w, http.StatusOK, `<!DOCTYPE html><html><head><title>Sign in</title></head><body><form action="/login"><input name="user"></form></body></html>`)
	case Truncated:
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		fmt.Fprint(w, `{"response":{"enabl`)
	case Huge:
		serveHuge(w)
	case Trickle:
		serveTrickle(w, r)
	default:
		p.serveHealthy(w, route, now, cfg.Scenario)
	}
}

// serveHealthy answers the backup routes for the scenarios that answer
// 200 JSON: Healthy and the ones that differ from it in the data only.
func (p *Portal) serveHealthy(w http.ResponseWriter, route string, now time.Time, s Scenario) {
	switch route {
	case StatePath:
		writeResponse(w, map[string]bool{"enabled": s != Inactive}, 1)
	case SchedulePath:
		switch s {
		case NoSchedule:
			writeResponse(w, nil, 0)
		case NewSchedule:
			writeResponse(w, schedule(time.Time{}), 1)
		default:
			writeResponse(w, schedule(now.Add(-3*time.Hour)), 1)
		}
	case HistoryPath:
		newest := now.Add(-3 * time.Hour)
		switch s {
		case Stale:
			newest = now.Add(-5 * 24 * time.Hour)
		case NewSchedule, NoSchedule:
			writeResponse(w, []any{}, 0)
			return
		}
		// Unordered, as the server returns it: the newest is in the middle.
		records := []map[string]any{
			historyRecord("7c0d0f1e-7d5e-4b53-9a0e-000000000002", newest.Add(-48*time.Hour)),
			historyRecord("7c0d0f1e-7d5e-4b53-9a0e-000000000003", newest),
			historyRecord("7c0d0f1e-7d5e-4b53-9a0e-000000000001", newest.Add(-24*time.Hour)),
		}
		writeResponse(w, records, len(records))
	case ProgressPath:
		switch s {
		case BackupFailed:
			writeResponse(w, progress(4, "Storage is not available: the third-party storage refused the upload"), 1)
		case NewSchedule, NoSchedule:
			writeResponse(w, nil, 0)
		default:
			writeResponse(w, progress(2, ""), 1)
		}
	}
}

// serverDate writes a date the way the server does: UTC, no offset.
func serverDate(t time.Time) string {
	if t.IsZero() {
		return "0001-01-01T00:00:00"
	}
	return t.UTC().Format("2006-01-02T15:04:05")
}

func schedule(lastBackup time.Time) map[string]any {
	return map[string]any{
		"storageType":    0,
		"storageParams":  map[string]string{"folderId": "4"},
		"cronParams":     map[string]int{"period": 0, "hour": 2, "day": 0},
		"backupsStored":  10,
		"lastBackupTime": serverDate(lastBackup),
		"dump":           false,
	}
}

func historyRecord(id string, created time.Time) map[string]any {
	return map[string]any{
		"id":          id,
		"fileName":    "portal_" + created.UTC().Format("2006_01_02_15_04_05") + ".tar.gz",
		"storageType": 0,
		"createdOn":   serverDate(created),
		"expiresOn":   serverDate(created.Add(30 * 24 * time.Hour)),
	}
}

func progress(status int, errText string) map[string]any {
	return map[string]any{
		"isCompleted":        true,
		"progress":           100,
		"error":              errText,
		"link":               "",
		"tenantId":           1,
		"backupProgressEnum": 0,
		"status":             status,
		"taskId":             "c7a4a7b2-1111-4d3e-8f00-5a5a5a5a5a5a",
	}
}

// writeResponse writes the DocSpace envelope; a nil response is left out,
// as the server leaves out null members.
func writeResponse(w http.ResponseWriter, response any, count int) {
	env := map[string]any{
		"count":      count,
		"links":      []map[string]string{{"href": "https://portal.example/api/2.0/backup", "action": "GET"}},
		"status":     0,
		"statusCode": http.StatusOK,
	}
	if response != nil {
		env["response"] = response
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(env)
}

func writeError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"error": map[string]any{
			"message": message,
			"type":    "System.Security.SecurityException",
			"stack":   "   at ASC.Web.Api.Controllers.BackupController.GetBackupServiceState() in /app/server/web/ASC.Web.Api/Controllers/BackupController.cs:line 97",
			"hresult": -2146233088,
		},
		"status":     1,
		"statusCode": status,
	})
}

func writeHTML(w http.ResponseWriter, status int, page string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprint(w, page)
}

func serveHuge(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	chunk := []byte(strings.Repeat(`"padding-padding",`, 1<<12))
	fmt.Fprint(w, `{"response":{"enabled":true,"padding":[`)
	for written := 0; written < HugeBodyBytes; written += len(chunk) {
		if _, err := w.Write(chunk); err != nil {
			return
		}
	}
	fmt.Fprint(w, `""]},"status":0,"statusCode":200}`)
}

func serveTrickle(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := w.Write([]byte(" ")); err != nil {
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
	}
}

// control serves GET/PUT /_fake/config, GET /_fake/stats and POST /_fake/reset.
func (p *Portal) control(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/_fake/config" && r.Method == http.MethodGet:
		writeJSON(w, p.Config())
	case r.URL.Path == "/_fake/config" && r.Method == http.MethodPut:
		var cfg Config
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cfg); err != nil {
			http.Error(w, "bad config: "+err.Error(), http.StatusBadRequest)
			return
		}
		if err := p.SetConfig(cfg); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		writeJSON(w, p.Config())
	case r.URL.Path == "/_fake/stats" && r.Method == http.MethodGet:
		writeJSON(w, p.Stats())
	case r.URL.Path == "/_fake/reset" && r.Method == http.MethodPost:
		p.ResetStats()
		w.WriteHeader(http.StatusNoContent)
	default:
		http.Error(w, "control routes: GET|PUT /_fake/config, GET /_fake/stats, POST /_fake/reset", http.StatusNotFound)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
