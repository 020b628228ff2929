package docspace

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Default values used by NewClient.
const (
	// DefaultStatePath is the real backup state route (DocSpace v3.5.0+).
	DefaultStatePath = "/api/2.0/backup/getservicestate"
	// DefaultTimeout bounds each attempt.
	DefaultTimeout = 10 * time.Second
	// DefaultUserAgent identifies the client to the portal.
	DefaultUserAgent = "docspace-backup-watch/1"
	// MaxBodyBytes is the most of a response body the client reads.
	MaxBodyBytes = 1 << 20
	// MaxInFlight is the most requests one Client has open at once: the
	// first calls of a check (state, schedule, progress, the settings
	// route without and with the key, the count route for both paid
	// values), so that checking a portal never asks it more than that at
	// a time, far below the server's limit of 50 concurrent requests; the
	// other calls wait for a slot.
	MaxInFlight = 7
	// SettingsPath is the portal settings route: it says whether the
	// server is self-hosted and the portal's status, and answers while the
	// portal is restored, transferred, encrypted or suspended.
	SettingsPath = "/api/2.0/settings"
)

// RetryPolicy bounds retries of transport errors, 429 and 5xx but 501.
type RetryPolicy struct {
	// MaxAttempts counts the first try; 1 means no retry.
	MaxAttempts int
	// MinBackoff is the first wait; each next one doubles, up to MaxBackoff.
	MinBackoff time.Duration
	// MaxBackoff is the longest wait between attempts. It also caps the
	// server's Retry-After: an answer asking to wait longer ends the
	// retries at once, with that answer's error.
	MaxBackoff time.Duration
}

// WorstCase returns the longest one call can take under p when each
// attempt takes at most timeout: MaxAttempts attempts and a wait of at
// most MaxBackoff between two of them.
func (p RetryPolicy) WorstCase(timeout time.Duration) time.Duration {
	return time.Duration(p.MaxAttempts)*timeout + time.Duration(p.MaxAttempts-1)*p.MaxBackoff
}

// DefaultRetryPolicy makes up to 3 attempts, waiting 200 ms then 400 ms
// (with jitter), never more than 5 s: a Retry-After over 5 s ends the
// retries. Its worst case with DefaultTimeout is 3 x 10 s + 2 x 5 s = 40 s.
var DefaultRetryPolicy = RetryPolicy{MaxAttempts: 3, MinBackoff: 200 * time.Millisecond, MaxBackoff: 5 * time.Second}

// Client talks to one DocSpace portal. It is safe for concurrent use.
type Client struct {
	baseURL    *url.URL
	key        APIKey
	httpClient *http.Client
	timeout    time.Duration
	userAgent  string
	retry      RetryPolicy
	statePath  string
	allowHTTP  bool
	dump       bool
	// slots bounds the requests open at once to MaxInFlight.
	slots chan struct{}
}

// Option configures a Client.
type Option func(*Client) error

// WithHTTPClient uses hc instead of a new http.Client. Its redirect policy
// is replaced so that the key never follows a redirect to another host.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return errors.New("http client is nil")
		}
		copied := *hc
		c.httpClient = &copied
		return nil
	}
}

// WithTimeout bounds each attempt; it must be positive.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) error {
		if d <= 0 {
			return fmt.Errorf("timeout %v must be positive", d)
		}
		c.timeout = d
		return nil
	}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(c *Client) error {
		if strings.TrimSpace(ua) == "" {
			return errors.New("user agent is empty")
		}
		c.userAgent = ua
		return nil
	}
}

// WithRetryPolicy sets the retry policy.
func WithRetryPolicy(p RetryPolicy) Option {
	return func(c *Client) error {
		if p.MaxAttempts < 1 || p.MinBackoff < 0 || p.MaxBackoff < p.MinBackoff {
			return fmt.Errorf("invalid retry policy %+v", p)
		}
		c.retry = p
		return nil
	}
}

// WithStatePath sets the backup state route; the default is DefaultStatePath.
func WithStatePath(p string) Option {
	return func(c *Client) error {
		if !strings.HasPrefix(p, "/") {
			return fmt.Errorf("state path %q must start with /", p)
		}
		c.statePath = p
		return nil
	}
}

