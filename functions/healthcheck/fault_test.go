package main

// Fault injection: the real handler wiring (secrets.Store over a Secrets
// Manager client, an SNS client, alertstate.Store over a DynamoDB client,
// all pointed at moto_server) against the fake portal and against
// network, AWS and input faults. Every case checks the verdict, exactly the
// alerts that reached an SQS queue subscribed to the topic, and that the
// API key never shows in the logs, the EMF lines, the errors or the alerts.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"

	"github.com/docspace-backup-watch/docspace-backup-watch/internal/localrun"
	"github.com/docspace-backup-watch/docspace-backup-watch/internal/motoserver"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/alert"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/alertstate"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/backupcheck"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/fakeportal"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/secrets"
)

// faultKey is the portal's API key, stored in the moto secret; it must
// never show in a log line, a metrics line, an error or an alert.
const faultKey = "sk-fault-injection-KEY-9f2c4e7a1b3d5f60"

var stackSeq atomic.Int64

// faultRig is one handler wired to moto_server and one fake portal, with
// its own secret, topic, subscribed queue and state table.
type faultRig struct {
	aws    aws.Config
	stack  *localrun.Stack
	sqs    *sqs.Client
	portal *fakeportal.Portal
	// url is the fake portal's base URL.
	url  string
	h    *handler
	logs *syncBuffer
	emf  *syncBuffer

	mu sync.Mutex
	// now is the clock of the handler and the portal's backup dates; zero
	// means the wall clock (see setClock).
	now time.Time
	// seen holds every error text and alert the test saw, for the leak
	// check.
	seen []string
	// secretValues are strings that must never leak, faultKey included.
	secretValues []string
}

// newFaultRig builds the real handler on the moto at endpoint. env
// overrides the configuration; PORTAL_URL, SECRET_ID and TOPIC_ARN default
// to the rig's portal, secret and topic. No state table is used until
// useState is called.
func newFaultRig(t *testing.T, endpoint string, env map[string]string) *faultRig {
	t.Helper()
	r := &faultRig{aws: motoserver.AWSConfig(endpoint), logs: &syncBuffer{}, emf: &syncBuffer{}, secretValues: []string{faultKey}}
	var err error
	if r.portal, err = fakeportal.New(faultKey, fakeportal.Config{}, r.clock); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r.portal)
	t.Cleanup(srv.Close)
	r.url = srv.URL
	// The secret is bound to the fake portal's base URL: its key may go
	// to every /p/{name} portal the fake serves there.
	name := fmt.Sprintf("fault-%d", stackSeq.Add(1))
	if r.stack, err = localrun.CreateStack(context.Background(), r.aws, name, faultKey, localrun.BoundTo(srv.URL)); err != nil {
		t.Fatalf("CreateStack() error = %v", err)
	}
	r.sqs = sqs.NewFromConfig(r.aws)

	// HTTP_TIMEOUT is generous: the fake portal answers at once, but a
	// busy machine running the race build can stall a request for over a
	// second, and a healthy portal must not turn unreachable by chance.
	// Tests of timeouts set their own.
	vars := map[string]string{
		"PORTAL_URL": srv.URL, "SECRET_ID": r.stack.SecretARN, "TOPIC_ARN": r.stack.TopicARN,
		"ALLOW_INSECURE_HTTP": "true", "HTTP_TIMEOUT": "10s",
	}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := loadConfig(func(name string) string { return vars[name] })
	if err != nil {
		t.Fatalf("loadConfig() error = %v", err)
	}
	r.h = &handler{
		cfg:       cfg,
		keys:      secrets.NewStore(secretsmanager.NewFromConfig(r.aws), cfg.SecretKeyField, cfg.SecretCacheTTL),
		publisher: sns.NewFromConfig(r.aws),
		logger:    slog.New(slog.NewJSONHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		metrics:   r.emf,
		now:       r.clock,
	}
	t.Cleanup(func() { r.checkNoLeak(t) })
	return r
}

