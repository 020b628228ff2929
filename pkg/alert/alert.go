// Package alert composes and publishes backup alerts to an SNS topic.
//
// Composing is a pure function of a verdict and a notice (alert, reminder
// or resolved), one builder per channel from the same facts; publishing
// sends one SNS message with MessageStructure json, so that email
// subscribers get the full text, SMS subscribers one short GSM-7 segment,
// https and http subscribers (Amazon Q Developer in chat applications,
// webhooks) a custom-notification JSON document (see [ChatNotice]), and
// every other protocol (SQS, Lambda) the "default" text. Message
// attributes portal, reason, severity and kind let subscribers filter,
// for example SMS only for severity "critical".
package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/alertstate"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/backupcheck"
)

// MaxSubjectLen is SNS's limit on an email subject.
const MaxSubjectLen = 99

// MaxSMSLen is one GSM-7 SMS segment.
const MaxSMSLen = 160

// Severity ranks a notice for subscribers' filter policies.
type Severity string

// Severities.
const (
	// Critical: backups are not happening or cannot be watched at all.
	Critical Severity = "critical"
	// Warning: something is off that may pass by itself or does not prove
	// backups stopped (the portal unreachable, a bad answer, the
	// paid-backup switch off).
	Warning Severity = "warning"
	// Resolved: a notified problem is gone.
	Resolved Severity = "resolved"
)

// SeverityOf returns the severity of a failing reason.
func SeverityOf(r backupcheck.Reason) Severity {
	switch r {
	case backupcheck.Unreachable, backupcheck.BadResponse, backupcheck.ServiceInactive, backupcheck.BackupWarning, backupcheck.PortalBusy:
		return Warning
	default:
		return Critical
	}
}

// Message is one notice ready to publish.
type Message struct {
	Subject string
	// Email is the full text: portal, reason, since when, last successful
	// backup, next due, what to do, and the raw state.
	Email string
	// SMS is one GSM-7 segment of at most MaxSMSLen characters.
	SMS string
	// Default goes to every other protocol (SQS, Lambda); it is the full
	// text.
	Default string
	// Chat goes to https and http subscribers: the JSON of a ChatNotice,
	// which Amazon Q Developer in chat applications shows in Slack or
	// Microsoft Teams, and which a webhook receives as it is.
	Chat     string
	Kind     alertstate.Kind
	Severity Severity
	Reason   backupcheck.Reason
	Portal   string
}

var nextSteps = map[backupcheck.Reason]string{
	backupcheck.ServiceInactive:    "Nothing is broken yet: on this cloud portal automatic backups use the free backups left this month. To keep them running after that, switch on paid backups in the portal's Settings > Backup (wallet). If the portal is in fact self-hosted, set its selfHosted option.",
	backupcheck.PermissionDenied:   "Check the API key in Secrets Manager: 401 means the key is wrong, expired or not sent as a Bearer token; a 403 with a message means its user is not owner or admin; an empty 403 on an active portal means the key's scopes lack *:read (create a key with *:read or no scopes); a 403 with an HTML page comes from a firewall or proxy in front of the portal, which must let the watcher through. Until this is fixed the watcher cannot see the backups at all.",
	backupcheck.IPRestricted:       "The portal's IP restriction (Settings > Security > IP security) refuses the watcher's address: allow the function's egress address (a NAT gateway's Elastic IP), or the watcher cannot see the backups at all.",
	backupcheck.PortalSuspended:    "The portal answers as suspended or being removed (an empty 404): check its tariff and status with the provider. A suspended portal makes no backups.",
	backupcheck.PortalBusy:         "The portal is being restored, transferred or encrypted and refuses the backup routes meanwhile: nothing to do unless it lasts for hours; then look at the restore or transfer in the portal.",
	backupcheck.BackupWarning:      "Open Settings > Backup: the last backup finished with a warning (such as missing files), so it is incomplete. Look at the files it names, then start a backup by hand.",
	backupcheck.PaymentRequired:    "The portal answers 402 Payment required: check the portal's billing. DocSpace deletes the backup schedule after a billing failure.",
	backupcheck.NoSchedule:         "Open Settings > Backup > Automatic backup and set the schedule up again; if it vanished by itself, check the portal's payments first.",
	backupcheck.BackupStale:        "Open Settings > Backup. If jobs are still queued (see above), no backup lands: check the storage's free space and credentials. If no job is queued, the scheduler skips the portal because its tariff is overdue: check the payments. Then start a backup by hand.",
	backupcheck.BackupFailed:       "Open Settings > Backup: the last backup job failed. Fix the storage the error names, then start a backup by hand and watch it finish.",
	backupcheck.Unreachable:        "The portal did not answer after retries, or kept answering 429 (rate limited) or 5xx: What happened says which. Check that it is up and reachable from AWS; for 429, spread the checks out (a longer schedule, fewer portals per run, a lower MaxConcurrency) or raise the portal's rate limit.",
	backupcheck.StorageUnavailable: "The server cannot reach the backup storage named above (What happened has the storage's own message): fix its credentials (access key, secret or token) or its network in the portal's Settings > Backup > Automatic backup, then start a backup by hand and watch it finish.",
	backupcheck.BackupStuck:        "A backup job is stuck Running and the scheduler drops new jobs until it ends (up to 24 h): ask the provider (ONLYOFFICE support) to restart the portal's backup service, then start a backup by hand.",
	backupcheck.BadResponse:        "The portal answered with something that is not the DocSpace API (a login proxy page, an old server without the route, broken JSON, or a redirect to another address, which the key does not follow): check the portal URL and the proxy in front of it.",
}