// WithDump asks the schedule, history and progress routes with
// ?dump=true, which shows a self-hosted server's whole-server dump
// schedule, backups and job. The server accepts it only on a self-hosted
// server whose LimitedAccessSpace setting is off (it checks no user role)
// and answers 403 "Access denied" otherwise, also on every cloud portal.
// The default is false.
func WithDump(dump bool) Option {
	return func(c *Client) error { c.dump = dump; return nil }
}

// WithInsecureHTTP allows an http:// base URL, for local testing only.
func WithInsecureHTTP() Option {
	return func(c *Client) error { c.allowHTTP = true; return nil }
}

// NewClient returns a client for the portal at baseURL using key. baseURL
// must pass ValidateBaseURL (http and internal hosts only with
// WithInsecureHTTP), and key ValidateAPIKey. The client sends the key only
// to baseURL's origin under its path, also across redirects.
func NewClient(baseURL string, key APIKey, opts ...Option) (*Client, error) {
	c := &Client{
		key:        key,
		httpClient: &http.Client{},
		timeout:    DefaultTimeout,
		userAgent:  DefaultUserAgent,
		retry:      DefaultRetryPolicy,
		statePath:  DefaultStatePath,
		slots:      make(chan struct{}, MaxInFlight),
	}
	for _, opt := range opts {
		if err := opt(c); err != nil {
			return nil, fmt.Errorf("docspace: %w", err)
		}
	}
	if err := ValidateAPIKey(key); err != nil {
		return nil, fmt.Errorf("docspace: %w", err)
	}
	u, err := ValidateBaseURL(baseURL, c.allowHTTP)
	if err != nil {
		return nil, err
	}
	c.baseURL = u
	c.httpClient.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return fmt.Errorf("%w: stopped after 5 redirects", errRedirect)
		}
		// The key goes only under the portal's own origin and base path.
		if to, err := ValidateBaseURL((&url.URL{Scheme: req.URL.Scheme, Host: req.URL.Host, Path: req.URL.Path}).String(), true); err != nil || !Within(c.baseURL, to) {
			return fmt.Errorf("%w: refusing to follow a redirect to %s://%s%s with the API key: it is outside the portal %s", errRedirect, req.URL.Scheme, req.URL.Host, shorten(req.URL.Path, 100), PortalName(c.baseURL))
		}
		return nil
	}
	return c, nil
}

// Host returns the portal's host name, safe to log.
func (c *Client) Host() string { return c.baseURL.Host }

// Portal names the portal for logs, alerts and alert state: see PortalName.
func (c *Client) Portal() string { return PortalName(c.baseURL) }

// Result describes how a call went, for logs and metrics. In JSON it is
// {"httpStatus", "requests", "latencyMs"}, the names of the function's log
// line and of check-portal.
type Result struct {
	StatusCode int `json:"httpStatus"`
	// Attempts counts the HTTP requests sent, retries included.
	Attempts int `json:"requests"`
	// Latency is written in whole milliseconds, as latencyMs.
	Latency time.Duration `json:"-"`
}

// MarshalJSON writes r with its latency in milliseconds (latencyMs).
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result
	return json.Marshal(struct {
		plain
		LatencyMs int64 `json:"latencyMs"`
	}{plain(r), r.Latency.Milliseconds()})
}

// envelope is the wrapper of every DocSpace answer.
type envelope struct {
	Response json.RawMessage `json:"response"`
	Count    *int            `json:"count"`
	Status   *int            `json:"status"`
	Error    *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// call is one GET the client makes.
type call struct {
	path string
	// query is added to the URL (nil: none).
	query url.Values
	// dump adds dump=true when the client was made WithDump.
	dump bool
	// anonymous sends no key: the route answers callers who are not
	// signed in (the settings route does), and so does not see the
	// key's scopes or the IP restriction.
	anonymous bool
	// noRetry5xx gives up on a 5xx at once: the route has side effects
	// on the server (the history route prunes records), so asking it
	// again is not free.
	noRetry5xx bool
}

// get performs the GET of cl with retries and decodes the envelope's
// response into out. It reports whether a response member was present.
func (c *Client) get(ctx context.Context, cl call, out any) (present bool, res Result, err error) {
	start := time.Now()
	defer func() { res.Latency = time.Since(start) }()
	var lastErr error
	for attempt := 1; ; attempt++ {
		res.Attempts = attempt
		var status int
		var retryAfter time.Duration
		present, status, retryAfter, lastErr = c.once(ctx, cl, out)
		res.StatusCode = status
		if lastErr == nil {
			return present, res, nil
		}
		if cl.noRetry5xx && errors.Is(lastErr, ErrServer) {
			break
		}
		if !retryable(lastErr) || attempt >= c.retry.MaxAttempts || retryAfter > c.retry.MaxBackoff {
			break
		}
		wait := c.backoff(attempt, retryAfter)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false, res, &RetryError{Attempts: attempt, Err: lastErr}
		case <-t.C:
		}
	}
	if res.Attempts > 1 {
		return false, res, &RetryError{Attempts: res.Attempts, Err: lastErr}
	}
	return false, res, lastErr
}

