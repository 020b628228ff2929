package fleet

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/docspace-backup-watch/docspace-backup-watch/internal/motoserver"
)

// TestDispatchMoto queues 37 jobs in moto_server and reads every one back,
// once.
func TestDispatchMoto(t *testing.T) {
	ctx := context.Background()
	client := sqs.NewFromConfig(motoserver.AWSConfig(motoserver.Start(t)))
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("checks")})
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDispatcher(client, aws.ToString(q.QueueUrl))
	if err != nil {
		t.Fatal(err)
	}
	in := jobs(37)
	if sent, err := d.Dispatch(ctx, in); err != nil || sent.Messages != 37 || sent.Calls != 4 {
		t.Fatalf("Dispatch() = %+v, %v, want 37 messages in 4 calls", sent, err)
	}
	var got []string
	for {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			break
		}
		for _, m := range out.Messages {
			j, err := DecodeJob(aws.ToString(m.Body))
			if err != nil {
				t.Fatalf("DecodeJob() error = %v", err)
			}
			got = append(got, j.SecretID)
		}
	}
	var want []string
	for _, j := range in {
		want = append(want, j.SecretID)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("received %d messages, want the 37 jobs once each", len(got))
	}
}
