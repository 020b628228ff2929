package backupcheck

import (
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
)

// Default staleness thresholds: the schedule's period plus a grace period
// for a slow or late job.
const (
	DailyStaleAfter   = 26 * time.Hour
	WeeklyStaleAfter  = 8 * 24 * time.Hour
	MonthlyStaleAfter = 32 * 24 * time.Hour
)

// FirstBackupGrace is how long after a new schedule's first due time the
// check waits for the first backup before calling the portal stale.
const FirstBackupGrace = 2 * time.Hour

// StaleAfter returns how old the newest backup may be under schedule p:
// 26 h for a daily schedule, 8 days for a weekly one and 32 days for a
// monthly one. An unknown period gets the daily threshold.
func StaleAfter(p docspace.CronParams) time.Duration {
	switch p.Period {
	case docspace.PeriodWeekly:
		return WeeklyStaleAfter
	case docspace.PeriodMonthly:
		return MonthlyStaleAfter
	}
	return DailyStaleAfter
}

// MaxZoneOffset is the largest UTC offset a portal's time zone can have
// (UTC+14): when the portal's zone is unknown, the schedule's hour is read
// as UTC and can be off by up to this much.
const MaxZoneOffset = 14 * time.Hour

// StaleAfterFrom returns how old the newest backup, made at last, may be
// under schedule p, whose hour is in loc (nil: unknown, read as UTC):
// StaleAfter(p), and for a monthly schedule on day 29-31 at least the real
// gap to the next due time plus 2 days, since such a schedule skips the
// months that lack its day (a day-31 schedule has gaps of up to 61 days).
// With an unknown zone the next due time is the first one more than
// MaxZoneOffset after last: east of UTC, the run of the 31st lands on the
// 30th in UTC, and the run after it is the next month that has a 31st, not
// the 31st a few hours later.
func StaleAfterFrom(p docspace.CronParams, last time.Time, loc *time.Location) time.Duration {
	d := StaleAfter(p)
	if p.Period == docspace.PeriodMonthly && p.Day > 28 {
		after := last
		if loc == nil {
			after = last.Add(MaxZoneOffset)
		}
		gap := NextDueIn(p, after, loc).Sub(last) + 2*24*time.Hour
		d = max(d, gap)
	}
	return d
}

// FreshSince returns the start of the window in which a backup must have
// landed for the portal not to be stale at now: the earliest time t from
// which StaleAfterFrom(p, t, loc) still reaches now. A positive override
// replaces the schedule's limit (now - override); a nil schedule gets
// DailyStaleAfter.
func FreshSince(p *docspace.CronParams, override time.Duration, now time.Time, loc *time.Location) time.Time {
	switch {
	case override > 0:
		return now.Add(-override)
	case p == nil:
		return now.Add(-DailyStaleAfter)
	case p.Period != docspace.PeriodMonthly || p.Day <= 28:
		return now.Add(-StaleAfter(*p))
	}
	// t + StaleAfterFrom(p, t) grows with t: find the earliest t that
	// reaches now, to the second.
	lo, hi := now.Add(-120*24*time.Hour), now
	for hi.Sub(lo) > time.Second {
		mid := lo.Add(hi.Sub(lo) / 2)
		if mid.Add(StaleAfterFrom(*p, mid, loc)).Before(now) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi.Truncate(time.Second)
}

// NextDue returns the first time strictly after after at which schedule p
// runs, reading its hour as UTC (see NextDueIn).
func NextDue(p docspace.CronParams, after time.Time) time.Time { return NextDueIn(p, after, nil) }

// NextDueIn returns the first time strictly after after at which schedule
// p runs, in UTC. The schedule's hour and day are in loc, the portal's time
// zone, daylight saving included (as the server's scheduler reads them); a
// nil loc reads them as UTC. An hour that a daylight-saving change skips
// runs at the same wall time after the change, as Go's time.Date places it.
//
// A weekly schedule's Day is 1-7 with Sunday=1; a monthly one's is 1-31,
// and, as the server's Quartz cron does, months that lack that day are
// skipped (a day-31 schedule does not run in April). Out-of-range hours
// and days are clamped into range, and an unknown period is treated as
// daily.
func NextDueIn(p docspace.CronParams, after time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	local := after.In(loc)
	hour := clamp(p.Hour, 0, 23)
	y, m, d := local.Date()
	at := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, hour, 0, 0, 0, loc) }
	switch p.Period {
	case docspace.PeriodWeekly:
		want := time.Weekday(clamp(p.Day, 1, 7) - 1)
		days := (int(want) - int(local.Weekday()) + 7) % 7
		for i := 0; ; i += 7 {
			if next := at(y, m, d+days+i); next.After(after) {
				return next.UTC()
			}
		}
	case docspace.PeriodMonthly:
		day := clamp(p.Day, 1, 31)
		for i := 0; ; i++ {
			first := time.Date(y, m+time.Month(i), 1, 0, 0, 0, 0, loc)
			if daysIn(first.Year(), first.Month()) < day {
				continue
			}
			if next := at(first.Year(), first.Month(), day); next.After(after) {
				return next.UTC()
			}
		}
	default:
		for i := 0; ; i++ {
			if next := at(y, m, d+i); next.After(after) {
				return next.UTC()
			}
		}
	}
}
func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }
