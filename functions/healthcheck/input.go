package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/fleet"
)

// target is one portal to check as the input names it; an empty field
// falls back as resolve says (PORTAL_URL, SECRET_ID, or the portal the
// secret names).
type target struct {
	PortalURL string `json:"portalUrl,omitempty"`
	SecretID  string `json:"secretId,omitempty"`
	// Dump reads the schedule, the history and the last job with ?dump=true (a
	// self-hosted server's whole-server dump); nil means DUMP.
	Dump *bool `json:"dump,omitempty"`
	// SelfHosted says whether the portal is self-hosted, for when its
	// settings route is refused; nil means SELF_HOSTED (or ask the route).
	SelfHosted *bool `json:"selfHosted,omitempty"`
	// registered marks a portal from the registry: its URL is the one its
	// secret names, https only.
	registered bool
	// portalTag is a registered portal's portal tag, as its registry
	// entry carries it (registry.Entry.Portal); empty without one.
	portalTag string
	// run is the run the portal is checked for: this invocation, or the
	// run that queued it. The alert state counts a run once.
	run fleet.Run
	// owners is set on a queued portal that claims its portal's owner
	// (ownsPortal, a registered or the PORTAL_URL portal): the registry
	// as the consumer listed it.
	owners *registeredSet
	// ownerLease, when longer than ownerLeaseIntervals, is how long this
	// portal's owner keeps it unchecked: a direct run without a queue
	// reaches each portal once a rotation (claimPortals).
	ownerLease time.Duration
}

// String names the target in logs and errors, cut short (the input may
// hold anything).
func (t target) String() string {
	switch {
	case t.PortalURL == "" && t.SecretID == "":
		return "PORTAL_URL with SECRET_ID"
	case t.SecretID == "":
		return "portal " + shortText(t.PortalURL)
	case t.PortalURL == "":
		return "secret " + shortText(t.SecretID)
	}
	return "portal " + shortText(t.PortalURL) + " with secret " + shortText(t.SecretID)
}

// Field names of the input. The schedule's Input (or any invocation
// payload) is one portal ({"portalUrl", "secretId"}, either optional) or a
// list ({"portals": [{"portalUrl", "secretId"}, ...]}), and may carry the
// fields of an EventBridge (Scheduler) event, which are ignored.
var (
	targetFields    = []string{"portalUrl", "secretId", "dump", "selfHosted"}
	inputFields     = []string{"portalUrl", "secretId", "dump", "selfHosted", "portals"}
	schedulerFields = []string{"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
)

// DefaultMaxPortals is the most portals one invocation checks unless
// MAX_PORTALS says otherwise: at the default MAX_CONCURRENCY of 10 and a
// portal answering its four calls in about a second, 500 portals take
// under a minute, inside the template's 90 s timeout.
const DefaultMaxPortals = 500

// errBadInput marks an input the function refuses before any request.
var errBadInput = errors.New("bad input")

func badInput(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errBadInput}, args...)...)
}

// targetJSON is one portal's members as the input gives them; target
// checks each member's type (a JSON null is refused, where encoding/json
// would take it as absent).
type targetJSON struct {
	PortalURL  json.RawMessage `json:"portalUrl"`
	SecretID   json.RawMessage `json:"secretId"`
	Dump       json.RawMessage `json:"dump"`
	SelfHosted json.RawMessage `json:"selfHosted"`
}

