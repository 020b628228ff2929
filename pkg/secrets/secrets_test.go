package secrets

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
)

type fakeGetter struct {
	value *string
	err   error
	calls int
}

func (f *fakeGetter) GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: f.value}, nil
}

func TestAPIKey(t *testing.T) {
	const secretKey = "sk-abcdef0123456789"
	tests := []struct {
		name    string
		value   *string
		err     error
		field   string
		want    string
		wantErr error
	}{
		{name: "plain", value: aws.String(" " + secretKey + "\n"), want: secretKey},
		{name: "json default field", value: aws.String(`{"apiKey":"` + secretKey + `"}`), want: secretKey},
		{name: "json custom field", value: aws.String(`{"key":"` + secretKey + `"}`), field: "key", want: secretKey},
		{name: "malformed json", value: aws.String(`{"apiKey":"` + secretKey)},
		{name: "missing field", value: aws.String(`{"other":"` + secretKey + `"}`), wantErr: ErrEmptyKey},
		{name: "empty", value: aws.String("  "), wantErr: ErrEmptyKey},
		{name: "binary only", wantErr: ErrEmptyKey},
		{name: "not found", err: &smithy.GenericAPIError{Code: "ResourceNotFoundException"}, wantErr: ErrSecretNotFound},
		{name: "access denied", err: &smithy.GenericAPIError{Code: "AccessDeniedException"}, wantErr: ErrAccessDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStore(&fakeGetter{value: tt.value, err: tt.err}, tt.field, time.Minute)
			got, err := s.APIKey(context.Background(), "docspace/key")
			if tt.want != "" {
				if err != nil || string(got) != tt.want {
					t.Fatalf("APIKey() = %q, %v, want the key", got, err)
				}
				return
			}
			if err == nil {
				t.Fatal("APIKey() error = nil, want one")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), secretKey) || !strings.Contains(err.Error(), "docspace/key") {
				t.Errorf("APIKey() error = %q, want the secret id and no key", err)
			}
		})
	}
}

func TestAPIKeyCache(t *testing.T) {
	g := &fakeGetter{value: aws.String("sk-cached-key")}
	s := NewStore(g, "", time.Minute)
	now := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	for range 3 {
		if _, err := s.APIKey(context.Background(), "id"); err != nil {
			t.Fatalf("APIKey() error = %v", err)
		}
	}
	if g.calls != 1 {
		t.Errorf("calls within TTL = %d, want 1", g.calls)
	}
	now = now.Add(2 * time.Minute)
	if _, err := s.APIKey(context.Background(), "id"); err != nil || g.calls != 2 {
		t.Errorf("calls after TTL = %d (%v), want 2", g.calls, err)
	}
}

// gatedGetter blocks every read until release is closed, and counts them.
type gatedGetter struct {
	release chan struct{}
	calls   atomic.Int32
}

func (g *gatedGetter) GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	g.calls.Add(1)
	<-g.release
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(`{"apiKey":"sk-shared"}`)}, nil
}

// TestAPIKeyConcurrentCallsShareOneRead: a run over many portals sharing a
// secret reads it once, not once per portal.
func TestAPIKeyConcurrentCallsShareOneRead(t *testing.T) {
	g := &gatedGetter{release: make(chan struct{})}
	s := NewStore(g, "", time.Minute)
	const callers = 20
	var wg sync.WaitGroup
	keys := make([]string, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := s.APIKey(context.Background(), "shared")
			if err != nil {
				t.Errorf("APIKey() error = %v", err)
			}
			keys[i] = string(k)
		}()
	}
	// Let the callers pile up behind the first read, then release it.
	for g.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	close(g.release)
	wg.Wait()
	if n := g.calls.Load(); n != 1 {
		t.Errorf("GetSecretValue calls = %d, want 1", n)
	}
	for i, k := range keys {
		if k != "sk-shared" {
			t.Errorf("caller %d got %q, want sk-shared", i, k)
		}
	}
}

