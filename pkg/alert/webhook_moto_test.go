package alert

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/docspace-backup-watch/docspace-backup-watch/internal/motoserver"
)

// webhook records the SNS notifications an endpoint receives.
type webhook struct {
	mu       sync.Mutex
	received []snsDelivery
}

// snsDelivery is the part of an SNS HTTP(S) delivery the tests read.
type snsDelivery struct {
	Type     string `json:"Type"`
	Subject  string `json:"Subject"`
	Message  string `json:"Message"`
	TopicArn string `json:"TopicArn"`
}

func (w *webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	var d snsDelivery
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || r.Method != http.MethodPost || json.Unmarshal(body, &d) != nil {
		http.Error(rw, "not an SNS delivery", http.StatusBadRequest)
		return
	}
	w.mu.Lock()
	w.received = append(w.received, d)
	w.mu.Unlock()
}

func (w *webhook) deliveries() []snsDelivery {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]snsDelivery(nil), w.received...)
}

// TestWebhookReceivesChatJSON publishes an alert, its reminder and its
// resolved notice to a topic on moto with an https subscriber (a TLS test
// server whose certificate moto is made to trust: moto verifies it) and an
// http one: each receives, for each notice, the chat JSON as the
// notification's message, valid against the shipped schema, in one thread.
func TestWebhookReceivesChatJSON(t *testing.T) {
	var secure, plain webhook
	tlsSrv := httptest.NewTLSServer(&secure)
	t.Cleanup(tlsSrv.Close)
	plainSrv := httptest.NewServer(&plain)
	t.Cleanup(plainSrv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := motoserver.AWSConfig(motoserver.StartTrusting(t, ca))
	ctx := context.Background()
	client := sns.NewFromConfig(cfg)
	topic, err := client.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("webhook-alerts")})
	if err != nil {
		t.Fatal(err)
	}
	for protocol, endpoint := range map[string]string{"https": tlsSrv.URL + "/hook", "http": plainSrv.URL + "/hook"} {
		if _, err := client.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String(protocol), Endpoint: aws.String(endpoint)}); err != nil {
			t.Fatalf("Subscribe(%s) error = %v", protocol, err)
		}
	}

	s := noticeSchema(t)
	cases := chatCases()
	var sent []Message
	for _, name := range []string{"alert", "reminder", "resolved"} {
		m := Compose(cases[name].v, cases[name].n)
		if _, err := Publish(ctx, client, aws.ToString(topic.TopicArn), m); err != nil {
			t.Fatalf("Publish(%s) error = %v", name, err)
		}
		sent = append(sent, m)
	}
	// moto posts to subscribers within Publish.
	for name, w := range map[string]*webhook{"https": &secure, "http": &plain} {
		got := w.deliveries()
		if len(got) != len(sent) {
			t.Fatalf("%s subscriber received %d deliveries %+v, want %d", name, len(got), got, len(sent))
		}
		threads := map[string]bool{}
		for i, d := range got {
			if d.Type != "Notification" || d.Message != sent[i].Chat || d.Subject != sent[i].Subject {
				t.Errorf("%s delivery %d = %+v, want the chat JSON of %q", name, i, d, sent[i].Subject)
			}
			validate(t, s, d.Message)
			var c ChatNotice
			if err := json.Unmarshal([]byte(d.Message), &c); err != nil {
				t.Fatal(err)
			}
			threads[c.Metadata.ThreadID] = true
		}
		if len(threads) != 1 {
			t.Errorf("%s subscriber's notices are in threads %v, want one", name, threads)
		}
	}
}
