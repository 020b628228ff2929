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
// A name that starts with no scenario, and that no SetPortalScenario set,
// is refused (404 with a text naming the scenarios), never played as
// healthy.
//
// Each portal keeps its backup records: the count route counts them all,
// also the ones its history route removed (as the server does when the
// storage cannot confirm a file), and the settings route answers callers
// without a key (standalone, version, status) and signed-in callers (also
// the time zone).
//
// The control routes under /_fake/ change the scenario at run time and
// report how many requests each route saw, so a test or the demo can switch
// a portal from failing to healthy between two runs.
package fakeportal

import (
	"encoding/json"
	"fmt"
	"maps"
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

	// The shapes a real server shows (../shared/docspace-backup-api.md).

	// FailedAsCompleted: the last job failed the way the server usually
	// shows it: status 2 (Completed) with a non-empty error.
	FailedAsCompleted Scenario = "failed_as_completed"
	// Cancelled: the last job was cancelled: status 3, no error, warning
	// "Backup cancelled".
	Cancelled Scenario = "cancelled"
	// WarningJob: the last job completed with a warning (missing files).
	WarningJob Scenario = "warning_job"
	// NoStatus: a server before v3.7.1: the job has no status member.
	NoStatus Scenario = "no_status"
	// Suspended: the portal is suspended: every backup route answers an
	// empty 404; the settings route answers with tenantStatus 1.
	Suspended Scenario = "suspended"
	// Restoring: the portal is being restored: every backup route answers
	// an empty 403; the settings route answers with tenantStatus 4.
	Restoring Scenario = "restoring"
	// ScopeDenied: the key's scopes lack *:read: every backup route
	// answers an empty 403; the settings route answers normally.
	ScopeDenied Scenario = "scope_denied"
	// IPRestricted: the portal's IP restriction refuses the caller: 403
	// with a bare JSON string as the body, on every route.
	IPRestricted Scenario = "ip_restricted"
	// SelfHosted: a self-hosted server: enabled false (the normal answer
	// there) and standalone true, backups fine.
	SelfHosted Scenario = "selfhosted"
	// FutureRecord: backups stopped 5 days ago, and one history record is
	// dated 30 days in the future (clock trouble).
	FutureRecord Scenario = "future_record"
	// Monthly31: a monthly schedule on day 31; the newest backup is from
	// the last month that had a 31st, at 02:00.
	Monthly31 Scenario = "monthly31"
	// Dump: a self-hosted server whose whole-server dump schedule, backups
	// and job are visible only with ?dump=true (the server files a dump's
	// backups under no portal); without it there is no schedule, no backup
	// and no job.
	Dump Scenario = "dump"
	// Postgres: healthy, with dates as a PostgreSQL server writes them
	// ("2026-03-01T02:00:04.123456Z").
	Postgres Scenario = "postgres"

	// What reading the history does to a real server, and what the
	// server says about itself.

	// Pruned: backups in the portal's Documents land fine, but the
	// storage does not answer while the history is read: the first read
	// removes every record for good and answers an empty list, as the
	// server does; the count route still counts them.
	Pruned Scenario = "pruned"
	// StorageError: backups go to S3 whose credentials stopped working:
	// the history route answers 500 with the S3 message; the count route
	// counts the backups that landed before.
	StorageError Scenario = "storage_error"
	// Tokyo: healthy, on a portal in Asia/Tokyo: the daily schedule's hour
	// 2 is 17:00 UTC, and so is its newest backup.
	Tokyo Scenario = "tokyo"
	// ScopeLimited: a self-hosted server (enabled: false is normal there)
	// whose key's scopes do not cover the settings route: a signed-in
	// settings request gets an empty 403 (v3.7.1 and later), an
	// anonymous one answers; the backup routes answer.
	ScopeLimited Scenario = "scope_limited"
	// Stuck: the last job has been Running since the schedule queued it
	// 20 h ago (its worker died); the newest backup is 23 h old, so the
	// portal is not stale yet.
	Stuck Scenario = "stuck"
	// OldServer: a v3.2 server: no state route and no count route (empty
	// 404s), no job status, and no time zone in the settings answer; the
	// history works.
	OldServer Scenario = "old_server"
	// ConcurrencyLimited: the server's concurrency limiter refuses the
	// first FailFirst requests with an empty 429 and no Retry-After, then
	// healthy.
	ConcurrencyLimited Scenario = "concurrency_limited"
)

