package main

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/docspace-backup-watch/docspace-backup-watch/internal/localrun"
	"github.com/docspace-backup-watch/docspace-backup-watch/internal/motoserver"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/registry"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/secrets"
)

// registryRig is a fault rig whose handler lists the portals registered
// with tag; its portals are served over TLS that the handler trusts.
type registryRig struct {
	*faultRig
	tag    registry.Tag
	tlsURL string
	sm     *secretsmanager.Client
}

func newRegistryRig(t *testing.T, endpoint string) *registryRig {
	t.Helper()
	// Every portal here answers at once: a generous timeout keeps a loaded
	// machine (make test runs packages in parallel under -race) from
	// reading a slow handshake as unreachable.
	r := &registryRig{faultRig: newFaultRig(t, endpoint, map[string]string{"HTTP_TIMEOUT": "15s"})}
	srv := httptest.NewTLSServer(r.portal)
	t.Cleanup(srv.Close)
	r.tlsURL = srv.URL
	r.h.clientOptions = []docspace.Option{docspace.WithHTTPClient(srv.Client())}
	r.tag = registry.Tag{Key: registry.DefaultTagKey, Value: fmt.Sprintf("stack-%d", stackSeq.Add(1))}
	r.h.cfg.RegistryTag = r.tag
	r.sm = secretsmanager.NewFromConfig(r.aws)
	// Two secrets a page, no cache: each run lists again.
	reg, err := registry.New(r.sm, r.tag, registry.WithPageSize(2), registry.WithTTL(0))
	if err != nil {
		t.Fatal(err)
	}
	r.h.registry = reg
	return r
}

// register creates a bound secret for the rig's portal playing scenario
// name, tagged with value (none when ""); baseURL "" is the TLS portal.
func (r *registryRig) register(t *testing.T, name, baseURL, tagValue string) string {
	t.Helper()
	if baseURL == "" {
		baseURL = r.tlsURL
	}
	tagKey := r.tag.Key
	if tagValue == "" {
		tagKey = ""
	}
	arn, err := localrun.RegisterPortal(context.Background(), r.aws, r.tag.Value+"/"+name, baseURL+"/p/"+name, faultKey, tagKey, tagValue)
	if err != nil {
		t.Fatal(err)
	}
	return arn
}

// portals returns the portal names of the verdicts, sorted, without the
// host.
func verdictNames(out output) []string {
	var names []string
	for _, v := range out.Verdicts {
		names = append(names, v.Portal[strings.Index(v.Portal, "/p/")+3:]+":"+string(v.Reason))
	}
	slices.Sort(names)
	return names
}

