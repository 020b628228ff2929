package main

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// sdkServices returns the AWS SDK service clients (service/NAME, not their
// internal packages) that pkg links for the Lambda's build.
func sdkServices(t *testing.T, pkg string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-tags", "lambda.norpc", pkg)
	cmd.Dir = "../../.."
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	const prefix = "github.com/aws/aws-sdk-go-v2/service/"
	var services []string
	for _, p := range strings.Fields(string(out)) {
		name, ok := strings.CutPrefix(p, prefix)
		if ok && !strings.Contains(name, "/") && name != "internal" {
			services = append(services, name)
		}
	}
	slices.Sort(services)
	return services
}

// TestSDKFloorLinksTheFunctionsClients keeps the bench's SDK floor
// faithful: it links the same SDK service clients as the function, so that
// its Init is what those clients cost.
func TestSDKFloorLinksTheFunctionsClients(t *testing.T) {
	fn := sdkServices(t, "./functions/healthcheck")
	floor := sdkServices(t, "./bench/cmd/sdkfloor")
	if len(fn) == 0 || !slices.Equal(fn, floor) {
		t.Errorf("the function links the SDK clients %v, bench/cmd/sdkfloor %v: build the same ones in the floor", fn, floor)
	}
}
