package main

import (
	"context"
	"sync"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/alertstate"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/backupcheck"
)

// portalKindTTL is how long a warm function trusts what a portal's
// settings route said (self-hosted or cloud, the server's version, the
// time zone): they do not change between runs, so within this time the
// route is not asked again.
const portalKindTTL = time.Hour

// kindCache remembers, per portal name, the settings route's facts for
// portalKindTTL. Only answers are stored, never a refusal or an error.
// Expired entries are dropped when read and, all of them, at most once a
// TTL when an answer is stored, so it holds no more than the portals whose
// answer it stored in the last two TTLs. The zero value is ready; it is
// safe for concurrent use.
type kindCache struct {
	mu        sync.Mutex
	entries   map[string]kindEntry
	nextSweep time.Time
}

type kindEntry struct {
	facts   backupcheck.Facts
	expires time.Time
}

// get returns the remembered facts of portal, or nil when there are none
// younger than portalKindTTL at now.
func (c *kindCache) get(portal string, now time.Time) *backupcheck.Facts {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[portal]
	if !ok {
		return nil
	}
	if !now.Before(e.expires) {
		delete(c.entries, portal)
		return nil
	}
	f := e.facts
	return &f
}

// put remembers the settings route's facts for portal from now on.
func (c *kindCache) put(portal string, facts backupcheck.Facts, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]kindEntry{}
	}
	if !now.Before(c.nextSweep) {
		for p, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, p)
			}
		}
		c.nextSweep = now.Add(portalKindTTL)
	}
	c.entries[portal] = kindEntry{facts: facts, expires: now.Add(portalKindTTL)}
}

// historyClaimer is *alertstate.Store: taking a portal's turn to read its
// history, and recording what the read found.
type historyClaimer interface {
	ClaimHistoryRead(ctx context.Context, portal string, now time.Time, every time.Duration, newest time.Time) (bool, error)
	RecordHistoryNewest(ctx context.Context, portal string, readAt, newest time.Time) error
}

var _ historyClaimer = (*alertstate.Store)(nil)

// storeGate lets one run read a portal's history per HISTORY_EVERY, across
// cold starts and overlapping runs: the turn is taken in the alert state
// table.
type storeGate struct {
	store  historyClaimer
	portal string
	now    time.Time
	every  time.Duration
	newest time.Time
	// claimed is set when this run took the turn.
	claimed bool
}

func (g *storeGate) Claim(ctx context.Context) (bool, error) {
	ok, err := g.store.ClaimHistoryRead(ctx, g.portal, g.now, g.every, g.newest)
	g.claimed = ok && err == nil
	return g.claimed, err
}

// historyTurns lets one run of the warm function read a portal's history
// per HISTORY_EVERY, when there is no alert state table (a cold start
// forgets). The zero value is ready; it is safe for concurrent use.
type historyTurns struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// take reports whether portal's history may be read at now, and takes
// the turn when it may.
func (t *historyTurns) take(portal string, now time.Time, every time.Duration) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.last == nil {
		t.last = map[string]time.Time{}
	}
	for p, at := range t.last {
		if now.Sub(at) >= every {
			delete(t.last, p)
		}
	}
	if at, ok := t.last[portal]; ok && now.Sub(at) < every {
		return false
	}
	t.last[portal] = now
	return true
}

// memoryGate is historyTurns as one portal's backupcheck.HistoryGate.
type memoryGate struct {
	turns  *historyTurns
	portal string
	now    time.Time
	every  time.Duration
}

func (g memoryGate) Claim(context.Context) (bool, error) {
	return g.turns.take(g.portal, g.now, g.every), nil
}
