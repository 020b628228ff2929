package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/registry"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/secrets"
)

// portalLister lists the registered portals; it is *registry.Registry,
// or registry.All for the secrets and the parameters together.
type portalLister interface {
	Portals(ctx context.Context) ([]registry.Entry, error)
}

var (
	_ portalLister = (*registry.Registry)(nil)
	_ portalLister = registry.All(nil)
)

// errNotHTTPS is a registered secret bound to a URL that is not https.
var errNotHTTPS = errors.New("a registered portal must use https (ALLOW_INSECURE_HTTP does not apply to the registry)")

// msgTwoSecrets is the warning for two registered entries bound to one
// portal, of which one is used.
const msgTwoSecrets = "portal bound to two secrets: the one whose ARN sorts first is used, the other not; remove one (portals remove)"

// msgStaleTag is the warning for a registered entry whose portal tag (a
// parameter's description) names another portal than the one its key is
// bound to.
const msgStaleTag = "portal tag does not match the secret: it names another portal than the one the key is bound to, so a secret bound to the tagged portal may be left out as a duplicate; correct the tag " + registry.PortalTagKey + " (a parameter: its description)"

// msgPortalURLRegistered is the warning for a registered entry bound to
// the PORTAL_URL portal, of which one is used.
const msgPortalURLRegistered = "PORTAL_URL's portal is also registered: checked once, with the secret whose ARN sorts first (SECRET_ID or the registered one), the other not; remove one (portals remove, or the stack's PortalUrl)"

// scheduledTargets are the portals of a run whose input names none: the
// PORTAL_URL portal when it is set, then every registered portal but the
// one whose secret is SECRET_ID (already checked as PORTAL_URL). One
// portal is checked once (onePerPortal), decided before any key is read,
// so that a run that queues its portals queues each once. A failed
// listing still returns the PORTAL_URL portal and the portals of the
// registries that could be listed, with the error.
func (h *handler) scheduledTargets(ctx context.Context, log *slog.Logger) ([]target, error) {
	var targets []target
	if h.registry == nil {
		if h.cfg.PortalURL != "" {
			targets = append(targets, target{})
		}
		return targets, nil
	}
	entries, err := h.registry.Portals(ctx)
	if err != nil {
		log.ErrorContext(ctx, "cannot list the registered portals", "registry", h.cfg.registries(), "listed", len(entries), "error", err)
	}
	registered := len(entries)
	kept, dups, home := h.onePerPortal(entries)
	for _, d := range dups {
		h.logDuplicate(ctx, log, "", d, home)
	}
	for _, e := range kept {
		if home != nil && e == *home {
			targets = append(targets, target{})
			continue
		}
		targets = append(targets, target{SecretID: e.SecretID, registered: true, portalTag: e.Portal})
	}
	log.InfoContext(ctx, "registered portals", "registry", h.cfg.registries(), "registered", registered, "portals", len(targets))
	return targets, err
}

// onePerPortal keeps one entry per portal among the registered entries
// and the PORTAL_URL portal, before any key is read: the entries that
// carry the same portal tag, SECRET_ID's counting as tagged with PORTAL_URL's
// portal, are one portal, and only the one whose ARN sorts first is kept
// (registry.OnePerPortal; a direct run's checks apply the same rule to the
// keys they read). When PORTAL_URL is set, home is the entry that stands
// for it (SECRET_ID, first in entries), and a registered entry whose
// secret is SECRET_ID is left out: the PORTAL_URL portal checks it.
func (h *handler) onePerPortal(entries []registry.Entry) (kept []registry.Entry, dups []registry.Duplicate, home *registry.Entry) {
	if h.cfg.PortalURL == "" {
		kept, dups = registry.OnePerPortal(entries)
		return kept, dups, nil
	}
	home = &registry.Entry{SecretID: h.cfg.SecretID, Name: "PORTAL_URL"}
	if u, err := docspace.ValidateBaseURL(h.cfg.PortalURL, h.cfg.AllowHTTP); err == nil && h.cfg.SecretID != "" {
		home.Portal = registry.PortalTagValue(docspace.PortalName(u))
	}
	all := make([]registry.Entry, 0, len(entries)+1)
	all = append(all, *home)
	for _, e := range entries {
		if e.SecretID != h.cfg.SecretID {
			all = append(all, e)
		}
	}
	kept, dups = registry.OnePerPortal(all)
	return kept, dups, home
}

// logDuplicate warns of d, an entry left out for another bound to the
// same portal (prefix: what became of a queued message).
func (h *handler) logDuplicate(ctx context.Context, log *slog.Logger, prefix string, d registry.Duplicate, home *registry.Entry, args ...any) {
	msg := msgTwoSecrets
	if home != nil && (d.Used == *home || d.NotUsed == *home) {
		msg = msgPortalURLRegistered
	}
	log.WarnContext(ctx, prefix+msg, append(args, "portal", d.Portal, "used", d.Used.SecretID, "notUsed", d.NotUsed.SecretID)...)
}

// registeredPortal reads a registered portal's bound secret: the portal's
// URL, https only, and its key.
func (h *handler) registeredPortal(ctx context.Context, secretID string) (*url.URL, docspace.APIKey, error) {
	b, err := h.keys.Binding(ctx, secretID)
	if err != nil {
		return nil, "", fmt.Errorf("registered secret %s: %w", secretID, err)
	}
	if !b.Bound() {
		return nil, "", fmt.Errorf("registered secret %s: %w", secretID, secrets.ErrNotBound)
	}
	// https always; internal hosts only with ALLOW_INSECURE_HTTP (tests).
	u, err := docspace.ValidateBaseURL(b.PortalURL, h.cfg.AllowHTTP)
	if err == nil && u.Scheme != "https" {
		err = errNotHTTPS
	}
	if err != nil {
		if parsed, perr := url.Parse(b.PortalURL); perr == nil && parsed.Scheme == "http" {
			err = errNotHTTPS
		}
		return nil, "", fmt.Errorf("registered secret %s is bound to a URL that is refused: %w", secretID, err)
	}
	return u, b.Key, nil
}

// keyPrefetcher reads many keys at once before the checks start; it is
// *secrets.Store, which reads the parameters among them ten to a call.
type keyPrefetcher interface {
	Prefetch(ctx context.Context, ids []string)
}

var _ keyPrefetcher = (*secrets.Store)(nil)

// prefetchTimeout bounds the reads before the checks; what is not read by
// then is read by each check, within its own budget.
const prefetchTimeout = 5 * time.Second

// prefetchKeys reads the keys of targets at once, where the key store can:
// a run or batch over many portals registered in Parameter Store then
// makes one read per ten portals instead of one each (its default
// throughput is 40 reads a second, shared by the account).
func (h *handler) prefetchKeys(ctx context.Context, targets []target) {
	p, ok := h.keys.(keyPrefetcher)
	if !ok || len(targets) < 2 {
		return
	}
	ids := make([]string, 0, len(targets))
	for _, t := range targets {
		if t.SecretID != "" {
			ids = append(ids, t.SecretID)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, prefetchTimeout)
	defer cancel()
	p.Prefetch(ctx, ids)
}
