package metrics

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/backupcheck"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
)

func TestWrite(t *testing.T) {
	at := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	last := at.Add(-30 * time.Hour)
	tests := []struct {
		name        string
		v           backupcheck.Verdict
		wantHealthy float64
		wantHours   any
	}{
		{"healthy with history", backupcheck.Verdict{Portal: "a.example.com", Reason: backupcheck.Healthy, At: at, LastBackup: &last, Result: docspace.Result{Latency: 12500 * time.Microsecond}}, 1, 30.0},
		{"unreachable, no history", backupcheck.Verdict{Portal: "b.example.com", Reason: backupcheck.Unreachable, At: at}, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, "", "", tt.v); err != nil {
				t.Fatal(err)
			}
			if bytes.Count(buf.Bytes(), []byte("\n")) != 1 {
				t.Fatalf("Write() = %q, want one line", buf.String())
			}
			var doc struct {
				emfDoc
				Portal               string
				Healthy              float64
				CheckLatency         float64
				HoursSinceLastBackup any
			}
			if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
				t.Fatalf("Write() = %s, not JSON: %v", buf.String(), err)
			}
			cw := doc.AWS.CloudWatchMetrics
			if doc.AWS.Timestamp != at.UnixMilli() || len(cw) != 1 || cw[0].Namespace != DefaultNamespace || len(cw[0].Dimensions) != 1 || cw[0].Dimensions[0][0] != "Portal" {
				t.Errorf("Write() directive = %+v, want the namespace, the timestamp and the Portal dimension", doc.AWS)
			}
			if doc.Portal != tt.v.Portal || doc.Healthy != tt.wantHealthy || doc.HoursSinceLastBackup != tt.wantHours {
				t.Errorf("Write() = %s, want Portal %s, Healthy %v, HoursSinceLastBackup %v", buf.String(), tt.v.Portal, tt.wantHealthy, tt.wantHours)
			}
			// Every declared metric has its value in the object.
			var raw map[string]any
			_ = json.Unmarshal(buf.Bytes(), &raw)
			for _, m := range cw[0].Metrics {
				if _, ok := raw[m.Name]; !ok {
					t.Errorf("metric %s is declared but has no value", m.Name)
				}
			}
		})
	}
}

// TestLevelSurvivesLogLevel: under every ApplicationLogLevel Lambda offers,
// the metric lines carry a level that Lambda's filter keeps (one at or
// above the function's), on the per-portal and the fleet lines alike.
func TestLevelSurvivesLogLevel(t *testing.T) {
	rank := map[string]slog.Level{"INFO": slog.LevelInfo, "WARN": slog.LevelWarn, "ERROR": slog.LevelError, "FATAL": slog.LevelError + 4}
	v := backupcheck.Verdict{Portal: "a.example.com", Reason: backupcheck.Healthy, At: time.Unix(0, 0)}
	for _, configured := range []slog.Level{slog.LevelDebug - 4, slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError, slog.LevelError + 4} {
		level := LevelFor(configured)
		if l, ok := rank[level]; !ok || l < configured {
			t.Errorf("LevelFor(%v) = %q, below the function's level: Lambda drops the line", configured, level)
		}
		var buf bytes.Buffer
		if err := Write(&buf, "", level, v); err != nil {
			t.Fatal(err)
		}
		if err := WriteFleet(&buf, "", level, v.At, []backupcheck.Verdict{v}); err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			var doc map[string]any
			if err := json.Unmarshal([]byte(line), &doc); err != nil {
				t.Fatal(err)
			}
			if doc[LevelField] != level {
				t.Errorf("line %s: level = %v, want %q", line, doc[LevelField], level)
			}
		}
	}
}
