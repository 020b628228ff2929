package localrun

import "testing"

func TestParseInitReport(t *testing.T) {
	tests := []struct {
		name   string
		lines  []string
		want   float64
		wantOK bool
	}{
		{name: "a cold invoke", lines: []string{
			"02 Dec 2026 00:42:18,247 [INFO] (rapid) INIT START(type: on-demand, phase: init)",
			"START RequestId: 57c1e928-8a1e-4064-b253-47118c4395e3 Version: $LATEST",
			"02 Dec 2026 00:42:18,283 [INFO] (rapid) INIT RTDONE(status: success)",
			"02 Dec 2026 00:42:18,283 [INFO] (rapid) INIT REPORT(durationMs: 36.375000)",
			"REPORT RequestId: 57c1e928-8a1e-4064-b253-47118c4395e3\tInit Duration: 0.02 ms\tDuration: 41.22 ms\tBilled Duration: 42 ms\tMemory Size: 3008 MB\tMax Memory Used: 3008 MB\t",
		}, want: 36.375, wantOK: true},
		{name: "a warm invoke", lines: []string{
			"START RequestId: 1 Version: $LATEST",
			"REPORT RequestId: 1\tDuration: 1.50 ms\tBilled Duration: 2 ms\tMemory Size: 3008 MB\tMax Memory Used: 3008 MB\t",
		}},
		{name: "the REPORT line's Init Duration is not it", lines: []string{"REPORT RequestId: 1\tInit Duration: 0.02 ms\tDuration: 41.22 ms"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseInitReport(tt.lines)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("parseInitReport() = %v, %v, want %v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
