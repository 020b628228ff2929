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
	// run is the run the portal is checked for: this invocation, or the
	// run that queued it. The alert state counts a run once.
	run fleet.Run
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
	single, err := targetOf(fields, -1)
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
	entries, ok := listElements(list)
	if !ok {
		return nil, nil, badInput(`event: "portals" must be a list of {"portalUrl","secretId"} objects`)
	}
	switch {
	case len(entries) == 0:
		return nil, nil, badInput(`event: "portals" is empty: list at least one portal, or leave "portals" out to check PORTAL_URL`)
	case len(entries) > maxPortals:
		return nil, nil, badInput(`event: "portals" lists %d portals, more than the %d one run may check (MAX_PORTALS): split the list over several schedules`, len(entries), maxPortals)
	}
	// The list is valid JSON (the event's decoder read it), so each entry
	// is split by entryFields without a decoder of its own; its members
	// are slices of the event, and one map serves every entry.
	targets = make([]target, 0, len(entries))
	seen := make(map[string]int, len(entries))
	f := map[string]json.RawMessage{}
	for i, e := range entries {
		clear(f)
		if err := entryFields(e, i, f); err != nil {
			return nil, nil, err
		}
		t, err := targetOf(f, i)
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
// entry is the list entry read, -1 for the event itself (see entryWhere).
func targetOf(fields map[string]json.RawMessage, entry int) (target, error) {
	var t target
	for _, m := range [...]struct {
		name string
		dst  *string
	}{{"portalUrl", &t.PortalURL}, {"secretId", &t.SecretID}} {
		raw, ok := fields[m.name]
		if !ok {
			continue
		}
		s, ok := jsonString(raw)
		if !ok {
			return target{}, badInput(`%s: %q must be a string`, entryWhere(entry), m.name)
		}
		if *m.dst = strings.TrimSpace(s); *m.dst == "" {
			return target{}, badInput(`%s: %q is empty: leave it out to use the default`, entryWhere(entry), m.name)
		}
	}
	for _, m := range [...]struct {
		name string
		dst  **bool
	}{{"dump", &t.Dump}, {"selfHosted", &t.SelfHosted}} {
		raw, ok := fields[m.name]
		if !ok {
			continue
		}
		var b bool
		switch string(bytes.TrimSpace(raw)) {
		case "true":
			b = true
		case "false":
		default:
			return target{}, badInput(`%s: %q must be true or false`, entryWhere(entry), m.name)
		}
		*m.dst = &b
	}
	return t, nil
}

// jsonString decodes raw, one JSON value, as a string; ok is false for any
// other type. A string of printable ASCII without escapes is taken as it
// is (no allocation beyond the result); anything else goes through
// encoding/json, which unescapes it and replaces invalid UTF-8.
func jsonString(raw []byte) (s string, ok bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	plain := true
	for _, c := range inner {
		if c < 0x20 || c > 0x7e || c == '\\' || c == '"' {
			plain = false
			break
		}
	}
	if plain && raw[len(raw)-1] == '"' {
		return string(inner), true
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// fieldName decodes raw, a JSON string, as a member name: one of
// accepted without an allocation when it is spelled plainly.
func fieldName(raw []byte, accepted []string) string {
	if len(raw) >= 2 {
		for _, a := range accepted {
			if string(raw[1:len(raw)-1]) == a {
				return a
			}
		}
	}
	name, _ := jsonString(raw)
	return name
}

// entryWhere names list entry i in errors, or the event itself for -1.
func entryWhere(i int) string {
	if i < 0 {
		return "event"
	}
	return fmt.Sprintf("portals[%d]", i)
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

// listElements splits a JSON array into its elements, slices of list; ok
// is false when list is not a valid JSON array.
func listElements(list []byte) (elems [][]byte, ok bool) {
	list = bytes.TrimSpace(list)
	if len(list) == 0 || list[0] != '[' || !json.Valid(list) {
		return nil, false
	}
	i := skipSpace(list, 1)
	if list[i] == ']' {
		return [][]byte{}, true
	}
	for {
		end := skipValue(list, i)
		elems = append(elems, list[i:end])
		i = skipSpace(list, end)
		if list[i] == ']' {
			return elems, true
		}
		i = skipSpace(list, i+1) // the comma
	}
}

// entryFields splits entry i of the list, valid JSON, into its members,
// into f, with objectFields' rules and errors: a JSON object, only the
// targetFields, none twice.
func entryFields(e []byte, i int, f map[string]json.RawMessage) error {
	if len(e) == 0 || e[0] != '{' {
		return badInput(`%s must be a JSON object`, entryWhere(i))
	}
	j := skipSpace(e, 1)
	for e[j] != '}' {
		end := skipValue(e, j)
		name := fieldName(e[j:end], targetFields)
		j = skipSpace(e, skipSpace(e, end)+1) // the colon
		end = skipValue(e, j)
		v := e[j:end]
		if !slices.Contains(targetFields, name) {
			return badInput(`%s has an unknown field %q; accepted fields: %s`, entryWhere(i), shortText(name), acceptedList(targetFields))
		}
		if _, dup := f[name]; dup {
			return badInput(`%s has the field %q twice`, entryWhere(i), name)
		}
		f[name] = v
		if j = skipSpace(e, end); e[j] == ',' {
			j = skipSpace(e, j+1)
		}
	}
	return nil
}

// skipSpace returns the index of the first byte of b at or after i that
// is not JSON white space.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the index just past the JSON value that starts at
// b[i]; b must be valid JSON.
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		for j := i + 1; j < len(b); j++ {
			switch b[j] {
			case '\\':
				j++
			case '"':
				return j + 1
			}
		}
		return len(b)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = skipValue(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	}
	j := i
	for j < len(b) && !strings.ContainsRune(",]} \t\r\n", rune(b[j])) {
		j++
	}
	return j
}
