package metrics

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/backupcheck"
)

type emfDoc struct {
	AWS struct {
		Timestamp         int64
		CloudWatchMetrics []struct {
			Namespace  string
			Dimensions [][]string
			Metrics    []struct{ Name, Unit string }
		}
	} `json:"_aws"`
}

func TestWriteFleet(t *testing.T) {
	at := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	last := func(h int) *time.Time { t := at.Add(-time.Duration(h) * time.Hour); return &t }
	problem := func(rs ...backupcheck.Reason) []backupcheck.Problem {
		var ps []backupcheck.Problem
		for _, r := range rs {
			ps = append(ps, backupcheck.Problem{Reason: r})
		}
		return ps
	}
	verdicts := []backupcheck.Verdict{
		{Portal: "a.example.com", Reason: backupcheck.Healthy, At: at, LastBackup: last(10)},
		{Portal: "b.example.com", Reason: backupcheck.BackupStale, Problems: problem(backupcheck.BackupStale, backupcheck.BackupFailed), At: at, LastBackup: last(80)},
		{Portal: "c.example.com", Reason: backupcheck.BackupStale, Problems: problem(backupcheck.BackupStale), At: at, LastBackup: last(30)},
		{Portal: "d.example.com", Reason: backupcheck.Unreachable, Problems: problem(backupcheck.Unreachable), At: at},
	}
	var buf bytes.Buffer
	if err := WriteFleet(&buf, "", "", at, verdicts); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	want := []string{
		`{"OldestBackupHours":80,"PortalsChecked":4,"UnhealthyPortals":3,"_aws":{"CloudWatchMetrics":[{"Namespace":"DocSpaceBackupWatch","Dimensions":[[]],"Metrics":[{"Name":"PortalsChecked","Unit":"Count"},{"Name":"UnhealthyPortals","Unit":"Count"},{"Name":"OldestBackupHours","Unit":"None"}]}],"Timestamp":1795942800000},"level":"INFO"}`,
		`{"Reason":"backup_failed","UnhealthyPortals":1,"_aws":{"CloudWatchMetrics":[{"Namespace":"DocSpaceBackupWatch","Dimensions":[["Reason"]],"Metrics":[{"Name":"UnhealthyPortals","Unit":"Count"}]}],"Timestamp":1795942800000},"level":"INFO"}`,
		`{"Reason":"backup_stale","UnhealthyPortals":2,"_aws":{"CloudWatchMetrics":[{"Namespace":"DocSpaceBackupWatch","Dimensions":[["Reason"]],"Metrics":[{"Name":"UnhealthyPortals","Unit":"Count"}]}],"Timestamp":1795942800000},"level":"INFO"}`,
		`{"Reason":"unreachable","UnhealthyPortals":1,"_aws":{"CloudWatchMetrics":[{"Namespace":"DocSpaceBackupWatch","Dimensions":[["Reason"]],"Metrics":[{"Name":"UnhealthyPortals","Unit":"Count"}]}],"Timestamp":1795942800000},"level":"INFO"}`,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("WriteFleet() =\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	for _, l := range lines {
		if strings.Contains(l, "Portal\"") || strings.Contains(l, "example.com") {
			t.Errorf("fleet line %s has a portal in it", l)
		}
		var doc emfDoc
		if err := json.Unmarshal([]byte(l), &doc); err != nil {
			t.Fatal(err)
		}
		var raw map[string]any
		_ = json.Unmarshal([]byte(l), &raw)
		for _, m := range doc.AWS.CloudWatchMetrics[0].Metrics {
			if _, ok := raw[m.Name]; !ok {
				t.Errorf("metric %s is declared but has no value in %s", m.Name, l)
			}
		}
	}

	buf.Reset()
	if err := WriteFleet(&buf, "NS", "", at, nil); err != nil || strings.Count(buf.String(), "\n") != 1 ||
		!strings.Contains(buf.String(), `"PortalsChecked":0`) || strings.Contains(buf.String(), OldestBackupHours) {
		t.Errorf("WriteFleet(no verdicts) = %s, %v, want one line with 0 checked and no oldest backup", buf.String(), err)
	}
}

func TestSelection(t *testing.T) {
	tests := []struct {
		in      string
		wants   []string
		notWant []string
		bad     bool
	}{
		{in: "", notWant: []string{"a.example.com"}},
		{in: "none", notWant: []string{"a.example.com"}},
		{in: "ALL", wants: []string{"a.example.com", "b.example.com/x"}},
		{in: "https://A.example.com/, b.example.com/docspace,c.example.com:8443", wants: []string{"a.example.com", "b.example.com/docspace", "c.example.com:8443"}, notWant: []string{"b.example.com", "c.example.com"}},
		{in: "https://a.example.com?x=1", bad: true},
		{in: " , ", bad: true},
	}
	for _, tt := range tests {
		s, err := ParseSelection(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("ParseSelection(%q) error = nil, want one", tt.in)
			}
			continue
		}
		if err != nil {
			t.Fatalf("ParseSelection(%q) error = %v", tt.in, err)
		}
		for _, p := range tt.wants {
			if !s.Wants(p) {
				t.Errorf("ParseSelection(%q).Wants(%q) = false, want true", tt.in, p)
			}
		}
		for _, p := range tt.notWant {
			if s.Wants(p) {
				t.Errorf("ParseSelection(%q).Wants(%q) = true, want false", tt.in, p)
			}
		}
	}
}

func TestWriteCounts(t *testing.T) {
	at := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	if err := WriteCounts(&buf, "NS", "WARN", at, map[string]int{StaleMessagesDropped: 3, PortalsNotChecked: 0}); err != nil {
		t.Fatal(err)
	}
	want := `{"PortalsNotChecked":0,"StaleMessagesDropped":3,"_aws":{"CloudWatchMetrics":[{"Namespace":"NS","Dimensions":[[]],"Metrics":[{"Name":"PortalsNotChecked","Unit":"Count"},{"Name":"StaleMessagesDropped","Unit":"Count"}]}],"Timestamp":1795942800000},"level":"WARN"}` + "\n"
	if buf.String() != want {
		t.Errorf("WriteCounts() = %s, want %s", buf.String(), want)
	}
	buf.Reset()
	if err := WriteCounts(&buf, "NS", "", at, nil); err != nil || buf.Len() != 0 {
		t.Errorf("WriteCounts(none) = %q, %v, want nothing", buf.String(), err)
	}
}
