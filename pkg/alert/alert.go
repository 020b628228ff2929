// Package alert composes and publishes backup alerts to an SNS topic.
package alert

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/backupcheck"
)

// MaxSubjectLen is SNS's limit on an email subject.
const MaxSubjectLen = 99

// Message is one alert ready to publish.
type Message struct {
	Subject string
	Body    string
	Reason  backupcheck.Reason
	Portal  string
}

var nextSteps = map[backupcheck.Reason]string{
	backupcheck.ServiceInactive:  "Open the portal's Settings > Backup and the payments page: the paid-backup service is switched off, so automatic backups may not run.",
	backupcheck.PermissionDenied: "Check the API key in Secrets Manager: 401 means the key is wrong, expired or not sent as a Bearer token; 403 means its user is not owner or admin, or its scopes exclude backup.",
	backupcheck.PaymentRequired:  "The portal answers 402 Payment required: check the portal's billing.",
	backupcheck.Unreachable:      "The portal did not answer after retries: check that it is up and reachable from AWS.",
	backupcheck.BadResponse:      "The portal answered with something that is not the DocSpace API (a login proxy page, an old server without the route, or broken JSON): check the portal URL and the proxy in front of it.",
}

// Compose builds the alert for an unhealthy verdict. It is a pure function.
func Compose(v backupcheck.Verdict) Message {
	subject := asciiOnly(fmt.Sprintf("DocSpace backup alert: %s on %s", v.Reason, v.Portal))
	if len(subject) > MaxSubjectLen {
		subject = subject[:MaxSubjectLen]
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Portal: %s\n", v.Portal)
	fmt.Fprintf(&b, "Problem: %s\n", v.Reason)
	fmt.Fprintf(&b, "When: %s\n", v.At.Format(time.RFC3339))
	fmt.Fprintf(&b, "What happened: %s\n", v.Detail)
	fmt.Fprintf(&b, "What to do: %s\n", nextSteps[v.Reason])
	state := "unknown (no valid answer)"
	if v.Enabled != nil {
		state = fmt.Sprintf(`{"enabled":%t}`, *v.Enabled)
	}
	fmt.Fprintf(&b, "Raw state: %s (HTTP %d, %d attempt(s))\n", state, v.Result.StatusCode, v.Result.Attempts)
	return Message{Subject: subject, Body: b.String(), Reason: v.Reason, Portal: v.Portal}
}

func asciiOnly(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
}

// Publisher is the part of *sns.Client that alerting needs.
type Publisher interface {
	Publish(ctx context.Context, params *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

var _ Publisher = (*sns.Client)(nil)

// Publish sends m to topicARN with "portal" and "reason" message
// attributes, and returns the SNS message id.
func Publish(ctx context.Context, p Publisher, topicARN string, m Message) (string, error) {
	out, err := p.Publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(topicARN),
		Subject:  aws.String(m.Subject),
		Message:  aws.String(m.Body),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{
			"portal": {DataType: aws.String("String"), StringValue: aws.String(m.Portal)},
			"reason": {DataType: aws.String("String"), StringValue: aws.String(string(m.Reason))},
		},
	})
	if err != nil {
		return "", fmt.Errorf("publish alert to %s: %w", topicARN, err)
	}
	return aws.ToString(out.MessageId), nil
}
