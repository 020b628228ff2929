package alert

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/alertstate"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/backupcheck"
)

// The chat channel's bounds. Amazon Q Developer in chat applications drops
// a custom notification it cannot render, so each field stays well inside
// what the service and the chat clients show (a Slack section holds 3,000
// characters): a short title, a description of at most
// MaxChatDescription characters, at most two next steps and five keywords.
const (
	// MaxChatTitle caps content.title, in characters.
	MaxChatTitle = 200
	// MaxChatDescription caps content.description, in characters.
	MaxChatDescription = 2500
	// maxChatStep caps one of content.nextSteps, in characters.
	maxChatStep = 1000
	// maxChatKeyword caps one of content.keywords, in characters.
	maxChatKeyword = 40
	// maxChatSummary caps metadata.summary, in characters.
	maxChatSummary = 200
	// maxChatContext caps one value of metadata.additionalContext.
	maxChatContext = 300
)

// ChatVersion and ChatSource are the fixed version and source of a custom
// notification.
const (
	ChatVersion = "1.0"
	ChatSource  = "custom"
)

// ChatNotice is a notice as an Amazon Q Developer in chat applications
// custom notification (Slack, Microsoft Teams), the JSON that https and
// http subscribers of the topic receive as the message: webhooks get the
// same document. The schema in schema/notice.schema.json describes it.
type ChatNotice struct {
	Version  string       `json:"version"`
	Source   string       `json:"source"`
	Content  ChatContent  `json:"content"`
	Metadata ChatMetadata `json:"metadata"`
}

// ChatContent is what the chat channel shows.
type ChatContent struct {
	// TextType is always "client-markdown".
	TextType string `json:"textType"`
	// Title carries the severity, the reason and the portal.
	Title string `json:"title"`
	// Description is the notice's text in the chat client's markdown.
	Description string `json:"description"`
	// NextSteps is what to do (none for a resolved notice).
	NextSteps []string `json:"nextSteps,omitempty"`
	// Keywords are the severity, the reason and the kind of notice.
	Keywords []string `json:"keywords"`
}

// ChatMetadata threads and describes the notice.
type ChatMetadata struct {
	// ThreadID is the same for the alert, the reminders and the resolved
	// notice of one portal's reason (see ThreadID).
	ThreadID string `json:"threadId"`
	// Summary is a one-line text for push notifications.
	Summary string `json:"summary"`
	// EventType is "docspace-backup-" and the kind: alert, reminder or
	// resolved.
	EventType string `json:"eventType"`
	// AdditionalContext holds the notice's fields for machines: portal,
	// reason, severity, kind, since, checkedAt, failures and, when known,
	// lastBackup, nextDue, dueAt (a late notice) and mutedSince (an alert
	// or reminder a mute held back).
	AdditionalContext map[string]string `json:"additionalContext"`
}

// ThreadID returns the chat thread of portal's reason: "docspace-backup-"
// and 20 hex digits of a SHA-256 of the two, so that it is short, has no
// characters a chat client could trip on, and is the same for every notice
// of that reason.
func ThreadID(portal string, reason backupcheck.Reason) string {
	sum := sha256.Sum256([]byte(portal + "\x00" + string(reason)))
	return "docspace-backup-" + hex.EncodeToString(sum[:10])
}

var chatMarks = map[Severity]string{Critical: ":red_circle:", Warning: ":warning:", Resolved: ":white_check_mark:"}

