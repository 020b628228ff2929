package alert

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/alertstate"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/backupcheck"
)

// schemaPath is the notice schema the repository ships for webhooks.
const schemaPath = "../../schema/notice.schema.json"

// noticeSchema compiles the shipped schema, with formats asserted.
func noticeSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	s, err := c.Compile(schemaPath)
	if err != nil {
		t.Fatalf("compile %s: %v", schemaPath, err)
	}
	return s
}

// validate checks one published chat document against the schema.
func validate(t *testing.T, s *jsonschema.Schema, doc string) {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(doc))
	if err != nil {
		t.Fatalf("chat notice is not JSON: %v\n%s", err, doc)
	}
	if err := s.Validate(v); err != nil {
		t.Errorf("chat notice does not match %s: %v\n%s", schemaPath, err, doc)
	}
}

// chatCases are every kind of notice the function sends, and hostile ones.
func chatCases() map[string]struct {
	v backupcheck.Verdict
	n alertstate.Notice
} {
	stale := staleVerdict("portal.example.com")
	stale.Problems = []backupcheck.Problem{{Reason: backupcheck.BackupStale, Detail: stale.Detail}}
	healthy := backupcheck.Verdict{Portal: "portal.example.com", Reason: backupcheck.Healthy, At: at, LastBackup: &at}
	hostile := staleVerdict(strings.Repeat("très-long-portal-🚀.", 40) + "example.com")
	hostile.Detail = strings.Repeat("*_`<&>\x01\"\\", 5000) + "\xff"
	return map[string]struct {
		v backupcheck.Verdict
		n alertstate.Notice
	}{
		"alert":              {stale, alertstate.Notice{Kind: alertstate.Alert, Reason: "backup_stale", Since: since, Failures: 1}},
		"reminder":           {stale, alertstate.Notice{Kind: alertstate.Reminder, Reason: "backup_stale", Since: since, Failures: 97, LastNotified: since}},
		"resolved":           {healthy, alertstate.Notice{Kind: alertstate.Resolved, Reason: "backup_stale", Since: since, Failures: 20}},
		"alert after a mute": {stale, alertstate.Notice{Kind: alertstate.Alert, Reason: "backup_stale", Since: since, Failures: 9, MutedSince: since.Add(-time.Hour)}},
		"late alert":         {staleVerdict("portal.example.com"), alertstate.Notice{Kind: alertstate.Alert, Reason: "backup_stale", Since: since, Failures: 1, Late: true, DueAt: since}},
		"warning":            {backupcheck.Verdict{Portal: "p.example.com", Reason: backupcheck.Unreachable, At: at, Detail: "giving up after 3 attempt(s)"}, alertstate.Notice{Kind: alertstate.Alert}},
		"hostile verdict":    {hostile, alertstate.Notice{Kind: alertstate.Alert, Reason: "backup_stale", Since: since, Failures: 3}},
		"hostile resolved":   {hostile, alertstate.Notice{Kind: alertstate.Resolved, Reason: "backup_stale", Since: since, Failures: 3}},
	}
}

// TestChatMatchesSchema: the https/http variant of every kind of notice
// (alert, reminder, resolved, late, warning, hostile input) is valid
// against the shipped schema and within the chat bounds.
func TestChatMatchesSchema(t *testing.T) {
	s := noticeSchema(t)
	for name, c := range chatCases() {
		t.Run(name, func(t *testing.T) {
			m := Compose(c.v, c.n)
			validate(t, s, m.Bounded().Chat)
			var got ChatNotice
			if err := json.Unmarshal([]byte(m.Chat), &got); err != nil {
				t.Fatal(err)
			}
			if !utf8.ValidString(m.Chat) {
				t.Errorf("chat notice is not valid UTF-8")
			}
			if n := utf8.RuneCountInString(got.Content.Description); n > MaxChatDescription || n == 0 {
				t.Errorf("description has %d characters, want 1..%d", n, MaxChatDescription)
			}
		})
	}
}

// TestSchemaRejects: the schema is not a rubber stamp: a document without
// a description, with another source, a foreign threadId or an unknown
// field fails it, and so does a CloudWatch alarm's message (the monitor
// topic's notices, which the schema does not describe).
func TestSchemaRejects(t *testing.T) {
	s := noticeSchema(t)
	good := Chat(staleVerdict("portal.example.com"), alertstate.Notice{Kind: alertstate.Alert, Reason: "backup_stale", Since: since, Failures: 1})
	for name, edit := range map[string]func(*ChatNotice){
		"no description":   func(c *ChatNotice) { c.Content.Description = "" },
		"another source":   func(c *ChatNotice) { c.Source = "aws.cloudwatch" },
		"foreign thread":   func(c *ChatNotice) { c.Metadata.ThreadID = "thread-1" },
		"unknown severity": func(c *ChatNotice) { c.Content.Keywords[0] = "info" },
		"title too long":   func(c *ChatNotice) { c.Content.Title = strings.Repeat("x", MaxChatTitle+1) },
		"extra context":    func(c *ChatNotice) { c.Metadata.AdditionalContext["apiKey"] = "k" },
		"bad time":         func(c *ChatNotice) { c.Metadata.AdditionalContext["since"] = "yesterday" },
	} {
		t.Run(name, func(t *testing.T) {
			c := good
			c.Content.Keywords = append([]string(nil), good.Content.Keywords...)
			c.Metadata.AdditionalContext = map[string]string{}
			for k, v := range good.Metadata.AdditionalContext {
				c.Metadata.AdditionalContext[k] = v
			}
			edit(&c)
			v, err := jsonschema.UnmarshalJSON(strings.NewReader(c.JSON()))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Validate(v); err == nil {
				t.Errorf("schema accepted %s", c.JSON())
			}
		})
	}
	alarm := `{"AlarmName":"docspace-backup-watch-monitor","NewStateValue":"ALARM","NewStateReason":"Threshold Crossed","StateChangeTime":"2026-11-29T09:00:00.000+0000","Region":"US East (N. Virginia)","Trigger":{"MetricName":"Errors","Namespace":"AWS/Lambda"}}`
	v, _ := jsonschema.UnmarshalJSON(strings.NewReader(alarm))
	if err := s.Validate(v); err == nil {
		t.Errorf("schema accepted a CloudWatch alarm message; a webhook on both topics could not tell them apart")
	}
}

