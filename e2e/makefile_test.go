package e2e

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestMakefileTargetsSayWhatTheyDo: every target a person may run (each
// rule whose name is a plain word) has its one line, `## name: what it
// does`, which `make help` prints.
func TestMakefileTargetsSayWhatTheyDo(t *testing.T) {
	b, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	makefile := string(b)
	rules := regexp.MustCompile(`(?m)^([a-zA-Z][a-zA-Z-]*):`).FindAllStringSubmatch(makefile, -1)
	if len(rules) < 10 {
		t.Fatalf("found %d rules in the Makefile, want its targets", len(rules))
	}
	out, err := exec.Command("make", "-s", "--no-print-directory", "-C", "..", "help").Output()
	if err != nil {
		t.Fatalf("make help: %v", err)
	}
	for _, r := range rules {
		name := r[1]
		if !regexp.MustCompile(`(?m)^## ` + name + `: \S`).MatchString(makefile) {
			t.Errorf("make %s has no line saying what it does (## %s: ...)", name, name)
		}
		if !regexp.MustCompile(`(?m)^` + name + `\s+\S`).Match(out) {
			t.Errorf("make help does not list %s:\n%s", name, out)
		}
	}
}

// TestMakeTestChecksPrerequisitesFirst: the first thing `make test` (what
// .ci/run runs) does is .ci/prereq, so that a missing moto_server or
// cfn-lint fails it at once instead of after minutes of compiling.
func TestMakeTestChecksPrerequisitesFirst(t *testing.T) {
	out, err := exec.Command("make", "-n", "--no-print-directory", "-C", "..", "test").Output()
	if err != nil {
		t.Fatalf("make -n test: %v", err)
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if first != ".ci/prereq test" {
		t.Errorf("make test runs first %q, want .ci/prereq test; all:\n%s", first, out)
	}
}

// TestFuzzStartsFromTheSeeds: `make fuzz` drops the inputs earlier runs
// cached for this module before it fuzzes, so that each run spends its
// FUZZ_TIME fuzzing rather than replaying an ever larger cached corpus.
func TestFuzzStartsFromTheSeeds(t *testing.T) {
	out, err := exec.Command("make", "-n", "--no-print-directory", "-C", "..", "fuzz").Output()
	if err != nil {
		t.Fatalf("make -n fuzz: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	drop := regexp.MustCompile(`^cache=\$\(.* env GOCACHE\) && module=\$\(.* list -m\) && test -n "\$cache" -a -n "\$module" && rm -rf "\$cache/fuzz/\$module"$`)
	if len(lines) < 2 || !drop.MatchString(lines[0]) || !strings.Contains(lines[1], "-fuzz") {
		t.Errorf("make fuzz does not first drop this module's cached fuzz inputs (then fuzz); it runs:\n%s", out)
	}
}
