package docspace

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
)

// ValidateBaseURL parses and checks a portal URL as NewClient does, and
// returns it normalized: the host lower-case and in its ASCII (punycode)
// form, the port without leading zeros and dropped when it is the
// scheme's default, and the path without a trailing slash.
//
// The URL must be https (http only when allowHTTP), have a host, a port
// (if any) of 1-65535, and hold no credentials, query or fragment. Unless
// allowHTTP is set (local tests), a host that is a loopback, private,
// link-local, unspecified or multicast IP literal (also one held in a
// NAT64 or 6to4 IPv6 address), or a name that only resolves inside a
// network (localhost, a single label, *.local, *.internal, a numeric last
// label), is refused: the function must not be turned into a probe of its
// own network. A page of the portal copied from the browser
// (.../rooms/shared, .../products/files/) or an API route is refused with
// the base URL to use instead. Each error says what to write.
func ValidateBaseURL(raw string, allowHTTP bool) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if !strings.Contains(raw, "://") {
		// url.Parse reads "portal.example.com" as a path, and
		// "portal.example.com:8443" as a scheme.
		return nil, fmt.Errorf("docspace: portal URL %q has no scheme: write it as https://%s", redactedRaw(raw), redactedRaw(raw))
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("docspace: portal URL is not a URL: write it as https://portal.example.com")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowHTTP:
	case u.Scheme == "http":
		return nil, fmt.Errorf("docspace: portal URL %s must use https (http:// only with ALLOW_INSECURE_HTTP=true, for a local test portal)", u.Redacted())
	default:
		return nil, fmt.Errorf("docspace: portal URL %s must start with https://", u.Redacted())
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, errors.New("docspace: portal URL has no host")
	}
	if u.User != nil {
		return nil, fmt.Errorf("docspace: portal URL %s must not hold credentials", u.Redacted())
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return nil, fmt.Errorf("docspace: portal URL %s must not have a query or fragment", u.Redacted())
	}
	if err := checkPath(u); err != nil {
		return nil, fmt.Errorf("docspace: portal URL %s: %w", u.Redacted(), err)
	}
	if base, ok := pageBase(u); ok {
		return nil, fmt.Errorf("docspace: portal URL %s is a page of the portal, not its address: use %s", u.Redacted(), base)
	}
	host, err := normalizeHost(u.Hostname())
	if err != nil {
		return nil, fmt.Errorf("docspace: portal URL %s: %w", u.Redacted(), err)
	}
	if !allowHTTP {
		if why := internalHost(host); why != "" {
			return nil, fmt.Errorf("docspace: portal URL %s: host %s is %s (allowed only with ALLOW_INSECURE_HTTP, for local tests)", u.Redacted(), host, why)
		}
	}
	port := u.Port()
	if port != "" {
		// One spelling per port ("0443" is 443), and only real ports.
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("docspace: portal URL %s: port %s is not 1-65535", u.Redacted(), port)
		}
		port = strconv.Itoa(n)
	}
	if (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return &url.URL{Scheme: u.Scheme, Host: host, Path: strings.TrimRight(u.Path, "/")}, nil
}

// pageSegments are the first path segments of the DocSpace web client's
// pages and of its API, which a portal's base path does not hold.
var pageSegments = []string{"products", "rooms", "accounts", "portal-settings", "developer-tools", "doceditor", "login", "profile", "api"}

// pageBase reports whether u is a page or an API route of a portal (a URL
// copied from the browser) and returns the portal's base URL: u up to the
// first such segment.
func pageBase(u *url.URL) (string, bool) {
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	for i, seg := range segs {
		for _, p := range pageSegments {
			if strings.EqualFold(seg, p) {
				base := url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/" + strings.Join(segs[:i], "/")}
				return strings.TrimSuffix(base.String(), "/"), true
			}
		}
	}
	return "", false
}

// redactedRaw is raw for an error message without what a "user:password@"
// part would hold.
func redactedRaw(raw string) string {
	if i := strings.LastIndex(raw, "@"); i >= 0 {
		return "xxxxx@" + raw[i+1:]
	}
	return raw
}

// checkPath refuses a base path that a server could read as another path
// than the one Within compares: "." or ".." segments (also
// percent-encoded), encoded slashes, backslashes and control characters.
func checkPath(u *url.URL) error {
	if strings.ContainsAny(u.Path, "\\") || strings.ContainsFunc(u.Path, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return errors.New("the path holds a backslash or a control character")
	}
	if strings.Contains(strings.ToLower(u.RawPath), "%2f") || strings.Contains(strings.ToLower(u.RawPath), "%5c") {
		return errors.New("the path holds an encoded slash")
	}
	for _, seg := range strings.Split(u.Path, "/") {
		if seg == "." || seg == ".." {
			return errors.New(`the path holds a "." or ".." segment`)
		}
	}
	if strings.Contains(strings.Trim(u.Path, "/"), "//") {
		return errors.New("the path holds an empty segment (//)")
	}
	return nil
}

// normalizeHost returns a host name lower-case and in its ASCII form, or an
// IP literal in its canonical form.
func normalizeHost(h string) (string, error) {
	if ip := net.ParseIP(h); ip != nil {
		return ip.String(), nil
	}
	ascii, err := idna.Lookup.ToASCII(strings.TrimSuffix(h, "."))
	if err != nil || ascii == "" {
		return "", fmt.Errorf("host %q is not a valid host name", h)
	}
	return strings.ToLower(ascii), nil
}

