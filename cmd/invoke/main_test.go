package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/docspace-backup-watch/docspace-backup-watch/internal/localrun"
	"github.com/docspace-backup-watch/docspace-backup-watch/internal/motoserver"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/fakeportal"
)

func TestFunctionEnv(t *testing.T) {
	base := map[string]string{"AWS_LAMBDA_FUNCTION_TIMEOUT": "90", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128"}
	with := func(kv ...string) map[string]string {
		m := maps.Clone(base)
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name, file string
		environ    []string
		want       map[string]string
		wantErr    string
	}{
		{name: "the function's variables", file: `{"HealthCheckFunction":{"PORTAL_URL":"https://p.example.com","STATE_TABLE":""}}`,
			want: with("PORTAL_URL", "https://p.example.com", "STATE_TABLE", "")},
		{name: "Parameters for every function, the function's own win", file: `{"Parameters":{"LOG_LEVEL":"DEBUG","MAX_CONCURRENCY":"5"},"HealthCheckFunction":{"MAX_CONCURRENCY":"10"}}`,
			want: with("LOG_LEVEL", "DEBUG", "MAX_CONCURRENCY", "10")},
		{name: "Parameters alone", file: `{"Parameters":{"LOG_LEVEL":"DEBUG"}}`, want: with("LOG_LEVEL", "DEBUG")},
		{name: "numbers and booleans", file: `{"HealthCheckFunction":{"MAX_CONCURRENCY":10,"ALLOW_INSECURE_HTTP":true}}`,
			want: with("MAX_CONCURRENCY", "10", "ALLOW_INSECURE_HTTP", "true")},
		{name: "the caller's AWS variables, not the others", file: `{"HealthCheckFunction":{}}`,
			environ: []string{"AWS_ACCESS_KEY_ID=AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY=s3cr3t", "AWS_SESSION_TOKEN=tok", "AWS_REGION=eu-west-1", "AWS_PROFILE=ops",
				"AWS_ENDPOINT_URL=http://127.0.0.1:5000", "AWS_ENDPOINT_URL_SNS=http://127.0.0.1:5001", "DOCSPACE_API_KEY=sk-not-for-the-function", "PATH=/usr/bin", "HOME=/root"},
			want: with("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY", "s3cr3t", "AWS_SESSION_TOKEN", "tok", "AWS_REGION", "eu-west-1", "AWS_PROFILE", "ops",
				"AWS_ENDPOINT_URL", "http://127.0.0.1:5000", "AWS_ENDPOINT_URL_SNS", "http://127.0.0.1:5001")},
		{name: "the file wins over the caller", file: `{"HealthCheckFunction":{"AWS_REGION":"us-east-1","AWS_LAMBDA_FUNCTION_TIMEOUT":"30"}}`,
			environ: []string{"AWS_REGION=eu-west-1"}, want: map[string]string{"AWS_REGION": "us-east-1", "AWS_LAMBDA_FUNCTION_TIMEOUT": "30", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128"}},
		{name: "another function only", file: `{"OtherFunction":{"A":"b"}}`, wantErr: `no "HealthCheckFunction" or "Parameters" object (it has: "OtherFunction")`},
		{name: "not JSON", file: `PORTAL_URL=https://p.example.com`, wantErr: `want {"HealthCheckFunction": {"NAME": "value", ...}}`},
		{name: "flat object", file: `{"PORTAL_URL":"https://p.example.com"}`, wantErr: "want {"},
		{name: "nested value", file: `{"HealthCheckFunction":{"A":{"b":1}}}`, wantErr: "A: want a string, number or boolean"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := functionEnv([]byte(tt.file), "HealthCheckFunction", tt.environ)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("functionEnv() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("functionEnv() error = %v", err)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("functionEnv() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWithCallerCredentials(t *testing.T) {
	profile := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("ASIAPROFILE", "profile-secret", "profile-token")}
	tests := []struct {
		name    string
		env     map[string]string
		cfg     aws.Config
		loadErr error
		want    map[string]string
		wantErr string
	}{
		{name: "keys and region set: nothing loaded", env: map[string]string{"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"},
			loadErr: errors.New("must not load"), want: map[string]string{"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}},
		{name: "a profile's credentials and region", env: map[string]string{"AWS_PROFILE": "ops"}, cfg: profile,
			want: map[string]string{"AWS_PROFILE": "ops", "AWS_ACCESS_KEY_ID": "ASIAPROFILE", "AWS_SECRET_ACCESS_KEY": "profile-secret", "AWS_SESSION_TOKEN": "profile-token", "AWS_REGION": "eu-west-1"}},
		{name: "the file's region wins", env: map[string]string{"AWS_REGION": "us-east-1"}, cfg: profile,
			want: map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "ASIAPROFILE", "AWS_SECRET_ACCESS_KEY": "profile-secret", "AWS_SESSION_TOKEN": "profile-token"}},
		{name: "keys without a token drop a stale token", env: map[string]string{"AWS_SESSION_TOKEN": "stale"},
			cfg:  aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIALONGTERM", "long-secret", "")},
			want: map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIALONGTERM", "AWS_SECRET_ACCESS_KEY": "long-secret"}},
		{name: "no region anywhere", env: map[string]string{}, cfg: aws.Config{Credentials: profile.Credentials}, wantErr: "needs an AWS region"},
		{name: "no credentials anywhere", env: map[string]string{"AWS_REGION": "us-east-1"}, cfg: aws.Config{Region: "us-east-1"}, wantErr: "needs AWS credentials"},
		{name: "the caller's configuration fails", env: map[string]string{}, loadErr: errors.New("profile ops: not found"), wantErr: "profile ops: not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := withCallerCredentials(context.Background(), tt.env, func(context.Context) (aws.Config, error) { return tt.cfg, tt.loadErr })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("withCallerCredentials() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("withCallerCredentials() error = %v", err)
			}
			if !maps.Equal(tt.env, tt.want) {
				t.Errorf("withCallerCredentials() env = %v, want %v", tt.env, tt.want)
			}
		})
	}
}

// TestInvoke runs the built bootstrap under the emulator against moto and
// the fake portal, as `make invoke` does with AWS_ENDPOINT_URL set.
func TestInvoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the function; skipped with -short")
	}
	endpoint := motoserver.Start(t)
	const key = "sk-invoke-test-0000"
	portal, err := fakeportal.New(key, fakeportal.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	url, stop, err := localrun.Serve(portal)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	ctx := context.Background()
	stack, err := localrun.CreateStack(ctx, motoserver.AWSConfig(endpoint), "invoke", key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	env := write("env.json", fmt.Sprintf(`{"HealthCheckFunction":{"PORTAL_URL":%q,"SECRET_ID":%q,"TOPIC_ARN":%q,"STATE_TABLE":"","ALLOW_INSECURE_HTTP":"true"}}`,
		url, stack.SecretARN, stack.TopicARN))
	environ := []string{"AWS_ENDPOINT_URL=" + endpoint, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1"}
	// The first case builds bootstrap as make invoke does; the others run
	// one built once here, through -bootstrap.
	root, err := localrun.ModuleRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	built, err := localrun.BuildBootstrap(ctx, root, filepath.Join(dir, "built"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		scenario  fakeportal.Scenario
		event     string
		bootstrap string
		wantCode  int
		want      string
	}{
		{"healthy portal", fakeportal.Healthy, `{}`, "", 0, `"reason": "healthy"`},
		{"inactive portal", fakeportal.Inactive, `{}`, built, 0, `"reason": "service_inactive"`},
		{"unreadable secret", fakeportal.Healthy, `{"secretId":"no-such-secret"}`, built, 2, `errorMessage`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := portal.SetConfig(fakeportal.Config{Scenario: tt.scenario}); err != nil {
				t.Fatal(err)
			}
			args := []string{"-event", write("event.json", tt.event), "-env", env}
			if tt.bootstrap != "" {
				args = append(args, "-bootstrap", tt.bootstrap)
			}
			var out, errOut bytes.Buffer
			code := run(ctx, args, environ, &out, &errOut)
			if code != tt.wantCode || !strings.Contains(out.String(), tt.want) {
				t.Errorf("run() = %d, stdout %s; want %d and %s\nstderr: %s", code, out.String(), tt.wantCode, tt.want, errOut.String())
			}
			if strings.Contains(out.String()+errOut.String(), key) {
				t.Error("the output holds the API key")
			}
			// The emulator's shutdown, after the invocation, is no error of the run.
			if strings.Contains(errOut.String(), "failed to get the next invoke") {
				t.Errorf("run() printed the emulator's shutdown as an error:\n%s", errOut.String())
			}
		})
	}

	// make invoke-local: moto_server and the fake portal started, the
	// secret, topic and table created, no AWS variables from the caller.
	t.Run("local", func(t *testing.T) {
		for _, tt := range []struct {
			scenario, wantResult, wantNotice string
		}{
			{"healthy", `"reason": "healthy"`, "notices the topic received: none"},
			{"stale", `"reason": "backup_stale"`, "Subject: DocSpace backup critical: backup_stale on 127.0.0.1:"},
		} {
			var out, errOut bytes.Buffer
			args := []string{"-local", "-scenario", tt.scenario, "-event", filepath.Join(root, "events", "scheduled.json"), "-env", filepath.Join(root, "events", "env.json"), "-bootstrap", built}
			code := run(ctx, args, []string{"AWS_PROFILE=no-such-profile", "AWS_REGION=eu-west-1"}, &out, &errOut)
			if code != 0 || !strings.Contains(out.String(), tt.wantResult) || !strings.Contains(errOut.String(), tt.wantNotice) {
				t.Errorf("run(-local -scenario %s) = %d, stdout %s; want 0, %s and %q on stderr\nstderr: %s", tt.scenario, code, out.String(), tt.wantResult, tt.wantNotice, errOut.String())
			}
			if strings.Contains(errOut.String(), "failed to get the next invoke") {
				t.Errorf("run(-local) printed the emulator's shutdown as an error:\n%s", errOut.String())
			}
			if strings.Contains(out.String()+errOut.String(), localKey) {
				t.Error("the output holds the fake portal's API key")
			}
		}
	})
	var out, errOut bytes.Buffer
	if code := run(ctx, []string{"-event", write("bad.json", "{"), "-env", env}, environ, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "is not JSON") {
		t.Errorf("run() with a broken event = %d, %s; want 1 and 'is not JSON'", code, errOut.String())
	}
}

// TestInvokeLocalRefusesEarly: a missing moto_server or an unknown scenario
// is said before anything is built.
func TestInvokeLocalRefusesEarly(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no moto_server", []string{"-local"}, "moto_server is not on PATH (install it with: pip install"},
		{"unknown scenario", []string{"-local", "-scenario", "stail"}, `unknown scenario "stail"; the scenarios are: healthy, inactive,`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := append(tt.args, "-event", "../../events/scheduled.json", "-env", "../../events/env.json")
			if code := run(context.Background(), args, nil, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), tt.want) {
				t.Errorf("run(%q) = %d, stderr %s; want 1 and %q", args, code, errOut.String(), tt.want)
			}
			if strings.Contains(errOut.String(), "building bootstrap") {
				t.Errorf("run(%q) built bootstrap before refusing:\n%s", args, errOut.String())
			}
		})
	}
}
