package secrets

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"
)

// ParameterGetter is the part of *ssm.Client the store needs for keys kept
// in Parameter Store.
type ParameterGetter interface {
	GetParameter(ctx context.Context, params *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

var _ ParameterGetter = (*ssm.Client)(nil)

// StoreOption configures a Store.
type StoreOption func(*Store)

// WithParameters reads the ids that are SSM parameter ARNs
// (arn:aws:ssm:REGION:ACCOUNT:parameter/NAME, see ParameterARN) from
// Parameter Store through client, decrypted: the same binding, checks and
// cache as a secret's. Without it such an id is an error.
func WithParameters(client ParameterGetter) StoreOption {
	return func(s *Store) { s.params = client }
}

// ParameterARN reports whether id is the ARN of an SSM parameter
// (arn:PARTITION:ssm:REGION:ACCOUNT:parameter/NAME), which the store reads
// from Parameter Store; any other id is a secret's.
func ParameterARN(id string) bool {
	parts := strings.SplitN(id, ":", 6)
	return len(parts) == 6 && parts[0] == "arn" && parts[2] == "ssm" && strings.HasPrefix(parts[5], "parameter/") && len(parts[5]) > len("parameter/")
}

// readParameter fetches and extracts one SecureString parameter. A String
// parameter is refused: it would keep the key in plain text.
func (s *Store) readParameter(ctx context.Context, arn string) (Binding, error) {
	if s.params == nil {
		return Binding{}, fmt.Errorf("get parameter %s: the store reads no Parameter Store (WithParameters)", arn)
	}
	out, err := s.params.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(arn), WithDecryption: aws.Bool(true)})
	if err != nil {
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) {
			switch apiErr.ErrorCode() {
			case "ParameterNotFound":
				return Binding{}, fmt.Errorf("get parameter %s: %w", arn, ErrSecretNotFound)
			case "AccessDeniedException":
				return Binding{}, fmt.Errorf("get parameter %s: %w (the function's role needs ssm:GetParameter on it, and kms:Decrypt on its KMS key if it is a customer-managed one)", arn, ErrAccessDenied)
			}
		}
		return Binding{}, fmt.Errorf("get parameter %s: %w", arn, err)
	}
	p := out.Parameter
	if p == nil || aws.ToString(p.Value) == "" {
		return Binding{}, fmt.Errorf("get parameter %s: %w", arn, ErrEmptyKey)
	}
	if p.Type != ssmtypes.ParameterTypeSecureString {
		return Binding{}, fmt.Errorf("get parameter %s: %w: it is a %s parameter, which keeps the key in plain text; store it as a SecureString", arn, ErrMalformed, p.Type)
	}
	b, err := s.extract(*p.Value)
	if err != nil {
		return Binding{}, fmt.Errorf("get parameter %s: %w", arn, err)
	}
	return b, nil
}

// ParametersGetter is the part of *ssm.Client that Prefetch needs.
type ParametersGetter interface {
	GetParameters(ctx context.Context, params *ssm.GetParametersInput, optFns ...func(*ssm.Options)) (*ssm.GetParametersOutput, error)
}

var _ ParametersGetter = (*ssm.Client)(nil)

// maxGetParameters is the most names one GetParameters call takes.
const maxGetParameters = 10

// Prefetch reads the parameters among ids that are not cached, ten to a
// GetParameters call, and caches those it can read, so that a run or
// batch over many registered portals makes a tenth of the calls against
// Parameter Store's throughput (40 reads a second by default). It does
// nothing without WithParameters, a client that cannot GetParameters, or
// a TTL of 0. Nothing is reported: an id it could not read is read again,
// alone, by Binding, whose error says why.
func (s *Store) Prefetch(ctx context.Context, ids []string) {
	client, ok := s.params.(ParametersGetter)
	if !ok || s.ttl <= 0 {
		return
	}
	var want []string
	s.mu.Lock()
	for _, id := range ids {
		if c, cached := s.cache[id]; ParameterARN(id) && !slices.Contains(want, id) && (!cached || s.now().Sub(c.fetched) >= s.ttl) {
			want = append(want, id)
		}
	}
	s.mu.Unlock()
	for chunk := range slices.Chunk(want, maxGetParameters) {
		// Asked by name (the ARN's "parameter/..." part with its leading
		// slash), kept only when the answer's ARN is one asked for: a name
		// resolves in the caller's account and region, so another
		// account's ARN is never filled with a parameter of ours.
		names := make([]string, len(chunk))
		for i, arn := range chunk {
			names[i] = arn[strings.Index(arn, ":parameter/")+len(":parameter"):]
		}
		out, err := client.GetParameters(ctx, &ssm.GetParametersInput{Names: names, WithDecryption: aws.Bool(true)})
		if err != nil {
			return
		}
		for _, p := range out.Parameters {
			arn := aws.ToString(p.ARN)
			if !slices.Contains(chunk, arn) || p.Type != ssmtypes.ParameterTypeSecureString {
				continue
			}
			b, err := s.extract(aws.ToString(p.Value))
			if err != nil {
				continue
			}
			s.mu.Lock()
			s.cache[arn] = cached{binding: b, fetched: s.now()}
			s.mu.Unlock()
		}
	}
}
