package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/fakeportal"
)

func TestRun(t *testing.T) {
	const key = "sk-checkportal-test"
	p, err := fakeportal.New(key, fakeportal.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	defer srv.Close()
	tests := []struct {
		name, url, key string
		wantCode       int
		wantReason     string
	}{
		{"healthy", srv.URL, key, 0, "healthy"},
		{"inactive", srv.URL + "/p/inactive", key, 2, "service_inactive"},
		{"wrong key", srv.URL, "sk-wrong", 2, "permission_denied"},
		{"no key", srv.URL, "", 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"DOCSPACE_URL": tt.url, "DOCSPACE_API_KEY": tt.key, "ALLOW_INSECURE_HTTP": "true"}
			var out, errOut bytes.Buffer
			code := run(context.Background(), func(k string) string { return env[k] }, &out, &errOut)
			if code != tt.wantCode {
				t.Fatalf("run() = %d, want %d (stderr %s)", code, tt.wantCode, errOut.String())
			}
			if tt.wantReason == "" {
				return
			}
			var v struct{ Reason string }
			if err := json.Unmarshal(out.Bytes(), &v); err != nil || v.Reason != tt.wantReason {
				t.Errorf("run() printed %s, want reason %s", out.String(), tt.wantReason)
			}
			if tt.key != "" && strings.Contains(out.String()+errOut.String(), tt.key) {
				t.Errorf("output holds the key")
			}
		})
	}
}
