package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestParseInputAccepts(t *testing.T) {
	scheduled, err := os.ReadFile("../../events/scheduled.json")
	if err != nil {
		t.Fatal(err)
	}
	custom, err := os.ReadFile("../../events/custom-input.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		raw  string
		want []target
	}{
		{"null", `null`, []target{{}}},
		{"empty", ``, []target{{}}},
		{"empty object", `{}`, []target{{}}},
		{"the template's Input", `{"source":"schedule"}`, []target{{}}},
		{"Scheduler event", string(scheduled), []target{{}}},
		{"custom input", string(custom), []target{{PortalURL: "https://portal.example.com", SecretID: "docspace/portal-example/api-key"}}},
		{"secret alone", `{"secretId":"a"}`, []target{{SecretID: "a"}}},
		{"list", `{"portals":[{"portalUrl":"https://a.example.com","secretId":"a"},{"secretId":"b"}]}`,
			[]target{{PortalURL: "https://a.example.com", SecretID: "a"}, {SecretID: "b"}}},
		{"duplicates by normalized name", `{"portals":[{"portalUrl":"https://A.example.com/","secretId":"a"},{"portalUrl":"https://a.example.com:443","secretId":"b"},{"portalUrl":"https://a.example.com/x"},{"secretId":"c"},{"secretId":"c"}]}`,
			[]target{{PortalURL: "https://A.example.com/", SecretID: "a"}, {PortalURL: "https://a.example.com/x"}, {SecretID: "c"}}},
		{"entries with white space and escapes", "{\"portals\": [ {\n \"portal\\u0055rl\" : \"https:\\/\\/a.example.com\" ,\t\"secretId\":\"caf\\u00e9 \\\"x\\\"\" } , {\"secretId\":\"b\"}\n]}",
			[]target{{PortalURL: "https://a.example.com", SecretID: "caf\u00e9 \"x\""}, {SecretID: "b"}}},
	}
	for _, tt := range tests {
		got, _, err := parseInput(json.RawMessage(tt.raw), 10)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("parseInput(%s) = %+v, %v; want %+v", tt.name, got, err, tt.want)
		}
	}
}

func TestParseInputRefuses(t *testing.T) {
	many := make([]string, 11)
	for i := range many {
		many[i] = fmt.Sprintf(`{"portalUrl":"https://p%d.example.com","secretId":"s"}`, i)
	}
	tests := []struct{ raw, want string }{
		{`{"portal_url":"https://other.example.com"}`, `unknown field "portal_url"; accepted fields: "portalUrl", "secretId", "dump", "selfHosted", "portals"`},
		{`{"portalURL":"https://other.example.com"}`, `unknown field "portalURL"`},
		{`{"portals":[{"portalUrl":"https://a.example.com","secretID":"x"}]}`, `portals[0] has an unknown field "secretID"; accepted fields: "portalUrl", "secretId", "dump", "selfHosted"`},
		{`{"portals":[]}`, `"portals" is empty`},
		{`{"portals":null}`, `"portals" must be a list`},
		{`{"portals":{}}`, `"portals" must be a list`},
		{`{"portals":[` + strings.Join(many, ",") + `]}`, `lists 11 portals, more than the 10 one run may check (MAX_PORTALS)`},
		{`{"portals":[{}]}`, `portals[0] is empty`},
		{`{"portals":[{"secretId":"a"},{"portalUrl":"https://a.example.com","x":{"y":["}",1]}}]}`, `portals[1] has an unknown field "x"; accepted fields: "portalUrl", "secretId", "dump", "selfHosted"`},
		{`{"portals":[{"portalUrl":"https://a","portal\u0055rl":"https://b"}]}`, `portals[0] has the field "portalUrl" twice`},
		{`{"portals":[{"secretId":["a"]}]}`, `portals[0]: "secretId" must be a string`},
		{`{"portals":[{"secretId":"a"}, "x"]}`, `portals[1] must be a JSON object`},
		{`{"portals":[{"secretId":"a","dump":null}]}`, `portals[0]: "dump" must be true or false`},
		{`{"portals":[{"secretId":"  "}]}`, `portals[0]: "secretId" is empty`},
		{`{"portals":"x"}`, `"portals" must be a list`},
		{`{"portals":[1]}`, `portals[0] must be a JSON object`},
		{`{"portalUrl":""}`, `"portalUrl" is empty`},
		{`{"secretId":5}`, `"secretId" must be a string`},
		{`{"portalUrl":"https://a","portalUrl":"https://b"}`, `"portalUrl" twice`},
		{`{"portalUrl":"https://a","portals":[{"portalUrl":"https://b"}]}`, `both "portals" and "portalUrl"`},
		{`{"portalUrl":"https://a"} {}`, `data after`},
		{`"x"`, `JSON object`},
		{`[1]`, `JSON object`},
		{`{`, `not valid JSON`},
		{`{"` + strings.Repeat("k", 5000) + `":1}`, `unknown field`},
		// What encoding/json alone would take: a name in another case, a
		// member given twice (it keeps the last), a null (taken as absent).
		{`{"PortalUrl":"https://a.example.com"}`, `event has an unknown field "PortalUrl"`},
		{`{"Portals":[{"secretId":"a"}]}`, `event has an unknown field "Portals"`},
		{`{"SOURCE":"schedule"}`, `event has an unknown field "SOURCE"`},
		{`{"portals":[{"SecretId":"a"}]}`, `portals[0] has an unknown field "SecretId"`},
		{`{"portals":[{"secretId":"a","secretId":"b"}]}`, `portals[0] has the field "secretId" twice`},
		{`{"portals":[{"secretId":"a"}],"portals":[{"secretId":"b"}]}`, `event has the field "portals" twice`},
		{`{"secretId":null}`, `event: "secretId" must be a string`},
		{`{"portals":[{"portalUrl":null,"secretId":"a"}]}`, `portals[0]: "portalUrl" must be a string`},
		{`{"portals":[{"secretId":"a"}]} [`, `data after`},
	}
	for _, tt := range tests {
		_, _, err := parseInput(json.RawMessage(tt.raw), 10)
		if !errors.Is(err, errBadInput) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseInput(%.80s) error = %v, want it to say %q", tt.raw, err, tt.want)
		}
		if err != nil && len(err.Error()) > 400 {
			t.Errorf("parseInput(%.80s) error is %d bytes, want it short", tt.raw, len(err.Error()))
		}
	}
}

