// Package registry lists the DocSpace portals registered with a stack.
//
// A portal is registered by storing its key in the bound form
// ({"portalUrl":"https://...","apiKey":"sk-..."}) in one of two stores:
//
//   - a Secrets Manager secret that carries the stack's tag, for example
//     docspace-backup-watch=prod (New lists them with ListSecrets); $0.40
//     a month each, with rotation and cross-account access;
//   - an SSM Parameter Store SecureString standard parameter under the
//     stack's path, for example /docspace-backup-watch/prod/a.example.com
//     (NewParameters lists them with DescribeParameters: names and
//     metadata, never a value); no storage charge.
//
// A registry lists its store page by page and caches the list for a time,
// as pkg/secrets caches keys; the value (the portal's URL and key) is read
// later, by the check of that portal. Register tags a secret with
// PortalTagKey, naming its portal, and RegisterParameter also writes the
// portal in the parameter's description (ParameterDescription); the
// listings return it (Entry.Portal): OnePerPortal then tells which
// entries are one portal without reading a key. A tag is only what
// registration (or whoever may tag) wrote: a caller that leaves an entry
// out on it first reads the keys of that entry and the one kept.
// Registering or removing a portal needs no change to the stack: the function's role may read exactly the secrets
// carrying the tag and the parameters under the path.
package registry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"
)

// DefaultTagKey is the tag key that ties a secret to a stack; the tag's
// value is the stack's name.
const DefaultTagKey = "docspace-backup-watch"

// Defaults of New.
const (
	// DefaultTTL is how long a listing is reused.
	DefaultTTL = 5 * time.Minute
	// DefaultPageSize is the MaxResults of each ListSecrets call (the
	// service allows 1 to 100).
	DefaultPageSize = 100
	// DefaultMaxPortals bounds one listing; more registered secrets are an
	// error rather than a run that cannot finish.
	DefaultMaxPortals = 50000
)

// ErrAccessDenied is a listing the function's role may not make.
var ErrAccessDenied = errors.New("listing secrets denied")

// Lister is the part of *secretsmanager.Client the registry needs.
type Lister interface {
	ListSecrets(ctx context.Context, params *secretsmanager.ListSecretsInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretsOutput, error)
}

var _ Lister = (*secretsmanager.Client)(nil)

// Tag is the tag that registers a secret with a stack.
type Tag struct {
	Key, Value string
}

func (t Tag) String() string { return t.Key + "=" + t.Value }

// Validate reports a tag that cannot register anything: an empty key or
// value, a key in the reserved "aws:" namespace, or PortalTagKey.
func (t Tag) Validate() error {
	switch {
	case strings.TrimSpace(t.Key) == "":
		return errors.New("registry tag key is empty")
	case strings.TrimSpace(t.Value) == "":
		return errors.New("registry tag value is empty")
	case strings.HasPrefix(strings.ToLower(t.Key), "aws:"):
		return fmt.Errorf("registry tag key %q is in the reserved aws: namespace", t.Key)
	case t.Key == PortalTagKey:
		return fmt.Errorf("registry tag key %q names each entry's portal, not a stack", t.Key)
	case len(t.Key) > 128 || len(t.Value) > 256:
		return fmt.Errorf("registry tag %q is longer than Secrets Manager allows (128 for the key, 256 for the value)", t.String())
	}
	return nil
}

// Entry is one registered portal: the secret that names it.
type Entry struct {
	// SecretID is the secret's ARN.
	SecretID string `json:"secretId"`
	// Name is the secret's name, for people.
	Name string `json:"name"`
	// Portal is PortalTagValue of the portal its key is bound to, as
	// registration recorded it: a secret's PortalTagKey tag, or the portal
	// a parameter's description names (ParameterDescription); empty when
	// the entry carries neither.
	Portal string `json:"portal,omitempty"`
}

// source is a store of registered portals.
type source interface {
	list(ctx context.Context, pageSize int32, max int) ([]Entry, error)
	String() string
}

var nowFunc = time.Now

