package backupcheck

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
)

// TestCheckJudgesEverySignal: one run reports every problem, a failing
// call leaves unjudged only what depends on it, and a reason that could
// not be judged is not in Evaluated (so its alert state does not change).
func TestCheckJudgesEverySignal(t *testing.T) {
	empty403 := &docspace.APIError{StatusCode: 403, Method: "GET", Path: docspace.SchedulePath, Body: docspace.BodyEmpty}
	empty404 := &docspace.APIError{StatusCode: 404, Method: "GET", Path: docspace.SchedulePath, Body: docspace.BodyEmpty}
	ipDenied := &docspace.APIError{StatusCode: 403, Method: "GET", Path: docspace.SchedulePath, Body: docspace.BodyString, Message: "Access denied due to IP restrictions"}
	settings404 := &docspace.APIError{StatusCode: 404, Method: "GET", Path: docspace.SettingsPath, Body: docspace.BodyEmpty}
	settings403 := &docspace.APIError{StatusCode: 403, Method: "GET", Path: docspace.SettingsPath, Body: docspace.BodyEnvelope, Message: "Access denied"}
	status := func(s docspace.TenantStatus) docspace.PortalSettings {
		return docspace.PortalSettings{TenantStatus: &s}
	}
	allCalls := []Reason{BadResponse, IPRestricted, PaymentRequired, PermissionDenied, PortalBusy, PortalSuspended, Unreachable}
	everything := append(slices.Clone(allCalls), BackupFailed, BackupStale, BackupStuck, BackupWarning, NoSchedule, ServiceInactive)
	without := func(rs ...Reason) []Reason {
		return slices.DeleteFunc(slices.Clone(everything), func(r Reason) bool { return slices.Contains(rs, r) })
	}
	tests := []struct {
		name         string
		reader       *fakeReader
		opts         Options
		wantProblems []Reason // most urgent first
		wantJudged   []Reason // nil: every reason
		// read: the history was read (for the newest backup's date), so
		// the storage was judged too.
		read       bool
		wantDetail map[Reason]string
	}{
		{name: "healthy judges everything", reader: &fakeReader{schedule: daily(), history: backups(2 * h), progress: completed}},
		{name: "inactive cloud portal with an 80 h old backup is also stale", read: true,
			reader:       &fakeReader{disabled: true, schedule: daily(), history: backups(80 * h), progress: completed},
			wantProblems: []Reason{BackupStale, ServiceInactive}},
		{name: "self-hosted by override, settings not asked", read: true,
			reader: &fakeReader{disabled: true, schedule: daily(), history: backups(80 * h), progress: completed, settingsErr: errRefused},
			opts:   Options{SelfHosted: ptr(true)}, wantProblems: []Reason{BackupStale}},
		{name: "cloud by override", reader: &fakeReader{disabled: true, schedule: daily(), history: backups(h), progress: completed, settings: docspace.PortalSettings{Standalone: true}},
			opts: Options{SelfHosted: ptr(false)}, wantProblems: []Reason{ServiceInactive}},
		{name: "settings unreachable: inactive unjudged this run",
			reader:     &fakeReader{disabled: true, schedule: daily(), history: backups(h), progress: completed, settingsErr: errRefused},
			wantJudged: without(ServiceInactive)},
		{name: "settings refused: inactive warns with the override's advice",
			reader:       &fakeReader{disabled: true, schedule: daily(), history: backups(h), progress: completed, settingsErr: settings403},
			wantProblems: []Reason{ServiceInactive}, wantDetail: map[Reason]string{ServiceInactive: "selfHosted"}},
		{name: "count unreachable: staleness and open failure unjudged, the rest judged",
			reader:       &fakeReader{schedule: daily(), countErr: errRefused},
			opts:         Options{Open: map[Reason]time.Time{BackupFailed: now.Add(-2 * h)}},
			wantProblems: []Reason{Unreachable},
			wantJudged:   []Reason{BackupStuck, BackupWarning, NoSchedule, ServiceInactive, Unreachable}},
		{name: "schedule unreachable: staleness unjudged (threshold unknown)",
			reader: &fakeReader{scheduleErr: errRefused, history: backups(30 * h), progress: completed}, wantProblems: []Reason{Unreachable},
			wantJudged: []Reason{BackupFailed, BackupStuck, BackupWarning, ServiceInactive, Unreachable}},
		{name: "schedule unreachable with a set threshold: staleness judged",
			reader: &fakeReader{scheduleErr: errRefused, history: backups(30 * h), progress: completed}, opts: Options{StaleAfter: 26 * h},
			wantProblems: []Reason{Unreachable, BackupStale},
			wantJudged:   []Reason{BackupFailed, BackupStale, BackupStuck, BackupWarning, ServiceInactive, StorageUnavailable, Unreachable}},
		{name: "empty 403 while restoring is not a permission failure",
			reader:       &fakeReader{stateErr: empty403, scheduleErr: empty403, historyErr: empty403, progressErr: empty403, settings: status(docspace.TenantRestoring)},
			wantProblems: []Reason{PortalBusy}, wantJudged: []Reason{PortalBusy},
			wantDetail: map[Reason]string{PortalBusy: "Restoring"}},
		{name: "empty 403 on an active portal: the key's scopes",
			reader:       &fakeReader{stateErr: empty403, scheduleErr: empty403, historyErr: empty403, progressErr: empty403, settings: status(docspace.TenantActive)},
			wantProblems: []Reason{PermissionDenied}, wantJudged: []Reason{PermissionDenied},
			wantDetail: map[Reason]string{PermissionDenied: "*:read"}},
		{name: "empty 404 on a suspended portal",
			reader:       &fakeReader{stateErr: empty404, scheduleErr: empty404, historyErr: empty404, progressErr: empty404, settings: status(docspace.TenantSuspended)},
			wantProblems: []Reason{PortalSuspended}, wantJudged: []Reason{PortalSuspended}},
		{name: "empty 404 and settings 404: being removed",
			reader:       &fakeReader{stateErr: empty404, scheduleErr: empty404, historyErr: empty404, progressErr: empty404, settingsErr: settings404},
			wantProblems: []Reason{PortalSuspended}, wantJudged: []Reason{PortalSuspended}},
		{name: "IP restriction",
			reader:       &fakeReader{stateErr: ipDenied, scheduleErr: ipDenied, historyErr: ipDenied, progressErr: ipDenied},
			wantProblems: []Reason{IPRestricted}, wantJudged: []Reason{IPRestricted}},
		{name: "progress gone, failure open, no newer backup: still failed",
			reader:       &fakeReader{schedule: daily(), history: backups(5 * h)},
			opts:         Options{Open: map[Reason]time.Time{BackupFailed: now.Add(-2 * h)}},
			wantProblems: []Reason{BackupFailed}, wantDetail: map[Reason]string{BackupFailed: "no longer shown"}},
		{name: "progress gone, a newer backup landed: failure judged fine",
			reader: &fakeReader{schedule: daily(), history: backups(time.Hour)},
			opts:   Options{Open: map[Reason]time.Time{BackupFailed: now.Add(-2 * h)}}},
		{name: "cancelled job does not clear an open failure",
			reader:       &fakeReader{schedule: daily(), history: backups(5 * h), progress: &docspace.Progress{IsCompleted: true, Status: ptr(docspace.ProgressCanceled), Warning: "Backup cancelled"}},
			opts:         Options{Open: map[Reason]time.Time{BackupFailed: now.Add(-2 * h)}},
			wantProblems: []Reason{BackupFailed}},
		{name: "a later clean job clears an open failure",
			reader: &fakeReader{schedule: daily(), history: backups(5 * h), progress: completed},
			opts:   Options{Open: map[Reason]time.Time{BackupFailed: now.Add(-2 * h)}}},
		{name: "future record ignored and said", read: true,
			reader:       &fakeReader{schedule: daily(), history: append(backups(5*day), docspace.HistoryRecord{CreatedOn: docspace.Time{Time: now.Add(30 * day)}}), progress: completed},
			wantProblems: []Reason{BackupStale}, wantDetail: map[Reason]string{BackupStale: "1 history record(s) dated in the future"}},
		{name: "a record a few minutes ahead is clock skew, not the future",
			reader: &fakeReader{schedule: daily(), history: []docspace.HistoryRecord{{CreatedOn: docspace.Time{Time: now.Add(10 * time.Minute)}}}, progress: completed}},
		{name: "stale while jobs are queued: look at the storage", read: true,
			reader:       &fakeReader{schedule: &docspace.Schedule{CronParams: daily().CronParams, LastBackupTime: docspace.Time{Time: now.Add(-2 * h)}}, history: backups(3 * day), progress: completed},
			wantProblems: []Reason{BackupStale}, wantDetail: map[Reason]string{BackupStale: "jobs are still being queued"}},
		{name: "stale and no job queued: look at the payments", read: true,
			reader:       &fakeReader{schedule: &docspace.Schedule{CronParams: daily().CronParams, LastBackupTime: docspace.Time{Time: now.Add(-3 * day)}}, history: backups(3 * day), progress: completed},
			wantProblems: []Reason{BackupStale}, wantDetail: map[Reason]string{BackupStale: "tariff is overdue"}},
		{name: "day-31 monthly schedule over a month without a 31st is not stale",
			reader: &fakeReader{schedule: schedule(docspace.PeriodMonthly, 2, 31), history: backups(now.Sub(utc(2026, 10, 31, 2, 0))), progress: completed}},
		{name: "no schedule: when an old one was first seen is no baseline for staleness",
			reader: &fakeReader{history: []docspace.HistoryRecord{}, progress: completed}, opts: Options{FirstSeen: now.Add(-30 * day)},
			wantProblems: []Reason{NoSchedule}, wantJudged: without(BackupStale)},
		// No backup in the history is never "fine": an open backup_stale
		// (say the storage's archives were lost and pruned from the
		// history) must not resolve while the run waits or cannot tell.
		{name: "no backup at all, the schedule looks new: staleness unjudged",
			reader: &fakeReader{schedule: daily(), history: []docspace.HistoryRecord{}, progress: completed}, opts: Options{Open: map[Reason]time.Time{BackupStale: now.Add(-3 * day)}},
			wantJudged: without(BackupStale)},
		{name: "no backup yet, a new schedule waits for its first: staleness unjudged",
			reader: &fakeReader{schedule: daily(), history: []docspace.HistoryRecord{}, progress: completed}, opts: Options{FirstSeen: now.Add(-2 * h)},
			wantJudged: without(BackupStale)},
		{name: "a schedule first seen 30 days ago with no backup ever is stale (never green forever)",
			reader: &fakeReader{schedule: daily(), history: []docspace.HistoryRecord{}, progress: completed}, opts: Options{FirstSeen: now.Add(-30 * day)},
			wantProblems: []Reason{BackupStale}, wantDetail: map[Reason]string{BackupStale: "watcher first saw the schedule"}},
		// Jobs of a big portal take hours and start late when the
		// worker's queue is long: while one runs, a backup a little past
		// the threshold waits for it instead of paging.
		{name: "a little past the threshold while a backup job runs: wait", read: true,
			reader:     &fakeReader{schedule: daily(), history: backups(28 * h), progress: &docspace.Progress{Progress: 40, Status: ptr(docspace.ProgressRunning)}},
			wantJudged: without(BackupStale)},
		{name: "a job still running long past the threshold: stale", read: true,
			reader:       &fakeReader{schedule: daily(), history: backups(26*h + RunningJobGrace + h), progress: &docspace.Progress{Progress: 40, Status: ptr(docspace.ProgressRunning)}},
			wantProblems: []Reason{BackupStale}},
		{name: "a job queued and never started is no excuse: stale", read: true,
			reader:       &fakeReader{schedule: daily(), history: backups(28 * h), progress: &docspace.Progress{Status: ptr(docspace.ProgressCreated)}},
			wantProblems: []Reason{BackupStale}},
		{name: "a running restore is no backup job: stale", read: true,
			reader:       &fakeReader{schedule: daily(), history: backups(28 * h), progress: &docspace.Progress{Progress: 40, Status: ptr(docspace.ProgressRunning), BackupProgressEnum: 1}},
			wantProblems: []Reason{BackupStale}},
		{name: "no schedule on a self-hosted server: the dump option is named",
			reader:       &fakeReader{disabled: true, history: backups(h), progress: completed, settings: docspace.PortalSettings{Standalone: true}},
			wantProblems: []Reason{NoSchedule}, wantDetail: map[Reason]string{NoSchedule: `"dump": true`}},
		{name: "every problem at once", read: true,
			reader:       &fakeReader{disabled: true, history: backups(80 * h), progress: &docspace.Progress{IsCompleted: true, Status: ptr(docspace.ProgressCompleted), Error: "disk full"}},
			wantProblems: []Reason{NoSchedule, BackupFailed, BackupStale, ServiceInactive}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			opts.Signals = AllSignals()
			v := Check(context.Background(), "p", tt.reader, opts, now)
			if got := v.Failing(); !slices.Equal(got, tt.wantProblems) {
				t.Errorf("Check() problems = %v, want %v (%+v)", got, tt.wantProblems, v.Problems)
			}
			want := tt.wantJudged
			if want == nil {
				want = everything
			}
			if tt.read {
				want = append(slices.Clone(want), StorageUnavailable)
			}
			want = slices.Sorted(slices.Values(want))
			if !slices.Equal(v.Evaluated, want) {
				t.Errorf("Check() evaluated = %v, want %v", v.Evaluated, want)
			}
			if len(tt.wantProblems) > 0 && v.Reason != tt.wantProblems[0] {
				t.Errorf("Check() reason = %s, want %s", v.Reason, tt.wantProblems[0])
			}
			if len(tt.wantProblems) == 0 && (v.Reason != Healthy || !v.Healthy()) {
				t.Errorf("Check() = %s, want healthy", v.Reason)
			}
			for r, text := range tt.wantDetail {
				p, ok := v.Problem(r)
				if !ok || !strings.Contains(p.Detail, text) {
					t.Errorf("Check() problem %s = %q, want it to say %q", r, p.Detail, text)
				}
			}
			for _, p := range v.Problems {
				if p.Detail == "" {
					t.Errorf("Check() problem %s has no detail", p.Reason)
				}
			}
		})
	}
}
