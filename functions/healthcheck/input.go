package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
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
	fields, err := objectFields(trimmed, "event", append(slices.Clone(inputFields), schedulerFields...))
	if err != nil {
		return nil, nil, err
	}
	single, err := targetOf(fields, "event")
	if err != nil {
		return nil, nil, err
	}
	list, hasList := fields["portals"]
	if !hasList {
		return []target{single}, nil, nil
	}
	if single != (target{}) {
		return nil, nil, badInput(`event has both "portals" and "portalUrl"/"secretId": use one or the other`)
	}
	var entries []json.RawMessage
	if err := json.Unmarshal(list, &entries); err != nil || bytes.Equal(bytes.TrimSpace(list), []byte("null")) {
		return nil, nil, badInput(`event: "portals" must be a list of {"portalUrl","secretId"} objects`)
	}
	switch {
	case len(entries) == 0:
		return nil, nil, badInput(`event: "portals" is empty: list at least one portal, or leave "portals" out to check PORTAL_URL`)
	case len(entries) > maxPortals:
		return nil, nil, badInput(`event: "portals" lists %d portals, more than the %d one run may check (MAX_PORTALS): split the list over several schedules`, len(entries), maxPortals)
	}
	seen := map[string]int{}
	for i, e := range entries {
		where := fmt.Sprintf("portals[%d]", i)
		f, err := objectFields(e, where, targetFields)
		if err != nil {
			return nil, nil, err
		}
		t, err := targetOf(f, where)
		if err != nil {
			return nil, nil, err
		}
		if t == (target{}) {
			return nil, nil, badInput(`%s is empty: give "portalUrl", "secretId" or both`, where)
		}
		key := dedupKey(t)
		if first, dup := seen[key]; dup {
			dropped = append(dropped, fmt.Sprintf("%s (same portal as portals[%d])", where, first))
			continue
		}
		seen[key] = i
		targets = append(targets, t)
	}
	return targets, dropped, nil
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

// targetOf reads the portalUrl and secretId members: strings, not empty.
func targetOf(fields map[string]json.RawMessage, where string) (target, error) {
	var t target
	for name, dst := range map[string]*string{"portalUrl": &t.PortalURL, "secretId": &t.SecretID} {
		raw, ok := fields[name]
		if !ok {
			continue
		}
		if err := json.Unmarshal(raw, dst); err != nil || raw[0] != '"' {
			return target{}, badInput(`%s: %q must be a string`, where, name)
		}
		*dst = strings.TrimSpace(*dst)
		if *dst == "" {
			return target{}, badInput(`%s: %q is empty: leave it out to use the default`, where, name)
		}
	}
	for name, dst := range map[string]**bool{"dump": &t.Dump, "selfHosted": &t.SelfHosted} {
		raw, ok := fields[name]
		if !ok {
			continue
		}
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			return target{}, badInput(`%s: %q must be true or false`, where, name)
		}
		*dst = &b
	}
	return t, nil
}

// objectFields splits a JSON object into its members, refusing members
// not in accepted (case matters: "portalURL" is not "portalUrl") and
// members given twice.
func objectFields(raw []byte, where string, accepted []string) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, badInput(`%s must be a JSON object`, where)
	}
	fields := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, badInput(`%s is not valid JSON: %s`, where, shortText(err.Error()))
		}
		name, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, badInput(`%s is not valid JSON: %s`, where, shortText(err.Error()))
		}
		if !slices.Contains(accepted, name) {
			return nil, badInput(`%s has an unknown field %q; accepted fields: %s`, where, shortText(name), acceptedList(accepted))
		}
		if _, dup := fields[name]; dup {
			return nil, badInput(`%s has the field %q twice`, where, name)
		}
		fields[name] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, badInput(`%s is not valid JSON: %s`, where, shortText(err.Error()))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, badInput(`%s has data after its closing brace`, where)
	}
	return fields, nil
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
