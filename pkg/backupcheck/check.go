package backupcheck

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
)

// RoutePanic is what Check panics with when a route's call panicked in
// its own goroutine: the call's panic value, raised again in the
// goroutine that called Check.
type RoutePanic struct {
	// Route names the call, such as history or progress.
	Route string
	// Value is the call's panic value.
	Value any
	// Stack is the panicking goroutine's stack.
	Stack []byte
}

// Error says which route panicked, and with what.
func (p *RoutePanic) Error() string { return fmt.Sprintf("%s route: %v", p.Route, p.Value) }

// routes asks each route in a goroutine of its own. A panic there would
// end the process, so it is recovered and raised again by Wait, in the
// caller's goroutine, where the caller may recover it.
type routes struct {
	wg       sync.WaitGroup
	mu       sync.Mutex
	panicked *RoutePanic
}

// Go calls call, the route's, in a new goroutine.
func (g *routes) Go(route string, call func()) {
	g.wg.Go(func() {
		defer func() {
			if p := recover(); p != nil {
				g.mu.Lock()
				defer g.mu.Unlock()
				rp, ok := p.(*RoutePanic) // a call's own routes'
				if !ok {
					rp = &RoutePanic{Route: route, Value: p, Stack: debug.Stack()}
				}
				if g.panicked == nil {
					g.panicked = rp
				}
			}
		}()
		call()
	})
}

// Wait waits for every call, then panics with the first call's panic, if
// any.
func (g *routes) Wait() {
	g.wg.Wait()
	if g.panicked != nil {
		panic(g.panicked)
	}
}

// StateReader reads the portal's paid-backup wallet setting.
type StateReader interface {
	GetBackupServiceState(ctx context.Context) (docspace.ServiceState, docspace.Result, error)
}

// ScheduleReader reads a portal's backup schedule.
type ScheduleReader interface {
	GetBackupSchedule(ctx context.Context) (*docspace.Schedule, docspace.Result, error)
}

// HistoryReader reads a portal's list of stored backups. On a real server
// the read is not free: it asks the storage about every record and removes
// the records it cannot confirm.
type HistoryReader interface {
	GetBackupHistory(ctx context.Context) ([]docspace.HistoryRecord, docspace.Result, error)
}

// CountReader counts a portal's backups created in a time window, without
// any side effect.
type CountReader interface {
	GetBackupsCount(ctx context.Context, from, to time.Time, paid bool) (int, docspace.Result, error)
}

// ProgressReader reads a portal's running or last queued backup job.
type ProgressReader interface {
	GetBackupProgress(ctx context.Context) (*docspace.Progress, docspace.Result, error)
}

// SettingsReader reads the portal's settings: without the key (self-hosted
// or not, version, status), and with it (the time zone).
type SettingsReader interface {
	GetPortalSettings(ctx context.Context) (docspace.PortalSettings, docspace.Result, error)
	GetPortalZone(ctx context.Context) (docspace.PortalZone, docspace.Result, error)
}

// Reader is every part of *docspace.Client that Check needs. Check calls
// it from several goroutines at once.
type Reader interface {
	StateReader
	ScheduleReader
	HistoryReader
	CountReader
	ProgressReader
	SettingsReader
}

var _ Reader = (*docspace.Client)(nil)

// HistoryGate decides whether a run may read a portal's history: at most
// once per portal in a while, since every read asks the storage about every
// record and may remove records.
type HistoryGate interface {
	// Claim reports whether this run may read the history now, and takes
	// the turn when it may. Check calls it at most once, right before the
	// read. An error means no.
	Claim(ctx context.Context) (bool, error)
}

// Signals selects the calls Check makes.
type Signals struct {
	// State asks for the paid-backup switch (service_inactive).
	State bool
	// Schedule asks for the schedule (no_schedule) and, since staleness
	// needs it, for the backups' freshness too.
	Schedule bool
	// History asks for the backups' freshness (backup_stale): the count
	// route, and the history when it adds something (see Check).
	History bool
	// Progress asks for the last job (backup_failed, backup_warning,
	// backup_stuck).
	Progress bool
}

// AllSignals turns every signal on.
func AllSignals() Signals { return Signals{State: true, Schedule: true, History: true, Progress: true} }

// FutureTolerance is how far in the future a history record may be dated
// (clock skew) before Check ignores it.
const FutureTolerance = time.Hour

