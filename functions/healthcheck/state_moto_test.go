package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/docspace-backup-watch/docspace-backup-watch/internal/localrun"
	"github.com/docspace-backup-watch/docspace-backup-watch/internal/motoserver"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/alert"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/alertstate"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/fakeportal"
)

// stateRig is the handler with a real alert state table, a real topic and
// a subscribed queue in moto, in front of the fake portal, on a clock the
// test moves.
type stateRig struct {
	h      *handler
	portal *fakeportal.Portal
	url    string
	stack  *localrun.Stack
	logs   *syncBuffer

	mu  sync.Mutex
	now time.Time
}

func newStateRig(t *testing.T) *stateRig {
	t.Helper()
	cfg := motoserver.AWSConfig(motoserver.Start(t))
	ctx := context.Background()
	stack, err := localrun.CreateStack(ctx, cfg, "state", testKey)
	if err != nil {
		t.Fatal(err)
	}
	r := &stateRig{stack: stack, logs: &syncBuffer{}, now: time.Now().UTC()}
	// The portal's backup dates follow the same clock as the handler.
	portal, err := fakeportal.New(testKey, fakeportal.Config{}, r.clock)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(portal)
	t.Cleanup(srv.Close)
	conf, err := loadConfig(func(name string) string {
		return map[string]string{"PORTAL_URL": srv.URL, "SECRET_ID": stack.SecretARN, "TOPIC_ARN": stack.TopicARN, "STATE_TABLE": stack.StateTable, "ALLOW_INSECURE_HTTP": "true"}[name]
	})
	if err != nil {
		t.Fatal(err)
	}
	store, err := alertstate.NewStore(dynamodb.NewFromConfig(cfg), stack.StateTable, conf.Policy)
	if err != nil {
		t.Fatal(err)
	}
	r.portal, r.url = portal, srv.URL
	r.h = &handler{cfg: conf, keys: fakeKeys{}, publisher: sns.NewFromConfig(cfg), state: store,
		logger: slog.New(slog.NewJSONHandler(r.logs, nil)), metrics: &syncBuffer{}, now: r.clock}
	return r
}

func (r *stateRig) clock() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.now
}

func (r *stateRig) advance(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.now = r.now.Add(d)
}

// run checks portal name once and returns the notices that reached the
// queue as kind:reason:severity.
func (r *stateRig) run(t *testing.T, name string) []string {
	t.Helper()
	raw, _ := json.Marshal(target{PortalURL: r.url + "/p/" + name})
	if _, err := r.h.Handle(context.Background(), raw); err != nil {
		t.Fatalf("Handle() error = %v", err)
	}
	return r.received(t)
}

func (r *stateRig) received(t *testing.T) []string {
	t.Helper()
	alerts, err := r.stack.Alerts(context.Background(), 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range alerts {
		got = append(got, a.Attributes["kind"]+":"+a.Attributes["reason"]+":"+a.Attributes["severity"])
	}
	return got
}

// TestStateTransitions walks one portal through a bad answer that needs
// two runs to alert, a reminder a day later, and recovery.
func TestStateTransitions(t *testing.T) {
	r := newStateRig(t)
	const name = "transitions"
	steps := []struct {
		what     string
		scenario fakeportal.Scenario
		after    time.Duration
		want     string
	}{
		{"first bad answer: below the threshold of 2", fakeportal.HTML, 0, ""},
		{"second bad answer: alert", fakeportal.HTML, 15 * time.Minute, "alert:bad_response:warning"},
		{"third: no repeat", fakeportal.HTML, 15 * time.Minute, ""},
		{"a day after the alert: reminder", fakeportal.HTML, 24 * time.Hour, "reminder:bad_response:warning"},
		{"15 minutes later: no second reminder", fakeportal.HTML, 15 * time.Minute, ""},
		{"healthy again: resolved", fakeportal.Healthy, 15 * time.Minute, "resolved:bad_response:resolved"},
		{"still healthy: nothing", fakeportal.Healthy, 15 * time.Minute, ""},
		{"backups stop: critical at once", fakeportal.Stale, 15 * time.Minute, "alert:backup_stale:critical"},
		{"schedule deleted: new reason alerts, stale resolves", fakeportal.NoSchedule, 15 * time.Minute, "alert:no_schedule:critical,resolved:backup_stale:resolved"},
	}
	for _, s := range steps {
		r.advance(s.after)
		if err := r.portal.SetPortalScenario(name, s.scenario); err != nil {
			t.Fatal(err)
		}
		got := strings.Join(r.run(t, name), ",")
		if !sameSet(got, s.want) {
			t.Errorf("%s: notices = %q, want %q", s.what, got, s.want)
		}
	}
}

// TestOverlappingRunsAlertOnce starts several runs for the same failing
// portal at once: the conditional writes let exactly one of them alert.
func TestOverlappingRunsAlertOnce(t *testing.T) {
	r := newStateRig(t)
	raw, _ := json.Marshal(target{PortalURL: r.url + "/p/backup_failed-overlap"})
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if _, err := r.h.Handle(context.Background(), raw); err != nil {
				t.Errorf("Handle() error = %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if got := r.received(t); len(got) != 1 || got[0] != "alert:backup_failed:critical" {
		t.Errorf("notices = %v, want exactly one backup_failed alert", got)
	}
}

func sameSet(a, b string) bool {
	split := func(s string) map[string]int {
		m := map[string]int{}
		for _, x := range strings.Split(s, ",") {
			if x != "" {
				m[x]++
			}
		}
		return m
	}
	return fmt.Sprint(split(a)) == fmt.Sprint(split(b))
}

// failFirstPublisher fails the first fails publishes, then delegates.
type failFirstPublisher struct {
	mu    sync.Mutex
	fails int
	next  alert.Publisher
}

func (p *failFirstPublisher) Publish(ctx context.Context, in *sns.PublishInput, opts ...func(*sns.Options)) (*sns.PublishOutput, error) {
	p.mu.Lock()
	fail := p.fails > 0
	p.fails--
	p.mu.Unlock()
	if fail {
		return nil, errors.New("Throttling: Rate exceeded")
	}
	return p.next.Publish(ctx, in, opts...)
}

// TestPublishFailureLosesNothing: SNS refuses the alert; the run fails,
// and the retry (or the next run) sends it, although the state store had
// already counted the failure.
func TestPublishFailureLosesNothing(t *testing.T) {
	r := newStateRig(t)
	r.h.publisher = &failFirstPublisher{fails: 1, next: r.h.publisher}
	raw, _ := json.Marshal(target{PortalURL: r.url + "/p/no_schedule-sns"})
	if _, err := r.h.Handle(context.Background(), raw); err == nil {
		t.Fatal("Handle() error = nil, want the publish failure")
	}
	if got := r.received(t); len(got) != 0 {
		t.Fatalf("notices = %v after the failed publish, want none", got)
	}
	r.advance(time.Minute)
	if _, err := r.h.Handle(context.Background(), raw); err != nil {
		t.Fatalf("retry: Handle() error = %v", err)
	}
	if got := r.received(t); len(got) != 1 || got[0] != "alert:no_schedule:critical" {
		t.Errorf("retry: notices = %v, want the alert the failed run could not send", got)
	}
	r.advance(15 * time.Minute)
	if got := r.run(t, "no_schedule-sns"); len(got) != 0 {
		t.Errorf("next run: notices = %v, want none (the alert went out)", got)
	}
}