// clock is the time for the handler and the portal's backup dates.
func (r *faultRig) clock() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.now.IsZero() {
		return time.Now()
	}
	return r.now
}

// setClock stops the rig's clock at now; advance moves it on.
func (r *faultRig) setClock(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.now = now
}

func (r *faultRig) advance(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.now = r.now.Add(d)
}

// useState gives the handler an alert state store on table through api;
// nil api is the real DynamoDB client, "" table the rig's table.
func (r *faultRig) useState(t *testing.T, api alertstate.API, table string) {
	t.Helper()
	if api == nil {
		api = dynamodb.NewFromConfig(r.aws)
	}
	if table == "" {
		table = r.stack.StateTable
	}
	store, err := alertstate.NewStore(api, table, r.h.cfg.Policy)
	if err != nil {
		t.Fatalf("alertstate.NewStore() error = %v", err)
	}
	r.h.state = store
}

// run calls Handle and keeps its error text for the leak check.
func (r *faultRig) run(t *testing.T, ctx context.Context, raw json.RawMessage) (out output, err error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("Handle(%.80q) panicked: %v", raw, p)
		}
	}()
	out, err = r.h.Handle(ctx, raw)
	if err != nil {
		r.mu.Lock()
		r.seen = append(r.seen, err.Error())
		r.mu.Unlock()
	}
	return out, err
}

// alerts drains the rig's queue, waiting up to wait for a first message.
func (r *faultRig) alerts(t *testing.T, wait time.Duration) []localrun.Alert {
	t.Helper()
	got, err := localrun.ReceiveAlerts(context.Background(), r.sqs, r.stack.QueueURL, wait)
	if err != nil {
		t.Fatalf("ReceiveAlerts() error = %v", err)
	}
	r.mu.Lock()
	for _, a := range got {
		b, _ := json.Marshal(a)
		r.seen = append(r.seen, string(b))
	}
	r.mu.Unlock()
	return got
}

// wantAlerts drains the queue and checks that exactly want ("kind:reason")
// arrived, in any order, each for the rig's portal.
func (r *faultRig) wantAlerts(t *testing.T, want ...string) []localrun.Alert {
	t.Helper()
	// Publishing to moto is synchronous: nothing queued now is nothing
	// sent. Yet a loaded moto may answer a receive empty before it sees
	// the message: when alerts are wanted, keep long-polling until as
	// many arrived, up to a generous limit.
	got := r.alerts(t, 0)
	for limit := time.Now().Add(30 * time.Second); len(got) < len(want) && time.Now().Before(limit); {
		got = append(got, r.alerts(t, time.Second)...)
	}
	var kinds []string
	for _, a := range got {
		kinds = append(kinds, a.Attributes["kind"]+":"+a.Attributes["reason"])
		if a.Attributes["portal"] == "" || a.Attributes["severity"] == "" {
			t.Errorf("alert %q has attributes %v, want portal and severity", a.Subject, a.Attributes)
		}
	}
	slices.Sort(kinds)
	want = slices.Clone(want)
	slices.Sort(want)
	if !slices.Equal(kinds, want) {
		t.Errorf("queue received %v, want %v", kinds, want)
	}
	return got
}

// checkNoLeak fails the test when a secret value shows in the logs, the
// EMF lines, an error returned by Handle, or an alert received.
func (r *faultRig) checkNoLeak(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	places := map[string]string{"logs": r.logs.String(), "EMF lines": r.emf.String(), "errors and alerts": strings.Join(r.seen, "\n")}
	for where, text := range places {
		for _, s := range r.secretValues {
			if strings.Contains(text, s) {
				t.Errorf("%s hold the secret value %q:\n%s", where, s, text)
			}
		}
	}
}

// resultLines returns the rig's "backup check" log lines, also the ones
// that say a notice was not published.
func (r *faultRig) resultLines(t *testing.T) []map[string]any {
	t.Helper()
	return append(r.logs.lines(t, "backup check"), r.logs.lines(t, "backup check: notice NOT published")...)
}

