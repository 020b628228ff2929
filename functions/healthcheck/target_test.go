package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/fakeportal"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/secrets"
)

// secretsByID is a key store of bindings by secret id.
type secretsByID map[string]secrets.Binding

func (s secretsByID) Binding(_ context.Context, id string) (secrets.Binding, error) {
	b, ok := s[id]
	if !ok {
		return secrets.Binding{}, fmt.Errorf("get secret %s: %w", id, secrets.ErrSecretNotFound)
	}
	return b, nil
}

// attacker is a listener at an address of the attacker's choosing: it
// records every request that carries the key anywhere in its headers.
type attacker struct {
	url  string
	mu   sync.Mutex
	hits []string
}

func newAttacker(t *testing.T, key string) *attacker {
	t.Helper()
	a := &attacker{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var h strings.Builder
		_ = r.Header.Write(&h)
		if strings.Contains(h.String()+r.URL.String(), key) {
			a.mu.Lock()
			a.hits = append(a.hits, r.URL.Path)
			a.mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"response":{"enabled":true},"status":0,"statusCode":200}`)
	}))
	t.Cleanup(srv.Close)
	a.url = srv.URL
	return a
}

func (a *attacker) got() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.hits...)
}

// TestKeyGoesOnlyToItsPortal: for every input shape, a listener at an
// address of the attacker's choosing never receives a request with a key,
// and each refusal names why.
func TestKeyGoesOnlyToItsPortal(t *testing.T) {
	evil := newAttacker(t, testKey)
	portal, err := fakeportal.New(testKey, fakeportal.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A portal that redirects its state route to the attacker.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/redirect/") {
			http.Redirect(w, r, evil.url+r.URL.Path, http.StatusTemporaryRedirect)
			return
		}
		portal.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	home := srv.URL + "/p/home"
	keys := secretsByID{
		"default":   {PortalURL: srv.URL, Key: testKey},
		"bare":      {Key: testKey},
		"other":     {PortalURL: "https://other.example.com", Key: testKey},
		"docspace":  {PortalURL: srv.URL + "/p/docspace", Key: testKey},
		"sameport":  {PortalURL: strings.Replace(evil.url, "127.0.0.1", "localhost", 1), Key: testKey},
		"redirects": {PortalURL: srv.URL + "/redirect", Key: testKey},
	}
	vars := map[string]string{"PORTAL_URL": home, "SECRET_ID": "default", "TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:alerts", "ALLOW_INSECURE_HTTP": "true", "HTTP_TIMEOUT": "1s"}
	cfg, err := loadConfig(func(name string) string { return vars[name] })
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	h := &handler{cfg: cfg, keys: keys, publisher: &fakePublisher{}, logger: slog.New(slog.NewJSONHandler(logs, nil)), metrics: &syncBuffer{}, now: time.Now}

	evilHost := strings.TrimPrefix(evil.url, "http://")
	tests := []struct {
		name  string
		input string
		want  string // in the error
	}{
		{"portalUrl without secretId", `{"portalUrl":%q}`, "only PORTAL_URL"},
		{"list entry without secretId", `{"portals":[{"portalUrl":%q}]}`, "only PORTAL_URL"},
		{"list: a good entry and the attacker", `{"portals":[{"secretId":"default"},{"portalUrl":%q}]}`, "only PORTAL_URL"},
		{"the default secret with the attacker's URL", `{"portalUrl":%q,"secretId":"default"}`, "bound to portal"},
		{"a secret bound to another host", `{"portalUrl":%q,"secretId":"other"}`, "bound to portal other.example.com"},
		{"a bare-key secret", `{"portalUrl":%q,"secretId":"bare"}`, "bare key"},
		{"a secret bound under a base path, the attacker elsewhere", `{"portalUrl":%q,"secretId":"docspace"}`, "bound to portal"},
		{"the portal's host with the attacker's port", `{"portalUrl":"` + srv.URL[:strings.LastIndex(srv.URL, ":")] + `:` + evilHost[strings.LastIndex(evilHost, ":")+1:] + `","secretId":"default"}`, "bound to portal"},
		{"a sibling of the base path", `{"portalUrl":"` + srv.URL + `/p/docspace2","secretId":"docspace"}`, "outside the base path"},
		{"dot segments out of the base path", `{"portalUrl":"` + srv.URL + `/p/docspace/../../x","secretId":"docspace"}`, `".." segment`},
		{"credentials that name the attacker", `{"portalUrl":"http://x@` + evilHost + `","secretId":"default"}`, "credentials"},
		{"a redirect to the attacker", `{"secretId":"redirects"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := tt.input
			if strings.Contains(raw, "%q") {
				raw = fmt.Sprintf(raw, evil.url)
			}
			_, err := h.Handle(context.Background(), json.RawMessage(raw))
			if tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("Handle(%s) error = %v, want it to say %q", raw, err, tt.want)
			}
			if hits := evil.got(); len(hits) > 0 {
				t.Fatalf("Handle(%s): the attacker received the key on %v", raw, hits)
			}
		})
	}
	// The legitimate shapes still work, on the portal alone.
	for _, raw := range []string{`{}`, `{"secretId":"default"}`, `{"portalUrl":"` + home + `/"}`, `{"secretId":"docspace"}`,
		`{"portalUrl":"` + srv.URL + `/p/docspace/sub","secretId":"docspace"}`, `{"portalUrl":"` + home + `","secretId":"bare"}`, `{"secretId":"bare"}`} {
		out, err := h.Handle(context.Background(), json.RawMessage(raw))
		if err != nil || len(out.Verdicts) != 1 {
			t.Errorf("Handle(%s) = %+v, %v; want one verdict", raw, out, err)
		}
	}
	if strings.Contains(logs.String(), testKey) {
		t.Errorf("logs hold the key")
	}
}

