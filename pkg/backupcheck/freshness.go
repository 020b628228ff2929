package backupcheck

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
)

// countEpoch is the start of "ever" for the count route: no DocSpace
// backup is older.
var countEpoch = time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)

// Sources of a judgement, as Verdict.Sources names them.
const (
	// SourceCount: the count route (no side effect).
	SourceCount = "count"
	// SourceHistory: the history, read this run.
	SourceHistory = "history"
	// SourceRemembered: the newest backup an earlier history read found.
	SourceRemembered = "history (remembered)"
)

// freshness judges backup_stale from the count route and, when it adds
// something, the history.
type freshness struct {
	j      *judge
	r      Reader
	opts   Options
	a      *answers
	record func(docspace.Result)
	now    time.Time
	// countable: the count route can answer (why says why not).
	countable bool
	why       string
}

// count asks the count route for both paid values over [from, now] (plus
// FutureTolerance: a clock a little ahead is no reason to miss a backup)
// and adds them up.
func (f *freshness) count(ctx context.Context, from time.Time) (int, error) {
	var (
		wg   routes
		n    [2]int
		errs [2]error
	)
	for i, paid := range []bool{false, true} {
		wg.Go("count", func() {
			var res docspace.Result
			n[i], res, errs[i] = f.r.GetBackupsCount(ctx, from, f.now.Add(FutureTolerance), paid)
			f.record(res)
		})
	}
	wg.Wait()
	if err := cmpErr(errs[0], errs[1]); err != nil {
		return 0, err
	}
	return n[0] + n[1], nil
}

// cmpErr returns the first non-nil error.
func cmpErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// readHistory reads the history when the gate lets this run, and records
// the newest backup (records dated more than FutureTolerance ahead
// ignored, returned in future). It reports false when the history was not
// read (note says why); a read that failed leaves a.historyErr.
func (f *freshness) readHistory(ctx context.Context) (read bool, future []time.Time, note string) {
	if f.a.historyRead {
		return f.a.historyErr == nil, nil, ""
	}
	if f.opts.History != nil {
		ok, err := f.opts.History.Claim(ctx)
		switch {
		case err != nil:
			return false, nil, fmt.Sprintf("the history was not read: whether this run may read it is unknown (%v)", err)
		case !ok:
			note := "the history is read at most once in a while (HISTORY_EVERY), since every read asks the storage about each record and may remove records"
			if !f.opts.HistoryReadAt.IsZero() {
				note += fmt.Sprintf("; it was last read at %s", stamp(f.opts.HistoryReadAt))
				if !f.opts.HistoryNewest.IsZero() {
					note += fmt.Sprintf(", when the newest backup was from %s", stamp(f.opts.HistoryNewest))
				}
			}
			return false, nil, note
		}
	}
	records, res, err := f.r.GetBackupHistory(ctx)
	f.record(res)
	f.a.historyRead, f.j.v.HistoryRead = true, true
	f.a.history, f.a.historyErr = records, err
	if err != nil {
		return false, nil, ""
	}
	var kept []docspace.HistoryRecord
	for _, rec := range records {
		if !rec.CreatedOn.Never() && rec.CreatedOn.After(f.now.Add(FutureTolerance)) {
			future = append(future, rec.CreatedOn.UTC())
			continue
		}
		kept = append(kept, rec)
	}
	if newest, ok := docspace.Newest(kept); ok {
		t := newest.CreatedOn.UTC()
		f.j.v.LastBackup = &t
	}
	return true, future, ""
}

// probes reports whether the schedule's storage rethrows its errors when
// the history is read (S3, GCS and other data stores, the server's disk),
// so that a read removes no record on a hiccup and reports a broken storage.
// The portal's Documents and third-party folders turn any error into
// "missing": reading their history only when needed.
func probes(sched *docspace.Schedule) bool {
	return sched != nil && sched.StorageType != docspace.StorageDocuments && sched.StorageType != docspace.StorageThirdpartyDocuments
}