// input is the event that checks the portal at portalURL with the rig's
// secret.
func (r *faultRig) input(portalURL string) json.RawMessage {
	b, _ := json.Marshal(target{PortalURL: portalURL, SecretID: r.stack.SecretARN})
	return b
}

// boundSecret creates a secret holding the rig's key bound to portalURL
// and returns its ARN.
func (r *faultRig) boundSecret(t *testing.T, portalURL string) string {
	t.Helper()
	value, _ := json.Marshal(map[string]string{"portalUrl": portalURL, "apiKey": faultKey})
	out, err := secretsmanager.NewFromConfig(r.aws).CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{
		Name: aws.String(fmt.Sprintf("fault-bound-%d", stackSeq.Add(1))), SecretString: aws.String(string(value)),
	})
	if err != nil {
		t.Fatalf("CreateSecret() error = %v", err)
	}
	return aws.ToString(out.ARN)
}

// closedPortURL returns a loopback URL on which nothing listens.
func closedPortURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// untrustedTLSURL serves the portal over TLS with httptest's certificate,
// which the handler's client does not trust.
func untrustedTLSURL(t *testing.T, portal http.Handler) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(portal)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake errors are the point
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL
}

// whatHappened returns the "What happened:" line of an alert body.
func whatHappened(body string) string {
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "What happened:") {
			return l
		}
	}
	return ""
}

func TestFaultPortal(t *testing.T) {
	endpoint := motoserver.Start(t)
	tests := []struct {
		name string
		// url returns the portal URL to check; nil is the rig's portal
		// playing scenario.
		url      func(t *testing.T, r *faultRig) string
		scenario string
		delay    time.Duration
		env      map[string]string
		want     backupcheck.Reason
		// wantText must be in the alert's "What happened" line, notText
		// must not.
		wantText, notText string
	}{
		{name: "connection refused", url: func(t *testing.T, _ *faultRig) string { return closedPortURL(t) },
			want: backupcheck.Unreachable, wantText: "connection refused"},
		{name: "DNS failure", url: func(*testing.T, *faultRig) string { return "http://portal.docspace-watch.invalid" },
			want: backupcheck.Unreachable, wantText: "portal.docspace-watch.invalid"},
		{name: "untrusted TLS certificate", url: func(t *testing.T, r *faultRig) string { return untrustedTLSURL(t, r.portal) },
			want: backupcheck.Unreachable, wantText: "certificate"},
		{name: "headers slower than HTTP_TIMEOUT", scenario: "healthy-slow", delay: 5 * time.Second,
			env: map[string]string{"HTTP_TIMEOUT": "300ms"}, want: backupcheck.Unreachable, wantText: "deadline exceeded"},
		{name: "body trickles forever", scenario: "trickle-1",
			env: map[string]string{"HTTP_TIMEOUT": "300ms"}, want: backupcheck.Unreachable, wantText: "read body"},
		{name: "50 MB body", scenario: "huge-1", env: map[string]string{"HTTP_TIMEOUT": "10s"},
			want: backupcheck.BadResponse, wantText: "larger than"},
		{name: "truncated JSON", scenario: "truncated-1", want: backupcheck.BadResponse, wantText: "invalid JSON"},
		{name: "HTML 200 from a login proxy", scenario: "html-1", want: backupcheck.BadResponse, wantText: "not JSON"},
		{name: "429 with Retry-After then success", scenario: "rate_limited-1", env: map[string]string{"HTTP_TIMEOUT": "3s"},
			want: backupcheck.Healthy},
		{name: "503 then recovery", scenario: "flaky-1", want: backupcheck.Healthy},
		{name: "401", scenario: "unauthorized-1", want: backupcheck.PermissionDenied,
			wantText: "401 Unauthorized (not authenticated", notText: "not owner or admin"},
		{name: "403", scenario: "forbidden-1", want: backupcheck.PermissionDenied,
			wantText: "403 Access denied (the key's user is not owner or admin", notText: "not authenticated"},
		{name: "402", scenario: "payment_required-1", want: backupcheck.PaymentRequired, wantText: "402"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newFaultRig(t, endpoint, tt.env)
			if tt.delay > 0 {
				if err := r.portal.SetConfig(fakeportal.Config{Scenario: fakeportal.Healthy, Delay: fakeportal.Duration(tt.delay)}); err != nil {
					t.Fatal(err)
				}
			}
			raw := r.input(r.url + "/p/" + tt.scenario)
			if tt.url != nil {
				// Another address: a secret of its own, bound to it.
				u := tt.url(t, r)
				b, _ := json.Marshal(target{PortalURL: u, SecretID: r.boundSecret(t, u)})
				raw = b
			}

			out, err := r.run(t, context.Background(), raw)
			if err != nil {
				t.Fatalf("Handle() error = %v, want nil", err)
			}
			if len(out.Verdicts) != 1 || out.Verdicts[0].Reason != tt.want {
				t.Fatalf("Handle() = %+v, want one verdict %s", out, tt.want)
			}
			v := out.Verdicts[0]
			if lines := r.resultLines(t); len(lines) != 1 || lines[0]["outcome"] != string(tt.want) {
				t.Errorf("result log lines = %v, want one with outcome %s", lines, tt.want)
			}
			if n := strings.Count(r.emf.String(), `"PortalsChecked":1`); n != 1 {
				t.Errorf("EMF = %s, want one fleet line", r.emf)
			}
			if tt.want == backupcheck.Healthy {
				if v.Result.Attempts <= 4 {
					t.Errorf("Handle() made %d attempts, want the failed ones retried", v.Result.Attempts)
				}
				r.wantAlerts(t)
				return
			}
			got := r.wantAlerts(t, "alert:"+string(tt.want))
			if len(got) != 1 {
				return
			}
			line := whatHappened(got[0].Message)
			if !strings.Contains(line, tt.wantText) {
				t.Errorf("alert %q, want it to say %q", line, tt.wantText)
			}
			if tt.notText != "" && strings.Contains(line, tt.notText) {
				t.Errorf("alert %q, want it not to say %q", line, tt.notText)
			}
			if strings.Contains(got[0].Message, "BackupController.cs") {
				t.Errorf("alert holds the server's stack trace: %s", got[0].Message)
			}
		})
	}
}