// Registry lists the portals of one store: the secrets carrying its tag
// (New) or the parameters under its path (NewParameters). It is safe for
// concurrent use.
type Registry struct {
	source   source
	tag      Tag
	ttl      time.Duration
	pageSize int32
	max      int
	now      func() time.Time

	mu      sync.Mutex
	entries []Entry
	fetched time.Time
}

// Option configures a Registry.
type Option func(*Registry) error

// WithTTL reuses a listing for d (0 lists on every call); the default is
// DefaultTTL.
func WithTTL(d time.Duration) Option {
	return func(r *Registry) error {
		if d < 0 {
			return fmt.Errorf("registry cache TTL %v is negative", d)
		}
		r.ttl = d
		return nil
	}
}

// WithPageSize sets the MaxResults of each ListSecrets call, 1 to 100.
func WithPageSize(n int) Option {
	return func(r *Registry) error {
		if n < 1 || n > 100 {
			return fmt.Errorf("registry page size %d is not between 1 and 100", n)
		}
		r.pageSize = int32(n)
		return nil
	}
}

// WithMaxPortals bounds the number of registered portals one listing
// accepts; the default is DefaultMaxPortals.
func WithMaxPortals(n int) Option {
	return func(r *Registry) error {
		if n < 1 {
			return fmt.Errorf("registry maximum %d is not positive", n)
		}
		r.max = n
		return nil
	}
}

// WithClock sets the clock of the cache, for tests.
func WithClock(now func() time.Time) Option {
	return func(r *Registry) error {
		if now == nil {
			return errors.New("registry clock is nil")
		}
		r.now = now
		return nil
	}
}

// New returns a registry of the secrets that carry tag, listed through
// client. It returns an error for an invalid tag or option.
func New(client Lister, tag Tag, opts ...Option) (*Registry, error) {
	if client == nil {
		return nil, errors.New("registry: client is nil")
	}
	if err := tag.Validate(); err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	r := &Registry{source: secretSource{client: client, tag: tag}, tag: tag, ttl: DefaultTTL, pageSize: DefaultPageSize, max: DefaultMaxPortals, now: nowFunc}
	for _, opt := range opts {
		if err := opt(r); err != nil {
			return nil, fmt.Errorf("registry: %w", err)
		}
	}
	return r, nil
}

// Tag returns the tag that registers a secret; it is zero for a registry
// of parameters.
func (r *Registry) Tag() Tag { return r.tag }

// String says what the registry lists, for logs: "secrets tagged
// docspace-backup-watch=prod" or "parameters under
// /docspace-backup-watch/prod".
func (r *Registry) String() string { return r.source.String() }

// Portals returns the registered portals, sorted as the store lists them,
// from the cache when the last listing is younger than the TTL. A secret
// scheduled for deletion is not registered. The error wraps
// ErrAccessDenied when the role may not list the store; a failed listing
// is not cached.
func (r *Registry) Portals(ctx context.Context) ([]Entry, error) {
	return r.portals(ctx, false)
}

// Refresh lists the store again, whatever the cache holds, and caches
// the listing; its errors are those of Portals. A consumer asks it before
// it drops a queued portal on what a listing up to the TTL old says.
func (r *Registry) Refresh(ctx context.Context) ([]Entry, error) {
	return r.portals(ctx, true)
}

func (r *Registry) portals(ctx context.Context, fresh bool) ([]Entry, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !fresh && r.entries != nil && r.now().Sub(r.fetched) < r.ttl {
		return append([]Entry(nil), r.entries...), nil
	}
	entries, err := r.source.list(ctx, r.pageSize, r.max)
	if err != nil {
		return nil, err
	}
	r.entries, r.fetched = entries, r.now()
	return append([]Entry(nil), entries...), nil
}

// All lists the portals of several registries (a stack's secrets and its
// parameters).
type All []*Registry

// Portals returns the entries of every registry, in order. A registry whose
// listing fails does not hide the others: their entries come back with
// the failures' errors, joined.
func (a All) Portals(ctx context.Context) ([]Entry, error) {
	return a.portals(ctx, false)
}

