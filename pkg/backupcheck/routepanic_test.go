package backupcheck

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
)

// panickyProgress panics when asked for the backup progress.
type panickyProgress struct{ *fakeReader }

func (panickyProgress) GetBackupProgress(context.Context) (*docspace.Progress, docspace.Result, error) {
	panic("unexpected shape")
}

// TestRoutePanicReachesTheCaller: a panic in a route's call, made in a
// goroutine of its own, is raised again in the goroutine that called
// Check, as a *RoutePanic naming the route, so that the caller can recover
// it (a panic left in the route's goroutine ends the process).
func TestRoutePanicReachesTheCaller(t *testing.T) {
	var got any
	func() {
		defer func() { got = recover() }()
		Check(context.Background(), "p", panickyProgress{&fakeReader{}}, Options{Signals: Signals{Progress: true}}, time.Now())
	}()
	var rp *RoutePanic
	if err, _ := got.(error); !errors.As(err, &rp) || rp.Route != "progress" || rp.Value != "unexpected shape" || !strings.Contains(string(rp.Stack), "GetBackupProgress") {
		t.Fatalf("Check() panicked with %v (%T), want a *RoutePanic of the progress route with its value and stack", got, got)
	}
	if rp.Error() != "progress route: unexpected shape" {
		t.Errorf("RoutePanic.Error() = %q", rp.Error())
	}
}

// panickyCount panics when asked to count the backups.
type panickyCount struct{ *fakeReader }

func (panickyCount) GetBackupsCount(context.Context, time.Time, time.Time, bool) (int, docspace.Result, error) {
	panic("unexpected count")
}

// TestCountPanicReachesTheCaller: the count route's two calls (paid and
// free) run in goroutines of their own within the count's goroutine; a
// panic there reaches the caller too, as one *RoutePanic of the count.
func TestCountPanicReachesTheCaller(t *testing.T) {
	var got any
	func() {
		defer func() { got = recover() }()
		Check(context.Background(), "p", panickyCount{&fakeReader{}}, Options{Signals: Signals{History: true}}, time.Now())
	}()
	if rp, ok := got.(*RoutePanic); !ok || rp.Route != "count" || rp.Value != "unexpected count" {
		t.Fatalf("Check() panicked with %v (%T), want a *RoutePanic of the count route", got, got)
	}
}
