package main

// One owner per portal for the queue's entries that carry no portal: which
// of two entries bound to one portal checks it, kept in the alert state
// table so that every consumer, in any run and order, picks the same one.

import (
	"context"
	"log/slog"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/alertstate"
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
// is still registered but no longer checks the portal (its key now bound
// to another) hands it over after that.
const ownerLeaseIntervals = 3

// ownsPortal reports whether the queued target t, resolved as r, checks
// its portal. A target that claims (a registered portal, or the PORTAL_URL
// portal, queued while another entry may be bound to the same portal:
// the dispatcher's listing and the consumer's may differ) writes itself
// as the portal's owner unless an entry that sorts first owns it; when
// one does and is still registered (by a fresh listing), t is dropped,
// logged naming both; an owner no longer registered hands the portal
// over. When the table or the listing fails, t checks: a duplicate beats
// silence.
func (h *handler) ownsPortal(ctx context.Context, log *slog.Logger, t target, r resolved) bool {
	po, ok := h.state.(portalOwners)
	if t.owners == nil || !ok || r.SecretID == "" {
		return true
	}
	now := h.now()
	owner, err := po.ClaimOwner(ctx, r.Portal, r.SecretID, now, ownerLeaseIntervals*h.cfg.ScheduleInterval)
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
