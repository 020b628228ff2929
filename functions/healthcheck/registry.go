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
const msgStaleTag = "portal tag does not match the secret: it names another portal than the one the key is bound to; the secret is checked at its key's portal, and no entry tagged for the other portal is left out on its word; correct the tag " + registry.PortalTagKey + " (a parameter: its description)"

// msgPortalURLRegistered is the warning for a registered entry bound to
// the PORTAL_URL portal, of which one is used.
const msgPortalURLRegistered = "PORTAL_URL's portal is also registered: checked once, with the secret whose ARN sorts first (SECRET_ID or the registered one), the other not; remove one (portals remove, or the stack's PortalUrl)"

// scheduledTargets are the portals of a run whose input names none: the
// PORTAL_URL portal when it is set, then every registered portal but the
// one whose secret is SECRET_ID (already checked as PORTAL_URL). Nothing
// is left out on a portal tag here: the run leaves out duplicates only
// once it has read the keys of both entries (queueOnce, before it queues
// or splits the portals), and a run that checks its portals itself reads
// every key and checks a portal bound to two entries once (resolveAll).
// A failed listing still returns the PORTAL_URL portal and the portals
// of the registries that could be listed, with the error.
func (h *handler) scheduledTargets(ctx context.Context, log *slog.Logger) ([]target, error) {
	var targets []target
	if h.cfg.PortalURL != "" {
		targets = append(targets, target{})
	}
	if h.registry == nil {
		return targets, nil
	}
	entries, err := h.registry.Portals(ctx)
	if err != nil {
		log.ErrorContext(ctx, "cannot list the registered portals", "registry", h.cfg.registries(), "listed", len(entries), "error", err)
	}
	for _, e := range entries {
		if h.cfg.PortalURL != "" && e.SecretID == h.cfg.SecretID {
			continue
		}
		targets = append(targets, target{SecretID: e.SecretID, registered: true, portalTag: e.Portal})
	}
	log.InfoContext(ctx, "registered portals", "registry", h.cfg.registries(), "registered", len(entries), "portals", len(targets))
	return targets, err
}

// homeEntry is the entry that stands for the PORTAL_URL portal (SECRET_ID,
// tagged with PORTAL_URL's portal), nil when PORTAL_URL is not set.
func (h *handler) homeEntry() *registry.Entry {
	if h.cfg.PortalURL == "" {
		return nil
	}
	home := &registry.Entry{SecretID: h.cfg.SecretID, Name: "PORTAL_URL"}
	if u, err := docspace.ValidateBaseURL(h.cfg.PortalURL, h.cfg.AllowHTTP); err == nil && h.cfg.SecretID != "" {
		home.Portal = registry.PortalTagValue(docspace.PortalName(u))
	}
	return home
}

// queueOnce returns the scheduled targets of a run, each portal once
// where the registry says which entries are one portal, before the run
// queues them or splits them over its capacity (so that two entries of
// one portal never fall on both sides of the split): of
// the entries carrying the same portal tag (a parameter: description),
// SECRET_ID's counting as tagged with PORTAL_URL's portal, the one whose
// ARN sorts first is queued (registry.OnePerPortal, the rule resolveAll
// applies to the keys it reads), the others are left out and logged, but
// only once the keys of both the kept entry and the one left out (read
// through the key store, for a portal tagged on two entries only) show
// them bound to that portal. An entry bound elsewhere (a stale or wrong
// tag) or whose key cannot be read is queued, with a warning (when it is
// the kept one, every entry tagged for the portal is): a wrong tag never
// leaves a portal out, nor does an entry removed since the listing was
// cached (the registry is listed again first, for a run with a duplicate
// only; when that fails, every entry is queued). Duplicates that still reach the queue are settled by the
// consumers' owner claim (ownsPortal).
func (h *handler) queueOnce(ctx context.Context, log *slog.Logger, targets []target) []target {
	home := h.homeEntry()
	entries := make([]registry.Entry, 0, len(targets))
	for _, t := range targets {
		switch {
		case t.registered:
			entries = append(entries, registry.Entry{SecretID: t.SecretID, Portal: t.portalTag})
		case home != nil:
			entries = append(entries, *home)
		}
	}
	_, dups := registry.OnePerPortal(entries)
	if len(dups) == 0 {
		return targets
	}
	current, listed := h.currentEntries(ctx, log)
	if !listed {
		// An entry removed since the listing was cached could be the one
		// kept: queue every entry, and let the consumers' owner claim
		// settle it.
		return targets
	}
	bound := map[string]bool{}
	drop := map[string]bool{}
	for _, d := range dups {
		ok, read := bound[d.Used.SecretID]
		if !read {
			ok = h.boundAsTagged(ctx, log, d.Used, home, current)
			bound[d.Used.SecretID] = ok
		}
		// The entry left out is read too: a wrong tag on it alone would
		// otherwise leave its key's portal out.
		if ok && h.boundAsTagged(ctx, log, d.NotUsed, home, nil) {
			h.logDuplicate(ctx, log, "", d, home)
			drop[d.NotUsed.SecretID] = true
		}
	}
	if len(drop) == 0 {
		return targets
	}
	kept := make([]target, 0, len(targets)-len(drop))
	for _, t := range targets {
		id := t.SecretID
		if !t.registered && home != nil {
			id = home.SecretID
		}
		if !drop[id] {
			kept = append(kept, t)
		}
	}
	return kept
}

