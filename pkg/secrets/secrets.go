// Package secrets reads DocSpace API keys from AWS Secrets Manager and
// caches them for a time, so warm invocations do not call Secrets Manager.
package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
)

// Errors callers branch on with errors.Is.
var (
	// ErrSecretNotFound is a secret id that Secrets Manager does not know.
	ErrSecretNotFound = errors.New("secret not found")
	// ErrAccessDenied is a secret the function may not read.
	ErrAccessDenied = errors.New("access to secret denied")
	// ErrEmptyKey is a secret that holds no key.
	ErrEmptyKey = errors.New("secret holds no API key")
	// ErrNotBound is a secret that does not name its portal.
	ErrNotBound = errors.New(`secret does not name its portal (want {"portalUrl":"https://...","apiKey":"sk-..."})`)
)

// PortalURLField is the member of a bound secret that names its portal.
const PortalURLField = "portalUrl"

// Binding is what a bound secret holds: the portal it belongs to and the
// key for that portal alone.
type Binding struct {
	// PortalURL is the secret's portalUrl member, as stored.
	PortalURL string
	// Key is the API key.
	Key docspace.APIKey
}

// SecretGetter is the part of *secretsmanager.Client the store needs.
type SecretGetter interface {
	GetSecretValue(ctx context.Context, params *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ SecretGetter = (*secretsmanager.Client)(nil)

type cached struct {
	value   Binding
	fetched time.Time
}

// Store reads API keys and caches each for its TTL. It is safe for
// concurrent use.
type Store struct {
	client SecretGetter
	field  string
	ttl    time.Duration
	now    func() time.Time

	mu    sync.Mutex
	cache map[string]cached
	// calls are the reads in flight: concurrent callers for one secret
	// (a run over many portals sharing it) wait for one read.
	calls map[string]*call
}

type call struct {
	done  chan struct{}
	value Binding
	err   error
}

// NewStore returns a store reading from client. field names the key's
// member in a JSON secret (default "apiKey"); ttl 0 disables the cache.
func NewStore(client SecretGetter, field string, ttl time.Duration) *Store {
	if field == "" {
		field = "apiKey"
	}
	return &Store{client: client, field: field, ttl: ttl, now: time.Now, cache: map[string]cached{}, calls: map[string]*call{}}
}

// APIKey returns the key stored under secretID: the secret string itself,
// or the configured member of a JSON object. Concurrent calls for a secret
// that is not cached share one read.
func (s *Store) APIKey(ctx context.Context, secretID string) (docspace.APIKey, error) {
	b, err := s.get(ctx, secretID)
	return b.Key, err
}

// Binding returns the portal URL and the key of a bound secret, a JSON
// object {"portalUrl":"https://...","apiKey":"sk-..."} (the key's member
// named as for APIKey). It shares APIKey's cache and reads. The error wraps
// ErrNotBound for a secret without a portalUrl, and the errors of APIKey;
// the URL itself is not checked here.
func (s *Store) Binding(ctx context.Context, secretID string) (Binding, error) {
	b, err := s.get(ctx, secretID)
	if err != nil {
		return Binding{}, err
	}
	if b.PortalURL == "" {
		return Binding{}, fmt.Errorf("get secret %s: %w", secretID, ErrNotBound)
	}
	return b, nil
}

// get returns the secret's content from the cache or one shared read.
func (s *Store) get(ctx context.Context, secretID string) (Binding, error) {
	s.mu.Lock()
	if c, ok := s.cache[secretID]; ok && s.now().Sub(c.fetched) < s.ttl {
		s.mu.Unlock()
		return c.value, nil
	}
	if c, ok := s.calls[secretID]; ok {
		s.mu.Unlock()
		select {
		case <-c.done:
			return c.value, c.err
		case <-ctx.Done():
			return Binding{}, fmt.Errorf("get secret %s: %w", secretID, ctx.Err())
		}
	}
	c := &call{done: make(chan struct{})}
	s.calls[secretID] = c
	s.mu.Unlock()

	c.value, c.err = s.read(ctx, secretID)
	s.mu.Lock()
	delete(s.calls, secretID)
	if c.err == nil {
		s.cache[secretID] = cached{value: c.value, fetched: s.now()}
	}
	s.mu.Unlock()
	close(c.done)
	return c.value, c.err
}

// read fetches and extracts one secret.
func (s *Store) read(ctx context.Context, secretID string) (Binding, error) {
	out, err := s.client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &secretID})
	if err != nil {
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) {
			switch apiErr.ErrorCode() {
			case "ResourceNotFoundException":
				return Binding{}, fmt.Errorf("get secret %s: %w", secretID, ErrSecretNotFound)
			case "AccessDeniedException":
				return Binding{}, fmt.Errorf("get secret %s: %w (the function's role needs secretsmanager:GetSecretValue on it)", secretID, ErrAccessDenied)
			}
		}
		return Binding{}, fmt.Errorf("get secret %s: %w", secretID, err)
	}
	if out.SecretString == nil {
		return Binding{}, fmt.Errorf("get secret %s: %w (it has no string value)", secretID, ErrEmptyKey)
	}
	b, err := s.extract(*out.SecretString)
	if err != nil {
		return Binding{}, fmt.Errorf("get secret %s: %w", secretID, err)
	}
	return b, nil
}

func (s *Store) extract(value string) (Binding, error) {
	var b Binding
	value = strings.TrimSpace(value)
	if strings.HasPrefix(value, "{") {
		var fields map[string]any
		if err := json.Unmarshal([]byte(value), &fields); err != nil {
			return Binding{}, errors.New("secret is not valid JSON")
		}
		v, ok := fields[s.field].(string)
		if !ok || strings.TrimSpace(v) == "" {
			return Binding{}, fmt.Errorf("%w: JSON secret has no string member %q", ErrEmptyKey, s.field)
		}
		value = strings.TrimSpace(v)
		if u, ok := fields[PortalURLField].(string); ok {
			b.PortalURL = strings.TrimSpace(u)
		}
	}
	if value == "" {
		return Binding{}, ErrEmptyKey
	}
	b.Key = docspace.APIKey(value)
	return b, nil
}