func (c *Client) backoff(attempt int, retryAfter time.Duration) time.Duration {
	d := c.retry.MinBackoff << (attempt - 1)
	if d > c.retry.MaxBackoff || d <= 0 {
		d = c.retry.MaxBackoff
	}
	if d > 0 {
		d = d/2 + rand.N(d/2+1)
	}
	if retryAfter > d {
		d = retryAfter
	}
	return d
}

func retryable(err error) bool {
	var te *TransportError
	if errors.As(err, &te) {
		return true
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.StatusCode == http.StatusTooManyRequests || (ae.StatusCode >= 500 && ae.StatusCode != http.StatusNotImplemented)
	}
	return false
}

func (c *Client) once(ctx context.Context, cl call, out any) (present bool, status int, retryAfter time.Duration, err error) {
	path := cl.path
	select {
	case c.slots <- struct{}{}:
		defer func() { <-c.slots }()
	case <-ctx.Done():
		return false, 0, 0, &TransportError{Path: path, Err: ctx.Err()}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	u := *c.baseURL
	u.Path = c.baseURL.Path + path
	q := url.Values{}
	for k, vs := range cl.query {
		q[k] = vs
	}
	if cl.dump && c.dump {
		q.Set("dump", "true")
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return false, 0, 0, fmt.Errorf("docspace: build request: %w", err)
	}
	if !cl.anonymous {
		req.Header.Set("Authorization", "Bearer "+string(c.key))
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	resp, err := c.httpClient.Do(req)
	if err != nil && errors.Is(err, errRedirect) && resp != nil {
		// The portal answered, with a redirect the key may not follow (a
		// moved or renamed portal, a login page elsewhere, a loop): not a
		// network fault, and asking again changes nothing.
		return false, resp.StatusCode, 0, &BadResponseError{StatusCode: resp.StatusCode, Path: path, ContentType: "a redirect", Reason: c.scrub(errors.Unwrap(err).Error()) + ": check the portal URL"}
	}
	if err != nil {
		return false, 0, 0, &TransportError{Path: path, Err: errors.New(c.scrub(err.Error()))}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBodyBytes+1))
	switch {
	case ctx.Err() != nil:
		// The attempt's time ran out while the body arrived: whatever the
		// read returned (an error, or over TLS sometimes a short body and
		// no error), the portal did not finish answering.
		return false, resp.StatusCode, 0, &TransportError{Path: path, Err: fmt.Errorf("read body: the answer did not arrive within %v (%d bytes read): %w", c.timeout, len(body), ctx.Err())}
	case err != nil:
		return false, resp.StatusCode, 0, &TransportError{Path: path, Err: fmt.Errorf("read body: %s", c.scrub(err.Error()))}
	case resp.ContentLength > 0 && int64(len(body)) < resp.ContentLength && len(body) <= MaxBodyBytes:
		return false, resp.StatusCode, 0, &TransportError{Path: path, Err: fmt.Errorf("read body: cut short at %d of %d bytes", len(body), resp.ContentLength)}
	}
	ctype := resp.Header.Get("Content-Type")
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		wait := parseRetryAfter(resp.Header.Get("Retry-After"))
		kind, msg := errorBody(body)
		return false, resp.StatusCode, wait, &APIError{
			StatusCode: resp.StatusCode,
			Method:     http.MethodGet,
			Path:       path,
			Message:    c.scrub(msg),
			Body:       kind,
			RetryAfter: wait,
		}
	}
	present, err = decodeResponse(resp.StatusCode, ctype, body, path, out)
	var bad *BadResponseError
	if errors.As(err, &bad) {
		bad.ContentType = c.scrub(bad.ContentType)
		bad.Reason = c.scrub(bad.Reason)
	}
	if present {
		// Whatever the portal put in any member, the key goes no further.
		redactValue(out, c.key)
	}
	return present, resp.StatusCode, 0, err
}

