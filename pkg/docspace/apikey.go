package docspace

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"unicode/utf8"
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

// MinKeyLen is the shortest key ValidateAPIKey accepts. DocSpace keys are
// "sk-" and dozens of characters; a shorter value is a mistake.
const MinKeyLen = 8

// ErrInvalidKey is an API key that cannot be sent as a Bearer token: a
// configuration error, found before any request.
var ErrInvalidKey = errors.New("invalid API key")

// ValidateAPIKey checks that key can be sent as "Authorization: Bearer
// key": at least MinKeyLen characters of a Bearer token (RFC 6750's
// b64token: letters, digits and - . _ ~ + /, then = for padding). A line
// break, a space, a control character or "Bearer " stored with the key
// are all refused here, with an error that says which (never the key). The
// error matches ErrInvalidKey.
func ValidateAPIKey(key APIKey) error {
	k := string(key)
	if strings.TrimSpace(k) == "" {
		return fmt.Errorf("%w: the key is empty", ErrInvalidKey)
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c == '\r' || c == '\n':
			return fmt.Errorf("%w: the key holds a line break at byte %d (a trailing newline pasted into the secret?)", ErrInvalidKey, i)
		case c < 0x20 || c == 0x7f:
			return fmt.Errorf("%w: the key holds a control character at byte %d", ErrInvalidKey, i)
		case c == ' ' || c == '\t':
			return fmt.Errorf("%w: the key holds a space at byte %d (store the key alone, without \"Bearer \")", ErrInvalidKey, i)
		case c >= 0x80:
			return fmt.Errorf("%w: the key holds a non-ASCII character at byte %d", ErrInvalidKey, i)
		case !tokenByte(c):
			return fmt.Errorf("%w: the key holds %q at byte %d, which a Bearer token cannot", ErrInvalidKey, c, i)
		}
	}
	if pad := strings.TrimRight(k, "="); strings.Contains(pad, "=") || pad == "" {
		return fmt.Errorf("%w: \"=\" may only end the key", ErrInvalidKey)
	}
	if len(k) < MinKeyLen {
		return fmt.Errorf("%w: the key has %d characters, fewer than %d", ErrInvalidKey, len(k), MinKeyLen)
	}
	return nil
}

func tokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~+/=", c) >= 0
}

// keyPiece is the length of the shortest piece of a key that redaction
// removes: any run of this many characters or more of the key, wherever it
// appears, so that a value cut through the key, or one that echoes only a
// part of it, still leaks nothing useful.
const keyPiece = 8

// Redact replaces, in s, the key and every run of keyPiece or more of its
// consecutive characters with "[REDACTED]". A key shorter than keyPiece is
// replaced where it appears whole.
func Redact(s string, key APIKey) string {
	k := string(key)
	if k == "" || len(s) == 0 {
		return s
	}
	if len(k) < keyPiece {
		return strings.ReplaceAll(s, k, redacted)
	}
	if len(s) < keyPiece {
		return s
	}
	pieces := make(map[string]struct{}, len(k)-keyPiece+1)
	for i := 0; i+keyPiece <= len(k); i++ {
		pieces[k[i:i+keyPiece]] = struct{}{}
	}
	// Any run of the key that is keyPiece long or more is a union of
	// keyPiece-long pieces: mark each piece found, merge, replace.
	var b strings.Builder
	last, start, end := 0, -1, -1
	for i := 0; i+keyPiece <= len(s); i++ {
		if _, ok := pieces[s[i:i+keyPiece]]; !ok {
			continue
		}
		if start >= 0 && i <= end {
			end = i + keyPiece
			continue
		}
		if start >= 0 {
			b.WriteString(s[last:start])
			b.WriteString(redacted)
			last = end
		}
		start, end = i, i+keyPiece
	}
	if start < 0 {
		return s
	}
	b.WriteString(s[last:start])
	b.WriteString(redacted)
	b.WriteString(s[end:])
	return b.String()
}

// redact is Redact for the client's own use.
func redact(s string, key APIKey) string { return Redact(s, key) }

// shorten cuts s to at most n bytes on a rune boundary, saying how much
// was left out. Redact first: a cut must never be what hides a key.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s... (%d bytes in all)", s[:cut], len(s))
}

// redactValue redacts, in place, every string that v (a pointer) holds:
// struct fields, slice and array elements, map keys and values. Decoded
// portal data passes through it, so a portal or proxy that echoes the
// Authorization header into any member cannot carry the key further.
func redactValue(v any, key APIKey) {
	redactReflect(reflect.ValueOf(v), key)
}

func redactReflect(v reflect.Value, key APIKey) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			redactReflect(v.Elem(), key)
		}
	case reflect.Interface:
		// A value held in an interface (from decoding into any) cannot be
		// set in place: redact a copy and put it back.
		if v.IsNil() || !v.CanSet() {
			return
		}
		cp := reflect.New(v.Elem().Type()).Elem()
		cp.Set(v.Elem())
		redactReflect(cp, key)
		v.Set(cp)
	case reflect.String:
		if v.CanSet() {
			v.SetString(Redact(v.String(), key))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				redactReflect(v.Field(i), key)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			redactReflect(v.Index(i), key)
		}
	case reflect.Map:
		if v.IsNil() {
			return
		}
		iter := v.MapRange()
		type kv struct{ k, v reflect.Value }
		var entries []kv
		for iter.Next() {
			nk := reflect.New(iter.Key().Type()).Elem()
			nk.Set(iter.Key())
			redactReflect(nk, key)
			nv := reflect.New(iter.Value().Type()).Elem()
			nv.Set(iter.Value())
			redactReflect(nv, key)
			entries = append(entries, kv{nk, nv})
		}
		v.Clear()
		for _, e := range entries {
			v.SetMapIndex(e.k, e.v)
		}
	}
}
