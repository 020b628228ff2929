package registry

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"
)

// DefaultParameterPrefix is the start of a stack's parameter path; the
// stack's name follows: /docspace-backup-watch/prod.
const DefaultParameterPrefix = "/docspace-backup-watch"

// MaxParameterPageSize is the most parameters one GetParametersByPath call
// returns.
const MaxParameterPageSize = 10

// ParameterLister is the part of *ssm.Client that a parameter registry
// needs.
type ParameterLister interface {
	GetParametersByPath(ctx context.Context, params *ssm.GetParametersByPathInput, optFns ...func(*ssm.Options)) (*ssm.GetParametersByPathOutput, error)
}

var _ ParameterLister = (*ssm.Client)(nil)

// DefaultParameterPath is the parameter path of a stack:
// DefaultParameterPrefix and the stack's name.
func DefaultParameterPath(stack string) string {
	return DefaultParameterPrefix + "/" + stack
}

var parameterPathChars = regexp.MustCompile(`^(/[A-Za-z0-9_.-]+)+$`)

// ValidateParameterPath reports a path that cannot hold a registry: one
// that does not start with "/", ends with "/", holds characters Parameter
// Store does not allow in a name, or lies in the reserved /aws or /ssm
// hierarchies.
func ValidateParameterPath(path string) error {
	lower := strings.ToLower(path)
	switch {
	case !parameterPathChars.MatchString(path):
		return fmt.Errorf("parameter path %q is not a path such as /docspace-backup-watch/prod (letters, digits, _ . - between slashes)", path)
	case lower == "/aws" || strings.HasPrefix(lower, "/aws/") || lower == "/ssm" || strings.HasPrefix(lower, "/ssm/"):
		return fmt.Errorf("parameter path %q is in a reserved hierarchy (/aws, /ssm)", path)
	case len(path) > 900:
		return fmt.Errorf("parameter path %q is too long", path)
	}
	return nil
}

// parameterSource lists the parameters under a path.
type parameterSource struct {
	client ParameterLister
	path   string
}

func (p parameterSource) String() string { return "parameters under " + p.path }

// list pages through GetParametersByPath, recursively, without decrypting:
// the check of each portal reads its value later. A parameter's ARN is its
// entry's id.
func (p parameterSource) list(ctx context.Context, pageSize int32, max int) ([]Entry, error) {
	in := &ssm.GetParametersByPathInput{
		Path:           aws.String(p.path),
		Recursive:      aws.Bool(true),
		WithDecryption: aws.Bool(false),
		MaxResults:     aws.Int32(min(pageSize, MaxParameterPageSize)),
	}
	return collect(p.String(), max, func(token *string) ([]Entry, *string, error) {
		in.NextToken = token
		out, err := p.client.GetParametersByPath(ctx, in)
		if err != nil {
			var apiErr smithy.APIError
			if errors.As(err, &apiErr) && apiErr.ErrorCode() == "AccessDeniedException" {
				return nil, nil, fmt.Errorf("%w (the function's role needs ssm:GetParametersByPath on it)", ErrAccessDenied)
			}
			return nil, nil, err
		}
		var page []Entry
		for _, prm := range out.Parameters {
			if name := aws.ToString(prm.Name); strings.HasPrefix(name, p.path+"/") {
				page = append(page, Entry{SecretID: aws.ToString(prm.ARN), Name: name})
			}
		}
		return page, out.NextToken, nil
	})
}

// NewParameters returns a registry of the SecureString parameters under
// path (recursively), listed through client, MaxParameterPageSize at a
// time unless WithPageSize says fewer. A parameter names its portal as a
// secret does ({"portalUrl":"https://...","apiKey":"sk-..."}); the
// function's role may read exactly the parameters under the path. It
// returns an error for an invalid path or option.
func NewParameters(client ParameterLister, path string, opts ...Option) (*Registry, error) {
	if client == nil {
		return nil, errors.New("registry: client is nil")
	}
	if err := ValidateParameterPath(path); err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	r := &Registry{source: parameterSource{client: client, path: path}, ttl: DefaultTTL, pageSize: MaxParameterPageSize, max: DefaultMaxPortals, now: nowFunc}
	for _, opt := range opts {
		if err := opt(r); err != nil {
			return nil, fmt.Errorf("registry: %w", err)
		}
	}
	if r.pageSize > MaxParameterPageSize {
		return nil, fmt.Errorf("registry: page size %d is more than the %d GetParametersByPath allows", r.pageSize, MaxParameterPageSize)
	}
	return r, nil
}
