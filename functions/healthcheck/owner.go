package main

// One owner per portal for the queue's entries that carry no portal: which
// of two entries bound to one portal checks it, kept in the alert state
// table so that every consumer, in any run and order, picks the same one.

import (
	"context"
	"log/slog"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/alertstate"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
)

// portalOwners is *alertstate.Store: the "#owner" item of a portal.
type portalOwners interface {
	ClaimOwner(ctx context.Context, portal, entry string, now time.Time, lease time.Duration) (string, error)
	TakeOwner(ctx context.Context, portal, entry, from string, now time.Time) (string, error)
}

var _ portalOwners = (*alertstate.Store)(nil)

// ownerLeaseIntervals is how many schedule intervals an owner keeps its
// portal without checking it (a message may wait one interval in the
// queue, and the owner's may come late in the next run): an owner that
// is still registered and bound to the portal but no longer checks it
// (its messages stop coming) hands it over after that. One bound to
// another portal now hands it over at once (ownsPortal). A direct run
// without a queue claims for a whole rotation (claimPortals).
const ownerLeaseIntervals = 3

// ownsPortal reports whether the queued target t, resolved as r, checks
// its portal. A target that claims (a registered portal, or the PORTAL_URL
// portal, queued while another entry may be bound to the same portal:
// the dispatcher's listing and the consumer's may differ) writes itself
// as the portal's owner unless an entry that sorts first owns it; when
// one does, is still registered (by a fresh listing) and still bound to
// the portal (its key, read through the key store), t is dropped, logged
// naming both; an owner no longer registered, or bound to another portal
// now, hands the portal over at once. When the table, the listing or the
// owner's key fails, t checks: a duplicate beats silence.
func (h *handler) ownsPortal(ctx context.Context, log *slog.Logger, t target, r resolved) bool {
	po, ok := h.state.(portalOwners)
	if t.owners == nil || !ok || r.SecretID == "" {
		return true
	}
	now := h.now()
	lease := max(ownerLeaseIntervals*h.cfg.ScheduleInterval, t.ownerLease)
	owner, err := po.ClaimOwner(ctx, r.Portal, r.SecretID, now, lease)
	for range 3 {
		switch {
		case err != nil:
			log.WarnContext(ctx, "portal owner unknown (alert state unavailable): checking it, a duplicate beats silence", "portal", r.Portal, "secretId", r.SecretID, "error", err)
			return true
		case owner == r.SecretID:
			return true
		}
		registered, lerr := t.owners.lookup(ctx, log, owner, true)
		switch {
		case lerr != nil:
			return true
		case registered:
			bound, berr := h.ownerPortal(ctx, owner)
			if berr != nil {
				log.WarnContext(ctx, "portal owner's key cannot be read: checking it, a duplicate beats silence", "portal", r.Portal, "owner", owner, "secretId", r.SecretID, "error", berr)
				return true
			}
			if bound != r.Portal {
				log.InfoContext(ctx, "portal owner is bound to another portal now: this entry takes the portal over", "portal", r.Portal, "owner", owner, "ownerPortal", bound, "secretId", r.SecretID)
				owner, err = po.TakeOwner(ctx, r.Portal, r.SecretID, owner, now)
				continue
			}
			msg := msgTwoSecrets
			if h.cfg.PortalURL != "" && (owner == h.cfg.SecretID || r.SecretID == h.cfg.SecretID) {
				msg = msgPortalURLRegistered
			}
			log.WarnContext(ctx, "queued portal dropped: "+msg, "portal", r.Portal, "used", owner, "notUsed", r.SecretID)
			return false
		}
		log.InfoContext(ctx, "portal owner no longer registered: this entry takes the portal over", "portal", r.Portal, "owner", owner, "secretId", r.SecretID)
		owner, err = po.TakeOwner(ctx, r.Portal, r.SecretID, owner, now)
	}
	return true
}

// claimPortals makes the scheduled targets that a direct run checks
// itself, while it leaves the rest to the queue or to a later run, claim
// their portal's owner as queued ones do (ownsPortal): two entries bound
// to one portal without a portal tag may fall on either side of the
// split, and from the second run on only the one whose ARN sorts first
// checks it. Nothing is claimed without the alert state table, nor when
// the registry cannot be listed. lease is how long an owner keeps its
// portal: a run that leaves the rest to later runs reaches each portal
// once a rotation, so its owners keep it a rotation and one interval more.
func (h *handler) claimPortals(ctx context.Context, log *slog.Logger, targets []target, lease time.Duration) {
	if _, ok := h.state.(portalOwners); !ok || h.registry == nil {
		return
	}
	owners := h.registeredSecrets(ctx, log)
	if owners == nil {
		return
	}
	for i := range targets {
		targets[i].owners, targets[i].ownerLease = owners, lease
	}
}

// ownerPortal is the portal the owner entry is bound to now: PORTAL_URL's
// for SECRET_ID (by configuration), else the one its key names, read
// through the key store.
func (h *handler) ownerPortal(ctx context.Context, owner string) (string, error) {
	if h.cfg.PortalURL != "" && owner == h.cfg.SecretID {
		u, err := docspace.ValidateBaseURL(h.cfg.PortalURL, h.cfg.AllowHTTP)
		if err != nil {
			return "", err
		}
		return docspace.PortalName(u), nil
	}
	u, _, err := h.registeredPortal(ctx, owner)
	if err != nil {
		return "", err
	}
	return docspace.PortalName(u), nil
}
