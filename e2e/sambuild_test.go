package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSAMBuildTarget checks the Makefile target that `sam build` runs for
// the function (template.yaml: BuildMethod makefile): it builds a static
// (CGO_ENABLED=0) linux/arm64 bootstrap into ARTIFACTS_DIR with the
// deployed flags, and every package of the function loads for that target.
//
// The recipe itself runs in every end-to-end test (the race-enabled
// bootstrap they run comes from it, with LAMBDA_RACE=1), and `make
// vulncheck` type-checks every package for linux/arm64; compiling the
// standard library and the SDK for arm64 here as well would add a minute
// to a first `make test` on a fresh machine without showing more.
// `make build` builds the arm64 binary itself.
func TestSAMBuildTarget(t *testing.T) {
	dir := t.TempDir()
	out, err := exec.Command("make", "-n", "--no-print-directory", "-C", "..", "build-HealthCheckFunction", "ARTIFACTS_DIR="+dir).CombinedOutput()
	if err != nil {
		t.Fatalf("make -n build-HealthCheckFunction: %v\n%s", err, out)
	}
	recipe := string(out)
	for _, want := range []string{
		"CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build ",
		" -tags lambda.norpc -trimpath -ldflags=\"-s -w\" ",
		"-o " + filepath.Join(dir, "bootstrap") + " ./functions/healthcheck",
	} {
		if !strings.Contains(recipe, want) {
			t.Errorf("build-HealthCheckFunction runs\n%s\nwant it to contain %s", recipe, want)
		}
	}
	if strings.Contains(recipe, "-race") {
		t.Errorf("build-HealthCheckFunction builds with the race detector without LAMBDA_RACE=1:\n%s", recipe)
	}

	cmd := exec.Command("go", "list", "-e", "-deps", "-tags", "lambda.norpc", "-f", "{{if .Error}}{{.ImportPath}}: {{.Error}}{{end}}{{range .DepsErrors}}{{.}}\n{{end}}", "./functions/healthcheck")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	out, err = cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Errorf("the function's packages do not load for linux/arm64 without cgo: %v\n%s", err, out)
	}
}
