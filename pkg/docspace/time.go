package docspace

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Time is a DocSpace date. The server writes dates in UTC, often without an
// offset ("2026-03-01T02:00:04"); Time accepts those as UTC, and also RFC
// 3339 values with "Z" or an offset, with or without fractional seconds.
// The zero value, and the server's "0001-01-01T00:00:00", mean never.
type Time struct{ time.Time }

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

// maxQuoted is the most of a raw value an error quotes: a date is never
// longer, and a portal that sends megabytes in a date field must not make
// megabytes of error text. (The client redacts the key from error texts,
// also any piece of it a cut leaves.)
const maxQuoted = 40

// ParseTime parses a DocSpace date; a value without an offset is UTC. Its
// error quotes at most maxQuoted bytes of s.
func ParseTime(s string) (time.Time, error) {
	for _, layout := range timeLayouts {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("docspace: cannot parse date %q", shorten(s, maxQuoted))
}

// UnmarshalJSON accepts a date string or null.
func (t *Time) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("docspace: date is not a string: %s", shorten(string(b), maxQuoted))
	}
	if s == "" {
		t.Time = time.Time{}
		return nil
	}
	parsed, err := ParseTime(s)
	if err != nil {
		return err
	}
	t.Time = parsed
	return nil
}

// MarshalJSON writes the date in RFC 3339 with a "Z".
func (t Time) MarshalJSON() ([]byte, error) {
	return json.Marshal(t.UTC().Format(time.RFC3339Nano))
}

// Never reports whether the date is unset or the server's "never" value.
func (t Time) Never() bool { return t.IsZero() || t.Year() <= 1 }
