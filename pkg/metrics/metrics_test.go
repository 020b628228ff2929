package metrics

import (
	"bytes"
	"encoding/json"
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
			if err := Write(&buf, "", tt.v); err != nil {
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
