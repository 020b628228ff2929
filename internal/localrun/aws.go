package localrun

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// Stack is the AWS side of a local run, created in moto_server.
type Stack struct {
	SecretARN string
	TopicARN  string
	QueueURL  string
	// StateTable is the DynamoDB alert state table.
	StateTable string

	sqs *sqs.Client
}

// StackOption changes what CreateStack creates.
type StackOption func(*stackOptions)

type stackOptions struct{ portalURL string }

// BoundTo binds the stack's secret to the portal at portalURL: the secret
// is {"portalUrl": portalURL, "apiKey": key}, whose key the function sends
// to that portal (and the paths under it) alone. Without it the secret is
// a bare key, which the function sends only to its PORTAL_URL.
func BoundTo(portalURL string) StackOption {
	return func(o *stackOptions) { o.portalURL = portalURL }
}

// CreateStack creates a JSON secret {"apiKey": key} named name+"/api-key"
// (with "portalUrl" when BoundTo is given), an SNS topic, an SQS queue
// subscribed to the topic, and the alert state table name+"-state".
func CreateStack(ctx context.Context, cfg aws.Config, name, key string, opts ...StackOption) (*Stack, error) {
	var o stackOptions
	for _, opt := range opts {
		opt(&o)
	}
	sm, sn, sq := secretsmanager.NewFromConfig(cfg), sns.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	value := map[string]string{"apiKey": key}
	if o.portalURL != "" {
		value["portalUrl"] = o.portalURL
	}
	secretValue, _ := json.Marshal(value)
	secret, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name + "/api-key"), SecretString: aws.String(string(secretValue))})
	if err != nil {
		return nil, fmt.Errorf("create secret: %w", err)
	}
	topic, err := sn.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name + "-alerts")})
	if err != nil {
		return nil, fmt.Errorf("create topic: %w", err)
	}
	queueURL, err := Subscribe(ctx, cfg, aws.ToString(topic.TopicArn), name+"-inbox", "")
	if err != nil {
		return nil, err
	}
	table := name + "-state"
	if err := CreateStateTable(ctx, dynamodb.NewFromConfig(cfg), table); err != nil {
		return nil, err
	}
	return &Stack{SecretARN: aws.ToString(secret.ARN), TopicARN: aws.ToString(topic.TopicArn), QueueURL: queueURL, StateTable: table, sqs: sq}, nil
}

// CreateStateTable creates the alert state table as template.yaml does:
// keys portal (hash) and reason (range), on-demand, TTL on expiresAt. The
// names are pkg/alertstate's PortalKey, ReasonKey and TTLAttribute, whose
// moto tests create their table here.
func CreateStateTable(ctx context.Context, client *dynamodb.Client, table string) error {
	_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:   aws.String(table),
		BillingMode: ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{
			{AttributeName: aws.String("portal"), AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String("reason"), AttributeType: ddbtypes.ScalarAttributeTypeS},
		},
		KeySchema: []ddbtypes.KeySchemaElement{
			{AttributeName: aws.String("portal"), KeyType: ddbtypes.KeyTypeHash},
			{AttributeName: aws.String("reason"), KeyType: ddbtypes.KeyTypeRange},
		},
	})
	if err != nil {
		return fmt.Errorf("create table %s: %w", table, err)
	}
	_, err = client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(table),
		TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String("expiresAt"), Enabled: aws.Bool(true)},
	})
	if err != nil {
		return fmt.Errorf("enable TTL on %s: %w", table, err)
	}
	return nil
}

// Subscribe creates queue name and subscribes it to topicARN, with the
// filter policy on message attributes when filterPolicy is not "". It
// returns the queue URL.
func Subscribe(ctx context.Context, cfg aws.Config, topicARN, name, filterPolicy string) (string, error) {
	sn, sq := sns.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	queue, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("create queue: %w", err)
	}
	attrs, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: queue.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return "", fmt.Errorf("queue ARN: %w", err)
	}
	in := &sns.SubscribeInput{TopicArn: aws.String(topicARN), Protocol: aws.String("sqs"), Endpoint: aws.String(attrs.Attributes["QueueArn"])}
	if filterPolicy != "" {
		in.Attributes = map[string]string{"FilterPolicy": filterPolicy}
	}
	if _, err := sn.Subscribe(ctx, in); err != nil {
		return "", fmt.Errorf("subscribe queue: %w", err)
	}
	return aws.ToString(queue.QueueUrl), nil
}