// judge judges backup_stale. running is the backup job that runs, nil when
// none; stuck says it is stuck (no grace then).
func (f *freshness) judge(ctx context.Context, running *docspace.Progress, stuck bool, versionKnown bool) {
	v, now, sched := f.j.v, f.now, f.a.sched
	var cron *docspace.CronParams
	if sched != nil {
		cron = &sched.CronParams
	}
	since := FreshSince(cron, f.opts.StaleAfter, now, f.j.loc)
	v.StaleAfter = now.Sub(since)
	if f.countable {
		var n int
		var err error
		switch e := f.a.early; {
		case e.asked && (e.from.Equal(since) || (e.err == nil && e.n > 0 && !e.from.Before(since))):
			// The early count answers: its window is this one, or a
			// shorter one in which a backup landed.
			n, err, since = e.n, e.err, e.from
		default:
			n, err = f.count(ctx, since)
		}
		var ae *docspace.APIError
		switch {
		case err == nil:
			f.fromCount(ctx, n, since, running, stuck)
			return
		case !versionKnown && errors.As(err, &ae) && ae.StatusCode == http.StatusNotFound && ae.Body == docspace.BodyEmpty && f.a.settings != nil:
			// An active portal without the route: a server before v3.5.0.
			f.countable, f.why = false, "the server has no count route (a server before v3.5.0)"
		default:
			f.a.countErr = err
			return
		}
	}
	f.fromHistory(ctx, since, running, stuck)
}

// expects says what the threshold is.
func (f *freshness) expects() string {
	v, sched := f.j.v, f.a.sched
	switch {
	case sched == nil:
		return fmt.Sprintf("the check expects one every %s", hours(v.StaleAfter))
	case f.opts.StaleAfter > 0:
		return fmt.Sprintf("the %s schedule is checked against a limit of %s", sched.CronParams.Period, hours(v.StaleAfter))
	}
	return fmt.Sprintf("the %s schedule expects one every %s", sched.CronParams.Period, hours(v.StaleAfter))
}

// fromCount judges from the count of backups since since.
func (f *freshness) fromCount(ctx context.Context, n int, since time.Time, running *docspace.Progress, stuck bool) {
	j, v, now := f.j, f.j.v, f.now
	v.Sources[BackupStale] = SourceCount
	counted := n
	v.BackupsCounted = &counted
	if n > 0 {
		j.fine(BackupStale)
		detail := fmt.Sprintf("%d backup(s) landed since %s (count route); %s", n, stamp(since), f.expects())
		if probes(f.a.sched) || f.opts.WantNewest {
			// The exact date for a person, or a probe of a storage that
			// reports its errors instead of removing records.
			if read, future, _ := f.readHistory(ctx); read {
				detail += f.newestText(n, future)
			}
		}
		j.addHealthy(detail + f.nextDue())
		return
	}
	ever, err := f.count(ctx, countEpoch)
	if err != nil {
		f.a.countErr = err
		return
	}
	if ever == 0 {
		// No backup ever: wait for the first one.
		stale, detail := j.firstBackup(f.a.sched, v.StaleAfter, f.opts)
		detail += " (count route)"
		if stale {
			j.fail(BackupStale, detail+j.queued(nil, f.a.sched, v.StaleAfter, stuck))
			return
		}
		j.addHealthy(detail)
		return
	}
	detail := fmt.Sprintf("no backup landed since %s, %s ago (count route: none in that window, %d before it); %s", stamp(since), hours(now.Sub(since)), ever, f.expects())
	// The exact date of the newest backup, for the person reading this.
	read, future, note := f.readHistory(ctx)
	switch {
	case read && v.LastBackup != nil:
		detail += fmt.Sprintf("; the newest backup in the history is from %s, %s ago", stamp(*v.LastBackup), hours(now.Sub(*v.LastBackup)))
		detail += futureText(future)
	case read:
		detail += "; the history lists no backup: the server removed the records it could not confirm in the storage" + futureText(future)
	case note != "":
		detail += "; " + note
	}
	if running != nil && !stuck {
		if k, err := f.count(ctx, since.Add(-RunningJobGrace)); err == nil && k > 0 {
			j.addHealthy(detail + fmt.Sprintf("; a backup job is running (%d%%): the check waits for it, up to %s past the limit", running.Progress, hours(RunningJobGrace)))
			return
		}
	}
	j.fail(BackupStale, detail+j.queued(v.LastBackup, f.a.sched, v.StaleAfter, stuck))
}

// newestText describes the newest backup the history holds, after a read
// made while the count route counts n backups in the window.
func (f *freshness) newestText(n int, future []time.Time) string {
	v := f.j.v
	if v.LastBackup == nil {
		return fmt.Sprintf("; the history lists no backup although the count route counts %d: the server removed the records it could not confirm in the storage (the backups landed, the restore list lost them)", n) + futureText(future)
	}
	return fmt.Sprintf("; the newest backup in the history is from %s, %s ago", stamp(*v.LastBackup), hours(f.now.Sub(*v.LastBackup))) + futureText(future)
}

