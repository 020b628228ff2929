// Package secrets reads DocSpace API keys from AWS Secrets Manager, or
// from SSM Parameter Store for an id that is a parameter's ARN (see
// WithParameters), and caches them for a time, so warm invocations do not
// call either.
//
// A secret binds its key to the portal it belongs to:
//
//	{"portalUrl":"https://a.example.com","apiKey":"sk-..."}
//
// and the function sends the key to that portal alone (see Binding). A
// bare key (the secret string "sk-...", or a JSON object without
// "portalUrl") is still read, for the function's own PORTAL_URL only.
package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
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
	// ErrMalformed is a secret whose value cannot be read: JSON that does
	// not parse, a member of the wrong type, a portal URL that is not an
	// absolute URL, or a key that cannot be sent (see
	// docspace.ValidateAPIKey, which the error also matches).
	ErrMalformed = errors.New("secret is malformed")
	// ErrNotBound is a bare-key secret where a bound one is required (a
	// registered portal): Binding itself returns such a secret with an
	// empty PortalURL.
	ErrNotBound = errors.New(`secret does not name its portal (want {"portalUrl":"https://...","apiKey":"sk-..."})`)
)

// PortalURLField is the member of a JSON secret that names the portal its
// key belongs to.
const PortalURLField = "portalUrl"

// Binding is what a secret holds: a key and the portal it is for.
type Binding struct {
	// PortalURL is the portal the key belongs to, as the secret states it
	// (trimmed, not yet normalized: see docspace.ValidateBaseURL); "" for
	// a bare-key secret, which may only be used for the function's own
	// PORTAL_URL.
	PortalURL string
	// Key is the API key, already checked with docspace.ValidateAPIKey.
	Key docspace.APIKey
}

// Bound reports whether the secret names its portal.
func (b Binding) Bound() bool { return b.PortalURL != "" }

// SecretGetter is the part of *secretsmanager.Client the store needs.
type SecretGetter interface {
	GetSecretValue(ctx context.Context, params *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ SecretGetter = (*secretsmanager.Client)(nil)

type cached struct {
	binding Binding
	fetched time.Time
}

// Store reads API keys and caches each for its TTL. It is safe for
// concurrent use.
type Store struct {
	client SecretGetter
	params ParameterGetter
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
	done    chan struct{}
	binding Binding
	err     error
}

// NewStore returns a store reading from client. field names the key's
// member in a JSON secret (default "apiKey"); ttl 0 disables the cache.
func NewStore(client SecretGetter, field string, ttl time.Duration, opts ...StoreOption) *Store {
	if field == "" {
		field = "apiKey"
	}
	s := &Store{client: client, field: field, ttl: ttl, now: time.Now, cache: map[string]cached{}, calls: map[string]*call{}}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// APIKey returns the key stored under secretID, whatever portal the secret
// names: callers that send the key somewhere use Binding instead.
func (s *Store) APIKey(ctx context.Context, secretID string) (docspace.APIKey, error) {
	b, err := s.Binding(ctx, secretID)
	return b.Key, err
}

// Binding returns what the secret secretID holds: the secret string itself
// as a bare key, or a JSON object with the key in the configured member
// and, for a bound secret, the portal's URL in "portalUrl". Concurrent
// calls for a secret that is not cached share one read. Errors match
// ErrSecretNotFound, ErrAccessDenied, ErrEmptyKey or ErrMalformed; none
// holds the key.
func (s *Store) Binding(ctx context.Context, secretID string) (Binding, error) {
	s.mu.Lock()
	if c, ok := s.cache[secretID]; ok && s.now().Sub(c.fetched) < s.ttl {
		s.mu.Unlock()
		return c.binding, nil
	}
	if c, ok := s.calls[secretID]; ok {
		s.mu.Unlock()
		select {
		case <-c.done:
			return c.binding, c.err
		case <-ctx.Done():
			return Binding{}, fmt.Errorf("get secret %s: %w", secretID, ctx.Err())
		}
	}
	c := &call{done: make(chan struct{})}
	s.calls[secretID] = c
	s.mu.Unlock()

	c.binding, c.err = s.read(ctx, secretID)
	s.mu.Lock()
	delete(s.calls, secretID)
	if c.err == nil {
		s.cache[secretID] = cached{binding: c.binding, fetched: s.now()}
	}
	s.mu.Unlock()
	close(c.done)
	return c.binding, c.err
}

// read fetches and extracts one secret, or one parameter for a
// parameter's ARN.
func (s *Store) read(ctx context.Context, secretID string) (Binding, error) {
	if ParameterARN(secretID) {
		return s.readParameter(ctx, secretID)
	}
	out, err := s.client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &secretID})
	if err != nil {
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) {
			switch apiErr.ErrorCode() {
			case "ResourceNotFoundException":
				return Binding{}, fmt.Errorf("get secret %s: %w", secretID, ErrSecretNotFound)
			case "AccessDeniedException":
				return Binding{}, fmt.Errorf("get secret %s: %w (the function's role needs secretsmanager:GetSecretValue on it, and kms:Decrypt on its KMS key if it has its own)", secretID, ErrAccessDenied)
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

// extract reads a secret string; its errors never quote the value.
func (s *Store) extract(value string) (Binding, error) {
	var b Binding
	value = strings.TrimSpace(value)
	if strings.HasPrefix(value, "{") {
		var fields map[string]any
		if err := json.Unmarshal([]byte(value), &fields); err != nil {
			return Binding{}, fmt.Errorf("%w: not valid JSON", ErrMalformed)
		}
		raw, present := fields[s.field]
		v, ok := raw.(string)
		switch {
		case !present:
			return Binding{}, fmt.Errorf("%w: JSON secret has no member %q (members: %s)", ErrEmptyKey, s.field, memberNames(fields))
		case !ok:
			return Binding{}, fmt.Errorf("%w: JSON secret's %q is not a string", ErrMalformed, s.field)
		}
		value = strings.TrimSpace(v)
		if value == "" {
			return Binding{}, fmt.Errorf("%w: JSON secret's %q is empty", ErrEmptyKey, s.field)
		}
		if u, present := fields[PortalURLField]; present {
			us, ok := u.(string)
			if !ok || strings.TrimSpace(us) == "" {
				return Binding{}, fmt.Errorf("%w: JSON secret's %q is not a URL string", ErrMalformed, PortalURLField)
			}
			us = strings.TrimSpace(us)
			if parsed, err := url.Parse(us); err != nil || !parsed.IsAbs() || parsed.Host == "" {
				return Binding{}, fmt.Errorf("%w: JSON secret's %q is not an absolute URL such as https://portal.example.com", ErrMalformed, PortalURLField)
			}
			b.PortalURL = us
		}
	}
	if value == "" {
		return Binding{}, ErrEmptyKey
	}
	b.Key = docspace.APIKey(value)
	if err := docspace.ValidateAPIKey(b.Key); err != nil {
		return Binding{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return b, nil
}

// memberNames lists a JSON object's member names, sorted, for an error
// that helps without quoting any value.
func memberNames(fields map[string]any) string {
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, fmt.Sprintf("%q", shortName(k)))
	}
	slices.Sort(names)
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// shortName cuts a member name that may be anything, since a careless
// secret could put the key where a name belongs.
func shortName(s string) string {
	if len(s) > 20 || docspace.ValidateAPIKey(docspace.APIKey(s)) == nil && strings.HasPrefix(s, "sk-") {
		return "…"
	}
	return s
}
