package main

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/backupcheck"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
)

// panickyTransport panics on a request for one portal's backup progress
// and sends every other request on.
type panickyTransport struct{ portal string }

func (p panickyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.Contains(r.URL.Path, "/p/"+p.portal+"/") && strings.HasSuffix(r.URL.Path, docspace.ProgressPath) {
		panic("unexpected shape of " + p.portal)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestRoutePanicIsOnePortals: a panic in one route's call, which Check
// makes in a goroutine of its own, fails that portal alone (logged, the
// run's error names it); the process goes on and the run's other portal
// gets its verdict.
func TestRoutePanicIsOnePortals(t *testing.T) {
	f := newFixture(t, nil)
	f.h.clientOptions = []docspace.Option{docspace.WithHTTPClient(&http.Client{Transport: panickyTransport{portal: "healthy-panics"}})}
	out, err := f.h.Handle(context.Background(), f.input("healthy-panics", "healthy-calm"))
	if !errors.Is(err, errPanic) || !strings.Contains(err.Error(), "healthy-panics") || !strings.Contains(err.Error(), "unexpected shape of healthy-panics") {
		t.Errorf("Handle() error = %v, want the panicking portal's error alone", err)
	}
	if len(out.Verdicts) != 1 || !strings.HasSuffix(out.Verdicts[0].Portal, "/p/healthy-calm") || out.Verdicts[0].Reason != backupcheck.Healthy {
		t.Errorf("verdicts = %+v, want the other portal's, healthy", out.Verdicts)
	}
	if logs := f.logs.String(); strings.Count(logs, "portal check panicked: recovered, this portal alone fails") != 1 || !strings.Contains(logs, "progress route") {
		t.Errorf("log does not say once that the portal's progress route panicked:\n%s", logs)
	}
}