func futureText(future []time.Time) string {
	if len(future) == 0 {
		return ""
	}
	return fmt.Sprintf("; %d history record(s) dated in the future (the latest %s) were ignored: check the portal's clock", len(future), stamp(slices.MaxFunc(future, time.Time.Compare)))
}

// nextDue says when the next run is due, in UTC and in the portal's zone.
func (f *freshness) nextDue() string {
	v := f.j.v
	if v.NextDue == nil {
		return ""
	}
	s := fmt.Sprintf("; the next run is due about %s", stamp(*v.NextDue))
	if f.j.loc != nil && f.j.loc != time.UTC {
		s += fmt.Sprintf(" (%s %s)", v.NextDue.In(f.j.loc).Format("15:04"), f.j.loc)
	}
	return s
}

// fromHistory judges from the history, for a server whose count route
// cannot answer: read at most as often as the gate lets, and judged by
// the remembered newest backup in between.
func (f *freshness) fromHistory(ctx context.Context, since time.Time, running *docspace.Progress, stuck bool) {
	j, v, now, opts := f.j, f.j.v, f.now, f.opts
	read, future, note := f.readHistory(ctx)
	if !read {
		if f.a.historyErr != nil {
			return
		}
		if !opts.HistoryNewest.IsZero() && !opts.HistoryNewest.Before(since) {
			v.Sources[BackupStale] = SourceRemembered
			j.fine(BackupStale)
			j.addHealthy(fmt.Sprintf("%s; the newest backup the history showed at %s is from %s, within the limit; %s", f.why, stamp(opts.HistoryReadAt), stamp(opts.HistoryNewest), f.expects()) + f.nextDue())
			return
		}
		j.addHealthy(fmt.Sprintf("backup_stale not judged this run: %s, and %s", f.why, note))
		return
	}
	v.Sources[BackupStale] = SourceHistory
	var stale bool
	var detail string
	if v.LastBackup != nil {
		age := now.Sub(*v.LastBackup)
		stale = v.LastBackup.Before(since)
		detail = fmt.Sprintf("newest backup is from %s, %s ago; %s", stamp(*v.LastBackup), hours(age), f.expects())
	} else {
		stale, detail = j.firstBackup(f.a.sched, v.StaleAfter, opts)
	}
	if f.why != "" {
		detail += " (history: " + f.why + ")"
	}
	detail += futureText(future)
	if stale && running != nil && !stuck && v.LastBackup != nil && !v.LastBackup.Before(since.Add(-RunningJobGrace)) {
		j.addHealthy(detail + fmt.Sprintf("; a backup job is running (%d%%): the check waits for it, up to %s past the limit", running.Progress, hours(RunningJobGrace)))
		return
	}
	if stale {
		j.fail(BackupStale, detail+j.queued(v.LastBackup, f.a.sched, v.StaleAfter, stuck))
		return
	}
	if v.LastBackup != nil {
		// Without any backup nothing is fine yet: the run waits (a new
		// schedule) or cannot tell, and must not resolve a backup_stale
		// that an earlier run found.
		j.fine(BackupStale)
		detail += f.nextDue()
	}
	j.addHealthy(detail)
}

// landedSince reports whether a backup landed after t; known is false
// when this run cannot tell.
func (f *freshness) landedSince(ctx context.Context, t time.Time) (landed, known bool) {
	if f.j.v.LastBackup != nil && f.j.v.LastBackup.After(t) {
		return true, true
	}
	if f.countable && f.a.countErr == nil {
		n, err := f.count(ctx, t.Add(time.Second))
		if err != nil {
			return false, false
		}
		return n > 0, true
	}
	if f.a.historyRead && f.a.historyErr == nil {
		return false, true
	}
	return false, false
}

