package backupcheck

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
)

// gate lets a history read through while allow is true, and counts the
// claims.
type gate struct {
	allow  bool
	err    error
	claims int
}

func (g *gate) Claim(context.Context) (bool, error) {
	g.claims++
	return g.allow && g.err == nil, g.err
}

var (
	s3Err    = &docspace.APIError{StatusCode: 500, Method: "GET", Path: docspace.HistoryPath, Body: docspace.BodyEnvelope, Message: "The AWS Access Key Id you provided does not exist in our records."}
	npeErr   = &docspace.APIError{StatusCode: 500, Method: "GET", Path: docspace.HistoryPath, Body: docspace.BodyEnvelope, Message: "Object reference not set to an instance of an object."}
	count404 = &docspace.APIError{StatusCode: 404, Method: "GET", Path: docspace.CountPath, Body: docspace.BodyEmpty}
)

func s3Schedule() *docspace.Schedule {
	s := daily()
	s.StorageType = docspace.StorageThirdPartyConsumer
	s.StorageParams = map[string]string{"module": "S3", "bucket": "acme-backups", "region": "eu-central-1", "secretaccesskey": "SECRET-DO-NOT-SHOW"}
	return s
}

// TestFreshnessWithoutHarm: freshness comes from the count route; the
// history is read only when it adds something, and only when the gate
// lets the run.
func TestFreshnessWithoutHarm(t *testing.T) {
	removedRecords := backups(2*h, 26*h)[1:]
	tests := []struct {
		name        string
		reader      *fakeReader
		opts        Options
		allow       bool
		want        []Reason // problems
		unjudged    []Reason
		source      string // Sources[BackupStale], "" unjudged
		reads       int
		counts      int
		wantDetail  []string
		avoidDetail []string
	}{
		{name: "paid backups only: both paid values counted", reader: &fakeReader{schedule: daily(), history: backups(2 * h), progress: completed, paid: true},
			allow: true, source: SourceCount, reads: 0, counts: 2, wantDetail: []string{"1 backup(s) landed since"}},
		{name: "pruned history while the count says backups landed is not stale", reader: &fakeReader{schedule: daily(), removed: removedRecords, progress: completed},
			opts: Options{WantNewest: true}, allow: true, source: SourceCount, reads: 1, counts: 2, wantDetail: []string{"the history lists no backup although the count route counts 2", "removed the records"}},
		{name: "stale: the history read once for the date", reader: &fakeReader{schedule: daily(), history: backups(98 * h), progress: completed},
			allow: true, want: []Reason{BackupStale}, source: SourceCount, reads: 1, counts: 4, wantDetail: []string{"no backup landed since", "the newest backup in the history is from 2026-11-25T02:00:04Z"}},
		{name: "stale, history read recently: not read again, the last read said", reader: &fakeReader{schedule: daily(), history: backups(98 * h), progress: completed},
			opts:  Options{HistoryReadAt: now.Add(-3 * h), HistoryNewest: now.Add(-98 * h)},
			allow: false, want: []Reason{BackupStale}, source: SourceCount, reads: 0, counts: 4,
			wantDetail: []string{"at most once in a while (HISTORY_EVERY)", "last read at 2026-11-29T01:00:04Z, when the newest backup was from 2026-11-25T02:00:04Z"}},
		{name: "old server: no count route, the history read when the gate lets", reader: &fakeReader{schedule: daily(), history: backups(3 * h), progress: completed, settings: docspace.PortalSettings{Version: "3.2.1.700"}},
			allow: true, source: SourceHistory, reads: 1, counts: 2, wantDetail: []string{"predates the count route"}},
		{name: "old server between reads: judged by the remembered newest backup", reader: &fakeReader{schedule: daily(), history: backups(3 * h), progress: completed, settings: docspace.PortalSettings{Version: "3.2.1.700"}},
			opts:  Options{HistoryReadAt: now.Add(-2 * h), HistoryNewest: now.Add(-5 * h)},
			allow: false, source: SourceRemembered, reads: 0, counts: 2, wantDetail: []string{"the newest backup the history showed at 2026-11-29T02:00:04Z"}},
		{name: "old server between reads, remembered backup too old: unjudged", reader: &fakeReader{schedule: daily(), history: backups(3 * h), progress: completed, settings: docspace.PortalSettings{Version: "3.2.1.700"}},
			opts:  Options{HistoryReadAt: now.Add(-2 * h), HistoryNewest: now.Add(-30 * h)},
			allow: false, unjudged: []Reason{BackupStale}, reads: 0, counts: 2, wantDetail: []string{"backup_stale not judged this run"}},
		{name: "dump schedule: the count route does not count dumps", reader: &fakeReader{schedule: &docspace.Schedule{CronParams: daily().CronParams, Dump: true, LastBackupTime: never}, history: backups(3 * h), progress: completed},
			allow: true, source: SourceHistory, reads: 1, counts: 2, wantDetail: []string{"does not count whole-server dump backups"}},
		{name: "old server as an earlier run's settings said: the count route not asked", reader: &fakeReader{schedule: daily(), history: backups(3 * h), progress: completed, countErr: count404},
			opts:  Options{Facts: &Facts{Version: "3.2.1.700"}},
			allow: true, source: SourceHistory, reads: 1, counts: 0},
		{name: "weekly schedule, a backup in the last day: one count", reader: &fakeReader{schedule: schedule(docspace.PeriodWeekly, 2, 1), history: backups(3 * h), progress: completed},
			allow: true, source: SourceCount, reads: 0, counts: 2},
		{name: "weekly schedule, the last backup 3 days ago: the week counted", reader: &fakeReader{schedule: schedule(docspace.PeriodWeekly, 2, 1), history: backups(3 * day), progress: completed},
			allow: true, source: SourceCount, reads: 0, counts: 4, wantDetail: []string{"1 backup(s) landed since 2026-11-21T04:00:04Z"}},
		{name: "version unknown and no count route: the history", reader: &fakeReader{schedule: daily(), history: backups(3 * h), progress: completed, countErr: count404},
			allow: true, source: SourceHistory, reads: 1, counts: 2, wantDetail: []string{"has no count route"}},
		{name: "S3 storage: probed once, its failure is a storage problem, not unreachable", reader: &fakeReader{schedule: s3Schedule(), history: backups(3 * h), historyErr: s3Err, progress: completed},
			allow: true, want: []Reason{StorageUnavailable}, source: SourceCount, reads: 1, counts: 2,
			wantDetail: []string{"cannot reach the backup storage (ThirdPartyConsumer, module S3, bucket acme-backups, region eu-central-1)", "Access Key Id", "credentials"}, avoidDetail: []string{"SECRET-DO-NOT-SHOW"}},
		{name: "S3 storage, gate closed: not probed", reader: &fakeReader{schedule: s3Schedule(), history: backups(3 * h), historyErr: s3Err, progress: completed},
			allow: false, source: SourceCount, reads: 0, counts: 2},
		{name: "Documents storage: never probed", reader: &fakeReader{schedule: daily(), history: backups(3 * h), historyErr: s3Err, progress: completed},
			allow: true, source: SourceCount, reads: 0, counts: 2},
		{name: "a history 500 that is not the storage's is unreachable", reader: &fakeReader{schedule: daily(), history: backups(98 * h), historyErr: npeErr, progress: completed},
			allow: true, want: []Reason{Unreachable, BackupStale}, source: SourceCount, reads: 1, counts: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &gate{allow: tt.allow}
			opts := tt.opts
			opts.Signals, opts.History = AllSignals(), g
			v := Check(context.Background(), "p", tt.reader, opts, now)
			if got := v.Failing(); !equalReasons(got, tt.want) {
				t.Errorf("Check() problems = %v, want %v (%+v; %s)", got, tt.want, v.Problems, v.Detail)
			}
			for _, r := range tt.unjudged {
				if v.Judged(r) {
					t.Errorf("Check() judged %s, want it unjudged", r)
				}
			}
			if got := v.Sources[BackupStale]; got != tt.source {
				t.Errorf("Check() source of backup_stale = %q, want %q", got, tt.source)
			}
			if got := tt.reader.historyReads(); got != tt.reads || v.HistoryRead != (got > 0) {
				t.Errorf("history read %d time(s) (historyRead %v), want %d", got, v.HistoryRead, tt.reads)
			}
			if got := strings.Count(strings.Join(tt.reader.sortedCalls(), " "), "count"); got != tt.counts {
				t.Errorf("count route asked %d time(s), want %d", got, tt.counts)
			}
			if g.claims > 1 {
				t.Errorf("gate claimed %d times, want at most once", g.claims)
			}
			text := v.Detail
			for _, p := range v.Problems {
				text += " | " + p.Detail
			}
			for _, s := range tt.wantDetail {
				if !strings.Contains(text, s) {
					t.Errorf("Check() details = %q, want %q", text, s)
				}
			}
			for _, s := range tt.avoidDetail {
				if strings.Contains(text, s) {
					t.Errorf("Check() details = %q, must not hold %q", text, s)
				}
			}
		})
	}
}

