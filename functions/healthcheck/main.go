// Command healthcheck is the Lambda function that checks a DocSpace
// portal's backup service and alerts through SNS.
package main

import (
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/alertstate"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/awsenv"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/fleet"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/metrics"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/registry"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/secrets"
)

func main() {
	level := logLevel(os.Getenv)
	logger := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: level}))
	cfg, err := loadConfig(os.Getenv)
	if err != nil {
		logger.Error("cold start failed", "error", err)
		os.Exit(1)
	}
	// The region, the role's credentials and any endpoint come from the
	// environment Lambda sets (pkg/awsenv says why not LoadDefaultConfig).
	awsCfg, err := awsenv.Config(os.Getenv)
	if err != nil {
		logger.Error("cold start failed: load AWS config", "error", err)
		os.Exit(1)
	}
	sm := secretsmanager.NewFromConfig(awsCfg)
	// Keys whose id is a parameter's ARN come from Parameter Store.
	params := ssm.NewFromConfig(awsCfg)
	h := &handler{
		cfg:       cfg,
		keys:      secrets.NewStore(sm, cfg.SecretKeyField, cfg.SecretCacheTTL, secrets.WithParameters(params)),
		publisher: sns.NewFromConfig(awsCfg),
		logger:    logger,
		metrics:   os.Stdout,
		// Lambda drops a JSON line below ApplicationLogLevel: the metric
		// lines carry the function's own level.
		metricsLevel: metrics.LevelFor(level),
		now:          time.Now,
	}
	if cfg.StateTable != "" {
		store, err := alertstate.NewStore(dynamodb.NewFromConfig(awsCfg), cfg.StateTable, cfg.Policy)
		if err != nil {
			logger.Error("cold start failed: alert state", "error", err)
			os.Exit(1)
		}
		h.state = store
	}
	// The listings are cached like the keys, for a warm function.
	var regs registry.All
	if cfg.RegistryTag.Value != "" {
		reg, err := registry.New(sm, cfg.RegistryTag, registry.WithTTL(cfg.SecretCacheTTL), registry.WithPageSize(cfg.RegistryPageSize))
		if err != nil {
			logger.Error("cold start failed: portal registry", "error", err)
			os.Exit(1)
		}
		regs = append(regs, reg)
	}
	if cfg.RegistryParameterPath != "" {
		reg, err := registry.NewParameters(params, cfg.RegistryParameterPath, registry.WithTTL(cfg.SecretCacheTTL), registry.WithPageSize(min(cfg.RegistryPageSize, registry.MaxParameterPageSize)))
		if err != nil {
			logger.Error("cold start failed: portal registry", "error", err)
			os.Exit(1)
		}
		regs = append(regs, reg)
	}
	if len(regs) > 0 {
		h.registry = regs
	}
	if cfg.QueueURL != "" {
		d, err := fleet.NewDispatcher(sqs.NewFromConfig(awsCfg), cfg.QueueURL)
		if err != nil {
			logger.Error("cold start failed: queue", "error", err)
			os.Exit(1)
		}
		h.dispatcher = d
	}
	lambda.Start(h.Handle)
}

// logLevel is the level the function logs at: Lambda's own
// AWS_LAMBDA_LOG_LEVEL (set from LoggingConfig's ApplicationLogLevel, so
// the console's setting is the one that counts), else LOG_LEVEL (local
// runs), else INFO. Lambda's TRACE and FATAL map to the nearest slog
// levels; an unknown value is INFO.
func logLevel(getenv func(string) string) slog.Level {
	for _, name := range []string{"AWS_LAMBDA_LOG_LEVEL", "LOG_LEVEL"} {
		v := strings.ToUpper(strings.TrimSpace(getenv(name)))
		switch v {
		case "":
			continue
		case "TRACE":
			return slog.LevelDebug - 4
		case "FATAL":
			return slog.LevelError + 4
		}
		var l slog.Level
		if err := l.UnmarshalText([]byte(v)); err == nil {
			return l
		}
		return slog.LevelInfo
	}
	return slog.LevelInfo
}