// Alert is one SNS notification as a subscribed queue received it.
type Alert struct {
	Subject    string
	Message    string
	Attributes map[string]string
}

// Alerts receives and deletes what arrived in the stack's queue, waiting up
// to wait for the first message.
func (s *Stack) Alerts(ctx context.Context, wait time.Duration) ([]Alert, error) {
	return ReceiveAlerts(ctx, s.sqs, s.QueueURL, wait)
}

// ReceiveAlerts drains queueURL: it waits up to wait for a first message,
// then takes whatever else is there. moto_server delivers a notice to the
// queue within the SNS Publish call, so once a run has returned, every
// notice it sent is there: drain its notices with a wait of 0.
func ReceiveAlerts(ctx context.Context, client *sqs.Client, queueURL string, wait time.Duration) ([]Alert, error) {
	var alerts []Alert
	waitSeconds := int32(wait / time.Second)
	for {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: waitSeconds})
		if err != nil {
			return alerts, fmt.Errorf("receive alerts: %w", err)
		}
		if len(out.Messages) == 0 {
			return alerts, nil
		}
		waitSeconds = 0
		for _, m := range out.Messages {
			var env struct {
				Subject           string
				Message           string
				MessageAttributes map[string]struct{ Value string }
			}
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &env); err != nil {
				return alerts, fmt.Errorf("alert is not an SNS notification: %w", err)
			}
			a := Alert{Subject: env.Subject, Message: env.Message, Attributes: map[string]string{}}
			for k, v := range env.MessageAttributes {
				a.Attributes[k] = v.Value
			}
			alerts = append(alerts, a)
			if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				return alerts, fmt.Errorf("delete alert: %w", err)
			}
		}
	}
}

// FunctionEnv is the function's environment for a local run against this
// stack in moto_server at motoEndpoint and the portal at portalURL (http
// allowed). Callers add or override variables in the map it returns.
func (s *Stack) FunctionEnv(motoEndpoint, portalURL string) map[string]string {
	return map[string]string{
		"PORTAL_URL":                  portalURL,
		"SECRET_ID":                   s.SecretARN,
		"TOPIC_ARN":                   s.TopicARN,
		"STATE_TABLE":                 s.StateTable,
		"ALLOW_INSECURE_HTTP":         "true",
		"AWS_ENDPOINT_URL":            motoEndpoint,
		"AWS_REGION":                  "us-east-1",
		"AWS_ACCESS_KEY_ID":           "test",
		"AWS_SECRET_ACCESS_KEY":       "test",
		"AWS_LAMBDA_FUNCTION_TIMEOUT": "60",
	}
}

// RegisterPortal registers a portal as an operator does: a secret in the
// bound form {"portalUrl": portalURL, "apiKey": key} named name, carrying
// the tag tagKey=tagValue. It returns the secret's ARN.
func RegisterPortal(ctx context.Context, cfg aws.Config, name, portalURL, key, tagKey, tagValue string) (string, error) {
	value, _ := json.Marshal(map[string]string{"portalUrl": portalURL, "apiKey": key})
	in := &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(string(value))}
	if tagKey != "" {
		in.Tags = []smtypes.Tag{{Key: aws.String(tagKey), Value: aws.String(tagValue)}}
	}
	out, err := secretsmanager.NewFromConfig(cfg).CreateSecret(ctx, in)
	if err != nil {
		return "", fmt.Errorf("register portal %s: %w", name, err)
	}
	return aws.ToString(out.ARN), nil
}

// RegisterParameterPortal registers a portal in Parameter Store as an
// operator does: the parameter name in the bound form {"portalUrl":
// portalURL, "apiKey": key}, a SecureString unless plain (a String: the
// key in plain text, which the function refuses). It returns the
// parameter's ARN, the id the registry lists.
func RegisterParameterPortal(ctx context.Context, cfg aws.Config, name, portalURL, key string, plain bool) (string, error) {
	value, _ := json.Marshal(map[string]string{"portalUrl": portalURL, "apiKey": key})
	typ := ssmtypes.ParameterTypeSecureString
	if plain {
		typ = ssmtypes.ParameterTypeString
	}
	client := ssm.NewFromConfig(cfg)
	if _, err := client.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(string(value)), Type: typ}); err != nil {
		return "", fmt.Errorf("register portal %s: %w", name, err)
	}
	out, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("register portal %s: %w", name, err)
	}
	return aws.ToString(out.Parameter.ARN), nil
}
