package backupcheck

import (
	"testing"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
)

func utc(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, time.UTC)
}

func TestStaleAfter(t *testing.T) {
	tests := []struct {
		p    docspace.CronParams
		want time.Duration
	}{
		{docspace.CronParams{Period: docspace.PeriodDaily, Hour: 2}, 26 * time.Hour},
		{docspace.CronParams{Period: docspace.PeriodWeekly, Hour: 2, Day: 1}, 8 * 24 * time.Hour},
		{docspace.CronParams{Period: docspace.PeriodMonthly, Hour: 2, Day: 31}, 32 * 24 * time.Hour},
		{docspace.CronParams{Period: 9}, 26 * time.Hour},
	}
	for _, tt := range tests {
		if got := StaleAfter(tt.p); got != tt.want {
			t.Errorf("StaleAfter(%+v) = %v, want %v", tt.p, got, tt.want)
		}
	}
}

func TestNextDue(t *testing.T) {
	daily := func(h int) docspace.CronParams { return docspace.CronParams{Period: docspace.PeriodDaily, Hour: h} }
	weekly := func(day, h int) docspace.CronParams {
		return docspace.CronParams{Period: docspace.PeriodWeekly, Hour: h, Day: day}
	}
	monthly := func(day, h int) docspace.CronParams {
		return docspace.CronParams{Period: docspace.PeriodMonthly, Hour: h, Day: day}
	}
	plus3 := time.FixedZone("UTC+3", 3*3600)
	tests := []struct {
		name  string
		p     docspace.CronParams
		after time.Time
		want  time.Time
	}{
		{"daily later today", daily(2), utc(2026, 3, 1, 1, 0), utc(2026, 3, 1, 2, 0)},
		{"daily exactly due is strictly after", daily(2), utc(2026, 3, 1, 2, 0), utc(2026, 3, 2, 2, 0)},
		{"daily tomorrow", daily(2), utc(2026, 3, 1, 23, 0), utc(2026, 3, 2, 2, 0)},
		{"daily over the year end", daily(2), utc(2026, 12, 31, 5, 0), utc(2027, 1, 1, 2, 0)},
		{"daily input in another zone", daily(2), time.Date(2026, 3, 1, 5, 30, 0, 0, plus3), utc(2026, 3, 2, 2, 0)},
		{"daily input in another zone before the hour", daily(2), time.Date(2026, 3, 1, 4, 30, 0, 0, plus3), utc(2026, 3, 1, 2, 0)},
		{"daily hour clamped", daily(25), utc(2026, 3, 1, 0, 0), utc(2026, 3, 1, 23, 0)},
		{"weekly Sunday from Wednesday", weekly(1, 2), utc(2026, 3, 4, 12, 0), utc(2026, 3, 8, 2, 0)},
		{"weekly Sunday later the same Sunday", weekly(1, 2), utc(2026, 3, 1, 1, 0), utc(2026, 3, 1, 2, 0)},
		{"weekly Sunday just after the run", weekly(1, 2), utc(2026, 3, 1, 2, 0), utc(2026, 3, 8, 2, 0)},
		{"weekly Saturday from Sunday", weekly(7, 22), utc(2026, 3, 1, 23, 0), utc(2026, 3, 7, 22, 0)},
		{"weekly Monday over the month end", weekly(2, 0), utc(2026, 3, 31, 0, 0), utc(2026, 4, 6, 0, 0)},
		{"monthly 15th next month", monthly(15, 3), utc(2026, 3, 15, 10, 0), utc(2026, 4, 15, 3, 0)},
		{"monthly 15th this month", monthly(15, 3), utc(2026, 3, 1, 0, 0), utc(2026, 3, 15, 3, 0)},
		// Quartz skips the months that lack the day; it does not clamp.
		{"monthly 31st skips April", monthly(31, 0), utc(2026, 4, 10, 0, 0), utc(2026, 5, 31, 0, 0)},
		{"monthly 31st skips February", monthly(31, 0), utc(2026, 1, 31, 0, 0), utc(2026, 3, 31, 0, 0)},
		{"monthly 30th skips a leap February", monthly(30, 1), utc(2028, 2, 1, 0, 0), utc(2028, 3, 30, 1, 0)},
		{"monthly 29th in a leap February", monthly(29, 1), utc(2028, 2, 1, 0, 0), utc(2028, 2, 29, 1, 0)},
		{"monthly 31st from February 28", monthly(31, 0), utc(2026, 2, 28, 0, 0), utc(2026, 3, 31, 0, 0)},
		{"monthly over the year end", monthly(31, 1), utc(2026, 12, 31, 1, 0), utc(2027, 1, 31, 1, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NextDue(tt.p, tt.after)
			if !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Errorf("NextDue(%+v, %v) = %v, want %v", tt.p, tt.after, got, tt.want)
			}
		})
	}
}

func TestStaleAfterFrom(t *testing.T) {
	day := 24 * time.Hour
	monthly := func(d int) docspace.CronParams {
		return docspace.CronParams{Period: docspace.PeriodMonthly, Hour: 2, Day: d}
	}
	tests := []struct {
		name string
		p    docspace.CronParams
		last time.Time
		want time.Duration
	}{
		{"daily", docspace.CronParams{Period: docspace.PeriodDaily, Hour: 2}, utc(2026, 3, 1, 2, 0), 26 * time.Hour},
		{"monthly 15th", monthly(15), utc(2026, 1, 15, 2, 0), 32 * day},
		{"monthly 31st over February: 59 days + 2", monthly(31), utc(2026, 1, 31, 2, 0), 61 * day},
		{"monthly 31st over April", monthly(31), utc(2026, 3, 31, 2, 0), 63 * day},
		{"monthly 31st July to August", monthly(31), utc(2026, 7, 31, 2, 0), 33 * day},
		{"monthly 30th over a common February", monthly(30), utc(2026, 1, 30, 2, 0), 61 * day},
		// The hour is the portal's: at UTC+3, 02:00 on January 31 is
		// 23:00 UTC on January 30, and the next run is on March 31 (March
		// 30, 23:00 UTC), not on January 31.
		{"monthly 31st east of UTC: the backup lands the day before in UTC", monthly(31), utc(2026, 1, 30, 23, 10), 61*day + 2*time.Hour + 50*time.Minute},
		// At UTC-5, 22:00 on January 31 is 03:00 UTC on February 1; the
		// next run is on April 1, 03:00 UTC.
		{"monthly 31st west of UTC: the backup lands the day after in UTC", docspace.CronParams{Period: docspace.PeriodMonthly, Hour: 22, Day: 31}, utc(2026, 2, 1, 3, 10), 60*day + 18*time.Hour + 50*time.Minute},
	}
	for _, tt := range tests {
		if got := StaleAfterFrom(tt.p, tt.last, nil); got != tt.want {
			t.Errorf("%s: StaleAfterFrom(%+v, %v) = %v, want %v", tt.name, tt.p, tt.last, got, tt.want)
		}
	}
}
