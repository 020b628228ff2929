package alert

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/alertstate"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/backupcheck"
)

type capturePublisher struct{ in *sns.PublishInput }

func (c *capturePublisher) Publish(_ context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	c.in = in
	return &sns.PublishOutput{MessageId: aws.String("id")}, nil
}

// TestPublishStaysDeliverable: a verdict whose detail is 600 KB of text
// that JSON escapes six times over, with a long non-ASCII portal name,
// still makes a message SNS accepts.
func TestPublishStaysDeliverable(t *testing.T) {
	for name, detail := range map[string]string{
		"plain":           strings.Repeat("x", 600_000),
		"control chars":   strings.Repeat("\x01", 600_000),
		"non-ASCII":       strings.Repeat("ü€", 200_000),
		"HTML characters": strings.Repeat("<&>", 200_000),
	} {
		v := staleVerdict("xn--bcher-kva.example/" + strings.Repeat("p", 2000))
		v.Detail = detail
		v.Problems = []backupcheck.Problem{{Reason: backupcheck.BackupStale, Detail: detail}}
		for _, kind := range []alertstate.Kind{alertstate.Alert, alertstate.Reminder, alertstate.Resolved} {
			var c capturePublisher
			if _, err := Publish(context.Background(), &c, "arn:aws:sns:us-east-1:1:t", Compose(v, alertstate.Notice{Kind: kind, Reason: string(backupcheck.BackupStale), Since: since})); err != nil {
				t.Fatal(err)
			}
			size := len(aws.ToString(c.in.Message))
			for k, a := range c.in.MessageAttributes {
				size += len(k) + len(aws.ToString(a.StringValue)) + len(aws.ToString(a.DataType))
			}
			if size > MaxMessageBytes {
				t.Errorf("%s, %s: message and attributes are %d bytes, over SNS's %d", name, kind, size, MaxMessageBytes)
			}
			if subj := aws.ToString(c.in.Subject); len(subj) > MaxSubjectLen || len(subj) == 0 || strings.ContainsFunc(subj, func(r rune) bool { return r < 0x20 || r > 0x7e }) {
				t.Errorf("%s, %s: subject %q is not 1-%d printable ASCII characters", name, kind, subj, MaxSubjectLen)
			}
			if !strings.Contains(aws.ToString(c.in.Message), "(cut to fit SNS)") {
				t.Errorf("%s, %s: the message does not say it was cut", name, kind)
			}
		}
	}
}

func TestBoundedKeepsSmallMessages(t *testing.T) {
	m := Compose(staleVerdict("portal.example.com"), alertstate.Notice{Kind: alertstate.Alert, Reason: string(backupcheck.BackupStale), Since: since})
	if b := m.Bounded(); b != m {
		t.Errorf("Bounded() changed a small message:\n%+v\nwant\n%+v", b, m)
	}
	m.SMS = strings.Repeat("é{", 200)
	if b := m.Bounded(); utf8.RuneCountInString(b.SMS) > MaxSMSLen || strings.ContainsAny(b.SMS, "é{") {
		t.Errorf("Bounded() SMS = %q, want one GSM-7 segment", b.SMS)
	}
}

func TestUnreachableAdviceCoversRateLimits(t *testing.T) {
	v := staleVerdict("portal.example.com")
	v.Reason, v.Detail = backupcheck.Unreachable, "docspace: GET /api/2.0/backup/getservicestate: 429 Too Many Requests (rate limited: ...)"
	m := Compose(v, alertstate.Notice{Kind: alertstate.Alert, Reason: string(backupcheck.Unreachable), Since: since})
	if !strings.Contains(m.Email, "429") || !strings.Contains(m.Email, "rate limit") {
		t.Errorf("unreachable alert does not say what to do about a 429:\n%s", m.Email)
	}
}
