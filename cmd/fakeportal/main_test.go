package main

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"

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
			err := run(tt.args, &out, &errOut)
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
