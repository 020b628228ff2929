package docspace

import (
	"encoding/json"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2026-03-01T02:00:04", time.Date(2026, 3, 1, 2, 0, 4, 0, time.UTC)},
		{"2026-03-01T02:00:04.5", time.Date(2026, 3, 1, 2, 0, 4, 5e8, time.UTC)},
		{"2026-03-01T02:00:04Z", time.Date(2026, 3, 1, 2, 0, 4, 0, time.UTC)},
		{"2026-03-01T04:00:04+02:00", time.Date(2026, 3, 1, 2, 0, 4, 0, time.UTC)},
	}
	for _, tt := range tests {
		got, err := ParseTime(tt.in)
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("ParseTime(%q) = %v, %v, want %v", tt.in, got, err, tt.want)
		}
	}
	if _, err := ParseTime("yesterday"); err == nil {
		t.Error("ParseTime(yesterday) error = nil, want one")
	}
}

func TestTimeNever(t *testing.T) {
	var v struct{ T Time }
	if err := json.Unmarshal([]byte(`{"T":"0001-01-01T00:00:00"}`), &v); err != nil || !v.T.Never() {
		t.Errorf("Unmarshal(0001-01-01) = %v, %v, want never", v.T, err)
	}
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2026-03-01T02:00:04", "2026-03-01T02:00:04Z", "0001-01-01T00:00:00", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseTime(s)
		if err != nil {
			return
		}
		if got.Location() != time.UTC {
			t.Fatalf("ParseTime(%q) location = %v, want UTC", s, got.Location())
		}
		b, err := Time{got}.MarshalJSON()
		if err != nil {
			t.Fatalf("MarshalJSON(%v) error = %v", got, err)
		}
		var back Time
		if err := json.Unmarshal(b, &back); err != nil || !back.Equal(got) {
			t.Fatalf("round trip of %q = %v, %v, want %v", s, back, err, got)
		}
	})
}
