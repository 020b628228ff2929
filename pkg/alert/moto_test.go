package alert

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/docspace-backup-watch/docspace-backup-watch/internal/localrun"
	"github.com/docspace-backup-watch/docspace-backup-watch/internal/motoserver"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/alertstate"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/backupcheck"
)

// TestFilterPolicyRoutesBySeverity publishes a critical alert, a warning
// and a resolved notice, and checks what each subscribed queue receives:
// one with a filter policy for critical only (as an SMS subscription would
// have), one for critical and resolved, and one with no policy.
func TestFilterPolicyRoutesBySeverity(t *testing.T) {
	cfg := motoserver.AWSConfig(motoserver.Start(t))
	ctx := context.Background()
	snsClient, sqsClient := sns.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	topic, err := snsClient.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("alerts")})
	if err != nil {
		t.Fatalf("CreateTopic() error = %v", err)
	}
	topicARN := aws.ToString(topic.TopicArn)
	queues := map[string]string{}
	for name, policy := range map[string]string{
		"critical-only":         `{"severity":["critical"]}`,
		"critical-and-resolved": `{"severity":["critical","resolved"]}`,
		"everything":            "",
	} {
		if queues[name], err = localrun.Subscribe(ctx, cfg, topicARN, name, policy); err != nil {
			t.Fatal(err)
		}
	}

	stale := staleVerdict("portal.example.com")
	sent := []Message{
		Compose(stale, alertstate.Notice{Kind: alertstate.Alert, Reason: "backup_stale", Since: since, Failures: 1}),
		Compose(backupcheck.Verdict{Portal: "other.example.com", Reason: backupcheck.Unreachable, At: at}, alertstate.Notice{Kind: alertstate.Alert}),
		Compose(backupcheck.Verdict{Portal: "portal.example.com", Reason: backupcheck.Healthy, At: at}, alertstate.Notice{Kind: alertstate.Resolved, Reason: "backup_stale", Since: since}),
	}
	for _, m := range sent {
		if _, err := Publish(ctx, snsClient, topicARN, m); err != nil {
			t.Fatalf("Publish(%s) error = %v", m.Subject, err)
		}
	}

	want := map[string][]Severity{
		"critical-only":         {Critical},
		"critical-and-resolved": {Critical, Resolved},
		"everything":            {Critical, Warning, Resolved},
	}
	for name, severities := range want {
		got, err := localrun.ReceiveAlerts(ctx, sqsClient, queues[name], time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(severities) {
			t.Errorf("queue %s received %d messages %+v, want %v", name, len(got), got, severities)
			continue
		}
		for _, a := range got {
			var m *Message
			for i := range sent {
				if sent[i].Subject == a.Subject {
					m = &sent[i]
				}
			}
			if m == nil {
				t.Errorf("queue %s received an unknown message %q", name, a.Subject)
				continue
			}
			if !slices.Contains(severities, Severity(a.Attributes["severity"])) {
				t.Errorf("queue %s received severity %s, want only %v", name, a.Attributes["severity"], severities)
			}
			// SQS subscribers get the "default" text of the JSON structure.
			if a.Message != m.Default || a.Attributes["portal"] != m.Portal || a.Attributes["reason"] != string(m.Reason) || a.Attributes["kind"] != string(m.Kind) {
				t.Errorf("queue %s received %+v, want the default text and attributes of %q", name, a, m.Subject)
			}
		}
	}
}

// TestPublishSendsJSONStructure checks the request itself: the SMS and
// email texts travel in one message with MessageStructure json.
func TestPublishSendsJSONStructure(t *testing.T) {
	var got *sns.PublishInput
	p := publisherFunc(func(in *sns.PublishInput) { got = in })
	m := Compose(staleVerdict("portal.example.com"), alertstate.Notice{Kind: alertstate.Alert, Reason: "backup_stale", Since: since})
	if _, err := Publish(context.Background(), p, "arn:aws:sns:us-east-1:123456789012:t", m); err != nil {
		t.Fatal(err)
	}
	var structure map[string]string
	if err := json.Unmarshal([]byte(aws.ToString(got.Message)), &structure); err != nil || aws.ToString(got.MessageStructure) != "json" {
		t.Fatalf("Publish() message %q, structure %q: want JSON with MessageStructure json", aws.ToString(got.Message), aws.ToString(got.MessageStructure))
	}
	if structure["default"] != m.Default || structure["email"] != m.Email || structure["sms"] != m.SMS {
		t.Errorf("Publish() structure = %v, want default, email and sms", structure)
	}
}

type publisherFunc func(*sns.PublishInput)

func (f publisherFunc) Publish(_ context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	f(in)
	return &sns.PublishOutput{MessageId: aws.String("id-1")}, nil
}
