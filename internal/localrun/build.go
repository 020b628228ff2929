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

// BuildBootstrap builds the function for this machine's OS and
// architecture, with the flags of the Lambda build, into dir/bootstrap.
func BuildBootstrap(ctx context.Context, root, dir string) (string, error) {
	out := filepath.Join(dir, "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", out, "./functions/healthcheck")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build bootstrap: %w\n%s", err, msg)
	}
	return out, nil
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