// RunningJobGrace is how long past the staleness threshold Check waits
// for a backup job that is running before it calls the backup stale.
const RunningJobGrace = 12 * time.Hour

// DefaultStuckAfter is how long a backup job may stay Running after the
// schedule queued it before Check calls it stuck.
const DefaultStuckAfter = 12 * time.Hour

// Facts is what the settings route says about a portal. It changes
// rarely, so a caller may keep it between runs (Options.Facts).
type Facts struct {
	// Standalone is true on a self-hosted server.
	Standalone bool
	// Version is the server's version string, "" when not given.
	Version string
	// Zone is the portal's time zone; nil when the signed-in settings
	// route did not give it (ZoneNote says why).
	Zone *docspace.PortalZone
	// ZoneNote says why the zone is unknown; "" when known.
	ZoneNote string
}

// version returns the server's version; false when unknown.
func (f *Facts) version() (docspace.Version, bool) {
	if f == nil {
		return docspace.Version{}, false
	}
	return docspace.ParseVersion(f.Version)
}

// Options tunes Check. The zero value checks nothing; use AllSignals.
type Options struct {
	Signals Signals
	// StaleAfter is how old the newest backup may be. Zero derives it from
	// the schedule (see StaleAfterFrom), or 26 h when the schedule is
	// unknown.
	StaleAfter time.Duration
	// StuckAfter is how long a job may stay Running after the schedule
	// queued it; zero means DefaultStuckAfter.
	StuckAfter time.Duration
	// FirstSeen is when the watcher first saw this portal's schedule, zero
	// if unknown. With no backup ever, it is the baseline from which the
	// first backup is awaited.
	FirstSeen time.Time
	// SelfHosted overrides what the settings route says: true means a
	// self-hosted server (enabled: false is then normal), false a cloud
	// portal.
	SelfHosted *bool
	// Facts is what the settings route said on an earlier run, nil if
	// unknown: then Check asks the route (without the key, and with it for
	// the time zone) and returns the answer in Verdict.Facts. An empty 403
	// or 404 asks the route again (the portal's status changes).
	Facts *Facts
	// Dump says the client reads with ?dump=true, which only a self-hosted
	// server with LimitedAccessSpace off accepts: a refusal is explained so.
	Dump bool
	// History gates the history reads; nil lets every run read it (a
	// person asking once).
	History HistoryGate
	// HistoryNewest is the newest backup the last history read found, and
	// HistoryReadAt when that read was; zero when unknown. A run that may
	// not read the history says so, and judges a server without the count
	// route by it while it is recent enough.
	HistoryNewest, HistoryReadAt time.Time
	// WantNewest reads the history (when History lets it) for the exact
	// date of the newest backup also when the count says backups land:
	// for a person asking once.
	WantNewest bool
	// Open holds, for the job reasons (BackupFailed, BackupWarning) that
	// the alert state has failing, when their streak began. Once the job's
	// progress item is gone, such a reason stays failing until a backup
	// newer than that lands.
	Open map[Reason]time.Time
}

// answers holds what the calls returned.
type answers struct {
	state       docspace.ServiceState
	stateErr    error
	sched       *docspace.Schedule
	schedErr    error
	history     []docspace.HistoryRecord
	historyErr  error
	historyRead bool
	countErr    error
	prog        *docspace.Progress
	progErr     error
	settings    *docspace.PortalSettings
	settingsErr error
	zone        *docspace.PortalZone
	zoneErr     error
	// early is the count asked with the first calls, over the shortest
	// window (see Check).
	early struct {
		asked bool
		from  time.Time
		n     int
		err   error
	}
}

