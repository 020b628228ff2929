package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/backupcheck"
)

func manyVerdicts(n, problems int) []backupcheck.Verdict {
	vs := make([]backupcheck.Verdict, n)
	for i := range vs {
		vs[i] = backupcheck.Verdict{Portal: fmt.Sprintf("portal-%05d.example.com", i), Reason: backupcheck.Healthy, At: time.Now(), Detail: "healthy"}
		if i%(n/problems) == 0 {
			vs[i].Reason, vs[i].Detail = backupcheck.BackupStale, strings.Repeat("d", maxDetailBytes)
			vs[i].Problems = []backupcheck.Problem{{Reason: backupcheck.BackupStale, Detail: strings.Repeat("p", maxDetailBytes)}}
		}
	}
	return vs
}

// TestOutputStaysUnderLambdaLimit: whatever the number of portals, the
// result fits Lambda's response limit; problems come first, healthy
// portals are named, and the counts are always whole.
func TestOutputStaysUnderLambdaLimit(t *testing.T) {
	tests := []struct {
		name         string
		n, problems  int
		limit        int
		wantProblems int // verdicts kept
		wantNamed    bool
	}{
		{"few portals: every verdict", 50, 5, maxResponseBytes, 5, false},
		// The same as 30,000 portals against Lambda's limit, at a tenth of
		// the size (and of the time under -race).
		{"3,000 portals over the limit, 100 problems", 3000, 100, maxResponseBytes / 10, 100, true},
		{"3,000 portals over the limit, all problems", 3000, 3000, maxResponseBytes / 10, -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := shapeOutput(manyVerdicts(tt.n, tt.problems), tt.limit)
			b, err := json.Marshal(out)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) > tt.limit {
				t.Fatalf("result is %d bytes, over %d", len(b), tt.limit)
			}
			s := out.Summary
			if s.Portals != tt.n || s.Problems != tt.problems || s.Healthy != tt.n-tt.problems {
				t.Errorf("summary = %+v, want %d portals, %d problems", s, tt.n, tt.problems)
			}
			problems := 0
			for _, v := range out.Verdicts {
				if !v.Healthy() {
					problems++
				}
			}
			if tt.wantProblems >= 0 && problems != tt.wantProblems {
				t.Errorf("%d problem verdicts kept, want %d", problems, tt.wantProblems)
			}
			if tt.wantNamed && (len(s.HealthyPortals) != tt.n-tt.problems || s.Omitted != 0) {
				t.Errorf("%d healthy portals named, %d omitted; want all %d named", len(s.HealthyPortals), s.Omitted, tt.n-tt.problems)
			}
			if len(out.Verdicts)+len(s.HealthyPortals)+s.Omitted != tt.n {
				t.Errorf("verdicts %d + named %d + omitted %d != %d portals", len(out.Verdicts), len(s.HealthyPortals), s.Omitted, tt.n)
			}
		})
	}
}

func TestBoundVerdict(t *testing.T) {
	v := backupcheck.Verdict{Detail: strings.Repeat("é", 600_000), Problems: []backupcheck.Problem{{Detail: strings.Repeat("x", 600_000)}}}
	boundVerdict(&v)
	if len(v.Detail) > maxDetailBytes || len(v.Problems[0].Detail) > maxDetailBytes || !strings.HasSuffix(v.Detail, "(cut)") {
		t.Errorf("boundVerdict left %d and %d bytes, want at most %d, marked cut", len(v.Detail), len(v.Problems[0].Detail), maxDetailBytes)
	}
}

// TestManyFailingPortalsKeepTheErrorShort: every portal refused still
// gives an error Lambda can return, that names the first ones and counts
// the rest, and that errors.Is still sees through.
func TestManyFailingPortalsKeepTheErrorShort(t *testing.T) {
	f := newFixture(t, map[string]string{"MAX_PORTALS": "1000"})
	var ps []string
	for i := range 1000 {
		ps = append(ps, fmt.Sprintf(`{"portalUrl":"https://p%d.example.com/%s"}`, i, strings.Repeat("x", 200)))
	}
	_, err := f.h.Handle(context.Background(), json.RawMessage(`{"portals":[`+strings.Join(ps, ",")+`]}`))
	if err == nil || !errors.Is(err, errRefused) {
		t.Fatalf("Handle() error = %v, want the refusals", err)
	}
	if len(err.Error()) > 64<<10 || !strings.Contains(err.Error(), "and 980 more") {
		t.Errorf("error is %d bytes (%.200s...), want it short, counting the rest", len(err.Error()), err)
	}
}
