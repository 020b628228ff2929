package docspace

import (
	"log/slog"
	"strings"
)

// APIKey is a DocSpace API key. Its String, GoString and LogValue methods
// redact it, so printing or logging one never reveals the key.
type APIKey string

const redacted = "[REDACTED]"

// String returns a redacted placeholder.
func (APIKey) String() string { return redacted }

// GoString returns a redacted placeholder for %#v.
func (APIKey) GoString() string { return redacted }

// LogValue implements slog.LogValuer with a redacted placeholder.
func (APIKey) LogValue() slog.Value { return slog.StringValue(redacted) }

// redact replaces every occurrence of key in s.
func redact(s string, key APIKey) string {
	if len(key) < 4 {
		return s
	}
	return strings.ReplaceAll(s, string(key), redacted)
}
