package awsenv

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

func TestConfig(t *testing.T) {
	lambda := map[string]string{
		"AWS_REGION": "eu-central-1", "AWS_DEFAULT_REGION": "eu-central-1",
		"AWS_ACCESS_KEY_ID": "ASIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s3cr3t", "AWS_SESSION_TOKEN": "token",
	}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range lambda {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name       string
		env        map[string]string
		wantRegion string
		wantErr    error
		wantErrMsg string
	}{
		{name: "what Lambda sets", env: lambda, wantRegion: "eu-central-1"},
		{name: "AWS_DEFAULT_REGION alone", env: with("AWS_REGION", ""), wantRegion: "eu-central-1"},
		{name: "AWS_REGION wins", env: with("AWS_DEFAULT_REGION", "us-west-2"), wantRegion: "eu-central-1"},
		{name: "no region", env: with("AWS_REGION", "", "AWS_DEFAULT_REGION", ""), wantErr: ErrNoRegion},
		{name: "no access key", env: with("AWS_ACCESS_KEY_ID", ""), wantErr: ErrNoCredentials},
		{name: "no secret key", env: with("AWS_SECRET_ACCESS_KEY", ""), wantErr: ErrNoCredentials},
		{name: "a bad ignore flag", env: with("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "sometimes"), wantErrMsg: `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS="sometimes"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Config(func(k string) string { return tt.env[k] })
			switch {
			case tt.wantErr != nil || tt.wantErrMsg != "":
				if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) || !strings.Contains(err.Error(), tt.wantErrMsg) {
					t.Fatalf("Config() error = %v, want %v %q", err, tt.wantErr, tt.wantErrMsg)
				}
				if strings.Contains(err.Error(), "s3cr3t") {
					t.Errorf("Config() error = %v, shows the secret key", err)
				}
				return
			case err != nil:
				t.Fatalf("Config() error = %v", err)
			}
			if cfg.Region != tt.wantRegion {
				t.Errorf("Config().Region = %q, want %q", cfg.Region, tt.wantRegion)
			}
			creds, err := cfg.Credentials.Retrieve(context.Background())
			if err != nil {
				t.Fatalf("Retrieve() error = %v", err)
			}
			if creds.AccessKeyID != "ASIAEXAMPLE" || creds.SecretAccessKey != "s3cr3t" || creds.SessionToken != "token" || creds.CanExpire {
				t.Errorf("Retrieve() = %+v, want the environment's key, secret and token, not expiring", creds)
			}
		})
	}
}

// TestConfigEndpoints builds the service clients from Config as the
// function does and checks the endpoint each one resolves: the SDK's
// clients read AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<ID> from the process
// environment too, so the variables are set there.
func TestConfigEndpoints(t *testing.T) {
	type endpoints struct{ sm, sns, ddb string }
	tests := []struct {
		name string
		env  map[string]string
		want endpoints
	}{
		{name: "none", env: map[string]string{}},
		{name: "all services", env: map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"},
			want: endpoints{"http://127.0.0.1:5000", "http://127.0.0.1:5000", "http://127.0.0.1:5000"}},
		{name: "one service", env: map[string]string{"AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://127.0.0.1:5001"},
			want: endpoints{sm: "http://127.0.0.1:5001"}},
		{name: "one service overrides all", env: map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "AWS_ENDPOINT_URL_SNS": "http://127.0.0.1:5002", "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:5003"},
			want: endpoints{"http://127.0.0.1:5000", "http://127.0.0.1:5002", "http://127.0.0.1:5003"}},
		{name: "ignored", env: map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "AWS_ENDPOINT_URL_SNS": "http://127.0.0.1:5002", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL_SNS", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"} {
				t.Setenv(k, tt.env[k])
				if tt.env[k] == "" {
					os.Unsetenv(k)
				}
			}
			t.Setenv("AWS_REGION", "us-east-1")
			t.Setenv("AWS_ACCESS_KEY_ID", "test")
			t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
			cfg, err := Config(os.Getenv)
			if err != nil {
				t.Fatalf("Config() error = %v", err)
			}
			got := endpoints{
				sm:  aws.ToString(secretsmanager.NewFromConfig(cfg).Options().BaseEndpoint),
				sns: aws.ToString(sns.NewFromConfig(cfg).Options().BaseEndpoint),
				ddb: aws.ToString(dynamodb.NewFromConfig(cfg).Options().BaseEndpoint),
			}
			if got != tt.want {
				t.Errorf("endpoints (Secrets Manager, SNS, DynamoDB) = %+v, want %+v", got, tt.want)
			}
		})
	}
}