// Compose builds the message for notice n about verdict v, the verdict of
// the run that produced the notice. "What happened" is the detail of v's
// problem of n.Reason. For a Resolved notice, n.Reason is the problem that
// went away and v is the portal's state now. A late notice (one an earlier
// run could not deliver) says so and when it was due.
func Compose(v backupcheck.Verdict, n alertstate.Notice) Message {
	f := factsOf(v, n)
	reason, since, detail := f.reason, f.since, f.detail
	m := Message{Kind: n.Kind, Reason: reason, Portal: v.Portal, Severity: f.severity}

	var subject string
	switch n.Kind {
	case alertstate.Resolved:
		subject = fmt.Sprintf("DocSpace backup resolved: %s on %s", reason, v.Portal)
	case alertstate.Reminder:
		subject = fmt.Sprintf("DocSpace backup still failing: %s on %s", reason, v.Portal)
	default:
		subject = fmt.Sprintf("DocSpace backup %s: %s on %s", m.Severity, reason, v.Portal)
	}
	if n.Late {
		subject = "[late] " + subject
	}
	m.Subject = truncate(asciiOnly(subject), MaxSubjectLen)

	var b strings.Builder
	fmt.Fprintf(&b, "Portal: %s\n", v.Portal)
	if n.Late {
		fmt.Fprintf(&b, "Late: this notice was due at %s; an earlier run could not deliver it\n", stamp(n.DueAt))
	}
	if n.Kind == alertstate.Resolved {
		fmt.Fprintf(&b, "Resolved: %s\n", reason)
		fmt.Fprintf(&b, "It was failing since: %s (%d failing run(s))\n", stamp(since), n.Failures)
		fmt.Fprintf(&b, "Now: %s at %s\n", v.Reason, stamp(v.At))
		if v.Detail != "" {
			fmt.Fprintf(&b, "Current state: %s\n", v.Detail)
		}
	} else {
		fmt.Fprintf(&b, "Problem: %s (severity %s)\n", reason, m.Severity)
		if n.Kind == alertstate.Reminder {
			fmt.Fprintf(&b, "Reminder: still failing; previous notice at %s\n", stamp(n.LastNotified))
		}
		if !n.MutedSince.IsZero() {
			fmt.Fprintf(&b, "Muted: the portal was muted since %s; the mute has ended and the problem still stands\n", stamp(n.MutedSince))
		}
		fmt.Fprintf(&b, "Failing since: %s (%d failing run(s))\n", stamp(since), max(n.Failures, 1))
		fmt.Fprintf(&b, "Checked at: %s\n", stamp(v.At))
		fmt.Fprintf(&b, "What happened: %s\n", detail)
	}
	fmt.Fprintf(&b, "Last successful backup: %s\n", optionalStamp(v.LastBackup, "unknown"))
	fmt.Fprintf(&b, "Next backup due: %s\n", optionalStamp(v.NextDue, "unknown"))
	if n.Kind != alertstate.Resolved {
		fmt.Fprintf(&b, "What to do: %s\n", NextStepFor(v, reason))
	}
	fmt.Fprintf(&b, "Raw state: %s\n", rawState(v))
	m.Email = b.String()
	m.Default = m.Email
	m.SMS = composeSMS(v, n, m.Severity, reason, since)
	m.Chat = Chat(v, n).JSON()
	return m
}

