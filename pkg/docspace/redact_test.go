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

// leaksPiece reports the first run of 8 or more consecutive characters of
// key found in s.
func leaksPiece(s string, key APIKey) (string, bool) {
	k := string(key)
	for i := 0; i+keyPiece <= len(k); i++ {
		if strings.Contains(s, k[i:i+keyPiece]) {
			return k[i : i+keyPiece], true
		}
	}
	return "", false
}

func TestRedact(t *testing.T) {
	k := string(testKey)
	tests := []struct{ in, want string }{
		{"nothing here", "nothing here"},
		{"Bearer " + k, "Bearer [REDACTED]"},
		{k + k, "[REDACTED]"},
		{"a" + k + "b" + k + "c", "a[REDACTED]b[REDACTED]c"},
		{"cut " + k[:20], "cut [REDACTED]"},
		{"tail " + k[len(k)-9:] + " end", "tail [REDACTED] end"},
		{"middle " + k[5:13] + "!", "middle [REDACTED]!"},
		{"seven " + k[:7] + " stays", "seven " + k[:7] + " stays"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Redact(tt.in, testKey); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := Redact("a sk-ab b", "sk-ab"); got != "a [REDACTED] b" {
		t.Errorf("Redact with a short key = %q", got)
	}
}

func FuzzRedact(f *testing.F) {
	f.Add("prefix", 0, 10, "suffix")
	f.Add("", 3, 30, "")
	f.Fuzz(func(t *testing.T, pre string, from, n int, post string) {
		k := string(testKey)
		from = ((from % len(k)) + len(k)) % len(k)
		n = ((n % (len(k) - from + 1)) + (len(k) - from + 1)) % (len(k) - from + 1)
		in := pre + k[from:from+n] + post
		if p, ok := leaksPiece(Redact(in, testKey), testKey); ok {
			t.Errorf("Redact(%q) leaves %q", in, p)
		}
	})
}

// TestDecodedValuesAreRedacted: a portal that echoes the Authorization
// header into members gets the key no further than the client.
func TestDecodedValuesAreRedacted(t *testing.T) {
	echo := func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		// \u0073 is "s": the key arrives JSON-escaped, whole after decoding.
		esc := strings.Replace(auth, "sk-", `\u0073k-`, 1)
		switch r.URL.Path {
		case ProgressPath:
			fmt.Fprintf(w, `{"response":{"isCompleted":true,"status":2,"error":%q,"warning":"%s","link":%q,"taskId":%q}}`, auth, esc, "https://x/?k="+auth[7:], auth[10:])
		case SchedulePath:
			fmt.Fprintf(w, `{"response":{"storageType":2,"storageParams":{%q:%q},"cronParams":{"period":0,"hour":2,"day":0},"lastBackupTime":"2026-01-01T00:00:00"}}`, auth, auth)
		case HistoryPath:
			fmt.Fprintf(w, `{"response":[{"id":%q,"fileName":"%s","createdOn":"2026-01-01T00:00:00"}]}`, auth, esc)
		}
	}
	c := newTestClient(t, http.HandlerFunc(echo))
	p, _, err := c.GetBackupProgress(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := c.GetBackupSchedule(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	h, _, err := c.GetBackupHistory(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%+v %+v %+v", *p, *s, h)
	if piece, ok := leaksPiece(got, testKey); ok {
		t.Errorf("decoded values hold %q of the key: %s", piece, got)
	}
	if !strings.Contains(p.Error, redacted) {
		t.Errorf("progress error = %q, want the key redacted", p.Error)
	}
}

// TestErrorsAreRedactedBeforeTheCut: every error text that quotes the
// portal is redacted first and cut after, so no piece of the key survives
// wherever the cut falls, and no error grows with the portal's data.
func TestErrorsAreRedactedBeforeTheCut(t *testing.T) {
	k := string(testKey)
	// Pads that put the cut (at maxErrorText) before, through and after
	// the key, and one huge value.
	pads := []int{0, 1}
	for p := maxErrorText - len(k) - 40; p <= maxErrorText; p += 3 {
		pads = append(pads, p)
	}
	for i, pad := range pads {
		fill := strings.Repeat("x", pad)
		tail := 2000
		if i == 0 {
			tail = 600_000
		}
		bodies := map[string]struct {
			status int
			body   string
		}{
			"error message": {500, fmt.Sprintf(`{"error":{"message":"%sBearer %s %s"}}`, fill, k, strings.Repeat("y", tail))},
			"date":          {200, fmt.Sprintf(`{"response":[{"createdOn":"%s%s%s"}]}`, fill, k, strings.Repeat("z", tail))},
			"date type":     {200, fmt.Sprintf(`{"response":[{"createdOn":{"a":"%s%s"}}]}`, fill, k)},
		}
		for name, b := range bodies {
			c := newTestClient(t, reply(b.status, "application/json", b.body), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
			_, _, err := c.GetBackupHistory(context.Background())
			if err == nil {
				t.Fatalf("%s: GetBackupHistory() error = nil, want one", name)
			}
			if p, ok := leaksPiece(err.Error(), testKey); ok {
				t.Fatalf("%s, pad %d: error holds %q of the key: %s", name, pad, p, err)
			}
			if len(err.Error()) > 1000 {
				t.Fatalf("%s: error is %d bytes long, want it short", name, len(err.Error()))
			}
		}
	}
}

func TestKeyWithLineBreakIsRefusedBeforeAnyRequest(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { calls.Add(1) }))
	t.Cleanup(srv.Close)
	_, err := NewClient(srv.URL, testKey+"\n", WithInsecureHTTP())
	if !errors.Is(err, ErrInvalidKey) || !strings.Contains(err.Error(), "line break") {
		t.Errorf("NewClient(key with a line break) error = %v, want ErrInvalidKey naming the line break", err)
	}
	if calls.Load() != 0 {
		t.Errorf("the portal got %d requests, want none", calls.Load())
	}
}

func TestRateLimitedSaysSo(t *testing.T) {
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	_, _, err := c.GetBackupServiceState(context.Background())
	if !errors.Is(err, ErrRateLimited) {
		t.Fatalf("error = %v, want ErrRateLimited", err)
	}
	for _, want := range []string{"rate limited", "spread the checks", "raise the portal's rate limit"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("429 error %q does not say %q", err, want)
		}
	}
}

// TestTimeoutMidBodyIsUnreachable: a body cut off by the attempt's timeout
// is a transport failure whatever the read returned. Over TLS with a
// chunked body, the read often ends with no error and half the JSON, which
// used to read as a bad response.
func TestTimeoutMidBodyIsUnreachable(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"response":{"enab`)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	srv.StartTLS()
	t.Cleanup(srv.Close)
	for i := range 20 {
		c, err := NewClient(srv.URL, testKey, WithInsecureHTTP(), WithHTTPClient(srv.Client()), WithTimeout(30*time.Millisecond), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = c.GetBackupServiceState(context.Background())
		var te *TransportError
		if !errors.As(err, &te) {
			t.Fatalf("try %d: error = %v (%T), want a *TransportError (unreachable)", i, err, err)
		}
	}
}

func TestRedirectOutsideBasePathKeepsKey(t *testing.T) {
	var leaked atomic.Bool
	var srvURL string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/portal/") {
			http.Redirect(w, r, srvURL+"/elsewhere"+r.URL.Path, http.StatusFound)
			return
		}
		if r.Header.Get("Authorization") != "" {
			leaked.Store(true)
		}
	}))
	t.Cleanup(srv.Close)
	srvURL = srv.URL
	c, err := NewClient(srv.URL+"/portal", testKey, WithInsecureHTTP(), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.GetBackupServiceState(context.Background())
	if err == nil || leaked.Load() {
		t.Fatalf("redirect outside the base path: err = %v, leaked = %v; want an error and no key sent", err, leaked.Load())
	}
}