// Check asks the portal for the enabled signals and judges every one of
// them (see the package documentation). A panic in one of its calls is
// raised again by Check, in the caller's goroutine, as a *RoutePanic.
//
// First, at once: the backup state, the schedule, the last job and, unless
// Options.Facts holds them, the settings route without the key (self-hosted
// or not, the server's version) and with it (the time zone). An empty 403
// or 404 asks the settings route for the portal's status.
//
// Then the freshness of the backups, from the count route (one database
// count, no side effect; both paid values): a count above 0 since the
// threshold means a backup landed. The history, whose every read asks the
// storage about each record and may remove records, is read only when it
// adds what a person needs, and only when Options.History lets it: the
// exact date of the newest backup once the count says none landed; the
// freshness itself when the count route cannot answer (a server before
// v3.5.0, or a whole-server dump schedule, which it does not count); and a
// probe of a storage that rethrows its errors (not the portal's Documents
// or a third-party folder, whose errors remove records). A history 5xx is
// not asked again, and one that carries the storage's message is a
// storage problem.
//
// The portal is stale when no backup landed within the threshold (records
// dated more than FutureTolerance ahead ignored). With no backup ever, the
// wait starts at the earliest of Options.FirstSeen and the schedule's
// lastBackupTime; the portal is stale once that baseline plus the threshold
// has passed, and never before the schedule's first due time after the
// baseline plus FirstBackupGrace. While a backup job runs, a portal up to
// RunningJobGrace past the threshold is not judged stale (nor fine) yet;
// a job Running more than Options.StuckAfter after the schedule queued it
// is stuck. Due times are in the portal's time zone (UTC when unknown,
// which the verdict says).
func Check(ctx context.Context, portal string, r Reader, opts Options, now time.Time) Verdict {
	now = now.UTC()
	v := Verdict{Portal: portal, At: now, Reason: Healthy, Sources: map[Reason]string{}}
	sig := opts.Signals
	fresh := sig.Schedule || sig.History

	var a answers
	var mu sync.Mutex
	record := func(res docspace.Result) {
		mu.Lock()
		defer mu.Unlock()
		v.Calls += res.Attempts
		v.Result.Attempts += res.Attempts
		v.Result.Latency = max(v.Result.Latency, res.Latency)
		v.Result.StatusCode = max(v.Result.StatusCode, res.StatusCode)
	}
	askSettings := func() {
		st, res, err := r.GetPortalSettings(ctx)
		record(res)
		if err == nil {
			a.settings = &st
		}
		a.settingsErr = err
	}
	var wg routes
	if sig.State {
		wg.Go("service state", func() {
			var res docspace.Result
			a.state, res, a.stateErr = r.GetBackupServiceState(ctx)
			record(res)
		})
	}
	if sig.Schedule {
		wg.Go("schedule", func() {
			var res docspace.Result
			a.sched, res, a.schedErr = r.GetBackupSchedule(ctx)
			record(res)
		})
	}
	if sig.Progress {
		wg.Go("progress", func() {
			var res docspace.Result
			a.prog, res, a.progErr = r.GetBackupProgress(ctx)
			record(res)
		})
	}
	// The count of the shortest window any schedule allows (a day, or a
	// shorter STALE_AFTER), asked with the rest: when a backup landed in
	// it, the portal is fresh whatever its schedule, in one round trip.
	f := freshness{r: r, opts: opts, a: &a, record: record, now: now}
	if v, known := opts.Facts.version(); fresh && (!known || v.AtLeast(docspace.CountSince)) {
		window := DailyStaleAfter
		if opts.StaleAfter > 0 {
			window = min(window, opts.StaleAfter)
		}
		a.early.from = now.Add(-window)
		wg.Go("count", func() { a.early.n, a.early.err = f.count(ctx, a.early.from); a.early.asked = true })
	}
	if opts.Facts == nil && sig != (Signals{}) {
		wg.Go("settings", askSettings)
		if fresh || sig.Schedule {
			wg.Go("zone", func() {
				z, res, err := r.GetPortalZone(ctx)
				record(res)
				if err == nil {
					a.zone = &z
				}
				a.zoneErr = err
			})
		}
	}
	wg.Wait()
	if a.settings == nil && a.settingsErr == nil && (emptyRefusal(a.stateErr) || emptyRefusal(a.schedErr) || emptyRefusal(a.progErr)) {
		// The portal's status tells a restore or a suspension from a key
		// problem.
		askSettings()
	}

	facts := opts.Facts
	if a.settings != nil {
		facts = &Facts{Standalone: a.settings.Standalone, Version: a.settings.Version}
		if opts.Facts != nil {
			facts.Zone, facts.ZoneNote = opts.Facts.Zone, opts.Facts.ZoneNote
		} else {
			facts.Zone, facts.ZoneNote = a.zone, zoneNote(a.zoneErr)
		}
		v.Facts = facts
	}
	if facts != nil {
		standalone := facts.Standalone
		v.Standalone = &standalone
		v.ServerVersion = facts.Version
	}
	if opts.SelfHosted != nil {
		standalone := *opts.SelfHosted
		v.Standalone = &standalone
	}
	loc, zoneLine := zoneOf(facts)
	if loc != nil {
		v.Zone = loc.String()
	}

	j := judge{v: &v, now: now, loc: loc, zoneLine: zoneLine, selfHosted: v.Standalone != nil && *v.Standalone}
	version, versionKnown := facts.version()

	// no_schedule.
	if sig.Schedule && a.schedErr == nil {
		seen := a.sched != nil
		v.ScheduleSeen = &seen
		v.Sources[NoSchedule] = "schedule"
		switch {
		case a.sched == nil && j.selfHosted:
			j.fail(NoSchedule, "the self-hosted server shows no automatic backup schedule for the portal; if it backs up with a whole-server dump schedule, that shows only with the dump option on (DUMP, or \"dump\": true for the portal); otherwise set the automatic backup up in Settings > Backup")
		case a.sched == nil:
			j.fail(NoSchedule, "the portal has no automatic backup schedule; DocSpace deletes the schedule itself after a billing failure, so check the portal's payments and set the automatic backup up again")
		default:
			j.fine(NoSchedule)
			cron := a.sched.CronParams
			v.Schedule = &cron
			due := NextDueIn(cron, now, loc)
			v.NextDue = &due
		}
	}

	// The progress answer's status exists from v3.7.1: an older server's
	// value (or a proxy's default) says nothing about the job.
	if versionKnown && !version.AtLeast(docspace.ProgressStatusSince) && a.prog != nil && a.prog.Status != nil {
		p := *a.prog
		p.Status = nil
		a.prog = &p
	}

	// The job: running, stuck, failed or fine.
	running, stuck := j.runningJob(a, opts)

	// Freshness: the count route, and the history when it adds something.
	f.j = &j
	if fresh && (opts.StaleAfter > 0 || !sig.Schedule || a.schedErr == nil) {
		f.countable = !(a.sched != nil && a.sched.Dump) && (!versionKnown || version.AtLeast(docspace.CountSince))
		switch {
		case a.sched != nil && a.sched.Dump:
			f.why = "the count route does not count whole-server dump backups"
		case versionKnown && !f.countable:
			f.why = fmt.Sprintf("the server (v%s) predates the count route (v%s)", version, docspace.CountSince)
		}
		f.judge(ctx, running, stuck, versionKnown)
	}

	// The calls' own errors: one problem per reason, naming the first
	// call that gave it.
	callErrs := []struct {
		what string
		err  error
	}{{"service state", a.stateErr}, {"schedule", a.schedErr}, {"backup count", a.countErr}, {"history", a.historyErr}, {"progress", a.progErr}}
	failedCalls := 0
	for _, c := range callErrs {
		if c.err == nil {
			continue
		}
		if c.what == "service state" && versionKnown && !version.AtLeast(docspace.CountSince) && errors.Is(c.err, docspace.ErrNotFound) {
			// The server predates the state route: nothing to judge.
			continue
		}
		if c.what == "history" {
			if storage, ok := storageFailure(c.err); ok {
				j.fail(StorageUnavailable, storageDetail(storage, a.sched))
				v.Sources[StorageUnavailable] = "history"
				continue
			}
		}
		failedCalls++
		reason, why := classify(c.err, a.settings, a.settingsErr)
		if why2 := dumpRefusal(c.err, opts.Dump, v.Standalone); why2 != "" {
			why = why2
		}
		detail := fmt.Sprintf("reading the backup %s failed: %v", c.what, c.err)
		if why != "" {
			detail += "; " + why
		}
		j.fail(reason, detail)
	}
	if failedCalls == 0 {
		for _, r := range callReasons {
			j.fine(r)
		}
	}
	if a.historyRead && a.historyErr == nil {
		j.fine(StorageUnavailable)
		v.Sources[StorageUnavailable] = "history"
	}

	// service_inactive: the wallet setting, read for what it means here.
	if sig.State && a.stateErr == nil {
		enabled := a.state.Enabled
		v.Enabled = &enabled
		v.Sources[ServiceInactive] = "state+settings"
		j.serviceState(enabled, opts.SelfHosted != nil, a.settingsErr)
	}
	if p, ok := v.Problem(NoSchedule); ok && v.LastBackup != nil {
		j.set(NoSchedule, p.Detail+fmt.Sprintf("; the newest backup is from %s, %s ago", stamp(*v.LastBackup), hours(now.Sub(*v.LastBackup))))
	}

	// backup_failed, backup_warning and backup_stuck.
	if sig.Progress {
		j.jobs(ctx, &f, a, opts, running, stuck)
	}
	if zoneLine != "" && v.Schedule != nil {
		j.addHealthy(zoneLine)
	}

	// The verdict's reason: the most urgent problem.
	slices.SortStableFunc(v.Problems, func(x, y Problem) int {
		return slices.Index(Priority, x.Reason) - slices.Index(Priority, y.Reason)
	})
	slices.SortFunc(v.Evaluated, func(x, y Reason) int { return strings.Compare(string(x), string(y)) })
	v.Evaluated = slices.Compact(v.Evaluated)
	if v.Evaluated == nil {
		v.Evaluated = []Reason{}
	}
	for r := range v.Sources {
		if !v.Judged(r) {
			delete(v.Sources, r)
		}
	}
	if len(v.Problems) > 0 {
		v.Reason, v.Detail = v.Problems[0].Reason, v.Problems[0].Detail
	} else {
		v.Detail = j.healthy
		if v.Detail == "" && v.Enabled != nil {
			v.Detail = "the portal reports the backup service as active (enabled: true)"
		}
	}
	return v
}

