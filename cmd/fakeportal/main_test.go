package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/fakeportal"
)

func TestRunArguments(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string // "" for flag.ErrHelp
		// wantScenarios: every scenario must be named in the error or on stderr.
		wantScenarios bool
	}{
		{"help lists the scenarios", []string{"-h"}, "", true},
		{"unknown scenario lists the scenarios", []string{"-key", "sk-local-fake", "-scenario", "nope"}, `unknown scenario "nope"`, true},
		{"no key", []string{"-scenario", "healthy"}, "-key (or FAKE_PORTAL_KEY) is required", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("FAKE_PORTAL_KEY", "")
			var out, errOut bytes.Buffer
			err := run(context.Background(), tt.args, &out, &errOut)
			switch {
			case tt.wantErr == "" && !errors.Is(err, flag.ErrHelp):
				t.Fatalf("run(%q) error = %v, want flag.ErrHelp", tt.args, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("run(%q) error = %v, want %q", tt.args, err, tt.wantErr)
			}
			text := errOut.String()
			if err != nil {
				text += err.Error()
			}
			if tt.wantScenarios {
				for _, s := range fakeportal.Scenarios {
					if !strings.Contains(text, string(s)) {
						t.Errorf("run(%q) does not name scenario %s:\n%s", tt.args, s, text)
					}
				}
			}
		})
	}
}

// TestREADMEListsEveryScenario keeps the README's list of scenarios true.
func TestREADMEListsEveryScenario(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	start := strings.Index(readme, "### The fake portal")
	if start < 0 {
		t.Fatal(`README.md has no "### The fake portal" section`)
	}
	section := readme[start:]
	if end := strings.Index(section[1:], "\n#"); end >= 0 {
		section = section[:end+1]
	}
	for _, s := range fakeportal.Scenarios {
		if !strings.Contains(section, "`"+string(s)+"`") {
			t.Errorf("README's fake portal section does not list scenario %s", s)
		}
	}
}

// lockedBuffer is a bytes.Buffer that run may write while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestRunPrintsURLKeyAndScenario: what `make fakeportal` prints is what a
// person needs to point check-portal at it.
func TestRunPrintsURLKeyAndScenario(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-key", "sk-local-fake", "-scenario", "stale"}, &out, &errOut)
	}()
	deadline := time.After(10 * time.Second)
	for !strings.Contains(out.String(), "Ctrl-C") {
		select {
		case err := <-done:
			t.Fatalf("run() returned early: %v\nstdout: %s\nstderr: %s", err, out.String(), errOut.String())
		case <-deadline:
			t.Fatalf("run() printed no banner in 10 s: %s", out.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run() after cancel = %v, want nil", err)
	}
	text := out.String()
	url, _, _ := strings.Cut(text, "\n")
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("first line = %q, want the portal's URL", url)
	}
	for _, want := range []string{
		"API key:  sk-local-fake",
		"scenario: stale",
		"DOCSPACE_URL=" + url + " DOCSPACE_API_KEY=sk-local-fake ALLOW_INSECURE_HTTP=true make check-portal",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("run() output does not hold %q:\n%s", want, text)
		}
	}
}