// Chat builds the chat channel's notice n about verdict v, from the same
// facts as the email text (see Compose). The fields stay within the chat
// bounds whatever the verdict holds.
func Chat(v backupcheck.Verdict, n alertstate.Notice) ChatNotice {
	f := factsOf(v, n)
	kind := n.Kind
	if kind == alertstate.None {
		kind = alertstate.Alert
	}
	var title string
	switch kind {
	case alertstate.Resolved:
		title = fmt.Sprintf("%s RESOLVED: %s on %s", chatMarks[f.severity], f.reason, v.Portal)
	case alertstate.Reminder:
		title = fmt.Sprintf("%s %s, still failing: %s on %s", chatMarks[f.severity], strings.ToUpper(string(f.severity)), f.reason, v.Portal)
	default:
		title = fmt.Sprintf("%s %s: %s on %s", chatMarks[f.severity], strings.ToUpper(string(f.severity)), f.reason, v.Portal)
	}
	if n.Late {
		title = "[late] " + title
	}

	var b strings.Builder
	line := func(label, format string, args ...any) {
		fmt.Fprintf(&b, "*%s:* %s\n", label, fmt.Sprintf(format, args...))
	}
	line("Portal", "%s", v.Portal)
	if n.Late {
		line("Late", "due at %s; an earlier run could not deliver it", stamp(n.DueAt))
	}
	if kind == alertstate.Resolved {
		line("Resolved", "%s, failing since %s (%d failing run(s))", f.reason, stamp(f.since), n.Failures)
		line("Now", "%s at %s", v.Reason, stamp(v.At))
	} else {
		line("Problem", "%s (severity %s)", f.reason, f.severity)
		if kind == alertstate.Reminder {
			line("Reminder", "still failing; previous notice at %s", stamp(n.LastNotified))
		}
		if !n.MutedSince.IsZero() {
			line("Muted", "since %s; the mute has ended and the problem still stands", stamp(n.MutedSince))
		}
		line("Failing since", "%s (%d failing run(s))", stamp(f.since), max(n.Failures, 1))
		line("What happened", "%s", cutChars(unlinked(f.detail), 1000))
	}
	line("Last successful backup", "%s", optionalStamp(v.LastBackup, "unknown"))
	line("Next backup due", "%s", optionalStamp(v.NextDue, "unknown"))

	c := ChatNotice{
		Version: ChatVersion,
		Source:  ChatSource,
		Content: ChatContent{
			TextType:    "client-markdown",
			Title:       cutChars(title, MaxChatTitle),
			Description: cutChars(b.String(), MaxChatDescription),
			Keywords:    []string{string(f.severity), string(f.reason), string(kind)},
		},
		Metadata: ChatMetadata{
			ThreadID:  ThreadID(v.Portal, f.reason),
			Summary:   cutChars(composeSMS(v, n, f.severity, f.reason, f.since), maxChatSummary),
			EventType: "docspace-backup-" + string(kind),
			AdditionalContext: map[string]string{
				"portal":    v.Portal,
				"reason":    string(f.reason),
				"severity":  string(f.severity),
				"kind":      string(kind),
				"since":     stamp(f.since),
				"checkedAt": stamp(v.At),
				"failures":  strconv.Itoa(max(n.Failures, 1)),
			},
		},
	}
	if step := nextSteps[f.reason]; kind != alertstate.Resolved && step != "" {
		c.Content.NextSteps = []string{cutChars(step, maxChatStep)}
	}
	extra := c.Metadata.AdditionalContext
	if v.LastBackup != nil {
		extra["lastBackup"] = stamp(*v.LastBackup)
	}
	if v.NextDue != nil {
		extra["nextDue"] = stamp(*v.NextDue)
	}
	if n.Late {
		extra["dueAt"] = stamp(n.DueAt)
	}
	if !n.MutedSince.IsZero() {
		extra["mutedSince"] = stamp(n.MutedSince)
	}
	for k, s := range extra {
		extra[k] = cutChars(s, maxChatContext)
	}
	for i, k := range c.Content.Keywords {
		c.Content.Keywords[i] = cutChars(k, maxChatKeyword)
	}
	return c
}

// JSON returns the notice's JSON document, with <, > and & as they are
// (markdown, not HTML).
func (c ChatNotice) JSON() string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil {
		// Only strings and maps of strings: Encode cannot fail.
		panic(fmt.Sprintf("encode chat notice: %v", err))
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// facts are what every channel of a notice says, worked out once.
type facts struct {
	reason   backupcheck.Reason
	severity Severity
	since    time.Time
	detail   string
}

// factsOf returns the facts of notice n about verdict v: its reason (v's
// when n names none), severity, the start of the failing streak and
// "what happened".
func factsOf(v backupcheck.Verdict, n alertstate.Notice) facts {
	f := facts{reason: backupcheck.Reason(n.Reason)}
	if f.reason == "" {
		f.reason = v.Reason
	}
	f.severity = SeverityOf(f.reason)
	if n.Kind == alertstate.Resolved {
		f.severity = Resolved
	}
	f.since = n.Since
	if f.since.IsZero() {
		f.since = v.At
	}
	f.detail = v.Detail
	if p, ok := v.Problem(f.reason); ok {
		f.detail = p.Detail
	} else if n.Kind != alertstate.Resolved && n.Reason != "" {
		f.detail = fmt.Sprintf("this run could not judge %s (now: %s: %s)", f.reason, v.Reason, v.Detail)
	}
	return f
}

// unlinked keeps text that came from a portal (an error message) from
// becoming a link or a mention in chat markdown (Slack's <url|text>,
// <!channel>): angle brackets become look-alikes.
func unlinked(s string) string {
	return strings.NewReplacer("<", "‹", ">", "›").Replace(s)
}

// cutChars cuts s to at most n characters (runes), marking a cut with an
// ellipsis, and replaces invalid UTF-8.
func cutChars(s string, n int) string {
	s = strings.ToValidUTF8(s, "?")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