// zoneNote says why the zone is unknown.
func zoneNote(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, docspace.ErrIPRestricted):
		return "the portal's IP restriction refuses the signed-in settings route"
	case errors.Is(err, docspace.ErrPermissionDenied):
		return "the signed-in settings route refused the key (its scopes do not cover it)"
	case errors.As(err, new(*docspace.BadResponseError)):
		return "the server's settings answer has no time zone"
	default:
		return fmt.Sprintf("the signed-in settings route did not give it (%v)", err)
	}
}

// zoneOf returns the portal's zone and, when it is not exact, a line
// saying what was assumed. A nil location means UTC assumed.
func zoneOf(facts *Facts) (*time.Location, string) {
	if facts == nil {
		return nil, ""
	}
	if facts.Zone == nil {
		why := facts.ZoneNote
		if why == "" {
			why = "the settings route gave none"
		}
		return nil, "the portal's time zone is unknown (" + why + "): the schedule's hour was read as UTC, so due times may be off by the portal's UTC offset"
	}
	loc, exact, err := facts.Zone.Location()
	switch {
	case err != nil:
		return nil, "the portal's time zone is unusable (" + err.Error() + "): the schedule's hour was read as UTC"
	case !exact:
		return loc, fmt.Sprintf("the portal's time zone %q is not one this watcher knows: its fixed offset was used, without daylight saving", facts.Zone.TimeZone)
	}
	return loc, ""
}

