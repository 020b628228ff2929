package e2e

import (
	"debug/elf"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestSAMBuildTarget runs the Makefile target that `sam build` runs for the
// function (template.yaml: BuildMethod makefile) and checks that it leaves
// a static linux/arm64 executable named bootstrap in ARTIFACTS_DIR.
func TestSAMBuildTarget(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command("make", "-C", "..", "build-HealthCheckFunction", "ARTIFACTS_DIR="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make build-HealthCheckFunction: %v\n%s", err, out)
	}
	f, err := elf.Open(filepath.Join(dir, "bootstrap"))
	if err != nil {
		t.Fatalf("bootstrap is not an ELF executable: %v", err)
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 || f.Type != elf.ET_EXEC {
		t.Errorf("bootstrap is %v %v, want an arm64 executable", f.Machine, f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("bootstrap has a program interpreter: want a static binary (CGO_ENABLED=0)")
		}
	}
}
