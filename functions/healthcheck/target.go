package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/secrets"
)

// bindingSource returns what a secret holds: the key and the portal it is
// bound to; it is *secrets.Store.
type bindingSource interface {
	Binding(ctx context.Context, secretID string) (secrets.Binding, error)
}

var _ bindingSource = (*secrets.Store)(nil)

// errRefused marks a target whose key may not go to its URL: the pairing
// is refused before any request to the portal.
var errRefused = errors.New("refused")

// resolved is a target ready to check: where the key goes, the portal's
// one name, and the key.
type resolved struct {
	URL      *url.URL
	Portal   string
	SecretID string
	Key      docspace.APIKey
}

// resolve decides which key goes to which URL, and refuses any other
// pairing before a request reaches the portal:
//
//   - {} (or a Scheduler event): PORTAL_URL with SECRET_ID;
//   - {"portalUrl": U}: only when U is PORTAL_URL (SECRET_ID's key goes
//     nowhere else);
//   - {"secretId": X}: the portal the secret names; a bare-key secret
//     (no "portalUrl" in it) means PORTAL_URL;
//   - {"portalUrl": U, "secretId": X}: only when U has the origin (scheme,
//     host, port) of the portal X names and lies under its base path;
//     with a bare-key X, only when U is PORTAL_URL.
//
// Every URL, the secret's included, must pass docspace.ValidateBaseURL
// (https, no internal hosts unless ALLOW_INSECURE_HTTP) and ALLOWED_HOSTS
// when it is set. The errors match errRefused or come from the secret
// store; none holds the key.
func (h *handler) resolve(ctx context.Context, t target) (resolved, error) {
	if t.registered {
		u, key, err := h.registeredPortal(ctx, t.SecretID)
		if err != nil {
			return resolved{}, err
		}
		if _, err := h.checkURL(u.String()); err != nil {
			return resolved{}, fmt.Errorf("%w: registered secret %s: %w", errRefused, t.SecretID, err)
		}
		return resolved{URL: u, Portal: docspace.PortalName(u), SecretID: t.SecretID, Key: key}, nil
	}
	// home is PORTAL_URL, nil when it is not set (a registry-only stack);
	// loadConfig has validated it.
	var home *url.URL
	if h.cfg.PortalURL != "" {
		var err error
		if home, err = docspace.ValidateBaseURL(h.cfg.PortalURL, h.cfg.AllowHTTP); err != nil {
			return resolved{}, fmt.Errorf("%w: PORTAL_URL: %w", errRefused, err)
		}
	}
	var u *url.URL
	if t.PortalURL != "" {
		var err error
		if u, err = h.checkURL(t.PortalURL); err != nil {
			return resolved{}, fmt.Errorf("%w: %w", errRefused, err)
		}
		if t.SecretID == "" && !sameURL(u, home) {
			return resolved{}, fmt.Errorf(`%w: portal %s has no "secretId": only PORTAL_URL (%s) is checked with the default secret; name the secret that is bound to this portal`, errRefused, docspace.PortalName(u), homeName(home))
		}
	}
	secretID := t.SecretID
	if secretID == "" {
		secretID = h.cfg.SecretID
	}
	if secretID == "" {
		return resolved{}, fmt.Errorf(`%w: no "secretId" and no SECRET_ID`, errRefused)
	}
	b, err := h.keys.Binding(ctx, secretID)
	if err != nil {
		return resolved{}, err
	}
	if !b.Bound() {
		if u == nil {
			u = home
		}
		if home == nil {
			return resolved{}, fmt.Errorf(`%w: secret %s holds a bare key, which is sent only to PORTAL_URL, and PORTAL_URL is not set: store it as {"portalUrl":"https://...","apiKey":"sk-..."}`, errRefused, secretID)
		}
		if !sameURL(u, home) {
			return resolved{}, fmt.Errorf(`%w: secret %s holds a bare key, which is sent only to PORTAL_URL (%s), not to %s: store it as {"portalUrl":"https://%s","apiKey":"sk-..."} to bind it to its portal`, errRefused, secretID, homeName(home), docspace.PortalName(u), docspace.PortalName(u))
		}
		return resolved{URL: u, Portal: docspace.PortalName(u), SecretID: secretID, Key: b.Key}, nil
	}
	bound, err := h.checkURL(b.PortalURL)
	if err != nil {
		return resolved{}, fmt.Errorf("%w: secret %s names a portal that cannot be checked: %w", errRefused, secretID, err)
	}
	switch {
	case u == nil && t.SecretID == "" && home != nil:
		// The default target: PORTAL_URL, with SECRET_ID bound to it.
		u = home
	case u == nil:
		u = bound
	}
	if !docspace.Within(bound, u) {
		return resolved{}, fmt.Errorf("%w: secret %s is bound to portal %s; its key is not sent to %s (another origin or outside the base path)", errRefused, secretID, docspace.PortalName(bound), docspace.PortalName(u))
	}
	return resolved{URL: u, Portal: docspace.PortalName(u), SecretID: secretID, Key: b.Key}, nil
}

// checkURL validates and normalizes a portal URL and applies ALLOWED_HOSTS.
func (h *handler) checkURL(raw string) (*url.URL, error) {
	u, err := docspace.ValidateBaseURL(raw, h.cfg.AllowHTTP)
	if err != nil {
		return nil, err
	}
	if len(h.cfg.AllowedHosts) == 0 {
		return u, nil
	}
	for _, p := range h.cfg.AllowedHosts {
		if docspace.MatchHost(p, u) {
			return u, nil
		}
	}
	return nil, fmt.Errorf("portal %s: host %s is not in ALLOWED_HOSTS", docspace.PortalName(u), u.Hostname())
}

// sameURL reports whether two normalized portal URLs are the same portal;
// a nil URL (no PORTAL_URL) is no portal.
func sameURL(a, b *url.URL) bool {
	return a != nil && b != nil && a.Scheme == b.Scheme && docspace.PortalName(a) == docspace.PortalName(b)
}

func homeName(home *url.URL) string {
	if home == nil {
		return "not set"
	}
	return docspace.PortalName(home)
}
