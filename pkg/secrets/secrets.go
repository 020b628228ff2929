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
)

// SecretGetter is the part of *secretsmanager.Client the store needs.
type SecretGetter interface {
	GetSecretValue(ctx context.Context, params *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ SecretGetter = (*secretsmanager.Client)(nil)

type cached struct {
	key     docspace.APIKey
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
	done chan struct{}
	key  docspace.APIKey
	err  error
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
	s.mu.Lock()
	if c, ok := s.cache[secretID]; ok && s.now().Sub(c.fetched) < s.ttl {
		s.mu.Unlock()
		return c.key, nil
	}
	if c, ok := s.calls[secretID]; ok {
		s.mu.Unlock()
		select {
		case <-c.done:
			return c.key, c.err
		case <-ctx.Done():
			return "", fmt.Errorf("get secret %s: %w", secretID, ctx.Err())
		}
	}
	c := &call{done: make(chan struct{})}
	s.calls[secretID] = c
	s.mu.Unlock()

	c.key, c.err = s.read(ctx, secretID)
	s.mu.Lock()
	delete(s.calls, secretID)
	if c.err == nil {
		s.cache[secretID] = cached{key: c.key, fetched: s.now()}
	}
	s.mu.Unlock()
	close(c.done)
	return c.key, c.err
}

// read fetches and extracts one secret.
func (s *Store) read(ctx context.Context, secretID string) (docspace.APIKey, error) {
	out, err := s.client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &secretID})
	if err != nil {
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) {
			switch apiErr.ErrorCode() {
			case "ResourceNotFoundException":
				return "", fmt.Errorf("get secret %s: %w", secretID, ErrSecretNotFound)
			case "AccessDeniedException":
				return "", fmt.Errorf("get secret %s: %w (the function's role needs secretsmanager:GetSecretValue on it)", secretID, ErrAccessDenied)
			}
		}
		return "", fmt.Errorf("get secret %s: %w", secretID, err)
	}
	if out.SecretString == nil {
		return "", fmt.Errorf("get secret %s: %w (it has no string value)", secretID, ErrEmptyKey)
	}
	key, err := s.extract(*out.SecretString)
	if err != nil {
		return "", fmt.Errorf("get secret %s: %w", secretID, err)
	}
	return key, nil
}

func (s *Store) extract(value string) (docspace.APIKey, error) {
	value = strings.TrimSpace(value)
	if strings.HasPrefix(value, "{") {
		var fields map[string]any
		if err := json.Unmarshal([]byte(value), &fields); err != nil {
			return "", errors.New("secret is not valid JSON")
		}
		v, ok := fields[s.field].(string)
		if !ok || strings.TrimSpace(v) == "" {
			return "", fmt.Errorf("%w: JSON secret has no string member %q", ErrEmptyKey, s.field)
		}
		value = strings.TrimSpace(v)
	}
	if value == "" {
		return "", ErrEmptyKey
	}
	return docspace.APIKey(value), nil
}
