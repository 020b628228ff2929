package registry

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"slices"
	"unicode/utf8"
)

// PortalTagKey is the tag that Register and RegisterParameter put on a
// registered secret or parameter: its value (PortalTagValue) names the
// portal the key is bound to, so that a listing knows each entry's portal
// without reading its key.
const PortalTagKey = "docspace-backup-watch:portal"

// maxTagValue is the longest tag value Secrets Manager and Parameter
// Store accept, in characters.
const maxTagValue = 256

// tagValueChars are the characters both services accept in a tag value.
var tagValueChars = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)

// PortalTagValue returns the PortalTagKey value for the portal named
// portal (docspace.PortalName, the name the duplicate checks compare):
// the name itself when a tag value can hold it (at most 256 letters,
// digits, spaces and _ . : / = + - @), otherwise "sha256:" and the
// name's SHA-256 in hex. Two entries carry the same value exactly when
// they are bound to the same portal.
func PortalTagValue(portal string) string {
	if portal != "" && utf8.RuneCountInString(portal) <= maxTagValue && tagValueChars.MatchString(portal) {
		return portal
	}
	sum := sha256.Sum256([]byte(portal))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Duplicate is a registered entry left out of a run because another
// entry is bound to the same portal and sorts first.
type Duplicate struct {
	// Portal is the entries' PortalTagKey value.
	Portal string
	// Used is the entry kept: the one whose id (ARN) sorts first.
	Used Entry
	// NotUsed is the entry left out.
	NotUsed Entry
}

// OnePerPortal keeps one entry per portal: of the entries that carry the
// same Portal, the one whose SecretID (the ARN) sorts first, the rule a
// run that reads the keys applies too. The entries kept stay in their
// order; an entry without a Portal (registered before the portal tag, or
// by hand without it) is always kept. The duplicates come back in the
// order of the entries left out.
func OnePerPortal(entries []Entry) ([]Entry, []Duplicate) {
	first := map[string]Entry{}
	for _, e := range entries {
		if e.Portal == "" {
			continue
		}
		if w, ok := first[e.Portal]; !ok || cmp.Less(e.SecretID, w.SecretID) {
			first[e.Portal] = e
		}
	}
	kept := make([]Entry, 0, len(entries))
	var dups []Duplicate
	for _, e := range entries {
		if w, ok := first[e.Portal]; ok && w.SecretID != e.SecretID {
			dups = append(dups, Duplicate{Portal: e.Portal, Used: w, NotUsed: e})
			continue
		}
		kept = append(kept, e)
	}
	return slices.Clip(kept), dups
}
