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
// (UTC+14): the schedule's hour is the portal's, which the API does not
// give.
const MaxZoneOffset = 14 * time.Hour

// StaleAfterFrom returns how old the newest backup, made at last, may be
// under schedule p: StaleAfter(p), and for a monthly schedule on day 29-31
// at least the real gap to the next due time plus 2 days, since such a
// schedule skips the months that lack its day (a day-31 schedule has gaps
// of up to 61 days). The next due time is the first one more than
// MaxZoneOffset after last: east of UTC, the run of the 31st lands on the
// 30th in UTC, and the run after it is the next month that has a 31st,
// not the 31st a few hours later.
func StaleAfterFrom(p docspace.CronParams, last time.Time) time.Duration {
	d := StaleAfter(p)
	if p.Period == docspace.PeriodMonthly && p.Day > 28 {
		gap := NextDue(p, last.Add(MaxZoneOffset)).Sub(last) + 2*24*time.Hour
		d = max(d, gap)
	}
	return d
}

// NextDue returns the first time strictly after after at which schedule p
// runs, in UTC.
//
// The schedule's hour is in the portal's time zone, which the API does not
// give, so NextDue treats it as UTC: the result can be off by the portal's
// UTC offset (up to 14 hours). The default staleness thresholds leave room
// for that, since they measure the age of the newest backup, not the
// distance from a due time.
//
// A weekly schedule's Day is 1-7 with Sunday=1; a monthly one's is 1-31,
// and, as the server's Quartz cron does, months that lack that day are
// skipped (a day-31 schedule does not run in April). Out-of-range hours
// and days are clamped into range, and an unknown period is treated as
// daily.
func NextDue(p docspace.CronParams, after time.Time) time.Time {
	after = after.UTC()
	hour := clamp(p.Hour, 0, 23)
	y, m, d := after.Date()
	at := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, hour, 0, 0, 0, time.UTC) }
	switch p.Period {
	case docspace.PeriodWeekly:
		want := time.Weekday(clamp(p.Day, 1, 7) - 1)
		days := (int(want) - int(after.Weekday()) + 7) % 7
		next := at(y, m, d+days)
		if !next.After(after) {
			next = next.AddDate(0, 0, 7)
		}
		return next
	case docspace.PeriodMonthly:
		day := clamp(p.Day, 1, 31)
		for i := 0; ; i++ {
			first := time.Date(y, m+time.Month(i), 1, 0, 0, 0, 0, time.UTC)
			if daysIn(first.Year(), first.Month()) < day {
				continue
			}
			if next := at(first.Year(), first.Month(), day); next.After(after) {
				return next
			}
		}
	default:
		next := at(y, m, d)
		if !next.After(after) {
			next = at(y, m, d+1)
		}
		return next
	}
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }
