package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/docspace-backup-watch/docspace-backup-watch/internal/motoserver"
)

var secretSeq atomic.Int64

// createSecret stores value in moto and returns the secret's ARN.
func createSecret(t *testing.T, value string) string {
	t.Helper()
	out, err := secretsmanager.NewFromConfig(motoserver.AWSConfig(env.moto)).CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{
		Name: aws.String(fmt.Sprintf("e2e-security-%d", secretSeq.Add(1))), SecretString: aws.String(value),
	})
	if err != nil {
		t.Fatalf("CreateSecret() error = %v", err)
	}
	return aws.ToString(out.ARN)
}

// TestEndToEndKeyGoesOnlyToItsPortal runs the built bootstrap under the
// emulator: a listener at an address of the attacker's choosing receives
// no request with the key, whatever the input says.
func TestEndToEndKeyGoesOnlyToItsPortal(t *testing.T) {
	var mu sync.Mutex
	var leaks []string
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var h strings.Builder
		_ = r.Header.Write(&h)
		if strings.Contains(h.String(), apiKey) {
			mu.Lock()
			leaks = append(leaks, r.URL.Path)
			mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"response":{"enabled":true}}`)
	}))
	t.Cleanup(evil.Close)
	// A portal of our own that redirects every route to the attacker.
	redirector := httptest.NewServer(http.RedirectHandler(evil.URL+"/api/2.0/backup/getservicestate", http.StatusFound))
	t.Cleanup(redirector.Close)

	bare := createSecret(t, apiKey)
	elsewhere := createSecret(t, fmt.Sprintf(`{"portalUrl":"https://other.example.com","apiKey":%q}`, apiKey))
	redirecting := createSecret(t, fmt.Sprintf(`{"portalUrl":%q,"apiKey":%q}`, redirector.URL, apiKey))
	stack := env.stack.SecretARN
	inputs := map[string]string{
		"portalUrl alone":                     fmt.Sprintf(`{"portalUrl":%q}`, evil.URL),
		"list entry without secretId":         fmt.Sprintf(`{"portals":[{"portalUrl":%q}]}`, evil.URL),
		"the stack's secret with another URL": fmt.Sprintf(`{"portalUrl":%q,"secretId":%q}`, evil.URL, stack),
		"a list mixing good and bad":          fmt.Sprintf(`{"portals":[%s,{"portalUrl":%q,"secretId":%q}]}`, portalInput("healthy-mixed"), evil.URL, stack),
		"a bare-key secret":                   fmt.Sprintf(`{"portalUrl":%q,"secretId":%q}`, evil.URL, bare),
		"a secret bound to another host":      fmt.Sprintf(`{"portalUrl":%q,"secretId":%q}`, evil.URL, elsewhere),
		"a redirect to the attacker":          fmt.Sprintf(`{"secretId":%q}`, redirecting),
	}
	for name, payload := range inputs {
		t.Run(name, func(t *testing.T) {
			_, inv, _ := invokeMany(t, payload)
			if name != "a redirect to the attacker" && name != "a list mixing good and bad" && !inv.Failed {
				t.Errorf("Invoke(%s) = %s, want a refusal", payload, inv.Response)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(leaks) > 0 {
				t.Fatalf("Invoke(%s): the attacker received the key on %v", payload, leaks)
			}
		})
	}
}

// TestEndToEndBadInputs: each bad input gets its own error from the
// bootstrap under the emulator, before any portal is asked.
func TestEndToEndBadInputs(t *testing.T) {
	var many []string
	for i := range 501 {
		many = append(many, fmt.Sprintf(`{"secretId":"s-%d"}`, i))
	}
	newline := createSecret(t, fmt.Sprintf(`{"portalUrl":%q,"apiKey":%q}`, env.portalURL, apiKey+"\n"+"x"))
	tests := []struct{ name, payload, want string }{
		{"a typo in a field", `{"portal_url":"https://other.example.com"}`, `unknown field \"portal_url\"; accepted fields: \"portalUrl\", \"secretId\"`},
		{"a typo in a list entry", `{"portals":[{"portalURL":"https://a.example.com"}]}`, `portals[0] has an unknown field \"portalURL\"`},
		{"an empty list", `{"portals":[]}`, `\"portals\" is empty`},
		{"more portals than MAX_PORTALS", `{"portals":[` + strings.Join(many, ",") + `]}`, `lists 501 portals, more than the 500`},
		{"a field given twice", `{"secretId":"a","secretId":"b"}`, `\"secretId\" twice`},
		{"a wrong type", `{"portalUrl":5}`, `\"portalUrl\" must be a string`},
		{"a key with a line break", fmt.Sprintf(`{"secretId":%q}`, newline), `line break`},
	}
	before := env.portal.Stats()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, inv, alerts := invokeMany(t, tt.payload)
			if !inv.Failed || !strings.Contains(string(inv.Response), tt.want) {
				t.Errorf("result = %.400s, want an error saying %s", inv.Response, tt.want)
			}
			if len(alerts) != 0 {
				t.Errorf("alerts = %+v, want none", alerts)
			}
		})
	}
	after := env.portal.Stats()
	b, _ := json.Marshal(before.Portals)
	a, _ := json.Marshal(after.Portals)
	if string(a) != string(b) {
		t.Errorf("the portal was asked: %s before, %s after; want no request", b, a)
	}
}