// eventJSON is the whole event: one portal's members or a list, and the
// EventBridge Scheduler event's own members, read and ignored.
type eventJSON struct {
	targetJSON
	Portals json.RawMessage `json:"portals"`

	Version    json.RawMessage `json:"version"`
	ID         json.RawMessage `json:"id"`
	DetailType json.RawMessage `json:"detail-type"`
	Source     json.RawMessage `json:"source"`
	Account    json.RawMessage `json:"account"`
	Time       json.RawMessage `json:"time"`
	Region     json.RawMessage `json:"region"`
	Resources  json.RawMessage `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// parseInput reads the event strictly: unknown or repeated fields, wrong
// types, empty values, an empty list and a list over maxPortals are
// errors that name the field and what is accepted. It returns the targets
// to check, duplicates removed (the same normalized portal name, see
// docspace.PortalName, or the same secret alone), and the duplicates it
// dropped, by index. An empty event (null, {} or a Scheduler event) is
// one target: PORTAL_URL with SECRET_ID.
func parseInput(raw json.RawMessage, maxPortals int) (targets []target, dropped []string, err error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return []target{{}}, nil, nil
	}
	if trimmed[0] != '{' {
		return nil, nil, badInput(`event must be a JSON object such as {"portalUrl":"https://...","secretId":"..."} or {"portals":[...]}`)
	}
	var ev eventJSON
	if err := decodeStrict(trimmed, entryWhere(-1), append(slices.Clone(inputFields), schedulerFields...), &ev); err != nil {
		return nil, nil, err
	}
	single, err := ev.target(-1)
	if err != nil {
		return nil, nil, err
	}
	if ev.Portals == nil {
		return []target{single}, nil, nil
	}
	if single != (target{}) {
		return nil, nil, badInput(`event has both "portals" and "portalUrl"/"secretId": use one or the other`)
	}
	var entries []json.RawMessage
	if ev.Portals[0] != '[' || json.Unmarshal(ev.Portals, &entries) != nil {
		return nil, nil, badInput(`event: "portals" must be a list of {"portalUrl","secretId"} objects`)
	}
	switch {
	case len(entries) == 0:
		return nil, nil, badInput(`event: "portals" is empty: list at least one portal, or leave "portals" out to check PORTAL_URL`)
	case len(entries) > maxPortals:
		return nil, nil, badInput(`event: "portals" lists %d portals, more than the %d one run may check (MAX_PORTALS): split the list over several schedules`, len(entries), maxPortals)
	}
	targets = make([]target, 0, len(entries))
	seen := make(map[string]int, len(entries))
	for i, e := range entries {
		if e[0] != '{' {
			return nil, nil, badInput(`%s must be a JSON object`, entryWhere(i))
		}
		var tj targetJSON
		if err := decodeStrict(e, entryWhere(i), targetFields, &tj); err != nil {
			return nil, nil, err
		}
		t, err := tj.target(i)
		if err != nil {
			return nil, nil, err
		}
		if t == (target{}) {
			return nil, nil, badInput(`%s is empty: give "portalUrl", "secretId" or both`, entryWhere(i))
		}
		key := dedupKey(t)
		if first, dup := seen[key]; dup {
			dropped = append(dropped, fmt.Sprintf("%s (same portal as portals[%d])", entryWhere(i), first))
			continue
		}
		seen[key] = i
		targets = append(targets, t)
	}
	return targets, dropped, nil
}

// decodeStrict decodes the JSON object raw into v, a struct of the
// accepted members, with encoding/json and DisallowUnknownFields. As
// encoding/json matches member names without regard to case and keeps the
// last of a repeated member, checkMembers first refuses a name not spelled
// as accepted ("portalURL" is not "portalUrl") and a member given twice,
// naming it.
func decodeStrict(raw []byte, where string, accepted []string, v any) error {
	if err := checkMembers(raw, where, accepted); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badInput(`%s: %s`, where, shortText(err.Error()))
	}
	return nil
}

// checkMembers reads the JSON object raw with encoding/json's tokenizer
// and refuses invalid JSON, data after the object, members not in accepted
// (case matters) and members given twice.
func checkMembers(raw []byte, where string, accepted []string) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return badInput(`%s must be a JSON object`, where)
	}
	seen := make([]string, 0, len(accepted))
	var value json.RawMessage
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return badInput(`%s is not valid JSON: %s`, where, shortText(err.Error()))
		}
		name, _ := tok.(string)
		if err := dec.Decode(&value); err != nil {
			return badInput(`%s is not valid JSON: %s`, where, shortText(err.Error()))
		}
		if !slices.Contains(accepted, name) {
			return badInput(`%s has an unknown field %q; accepted fields: %s`, where, shortText(name), acceptedList(accepted))
		}
		if slices.Contains(seen, name) {
			return badInput(`%s has the field %q twice`, where, name)
		}
		seen = append(seen, name)
	}
	if _, err := dec.Token(); err != nil {
		return badInput(`%s is not valid JSON: %s`, where, shortText(err.Error()))
	}
	if _, err := dec.Token(); err != io.EOF {
		return badInput(`%s has data after its closing brace`, where)
	}
	return nil
}

// target checks the members' types: portalUrl and secretId strings, not
// empty; dump and selfHosted true or false. entry is the list entry read,
// -1 for the event itself (see entryWhere).
func (j targetJSON) target(entry int) (target, error) {
	var t target
	for _, m := range [...]struct {
		name string
		raw  json.RawMessage
		dst  *string
	}{{"portalUrl", j.PortalURL, &t.PortalURL}, {"secretId", j.SecretID, &t.SecretID}} {
		if m.raw == nil {
			continue
		}
		var s string
		if m.raw[0] != '"' || json.Unmarshal(m.raw, &s) != nil {
			return target{}, badInput(`%s: %q must be a string`, entryWhere(entry), m.name)
		}
		if *m.dst = strings.TrimSpace(s); *m.dst == "" {
			return target{}, badInput(`%s: %q is empty: leave it out to use the default`, entryWhere(entry), m.name)
		}
	}
	for _, m := range [...]struct {
		name string
		raw  json.RawMessage
		dst  **bool
	}{{"dump", j.Dump, &t.Dump}, {"selfHosted", j.SelfHosted, &t.SelfHosted}} {
		if m.raw == nil {
			continue
		}
		var b bool
		if string(m.raw) == "null" || json.Unmarshal(m.raw, &b) != nil {
			return target{}, badInput(`%s: %q must be true or false`, entryWhere(entry), m.name)
		}
		*m.dst = &b
	}
	return t, nil
}

// dedupKey is the normalized portal name of a target, or its secret when
// it names no URL (the secret names the portal).
func dedupKey(t target) string {
	if t.PortalURL == "" {
		return "secret " + t.SecretID
	}
	if u, err := docspace.ValidateBaseURL(t.PortalURL, true); err == nil {
		return "portal " + docspace.PortalName(u)
	}
	return "raw " + t.PortalURL
}

// entryWhere names list entry i in errors, or the event itself for -1.
func entryWhere(i int) string {
	if i < 0 {
		return "event"
	}
	return fmt.Sprintf("portals[%d]", i)
}

func acceptedList(accepted []string) string {
	own := slices.DeleteFunc(slices.Clone(accepted), func(s string) bool { return slices.Contains(schedulerFields, s) })
	s := `"` + strings.Join(own, `", "`) + `"`
	if len(own) < len(accepted) {
		s += " (and the EventBridge Scheduler event's own fields, which are ignored)"
	}
	return s
}

// shortText cuts a text that quotes the input, which may be anything.
func shortText(s string) string {
	if r := []rune(s); len(r) > 60 {
		return string(r[:60]) + "..."
	}
	return s
}