// errRedirect marks a redirect the client refuses to follow.
var errRedirect = errors.New("redirect not followed")

// maxErrorText is the most of any portal-supplied text an error keeps.
const maxErrorText = 300

// scrub redacts the key from a text that may quote the portal or the
// request, then cuts it to maxErrorText: redaction always comes first, so
// a cut can never leave a piece of the key behind.
func (c *Client) scrub(s string) string { return shorten(redact(s, c.key), maxErrorText) }

// decodeResponse decodes a 2xx body: it checks the size and content type,
// unwraps the envelope and decodes its "response" member into out. It
// reports whether that member was present (and not null). Every failure is
// a *BadResponseError (also the server's error envelope under a 2xx
// status, whose message the caller redacts and cuts); present is true when
// the member was there but did not fit out.
func decodeResponse(status int, contentType string, body []byte, path string, out any) (present bool, err error) {
	bad := func(reason string) error {
		return &BadResponseError{StatusCode: status, Path: path, ContentType: orNone(contentType), Reason: reason}
	}
	if len(body) > MaxBodyBytes {
		return false, bad(fmt.Sprintf("body larger than %d bytes", MaxBodyBytes))
	}
	if mt, _, _ := mime.ParseMediaType(contentType); contentType != "" && mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return false, bad("not JSON (a login page or proxy answered?)")
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return false, bad("invalid JSON: " + err.Error())
	}
	if env.Error != nil {
		// The server's error envelope under a 2xx status (a proxy that
		// rewrote the status): the call failed, it did not answer
		// "nothing".
		return false, bad("the answer is an error, not a response: " + env.Error.Message)
	}
	if len(env.Response) == 0 || string(env.Response) == "null" {
		return false, nil
	}
	if err := json.Unmarshal(env.Response, out); err != nil {
		return true, bad("unexpected response shape: " + err.Error())
	}
	return true, nil
}

func orNone(s string) string {
	if s == "" {
		return "no content type"
	}
	return s
}

// errorBody tells what an error body is and extracts the server's message:
// an envelope's error message (without its stack trace), or a bare JSON
// string (what the IP restriction filter answers). Empty, HTML and unknown
// bodies give "". The message is whole: the caller redacts it, then cuts
// it.
func errorBody(body []byte) (BodyKind, string) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return BodyEmpty, ""
	}
	var env envelope
	if json.Unmarshal(trimmed, &env) == nil && env.Error != nil {
		return BodyEnvelope, env.Error.Message
	}
	var str string
	if trimmed[0] == '"' && json.Unmarshal(trimmed, &str) == nil {
		return BodyString, str
	}
	return BodyOther, ""
}

// maxRetryAfter bounds what parseRetryAfter returns: a longer wait (also
// a number of seconds too large for a time.Duration) reads as this, which
// is far over any MaxBackoff and ends the retries.
const maxRetryAfter = 24 * time.Hour

// parseRetryAfter reads a Retry-After header: whole seconds or an HTTP
// date, at most maxRetryAfter; 0 when absent, negative or unreadable.
func parseRetryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if v[0] >= '0' && v[0] <= '9' {
		secs, err := strconv.ParseUint(v, 10, 64)
		switch {
		case err == nil && secs <= uint64(maxRetryAfter/time.Second):
			return time.Duration(secs) * time.Second
		case err == nil || errors.Is(err, strconv.ErrRange):
			return maxRetryAfter
		}
		return 0
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t).Round(time.Second); d > 0 {
			return min(d, maxRetryAfter)
		}
	}
	return 0
}

// ServiceState is the answer of the backup state route.
type ServiceState struct {
	// Enabled is the portal's paid-backup switch; false is "inactive".
	Enabled bool `json:"enabled"`
}

// GetBackupServiceState calls the backup state route. A 200 without a
// "response" member is a *BadResponseError, since the route always has one.
func (c *Client) GetBackupServiceState(ctx context.Context) (ServiceState, Result, error) {
	var st struct {
		Enabled *bool `json:"enabled"`
	}
	present, res, err := c.get(ctx, call{path: c.statePath}, &st)
	if err != nil {
		return ServiceState{}, res, err
	}
	if !present || st.Enabled == nil {
		return ServiceState{}, res, &BadResponseError{StatusCode: res.StatusCode, Path: c.statePath, ContentType: "application/json", Reason: `no "response.enabled" member`}
	}
	return ServiceState{Enabled: *st.Enabled}, res, nil
}
