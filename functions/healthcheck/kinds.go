package main

import (
	"sync"
	"time"
)

// portalKindTTL is how long a warm function trusts what a portal's
// settings route said about its kind (self-hosted or cloud): a portal's
// kind does not change between runs, so within this time a portal that
// answers enabled: false is not asked the settings route again.
const portalKindTTL = time.Hour

// kindCache remembers, per portal name, the settings route's "standalone"
// answer for portalKindTTL. Only answers are stored, never a refusal or an
// error. Expired entries are dropped when read and, all of them, at most
// once a TTL when an answer is stored, so it holds no more than the
// portals whose answer it stored in the last two TTLs. The zero value is
// ready; it is safe for concurrent use.
type kindCache struct {
	mu        sync.Mutex
	entries   map[string]kindEntry
	nextSweep time.Time
}

type kindEntry struct {
	standalone bool
	expires    time.Time
}

// get returns the remembered kind of portal, or nil when there is none
// younger than portalKindTTL at now.
func (c *kindCache) get(portal string, now time.Time) *bool {
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
	return &e.standalone
}

// put remembers the settings route's answer for portal from now on.
func (c *kindCache) put(portal string, standalone bool, now time.Time) {
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
	c.entries[portal] = kindEntry{standalone: standalone, expires: now.Add(portalKindTTL)}
}
