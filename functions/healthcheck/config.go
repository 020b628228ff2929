package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
)

// config is the function's configuration, read from the environment.
type config struct {
	PortalURL      string
	SecretID       string
	SecretKeyField string
	TopicARN       string
	SecretCacheTTL time.Duration
	HTTPTimeout    time.Duration
	StatePath      string
	AllowHTTP      bool
}

// loadConfig reads and validates the configuration; the error names every
// bad or missing variable at once.
func loadConfig(getenv func(string) string) (config, error) {
	var errs []error
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	required := func(name string) string {
		v := get(name, "")
		if v == "" {
			errs = append(errs, fmt.Errorf("%s is required", name))
		}
		return v
	}
	duration := func(name string, def time.Duration) time.Duration {
		v := get(name, "")
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s=%q is not a positive duration such as 30s or 5m", name, v))
			return def
		}
		return d
	}
	c := config{
		PortalURL:      required("PORTAL_URL"),
		SecretID:       required("SECRET_ID"),
		TopicARN:       required("TOPIC_ARN"),
		SecretKeyField: get("SECRET_KEY_FIELD", "apiKey"),
		SecretCacheTTL: duration("SECRET_CACHE_TTL", 5*time.Minute),
		HTTPTimeout:    duration("HTTP_TIMEOUT", docspace.DefaultTimeout),
		StatePath:      get("STATE_PATH", docspace.DefaultStatePath),
	}
	if v := get("ALLOW_INSECURE_HTTP", "false"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("ALLOW_INSECURE_HTTP=%q is not true or false", v))
		}
		c.AllowHTTP = b
	}
	if c.PortalURL != "" {
		if _, err := docspace.ValidateBaseURL(c.PortalURL, c.AllowHTTP); err != nil {
			errs = append(errs, fmt.Errorf("PORTAL_URL: %w", err))
		}
	}
	if c.TopicARN != "" && !strings.HasPrefix(c.TopicARN, "arn:") {
		errs = append(errs, fmt.Errorf("TOPIC_ARN=%q is not an ARN", c.TopicARN))
	}
	if !strings.HasPrefix(c.StatePath, "/") {
		errs = append(errs, fmt.Errorf("STATE_PATH=%q must start with /", c.StatePath))
	}
	if err := errors.Join(errs...); err != nil {
		return config{}, fmt.Errorf("invalid configuration: %w", err)
	}
	return c, nil
}
