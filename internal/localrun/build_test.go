package localrun

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestToolsDirMatchesMakefile checks that the tests look for the pinned
// tools where `make tools` builds them.
func TestToolsDirMatchesMakefile(t *testing.T) {
	root, err := ModuleRoot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got, err := ToolsDir(root)
	if err != nil {
		t.Fatalf("ToolsDir() error = %v", err)
	}
	out, err := exec.Command("make", "-s", "--no-print-directory", "-C", root, "tools-dir").Output()
	if err != nil {
		t.Fatalf("make tools-dir: %v", err)
	}
	if want := strings.TrimSpace(string(out)); got != want {
		t.Errorf("ToolsDir() = %s, want the Makefile's %s", got, want)
	}
	if !strings.HasPrefix(filepath.Base(got), "tools-") {
		t.Errorf("ToolsDir() = %s, want a tools-KEY directory", got)
	}
}
