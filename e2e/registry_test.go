package e2e

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
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
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/registry"
)

var tagSeq atomic.Int64

// fleetRig is a function of its own under the emulator, listing the
// portals registered with its tag, and the shared fake portal served over
// TLS with a certificate the function trusts (SSL_CERT_FILE).
type fleetRig struct {
	fn       *localrun.Function
	tagValue string
	tlsURL   string
	cfg      aws.Config
}

func newFleetRig(t *testing.T, extra map[string]string) *fleetRig {
	t.Helper()
	return newFleetRigWithTag(t, fmt.Sprintf("e2e-fleet-%d", tagSeq.Add(1)), extra)
}

// newFleetRigWithTag is newFleetRig for the portals registered with
// tagValue.
func newFleetRigWithTag(t *testing.T, tagValue string, extra map[string]string) *fleetRig {
	t.Helper()
	srv := httptest.NewTLSServer(env.portal)
	t.Cleanup(srv.Close)
	certFile := filepath.Join(t.TempDir(), "portal.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	r := &fleetRig{tagValue: tagValue, tlsURL: srv.URL, cfg: motoserver.AWSConfig(env.moto)}
	fnEnv := env.stack.FunctionEnv(env.moto, env.portalURL+"/p/healthy-default")
	fnEnv["HTTP_TIMEOUT"] = "15s" // every portal here answers at once; a loaded machine may be slow
	fnEnv["FAIL_AFTER_TRANSIENT"] = "1"
	fnEnv["REGISTRY_TAG_VALUE"] = r.tagValue
	fnEnv["SECRET_CACHE_TTL"] = "1ms" // list the registry on every run
	fnEnv["SSL_CERT_FILE"] = certFile
	for k, v := range extra {
		fnEnv[k] = v
	}
	fn, err := localrun.StartFunction(context.Background(), env.rie, env.bootstrap, fnEnv, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fn.Close)
	r.fn = fn
	return r
}

// register creates a bound secret for the portal playing name; baseURL ""
// is the TLS portal; tagged false leaves the tag off.
func (r *fleetRig) register(t *testing.T, name, baseURL string, tagged bool) string {
	t.Helper()
	if baseURL == "" {
		baseURL = r.tlsURL
	}
	tagKey := registry.DefaultTagKey
	if !tagged {
		tagKey = ""
	}
	arn, err := localrun.RegisterPortal(context.Background(), r.cfg, r.tagValue+"/"+name, baseURL+"/p/"+name, apiKey, tagKey, r.tagValue)
	if err != nil {
		t.Fatal(err)
	}
	return arn
}

// invoke runs the function once and returns its verdicts, from its result
// log lines (a failed run has no result), as "name:reason", sorted, and
// the invocation.
func (r *fleetRig) invoke(t *testing.T, payload string) ([]string, localrun.Invocation) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	inv, err := r.fn.Invoke(ctx, []byte(payload))
	if err != nil {
		t.Fatalf("Invoke(%s) error = %v", payload, err)
	}
	for _, line := range inv.Logs {
		if strings.Contains(line, apiKey) {
			t.Errorf("a log line holds the API key: %s", line)
		}
	}
	var got []string
	for _, line := range inv.Logs {
		var m struct{ Msg, Portal, Outcome string }
		if json.Unmarshal([]byte(line), &m) == nil && strings.HasPrefix(m.Msg, "backup check") {
			got = append(got, m.Portal[strings.Index(m.Portal, "/p/")+3:]+":"+m.Outcome)
		}
	}
	slices.Sort(got)
	return got, inv
}

