package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPrereqWantsGNUMake43 checks that .ci/prereq turns away a make that
// cannot read the Makefile (grouped targets need GNU make 4.3) with a clear
// message, and takes a new enough one.
func TestPrereqWantsGNUMake43(t *testing.T) {
	for _, tt := range []struct {
		version string
		ok      bool
	}{
		{"GNU Make 3.81", false},
		{"GNU Make 4.2.1", false},
		{"bmake 20200710", false},
		{"GNU Make 4.3", true},
		{"GNU Make 4.4.1", true},
		{"GNU Make 5.0", true},
	} {
		t.Run(tt.version, func(t *testing.T) {
			bin := t.TempDir()
			script := "#!/bin/sh\necho '" + tt.version + "'\n"
			if err := os.WriteFile(filepath.Join(bin, "make"), []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("bash", filepath.Join("..", ".ci", "prereq"), "test")
			cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
			out, err := cmd.CombinedOutput()
			refused := strings.Contains(string(out), "is not GNU make 4.3 or newer")
			if refused == tt.ok {
				t.Errorf("prereq with %q: refused = %v, want %v:\n%s", tt.version, refused, !tt.ok, out)
			}
			if !tt.ok && err == nil {
				t.Errorf("prereq with %q exited 0, want 1:\n%s", tt.version, out)
			}
		})
	}
}
