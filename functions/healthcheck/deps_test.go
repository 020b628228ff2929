package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestLinkedSDKPackages guards the cold start: the Lambda build must not
// link the SDK's shared configuration and the clients its credential
// chain brings (STS, SSO, SSO OIDC, sign-in, the instance metadata
// client), whose package initialisation runs at every cold start although
// the function takes its credentials from the environment (pkg/awsenv).
func TestLinkedSDKPackages(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "-tags", "lambda.norpc", "-f", "{{.ImportPath}}", ".")
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	unwanted := []string{
		"github.com/aws/aws-sdk-go-v2/config",
		"github.com/aws/aws-sdk-go-v2/service/sts",
		"github.com/aws/aws-sdk-go-v2/service/sso",
		"github.com/aws/aws-sdk-go-v2/service/ssooidc",
		"github.com/aws/aws-sdk-go-v2/service/signin",
		"github.com/aws/aws-sdk-go-v2/feature/ec2/imds",
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, u := range unwanted {
			if pkg == u {
				t.Errorf("the function links %s; build its aws.Config with pkg/awsenv instead of the shared configuration", pkg)
			}
		}
	}
}