// ProgressLifetime is how long after its last change the server keeps a
// job's progress item; then the progress route answers nothing.
const ProgressLifetime = 24 * time.Hour

// Scenarios lists every scenario, for help texts and validation.
var Scenarios = []Scenario{
	Healthy, Inactive, Unauthorized, Forbidden, PaymentRequired, NotFound, ServerError,
	Flaky, BadGateway, RateLimited, HTML, Truncated, Huge, Trickle, NoSchedule, Stale,
	BackupFailed, NewSchedule, FailedAsCompleted, Cancelled, WarningJob, NoStatus,
	Suspended, Restoring, ScopeDenied, IPRestricted, SelfHosted, FutureRecord, Monthly31,
	Dump, Postgres, Pruned, StorageError, Tokyo, ScopeLimited, Stuck, OldServer,
	ConcurrencyLimited,
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
	CountPath    = "/api/2.0/backup/getbackupscount"
	SettingsPath = "/api/2.0/settings"
)

// S3Message is what the StorageError scenario's history route answers
// with: the message a real server forwards from S3.
const S3Message = "The AWS Access Key Id you provided does not exist in our records."

// HugeBodyBytes is the size of the Huge scenario's body.
const HugeBodyBytes = 50 << 20

// Config is the portal's behaviour; the zero Delay and FailFirst mean none.
type Config struct {
	Scenario Scenario `json:"scenario"`
	// Delay is waited before the headers of every answer.
	Delay Duration `json:"delay"`
	// FailFirst is how many requests per portal Flaky, RateLimited and
	// ConcurrencyLimited fail before they answer like Healthy; 0 means 2.
	FailFirst int `json:"failFirst"`
	// RecordLatency is waited per history record before the history
	// answers: the server asks the storage about each record.
	RecordLatency Duration `json:"recordLatency"`
	// TimeZone is the IANA zone the settings route gives signed-in
	// callers; "" means UTC (Tokyo: Asia/Tokyo).
	TimeZone string `json:"timeZone,omitempty"`
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
	// Anonymous counts settings requests sent without a key.
	Anonymous int `json:"anonymous"`
	// History counts history reads per portal name: each one asks the
	// storage about every record and may remove records.
	History map[string]int `json:"history"`
}

// Portal is the fake portal, an http.Handler. It is safe for concurrent use.
type Portal struct {
	key string
	now func() time.Time

	mu        sync.Mutex
	cfg       Config
	overrides map[string]Scenario  // per portal name, set by SetPortalScenario
	backups   map[string]time.Time // newest backup per portal name, set by SetPortalBackup
	// jobs is when each portal's current job last changed: the time its
	// scenario was first served; the progress item vanishes
	// ProgressLifetime later.
	jobs     map[string]job
	failures map[string]int // requests failed so far by Flaky/RateLimited, per portal
	// removed holds, per portal name, the records its history removed.
	removed map[string]map[string]bool
	stats   Stats
}

type job struct {
	scenario Scenario
	at       time.Time
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
	p := &Portal{key: key, now: now, cfg: cfg, overrides: map[string]Scenario{}, backups: map[string]time.Time{}, jobs: map[string]job{}}
	p.resetLocked()
	return p, nil
}

