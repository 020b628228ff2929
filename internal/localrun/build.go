// Package localrun runs the real function locally without AWS or Docker:
// it builds bootstrap for this machine, runs it under the AWS Lambda
// Runtime Interface Emulator, creates the secret, topic and a subscribed
// queue in moto_server, and reads back the alerts. The end-to-end tests,
// `make demo` and the benchmarks share it.
package localrun

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// RIEModule is the emulator's command, pinned in tools/go.mod.
const RIEModule = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"

// ModuleRoot returns the directory of the project's go.mod.
func ModuleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside the project's Go module")
	}
	return filepath.Dir(gomod), nil
}

// BuildBootstrap builds the function for this machine's architecture
// into dir/bootstrap, with the Makefile's Lambda build (the recipe that
// `sam build` runs), so that local runs use the flags of the deployed one.
func BuildBootstrap(ctx context.Context, root, dir string) (string, error) {
	return BuildBootstrapFor(ctx, root, dir, runtime.GOARCH)
}

// BuildBootstrapFor builds the function for linux/goarch into
// dir/bootstrap with the Makefile's build-HealthCheckFunction target.
func BuildBootstrapFor(ctx context.Context, root, dir, goarch string) (string, error) {
	cmd := exec.CommandContext(ctx, "make", "--no-print-directory", "-C", root, "build-HealthCheckFunction", "ARTIFACTS_DIR="+dir, "LAMBDA_GOARCH="+goarch)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build bootstrap for linux/%s: %w\n%s", goarch, err, msg)
	}
	return filepath.Join(dir, "bootstrap"), nil
}

// RIEPath returns root/bin/aws-lambda-rie, building it from tools/go.mod
// (the pinned version) when it is not there yet.
func RIEPath(ctx context.Context, root string) (string, error) {
	bin := filepath.Join(root, "bin", "aws-lambda-rie")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, RIEModule)
	cmd.Dir = filepath.Join(root, "tools")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the Lambda Runtime Interface Emulator: %w\n%s", err, msg)
	}
	return bin, nil
}
