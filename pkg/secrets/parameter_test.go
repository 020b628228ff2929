package secrets

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"
)

type fakeParameters struct {
	param *ssmtypes.Parameter
	err   error
	calls int
	names []string
}

func (f *fakeParameters) GetParameter(_ context.Context, in *ssm.GetParameterInput, _ ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	f.calls++
	f.names = append(f.names, aws.ToString(in.Name))
	if !aws.ToBool(in.WithDecryption) {
		return nil, errors.New("read without decryption")
	}
	if f.err != nil {
		return nil, f.err
	}
	return &ssm.GetParameterOutput{Parameter: f.param}, nil
}

const paramARN = "arn:aws:ssm:us-east-1:123456789012:parameter/docspace-backup-watch/prod/a.example.com"

// TestParameterBinding: an SSM parameter ARN is read from Parameter Store,
// decrypted, with the same binding and checks as a secret; a String
// parameter (the key in plain text) is refused; no error holds the key.
func TestParameterBinding(t *testing.T) {
	const key = "sk-parameter-key-0123456789"
	bound := `{"portalUrl":"https://a.example.com","apiKey":"` + key + `"}`
	for _, tt := range []struct {
		name     string
		param    *ssmtypes.Parameter
		err      error
		wantURL  string
		wantErr  error
		wantText string
	}{
		{name: "bound", param: &ssmtypes.Parameter{Type: ssmtypes.ParameterTypeSecureString, Value: aws.String(bound)}, wantURL: "https://a.example.com"},
		{name: "bare key", param: &ssmtypes.Parameter{Type: ssmtypes.ParameterTypeSecureString, Value: aws.String(key)}},
		{name: "plain String", param: &ssmtypes.Parameter{Type: ssmtypes.ParameterTypeString, Value: aws.String(bound)}, wantErr: ErrMalformed, wantText: "SecureString"},
		{name: "a key with a space", param: &ssmtypes.Parameter{Type: ssmtypes.ParameterTypeSecureString, Value: aws.String(`{"portalUrl":"https://a.example.com","apiKey":"sk-01 ` + key + `"}`)}, wantErr: ErrMalformed},
		{name: "empty", param: &ssmtypes.Parameter{Type: ssmtypes.ParameterTypeSecureString, Value: aws.String("")}, wantErr: ErrEmptyKey},
		{name: "not found", err: &smithy.GenericAPIError{Code: "ParameterNotFound"}, wantErr: ErrSecretNotFound},
		{name: "access denied", err: &smithy.GenericAPIError{Code: "AccessDeniedException"}, wantErr: ErrAccessDenied, wantText: "ssm:GetParameter"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sm := &fakeGetter{err: errors.New("Secrets Manager must not be asked")}
			p := &fakeParameters{param: tt.param, err: tt.err}
			b, err := NewStore(sm, "", time.Minute, WithParameters(p)).Binding(context.Background(), paramARN)
			if sm.calls != 0 || p.calls != 1 || p.names[0] != paramARN {
				t.Fatalf("Secrets Manager calls %d, GetParameter %v; want one GetParameter of %s", sm.calls, p.names, paramARN)
			}
			if tt.wantErr == nil {
				if err != nil || b.Key != key || b.PortalURL != tt.wantURL {
					t.Fatalf("Binding() = %q %q, %v; want the key bound to %q", b.PortalURL, b.Key, err, tt.wantURL)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), paramARN) || !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("Binding() error = %v, want %v naming the parameter and %q", err, tt.wantErr, tt.wantText)
			}
			if err != nil && strings.Contains(err.Error(), key) {
				t.Errorf("Binding() error holds the key: %v", err)
			}
		})
	}
}

// TestParameterCacheAndRouting: a parameter is cached for the TTL as a
// secret is; an id that is not a parameter ARN (a name starting with "/"
// included) goes to Secrets Manager; without WithParameters a parameter
// ARN is an error, not a Secrets Manager call.
func TestParameterCacheAndRouting(t *testing.T) {
	p := &fakeParameters{param: &ssmtypes.Parameter{Type: ssmtypes.ParameterTypeSecureString, Value: aws.String("sk-cached-parameter")}}
	sm := &fakeGetter{value: aws.String("sk-from-secrets-manager")}
	s := NewStore(sm, "", time.Minute, WithParameters(p))
	for range 3 {
		if k, err := s.APIKey(context.Background(), paramARN); err != nil || k != "sk-cached-parameter" {
			t.Fatalf("APIKey(parameter) = %q, %v", k, err)
		}
	}
	for _, id := range []string{"docspace/a", "/docspace-backup-watch/prod/a.example.com", "arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf"} {
		if k, err := s.APIKey(context.Background(), id); err != nil || k != "sk-from-secrets-manager" {
			t.Errorf("APIKey(%s) = %q, %v, want Secrets Manager's key", id, k, err)
		}
	}
	if p.calls != 1 || sm.calls != 3 {
		t.Errorf("GetParameter calls %d, GetSecretValue calls %d; want 1 (cached) and 3", p.calls, sm.calls)
	}
	sm.calls = 0
	if _, err := NewStore(sm, "", 0).APIKey(context.Background(), paramARN); err == nil || sm.calls != 0 {
		t.Errorf("APIKey(parameter) without WithParameters = %v with %d Secrets Manager calls, want an error and none", err, sm.calls)
	}
	for id, want := range map[string]bool{
		paramARN: true, "arn:aws-us-gov:ssm:us-gov-west-1:123456789012:parameter/x": true,
		"arn:aws:ssm:us-east-1:123456789012:parameter/": false, "arn:aws:ssm:us-east-1:123456789012:document/x": false,
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:x": false, "/docspace-backup-watch/prod/a": false,
	} {
		if ParameterARN(id) != want {
			t.Errorf("ParameterARN(%q) = %v, want %v", id, !want, want)
		}
	}
}
