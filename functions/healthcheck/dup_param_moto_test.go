package main

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/registry"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/secrets"
)

// useParameters adds the stack's parameters' registry to the rig's
// secrets (ten parameters a page: moto_server's page whatever is asked),
// with a key store that reads them, and returns the stack's path.
func (r *registryRig) useParameters(t *testing.T) string {
	t.Helper()
	client := ssm.NewFromConfig(r.aws)
	path := registry.DefaultParameterPath(r.tag.Value)
	params, err := registry.NewParameters(client, path, registry.WithPageSize(10), registry.WithTTL(0))
	if err != nil {
		t.Fatal(err)
	}
	r.h.registry = registry.All{r.h.registry.(*registry.Registry), params}
	r.h.keys = secrets.NewStore(r.sm, r.h.cfg.SecretKeyField, r.h.cfg.SecretCacheTTL, secrets.WithParameters(client))
	return path
}

// registerParameterFor puts the parameter name under path, bound to the
// rig's TLS portal playing scenario portal, with the description
// `portals add` gives it (a second parameter for one portal is made by
// hand: registration refuses it). It returns the parameter's ARN.
func (r *registryRig) registerParameterFor(t *testing.T, path, name, portal string) string {
	t.Helper()
	return r.registerParameterDescribed(t, path, name, portal, portal)
}

// registerParameterDescribed is registerParameterFor with the description
// of the portal describedFor (a wrong or stale description when it is not
// portal).
func (r *registryRig) registerParameterDescribed(t *testing.T, path, name, portal, describedFor string) string {
	t.Helper()
	ctx := context.Background()
	u, err := docspace.ValidateBaseURL(r.tlsURL+"/p/"+portal, true)
	if err != nil {
		t.Fatal(err)
	}
	described, err := docspace.ValidateBaseURL(r.tlsURL+"/p/"+describedFor, true)
	if err != nil {
		t.Fatal(err)
	}
	value, _ := json.Marshal(map[string]string{"portalUrl": u.String(), "apiKey": faultKey})
	client := ssm.NewFromConfig(r.aws)
	if _, err := client.PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String(path + "/" + name), Type: ssmtypes.ParameterTypeSecureString, Value: aws.String(string(value)),
		Description: aws.String(registry.ParameterDescription(docspace.PortalName(described), path)),
	}); err != nil {
		t.Fatal(err)
	}
	out, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(path + "/" + name)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Parameter.ARN)
}

// TestFleetTwoParametersOnePortalQueuedOnce: two parameters bound to one
// portal, both with the description registration writes, listed in
// different pages (the one whose ARN sorts last first), among more
// portals than one SendMessageBatch call takes. The dispatcher queues that
// portal once, with the parameter whose ARN sorts first, and warns naming
// both, once both parameters' keys (the two keys it reads) show them
// bound to the described portal.
func TestFleetTwoParametersOnePortalQueuedOnce(t *testing.T) {
	r := newFleetRig(t)
	r.setClock(time.Now().UTC())
	path := r.useParameters(t)
	later := r.registerParameterFor(t, path, "z-twice", "healthy-twice")
	for i := range 10 {
		r.registerParameterFor(t, path, fmt.Sprintf("other%d", i), fmt.Sprintf("healthy-other%d", i))
	}
	first := r.registerParameterFor(t, path, "a-twice", "healthy-twice")
	r.wantQueuedOnce(t, first, later)
}

// TestFleetConsumerDropsTheSecondParameter: messages for both parameters
// bound to one portal (queued by an earlier release's dispatcher) reach
// two invocations, two runs in a row; as with secrets
// (wantSecondDropped), the owner claim checks the portal with both in the
// first run and with the parameter whose ARN sorts first from the second.
func TestFleetConsumerDropsTheSecondParameter(t *testing.T) {
	r := newFleetRig(t)
	r.setClock(time.Now().UTC())
	path := r.useParameters(t)
	later := r.registerParameterFor(t, path, "z-twice", "html-twice")
	first := r.registerParameterFor(t, path, "a-twice", "html-twice")
	r.wantSecondDropped(t, "html-twice:bad_response", first, later)
}