func TestResolveRefusesBeforeReadingTheSecret(t *testing.T) {
	vars := map[string]string{"PORTAL_URL": "https://portal.example.com", "SECRET_ID": "default", "TOPIC_ARN": "arn:aws:sns:us-east-1:1:t", "ALLOWED_HOSTS": "*.example.com"}
	cfg, err := loadConfig(func(name string) string { return vars[name] })
	if err != nil {
		t.Fatal(err)
	}
	h := &handler{cfg: cfg, keys: fakeKeys{err: errors.New("must not be read")}}
	for _, tt := range []struct{ t target }{
		{target{PortalURL: "https://other.example.com"}},
		{target{PortalURL: "https://127.0.0.1", SecretID: "x"}},
		{target{PortalURL: "https://169.254.169.254/latest", SecretID: "x"}},
		{target{PortalURL: "https://portal.example.org", SecretID: "x"}},
		{target{PortalURL: "http://portal.example.com", SecretID: "x"}},
	} {
		_, err := h.resolve(context.Background(), tt.t)
		if !errors.Is(err, errRefused) {
			t.Errorf("resolve(%+v) error = %v, want a refusal before the secret is read", tt.t, err)
		}
	}
	h.keys = secretsByID{"x": {PortalURL: "https://portal.example.net", Key: testKey}}
	if _, err := h.resolve(context.Background(), target{SecretID: "x"}); !errors.Is(err, errRefused) || !strings.Contains(err.Error(), "ALLOWED_HOSTS") {
		t.Errorf("resolve(secret bound outside ALLOWED_HOSTS) error = %v, want a refusal naming ALLOWED_HOSTS", err)
	}
}

// TestResolveNamesPortalsOnce: the portal's one name is lower-case and in
// punycode, so that subjects and SMS carry no "??" and state and metrics
// keep one entry per portal however its URL is written.
func TestResolveNamesPortalsOnce(t *testing.T) {
	vars := map[string]string{"PORTAL_URL": "https://portal.example.com", "SECRET_ID": "default", "TOPIC_ARN": "arn:aws:sns:us-east-1:1:t"}
	cfg, err := loadConfig(func(name string) string { return vars[name] })
	if err != nil {
		t.Fatal(err)
	}
	h := &handler{cfg: cfg, keys: secretsByID{
		"idn":   {PortalURL: "https://Bücher.example/DocSpace/", Key: testKey},
		"upper": {PortalURL: "https://A.Example.COM:443", Key: testKey},
	}}
	for _, tt := range []struct {
		t    target
		want string
	}{
		{target{SecretID: "idn"}, "xn--bcher-kva.example/DocSpace"},
		{target{PortalURL: "https://BÜCHER.example/DocSpace/x", SecretID: "idn"}, "xn--bcher-kva.example/DocSpace/x"},
		{target{SecretID: "upper"}, "a.example.com"},
		{target{PortalURL: "https://a.example.com/", SecretID: "upper"}, "a.example.com"},
	} {
		r, err := h.resolve(context.Background(), tt.t)
		if err != nil || r.Portal != tt.want {
			t.Errorf("resolve(%+v) = %q, %v; want %q", tt.t, r.Portal, err, tt.want)
		}
	}
}