// Refresh lists every registry again, whatever their caches hold (see
// Registry.Refresh); its errors are those of Portals.
func (a All) Refresh(ctx context.Context) ([]Entry, error) {
	return a.portals(ctx, true)
}

func (a All) portals(ctx context.Context, fresh bool) ([]Entry, error) {
	entries := []Entry{}
	var errs []error
	for _, r := range a {
		e, err := r.portals(ctx, fresh)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		entries = append(entries, e...)
	}
	return entries, errors.Join(errs...)
}

// String names the registries, for logs.
func (a All) String() string {
	names := make([]string, len(a))
	for i, r := range a {
		names[i] = r.String()
	}
	return strings.Join(names, " and ")
}

// secretSource lists the secrets that carry a tag.
type secretSource struct {
	client Lister
	tag    Tag
}

func (s secretSource) String() string { return "secrets tagged " + s.tag.String() }

// list pages through ListSecrets. The service's tag filters match
// prefixes (tag value "prod" also finds "production"), so each secret's
// tags are checked for the exact key and value. ListSecrets returns each
// secret's tags: its portal tag comes at no extra call.
func (r secretSource) list(ctx context.Context, pageSize int32, max int) ([]Entry, error) {
	in := &secretsmanager.ListSecretsInput{
		MaxResults: aws.Int32(pageSize),
		Filters: []smtypes.Filter{
			{Key: smtypes.FilterNameStringTypeTagKey, Values: []string{r.tag.Key}},
			{Key: smtypes.FilterNameStringTypeTagValue, Values: []string{r.tag.Value}},
		},
	}
	return collect(r.String(), max, func(token *string) ([]Entry, *string, error) {
		in.NextToken = token
		out, err := r.client.ListSecrets(ctx, in)
		if err != nil {
			var apiErr smithy.APIError
			if errors.As(err, &apiErr) && apiErr.ErrorCode() == "AccessDeniedException" {
				return nil, nil, fmt.Errorf("%w (the function's role needs secretsmanager:ListSecrets)", ErrAccessDenied)
			}
			return nil, nil, err
		}
		var page []Entry
		for _, s := range out.SecretList {
			if s.DeletedDate == nil && hasTag(s.Tags, r.tag) {
				page = append(page, Entry{SecretID: aws.ToString(s.ARN), Name: aws.ToString(s.Name), Portal: tagValue(s.Tags, PortalTagKey)})
			}
		}
		return page, out.NextToken, nil
	})
}

// collect pages through a listing of what: fetch returns one page's
// entries and the next token (nil or "" after the last page). It drops an
// entry without an id and a repeated one, and fails on more than max
// entries or a page token the service gave before.
func collect(what string, max int, fetch func(token *string) ([]Entry, *string, error)) ([]Entry, error) {
	entries := []Entry{}
	seen := map[string]bool{}
	tokens := map[string]bool{}
	var token *string
	for page := 1; ; page++ {
		got, next, err := fetch(token)
		if err != nil {
			return nil, fmt.Errorf("registry: list %s (page %d): %w", what, page, err)
		}
		for _, e := range got {
			if e.SecretID == "" || seen[e.SecretID] {
				continue
			}
			seen[e.SecretID] = true
			entries = append(entries, e)
			if len(entries) > max {
				return nil, fmt.Errorf("registry: more than %d %s", max, what)
			}
		}
		if aws.ToString(next) == "" {
			return entries, nil
		}
		if tokens[*next] {
			return nil, fmt.Errorf("registry: list %s: the service repeated a page token", what)
		}
		tokens[*next] = true
		token = next
	}
}

// tagValue returns the value of the tag key among tags, "" without it.
func tagValue(tags []smtypes.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}

func hasTag(tags []smtypes.Tag, want Tag) bool {
	for _, t := range tags {
		if aws.ToString(t.Key) == want.Key && aws.ToString(t.Value) == want.Value {
			return true
		}
	}
	return false
}