func equalReasons(a, b []Reason) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestGateErrorReadsNothing: when whether the run may read is unknown (the
// alert state is down), the history is not read.
func TestGateErrorReadsNothing(t *testing.T) {
	r := &fakeReader{schedule: daily(), history: backups(98 * h), progress: completed}
	v := Check(context.Background(), "p", r, Options{Signals: AllSignals(), History: &gate{allow: true, err: errors.New("table down")}}, now)
	if r.historyReads() != 0 || v.Reason != BackupStale || !strings.Contains(v.Detail, "table down") {
		t.Errorf("Check() = %s (%s) after %d history read(s), want stale, no read, saying why", v.Reason, v.Detail, r.historyReads())
	}
}

func TestStuckJob(t *testing.T) {
	running := &docspace.Progress{Progress: 0, Status: ptr(docspace.ProgressRunning)}
	queued := func(ago time.Duration) *docspace.Schedule {
		s := daily()
		s.LastBackupTime = docspace.Time{Time: now.Add(-ago)}
		return s
	}
	tests := []struct {
		name       string
		reader     *fakeReader
		want       []Reason
		wantDetail []string
		avoid      []string
	}{
		{name: "running 20 h since queued on a cloud portal: stuck, ask the provider",
			reader: &fakeReader{schedule: queued(20 * h), history: backups(44 * h), progress: running},
			want:   []Reason{BackupStuck, BackupStale}, wantDetail: []string{"Running since the schedule queued it at 2026-11-28T08:00:04Z, 20 h ago", "ask the provider", "stuck Running (see backup_stuck)"},
			avoid: []string{"waits for it", "look at the backup storage"}},
		{name: "stuck on a self-hosted server: restart the backup service",
			reader: &fakeReader{schedule: queued(20 * h), history: backups(44 * h), progress: running, settings: docspace.PortalSettings{Standalone: true}},
			want:   []Reason{BackupStuck, BackupStale}, wantDetail: []string{"restart the backup service (onlyoffice-backup-background-tasks"},
			avoid: []string{"payment", "tariff", "provider"}},
		{name: "running 3 h: not stuck, waits",
			reader: &fakeReader{schedule: queued(3 * h), history: backups(27 * h), progress: running}},
		{name: "a job without status (old server) that is not completed runs",
			reader: &fakeReader{schedule: queued(20 * h), history: backups(2 * h), progress: &docspace.Progress{}},
			want:   []Reason{BackupStuck}},
		{name: "a server before v3.7.1 has no status field: a stray value is not read",
			reader: &fakeReader{schedule: queued(20 * h), history: backups(2 * h), progress: &docspace.Progress{Status: ptr(docspace.ProgressCreated)}, settings: docspace.PortalSettings{Version: "3.6.0.1000"}},
			want:   []Reason{BackupStuck}},
		{name: "from v3.7.1 a job only Created does not run",
			reader: &fakeReader{schedule: queued(20 * h), history: backups(2 * h), progress: &docspace.Progress{Status: ptr(docspace.ProgressCreated)}, settings: docspace.PortalSettings{Version: "3.7.1.100"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Check(context.Background(), "p", tt.reader, Options{Signals: AllSignals()}, now)
			if got := v.Failing(); !equalReasons(got, tt.want) {
				t.Errorf("Check() problems = %v, want %v (%+v)", got, tt.want, v.Problems)
			}
			text := v.Detail
			for _, p := range v.Problems {
				text += " | " + p.Detail
			}
			for _, s := range tt.wantDetail {
				if !strings.Contains(text, s) {
					t.Errorf("details = %q, want %q", text, s)
				}
			}
			for _, s := range tt.avoid {
				if strings.Contains(strings.ToLower(text), s) {
					t.Errorf("details = %q, must not say %q", text, s)
				}
			}
		})
	}
}

// TestSelfHostedAdviceNamesTheService: a self-hosted server has no billing.
func TestSelfHostedAdviceNamesTheService(t *testing.T) {
	s := daily()
	s.LastBackupTime = docspace.Time{Time: now.Add(-3 * day)}
	for _, standalone := range []bool{true, false} {
		r := &fakeReader{schedule: s, history: backups(3 * day), progress: completed, settings: docspace.PortalSettings{Standalone: standalone}}
		v := Check(context.Background(), "p", r, Options{Signals: AllSignals()}, now)
		p, ok := v.Problem(BackupStale)
		if !ok {
			t.Fatalf("standalone %v: Check() = %+v, want stale", standalone, v.Problems)
		}
		mentionsPay := strings.Contains(p.Detail, "payment") || strings.Contains(p.Detail, "tariff")
		if standalone && (mentionsPay || !strings.Contains(p.Detail, "onlyoffice-backup-background-tasks")) {
			t.Errorf("self-hosted stale detail = %q, want the backup service and no payments", p.Detail)
		}
		if !standalone && !mentionsPay {
			t.Errorf("cloud stale detail = %q, want the payments", p.Detail)
		}
	}
}

// TestScopeLimitedKeyOnSelfHosted: the settings route is asked without the
// key, so a key whose scopes do not cover it raises no service_inactive;
// the time zone it refuses is said to be assumed UTC.
func TestScopeLimitedKeyOnSelfHosted(t *testing.T) {
	empty403 := &docspace.APIError{StatusCode: 403, Method: "GET", Path: docspace.SettingsPath, Body: docspace.BodyEmpty}
	r := &fakeReader{disabled: true, schedule: daily(), history: backups(2 * h), progress: completed,
		settings: docspace.PortalSettings{Standalone: true, Version: "3.7.2.1000"}, zoneErr: empty403}
	v := Check(context.Background(), "p", r, Options{Signals: AllSignals()}, now)
	if !v.Healthy() || !v.Judged(ServiceInactive) {
		t.Errorf("Check() = %s %+v, want healthy with service_inactive judged", v.Reason, v.Problems)
	}
	if !strings.Contains(v.Detail, "read as UTC") || !strings.Contains(v.Detail, "refused the key") {
		t.Errorf("Check() detail = %q, want it to say UTC was assumed and why", v.Detail)
	}
	if v.Facts == nil || v.Facts.Zone != nil || v.Facts.ZoneNote == "" || !v.Facts.Standalone {
		t.Errorf("Check() facts = %+v, want self-hosted, no zone, a note", v.Facts)
	}
}

// TestMigratingIsNotBusy: the server's status filter does not block a
// migrating portal, so an empty 403 then is the key's scopes.
func TestMigratingIsNotBusy(t *testing.T) {
	empty403 := &docspace.APIError{StatusCode: 403, Method: "GET", Path: docspace.SchedulePath, Body: docspace.BodyEmpty}
	r := &fakeReader{stateErr: empty403, scheduleErr: empty403, progressErr: empty403, settings: docspace.PortalSettings{TenantStatus: ptr(docspace.TenantMigrating)}}
	v := Check(context.Background(), "p", r, Options{Signals: AllSignals()}, now)
	if v.Reason != PermissionDenied {
		t.Errorf("Check() = %s (%s), want permission_denied", v.Reason, v.Detail)
	}
}

// TestDumpRefusalExplained: ?dump=true works only on a self-hosted server
// with LimitedAccessSpace off.
func TestDumpRefusalExplained(t *testing.T) {
	denied := &docspace.APIError{StatusCode: 403, Method: "GET", Path: docspace.SchedulePath, Body: docspace.BodyEnvelope, Message: "Access denied"}
	for _, tt := range []struct {
		standalone bool
		want       string
	}{{false, "refused on a cloud portal"}, {true, "LimitedAccessSpace"}} {
		r := &fakeReader{scheduleErr: denied, progressErr: denied, history: backups(h), settings: docspace.PortalSettings{Standalone: tt.standalone}}
		v := Check(context.Background(), "p", r, Options{Signals: AllSignals(), Dump: true}, now)
		if p, ok := v.Problem(PermissionDenied); !ok || !strings.Contains(p.Detail, tt.want) {
			t.Errorf("standalone %v: problem = %q, want it to say %q", tt.standalone, p.Detail, tt.want)
		}
	}
}

// TestPortalTimeZone: due times follow the portal's zone, daylight saving
// included.
func TestPortalTimeZone(t *testing.T) {
	tokyo := &docspace.PortalZone{TimeZone: "Asia/Tokyo", UTCOffset: "09:00:00"}
	r := &fakeReader{schedule: daily(), history: backups(2 * h), progress: completed, zone: tokyo}
	v := Check(context.Background(), "p", r, Options{Signals: AllSignals()}, now)
	// now is 2026-11-29 04:00 UTC (13:00 in Tokyo): 02:00 in Tokyo is
	// 17:00 UTC.
	if v.NextDue == nil || !v.NextDue.Equal(utc(2026, 11, 29, 17, 0)) || v.Zone != "Asia/Tokyo" {
		t.Errorf("Check() next due = %v in %q, want 2026-11-29 17:00 UTC in Asia/Tokyo", v.NextDue, v.Zone)
	}
	if !strings.Contains(v.Detail, "(02:00 Asia/Tokyo)") {
		t.Errorf("Check() detail = %q, want the local due time", v.Detail)
	}
}

func TestNextDueInDaylightSaving(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		p     docspace.CronParams
		after time.Time
		want  time.Time
	}{
		// Summer time (UTC+2) until 2026-10-25: 02:00 local is 00:00 UTC.
		{"daily in summer", docspace.CronParams{Period: docspace.PeriodDaily, Hour: 2}, utc(2026, 10, 20, 12, 0), utc(2026, 10, 21, 0, 0)},
		// Winter (UTC+1): 01:00 UTC.
		{"daily in winter", docspace.CronParams{Period: docspace.PeriodDaily, Hour: 2}, utc(2026, 10, 26, 12, 0), utc(2026, 10, 27, 1, 0)},
		// Weekly on Sunday (1) 03:00 across the change on Sunday 2026-10-25.
		{"weekly across the change", docspace.CronParams{Period: docspace.PeriodWeekly, Hour: 3, Day: 1}, utc(2026, 10, 20, 0, 0), utc(2026, 10, 25, 2, 0)},
		// Monthly on the 1st at 00:00 local: 23:00 UTC the day before.
		{"monthly at local midnight", docspace.CronParams{Period: docspace.PeriodMonthly, Hour: 0, Day: 1}, utc(2026, 11, 15, 0, 0), utc(2026, 11, 30, 23, 0)},
	} {
		if got := NextDueIn(tt.p, tt.after, berlin); !got.Equal(tt.want) {
			t.Errorf("%s: NextDueIn(%+v, %v, Berlin) = %v, want %v", tt.name, tt.p, tt.after, got, tt.want)
		}
	}
}

// TestFreshSince: the window a backup must fall in; for a day-31 monthly
// schedule it reaches back over the months without a 31st.
func TestFreshSince(t *testing.T) {
	day31 := &docspace.CronParams{Period: docspace.PeriodMonthly, Hour: 2, Day: 31}
	for _, tt := range []struct {
		name string
		p    *docspace.CronParams
		now  time.Time
		want time.Time
	}{
		{"daily", &docspace.CronParams{}, utc(2026, 3, 10, 12, 0), utc(2026, 3, 9, 10, 0)},
		{"no schedule", nil, utc(2026, 3, 10, 12, 0), utc(2026, 3, 9, 10, 0)},
		// Mid-March: the backup of January 31 is still fine (the next run
		// is March 31), so the window reaches back to before it.
		{"day 31 in March", day31, utc(2026, 3, 15, 0, 0), utc(2026, 1, 29, 14, 0)},
		// Three days after March 31: the backup of January 31 is too old.
		{"day 31 after a missed run", day31, utc(2026, 4, 3, 0, 0), utc(2026, 3, 1, 0, 0)},
	} {
		got := FreshSince(tt.p, 0, tt.now, nil)
		if tt.name == "day 31 in March" || tt.name == "day 31 after a missed run" {
			// Only the side of January 31 matters.
			jan31 := utc(2026, 1, 31, 2, 0)
			if inside := !jan31.Before(got); inside != (tt.name == "day 31 in March") {
				t.Errorf("%s: FreshSince() = %v; January 31 inside = %v", tt.name, got, inside)
			}
			continue
		}
		if !got.Equal(tt.want) {
			t.Errorf("%s: FreshSince() = %v, want %v", tt.name, got, tt.want)
		}
	}
	if got := FreshSince(day31, 12*h, utc(2026, 3, 15, 0, 0), nil); !got.Equal(utc(2026, 3, 14, 12, 0)) {
		t.Errorf("FreshSince(override 12h) = %v", got)
	}
}
