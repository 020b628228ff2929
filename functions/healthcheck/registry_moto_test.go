package main

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/docspace-backup-watch/docspace-backup-watch/internal/localrun"
	"github.com/docspace-backup-watch/docspace-backup-watch/internal/motoserver"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/registry"
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