// deniedGetter is a Secrets Manager that refuses every read.
type deniedGetter struct{}

func (deniedGetter) GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	return nil, &smithy.GenericAPIError{
		Code:    "AccessDeniedException",
		Message: "User: arn:aws:sts::123456789012:assumed-role/healthcheck is not authorized to perform: secretsmanager:GetSecretValue",
		Fault:   smithy.FaultClient,
	}
}

func TestFaultSecret(t *testing.T) {
	endpoint := motoserver.Start(t)
	const malformedKey = "sk-malformed-secret-LEAK-5d1e8b22a0c4"
	tests := []struct {
		name string
		// value is stored as a new secret; "" uses secretID as is.
		value    string
		secretID string
		denied   bool
		wantErr  error
		wantText string
	}{
		{name: "missing", secretID: "docspace/no-such-secret", wantErr: secrets.ErrSecretNotFound, wantText: "docspace/no-such-secret"},
		{name: "access denied", denied: true, wantErr: secrets.ErrAccessDenied, wantText: "secretsmanager:GetSecretValue"},
		{name: "empty JSON member", value: `{"apiKey":"   "}`, wantErr: secrets.ErrEmptyKey, wantText: `"apiKey"`},
		{name: "blank", value: " \n ", wantErr: secrets.ErrEmptyKey},
		{name: "malformed JSON", value: `{"apiKey":"` + malformedKey + `",`, wantText: "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newFaultRig(t, endpoint, nil)
			secretID := r.stack.SecretARN
			switch {
			case tt.secretID != "":
				secretID = tt.secretID
			case tt.value != "":
				if v := strings.TrimSpace(tt.value); len(v) > 4 {
					r.secretValues = append(r.secretValues, v)
				}
				if strings.Contains(tt.value, malformedKey) {
					r.secretValues = append(r.secretValues, malformedKey)
				}
				sec, err := secretsmanager.NewFromConfig(r.aws).CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{
					Name: aws.String(fmt.Sprintf("fault-secret-%d", stackSeq.Add(1))), SecretString: aws.String(tt.value),
				})
				if err != nil {
					t.Fatalf("CreateSecret() error = %v", err)
				}
				secretID = aws.ToString(sec.ARN)
			}
			if tt.denied {
				r.h.keys = secrets.NewStore(deniedGetter{}, "apiKey", time.Minute)
			}
			raw := json.RawMessage(fmt.Sprintf(`{"secretId":%q}`, secretID))

			out, err := r.run(t, context.Background(), raw)
			if err == nil {
				t.Fatalf("Handle() = %+v, nil; want an error", out)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Handle() error = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantText) || !strings.Contains(err.Error(), "get secret") {
				t.Errorf("Handle() error = %v, want it to name the secret problem (%q)", err, tt.wantText)
			}
			if len(out.Verdicts) != 0 {
				t.Errorf("Handle() verdicts = %+v, want none", out.Verdicts)
			}
			if lines := r.logs.lines(t, "cannot read the API key"); len(lines) != 1 {
				t.Errorf("logs = %s, want one line saying the key could not be read", r.logs)
			}
			if st := r.portal.Stats(); len(st.Portals) != 0 {
				t.Errorf("portal saw %v, want no request without a key", st.Portals)
			}
			r.wantAlerts(t)
		})
	}
}

