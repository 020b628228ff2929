// Command fakeportal serves a fake ONLYOFFICE DocSpace portal on loopback,
// for the demo, benchmarks and manual tests.
//
//	fakeportal -addr 127.0.0.1:8081 -key sk-demo -scenario inactive -delay 200ms
//
// It prints its URL on the first line of standard output, then its key,
// its scenario and a check-portal command line that checks it. Paths under
// /p/{scenario}-{n}/ are extra portals that play that scenario, and
// PUT /_fake/config {"scenario":"healthy"} switches the default one.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/fakeportal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakeportal:", err)
		os.Exit(1)
	}
}

// scenarioList is the scenarios, a few to a line, for -h and errors.
func scenarioList() string {
	var b strings.Builder
	for i, s := range fakeportal.Scenarios {
		switch {
		case i == 0:
		case i%8 == 0:
			b.WriteString(",\n  ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(string(s))
	}
	return b.String()
}

// run serves the fake portal until ctx is done.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fakeportal", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "listen address (loopback; port 0 picks a free one)")
	key := fs.String("key", os.Getenv("FAKE_PORTAL_KEY"), "the API key the portal accepts as a Bearer token (default $FAKE_PORTAL_KEY)")
	scenario := fs.String("scenario", "healthy", "the scenario of the portal at the root (see below)")
	delay := fs.Duration("delay", 0, "wait before every answer's headers")
	failFirst := fs.Int("fail-first", 0, "requests the flaky and rate_limited scenarios fail first (0 means 2)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: fakeportal -key sk-... [-addr 127.0.0.1:8081] [-scenario healthy] [-delay 0] [-fail-first 2]")
		fs.PrintDefaults()
		fmt.Fprintf(stderr, "\nScenarios (pkg/fakeportal documents each):\n  %s\n", scenarioList())
		fmt.Fprintln(stderr, "\nPaths under /p/{scenario}-{n}/ are extra portals playing that scenario;\nPUT /_fake/config {\"scenario\":\"healthy\"} switches the one at the root.")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *key == "" {
		return errors.New("-key (or FAKE_PORTAL_KEY) is required")
	}
	if !fakeportal.Scenario(*scenario).Valid() {
		return fmt.Errorf("unknown scenario %q; the scenarios are:\n  %s", *scenario, scenarioList())
	}
	p, err := fakeportal.New(*key, fakeportal.Config{Scenario: fakeportal.Scenario(*scenario), Delay: fakeportal.Duration(*delay), FailFirst: *failFirst}, nil)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	url := "http://" + l.Addr().String()
	fmt.Fprintf(stdout, "%s\n", url)
	fmt.Fprintf(stdout, "Fake DocSpace portal at %s\n  API key:  %s\n  scenario: %s (more portals: %s/p/{scenario}-{n}/)\nCheck it from another terminal:\n  DOCSPACE_URL=%s DOCSPACE_API_KEY=%s ALLOW_INSECURE_HTTP=true make check-portal\nStop it with Ctrl-C.\n",
		url, *key, *scenario, url, url, *key)
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
