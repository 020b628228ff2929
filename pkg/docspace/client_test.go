package docspace

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const testKey APIKey = "sk-test-0123456789abcdef"

var fastRetry = RetryPolicy{MaxAttempts: 3, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}

func newTestClient(t *testing.T, h http.Handler, opts ...Option) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	// A generous timeout: a loaded machine running the race build can
	// stall a local answer for over a second. Tests of timeouts set their own.
	opts = append([]Option{WithInsecureHTTP(), WithRetryPolicy(fastRetry), WithTimeout(10 * time.Second)}, opts...)
	c, err := NewClient(srv.URL, testKey, opts...)
	if err != nil {
		t.Fatalf("NewClient(%q) error = %v", srv.URL, err)
	}
	return c
}

func reply(status int, ctype, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if ctype != "" {
			w.Header().Set("Content-Type", ctype)
		}
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}
}

func TestGetBackupServiceStateSendsBearerKey(t *testing.T) {
	var gotAuth, gotAccept, gotPath string
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotAccept, gotPath = r.Header.Get("Authorization"), r.Header.Get("Accept"), r.URL.Path
		reply(200, "application/json; charset=utf-8", `{"response":{"enabled":true},"count":1,"status":0,"statusCode":200}`)(w, r)
	}))
	st, res, err := c.GetBackupServiceState(context.Background())
	if err != nil {
		t.Fatalf("GetBackupServiceState() error = %v", err)
	}
	if !st.Enabled || res.StatusCode != 200 || res.Attempts != 1 {
		t.Errorf("GetBackupServiceState() = %+v, %+v, want enabled, 200, 1 attempt", st, res)
	}
	if gotAuth != "Bearer "+string(testKey) {
		t.Errorf("Authorization = %q, want Bearer key", gotAuth)
	}
	if gotAccept != "application/json" || gotPath != DefaultStatePath {
		t.Errorf("Accept, path = %q, %q, want application/json, %q", gotAccept, gotPath, DefaultStatePath)
	}
}

func TestGetBackupServiceStateErrors(t *testing.T) {
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		sentinel error
		check    func(t *testing.T, err error)
	}{
		{name: "inactive is not an error", handler: reply(200, "application/json", `{"response":{"enabled":false},"status":0,"statusCode":200}`)},
		{name: "401 empty body", handler: reply(401, "", ""), sentinel: ErrPermissionDenied},
		{name: "403 with stack", handler: reply(403, "application/json", `{"error":{"message":"Access denied","type":"System.Security.SecurityException","stack":"at ASC.Secret.Stack()","hresult":-2146233088},"status":1,"statusCode":403}`), sentinel: ErrPermissionDenied,
			check: func(t *testing.T, err error) {
				var ae *APIError
				if !errors.As(err, &ae) || ae.Message != "Access denied" {
					t.Errorf("errors.As(%v) message = %+v, want Access denied", err, ae)
				}
				if strings.Contains(err.Error(), "Stack") {
					t.Errorf("error %q leaks the server stack", err)
				}
			}},
		{name: "402", handler: reply(402, "application/json", `{"error":{"message":"Payment required"},"status":1,"statusCode":402}`), sentinel: ErrPaymentRequired},
		{name: "404 names the path", handler: reply(404, "text/html", "<html>404</html>"), sentinel: ErrNotFound,
			check: func(t *testing.T, err error) {
				if !strings.Contains(err.Error(), DefaultStatePath) || !strings.Contains(err.Error(), "v3.5.0") {
					t.Errorf("404 error %q should name the path and the server version", err)
				}
			}},
		{name: "429 retried then given up", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "0")
			reply(429, "", "")(w, r)
		}, sentinel: ErrRateLimited, check: func(t *testing.T, err error) {
			var re *RetryError
			if !errors.As(err, &re) || re.Attempts != 3 {
				t.Errorf("errors.As(%v, *RetryError) = %+v, want 3 attempts", err, re)
			}
		}},
		{name: "502 html", handler: reply(502, "text/html", "<html>Bad Gateway</html>"), sentinel: ErrServer},
		{name: "html 200 from login proxy", handler: reply(200, "text/html", "<html>login</html>"), check: wantBadResponse},
		{name: "not json", handler: reply(200, "application/json", "{truncated"), check: wantBadResponse},
		{name: "no response member", handler: reply(200, "application/json", `{"count":0,"status":0}`), check: wantBadResponse},
		{name: "wrong type", handler: reply(200, "application/json", `{"response":{"enabled":"yes"}}`), check: wantBadResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, tt.handler)
			_, _, err := c.GetBackupServiceState(context.Background())
			if tt.sentinel == nil && tt.check == nil {
				if err != nil {
					t.Fatalf("GetBackupServiceState() error = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("GetBackupServiceState() error = nil, want one")
			}
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("errors.Is(%v, %v) = false, want true", err, tt.sentinel)
			}
			if strings.Contains(err.Error(), string(testKey)) {
				t.Errorf("error %q holds the key", err)
			}
			if tt.check != nil {
				tt.check(t, err)
			}
		})
	}
}

func wantBadResponse(t *testing.T, err error) {
	t.Helper()
	var br *BadResponseError
	if !errors.As(err, &br) {
		t.Errorf("errors.As(%v, *BadResponseError) = false, want true", err)
	}
}