// firstBackup judges a portal with no backup ever, waiting from the
// earliest known start (when the watcher first saw the schedule counts
// only while there is one).
func (j *judge) firstBackup(sched *docspace.Schedule, staleAfter time.Duration, opts Options) (bool, string) {
	now := j.now
	expects := fmt.Sprintf("the check expects one every %s", hours(staleAfter))
	if sched != nil {
		expects = fmt.Sprintf("the %s schedule expects one every %s", sched.CronParams.Period, hours(staleAfter))
	}
	var base time.Time
	var since string
	if !opts.FirstSeen.IsZero() && sched != nil {
		base, since = opts.FirstSeen.UTC(), "the watcher first saw the schedule"
	}
	if sched != nil && !sched.LastBackupTime.Never() {
		if t := sched.LastBackupTime.UTC(); base.IsZero() || t.Before(base) {
			base, since = t, "the last backup job was queued"
		}
	}
	if base.IsZero() {
		if sched == nil {
			return false, "no backup yet, and no known start to count from"
		}
		zone := "the schedule's hour is in the portal's time zone"
		if j.loc == nil {
			zone += ", read here as UTC"
		}
		return false, fmt.Sprintf("no backup yet; the %s schedule looks new and its first backup is due about %s (%s)",
			sched.CronParams.Period, stamp(NextDueIn(sched.CronParams, now, j.loc)), zone)
	}
	deadline := base.Add(staleAfter)
	if sched != nil {
		if first := NextDueIn(sched.CronParams, base, j.loc).Add(FirstBackupGrace); first.After(deadline) {
			deadline = first
		}
	}
	if now.After(deadline) {
		return true, fmt.Sprintf("no backup ever, although %s at %s, %s ago; %s", since, stamp(base), hours(now.Sub(base)), expects)
	}
	return false, fmt.Sprintf("no backup yet; %s at %s, and the first backup is expected by %s", since, stamp(base), stamp(deadline))
}

// backupService names the self-hosted server's backup service.
const backupService = "the backup service (onlyoffice-backup-background-tasks, which runs the scheduler and the backup worker, and onlyoffice-backup)"

// queued says whether the scheduler still queues jobs: lastBackupTime is
// set when a job is queued, not when it succeeds. A self-hosted server has
// no billing: its scheduler runs in the backup service.
func (j *judge) queued(last *time.Time, sched *docspace.Schedule, staleAfter time.Duration, stuck bool) string {
	if sched == nil {
		return ""
	}
	if stuck {
		return "; a backup job is stuck Running (see backup_stuck): while it stays, the scheduler drops every new scheduled job"
	}
	notQueued := "the scheduler skips portals whose tariff is overdue, so look at the portal's payments"
	if j.selfHosted {
		notQueued = "the self-hosted server's scheduler runs in " + backupService + ": check that it runs, and its log"
	}
	if sched.LastBackupTime.Never() {
		return "; no backup job was ever queued: " + notQueued
	}
	q := sched.LastBackupTime.UTC()
	if (last == nil || q.After(*last)) && j.now.Sub(q) <= staleAfter {
		return fmt.Sprintf("; jobs are still being queued (the last at %s) but no backup lands: look at the backup storage (free space, credentials)", stamp(q))
	}
	return fmt.Sprintf("; no job was queued since %s: %s", stamp(q), notQueued)
}

// runningJob returns the backup job that runs (a job only queued, status
// Created, does not count: a worker that never starts it is what
// staleness is for), and whether it is stuck: Running longer than
// Options.StuckAfter since the schedule queued it.
func (j *judge) runningJob(a answers, opts Options) (*docspace.Progress, bool) {
	p := a.prog
	if a.progErr != nil || p == nil || p.BackupProgressEnum != 0 || p.Done() || p.Failed() ||
		(p.Status != nil && *p.Status != docspace.ProgressRunning) {
		return nil, false
	}
	bound := opts.StuckAfter
	if bound <= 0 {
		bound = DefaultStuckAfter
	}
	stuck := a.sched != nil && !a.sched.LastBackupTime.Never() && j.now.Sub(a.sched.LastBackupTime.UTC()) > bound
	return p, stuck
}

// stuckDetail explains a stuck job and what to do.
func (j *judge) stuckDetail(p *docspace.Progress, queuedAt time.Time) string {
	s := fmt.Sprintf("a backup job has been Running since the schedule queued it at %s, %s ago (%d%%): a backup worker that dies leaves its job Running for up to 24 h, and while it stays so the scheduler drops every new scheduled job; this is not a storage problem", stamp(queuedAt), hours(j.now.Sub(queuedAt)), p.Progress)
	if j.selfHosted {
		return s + "; restart " + backupService
	}
	return s + "; ask the provider (ONLYOFFICE support) to restart the portal's backup service"
}

