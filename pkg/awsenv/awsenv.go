// Package awsenv builds the AWS SDK's configuration from the environment
// that Lambda gives a function: the region, the credentials of the
// function's role, and any endpoint set by AWS_ENDPOINT_URL or
// AWS_ENDPOINT_URL_<SERVICE>.
//
// It stands in for config.LoadDefaultConfig in the function only.
// LoadDefaultConfig's credential chain links the STS, SSO, SSO OIDC and
// sign-in clients, whose package initialisation (endpoint tables with
// regular expressions, schemas) runs at every cold start although a
// function never uses them: Lambda puts the role's credentials in the
// environment. Commands run by people (cmd/...) keep LoadDefaultConfig,
// with profiles and the whole chain.
package awsenv

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// ErrNoCredentials is returned by [Config] when the environment has no
// access key: Lambda always sets one, a local run must.
var ErrNoCredentials = errors.New("no AWS credentials in the environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set (Lambda sets them from the function's role; make invoke passes the caller's)")

// ErrNoRegion is returned by [Config] when neither AWS_REGION nor
// AWS_DEFAULT_REGION is set.
var ErrNoRegion = errors.New("no AWS region in the environment: AWS_REGION or AWS_DEFAULT_REGION must be set")

// Config returns the configuration that getenv's variables describe:
//   - the region: AWS_REGION, else AWS_DEFAULT_REGION (Lambda sets both);
//   - static credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
//     AWS_SESSION_TOKEN (Lambda's are valid for the life of the execution
//     environment);
//   - endpoints, as the SDK's shared configuration reads them: every
//     service at AWS_ENDPOINT_URL, one service at AWS_ENDPOINT_URL_<ID>
//     (its SDK ID in capitals, spaces as underscores, such as
//     AWS_ENDPOINT_URL_SECRETS_MANAGER), none of them when
//     AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true.
//
// It returns [ErrNoRegion] or [ErrNoCredentials] when those are missing,
// and an error naming the variable when
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is not a boolean. Every other field
// keeps the SDK's default (standard retries, the default HTTP client).
func Config(getenv func(string) string) (aws.Config, error) {
	region := getenv("AWS_REGION")
	if region == "" {
		region = getenv("AWS_DEFAULT_REGION")
	}
	if region == "" {
		return aws.Config{}, ErrNoRegion
	}
	id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		return aws.Config{}, ErrNoCredentials
	}
	src := endpoints{getenv: getenv}
	if v := strings.TrimSpace(getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")); v != "" {
		ignore, err := strconv.ParseBool(v)
		if err != nil {
			return aws.Config{}, fmt.Errorf("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=%q: want true or false", v)
		}
		src.ignore = ignore
	}
	cfg := aws.Config{
		Region:        region,
		Credentials:   credentials.NewStaticCredentialsProvider(id, secret, getenv("AWS_SESSION_TOKEN")),
		ConfigSources: []any{src},
	}
	if base := getenv("AWS_ENDPOINT_URL"); base != "" && !src.ignore {
		cfg.BaseEndpoint = aws.String(base)
	}
	return cfg, nil
}

// endpoints answers the service clients' questions about configured
// endpoints (the SDK's internal configsources interfaces, which its
// shared configuration's EnvConfig implements too): each client asks for
// its own AWS_ENDPOINT_URL_<ID> when it is built.
type endpoints struct {
	getenv func(string) string
	ignore bool
}

// GetServiceBaseEndpoint returns AWS_ENDPOINT_URL_<ID> for the service
// whose SDK ID is sdkID ("Secrets Manager", "SNS", "DynamoDB").
func (e endpoints) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	if e.ignore {
		return "", false, nil
	}
	v := e.getenv("AWS_ENDPOINT_URL_" + strings.ReplaceAll(strings.ToUpper(sdkID), " ", "_"))
	return v, v != "", nil
}

// GetIgnoreConfiguredEndpoints reports AWS_IGNORE_CONFIGURED_ENDPOINT_URLS.
func (e endpoints) GetIgnoreConfiguredEndpoints(context.Context) (bool, bool, error) {
	return e.ignore, e.ignore, nil
}
