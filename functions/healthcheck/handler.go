package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/alert"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/backupcheck"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
)

// keySource returns the API key stored under a secret id.
type keySource interface {
	APIKey(ctx context.Context, secretID string) (docspace.APIKey, error)
}

// input is the schedule's Input, or an EventBridge Scheduler event whose
// fields are ignored. portalUrl and secretId override the configuration
// for one run.
type input struct {
	PortalURL string `json:"portalUrl"`
	SecretID  string `json:"secretId"`
}

// handler holds the function's dependencies.
type handler struct {
	cfg       config
	keys      keySource
	publisher alert.Publisher
	logger    *slog.Logger
	now       func() time.Time
}

// Handle runs one check. It returns an error when the run itself failed
// (bad input, no key, or an alert that could not be published), so that
// Lambda's error metric and retries see it.
func (h *handler) Handle(ctx context.Context, raw json.RawMessage) (backupcheck.Verdict, error) {
	requestID := ""
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		requestID = lc.AwsRequestID
	}
	log := h.logger.With("requestId", requestID)
	in, err := parseInput(raw)
	if err != nil {
		log.ErrorContext(ctx, "bad input", "error", err)
		return backupcheck.Verdict{}, err
	}
	portalURL, secretID := h.cfg.PortalURL, h.cfg.SecretID
	if in.PortalURL != "" {
		portalURL = in.PortalURL
	}
	if in.SecretID != "" {
		secretID = in.SecretID
	}
	u, err := docspace.ValidateBaseURL(portalURL, h.cfg.AllowHTTP)
	if err != nil {
		log.ErrorContext(ctx, "bad portal URL", "error", err)
		return backupcheck.Verdict{}, err
	}
	key, err := h.keys.APIKey(ctx, secretID)
	if err != nil {
		log.ErrorContext(ctx, "cannot read the API key", "portal", u.Host, "secretId", secretID, "error", err)
		return backupcheck.Verdict{}, err
	}
	opts := []docspace.Option{docspace.WithTimeout(h.cfg.HTTPTimeout), docspace.WithStatePath(h.cfg.StatePath)}
	if h.cfg.AllowHTTP {
		opts = append(opts, docspace.WithInsecureHTTP())
	}
	client, err := docspace.NewClient(portalURL, key, opts...)
	if err != nil {
		return backupcheck.Verdict{}, err
	}
	v := backupcheck.Run(ctx, client.Host(), client, h.now)
	attrs := []any{
		"portal", v.Portal, "outcome", string(v.Reason), "httpStatus", v.Result.StatusCode,
		"latencyMs", v.Result.Latency.Milliseconds(), "attempts", v.Result.Attempts,
	}
	if v.Enabled != nil {
		attrs = append(attrs, "enabled", *v.Enabled)
	}
	if v.Healthy() {
		log.InfoContext(ctx, "backup check", attrs...)
		return v, nil
	}
	attrs = append(attrs, "detail", v.Detail)
	msg := alert.Compose(v)
	id, err := alert.Publish(ctx, h.publisher, h.cfg.TopicARN, msg)
	if err != nil {
		log.ErrorContext(ctx, "backup check: alert NOT published", append(attrs, "error", err)...)
		return v, fmt.Errorf("alert for %s (%s) not published: %w", v.Portal, v.Reason, err)
	}
	log.WarnContext(ctx, "backup check", append(attrs, "alertMessageId", id)...)
	return v, nil
}

func parseInput(raw json.RawMessage) (input, error) {
	var in input
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return in, nil
	}
	if trimmed[0] != '{' {
		return in, errors.New("event must be a JSON object such as {\"portalUrl\":\"https://...\",\"secretId\":\"...\"}")
	}
	if err := json.Unmarshal(trimmed, &in); err != nil {
		return in, fmt.Errorf("event is not valid: %w", err)
	}
	return in, nil
}