// TestEndToEndRegistry: the built bootstrap, given the scheduler's event,
// checks PORTAL_URL and every portal registered with its tag (more than
// one page of the listing), refuses a tagged secret bound to http, and
// stops checking a removed secret.
func TestEndToEndRegistry(t *testing.T) {
	r := newFleetRig(t, map[string]string{"REGISTRY_PAGE_SIZE": "2"})
	for _, name := range []string{"healthy-r1", "healthy-r2", "inactive-r3", "healthy-r4"} {
		r.register(t, name, "", true)
	}
	removed := r.register(t, "healthy-r5", "", true)
	r.register(t, "healthy-untagged", "", false)
	plain := r.register(t, "healthy-http", env.portalURL, true)
	env.stack.Alerts(context.Background(), 0) // drain

	scheduled, err := os.ReadFile("../events/scheduled.json")
	if err != nil {
		t.Fatal(err)
	}
	got, inv := r.invoke(t, string(scheduled))
	want := []string{"healthy-default:healthy", "healthy-r1:healthy", "healthy-r2:healthy", "healthy-r4:healthy", "healthy-r5:healthy", "inactive-r3:service_inactive"}
	if !slices.Equal(got, want) {
		t.Errorf("verdicts = %v, want %v (response %s)", got, want, inv.Response)
	}
	// The run fails for the http-bound secret, naming it, so the monitor
	// alarm sees it; the others still got their verdicts above.
	if !inv.Failed || !strings.Contains(string(inv.Response), plain) || !strings.Contains(string(inv.Response), "https") {
		t.Errorf("response = %s, want an error naming %s and https", inv.Response, plain)
	}
	if alerts, _ := env.stack.Alerts(context.Background(), time.Second); len(alerts) != 1 || alerts[0].Attributes["reason"] != "service_inactive" {
		t.Errorf("alerts = %+v, want one service_inactive alert", alerts)
	}

	sm := secretsmanager.NewFromConfig(r.cfg)
	for _, arn := range []string{removed, plain} {
		if _, err := sm.DeleteSecret(context.Background(), &secretsmanager.DeleteSecretInput{SecretId: aws.String(arn), ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
			t.Fatal(err)
		}
	}
	got, inv = r.invoke(t, `{}`)
	want = []string{"healthy-default:healthy", "healthy-r1:healthy", "healthy-r2:healthy", "healthy-r4:healthy", "inactive-r3:service_inactive"}
	if !slices.Equal(got, want) || inv.Failed {
		t.Errorf("after removing two secrets: verdicts = %v (failed %v), want %v", got, inv.Failed, want)
	}
	env.stack.Alerts(context.Background(), 0)
}

// TestEndToEndParameterRegistry: the built bootstrap, given the
// scheduler's event, checks PORTAL_URL and every portal registered as a
// SecureString parameter under REGISTRY_PARAMETER_PATH (more than one page
// of the listing), not one under another path; refuses a parameter bound
// to http; and stops checking a removed parameter. No log line holds the
// key (invoke checks).
func TestEndToEndParameterRegistry(t *testing.T) {
	tagValue := fmt.Sprintf("e2e-parameters-%d", tagSeq.Add(1))
	path := registry.DefaultParameterPath(tagValue)
	r := newFleetRigWithTag(t, tagValue, map[string]string{"REGISTRY_PARAMETER_PATH": path, "REGISTRY_PAGE_SIZE": "2"})
	put := func(path, name, baseURL string) string {
		t.Helper()
		if baseURL == "" {
			baseURL = r.tlsURL
		}
		arn, err := localrun.RegisterParameterPortal(context.Background(), r.cfg, path+"/"+name, baseURL+"/p/"+name, apiKey, false)
		if err != nil {
			t.Fatal(err)
		}
		return arn
	}
	for _, name := range []string{"healthy-q1", "healthy-q2", "inactive-q3"} {
		put(path, name, "")
	}
	removed := put(path, "healthy-q4", "")
	put(path+"-other", "healthy-elsewhere", "")
	plain := put(path, "healthy-http", env.portalURL)
	env.stack.Alerts(context.Background(), 0) // drain

	got, inv := r.invoke(t, `{"source":"schedule"}`)
	want := []string{"healthy-default:healthy", "healthy-q1:healthy", "healthy-q2:healthy", "healthy-q4:healthy", "inactive-q3:service_inactive"}
	if !slices.Equal(got, want) {
		t.Errorf("verdicts = %v, want %v (response %s)", got, want, inv.Response)
	}
	if !inv.Failed || !strings.Contains(string(inv.Response), plain) || !strings.Contains(string(inv.Response), "https") {
		t.Errorf("response = %s, want an error naming %s and https", inv.Response, plain)
	}
	if alerts, _ := env.stack.Alerts(context.Background(), time.Second); len(alerts) != 1 || alerts[0].Attributes["reason"] != "service_inactive" {
		t.Errorf("alerts = %+v, want one service_inactive alert", alerts)
	}

	client := ssm.NewFromConfig(r.cfg)
	for _, arn := range []string{removed, plain} {
		if _, err := client.DeleteParameter(context.Background(), &ssm.DeleteParameterInput{Name: aws.String(arn[strings.Index(arn, ":parameter/")+len(":parameter"):])}); err != nil {
			t.Fatal(err)
		}
	}
	got, inv = r.invoke(t, `{}`)
	want = []string{"healthy-default:healthy", "healthy-q1:healthy", "healthy-q2:healthy", "inactive-q3:service_inactive"}
	if !slices.Equal(got, want) || inv.Failed {
		t.Errorf("after removing two parameters: verdicts = %v (failed %v), want %v", got, inv.Failed, want)
	}
	env.stack.Alerts(context.Background(), 0)
}
