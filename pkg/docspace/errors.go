package docspace

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Sentinel errors that callers branch on with errors.Is. An *APIError
// matches the one that fits its status code.
var (
	// ErrPermissionDenied is a 401 or 403: a wrong, expired or
	// scope-limited key, or a user who is not owner or admin.
	ErrPermissionDenied = errors.New("permission denied")
	// ErrPaymentRequired is a 402: the portal is not paid for.
	ErrPaymentRequired = errors.New("payment required")
	// ErrRateLimited is a 429.
	ErrRateLimited = errors.New("rate limited")
	// ErrServer is a 5xx answer.
	ErrServer = errors.New("server error")
	// ErrNotFound is a 404: a route the server does not have or, with an
	// empty body, a portal that is suspended or being removed.
	ErrNotFound = errors.New("not found")
	// ErrIPRestricted is a 403 whose body is a bare JSON string: the
	// portal's IP restriction refuses the caller's address.
	ErrIPRestricted = errors.New("refused by the portal's IP restriction")
)

// BodyKind says what an error answer's body was.
type BodyKind int

// Kinds of error body.
const (
	// BodyOther is a body of another shape, such as a proxy's HTML page.
	BodyOther BodyKind = iota
	// BodyEmpty is no body (or only white space): the server's filters
	// answer so (scopes, portal status, payment, rate limit).
	BodyEmpty
	// BodyEnvelope is the server's JSON error envelope.
	BodyEnvelope
	// BodyString is a bare JSON string: the IP restriction's answer.
	BodyString
)

// APIError is a non-2xx answer from the portal. Message is the server's
// error message; the server's stack trace is never kept.
type APIError struct {
	StatusCode int
	Method     string
	Path       string
	Message    string
	// Body says what the body was; the server's filters answer with an
	// empty one, which changes what a 403 or 404 means.
	Body BodyKind
	// RetryAfter is the server's Retry-After on a 429 or 503, or zero.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	s := fmt.Sprintf("docspace: %s %s: %d %s", e.Method, e.Path, e.StatusCode, msg)
	switch {
	case e.StatusCode == http.StatusNotFound && e.Body == BodyEmpty:
		s += fmt.Sprintf(" (an empty 404: the portal is suspended or being removed, or the server has no route %s)", e.Path)
	case e.StatusCode == http.StatusNotFound:
		s += fmt.Sprintf(" (the server has no route %s: check the portal URL, the configured path and the server version; the state route getservicestate exists from DocSpace v3.5.0 on)", e.Path)
	case e.StatusCode == http.StatusUnauthorized:
		s += " (not authenticated: the key is wrong, expired, or not sent as a Bearer token)"
	case e.StatusCode == http.StatusForbidden && e.Body == BodyString:
		s += " (the portal's IP restriction refuses this address)"
	case e.StatusCode == http.StatusForbidden && e.Body == BodyEmpty:
		s += " (an empty 403: the key's scopes do not cover backup, which needs *:read or *:write, or the portal is being restored, transferred or encrypted, which passes)"
	case e.StatusCode == http.StatusForbidden && e.Body == BodyOther:
		s += " (the body is none the DocSpace server writes: a firewall, WAF or proxy in front of the portal refused the request; check that it lets the function's address through to the API)"
	case e.StatusCode == http.StatusForbidden:
		s += " (the key's user is not owner or admin)"
	case e.StatusCode == http.StatusTooManyRequests:
		s += " (rate limited: the portal answered, but refuses more requests for now; spread the checks out (a longer schedule interval, fewer portals per run or a lower MAX_CONCURRENCY) or raise the portal's rate limit"
		if e.RetryAfter > 0 {
			s += fmt.Sprintf("; it asked to wait %v", e.RetryAfter)
		}
		s += ")"
	}
	return s
}

// Is reports whether the error matches one of the package's sentinel errors.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrPermissionDenied:
		return e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden
	case ErrPaymentRequired:
		return e.StatusCode == http.StatusPaymentRequired
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	case ErrServer:
		return e.StatusCode >= 500
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrIPRestricted:
		return e.StatusCode == http.StatusForbidden && e.Body == BodyString
	}
	return false
}

// BadResponseError is a 2xx answer that is not the JSON the API promises:
// an HTML page from a login proxy, a body that is not JSON, JSON without a
// "response" member where one is needed, or members of the wrong type. It
// is also a redirect the client does not follow (outside the portal's
// origin and base path, or more than 5), with the 3xx status code.
type BadResponseError struct {
	StatusCode  int
	Path        string
	ContentType string
	Reason      string
}

func (e *BadResponseError) Error() string {
	return fmt.Sprintf("docspace: bad response from %s (HTTP %d, %s): %s", e.Path, e.StatusCode, e.ContentType, e.Reason)
}

// TransportError is a failure to get any answer: DNS, connection, TLS,
// timeout, or a body cut short.
type TransportError struct {
	Path string
	Err  error
}

func (e *TransportError) Error() string {
	return fmt.Sprintf("docspace: request %s: %v", e.Path, e.Err)
}

// Unwrap returns the underlying error.
func (e *TransportError) Unwrap() error { return e.Err }

// RetryError says how many attempts were made before giving up.
type RetryError struct {
	Attempts int
	Err      error
}

func (e *RetryError) Error() string {
	return fmt.Sprintf("giving up after %d attempt(s): %v", e.Attempts, e.Err)
}

// Unwrap returns the last attempt's error.
func (e *RetryError) Unwrap() error { return e.Err }
