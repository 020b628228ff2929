package docspace

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestValidateBaseURLNormalizes(t *testing.T) {
	for raw, want := range map[string]string{
		"https://portal.example.com":                 "portal.example.com",
		"https://portal.example.com/":                "portal.example.com",
		"https://Portal.EXAMPLE.com":                 "portal.example.com",
		"https://portal.example.com.":                "portal.example.com",
		"https://portal.example.com:443/":            "portal.example.com",
		"https://example.com:8443/docspace/":         "example.com:8443/docspace",
		"https://Example.com/DocSpace//":             "example.com/DocSpace",
		"https://bücher.example":                     "xn--bcher-kva.example",
		"https://BÜCHER.example/x":                   "xn--bcher-kva.example/x",
		"https://xn--bcher-kva.example":              "xn--bcher-kva.example",
		"https://[2001:db8::1]:443/":                 "[2001:db8::1]",
		"https://[2001:DB8:0::1]:8443":               "[2001:db8::1]:8443",
		"https://portal.example.com:0443":            "portal.example.com",
		"https://portal.example.com:08443/x":         "portal.example.com:8443/x",
		"https://203.0.113.7":                        "203.0.113.7",
		"https://пример.рф/portal":                   "xn--e1afmkfd.xn--p1ai/portal",
		"  https://portal.example.com/docspace/  \n": "portal.example.com/docspace",
	} {
		u, err := ValidateBaseURL(raw, false)
		if err != nil {
			t.Errorf("ValidateBaseURL(%q) error = %v", raw, err)
			continue
		}
		if got := PortalName(u); got != want {
			t.Errorf("PortalName(ValidateBaseURL(%q)) = %q, want %q", raw, got, want)
		}
		if got := u.Host + u.Path; got != want {
			t.Errorf("ValidateBaseURL(%q) = %q, want the normalized %q", raw, got, want)
		}
	}
	// http keeps its own default port rule.
	u, err := ValidateBaseURL("http://127.0.0.1:80/p/x/", true)
	if err != nil || PortalName(u) != "127.0.0.1/p/x" {
		t.Errorf("ValidateBaseURL(http, allowHTTP) = %v, %v; want 127.0.0.1/p/x", u, err)
	}
}

func TestPortalNameOfUnvalidatedURL(t *testing.T) {
	u, _ := url.Parse("https://A.Example.com:443/x/")
	if got := PortalName(u); got != "a.example.com/x" {
		t.Errorf("PortalName(%v) = %q, want a.example.com/x", u, got)
	}
}

func TestValidateBaseURLRefusesInternalHosts(t *testing.T) {
	for _, raw := range []string{
		"https://127.0.0.1", "https://127.1.2.3:8443", "https://[::1]", "https://[::ffff:127.0.0.1]",
		"https://10.0.0.5", "https://172.16.3.4", "https://192.168.1.1", "https://[fd00::1]",
		"https://169.254.169.254", "https://[fe80::1]", "https://0.0.0.0", "https://[::]",
		"https://100.64.0.1", "https://224.0.0.1",
		"https://localhost", "https://LOCALHOST:8443", "https://api.localhost", "https://portal",
		"https://ip-10-0-0-1.ec2.internal", "https://nas.local", "https://2130706433", "https://0x7f.1",
		"https://127.0.0.1.", "https://host.home.arpa",
		// IPv4 addresses inside IPv6 transition prefixes (NAT64, 6to4)
		// reach the IPv4 address they hold.
		"https://[64:ff9b::a9fe:a9fe]", "https://[64:ff9b::10.0.0.5]", "https://[64:ff9b:1::a00:5]", "https://[2002:a9fe:a9fe::1]",
	} {
		_, err := ValidateBaseURL(raw, false)
		if err == nil {
			t.Errorf("ValidateBaseURL(%q, false) error = nil, want a refusal", raw)
			continue
		}
		if !strings.Contains(err.Error(), "ALLOW_INSECURE_HTTP") {
			t.Errorf("ValidateBaseURL(%q, false) error = %q, want it to say what allows it", raw, err)
		}
		if _, err := ValidateBaseURL(raw, true); err != nil {
			t.Errorf("ValidateBaseURL(%q, true) error = %v, want it allowed for local tests", raw, err)
		}
	}
}

func TestValidateBaseURLRefusesBadURLs(t *testing.T) {
	for _, raw := range []string{
		"http://portal.example.com", "ftp://portal.example.com", "portal.example.com", "https://",
		"https://:443", "https://user:pass@portal.example.com", "https://portal.example.com?x=1",
		"https://portal.example.com/?", "https://portal.example.com#f", "https://exa mple.com",
		"https://a_b.example.com", "https://xn--a.example", "https://portal.example.com:65536", "https://portal.example.com:0",
		"https://a.example.com/docspace/../admin", "https://a.example.com/docspace/%2e%2e/admin", "https://a.example.com/./x",
		"https://a.example.com/a%2fb", "https://a.example.com/a\\b", "https://a.example.com/a//b", "https://a.example.com/a%0ab",
	} {
		if u, err := ValidateBaseURL(raw, false); err == nil {
			t.Errorf("ValidateBaseURL(%q) = %v, want an error", raw, u)
		} else if strings.Contains(err.Error(), "pass") {
			t.Errorf("ValidateBaseURL(%q) error %q leaks the password", raw, err)
		}
	}
}

