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

// TestBuildBootstrapFollowsTheRaceDetector checks that a race-enabled
// caller gets a race-enabled bootstrap (a data race fails the run) and any
// other caller the deployed flags.
func TestBuildBootstrapFollowsTheRaceDetector(t *testing.T) {
	ctx := context.Background()
	root, err := ModuleRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bin, err := BuildBootstrap(ctx, root, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatalf("go version -m: %v", err)
	}
	info := string(out)
	if got := strings.Contains(info, "build\t-race=true"); got != raceEnabled {
		t.Errorf("bootstrap built with -race = %v, want %v (the caller's):\n%s", got, raceEnabled, info)
	}
	if got := strings.Contains(info, "build\t-trimpath=true"); got == raceEnabled {
		t.Errorf("bootstrap built with -trimpath = %v, want %v:\n%s", got, !raceEnabled, info)
	}
	if !strings.Contains(info, "build\t-tags=lambda.norpc") {
		t.Errorf("bootstrap built without the tag lambda.norpc:\n%s", info)
	}
}
