package localrun

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docspace-backup-watch/docspace-backup-watch/internal/buildflags"
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
// caller gets a race-enabled bootstrap (it reuses the race tests' packages
// and a data race fails the run) and any other caller the deployed flags.
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
	if got := strings.Contains(info, "build\t-race=true"); got != buildflags.Race {
		t.Errorf("bootstrap built with -race = %v, want %v (the caller's):\n%s", got, buildflags.Race, info)
	}
	if got := strings.Contains(info, "build\t-trimpath=true"); got == buildflags.Race {
		t.Errorf("bootstrap built with -trimpath = %v, want %v:\n%s", got, !buildflags.Race, info)
	}
	if !strings.Contains(info, "build\t-tags=lambda.norpc") {
		t.Errorf("bootstrap built without the tag lambda.norpc:\n%s", info)
	}
	if buildflags.Race {
		// The race tests' own compile flags, so that bootstrap reuses
		// their packages (make test builds them without DWARF).
		gcflags, err := buildflags.GCFlags()
		if err != nil {
			t.Fatal(err)
		}
		if got := buildSetting(info, "-gcflags"); got != gcflags {
			t.Errorf("bootstrap built with -gcflags %q, want the caller's %q:\n%s", got, gcflags, info)
		}
	}
}

// buildSetting returns the value of a build setting in `go version -m`
// output, or "" when it is not there.
func buildSetting(info, key string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "build\t"+key+"="); ok {
			return v
		}
	}
	return ""
}