// TestAPIKeyWaiterHonoursItsContext: a caller waiting for another's read
// gives up when its own context ends.
func TestAPIKeyWaiterHonoursItsContext(t *testing.T) {
	g := &gatedGetter{release: make(chan struct{})}
	defer close(g.release)
	s := NewStore(g, "", time.Minute)
	go func() { _, _ = s.APIKey(context.Background(), "slow") }()
	for g.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := s.APIKey(ctx, "slow"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("APIKey() error = %v, want the context's deadline", err)
	}
}

func TestBinding(t *testing.T) {
	const key = "sk-binding-0123456789"
	tests := []struct {
		name    string
		value   string
		field   string
		want    Binding
		wantErr []error
	}{
		{name: "bound", value: `{"portalUrl":"https://a.example.com","apiKey":"` + key + `"}`, want: Binding{PortalURL: "https://a.example.com", Key: key}},
		{name: "bound, trimmed", value: `{"portalUrl":" https://a.example.com/docspace/ ","apiKey":" ` + key + ` "}`, want: Binding{PortalURL: "https://a.example.com/docspace/", Key: key}},
		{name: "bound, custom field", field: "token", value: `{"portalUrl":"https://a.example.com","token":"` + key + `"}`, want: Binding{PortalURL: "https://a.example.com", Key: key}},
		{name: "bare string", value: key, want: Binding{Key: key}},
		{name: "bare JSON", value: `{"apiKey":"` + key + `"}`, want: Binding{Key: key}},
		{name: "portalUrl not a string", value: `{"portalUrl":5,"apiKey":"` + key + `"}`, wantErr: []error{ErrMalformed}},
		{name: "portalUrl empty", value: `{"portalUrl":"","apiKey":"` + key + `"}`, wantErr: []error{ErrMalformed}},
		{name: "portalUrl relative", value: `{"portalUrl":"a.example.com","apiKey":"` + key + `"}`, wantErr: []error{ErrMalformed}},
		{name: "key not a string", value: `{"portalUrl":"https://a.example.com","apiKey":123}`, wantErr: []error{ErrMalformed}},
		{name: "key with a line break inside", value: `{"apiKey":"sk-binding\n0123456789"}`, wantErr: []error{ErrMalformed, docspace.ErrInvalidKey}},
		{name: "key with Bearer", value: `{"apiKey":"Bearer ` + key + `"}`, wantErr: []error{ErrMalformed, docspace.ErrInvalidKey}},
		{name: "bare key with a control character", value: "sk-binding\x010123456789", wantErr: []error{ErrMalformed, docspace.ErrInvalidKey}},
		{name: "key under another name", value: `{"portalUrl":"https://a.example.com","key":"` + key + `"}`, wantErr: []error{ErrEmptyKey}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &fakeGetter{value: aws.String(tt.value)}
			s := NewStore(g, tt.field, time.Minute)
			got, err := s.Binding(context.Background(), "docspace/a")
			if tt.wantErr == nil {
				if err != nil || got != tt.want {
					t.Fatalf("Binding() = %+v, %v, want %+v", got, err, tt.want)
				}
				if got.Bound() != (tt.want.PortalURL != "") {
					t.Errorf("Bound() = %v", got.Bound())
				}
				// The key and the binding share one read.
				if k, err := s.APIKey(context.Background(), "docspace/a"); err != nil || k != tt.want.Key || g.calls != 1 {
					t.Errorf("APIKey() after Binding() = %q, %v with %d reads, want the key from the cache", k, err, g.calls)
				}
				return
			}
			for _, want := range tt.wantErr {
				if !errors.Is(err, want) {
					t.Errorf("Binding() error = %v, want %v", err, want)
				}
			}
			if err != nil && (strings.Contains(err.Error(), "binding") && strings.Contains(err.Error(), "0123456789")) {
				t.Errorf("Binding() error %q quotes the key", err)
			}
		})
	}
}
