package localrun

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// CheckQueue is the fan-out queue as template.yaml makes it: a queue whose
// messages move to a dead-letter queue after MaxReceiveCount receives.
// With it, a test plays the event source mapping against moto_server:
// ReceiveBatch takes a batch as the mapping would, Settle does with the
// function's answer what the mapping does.
type CheckQueue struct {
	URL, ARN        string
	DLQURL          string
	MaxReceiveCount int
	client          *sqs.Client
}

// CreateCheckQueue creates queue name and its dead-letter queue
// name+"-dlq", with maxReceiveCount receives before a message moves.
func CreateCheckQueue(ctx context.Context, cfg aws.Config, name string, maxReceiveCount int) (*CheckQueue, error) {
	client := sqs.NewFromConfig(cfg)
	dlq, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name + "-dlq")})
	if err != nil {
		return nil, fmt.Errorf("create dead-letter queue: %w", err)
	}
	dlqARN, err := queueARN(ctx, client, aws.ToString(dlq.QueueUrl))
	if err != nil {
		return nil, err
	}
	redrive := fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"%d"}`, dlqARN, maxReceiveCount)
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: map[string]string{"RedrivePolicy": redrive, "VisibilityTimeout": "300"}})
	if err != nil {
		return nil, fmt.Errorf("create queue: %w", err)
	}
	arn, err := queueARN(ctx, client, aws.ToString(q.QueueUrl))
	if err != nil {
		return nil, err
	}
	return &CheckQueue{URL: aws.ToString(q.QueueUrl), ARN: arn, DLQURL: aws.ToString(dlq.QueueUrl), MaxReceiveCount: maxReceiveCount, client: client}, nil
}

func queueARN(ctx context.Context, client *sqs.Client, url string) (string, error) {
	attrs, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return "", fmt.Errorf("queue ARN: %w", err)
	}
	return attrs.Attributes["QueueArn"], nil
}

// ReceiveBatch receives up to n (at most 10) messages without waiting and
// returns them as the SQS event the event source mapping would send; an
// empty event means the queue had none visible.
func (q *CheckQueue) ReceiveBatch(ctx context.Context, n int) (events.SQSEvent, error) {
	return receiveEvent(ctx, q.client, q.URL, q.ARN, n)
}

// DeadLetters receives what is visible in the dead-letter queue.
func (q *CheckQueue) DeadLetters(ctx context.Context) (events.SQSEvent, error) {
	return receiveEvent(ctx, q.client, q.DLQURL, "", 10)
}

func receiveEvent(ctx context.Context, client *sqs.Client, url, arn string, n int) (events.SQSEvent, error) {
	out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(url),
		MaxNumberOfMessages:         int32(min(n, 10)),
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
	})
	if err != nil {
		return events.SQSEvent{}, fmt.Errorf("receive messages: %w", err)
	}
	ev := events.SQSEvent{Records: []events.SQSMessage{}}
	for _, m := range out.Messages {
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId:      aws.ToString(m.MessageId),
			ReceiptHandle:  aws.ToString(m.ReceiptHandle),
			Body:           aws.ToString(m.Body),
			Md5OfBody:      aws.ToString(m.MD5OfBody),
			Attributes:     m.Attributes,
			EventSource:    "aws:sqs",
			EventSourceARN: arn,
			AWSRegion:      "us-east-1",
		})
	}
	return ev, nil
}

// Settle does with the function's answer to ev what the event source
// mapping with ReportBatchItemFailures does: it deletes every message not
// reported failed, and leaves the failed ones on the queue. The mapping
// lets a failed message come back when its visibility timeout ends; Settle
// makes it visible at once instead, so that a test needs no wait. A failed
// function (an error, not a batch item failure) deletes nothing. It
// returns the failed messages' ids.
func (q *CheckQueue) Settle(ctx context.Context, ev events.SQSEvent, failures []events.SQSBatchItemFailure, functionFailed bool) ([]string, error) {
	failed := map[string]bool{}
	for _, f := range failures {
		failed[f.ItemIdentifier] = true
	}
	var ids []string
	for _, m := range ev.Records {
		if functionFailed || failed[m.MessageId] {
			ids = append(ids, m.MessageId)
			if _, err := q.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(q.URL), ReceiptHandle: aws.String(m.ReceiptHandle), VisibilityTimeout: 0}); err != nil {
				return ids, fmt.Errorf("return message %s: %w", m.MessageId, err)
			}
			continue
		}
		if _, err := q.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(q.URL), ReceiptHandle: aws.String(m.ReceiptHandle)}); err != nil {
			return ids, fmt.Errorf("delete message %s: %w", m.MessageId, err)
		}
	}
	return ids, nil
}

// Send puts a raw body on the queue, as a hostile or broken sender might.
func (q *CheckQueue) Send(ctx context.Context, body string) (string, error) {
	out, err := q.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String(body)})
	if err != nil {
		return "", fmt.Errorf("send message: %w", err)
	}
	return aws.ToString(out.MessageId), nil
}

// ReceiveCount is the ApproximateReceiveCount of a received message.
func ReceiveCount(m events.SQSMessage) int {
	n, _ := strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
	return n
}