// currentEntries lists the registry again, past its cache, and returns
// the ARNs it holds: a listing up to SECRET_CACHE_TTL old may still show
// an entry just removed, whose message a consumer then drops. It is nil
// when the registry cannot be listed past its cache (it is listed on
// each call); listed is false when listing it again failed (logged).
func (h *handler) currentEntries(ctx context.Context, log *slog.Logger) (ids map[string]bool, listed bool) {
	r, ok := h.registry.(refresher)
	if !ok {
		return nil, true
	}
	entries, err := r.Refresh(ctx)
	if err != nil {
		log.WarnContext(ctx, "cannot list the registered portals again: every entry tagged for a portal is queued, none left out on the earlier listing", "error", err)
		return nil, false
	}
	ids = make(map[string]bool, len(entries))
	for _, e := range entries {
		ids[e.SecretID] = true
	}
	return ids, true
}

// boundAsTagged reports whether e's key is bound to the portal its tag
// names, reading it through the key store (SECRET_ID's too: a bare key
// is PORTAL_URL's, a bound one must name PORTAL_URL's portal), and e is
// still registered (current, when known; nil asks nothing of it). An
// entry bound elsewhere is logged as a stale tag, one that cannot be read
// or is no longer registered as such; all report false.
func (h *handler) boundAsTagged(ctx context.Context, log *slog.Logger, e registry.Entry, home *registry.Entry, current map[string]bool) bool {
	if home != nil && e == *home {
		rctx, cancel := context.WithTimeout(ctx, h.cfg.PortalTimeout)
		defer cancel()
		if _, err := h.resolve(rctx, target{}); err != nil {
			log.WarnContext(ctx, "portal tagged on two entries: SECRET_ID cannot be read or is not bound to PORTAL_URL's portal, so it is queued and no entry is left out for it", "portal", e.Portal, "secretId", e.SecretID, "error", err)
			return false
		}
		return true
	}
	if current != nil && !current[e.SecretID] {
		log.WarnContext(ctx, "portal tagged on two entries: the one that sorts first is no longer registered, so every entry tagged for the portal is queued", "portal", e.Portal, "secretId", e.SecretID)
		return false
	}
	rctx, cancel := context.WithTimeout(ctx, h.cfg.PortalTimeout)
	defer cancel()
	u, _, err := h.registeredPortal(rctx, e.SecretID)
	if err != nil {
		log.WarnContext(ctx, "portal tagged on two entries: the key of one cannot be read, so it is queued and no entry is left out for it", "portal", e.Portal, "secretId", e.SecretID, "error", err)
		return false
	}
	if portal := docspace.PortalName(u); registry.PortalTagValue(portal) != e.Portal {
		log.WarnContext(ctx, msgStaleTag, "secretId", e.SecretID, "tagged", e.Portal, "portal", portal)
		return false
	}
	return true
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
