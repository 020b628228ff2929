// Command sdkfloor is the bench's floor for the function's Init: the no-op
// handler of bench/cmd/noop, but linking and building the five AWS SDK
// service clients the function builds at its start (Secrets Manager, SSM,
// SNS, DynamoDB, SQS) and nothing of its own. Go runs every linked
// package's initialisation before main, so its Init is what those clients
// cost before any line of the function runs (bench/cmd/bench).
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

func main() {
	cfg := aws.Config{Region: "us-east-1"}
	clients := []any{
		secretsmanager.NewFromConfig(cfg), ssm.NewFromConfig(cfg), sns.NewFromConfig(cfg),
		dynamodb.NewFromConfig(cfg), sqs.NewFromConfig(cfg),
	}
	lambda.Start(func(context.Context) (int, error) { return len(clients), nil })
}
