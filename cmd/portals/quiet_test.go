package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/docspace-backup-watch/docspace-backup-watch/internal/localrun"
	"github.com/docspace-backup-watch/docspace-backup-watch/internal/motoserver"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/alertstate"
)

// TestMuteUnmuteAck: mute and unmute a registered portal and one a run
// checked from a schedule's input, list their mutes, acknowledge an open
// problem; bad input fails with a clear error and writes nothing.
func TestMuteUnmuteAck(t *testing.T) {
	ctx := context.Background()
	cfg := motoserver.AWSConfig(motoserver.Start(t))
	ddb := dynamodb.NewFromConfig(cfg)
	table := "portals-cli-quiet"
	if err := localrun.CreateStateTable(ctx, ddb, table); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	defer func(f func() time.Time) { now = f }(now)
	now = func() time.Time { return t0 }
	store, err := alertstate.NewStore(ddb, table, alertstate.DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	if code, out := portals(t, cfg, key, "-stack", "quiet", "add", "https://reg.example.com/docspace"); code != 0 {
		t.Fatalf("add = %d %s", code, out)
	}
	// A portal from a schedule's input: only the alert state knows it.
	if _, err := store.Record(ctx, "sched.example.com", alertstate.Run{Failing: []string{"no_schedule"}, Evaluated: []string{"no_schedule"}}, t0.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}

	bad := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"mute", "reg.example.com/docspace", "-for", "721h", "-reason", "r", "-table", table}, 1, "over the 30 days"},
		{[]string{"mute", "reg.example.com/docspace", "-until", "2026-12-01T09:00:00Z", "-reason", "r", "-table", table}, 1, "not in the future"},
		{[]string{"mute", "reg.example.com/docspace", "-for", "-1h", "-reason", "r", "-table", table}, 1, "not in the future"},
		{[]string{"mute", "reg.example.com/docspace", "-for", "4h", "-table", table}, 1, "give a reason"},
		{[]string{"mute", "reg.example.com/docspace", "-for", "4h", "-until", "2026-12-01T12:00:00Z", "-reason", "r", "-table", table}, 1, "one of them"},
		{[]string{"mute", "unknown.example.com", "-for", "4h", "-reason", "r", "-table", table}, 1, "unknown portal unknown.example.com"},
		{[]string{"mute", "reg.example.com/docspace", "-for", "4h", "-reason", "r"}, 1, "-table STATE_TABLE is required"},
		{[]string{"mute", "-for", "4h", "-reason", "r", "-table", table}, 2, "usage"},
		{[]string{"unmute", "reg.example.com/docspace", "-table", table}, 1, "portal is not muted"},
		{[]string{"ack", "sched.example.com", "backup_stale", "-table", table}, 1, `no open problem "backup_stale"; open: no_schedule`},
		{[]string{"ack", "reg.example.com/docspace", "#mute", "-table", table}, 1, "no open problem"},
	}
	for _, b := range bad {
		code, out := portals(t, cfg, "", append([]string{"-stack", "quiet"}, b.args...)...)
		if code != b.code || !strings.Contains(out, b.want) {
			t.Errorf("portals %q = %d %s, want %d and %q", b.args, code, out, b.code, b.want)
		}
	}
	for _, p := range []string{"reg.example.com/docspace", "sched.example.com", "unknown.example.com"} {
		if m, err := store.Load(ctx, p); err != nil || !m.Mute.Until.IsZero() || len(m.Acked) != 0 {
			t.Errorf("after bad input, state of %s = %+v, %v; want no mute and no acknowledgement written", p, m, err)
		}
	}

	for _, args := range [][]string{
		{"mute", "https://REG.example.com:443/docspace/", "-for", "4h", "-reason", "storage migration (ops)", "-table", table},
		{"mute", "sched.example.com", "-until", "2026-12-02T06:00:00Z", "-reason", "upgrade", "-table", table},
		{"ack", "sched.example.com", "no_schedule", "-table", table},
	} {
		if code, out := portals(t, cfg, "", append([]string{"-stack", "quiet"}, args...)...); code != 0 {
			t.Errorf("portals %q = %d %s", args, code, out)
		}
	}
	code, out := portals(t, cfg, "", "-stack", "quiet", "list", "-table", table)
	rows := regexp.MustCompile(`[ \t]+`).ReplaceAllString(out, " ")
	for _, want := range []string{
		"SECRET PORTAL STATE SINCE MUTED UNTIL MUTE REASON",
		"docspace/reg.example.com/docspace reg.example.com/docspace ok - 2026-12-01T14:00:00Z storage migration (ops)",
		"(schedule input) sched.example.com no_schedule(acked) 2026-12-01T09:00:00Z 2026-12-02T06:00:00Z upgrade",
	} {
		if code != 0 || !strings.Contains(rows, want) {
			t.Errorf("list = %d:\n%s\nwant a row %q", code, out, want)
		}
	}
	if code, out := portals(t, cfg, "", "-stack", "quiet", "unmute", "reg.example.com/docspace", "-table", table); code != 0 || !strings.Contains(out, "unmuted reg.example.com/docspace") {
		t.Errorf("unmute = %d %s", code, out)
	}
	if m, _ := store.Load(ctx, "reg.example.com/docspace"); m.Mute.Active(t0) || m.Mute.Since != t0 {
		t.Errorf("after unmute the mute is %+v, want ended now and its start kept", m.Mute)
	}
}