// TestValidateBaseURLSaysWhatToWrite: each common mistake gets a message
// that says what to write instead.
func TestValidateBaseURLSaysWhatToWrite(t *testing.T) {
	for _, tt := range []struct{ raw, want string }{
		{"http://portal.example.com", "portal URL http://portal.example.com must use https (http:// only with ALLOW_INSECURE_HTTP=true, for a local test portal)"},
		{"portal.example.com", `portal URL "portal.example.com" has no scheme: write it as https://portal.example.com`},
		{"portal.example.com:8443/docspace", `has no scheme: write it as https://portal.example.com:8443/docspace`},
		{"user:pass@portal.example.com", `has no scheme: write it as https://xxxxx@portal.example.com`},
		{"ftp://portal.example.com", "portal URL ftp://portal.example.com must start with https://"},
		{"https://portal.example.com/products/files/", "portal URL https://portal.example.com/products/files/ is a page of the portal, not its address: use https://portal.example.com"},
		{"https://portal.example.com/rooms/shared/filter", "is a page of the portal, not its address: use https://portal.example.com"},
		{"https://example.com/docspace/Rooms/personal", "is a page of the portal, not its address: use https://example.com/docspace"},
		{"https://portal.example.com/api/2.0/backup/getbackupschedule", "is a page of the portal, not its address: use https://portal.example.com"},
		{"https://portal.example.com/doceditor", "use https://portal.example.com"},
	} {
		_, err := ValidateBaseURL(tt.raw, false)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ValidateBaseURL(%q) error = %v, want %q", tt.raw, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "pass") {
			t.Errorf("ValidateBaseURL(%q) error %q leaks the password", tt.raw, err)
		}
	}
	// A base path is not a page.
	if _, err := ValidateBaseURL("https://example.com/docspace", false); err != nil {
		t.Errorf("ValidateBaseURL(https://example.com/docspace) error = %v, want nil", err)
	}
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := ValidateBaseURL(raw, true)
	if err != nil {
		t.Fatalf("ValidateBaseURL(%q) error = %v", raw, err)
	}
	return u
}

func TestWithin(t *testing.T) {
	tests := []struct {
		base, u string
		want    bool
	}{
		{"https://a.example.com", "https://a.example.com", true},
		{"https://a.example.com", "https://A.example.com:443/", true},
		{"https://a.example.com", "https://a.example.com/p/x", true},
		{"https://a.example.com/docspace", "https://a.example.com/docspace/", true},
		{"https://a.example.com/docspace", "https://a.example.com/docspace/sub", true},
		{"https://a.example.com/docspace", "https://a.example.com/docspace2", false},
		{"https://a.example.com/docspace", "https://a.example.com/", false},
		{"https://a.example.com/docspace", "https://a.example.com/other/docspace", false},
		{"https://a.example.com", "https://a.example.com:8443", false},
		{"https://a.example.com:8443", "https://a.example.com", false},
		{"https://a.example.com", "http://a.example.com", false},
		{"https://a.example.com", "https://b.example.com", false},
		{"https://a.example.com", "https://a.example.com.evil.com", false},
		{"https://example.com", "https://a.example.com", false},
		{"https://a.example.com", "https://a.example.com@evil.com", false},
	}
	for _, tt := range tests {
		base := mustURL(t, tt.base)
		u, err := ValidateBaseURL(tt.u, true)
		if err != nil {
			if tt.want {
				t.Errorf("ValidateBaseURL(%q) error = %v", tt.u, err)
			}
			continue
		}
		if got := Within(base, u); got != tt.want {
			t.Errorf("Within(%q, %q) = %v, want %v", tt.base, tt.u, got, tt.want)
		}
	}
}

func TestMatchHost(t *testing.T) {
	tests := []struct {
		pattern, u string
		want       bool
	}{
		{"portal.example.com", "https://portal.example.com", true},
		{"Portal.Example.COM", "https://portal.example.com:8443/x", true},
		{"portal.example.com", "https://other.example.com", false},
		{"*.example.com", "https://a.example.com", true},
		{"*.example.com", "https://a.b.example.com", true},
		{"*.example.com", "https://example.com", false},
		{"*.example.com", "https://evilexample.com", false},
		{"*.bücher.example", "https://a.xn--bcher-kva.example", true},
	}
	for _, tt := range tests {
		if got := MatchHost(tt.pattern, mustURL(t, tt.u)); got != tt.want {
			t.Errorf("MatchHost(%q, %q) = %v, want %v", tt.pattern, tt.u, got, tt.want)
		}
	}
	for _, bad := range []string{"", "*.", "a.*.example.com", "*", "exa mple.com"} {
		if ValidHostPattern(bad) == nil {
			t.Errorf("ValidHostPattern(%q) = nil, want an error", bad)
		}
	}
	if err := ValidHostPattern("*.example.com"); err != nil {
		t.Errorf("ValidHostPattern(*.example.com) = %v", err)
	}
}

func TestValidateAPIKey(t *testing.T) {
	for _, key := range []APIKey{"sk-0123456789abcdef", "sk-a.b_c~d+e/f==", "abcdefgh"} {
		if err := ValidateAPIKey(key); err != nil {
			t.Errorf("ValidateAPIKey(%q) = %v, want nil", key, err)
		}
	}
	for _, key := range []APIKey{"", "   ", "sk-0123456789\n", "sk-01234\r\n56789", "sk-0123\x00456789", "Bearer sk-0123456789",
		"sk-0123456789\t", "sk-0123456789é", "sk-\"0123456789", "sk-01=23456789", "sk-0123", "sk-0123\x7f456789"} {
		err := ValidateAPIKey(key)
		if !errors.Is(err, ErrInvalidKey) {
			t.Errorf("ValidateAPIKey(%q) = %v, want ErrInvalidKey", key, err)
			continue
		}
		if len(key) >= MinKeyLen && strings.Contains(err.Error(), strings.TrimSpace(string(key))) {
			t.Errorf("ValidateAPIKey error %q quotes the key", err)
		}
	}
}