// TestChatThreadsAndGlance: the alert, its reminder and its resolved
// notice share a thread, another reason or portal has its own; severity,
// portal and what to do show in the title, keywords and next steps.
func TestChatThreadsAndGlance(t *testing.T) {
	cases := chatCases()
	alert := Chat(cases["alert"].v, cases["alert"].n)
	reminder := Chat(cases["reminder"].v, cases["reminder"].n)
	resolved := Chat(cases["resolved"].v, cases["resolved"].n)
	if alert.Metadata.ThreadID != reminder.Metadata.ThreadID || alert.Metadata.ThreadID != resolved.Metadata.ThreadID {
		t.Errorf("threads = %s, %s, %s; want one thread for the alert, its reminder and its resolved notice", alert.Metadata.ThreadID, reminder.Metadata.ThreadID, resolved.Metadata.ThreadID)
	}
	for _, other := range []string{ThreadID("portal.example.com", backupcheck.BackupFailed), ThreadID("other.example.com", backupcheck.BackupStale)} {
		if other == alert.Metadata.ThreadID {
			t.Errorf("ThreadID of another reason or portal = %s, the stale alert's thread", other)
		}
	}
	if want := ":red_circle: CRITICAL: backup_stale on portal.example.com"; alert.Content.Title != want {
		t.Errorf("alert title = %q, want %q", alert.Content.Title, want)
	}
	if want := ":white_check_mark: RESOLVED: backup_stale on portal.example.com"; resolved.Content.Title != want {
		t.Errorf("resolved title = %q, want %q", resolved.Content.Title, want)
	}
	if len(alert.Content.NextSteps) != 1 || !strings.HasPrefix(alert.Content.NextSteps[0], "Open Settings > Backup") {
		t.Errorf("alert next steps = %q, want the stale advice", alert.Content.NextSteps)
	}
	if len(resolved.Content.NextSteps) != 0 {
		t.Errorf("resolved next steps = %q, want none", resolved.Content.NextSteps)
	}
	if got := strings.Join(reminder.Content.Keywords, ","); got != "critical,backup_stale,reminder" {
		t.Errorf("reminder keywords = %s, want severity, reason, kind", got)
	}
	if !strings.Contains(alert.Content.Description, "*What happened:* newest backup is from 2026-11-24T02:00:04Z") {
		t.Errorf("alert description lacks what happened:\n%s", alert.Content.Description)
	}
	c := cases["alert after a mute"]
	muted, mutedMail := Chat(c.v, c.n), Compose(c.v, c.n).Email
	const mutedAt = "2026-11-28T02:15:00Z"
	if muted.Metadata.AdditionalContext["mutedSince"] != mutedAt || !strings.Contains(muted.Content.Description, "*Muted:* since "+mutedAt) ||
		!strings.Contains(mutedMail, "Muted: the portal was muted since "+mutedAt+"; the mute has ended and the problem still stands") {
		t.Errorf("alert after a mute = %v\n%s\n%s\nwant it to say since when the portal was muted", muted.Metadata.AdditionalContext, muted.Content.Description, mutedMail)
	}
	if _, ok := alert.Metadata.AdditionalContext["mutedSince"]; ok || strings.Contains(Compose(cases["alert"].v, cases["alert"].n).Email, "Muted:") {
		t.Errorf("an alert no mute held says it was muted")
	}
	hostile := cases["alert"]
	hostile.v.Problems = []backupcheck.Problem{{Reason: backupcheck.BackupStale, Detail: "proxy said <!channel> see <https://evil.example/x|the fix>"}}
	if d := Chat(hostile.v, hostile.n).Content.Description; strings.ContainsAny(d, "<>") {
		t.Errorf("a portal's text becomes chat markup:\n%s", d)
	}
	late := Chat(cases["late alert"].v, cases["late alert"].n)
	if !strings.HasPrefix(late.Content.Title, "[late] ") || late.Metadata.AdditionalContext["dueAt"] != since.Format(time.RFC3339) {
		t.Errorf("late notice = %q, %v; want it marked late with its due time", late.Content.Title, late.Metadata.AdditionalContext)
	}
}
