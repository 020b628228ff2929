package alert

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/docspace-backup-watch/docspace-backup-watch/internal/motoserver"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/backupcheck"
)

func TestPublishArrivesInSubscribedQueue(t *testing.T) {
	cfg := motoserver.AWSConfig(motoserver.Start(t))
	ctx := context.Background()
	snsClient, sqsClient := sns.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	topic, err := snsClient.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("alerts")})
	if err != nil {
		t.Fatalf("CreateTopic() error = %v", err)
	}
	queue, err := sqsClient.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("alerts-q")})
	if err != nil {
		t.Fatalf("CreateQueue() error = %v", err)
	}
	queueARN := "arn:aws:sqs:us-east-1:123456789012:alerts-q"
	if _, err := snsClient.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String(queueARN)}); err != nil {
		t.Fatalf("Subscribe() error = %v", err)
	}
	off := false
	m := Compose(backupcheck.Verdict{Portal: "portal.example.com", Reason: backupcheck.ServiceInactive, At: time.Now(), Enabled: &off})
	if _, err := Publish(ctx, snsClient, aws.ToString(topic.TopicArn), m); err != nil {
		t.Fatalf("Publish() error = %v", err)
	}
	out, err := sqsClient.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: queue.QueueUrl, WaitTimeSeconds: 2})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("ReceiveMessage() = %d messages, %v; want 1", len(out.Messages), err)
	}
	var envelope struct {
		Subject           string
		Message           string
		MessageAttributes map[string]struct{ Value string }
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.Messages[0].Body)), &envelope); err != nil {
		t.Fatalf("SNS envelope: %v", err)
	}
	if envelope.Subject != m.Subject || envelope.Message != m.Body {
		t.Errorf("received subject, body = %q, %q; want %q, %q", envelope.Subject, envelope.Message, m.Subject, m.Body)
	}
	if envelope.MessageAttributes["reason"].Value != "service_inactive" || envelope.MessageAttributes["portal"].Value != "portal.example.com" {
		t.Errorf("received attributes = %+v, want reason and portal", envelope.MessageAttributes)
	}
}