// flakyPublisher fails the first fail calls with SNS throttling, then
// delegates to next.
type flakyPublisher struct {
	next alert.Publisher
	fail atomic.Int32
}

func (p *flakyPublisher) Publish(ctx context.Context, in *sns.PublishInput, opts ...func(*sns.Options)) (*sns.PublishOutput, error) {
	if p.fail.Add(-1) >= 0 {
		return nil, &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded", Fault: smithy.FaultClient}
	}
	return p.next.Publish(ctx, in, opts...)
}

// TestFaultSNSThrottled runs a portal while SNS throttles the first
// publish, then runs the same event again as Lambda's retry would: the
// retry must publish the notice, also when the alert state store had
// already claimed it on the failed run, and a later run must not repeat it.
func TestFaultSNSThrottled(t *testing.T) {
	endpoint := motoserver.Start(t)
	tests := []struct {
		name  string
		state bool
		// before is played, and its alert delivered, before SNS throttles.
		before      fakeportal.Scenario
		beforeAlert string
		then        fakeportal.Scenario
		want        string
	}{
		{name: "alert without state table", then: fakeportal.Inactive, want: "alert:service_inactive"},
		{name: "alert with state table", state: true, then: fakeportal.Inactive, want: "alert:service_inactive"},
		{name: "resolved with state table", state: true, before: fakeportal.Inactive, beforeAlert: "alert:service_inactive",
			then: fakeportal.Healthy, want: "resolved:service_inactive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newFaultRig(t, endpoint, nil)
			r.setClock(time.Now().UTC())
			if tt.state {
				r.useState(t, nil, "")
			}
			pub := &flakyPublisher{next: r.h.publisher}
			r.h.publisher = pub
			raw := r.input(r.url + "/p/watched-1")
			play := func(s fakeportal.Scenario) {
				t.Helper()
				if err := r.portal.SetPortalScenario("watched-1", s); err != nil {
					t.Fatal(err)
				}
			}
			if tt.before != "" {
				play(tt.before)
				if _, err := r.run(t, context.Background(), raw); err != nil {
					t.Fatalf("Handle() before the fault error = %v, want nil", err)
				}
				r.wantAlerts(t, tt.beforeAlert)
			}
			play(tt.then)
			pub.fail.Store(1)

			_, err := r.run(t, context.Background(), raw)
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "Throttling" {
				t.Fatalf("Handle() error = %v, want the throttling error", err)
			}
			if lines := r.logs.lines(t, "backup check: notice NOT published"); len(lines) != 1 {
				t.Errorf("logs = %s, want one line saying the notice was NOT published", r.logs)
			}
			r.wantAlerts(t)

			// The next scheduled run (no async retries: the schedule is the
			// retry) sends the notice that stayed pending, marked late.
			r.advance(15 * time.Minute)
			if _, err := r.run(t, context.Background(), raw); err != nil {
				t.Fatalf("next Handle() error = %v, want nil", err)
			}
			got := r.wantAlerts(t, tt.want)
			if tt.state && (len(got) != 1 || !strings.HasPrefix(got[0].Subject, "[late] ")) {
				t.Errorf("next run's notice = %+v, want it marked late", got)
			}

			if tt.state {
				r.advance(15 * time.Minute)
				if _, err := r.run(t, context.Background(), raw); err != nil {
					t.Fatalf("later Handle() error = %v, want nil", err)
				}
				r.wantAlerts(t)
			}
		})
	}
}