// judge collects a verdict's problems and judged reasons.
type judge struct {
	v   *Verdict
	now time.Time
	// loc is the portal's time zone; nil when unknown (UTC assumed), and
	// zoneLine then says so.
	loc      *time.Location
	zoneLine string
	// selfHosted: the advice names the backup service, never payments.
	selfHosted bool
	// healthy is the detail of a verdict without problems.
	healthy string
}

func (j *judge) fail(r Reason, detail string) {
	j.v.Evaluated = append(j.v.Evaluated, r)
	if _, ok := j.v.Problem(r); ok {
		return // the first call's explanation stands
	}
	j.v.Problems = append(j.v.Problems, Problem{Reason: r, Detail: detail})
}

func (j *judge) set(r Reason, detail string) {
	for i := range j.v.Problems {
		if j.v.Problems[i].Reason == r {
			j.v.Problems[i].Detail = detail
		}
	}
}

func (j *judge) fine(r Reason) { j.v.Evaluated = append(j.v.Evaluated, r) }

// emptyRefusal reports whether err is a 403 or 404 with an empty body,
// whose meaning the portal's status tells.
func emptyRefusal(err error) bool {
	var ae *docspace.APIError
	return errors.As(err, &ae) && ae.Body == docspace.BodyEmpty &&
		(ae.StatusCode == http.StatusForbidden || ae.StatusCode == http.StatusNotFound)
}