func TestRetriesServerErrorThenRecovers(t *testing.T) {
	var calls atomic.Int32
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			reply(503, "text/html", "<html>unavailable</html>")(w, r)
			return
		}
		reply(200, "application/json", `{"response":{"enabled":true}}`)(w, r)
	}))
	st, res, err := c.GetBackupServiceState(context.Background())
	if err != nil || !st.Enabled || res.Attempts != 3 {
		t.Fatalf("GetBackupServiceState() = %+v, %+v, %v; want enabled after 3 attempts", st, res, err)
	}
}

func TestDoesNotRetryPermissionDenied(t *testing.T) {
	var calls atomic.Int32
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		reply(403, "application/json", `{"error":{"message":"Access denied"}}`)(w, r)
	}))
	_, _, err := c.GetBackupServiceState(context.Background())
	if !errors.Is(err, ErrPermissionDenied) || calls.Load() != 1 {
		t.Fatalf("err, calls = %v, %d; want permission denied after 1 call", err, calls.Load())
	}
}

func TestTransportErrorOnTimeout(t *testing.T) {
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	}), WithTimeout(50*time.Millisecond), WithRetryPolicy(RetryPolicy{MaxAttempts: 2, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond}))
	_, res, err := c.GetBackupServiceState(context.Background())
	var te *TransportError
	if !errors.As(err, &te) || res.Attempts != 2 {
		t.Fatalf("err, attempts = %v, %d; want *TransportError after 2", err, res.Attempts)
	}
}

func TestLargeBodyIsNotReadWhole(t *testing.T) {
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		chunk := []byte(strings.Repeat(" ", 1<<16))
		for range 50 << 4 { // 50 MB
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	_, _, err := c.GetBackupServiceState(context.Background())
	wantBadResponse(t, err)
}

func TestRedirectToOtherHostKeepsKey(t *testing.T) {
	var leaked atomic.Bool
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			leaked.Store(true)
		}
	}))
	t.Cleanup(other.Close)
	target := strings.Replace(other.URL, "127.0.0.1", "localhost", 1) + DefaultStatePath
	var calls atomic.Int32
	redirect := http.RedirectHandler(target, http.StatusFound)
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		redirect.ServeHTTP(w, r)
	}))
	_, res, err := c.GetBackupServiceState(context.Background())
	if err == nil || leaked.Load() {
		t.Fatalf("redirect to other host: err = %v, leaked = %v; want error, no leak", err, leaked.Load())
	}
	// The portal answered: a redirect the key may not follow is a bad
	// response (check the URL), not a network fault worth retrying.
	var bad *BadResponseError
	if !errors.As(err, &bad) || bad.StatusCode != http.StatusFound || calls.Load() != 1 || res.Attempts != 1 || !strings.Contains(err.Error(), "refusing to follow a redirect") {
		t.Errorf("redirect to other host: err = %v (%T), calls = %d, attempts = %d; want a *BadResponseError for the 302 after 1 call", err, err, calls.Load(), res.Attempts)
	}
}

func TestNewClientValidatesInput(t *testing.T) {
	tests := []struct {
		url  string
		key  APIKey
		opts []Option
	}{
		{url: "http://portal.example.com", key: testKey},
		{url: "https://user:pass@portal.example.com", key: testKey},
		{url: "https://portal.example.com?x=1", key: testKey},
		{url: "portal.example.com", key: testKey},
		{url: "https://", key: testKey},
		{url: "https://portal.example.com", key: ""},
		{url: "https://portal.example.com", key: testKey, opts: []Option{WithTimeout(0)}},
		{url: "https://portal.example.com", key: testKey, opts: []Option{WithStatePath("api/x")}},
		{url: "https://portal.example.com", key: testKey, opts: []Option{WithRetryPolicy(RetryPolicy{})}},
	}
	for _, tt := range tests {
		if _, err := NewClient(tt.url, tt.key, tt.opts...); err == nil {
			t.Errorf("NewClient(%q) error = nil, want one", tt.url)
		} else if strings.Contains(err.Error(), "pass") {
			t.Errorf("NewClient(%q) error %q leaks the password", tt.url, err)
		}
	}
	if _, err := NewClient("https://portal.example.com/", testKey); err != nil {
		t.Errorf("NewClient(https) error = %v, want nil", err)
	}
}

func TestAPIKeyIsRedacted(t *testing.T) {
	for _, got := range []string{fmt.Sprint(testKey), fmt.Sprintf("%v %s %#v", testKey, testKey, testKey)} {
		if strings.Contains(got, string(testKey)) {
			t.Errorf("formatted key = %q, want redacted", got)
		}
	}
}

func TestPortalName(t *testing.T) {
	for raw, want := range map[string]string{
		"https://portal.example.com":         "portal.example.com",
		"https://portal.example.com/":        "portal.example.com",
		"https://example.com:8443/docspace/": "example.com:8443/docspace",
		"https://Portal.Example.com:443/a/b": "portal.example.com/a/b",
	} {
		c, err := NewClient(raw, testKey)
		if err != nil {
			t.Fatalf("NewClient(%q) error = %v", raw, err)
		}
		if got := c.Portal(); got != want {
			t.Errorf("NewClient(%q).Portal() = %q, want %q", raw, got, want)
		}
	}
}