// sharedAddressSpace is 100.64.0.0/10 (RFC 6598), private to a carrier.
var sharedAddressSpace = &net.IPNet{IP: net.IPv4(100, 64, 0, 0), Mask: net.CIDRMask(10, 32)}

// IPv6 prefixes that carry an IPv4 address a gateway reaches: NAT64's
// well-known prefix (the address in the last 4 bytes), its local-use
// prefix (a network's own translator: internal as a whole) and 6to4 (the
// address in bytes 2-5).
var (
	nat64      = &net.IPNet{IP: net.ParseIP("64:ff9b::"), Mask: net.CIDRMask(96, 128)}
	nat64Local = &net.IPNet{IP: net.ParseIP("64:ff9b:1::"), Mask: net.CIDRMask(48, 128)}
	sixToFour  = &net.IPNet{IP: net.ParseIP("2002::"), Mask: net.CIDRMask(16, 128)}
)

// internalHost says why a normalized host is internal, or "" when it is not.
func internalHost(host string) string {
	if ip := net.ParseIP(host); ip != nil {
		if ip.To4() == nil {
			switch {
			case nat64Local.Contains(ip):
				return "a local-use NAT64 address"
			case nat64.Contains(ip):
				if why := internalHost(net.IP(ip[12:16]).String()); why != "" {
					return why + " inside a NAT64 address"
				}
			case sixToFour.Contains(ip):
				if why := internalHost(net.IP(ip[2:6]).String()); why != "" {
					return why + " inside a 6to4 address"
				}
			}
		}
		switch {
		case ip.IsLoopback():
			return "a loopback address"
		case ip.IsPrivate():
			return "a private address"
		case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
			return "a link-local address"
		case ip.IsUnspecified():
			return "the unspecified address"
		case ip.IsMulticast():
			return "a multicast address"
		case sharedAddressSpace.Contains(ip):
			return "a carrier-grade NAT address"
		}
		return ""
	}
	labels := strings.Split(host, ".")
	last := labels[len(labels)-1]
	switch {
	case host == "localhost" || last == "localhost":
		return "a loopback name"
	case len(labels) == 1:
		return "a single-label name that only resolves inside a network"
	case last == "local" || last == "internal" || last == "localdomain" || strings.HasSuffix(host, ".home.arpa"):
		return "an internal name"
	case strings.Trim(last, "0123456789") == "" || strings.HasPrefix(last, "0x"):
		return "a numeric name that resolvers read as an IP address"
	}
	return ""
}

// PortalName is the one name of the portal at u, shared by logs, alerts,
// the alert state and metrics, and used to find duplicates: the host
// lower-case and in punycode, the port only when it is not the scheme's
// default, then the base path without a trailing slash, such as
// "portal.example.com" or "example.com:8443/docspace". A URL that
// ValidateBaseURL returned is already in this form; any other is
// normalized the same way as far as it can be.
func PortalName(u *url.URL) string {
	host := u.Hostname()
	if h, err := normalizeHost(host); err == nil {
		host = h
	} else {
		host = strings.ToLower(host)
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	port := u.Port()
	if n, err := strconv.Atoi(port); err == nil && n > 0 {
		port = strconv.Itoa(n)
	}
	if (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		port = ""
	}
	if port != "" {
		host += ":" + port
	}
	return host + strings.TrimRight(u.Path, "/")
}

// Within reports whether u lies under base: the same origin (scheme, host
// and port: another port on the same host is another service) and a path
// that is base's path or below it. Both must be URLs that ValidateBaseURL
// returned. It is the rule that decides where a key bound to base may go.
func Within(base, u *url.URL) bool {
	if u.Scheme != base.Scheme || u.Host != base.Host {
		return false
	}
	bp, p := strings.TrimRight(base.Path, "/"), strings.TrimRight(u.Path, "/")
	return p == bp || strings.HasPrefix(p, bp+"/")
}

// MatchHost reports whether the host of a normalized portal URL matches
// pattern: an exact host name ("portal.example.com"), or "*." and a domain
// ("*.example.com"), which matches the domain's subdomains at any depth but
// not the domain itself. Patterns are compared in the same normalized form
// (lower-case, punycode); a port in the host is ignored.
func MatchHost(pattern string, u *url.URL) bool {
	host := u.Hostname()
	pattern = strings.TrimSpace(pattern)
	wild := strings.HasPrefix(pattern, "*.")
	p, err := normalizeHost(strings.TrimPrefix(pattern, "*."))
	if err != nil {
		return false
	}
	if wild {
		return strings.HasSuffix(host, "."+p)
	}
	return host == p
}

// ValidHostPattern checks a pattern for MatchHost.
func ValidHostPattern(pattern string) error {
	p := strings.TrimSpace(pattern)
	if p == "" || p == "*." {
		return errors.New("empty host pattern")
	}
	if strings.Contains(strings.TrimPrefix(p, "*."), "*") {
		return fmt.Errorf("host pattern %q: only a leading \"*.\" is allowed", p)
	}
	if _, err := normalizeHost(strings.TrimPrefix(p, "*.")); err != nil {
		return fmt.Errorf("host pattern %q: %w", p, err)
	}
	return nil
}