// failingDB is a DynamoDB whose Query or PutItem fails; the other call goes
// to next.
type failingDB struct {
	next               alertstate.API
	failQuery, failPut bool
}

func (d failingDB) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	if d.failQuery {
		return nil, &smithy.GenericAPIError{Code: "InternalServerError", Message: "injected query failure", Fault: smithy.FaultServer}
	}
	return d.next.Query(ctx, in, opts...)
}

func (d failingDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if d.failPut {
		return nil, &smithy.GenericAPIError{Code: "ProvisionedThroughputExceededException", Message: "injected put failure", Fault: smithy.FaultServer}
	}
	return d.next.PutItem(ctx, in, opts...)
}

func TestFaultStateUnavailable(t *testing.T) {
	endpoint := motoserver.Start(t)
	tests := []struct {
		name     string
		table    string
		db       func(real alertstate.API) alertstate.API
		scenario string
		want     []string
		wantLog  string
	}{
		{name: "table missing", table: "no-such-table", scenario: "inactive-1", want: []string{"alert:service_inactive"}, wantLog: "ResourceNotFoundException"},
		{name: "query fails", db: func(a alertstate.API) alertstate.API { return failingDB{next: a, failQuery: true} },
			scenario: "stale-1", want: []string{"alert:backup_stale"}, wantLog: "injected query failure"},
		{name: "put fails", db: func(a alertstate.API) alertstate.API { return failingDB{next: a, failPut: true} },
			scenario: "forbidden-1", want: []string{"alert:permission_denied"}, wantLog: "injected put failure"},
		{name: "table missing, portal healthy", table: "no-such-table", scenario: "healthy-1", wantLog: "ResourceNotFoundException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newFaultRig(t, endpoint, nil)
			var db alertstate.API = dynamodb.NewFromConfig(r.aws)
			if tt.db != nil {
				db = tt.db(db)
			}
			r.useState(t, db, tt.table)
			raw := r.input(r.url + "/p/" + tt.scenario)

			out, err := r.run(t, context.Background(), raw)
			if err != nil || len(out.Verdicts) != 1 {
				t.Fatalf("Handle() = %+v, %v; want one verdict and no error", out, err)
			}
			r.wantAlerts(t, tt.want...)
			lines := r.logs.lines(t, "alert state unavailable: alerting anyway, a duplicate beats silence")
			if len(lines) != 1 || !strings.Contains(fmt.Sprint(lines[0]["error"]), tt.wantLog) {
				t.Errorf("logs = %s, want one line saying why the state is unavailable (%s)", r.logs, tt.wantLog)
			}
		})
	}
}