// classify maps a call's error to a reason and an explanation, reading an
// empty 403 or 404 with the portal's status from the settings route.
func classify(err error, settings *docspace.PortalSettings, settingsErr error) (Reason, string) {
	var ae *docspace.APIError
	if !errors.As(err, &ae) || ae.Body != docspace.BodyEmpty {
		return Classify(err), ""
	}
	var status *docspace.TenantStatus
	if settings != nil {
		status = settings.TenantStatus
	}
	switch ae.StatusCode {
	case http.StatusForbidden:
		if status != nil && status.Busy() {
			return PortalBusy, fmt.Sprintf("the portal's status is %s: it refuses the backup routes until that ends, which needs no action", status)
		}
		if status != nil {
			return PermissionDenied, fmt.Sprintf("the portal's status is %s, so the key's scopes refuse the backup routes: use a key with *:read (or no scopes)", status)
		}
		return PermissionDenied, fmt.Sprintf("the portal's status is unknown (settings route: %v): either the key's scopes lack *:read or the portal is being restored or transferred", settingsErr)
	case http.StatusNotFound:
		switch {
		case status != nil && (*status == docspace.TenantSuspended || *status == docspace.TenantRemovePending):
			return PortalSuspended, fmt.Sprintf("the portal's status is %s", status)
		case errors.Is(settingsErr, docspace.ErrNotFound):
			return PortalSuspended, "the settings route answers 404 too: the portal is being removed or does not exist"
		case status != nil:
			return BadResponse, fmt.Sprintf("the portal is %s, so the server lacks the route", status)
		}
	}
	return Classify(err), ""
}

// serviceState judges service_inactive. enabled: false is the normal
// answer of a self-hosted server and of a cloud portal with free backups
// left; on a cloud portal it warns that automatic backups stop being paid
// for once the free ones are used up.
func (j *judge) serviceState(enabled, overridden bool, settingsErr error) {
	v := j.v
	switch {
	case enabled:
		j.fine(ServiceInactive)
	case v.Standalone != nil && *v.Standalone:
		j.fine(ServiceInactive)
		j.healthy = "the portal is self-hosted: enabled: false is its normal answer and its backups are not paid per use"
		if overridden {
			j.healthy += " (self-hosted by configuration)"
		}
	case v.Standalone != nil:
		j.fail(ServiceInactive, "the cloud portal's paid-backup setting is off (enabled: false): automatic backups run on the free backups left this month and stop being paid for once they are used up; this does not mean backups stopped")
	case retriable(settingsErr):
		// Cannot tell self-hosted from cloud this run: leave it unjudged.
		j.healthy = fmt.Sprintf("enabled: false, and the settings route did not answer (%v): whether that is normal (self-hosted) is unknown this run", settingsErr)
	default:
		j.fail(ServiceInactive, fmt.Sprintf("the paid-backup setting is off (enabled: false) and the settings route, which tells a self-hosted server (where that is normal) from a cloud portal, was refused (%v); if the portal is self-hosted, set its selfHosted option", settingsErr))
	}
}

// retriable reports whether err may pass by itself (no answer, 429, 5xx).
func retriable(err error) bool {
	return Classify(err) == Unreachable
}

// addHealthy adds detail to the detail of a verdict without problems.
func (j *judge) addHealthy(detail string) {
	if j.healthy == "" {
		j.healthy = detail
	} else {
		j.healthy += "; " + detail
	}
}

// failedDetail describes a failed job with the first line of the server's
// error text, cut short, so that no stack trace reaches an alert.
func failedDetail(p *docspace.Progress) string {
	msg := firstLine(p.Error)
	if msg == "" {
		return fmt.Sprintf("the last backup job ended with status %s", p.StatusName())
	}
	return fmt.Sprintf("the last backup job failed (status %s): %s", p.StatusName(), msg)
}

// firstLine returns the first line of s, trimmed and cut to 200 runes.
func firstLine(s string) string {
	msg := strings.TrimSpace(s)
	if i := strings.IndexAny(msg, "\r\n"); i >= 0 {
		msg = strings.TrimSpace(msg[:i])
	}
	if r := []rune(msg); len(r) > 200 {
		msg = string(r[:200]) + "..."
	}
	return msg
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// hours writes d in whole hours, adding days from a week up.
func hours(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	h := d.Round(time.Hour).Hours()
	if d >= 7*24*time.Hour {
		return fmt.Sprintf("%.0f h (%.1f days)", h, d.Hours()/24)
	}
	return fmt.Sprintf("%.0f h", h)
}