// TestParseInputPortalOptions: "dump" and "selfHosted" are per-portal
// options, true or false, in a single input and in each list entry.
func TestParseInputPortalOptions(t *testing.T) {
	targets, _, err := parseInput(json.RawMessage(`{"portals":[{"portalUrl":"https://a.example.com","secretId":"a","dump" : true ,"selfHosted":true},{"portalUrl":"https://b.example.com","secretId":"b","selfHosted":false}]}`), 10)
	if err != nil || len(targets) != 2 {
		t.Fatalf("parseInput() = %+v, %v", targets, err)
	}
	if a := targets[0]; a.Dump == nil || !*a.Dump || a.SelfHosted == nil || !*a.SelfHosted {
		t.Errorf("portals[0] = %+v, want dump and selfHosted true", a)
	}
	if b := targets[1]; b.Dump != nil || b.SelfHosted == nil || *b.SelfHosted {
		t.Errorf("portals[1] = %+v, want dump unset and selfHosted false", b)
	}
	single, _, err := parseInput(json.RawMessage(`{"dump":true}`), 10)
	if err != nil || len(single) != 1 || single[0].Dump == nil || !*single[0].Dump {
		t.Errorf("parseInput(dump) = %+v, %v", single, err)
	}
	for _, bad := range []string{`{"dump":"yes"}`, `{"selfHosted":null}`, `{"portals":[{"portalUrl":"https://a.example.com","dump":1}]}`} {
		if _, _, err := parseInput(json.RawMessage(bad), 10); err == nil || !strings.Contains(err.Error(), "must be true or false") {
			t.Errorf("parseInput(%s) error = %v, want it to say true or false", bad, err)
		}
	}
}

// BenchmarkParseInput parses a list of 1,000 portals as the dispatcher
// gets it and reports allocs/entry and B/entry, per listed portal (the
// README's fleet section names it for the dispatcher's memory).
func BenchmarkParseInput(b *testing.B) {
	const n = 1000
	entries := make([]string, n)
	for i := range entries {
		entries[i] = fmt.Sprintf(`{"portalUrl":"https://portal-%05d.example.com","secretId":"arn:aws:secretsmanager:us-east-1:123456789012:secret:docspace/p%05d-AbCdEf"}`, i, i)
	}
	raw := json.RawMessage(`{"portals":[` + strings.Join(entries, ",") + `]}`)
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	runs := 0
	for b.Loop() {
		targets, _, err := parseInput(raw, n)
		if err != nil || len(targets) != n {
			b.Fatalf("parseInput() = %d targets, %v", len(targets), err)
		}
		runs++
	}
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(runs*n), "allocs/entry")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(runs*n), "B/entry")
}

// FuzzParseInput: whatever the event, parseInput never panics, refuses
// with a short errBadInput, and accepts only valid JSON.
func FuzzParseInput(f *testing.F) {
	for _, s := range []string{
		`{"portals":[{"portalUrl":"https://a.example.com","secretId":"a"}]}`,
		`{"portals":[ {"portal\u0055rl" : "x\"}" , "dump":true}, 1, "s", null, [], {"x":{"y":["}"]}} ]}`,
		`{"portals":[{"secretId":"a","secretId":"b"}]}`, `{"portals":[]}`, `{"portals":[{}]}`, `{}`, `null`, `{"portals":[1,`,
		`{"portals":[{"a\"b":1}]}`, `{"secretId":null}`, `{"PortalUrl":"x"}`, `{"source":"schedule"} x`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		targets, _, err := parseInput(json.RawMessage(raw), 10)
		if err != nil {
			if !errors.Is(err, errBadInput) || len(err.Error()) > 400 {
				t.Fatalf("parseInput(%q) error = %v, want a short bad input error", raw, err)
			}
			return
		}
		if len(targets) == 0 {
			t.Fatalf("parseInput(%q) = no targets and no error", raw)
		}
		if strings.TrimSpace(raw) != "" && !json.Valid([]byte(raw)) {
			t.Fatalf("parseInput(%q) accepted invalid JSON: %+v", raw, targets)
		}
	})
}
