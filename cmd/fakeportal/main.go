// Command fakeportal serves a fake ONLYOFFICE DocSpace portal on loopback,
// for the demo, benchmarks and manual tests.
//
//	fakeportal -addr 127.0.0.1:8081 -key sk-demo -scenario inactive -delay 200ms
//
// It prints its URL on the first line of standard output. Paths under
// /p/{scenario}-{n}/ are extra portals that play that scenario, and
// PUT /_fake/config {"scenario":"healthy"} switches the default one.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
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
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "fakeportal:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("fakeportal", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address (loopback; port 0 picks a free one)")
	key := fs.String("key", os.Getenv("FAKE_PORTAL_KEY"), "the API key the portal accepts as a Bearer token (default $FAKE_PORTAL_KEY)")
	names := make([]string, len(fakeportal.Scenarios))
	for i, s := range fakeportal.Scenarios {
		names[i] = string(s)
	}
	scenario := fs.String("scenario", "healthy", "scenario: "+strings.Join(names, ", "))
	delay := fs.Duration("delay", 0, "wait before every answer's headers")
	failFirst := fs.Int("fail-first", 0, "requests the flaky and rate_limited scenarios fail first (0 means 2)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *key == "" {
		return errors.New("-key (or FAKE_PORTAL_KEY) is required")
	}
	p, err := fakeportal.New(*key, fakeportal.Config{Scenario: fakeportal.Scenario(*scenario), Delay: fakeportal.Duration(*delay), FailFirst: *failFirst}, nil)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Printf("http://%s\n", l.Addr())
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
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