func composeSMS(v backupcheck.Verdict, n alertstate.Notice, sev Severity, reason backupcheck.Reason, since time.Time) string {
	var s string
	switch n.Kind {
	case alertstate.Resolved:
		s = fmt.Sprintf("RESOLVED DocSpace backup %s on %s (failing since %s)", reason, v.Portal, since.UTC().Format("Jan 2 15:04 UTC"))
	default:
		word := strings.ToUpper(string(sev))
		if n.Kind == alertstate.Reminder {
			word += " STILL"
		}
		if n.Late {
			word = "LATE " + word
		}
		s = fmt.Sprintf("%s DocSpace backup %s on %s since %s", word, reason, v.Portal, since.UTC().Format("Jan 2 15:04 UTC"))
		if v.LastBackup != nil {
			s += ". Last backup " + v.LastBackup.UTC().Format("Jan 2 15:04")
		}
	}
	return truncate(gsm7Only(s), MaxSMSLen)
}

func rawState(v backupcheck.Verdict) string {
	var parts []string
	if v.Enabled != nil {
		parts = append(parts, fmt.Sprintf(`{"enabled":%t}`, *v.Enabled))
	}
	if v.Schedule != nil {
		parts = append(parts, fmt.Sprintf("schedule %s at hour %d (day %d)", v.Schedule.Period, v.Schedule.Hour, v.Schedule.Day))
	}
	if len(parts) == 0 {
		parts = append(parts, "no valid answer")
	}
	return fmt.Sprintf("%s; HTTP %d, %d request(s)", strings.Join(parts, "; "), v.Result.StatusCode, v.Result.Attempts)
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func optionalStamp(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return stamp(*t)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func asciiOnly(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
}

// gsm7Only keeps the characters of the GSM-7 basic set that ASCII shares,
// so that a message costs one septet a character: the extension characters
// [ \ ] ^ { | } ~ take two, and anything else (emoji, accents) would switch
// the whole SMS to UCS-2 and 70 characters a segment.
func gsm7Only(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		case strings.ContainsRune(" !\"#$%&'()*+,-./:;<=>?@_", r):
			return r
		default:
			return '?'
		}
	}, s)
}

// structure is the MessageStructure json body: one text per protocol.
func (m Message) structure() map[string]string {
	st := map[string]string{"default": m.Default, "email": m.Email, "sms": m.SMS}
	if m.Chat != "" {
		st["https"], st["http"] = m.Chat, m.Chat
	}
	return st
}

// Publisher is the part of *sns.Client that alerting needs.
type Publisher interface {
	Publish(ctx context.Context, params *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

var _ Publisher = (*sns.Client)(nil)

// Publish sends m to topicARN as one message with MessageStructure json
// (keys default, email, sms, https and http) and the message attributes portal, reason,
// severity and kind, after cutting it to SNS's limits (see Bounded). It
// returns the SNS message id.
func Publish(ctx context.Context, p Publisher, topicARN string, m Message) (string, error) {
	m = m.Bounded()
	body, err := json.Marshal(m.structure())
	if err != nil {
		return "", fmt.Errorf("encode alert: %w", err)
	}
	str := func(s string) snstypes.MessageAttributeValue {
		return snstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(s)}
	}
	kind := string(m.Kind)
	if kind == "" {
		kind = string(alertstate.Alert)
	}
	out, err := p.Publish(ctx, &sns.PublishInput{
		TopicArn:         aws.String(topicARN),
		Subject:          aws.String(m.Subject),
		Message:          aws.String(string(body)),
		MessageStructure: aws.String("json"),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{
			"portal":   str(m.Portal),
			"reason":   str(string(m.Reason)),
			"severity": str(string(m.Severity)),
			"kind":     str(kind),
		},
	})
	if err != nil {
		return "", fmt.Errorf("publish %s for %s (%s) to %s: %w", kind, m.Portal, m.Reason, topicARN, err)
	}
	return aws.ToString(out.MessageId), nil
}
