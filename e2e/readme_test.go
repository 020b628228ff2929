package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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

// readmeCommands returns the lines of README.md's code blocks.
func readmeCommands(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			in = !in
			continue
		}
		if in {
			lines = append(lines, strings.TrimSpace(line))
		}
	}
	return lines
}

// TestREADMECommandsGoThroughMake: every make target the README's commands
// name exists, and a go command sets GOTOOLCHAIN=auto (machines set
// GOTOOLCHAIN=local, whose Go may lack go.mod's security fixes).
func TestREADMECommandsGoThroughMake(t *testing.T) {
	mk, err := os.ReadFile(filepath.Join("..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^([a-z][a-z-]*):`).FindAllStringSubmatch(string(mk), -1) {
		targets[m[1]] = true
	}
	makeCmd := regexp.MustCompile(`(?:^|[\s;&|(])make ([a-z][a-z-]*)`)
	goCmd := regexp.MustCompile(`(?:^|[\s;&|(])go (build|run|test|install|get|generate|vet|tool)\b`)
	found := 0
	for _, line := range readmeCommands(t) {
		for _, m := range makeCmd.FindAllStringSubmatch(line, -1) {
			found++
			if !targets[m[1]] {
				t.Errorf("README runs make %s, which the Makefile does not have: %s", m[1], line)
			}
		}
		if goCmd.MatchString(line) && !strings.Contains(line, "GOTOOLCHAIN=auto") {
			t.Errorf("README runs go without GOTOOLCHAIN=auto (or make): %s", line)
		}
	}
	if found < 5 {
		t.Errorf("found %d make commands in README's code blocks, want the demo, check-portal, invoke-local, portals, ...", found)
	}
}

// TestREADMEServesUsersFirst: the README stays short enough to read, with
// deploying near the top (at most 500 lines, "## Deploy" within the first
// 150); contributors' material belongs in CONTRIBUTING.md.
func TestREADMEServesUsersFirst(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 500 {
		t.Errorf("README.md has %d lines, want at most 500: move contributors' material to CONTRIBUTING.md or say it shorter", len(lines))
	}
	deploy := 0
	for i, line := range lines {
		if strings.HasPrefix(line, "## Deploy") {
			deploy = i + 1
			break
		}
	}
	if deploy == 0 || deploy > 150 {
		t.Errorf(`README.md's "## Deploy" section is at line %d, want it within the first 150 (0: missing)`, deploy)
	}
}
