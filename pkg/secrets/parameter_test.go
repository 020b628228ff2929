package secrets

import (
	"context"
	"errors"
	"fmt"
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
	// batches are the Names of each GetParameters call; byName answers
	// them (a name it lacks is an invalid parameter).
	batches [][]string
	byName  map[string]ssmtypes.Parameter
}

func (f *fakeParameters) GetParameters(_ context.Context, in *ssm.GetParametersInput, _ ...func(*ssm.Options)) (*ssm.GetParametersOutput, error) {
	f.batches = append(f.batches, in.Names)
	if !aws.ToBool(in.WithDecryption) || len(in.Names) > 10 {
		return nil, errors.New("bad GetParameters call")
	}
	out := &ssm.GetParametersOutput{}
	for _, n := range in.Names {
		if p, ok := f.byName["arn:aws:ssm:us-east-1:123456789012:parameter"+n]; ok {
			out.Parameters = append(out.Parameters, p)
		} else {
			out.InvalidParameters = append(out.InvalidParameters, n)
		}
	}
	return out, nil
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

// TestPrefetch: the parameters among a run's ids are read ten to a
// GetParameters call and cached, so the checks' Binding calls read none
// again; a parameter Prefetch cannot use (a String one, a missing one) is
// left to Binding, which reads it alone and says why; secrets, cached
// parameters and a store without a cache are not prefetched.
func TestPrefetch(t *testing.T) {
	const key = "sk-prefetched-key-0123456789"
	f := &fakeParameters{byName: map[string]ssmtypes.Parameter{}}
	var ids []string
	for i := range 23 {
		arn := fmt.Sprintf("arn:aws:ssm:us-east-1:123456789012:parameter/docspace-backup-watch/prod/p%d.example.com", i)
		ids = append(ids, arn)
		f.byName[arn] = ssmtypes.Parameter{ARN: aws.String(arn), Type: ssmtypes.ParameterTypeSecureString, Value: aws.String(fmt.Sprintf(`{"portalUrl":"https://p%d.example.com","apiKey":"%s"}`, i, key))}
	}
	plain := "arn:aws:ssm:us-east-1:123456789012:parameter/docspace-backup-watch/prod/plain"
	missing := "arn:aws:ssm:us-east-1:123456789012:parameter/docspace-backup-watch/prod/missing"
	f.byName[plain] = ssmtypes.Parameter{ARN: aws.String(plain), Type: ssmtypes.ParameterTypeString, Value: aws.String(`{"portalUrl":"https://plain.example.com","apiKey":"` + key + `"}`)}
	f.param = &ssmtypes.Parameter{Type: ssmtypes.ParameterTypeString, Value: aws.String(key)}
	sm := &fakeGetter{value: aws.String(key)}
	s := NewStore(sm, "", time.Minute, WithParameters(f))
	s.Prefetch(context.Background(), append(append([]string{"docspace/secret", ids[0]}, ids...), plain, missing))
	if len(f.batches) != 3 || len(f.batches[0]) != 10 || len(f.batches[2]) != 5 || sm.calls != 0 {
		t.Fatalf("GetParameters calls %v (Secrets Manager %d), want 3 calls of at most 10 names, no secret", f.batches, sm.calls)
	}
	for i, id := range ids {
		b, err := s.Binding(context.Background(), id)
		if err != nil || b.Key != key || b.PortalURL != fmt.Sprintf("https://p%d.example.com", i) {
			t.Fatalf("Binding(%s) = %+v, %v", id, b, err)
		}
	}
	if f.calls != 0 {
		t.Errorf("GetParameter calls after Prefetch = %d, want 0", f.calls)
	}
	if _, err := s.Binding(context.Background(), plain); !errors.Is(err, ErrMalformed) || f.calls != 1 {
		t.Errorf("Binding(String parameter) = %v after %d GetParameter calls, want ErrMalformed from its own read", err, f.calls)
	}
	f.batches = nil
	s.Prefetch(context.Background(), append(ids, missing))
	if len(f.batches) != 1 || len(f.batches[0]) != 1 || f.batches[0][0] != "/docspace-backup-watch/prod/missing" {
		t.Errorf("Prefetch of cached ids: GetParameters calls %v, want only the missing one", f.batches)
	}
	f.batches = nil
	NewStore(sm, "", 0, WithParameters(f)).Prefetch(context.Background(), ids)
	if len(f.batches) != 0 {
		t.Errorf("Prefetch without a cache made %d calls, want none", len(f.batches))
	}
	// Another account's ARN: asked by name, the answer is this account's
	// parameter of that name, which is not the one asked for.
	foreign := "arn:aws:ssm:us-east-1:999999999999:parameter/docspace-backup-watch/prod/p1.example.com"
	s2 := NewStore(sm, "", time.Minute, WithParameters(f))
	s2.Prefetch(context.Background(), []string{foreign})
	if _, err := s2.Binding(context.Background(), foreign); f.calls != 2 || err == nil {
		t.Errorf("Binding(another account's ARN) after Prefetch = %v with %d GetParameter calls, want it read alone (here: a String, refused)", err, f.calls)
	}
}