// SetConfig changes the behaviour and resets the Flaky/RateLimited counters.
func (p *Portal) SetConfig(cfg Config) error {
	if !cfg.Scenario.Valid() {
		return fmt.Errorf("fakeportal: unknown scenario %q", cfg.Scenario)
	}
	if cfg.TimeZone != "" {
		if _, err := time.LoadLocation(cfg.TimeZone); err != nil {
			return fmt.Errorf("fakeportal: time zone %q: %w", cfg.TimeZone, err)
		}
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

// SetPortalBackup fixes the newest backup of the portal served under
// /p/{name}/ at newest (the schedule's lastBackupTime too), so that it no
// longer follows the clock; the zero time goes back to "3 h before now".
// The other records stay 1 and 2 days older.
func (p *Portal) SetPortalBackup(name string, newest time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if newest.IsZero() {
		delete(p.backups, name)
		return
	}
	p.backups[name] = newest.UTC()
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
	return Stats{
		Requests: maps.Clone(p.stats.Requests), Portals: maps.Clone(p.stats.Portals), History: maps.Clone(p.stats.History),
		Unauthenticated: p.stats.Unauthenticated, Anonymous: p.stats.Anonymous,
	}
}

// ResetStats zeroes the request counts and the Flaky/RateLimited counters.
func (p *Portal) ResetStats() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.resetLocked()
}

func (p *Portal) resetLocked() {
	p.failures = map[string]int{}
	p.jobs = map[string]job{}
	p.removed = map[string]map[string]bool{}
	p.stats = Stats{Requests: map[string]int{}, Portals: map[string]int{}, History: map[string]int{}}
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
	} else if name != "" {
		p.mu.Unlock()
		writeError(w, http.StatusNotFound, fmt.Sprintf("fakeportal: /p/%s/ names no scenario: start the name with one of %s, or set it with SetPortalScenario", name, scenarioList()))
		return
	}
	p.stats.Requests[route]++
	p.stats.Portals[name]++
	newest, fixed := p.backups[name]
	j, ok := p.jobs[name]
	if !ok || j.scenario != cfg.Scenario {
		j = job{scenario: cfg.Scenario, at: p.now().UTC()}
		p.jobs[name] = j
	}
	p.mu.Unlock()
	d := data{scenario: cfg.Scenario, now: p.now().UTC(), jobAt: j.at, dump: r.URL.Query().Get("dump") == "true", zone: cfg.TimeZone}
	d.newest = d.now.Add(-3 * time.Hour)
	if fixed {
		d.newest = newest
	} else if d.scenario == Tokyo {
		d.newest = lastAt(d.now, 17)
	}
	if d.scenario == Tokyo && d.zone == "" {
		d.zone = "Asia/Tokyo"
	}

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
	if route == SettingsPath && r.Header.Get("Authorization") == "" && r.Method == http.MethodGet {
		// The settings route answers callers who are not signed in,
		// without the time zone, whatever the key's scopes or the IP
		// restriction.
		p.mu.Lock()
		p.stats.Anonymous++
		p.mu.Unlock()
		serveSettings(w, d, false)
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
	case StatePath, SchedulePath, HistoryPath, ProgressPath, SettingsPath, CountPath:
	default:
		// A route the server does not have: an empty 404.
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if route == HistoryPath {
		p.mu.Lock()
		p.stats.History[name]++
		p.mu.Unlock()
	}
	p.serveScenario(w, r, name, route, cfg, d)
}

// data is what one answer is built from.
type data struct {
	scenario Scenario
	now      time.Time
	// newest is the newest backup's date.
	newest time.Time
	// jobAt is when the last job last changed.
	jobAt time.Time
	// dump is whether the request asked ?dump=true.
	dump bool
	// zone is the portal's IANA time zone, "" for UTC.
	zone string
}

func scenarioList() string {
	names := make([]string, len(Scenarios))
	for i, s := range Scenarios {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// lastAt returns the latest hour:00:04 UTC before now.
func lastAt(now time.Time, hour int) time.Time {
	t := time.Date(now.Year(), now.Month(), now.Day(), hour, 0, 4, 0, time.UTC)
	if !t.Before(now) {
		t = t.AddDate(0, 0, -1)
	}
	return t
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

func (p *Portal) serveScenario(w http.ResponseWriter, r *http.Request, name, route string, cfg Config, d data) {
	if route == SettingsPath {
		// The settings route passes the portal-status filter and lets
		// suspended portals through; the IP restriction still applies.
		switch cfg.Scenario {
		case IPRestricted:
			writeBareString(w, http.StatusForbidden, "Access denied due to IP restrictions")
			return
		case ScopeLimited:
			w.WriteHeader(http.StatusForbidden)
			return
		}
		serveSettings(w, d, true)
		return
	}
	switch cfg.Scenario {
	case Suspended:
		w.WriteHeader(http.StatusNotFound)
		return
	case Restoring, ScopeDenied:
		w.WriteHeader(http.StatusForbidden)
		return
	case IPRestricted:
		writeBareString(w, http.StatusForbidden, "Access denied due to IP restrictions")
		return
	}
	switch cfg.Scenario {
	case Unauthorized:
		w.WriteHeader(http.StatusUnauthorized)
	case Forbidden:
		writeError(w, http.StatusForbidden, "Access denied")
	case PaymentRequired:
		// The payment filter answers with an empty body.
		if route == SchedulePath || route == HistoryPath {
			w.WriteHeader(http.StatusPaymentRequired)
			return
		}
		p.serveHealthy(w, r, name, route, cfg, d)
	case NotFound:
		// A server without the backup routes: empty 404s.
		w.WriteHeader(http.StatusNotFound)
	case ServerError:
		writeError(w, http.StatusInternalServerError, "Object reference not set to an instance of an object.")
	case BadGateway:
		writeHTML(w, http.StatusBadGateway, "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>")
	case Flaky:
		if p.failFirst(name, cfg) {
			writeHTML(w, http.StatusServiceUnavailable, "<html><head><title>503 Service Temporarily Unavailable</title></head><body><h1>503 Service Temporarily Unavailable</h1></body></html>")
			return
		}
		d.scenario = Healthy
		p.serveHealthy(w, r, name, route, cfg, d)
	case RateLimited:
		// The window limiter: an empty 429 with Retry-After.
		if p.failFirst(name, cfg) {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		d.scenario = Healthy
		p.serveHealthy(w, r, name, route, cfg, d)
	case ConcurrencyLimited:
		// The concurrency limiter: an empty 429 without Retry-After.
		if p.failFirst(name, cfg) {
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		d.scenario = Healthy
		p.serveHealthy(w, r, name, route, cfg, d)
	case OldServer:
		if route == StatePath || route == CountPath {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		p.serveHealthy(w, r, name, route, cfg, d)
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
		p.serveHealthy(w, r, name, route, cfg, d)
	}
}

// record is one backup of a portal.
type record struct {
	id      string
	created time.Time
	paid    bool
}

// records returns the portal's backups, unordered as the server returns
// them: the newest is in the middle. The newest one is a paid backup, the
// others free ones, so only asking both paid values counts them all.
func (d data) records() []record {
	newest := d.newest
	switch d.scenario {
	case Stale, FutureRecord:
		newest = d.now.Add(-5 * 24 * time.Hour)
	case Stuck:
		newest = d.now.Add(-23 * time.Hour)
	case Monthly31:
		newest = last31st(d.now)
	case NewSchedule, NoSchedule:
		return nil
	case Dump:
		if !d.dump {
			return nil
		}
	}
	rs := []record{
		{"7c0d0f1e-7d5e-4b53-9a0e-000000000002", newest.Add(-48 * time.Hour), false},
		{"7c0d0f1e-7d5e-4b53-9a0e-000000000003", newest, true},
		{"7c0d0f1e-7d5e-4b53-9a0e-000000000001", newest.Add(-24 * time.Hour), false},
	}
	if d.scenario == FutureRecord {
		rs = append(rs, record{"7c0d0f1e-7d5e-4b53-9a0e-00000000000f", d.now.Add(30 * 24 * time.Hour), false})
	}
	if d.scenario == Dump {
		// The count route does not count whole-server dumps (tenant -1).
		for i := range rs {
			rs[i].id = "dump-" + rs[i].id
		}
	}
	return rs
}

// serveHealthy answers the backup routes for the scenarios that answer
// 200 JSON: Healthy and the ones that differ from it in the data only.
func (p *Portal) serveHealthy(w http.ResponseWriter, r *http.Request, name, route string, cfg Config, d data) {
	s, now := d.scenario, d.now
	date := serverDate
	if s == Postgres {
		date = postgresDate
	}
	switch route {
	case StatePath:
		writeResponse(w, map[string]bool{"enabled": s != Inactive && s != SelfHosted && s != Dump && s != ScopeLimited}, 1)
	case SchedulePath:
		switch {
		case s == NoSchedule, s == Dump && !d.dump:
			writeResponse(w, nil, 0)
		case s == NewSchedule:
			writeResponse(w, schedule(date, time.Time{}, 0, 2, 0, s == Dump), 1)
		case s == Monthly31:
			writeResponse(w, schedule(date, d.newest, 2, 2, 31, false), 1)
		case s == Stuck:
			writeResponse(w, schedule(date, now.Add(-20*time.Hour), 0, 2, 0, false), 1)
		case s == StorageError:
			sc := schedule(date, d.newest, 0, 2, 0, false)
			sc["storageType"] = 5
			sc["storageParams"] = map[string]string{"module": "S3", "bucket": "acme-backups", "region": "eu-central-1"}
			writeResponse(w, sc, 1)
		default:
			writeResponse(w, schedule(date, d.newest, 0, 2, 0, s == Dump), 1)
		}
	case CountPath:
		q := r.URL.Query()
		from, err1 := time.ParseInLocation("2006-01-02T15:04:05", q.Get("from"), time.UTC)
		to, err2 := time.ParseInLocation("2006-01-02T15:04:05", q.Get("to"), time.UTC)
		paid := q.Get("paid") == "true"
		switch {
		case q.Get("from") == "" || q.Get("to") == "":
			// The server's default is the current calendar month.
			from = time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
			to = from.AddDate(0, 1, 0)
		case err1 != nil || err2 != nil || from.After(to):
			writeError(w, http.StatusBadRequest, "from must not be after to")
			return
		}
		n := 0
		for _, rec := range d.records() {
			// Removed records count too; dumps (tenant -1) do not.
			if rec.paid == paid && !rec.created.Before(from) && !rec.created.After(to) && !strings.HasPrefix(rec.id, "dump-") {
				n++
			}
		}
		writeResponse(w, n, 1)
	case HistoryPath:
		rs := d.records()
		if cfg.RecordLatency > 0 && len(rs) > 0 {
			// One storage call per record.
			select {
			case <-time.After(time.Duration(cfg.RecordLatency) * time.Duration(len(rs))):
			case <-r.Context().Done():
				return
			}
		}
		if s == StorageError && len(rs) > 0 {
			writeError(w, http.StatusInternalServerError, S3Message)
			return
		}
		p.mu.Lock()
		removed := p.removed[name]
		if s == Pruned {
			// The storage did not confirm the files: the server removes
			// the records for good.
			if removed == nil {
				removed = map[string]bool{}
				p.removed[name] = removed
			}
			for _, rec := range rs {
				removed[rec.id] = true
			}
		}
		records := []map[string]any{}
		for _, rec := range rs {
			if !removed[rec.id] {
				records = append(records, historyRecord(date, rec.id, rec.created))
			}
		}
		p.mu.Unlock()
		writeResponse(w, records, len(records))
	case ProgressPath:
		if now.Sub(d.jobAt) > ProgressLifetime || s == NewSchedule || s == NoSchedule || (s == Dump && !d.dump) {
			// Progress items vanish a day after their last change.
			writeResponse(w, nil, 0)
			return
		}
		switch s {
		case BackupFailed:
			writeResponse(w, progress(4, "Storage is not available: the third-party storage refused the upload", ""), 1)
		case FailedAsCompleted:
			writeResponse(w, progress(2, "The remote storage refused the upload: quota exceeded", ""), 1)
		case Cancelled:
			writeResponse(w, progress(3, "", "Backup cancelled"), 1)
		case WarningJob:
			writeResponse(w, progress(2, "", "Some files were not backed up: 3 file(s) are missing from the storage"), 1)
		case Stuck:
			pr := progress(1, "", "")
			pr["isCompleted"], pr["progress"] = false, 0
			writeResponse(w, pr, 1)
		case NoStatus, OldServer:
			pr := progress(2, "", "")
			delete(pr, "status")
			writeResponse(w, pr, 1)
		default:
			writeResponse(w, progress(2, "", ""), 1)
		}
	}
}

// serveSettings answers the settings route: cloud unless the scenario is
// a self-hosted one, the server's version and the portal's status, and
// for a signed-in caller the portal's time zone (none on an old server).
func serveSettings(w http.ResponseWriter, d data, signedIn bool) {
	status := 0
	switch d.scenario {
	case Suspended:
		status = 1
	case Restoring:
		status = 4
	}
	version := "3.7.2.1234"
	if d.scenario == OldServer {
		version = "3.2.1.700"
	}
	answer := map[string]any{
		"culture":      "en-US",
		"docSpace":     true,
		"standalone":   d.scenario == SelfHosted || d.scenario == Dump || d.scenario == ScopeLimited || d.scenario == OldServer,
		"version":      version,
		"tenantStatus": status,
		"tenantAlias":  "portal",
	}
	if signedIn && d.scenario != OldServer {
		zone := d.zone
		if zone == "" {
			zone = "UTC"
		}
		loc, err := time.LoadLocation(zone)
		if err != nil {
			loc = time.UTC
		}
		_, off := d.now.In(loc).Zone()
		sign := ""
		if off < 0 {
			sign, off = "-", -off
		}
		answer["timezone"] = zone
		answer["utcOffset"] = fmt.Sprintf("%s%02d:%02d:00", sign, off/3600, off%3600/60)
		hours := float64(off) / 3600
		if sign == "-" {
			hours = -hours
		}
		answer["utcHoursOffset"] = hours
	}
	writeResponse(w, answer, 1)
}

// last31st returns 02:00 on the last 31st of a month before now.
func last31st(now time.Time) time.Time {
	y, m, _ := now.Date()
	for i := 0; ; i++ {
		first := time.Date(y, m-time.Month(i), 1, 0, 0, 0, 0, time.UTC)
		if time.Date(first.Year(), first.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day() == 31 {
			if t := time.Date(first.Year(), first.Month(), 31, 2, 0, 0, 0, time.UTC); t.Before(now) {
				return t
			}
		}
	}
}

// serverDate writes a date the way the server does on MySQL: UTC, whole
// seconds, no offset.
func serverDate(t time.Time) string {
	if t.IsZero() {
		return "0001-01-01T00:00:00"
	}
	return t.UTC().Format("2006-01-02T15:04:05")
}

// postgresDate writes a date as a PostgreSQL server probably does:
// fractions of a second and "Z".
func postgresDate(t time.Time) string {
	if t.IsZero() {
		return "0001-01-01T00:00:00"
	}
	return t.UTC().Truncate(time.Second).Add(123456 * time.Microsecond).Format("2006-01-02T15:04:05.000000Z")
}

func schedule(date func(time.Time) string, lastBackup time.Time, period, hour, day int, dump bool) map[string]any {
	return map[string]any{
		"storageType":    0,
		"storageParams":  map[string]string{"folderId": "4"},
		"cronParams":     map[string]int{"period": period, "hour": hour, "day": day},
		"backupsStored":  10,
		"lastBackupTime": date(lastBackup),
		"dump":           dump,
	}
}

func historyRecord(date func(time.Time) string, id string, created time.Time) map[string]any {
	return map[string]any{
		"id":          id,
		"fileName":    "portal_" + created.UTC().Format("2006_01_02_15_04_05") + ".tar.gz",
		"storageType": 0,
		"createdOn":   date(created),
		"expiresOn":   "0001-01-01T00:00:00",
	}
}

func progress(status int, errText, warning string) map[string]any {
	p := map[string]any{
		"isCompleted":        true,
		"progress":           100,
		"error":              errText,
		"link":               "",
		"tenantId":           1,
		"backupProgressEnum": 0,
		"status":             status,
		"taskId":             "c7a4a7b2-1111-4d3e-8f00-5a5a5a5a5a5a",
	}
	if warning != "" {
		p["warning"] = warning
	}
	return p
}

// writeBareString answers with a bare JSON string, as the server's IP
// restriction filter does.
func writeBareString(w http.ResponseWriter, status int, s string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(s)
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