func TestFaultGarbageInput(t *testing.T) {
	r := newFaultRig(t, motoserver.Start(t), nil)
	junk := make([]byte, 1<<20)
	for i := range junk {
		junk[i] = byte(i*7 + i/251)
	}
	inputs := map[string]string{
		"string":                 `"x"`,
		"open bracket":           `[`,
		"portals not a list":     `{"portals":"no"}`,
		"1 MB of junk":           string(junk),
		"1 MB of junk in braces": "{" + strings.Repeat(`"junk":[`, 1<<17),
	}
	for name, raw := range inputs {
		out, err := r.run(t, context.Background(), json.RawMessage(raw))
		if err == nil {
			t.Errorf("Handle(%s) = %+v, nil; want an error", name, out)
		}
		if len(out.Verdicts) != 0 {
			t.Errorf("Handle(%s) verdicts = %+v, want none", name, out.Verdicts)
		}
	}
	if got := len(r.logs.lines(t, "bad input")); got != len(inputs) {
		t.Errorf("%d \"bad input\" log lines, want %d", got, len(inputs))
	}
	if st := r.portal.Stats(); len(st.Portals) != 0 {
		t.Errorf("portal saw %v, want no request", st.Portals)
	}
	r.wantAlerts(t)
}

// timedPublisher records when each publish returned.
type timedPublisher struct {
	next alert.Publisher
	mu   sync.Mutex
	done []time.Time
}

func (p *timedPublisher) Publish(ctx context.Context, in *sns.PublishInput, opts ...func(*sns.Options)) (*sns.PublishOutput, error) {
	out, err := p.next.Publish(ctx, in, opts...)
	if err == nil {
		p.mu.Lock()
		p.done = append(p.done, time.Now())
		p.mu.Unlock()
	}
	return out, err
}

// TestFaultDeadlineMidRetry: the portal hangs far longer than the
// invocation, and HTTP_TIMEOUT allows even more; the handler must cut the
// check at its cutoff, log the verdict, get the alert into the queue and
// return, all within the reserve it keeps before the deadline.
//
// The cutoff comes 2 s after the run starts and the reserve is the rest of
// a 60 s invocation (reserveFor, the seam over defaultReserve, whose
// arithmetic TestBudget checks): publishing to moto on a loaded machine
// takes what it takes, and only a handler that ignored its budget would
// miss a deadline that far.
func TestFaultDeadlineMidRetry(t *testing.T) {
	t.Parallel() // it mostly waits on timeouts, as do the other three tests marked so: they wait together
	r := newFaultRig(t, motoserver.Start(t), map[string]string{"HTTP_TIMEOUT": "20s"})
	// A first run, with no deadline, reads the key: the cut run below
	// then spends its 2 s on the portal alone, whatever moto's speed.
	if out, err := r.run(t, context.Background(), nil); err != nil || len(out.Verdicts) != 1 || !out.Verdicts[0].Healthy() {
		t.Fatalf("first Handle() = %+v, %v; want one healthy verdict", out, err)
	}
	if err := r.portal.SetConfig(fakeportal.Config{Scenario: fakeportal.Healthy, Delay: fakeportal.Duration(10 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	pub := &timedPublisher{next: r.h.publisher}
	r.h.publisher = pub
	const checkFor, deliver = 2 * time.Second, 10 * time.Second
	r.h.reserveFor = func(remaining time.Duration) reserve {
		return reserve{end: remaining - checkFor, deliver: deliver}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	deadline, _ := ctx.Deadline()
	publishBy := deadline.Add(-deliver)

	out, err := r.run(t, ctx, nil)
	returned := time.Now()
	if err != nil || len(out.Verdicts) != 1 || out.Verdicts[0].Reason != backupcheck.Unreachable {
		t.Fatalf("Handle() = %+v, %v; want one unreachable verdict", out, err)
	}
	if !returned.Before(deadline) {
		t.Errorf("Handle() returned %v after the deadline", returned.Sub(deadline))
	}
	if lines := r.logs.lines(t, "backup check"); len(lines) != 2 || lines[1]["outcome"] != string(backupcheck.Unreachable) {
		t.Errorf("logs = %s, want the unreachable verdict logged after the first run's", r.logs)
	}
	pub.mu.Lock()
	done := slices.Clone(pub.done)
	pub.mu.Unlock()
	if len(done) != 1 || !done[0].Before(publishBy) {
		t.Errorf("publishes done at %v, want one before publishing stops at %v", done, publishBy)
	}
	r.wantAlerts(t, "alert:unreachable")
}