// TestRegistryThroughHandler: a run whose input names no portal checks the
// PORTAL_URL portal and every secret carrying the stack's tag, over more
// than one page of the listing, and no other secret; a tagged secret bound
// to an http URL is refused with a clear error without hiding the others;
// a removed secret is no longer checked.
func TestRegistryThroughHandler(t *testing.T) {
	r := newRegistryRig(t, motoserver.Start(t))
	r.h.cfg.PortalURL = r.url + "/p/healthy-default"
	r.register(t, "healthy-a", "", r.tag.Value)
	r.register(t, "stale-b", "", r.tag.Value)
	r.register(t, "healthy-c", "", r.tag.Value)
	removed := r.register(t, "healthy-removed", "", r.tag.Value)
	r.register(t, "healthy-untagged", "", "")
	r.register(t, "healthy-other-stack", "", r.tag.Value+"-other")
	plain := r.register(t, "healthy-plain-http", r.url, r.tag.Value)

	out, err := r.run(t, context.Background(), []byte(`{"source":"schedule"}`))
	want := []string{"healthy-a:healthy", "healthy-c:healthy", "healthy-default:healthy", "healthy-removed:healthy", "stale-b:backup_stale"}
	if got := verdictNames(out); !slices.Equal(got, want) {
		t.Errorf("verdicts = %v, want %v", got, want)
	}
	if !errors.Is(err, errNotHTTPS) || !strings.Contains(err.Error(), plain) {
		t.Errorf("Handle() error = %v, want the http-bound secret %s refused with errNotHTTPS", err, plain)
	}
	if n := r.portal.Stats().Portals["healthy-plain-http"]; n != 0 {
		t.Errorf("the http-bound portal got %d requests, want none", n)
	}
	r.wantAlerts(t, "alert:backup_stale")

	if _, err := r.sm.DeleteSecret(context.Background(), &secretsmanager.DeleteSecretInput{SecretId: aws.String(removed)}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.sm.DeleteSecret(context.Background(), &secretsmanager.DeleteSecretInput{SecretId: aws.String(plain), ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	out, err = r.run(t, context.Background(), []byte(`{}`))
	want = []string{"healthy-a:healthy", "healthy-c:healthy", "healthy-default:healthy", "stale-b:backup_stale"}
	if got := verdictNames(out); err != nil || !slices.Equal(got, want) {
		t.Errorf("after removing two secrets: verdicts = %v, %v, want %v and no error", got, err, want)
	}
}

// TestRegistryExplicitInputWins: an input that names portals checks those
// alone, not the registry.
func TestRegistryExplicitInputWins(t *testing.T) {
	r := newRegistryRig(t, motoserver.Start(t))
	r.register(t, "healthy-registered", "", r.tag.Value)
	out, err := r.run(t, context.Background(), r.input(r.url+"/p/healthy-explicit"))
	if got := verdictNames(out); err != nil || !slices.Equal(got, []string{"healthy-explicit:healthy"}) {
		t.Errorf("verdicts = %v, %v, want only the explicit portal", got, err)
	}
}

// TestRegistryListingFails: a listing the role may not make fails the run,
// after the PORTAL_URL portal got its verdict.
func TestRegistryListingFails(t *testing.T) {
	r := newRegistryRig(t, motoserver.Start(t))
	r.h.cfg.PortalURL = r.url + "/p/healthy-default"
	r.h.registry = failingLister{}
	out, err := r.run(t, context.Background(), nil)
	if got := verdictNames(out); !slices.Equal(got, []string{"healthy-default:healthy"}) || !errors.Is(err, registry.ErrAccessDenied) {
		t.Errorf("verdicts = %v, error = %v, want the default portal's verdict and ErrAccessDenied", got, err)
	}
}

type failingLister struct{}

func (failingLister) Portals(context.Context) ([]registry.Entry, error) {
	return nil, fmt.Errorf("registry: %w", registry.ErrAccessDenied)
}

// registerParameter puts a bound parameter for the rig's portal playing
// scenario name under path; baseURL "" is the TLS portal; plain makes it a
// String (the key in plain text).
func (r *registryRig) registerParameter(t *testing.T, path, name, baseURL string, plain bool) string {
	t.Helper()
	if baseURL == "" {
		baseURL = r.tlsURL
	}
	arn, err := localrun.RegisterParameterPortal(context.Background(), r.aws, path+"/"+name, baseURL+"/p/"+name, faultKey, plain)
	if err != nil {
		t.Fatal(err)
	}
	return arn
}

// countingParameters counts the reads of keys in Parameter Store.
type countingParameters struct {
	*ssm.Client
	one, many atomic.Int64
}

func (c *countingParameters) GetParameter(ctx context.Context, in *ssm.GetParameterInput, opts ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	c.one.Add(1)
	return c.Client.GetParameter(ctx, in, opts...)
}

func (c *countingParameters) GetParameters(ctx context.Context, in *ssm.GetParametersInput, opts ...func(*ssm.Options)) (*ssm.GetParametersOutput, error) {
	c.many.Add(1)
	return c.Client.GetParameters(ctx, in, opts...)
}

// TestParameterRegistryThroughHandler: the same as
// TestRegistryThroughHandler for portals registered as SecureString
// parameters under the stack's path, beside a tagged secret: a run whose
// input names no portal checks every parameter under the path (more than
// one page) and the secret, and nothing under another path; a parameter
// bound to http, and a String parameter (the key in plain text), are
// refused with errors naming them, without hiding the others; a removed
// parameter is no longer checked; a parameter's key goes to its own
// portal alone. The keys are read ten to a call before the checks; only
// the one that cannot be used is read again, alone. No log line, metric or
// notice holds the key (the rig's leak check).
func TestParameterRegistryThroughHandler(t *testing.T) {
	r := newRegistryRig(t, motoserver.Start(t))
	client := ssm.NewFromConfig(r.aws)
	path := registry.DefaultParameterPath(r.tag.Value)
	params, err := registry.NewParameters(client, path, registry.WithPageSize(2), registry.WithTTL(0))
	if err != nil {
		t.Fatal(err)
	}
	r.h.registry = registry.All{r.h.registry.(*registry.Registry), params}
	reads := &countingParameters{Client: client}
	r.h.keys = secrets.NewStore(r.sm, "", time.Minute, secrets.WithParameters(reads))
	r.h.cfg.PortalURL = r.url + "/p/healthy-default"
	r.register(t, "healthy-secret", "", r.tag.Value)
	r.registerParameter(t, path, "healthy-a", "", false)
	r.registerParameter(t, path, "stale-b", "", false)
	r.registerParameter(t, path, "healthy-c", "", false)
	removed := r.registerParameter(t, path, "healthy-removed", "", false)
	r.registerParameter(t, path+"-other", "healthy-other-stack", "", false)
	plain := r.registerParameter(t, path, "healthy-plain-http", r.url, false)
	clear := r.registerParameter(t, path, "healthy-plain-text", "", true)

	out, err := r.run(t, context.Background(), []byte(`{"source":"schedule"}`))
	want := []string{"healthy-a:healthy", "healthy-c:healthy", "healthy-default:healthy", "healthy-removed:healthy", "healthy-secret:healthy", "stale-b:backup_stale"}
	if got := verdictNames(out); !slices.Equal(got, want) {
		t.Errorf("verdicts = %v, want %v", got, want)
	}
	if !errors.Is(err, errNotHTTPS) || !strings.Contains(err.Error(), plain) || !errors.Is(err, secrets.ErrMalformed) || !strings.Contains(err.Error(), clear) {
		t.Errorf("Handle() error = %v, want %s refused for http and %s for plain text", err, plain, clear)
	}
	for _, name := range []string{"healthy-plain-http", "healthy-plain-text", "healthy-other-stack"} {
		if n := r.portal.Stats().Portals[name]; n != 0 {
			t.Errorf("%s got %d requests, want none", name, n)
		}
	}
	r.wantAlerts(t, "alert:backup_stale")
	if one, many := reads.one.Load(), reads.many.Load(); one != 1 || many != 1 {
		t.Errorf("GetParameter calls %d, GetParameters calls %d; want the 6 parameters in one GetParameters call and the plain-text one read again alone", one, many)
	}

	// The key of a parameter goes to its own portal alone.
	a := r.registerParameter(t, path+"-explicit", "healthy-bound", "", false)
	if _, err := r.run(t, context.Background(), []byte(fmt.Sprintf(`{"portalUrl":%q,"secretId":%q}`, r.tlsURL+"/p/healthy-elsewhere", a))); err == nil || !strings.Contains(err.Error(), "bound") {
		t.Errorf("a parameter's key for another portal: error = %v, want refused", err)
	}
	if n := r.portal.Stats().Portals["healthy-elsewhere"]; n != 0 {
		t.Errorf("the other portal got %d requests with the parameter's key, want none", n)
	}

	for _, arn := range []string{removed, plain, clear} {
		if _, err := client.DeleteParameter(context.Background(), &ssm.DeleteParameterInput{Name: aws.String(arn[strings.Index(arn, ":parameter/")+len(":parameter"):])}); err != nil {
			t.Fatal(err)
		}
	}
	out, err = r.run(t, context.Background(), []byte(`{}`))
	want = []string{"healthy-a:healthy", "healthy-c:healthy", "healthy-default:healthy", "healthy-secret:healthy", "stale-b:backup_stale"}
	if got := verdictNames(out); err != nil || !slices.Equal(got, want) {
		t.Errorf("after removing three parameters: verdicts = %v, %v, want %v and no error", got, err, want)
	}
}
