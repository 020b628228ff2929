// Package metrics writes CloudWatch Embedded Metric Format (EMF) lines: one
// JSON object per portal per run that CloudWatch Logs turns into metrics,
// with no PutMetricData call and no extra permission.
package metrics

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/backupcheck"
)

// DefaultNamespace is the CloudWatch namespace of the metrics.
const DefaultNamespace = "DocSpaceBackupWatch"

// Metric names, with the dimension "Portal".
const (
	// Healthy is 1 for a healthy verdict and 0 otherwise (Count).
	Healthy = "Healthy"
	// CheckLatency is the time the portal's answers took (Milliseconds).
	CheckLatency = "CheckLatency"
	// HoursSinceLastBackup is the age of the newest backup (None); it is
	// left out when the history was not read or is empty.
	HoursSinceLastBackup = "HoursSinceLastBackup"
)

type metricDef struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

type directive struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []metricDef `json:"Metrics"`
}

// LevelField is the field of an EMF line that Lambda's JSON log filter
// reads.
const LevelField = "level"

// LevelFor returns the level an EMF line carries in a function that logs
// at l: Lambda drops a JSON line below the function's ApplicationLogLevel
// and reads a line without a level as INFO, so under WARN or ERROR a
// metric line without one would be lost. The line carries the function's
// own level instead (INFO when that is lower), which the filter keeps.
func LevelFor(l slog.Level) string {
	switch {
	case l <= slog.LevelInfo:
		return "INFO"
	case l <= slog.LevelWarn:
		return "WARN"
	case l <= slog.LevelError:
		return "ERROR"
	}
	return "FATAL"
}

// Line returns the EMF object for verdict v, without a newline; level is
// its LevelField (see LevelFor; "" is INFO).
func Line(namespace, level string, v backupcheck.Verdict) ([]byte, error) {
	if namespace == "" {
		namespace = DefaultNamespace
	}
	if level == "" {
		level = "INFO"
	}
	healthy := 0
	if v.Healthy() {
		healthy = 1
	}
	defs := []metricDef{{Healthy, "Count"}, {CheckLatency, "Milliseconds"}}
	doc := map[string]any{
		LevelField:   level,
		"Portal":     v.Portal,
		"reason":     string(v.Reason),
		Healthy:      healthy,
		CheckLatency: float64(v.Result.Latency.Microseconds()) / 1000,
	}
	if h, ok := v.HoursSinceLastBackup(); ok {
		defs = append(defs, metricDef{HoursSinceLastBackup, "None"})
		doc[HoursSinceLastBackup] = h
	}
	doc["_aws"] = map[string]any{
		"Timestamp":         v.At.UnixMilli(),
		"CloudWatchMetrics": []directive{{Namespace: namespace, Dimensions: [][]string{{"Portal"}}, Metrics: defs}},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode metrics: %w", err)
	}
	return b, nil
}

// Write writes v's EMF line and a newline to w.
func Write(w io.Writer, namespace, level string, v backupcheck.Verdict) error {
	b, err := Line(namespace, level, v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
