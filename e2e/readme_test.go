package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// pathWithout returns PATH without the directories that hold name.
func pathWithout(t *testing.T, name string) string {
	t.Helper()
	var kept []string
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			kept = append(kept, dir)
		}
	}
	return strings.Join(kept, string(os.PathListSeparator))
}

// TestTargetsCheckPrerequisitesFirst: `make demo` and `make invoke-local`
// say that moto_server is missing before they compile anything (minutes
// on a fresh machine).
func TestTargetsCheckPrerequisitesFirst(t *testing.T) {
	path := pathWithout(t, "moto_server")
	for _, target := range []string{"demo", "invoke-local"} {
		t.Run(target, func(t *testing.T) {
			cmd := exec.Command("make", "--no-print-directory", target)
			cmd.Dir = ".."
			cmd.Env = append(os.Environ(), "PATH="+path)
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), "prereq: moto_server is missing: pip install") {
				t.Fatalf("make %s without moto_server: err = %v, want a failure naming moto_server:\n%s", target, err, out)
			}
			if strings.Contains(string(out), "Building") || strings.Contains(string(out), "building") {
				t.Errorf("make %s built something before saying moto_server is missing:\n%s", target, out)
			}
		})
	}
}