// jobs judges backup_failed, backup_warning and backup_stuck from the last
// job and, once its progress item is gone, from the backups that landed
// since.
func (j *judge) jobs(ctx context.Context, f *freshness, a answers, opts Options, running *docspace.Progress, stuck bool) {
	if a.progErr != nil {
		return
	}
	j.v.Sources[BackupStuck] = "progress+schedule"
	switch {
	case stuck:
		j.fail(BackupStuck, j.stuckDetail(running, a.sched.LastBackupTime.UTC()))
	case running != nil && a.sched == nil:
		// A job runs, and when it was queued is unknown this run.
	default:
		j.fine(BackupStuck)
	}
	j.v.Sources[BackupFailed], j.v.Sources[BackupWarning] = "progress", "progress"
	p := a.prog
	isBackup := p != nil && p.BackupProgressEnum == 0
	switch {
	case isBackup && p.Failed():
		j.fail(BackupFailed, failedDetail(p))
		j.fine(BackupWarning)
		return
	case isBackup && p.Done() && !p.Cancelled() && strings.TrimSpace(p.Warning) != "":
		j.fine(BackupFailed)
		j.fail(BackupWarning, fmt.Sprintf("the last backup job completed with a warning: %s", firstLine(p.Warning)))
		return
	case isBackup && p.Done() && !p.Cancelled():
		j.fine(BackupFailed)
		j.fine(BackupWarning)
		return
	}
	// No job (its progress item vanishes a day after its last change), a
	// cancelled or running one, or a restore: a failure seen before stays
	// until a newer backup lands.
	for _, r := range []Reason{BackupFailed, BackupWarning} {
		since, open := opts.Open[r]
		if !open {
			j.fine(r)
			continue
		}
		landed, known := f.landedSince(ctx, since)
		switch {
		case !known:
			// Cannot tell this run.
		case landed:
			j.v.Sources[r] = "progress+" + SourceCount
			j.fine(r)
		default:
			what := "failed"
			if r == BackupWarning {
				what = "ended with a warning"
			}
			j.fail(r, fmt.Sprintf("the backup job that %s (first seen %s) is no longer shown, and no newer backup landed since", what, stamp(since)))
		}
	}
}

// storageFailure reports whether err is a 5xx whose message comes from
// the backup storage (credentials, network), and returns that message.
func storageFailure(err error) (string, bool) {
	var ae *docspace.APIError
	if !errors.As(err, &ae) || ae.StatusCode < 500 || ae.Body != docspace.BodyEnvelope || ae.Message == "" {
		return "", false
	}
	msg := strings.ToLower(ae.Message)
	for _, k := range []string{"aws", "access key", "s3", "bucket", "storage", "credential", "google", "gcs", "azure", "rackspace", "selectel",
		"signature", "accessdenied", "access denied", "token", "timed out", "timeout", "connection", "network", "no such host", "name or service not known", "certificate", "ssl"} {
		if strings.Contains(msg, k) {
			return ae.Message, true
		}
	}
	return "", false
}

// storageDetail names the storage the server cannot reach and what to fix.
func storageDetail(msg string, sched *docspace.Schedule) string {
	name := "the backup storage"
	if sched != nil {
		name = fmt.Sprintf("the backup storage (%s", sched.StorageType)
		for _, k := range []string{"module", "bucket", "region"} {
			if v := sched.StorageParams[k]; v != "" {
				name += fmt.Sprintf(", %s %s", k, shortText(v, 80))
			}
		}
		name += ")"
	}
	return fmt.Sprintf("the server cannot reach %s: reading the history it answered 500 with the storage's message %q; backups cannot land there until this is fixed: check the storage's credentials (access key, secret or token) and that the server can reach it, in Settings > Backup > Automatic backup > the storage's settings", name, shortText(msg, 200))
}

func shortText(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "..."
	}
	return s
}

// dumpRefusal explains a 403 with the server's message while the client
// reads with ?dump=true: the server accepts it only on a self-hosted
// server whose LimitedAccessSpace setting is off.
func dumpRefusal(err error, dump bool, standalone *bool) string {
	var ae *docspace.APIError
	if !dump || !errors.As(err, &ae) || ae.StatusCode != http.StatusForbidden || ae.Body != docspace.BodyEnvelope {
		return ""
	}
	if standalone != nil && !*standalone {
		return "the dump option is on (DUMP, or \"dump\": true for the portal), and ?dump=true is refused on a cloud portal: whole-server dumps exist only on a self-hosted server, so turn the dump option off for this portal"
	}
	return "the dump option is on (DUMP, or \"dump\": true for the portal), and the server refuses ?dump=true while its LimitedAccessSpace setting is on (it checks no user role): turn LimitedAccessSpace off, or the dump option off"
}
