package registry

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
)

// DefaultParameterPrefix is the start of a stack's parameter path; the
// stack's name follows: /docspace-backup-watch/prod.
const DefaultParameterPrefix = "/docspace-backup-watch"

// MaxParameterPageSize is the most parameters one DescribeParameters call
// returns.
const MaxParameterPageSize = 50

// ParameterLister is the part of *ssm.Client that a parameter registry
// needs: DescribeParameters lists the parameters (names and metadata,
// never a value), and GetParameters, without decryption, gives the ARN of
// a parameter whose metadata lacks it.
type ParameterLister interface {
	DescribeParameters(ctx context.Context, params *ssm.DescribeParametersInput, optFns ...func(*ssm.Options)) (*ssm.DescribeParametersOutput, error)
	GetParameters(ctx context.Context, params *ssm.GetParametersInput, optFns ...func(*ssm.Options)) (*ssm.GetParametersOutput, error)
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

// list pages through DescribeParameters, filtered to the path
// (recursively): names and metadata, never a value; the check of each
// portal reads its value later. A parameter's ARN is its entry's id; its
// portal (Entry.Portal) is read from the description RegisterParameter
// gives it (see ParameterDescription). Every type is listed: the check
// refuses a String parameter, naming it.
func (p parameterSource) list(ctx context.Context, pageSize int32, max int) ([]Entry, error) {
	in := &ssm.DescribeParametersInput{
		ParameterFilters: []ssmtypes.ParameterStringFilter{{Key: aws.String("Path"), Option: aws.String("Recursive"), Values: []string{p.path}}},
		MaxResults:       aws.Int32(min(pageSize, MaxParameterPageSize)),
	}
	return collect(p.String(), max, func(token *string) ([]Entry, *string, error) {
		in.NextToken = token
		out, err := p.client.DescribeParameters(ctx, in)
		if err != nil {
			return nil, nil, denied(err, "ssm:DescribeParameters")
		}
		var page []Entry
		for _, prm := range out.Parameters {
			if name := aws.ToString(prm.Name); strings.HasPrefix(name, p.path+"/") {
				page = append(page, Entry{SecretID: aws.ToString(prm.ARN), Name: name, Portal: p.portalOf(aws.ToString(prm.Description))})
			}
		}
		if err := p.fillARNs(ctx, page); err != nil {
			return nil, nil, err
		}
		return page, out.NextToken, nil
	})
}

// fillARNs gives the entries whose metadata lacked the ARN (an endpoint
// that leaves it out) the ARN GetParameters returns for their names,
// without decryption, ten names a call; an entry the service no longer
// has keeps none, and the listing drops it.
func (p parameterSource) fillARNs(ctx context.Context, page []Entry) error {
	var missing []string
	at := map[string]int{}
	for i, e := range page {
		if e.SecretID == "" {
			missing = append(missing, e.Name)
			at[e.Name] = i
		}
	}
	for names := range slices.Chunk(missing, 10) {
		out, err := p.client.GetParameters(ctx, &ssm.GetParametersInput{Names: names, WithDecryption: aws.Bool(false)})
		if err != nil {
			return denied(err, "ssm:GetParameters")
		}
		for _, prm := range out.Parameters {
			if i, ok := at[aws.ToString(prm.Name)]; ok {
				page[i].SecretID = aws.ToString(prm.ARN)
			}
		}
	}
	return nil
}

// denied names the permission the role lacks when err is an access
// denial, and returns err otherwise.
func denied(err error, action string) error {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "AccessDeniedException" {
		return fmt.Errorf("%w (the function's role needs %s)", ErrAccessDenied, action)
	}
	return err
}

// descriptionFor and registeredWith are the two parts of the description
// RegisterParameter gives a parameter, around the portal's name.
const (
	descriptionFor = "DocSpace API key for "
	registeredWith = ", registered with docspace-backup-watch "
)

// ParameterDescription is the description RegisterParameter gives the
// parameter of the portal named portal (docspace.PortalName) under path:
// "DocSpace API key for b.example.com, registered with
// docspace-backup-watch /docspace-backup-watch/prod". The parameters'
// listing reads the portal back from it, as the secrets' listing reads
// the PortalTagKey tag (DescribeParameters returns no tags).
func ParameterDescription(portal, path string) string {
	return descriptionFor + portal + registeredWith + path
}

// portalOf returns the Entry.Portal of a parameter whose description is
// exactly ParameterDescription of a portal and this source's path:
// PortalTagValue of the portal. Any other description (one written by
// hand, or for another path) gives "": the parameter is not known to be
// bound to any portal until its key is read.
func (p parameterSource) portalOf(description string) string {
	rest, ok := strings.CutPrefix(description, descriptionFor)
	if !ok {
		return ""
	}
	portal, ok := strings.CutSuffix(rest, registeredWith+p.path)
	if !ok || portal == "" {
		return ""
	}
	// A portal's name as docspace.PortalName gives it, nothing else.
	u, err := url.Parse("https://" + portal)
	if err != nil || u.Host == "" || docspace.PortalName(u) != portal {
		return ""
	}
	return PortalTagValue(portal)
}

// NewParameters returns a registry of the SecureString parameters under
// path (recursively), listed through client, MaxParameterPageSize at a
// time unless WithPageSize says fewer. A parameter names its portal as a
// secret does ({"portalUrl":"https://...","apiKey":"sk-..."}); the
// function's role may read exactly the parameters under the path, and
// list the metadata of any (ssm:DescribeParameters takes no resource). It
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
		return nil, fmt.Errorf("registry: page size %d is more than the %d DescribeParameters allows", r.pageSize, MaxParameterPageSize)
	}
	return r, nil
}
