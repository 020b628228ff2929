package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/backupcheck"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/fleet"
)

// Limits on what leaves the function, so that no portal's answer and no
// list of portals can make a result, a log line or an error undeliverable.
const (
	// maxDetailBytes caps a verdict's detail and each problem's.
	maxDetailBytes = 2048
	// maxResponseBytes keeps the result under Lambda's 6 MB limit on a
	// synchronous response, with room for the error and the envelope.
	maxResponseBytes = 5 << 20
	// maxErrorsShown is how many per-portal errors the invocation's error
	// spells out; the log has every one.
	maxErrorsShown = 20
)

// output is the function's result: one verdict per portal checked, in the
// order of the input, and the counts. When the verdicts would not fit in
// maxResponseBytes, the healthy portals are named in Summary instead, and
// if even that does not fit, the last verdicts are counted only.
type output struct {
	Verdicts []backupcheck.Verdict `json:"verdicts"`
	// Summary counts the verdicts; nil for a run that checked nothing
	// itself (bad input, dispatched to the queue).
	Summary *summary `json:"summary,omitempty"`
	// Skipped counts the portals that were not checked because the
	// invocation had no time left for them; their state is unchanged.
	Skipped int `json:"skipped,omitempty"`
	// SkippedPortals names them.
	SkippedPortals []string `json:"skippedPortals,omitempty"`
	// Dispatched is set when the run put its portals on the queue instead
	// of checking them.
	Dispatched *fleet.Sent `json:"dispatched,omitempty"`
	// BatchItemFailures are the messages of an SQS batch whose portal
	// could not be checked: only those go back to the queue.
	BatchItemFailures []events.SQSBatchItemFailure `json:"batchItemFailures,omitempty"`
}

// summary counts the verdicts of a run.
type summary struct {
	// Portals is the number of verdicts, healthy or not.
	Portals int `json:"portals"`
	Healthy int `json:"healthy"`
	// Problems counts the portals that are not healthy.
	Problems int `json:"problems"`
	// HealthyPortals names the healthy portals whose verdicts were left
	// out of Verdicts to keep the result under Lambda's limit.
	HealthyPortals []string `json:"healthyPortals,omitempty"`
	// Omitted counts the verdicts left out entirely (the log has them).
	Omitted int `json:"omitted,omitempty"`
}

// shapeOutput builds the result from the verdicts, within limit bytes.
func shapeOutput(verdicts []backupcheck.Verdict, limit int) output {
	out := output{Verdicts: []backupcheck.Verdict{}, Summary: &summary{Portals: len(verdicts)}}
	sizes := make([]int, len(verdicts))
	total := 0
	for i, v := range verdicts {
		b, _ := json.Marshal(v)
		sizes[i] = len(b) + 1
		total += sizes[i]
		if v.Healthy() {
			out.Summary.Healthy++
		} else {
			out.Summary.Problems++
		}
	}
	const overhead = 512
	if total+overhead <= limit {
		out.Verdicts = append(out.Verdicts, verdicts...)
		return out
	}
	// Problems first, healthy portals by name, then whatever still fits.
	used := overhead
	var healthy []string
	for _, v := range verdicts {
		if v.Healthy() {
			healthy = append(healthy, v.Portal)
		}
	}
	for _, name := range healthy {
		used += len(name) + 4
	}
	for i, v := range verdicts {
		if v.Healthy() {
			continue
		}
		if used+sizes[i] > limit {
			out.Summary.Omitted++
			continue
		}
		used += sizes[i]
		out.Verdicts = append(out.Verdicts, v)
	}
	for used > limit && len(healthy) > 0 {
		last := healthy[len(healthy)-1]
		healthy = healthy[:len(healthy)-1]
		used -= len(last) + 4
		out.Summary.Omitted++
	}
	out.Summary.HealthyPortals = healthy
	return out
}

// boundVerdict caps the verdict's texts, which quote the portal.
func boundVerdict(v *backupcheck.Verdict) {
	v.Detail = cutText(v.Detail, maxDetailBytes)
	for i := range v.Problems {
		v.Problems[i].Detail = cutText(v.Problems[i].Detail, maxDetailBytes)
	}
}

// cutText cuts s to at most n bytes on a rune boundary, saying so.
func cutText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "... (cut)"
	cut := n - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// portalErrors is the run's per-portal errors: every one for errors.Is
// and errors.As, the first maxErrorsShown in its text.
type portalErrors []error

func (e portalErrors) Error() string {
	var b strings.Builder
	for i, err := range e {
		if i == maxErrorsShown {
			fmt.Fprintf(&b, "\n... and %d more portal error(s): the log has each", len(e)-maxErrorsShown)
			break
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(cutText(err.Error(), 4*maxDetailBytes))
	}
	return b.String()
}

// Unwrap returns every error.
func (e portalErrors) Unwrap() []error { return e }

// joinErrors joins the non-nil errors as portalErrors, nil when none.
func joinErrors(errs ...error) error {
	var out portalErrors
	for _, err := range errs {
		if err != nil {
			out = append(out, err)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
