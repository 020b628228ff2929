package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/backupcheck"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
)

const testKey = "sk-handler-test-key-123456"

type fakeKeys struct{ err error }

func (f fakeKeys) APIKey(context.Context, string) (docspace.APIKey, error) {
	return testKey, f.err
}

type fakePublisher struct {
	inputs []*sns.PublishInput
	err    error
}

func (f *fakePublisher) Publish(_ context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	f.inputs = append(f.inputs, in)
	if f.err != nil {
		return nil, f.err
	}
	return &sns.PublishOutput{MessageId: aws.String("msg-1")}, nil
}

func newHandler(t *testing.T, portal http.HandlerFunc, keys fakeKeys, pub *fakePublisher) (*handler, *bytes.Buffer) {
	t.Helper()
	srv := httptest.NewServer(portal)
	t.Cleanup(srv.Close)
	var logs bytes.Buffer
	cfg, err := loadConfig(func(name string) string {
		return map[string]string{"PORTAL_URL": srv.URL, "SECRET_ID": "docspace/key", "TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:alerts", "ALLOW_INSECURE_HTTP": "true", "HTTP_TIMEOUT": "1s"}[name]
	})
	if err != nil {
		t.Fatalf("loadConfig() error = %v", err)
	}
	return &handler{cfg: cfg, keys: keys, publisher: pub, logger: slog.New(slog.NewJSONHandler(&logs, nil)), now: time.Now}, &logs
}

func portal(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}
}

func TestHandle(t *testing.T) {
	tests := []struct {
		name       string
		portal     http.HandlerFunc
		wantReason backupcheck.Reason
		wantAlerts int
	}{
		{"healthy", portal(200, `{"response":{"enabled":true},"status":0}`), backupcheck.Healthy, 0},
		{"inactive", portal(200, `{"response":{"enabled":false},"status":0}`), backupcheck.ServiceInactive, 1},
		{"forbidden", portal(403, `{"error":{"message":"Access denied","stack":"secret stack"},"status":1}`), backupcheck.PermissionDenied, 1},
		{"html 200", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html>login</html>")
		}, backupcheck.BadResponse, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub := &fakePublisher{}
			h, logs := newHandler(t, tt.portal, fakeKeys{}, pub)
			v, err := h.Handle(context.Background(), json.RawMessage(`{"source":"schedule"}`))
			if err != nil {
				t.Fatalf("Handle() error = %v", err)
			}
			if v.Reason != tt.wantReason || len(pub.inputs) != tt.wantAlerts {
				t.Errorf("Handle() reason, alerts = %s, %d, want %s, %d", v.Reason, len(pub.inputs), tt.wantReason, tt.wantAlerts)
			}
			if strings.Contains(logs.String(), testKey) {
				t.Errorf("logs hold the key: %s", logs)
			}
			var line map[string]any
			if err := json.Unmarshal(bytes.TrimSpace(logs.Bytes()), &line); err != nil || line["outcome"] != string(tt.wantReason) {
				t.Errorf("log line = %s (%v), want one JSON line with outcome %s", logs, err, tt.wantReason)
			}
			for _, in := range pub.inputs {
				if strings.Contains(aws.ToString(in.Message), "secret stack") || len(aws.ToString(in.Subject)) > 99 {
					t.Errorf("alert %q / %q leaks the stack or has a long subject", aws.ToString(in.Subject), aws.ToString(in.Message))
				}
			}
		})
	}
}

func TestHandlePublishFailureIsAnError(t *testing.T) {
	pub := &fakePublisher{err: errors.New("throttled")}
	h, logs := newHandler(t, portal(200, `{"response":{"enabled":false}}`), fakeKeys{}, pub)
	if _, err := h.Handle(context.Background(), nil); err == nil {
		t.Fatal("Handle() error = nil, want the publish failure")
	}
	if !strings.Contains(logs.String(), "NOT published") {
		t.Errorf("logs = %s, want the failure logged", logs)
	}
}

func TestHandleBadInputAndKeyErrors(t *testing.T) {
	h, _ := newHandler(t, portal(200, `{"response":{"enabled":true}}`), fakeKeys{}, &fakePublisher{})
	for _, raw := range []string{`"garbage"`, `[1,2]`, `{"portalUrl":"ftp://x"}`, `{"portalUrl":1}`} {
		if _, err := h.Handle(context.Background(), json.RawMessage(raw)); err == nil {
			t.Errorf("Handle(%s) error = nil, want one", raw)
		}
	}
	h.keys = fakeKeys{err: errors.New("secret missing")}
	if _, err := h.Handle(context.Background(), nil); err == nil {
		t.Error("Handle() with no key error = nil, want one")
	}
}

func TestLoadConfigNamesEveryBadVariable(t *testing.T) {
	_, err := loadConfig(func(name string) string {
		return map[string]string{"PORTAL_URL": "http://portal", "HTTP_TIMEOUT": "soon"}[name]
	})
	if err == nil {
		t.Fatal("loadConfig() error = nil, want one")
	}
	for _, name := range []string{"PORTAL_URL", "SECRET_ID", "TOPIC_ARN", "HTTP_TIMEOUT"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("loadConfig() error %q does not name %s", err, name)
		}
	}
}
