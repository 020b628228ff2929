// Package localrun runs the real function locally without AWS or Docker:
// it builds bootstrap for this machine, runs it under the AWS Lambda
// Runtime Interface Emulator, creates the secret, topic and a subscribed
// queue in moto_server, and reads back the alerts. The end-to-end tests,
// `make demo`, `make invoke` and the benchmarks share it.
//
// The pinned emulator is built once per machine into [ToolsDir], and
// builds of bootstrap from one checkout take turns, so test packages that
// start at once compile the function once.
package localrun

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
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
//
// A race-enabled caller (the race tests, through the end-to-end tests, the
// demo's and the invoke command's) gets bootstrap built with the race
// detector instead (the recipe's LAMBDA_RACE=1), and [StartFunction] makes
// a data race in the function fail its invocation.
func BuildBootstrap(ctx context.Context, root, dir string) (string, error) {
	return BuildBootstrapFor(ctx, root, dir, runtime.GOARCH)
}

// BuildBootstrapFor builds the function for linux/goarch into
// dir/bootstrap with the Makefile's build-HealthCheckFunction target
// (with the race detector when the caller has it and goarch is this
// machine's, as [BuildBootstrap] says). Builds of one checkout take turns
// (a lock file in the user's cache directory), so that test packages
// building at once compile the function once and the others find it in
// Go's build cache.
func BuildBootstrapFor(ctx context.Context, root, dir, goarch string) (string, error) {
	sum := sha256.Sum256([]byte(root))
	unlock, err := lockFile(ctx, fmt.Sprintf("build-%x.lock", sum[:8]))
	if err != nil {
		return "", err
	}
	defer unlock()
	args := []string{"--no-print-directory", "-C", root, "build-HealthCheckFunction", "ARTIFACTS_DIR=" + dir, "LAMBDA_GOARCH=" + goarch}
	if raceEnabled && goarch == runtime.GOARCH {
		args = append(args, "LAMBDA_RACE=1")
	}
	cmd := exec.CommandContext(ctx, "make", args...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build bootstrap for linux/%s: %w\n%s", goarch, err, msg)
	}
	return filepath.Join(dir, "bootstrap"), nil
}

// CacheDir returns the project's directory in the user's cache directory
// ($XDG_CACHE_HOME or ~/.cache on Linux): docspace-backup-watch.
func CacheDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("cache directory: %w", err)
	}
	return filepath.Join(base, "docspace-backup-watch"), nil
}

// ToolsDir returns the directory of the pinned tools (root/tools/go.mod)
// built for this machine: CacheDir()/tools-KEY, where KEY is the start of
// the SHA-256 of tools/go.mod and tools/go.sum, so that every clone and
// worktree with the same pins shares one build, and a change of the pins
// builds anew. The Makefile computes the same directory.
func ToolsDir(root string) (string, error) {
	h := sha256.New()
	for _, name := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(root, "tools", name))
		if err != nil {
			return "", fmt.Errorf("tools directory: %w", err)
		}
		h.Write(b)
	}
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(cache, fmt.Sprintf("tools-%x", h.Sum(nil)[:8])), nil
}

// RIEPath returns the pinned emulator (tools/go.mod) in [ToolsDir],
// building it there first when it is not built yet (a minute or two on a
// fresh machine; `make tools` builds it too).
func RIEPath(ctx context.Context, root string) (string, error) {
	dir, err := ToolsDir(root)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "aws-lambda-rie")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	unlock, err := lockFile(ctx, "tools.lock")
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(bin); err == nil {
		return bin, nil // built while we waited
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp := bin + ".tmp"
	cmd := exec.CommandContext(ctx, "go", "build", "-o", tmp, RIEModule)
	cmd.Dir = filepath.Join(root, "tools")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the Lambda Runtime Interface Emulator: %w\n%s", err, msg)
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", err
	}
	return bin, nil
}

// lockFile takes an exclusive lock on name in [CacheDir], waiting for it,
// and returns the function that releases it.
func lockFile(ctx context.Context, name string) (func(), error) {
	dir, err := CacheDir()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- syscall.Flock(int(f.Fd()), syscall.LOCK_EX) }()
	select {
	case err := <-done:
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
		}
		return func() { f.Close() }, nil
	case <-ctx.Done():
		f.Close() // the pending Flock returns or the lock goes with the file
		return nil, ctx.Err()
	}
}
