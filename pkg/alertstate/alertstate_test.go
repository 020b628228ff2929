package alertstate

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// fakeAPI is an in-memory table that understands the expressions the store
// sends. pageSize > 0 splits Query answers into pages.
type fakeAPI struct {
	mu       sync.Mutex
	items    map[[2]string]map[string]types.AttributeValue
	pageSize int
	// beforePut runs before each PutItem is applied, with the lock
	// released; an error from it is PutItem's answer.
	beforePut func(n int, in *dynamodb.PutItemInput) error
	queryErr  error
	puts      int
	queries   int
}

func newFake() *fakeAPI {
	return &fakeAPI{items: map[[2]string]map[string]types.AttributeValue{}}
}

func sval(av types.AttributeValue) string {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		return v.Value
	case *types.AttributeValueMemberN:
		return v.Value
	}
	return ""
}

func (f *fakeAPI) Query(_ context.Context, in *dynamodb.QueryInput, _ ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries++
	if f.queryErr != nil {
		return nil, f.queryErr
	}
	portal := sval(in.ExpressionAttributeValues[":p"])
	reason, byReason := in.ExpressionAttributeValues[":r"]
	var keys [][2]string
	for k := range f.items {
		if k[0] == portal && (!byReason || k[1] == sval(reason)) {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b [2]string) int { return strings.Compare(a[1], b[1]) })
	if start := in.ExclusiveStartKey; start != nil {
		i := slices.IndexFunc(keys, func(k [2]string) bool { return k[1] > sval(start[ReasonKey]) })
		if i < 0 {
			i = len(keys)
		}
		keys = keys[i:]
	}
	out := &dynamodb.QueryOutput{}
	if f.pageSize > 0 && len(keys) > f.pageSize {
		keys = keys[:f.pageSize]
		last := keys[len(keys)-1]
		out.LastEvaluatedKey = map[string]types.AttributeValue{
			PortalKey: &types.AttributeValueMemberS{Value: last[0]},
			ReasonKey: &types.AttributeValueMemberS{Value: last[1]},
		}
	}
	for _, k := range keys {
		out.Items = append(out.Items, f.items[k])
	}
	return out, nil
}

func (f *fakeAPI) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	f.mu.Lock()
	f.puts++
	n, hook := f.puts, f.beforePut
	f.mu.Unlock()
	if hook != nil {
		if err := hook(n, in); err != nil {
			return nil, err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	k := [2]string{sval(in.Item[PortalKey]), sval(in.Item[ReasonKey])}
	old, exists := f.items[k]
	cond := *in.ConditionExpression
	switch {
	case strings.HasPrefix(cond, "attribute_not_exists"):
		if exists {
			return nil, &types.ConditionalCheckFailedException{Message: aws.String("exists")}
		}
	case cond == "#v = :v":
		if !exists || sval(old["version"]) != sval(in.ExpressionAttributeValues[":v"]) {
			return nil, &types.ConditionalCheckFailedException{Message: aws.String("version")}
		}
	default:
		return nil, fmt.Errorf("fake does not know condition %q", cond)
	}
	f.items[k] = in.Item
	return &dynamodb.PutItemOutput{}, nil
}

// set stores an item as another run would have written it.
func (f *fakeAPI) set(portal string, it item, now time.Time) {
	s := &Store{policy: DefaultPolicy()}
	g := &fakeAPI{items: map[[2]string]map[string]types.AttributeValue{}}
	s.api, s.table = g, "t"
	cur := it
	cur.exists = false
	cur.version = it.version - 1
	if err := s.write(context.Background(), portal, cur, it, now); err != nil {
		panic(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.items[[2]string{portal, it.reason}] = g.items[[2]string{portal, it.reason}]
}

var t0 = time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

type run struct {
	reason string
	at     time.Duration
	want   []Notice
}

type scenario struct {
	name   string
	policy func(*Policy)
	runs   []run
}

const m15 = 15 * time.Minute

var scenarios = []scenario{
	{name: "unreachable alerts on the second failure", runs: []run{
		{reason: "unreachable", at: 0},
		{reason: "unreachable", at: m15, want: []Notice{{Kind: Alert, Reason: "unreachable", Since: t0, Failures: 2}}},
		{reason: "unreachable", at: 2 * m15},
	}},
	{name: "threshold 1 alerts at once and not again", runs: []run{
		{reason: "service_inactive", at: 0, want: []Notice{{Kind: Alert, Reason: "service_inactive", Since: t0, Failures: 1}}},
		{reason: "service_inactive", at: m15},
		{reason: "service_inactive", at: 2 * m15},
	}},
	{name: "reminder after RemindEvery", runs: []run{
		{reason: "backup_stale", at: 0, want: []Notice{{Kind: Alert, Reason: "backup_stale", Since: t0, Failures: 1}}},
		{reason: "backup_stale", at: 24*time.Hour - time.Second},
		{reason: "backup_stale", at: 24 * time.Hour, want: []Notice{{Kind: Reminder, Reason: "backup_stale", Since: t0, Failures: 3, LastNotified: t0}}},
		{reason: "backup_stale", at: 24*time.Hour + m15},
		{reason: "backup_stale", at: 48 * time.Hour, want: []Notice{{Kind: Reminder, Reason: "backup_stale", Since: t0, Failures: 5, LastNotified: at(24 * time.Hour)}}},
	}},
	{name: "RemindEvery 0 never reminds", policy: func(p *Policy) { p.RemindEvery = 0 }, runs: []run{
		{reason: "backup_stale", at: 0, want: []Notice{{Kind: Alert, Reason: "backup_stale", Since: t0, Failures: 1}}},
		{reason: "backup_stale", at: 240 * time.Hour},
	}},
	{name: "resolved after ResolveAfter 2 healthy runs", policy: func(p *Policy) { p.ResolveAfter = 2 }, runs: []run{
		{reason: "no_schedule", at: 0, want: []Notice{{Kind: Alert, Reason: "no_schedule", Since: t0, Failures: 1}}},
		{reason: Healthy, at: m15},
		{reason: Healthy, at: 2 * m15, want: []Notice{{Kind: Resolved, Reason: "no_schedule", Since: t0, Failures: 1, LastNotified: t0}}},
		{reason: Healthy, at: 3 * m15},
	}},
	{name: "a failure between healthy runs restarts ResolveAfter", policy: func(p *Policy) { p.ResolveAfter = 2 }, runs: []run{
		{reason: "no_schedule", at: 0, want: []Notice{{Kind: Alert, Reason: "no_schedule", Since: t0, Failures: 1}}},
		{reason: Healthy, at: m15},
		{reason: "no_schedule", at: 2 * m15},
		{reason: Healthy, at: 3 * m15},
		{reason: Healthy, at: 4 * m15, want: []Notice{{Kind: Resolved, Reason: "no_schedule", Since: t0, Failures: 2, LastNotified: t0}}},
	}},
	{name: "recovery of a never-notified failure is silent", runs: []run{
		{reason: "unreachable", at: 0},
		{reason: Healthy, at: m15},
		{reason: "unreachable", at: 2 * m15},
		{reason: "unreachable", at: 3 * m15, want: []Notice{{Kind: Alert, Reason: "unreachable", Since: at(2 * m15), Failures: 2}}},
	}},
	{name: "a new streak alerts again", runs: []run{
		{reason: "backup_failed", at: 0, want: []Notice{{Kind: Alert, Reason: "backup_failed", Since: t0, Failures: 1}}},
		{reason: Healthy, at: m15, want: []Notice{{Kind: Resolved, Reason: "backup_failed", Since: t0, Failures: 1, LastNotified: t0}}},
		{reason: "backup_failed", at: 2 * m15, want: []Notice{{Kind: Alert, Reason: "backup_failed", Since: at(2 * m15), Failures: 1}}},
	}},
	{name: "a reason change counts the new reason and resolves the old", runs: []run{
		{reason: "service_inactive", at: 0, want: []Notice{{Kind: Alert, Reason: "service_inactive", Since: t0, Failures: 1}}},
		{reason: "permission_denied", at: m15, want: []Notice{
			{Kind: Alert, Reason: "permission_denied", Since: at(m15), Failures: 1},
			{Kind: Resolved, Reason: "service_inactive", Since: t0, Failures: 1, LastNotified: t0},
		}},
		{reason: Healthy, at: 2 * m15, want: []Notice{{Kind: Resolved, Reason: "permission_denied", Since: at(m15), Failures: 1, LastNotified: at(m15)}}},
	}},
	{name: "other failing reasons resolve in lexical order", runs: []run{
		{reason: "unreachable", at: 0},
		{reason: "service_inactive", at: m15, want: []Notice{{Kind: Alert, Reason: "service_inactive", Since: at(m15), Failures: 1}}},
		{reason: "unreachable", at: 2 * m15, want: []Notice{{Kind: Resolved, Reason: "service_inactive", Since: at(m15), Failures: 1, LastNotified: at(m15)}}},
		{reason: "backup_failed", at: 3 * m15, want: []Notice{{Kind: Alert, Reason: "backup_failed", Since: at(3 * m15), Failures: 1}}},
		{reason: "payment_required", at: 4 * m15, want: []Notice{{Kind: Alert, Reason: "payment_required", Since: at(4 * m15), Failures: 1}, {Kind: Resolved, Reason: "backup_failed", Since: at(3 * m15), Failures: 1, LastNotified: at(3 * m15)}}},
	}},
}

func noticesEqual(a, b []Notice) bool {
	return slices.EqualFunc(a, b, func(x, y Notice) bool {
		return x.Kind == y.Kind && x.Portal == y.Portal && x.Reason == y.Reason && x.Since.Equal(y.Since) && x.Failures == y.Failures && x.LastNotified.Equal(y.LastNotified) && x.Late == y.Late
	})
}

// testReasons are the reasons the tests use; judged runs judge them all.
var testReasons = []string{"backup_failed", "backup_stale", "bad_response", "no_schedule", "payment_required", "permission_denied", "service_inactive", "unreachable"}

// judged is a run that judged every reason and found only reason failing
// (nothing for Healthy).
func judged(reason string) Run {
	r := Run{Evaluated: testReasons}
	if reason != Healthy {
		r.Failing = []string{reason}
	}
	return r
}

// deliver marks every notice delivered, as the handler does once SNS took it.
func deliver(t *testing.T, s *Store, ns []Notice) {
	t.Helper()
	for _, n := range ns {
		if err := s.Delivered(context.Background(), n); err != nil {
			t.Fatalf("Delivered(%+v) error = %v", n, err)
		}
	}
}

// runScenarios plays every scenario on its own portal of the table.
func runScenarios(t *testing.T, api API, table string) {
	t.Helper()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			p := DefaultPolicy()
			if sc.policy != nil {
				sc.policy(&p)
			}
			s, err := NewStore(api, table, p)
			if err != nil {
				t.Fatalf("NewStore() error = %v", err)
			}
			portal := "https://" + strings.ReplaceAll(sc.name, " ", "-") + ".example.com"
			for i, r := range sc.runs {
				want := slices.Clone(r.want)
				for j := range want {
					want[j].Portal = portal
				}
				got, err := s.Record(context.Background(), portal, judged(r.reason), at(r.at))
				if err != nil || !noticesEqual(got, want) {
					t.Fatalf("run %d: Record(%q, %v) = %+v, %v, want %+v", i, r.reason, r.at, got, err, want)
				}
				deliver(t, s, got)
			}
		})
	}
}

func TestRecord(t *testing.T) {
	runScenarios(t, newFake(), "alerts")
}

func TestRecordPaged(t *testing.T) {
	f := newFake()
	f.pageSize = 1
	runScenarios(t, f, "alerts")
}

func TestRecordWritesTTLAndVersion(t *testing.T) {
	f := newFake()
	p := DefaultPolicy()
	p.TTL = time.Hour
	s, err := NewStore(f, "alerts", p)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := s.Record(context.Background(), "p", judged("unreachable"), at(time.Duration(i)*m15)); err != nil {
			t.Fatalf("Record() error = %v", err)
		}
	}
	got := f.items[[2]string{"p", "unreachable"}]
	want := map[string]string{
		TTLAttribute: fmt.Sprint(at(m15 + time.Hour).Unix()),
		"version":    "2",
		"failures":   "2",
		"since":      "2026-11-29T00:00:00Z",
		"lastSeen":   "2026-11-29T00:15:00Z",
	}
	for name, w := range want {
		if v := sval(got[name]); v != w {
			t.Errorf("item[%s] = %q, want %q", name, v, w)
		}
	}
}

func TestRecordHealthyWritesNothing(t *testing.T) {
	f := newFake()
	s, _ := NewStore(f, "alerts", DefaultPolicy())
	for i := range 3 {
		if got, err := s.Record(context.Background(), "p", judged(Healthy), at(time.Duration(i)*m15)); err != nil || len(got) != 0 {
			t.Fatalf("Record(healthy) = %v, %v, want none", got, err)
		}
	}
	if f.puts != 0 || len(f.items) != 0 {
		t.Errorf("puts = %d, items = %d, want 0, 0", f.puts, len(f.items))
	}
}

func TestRecordLostRace(t *testing.T) {
	tests := []struct {
		name   string
		stored item // what the winning run wrote, or reason "" for nothing
		reason string
		other  item // what the winning run writes between this run's read and write
		want   []Notice
	}{
		{
			name:   "winner claimed the alert on a new item",
			reason: "service_inactive",
			other:  item{reason: "service_inactive", failing: true, since: t0, failures: 1, notified: true, lastNotified: t0, version: 1},
		},
		{
			name:   "winner claimed the alert on an existing item",
			stored: item{reason: "unreachable", failing: true, since: t0, failures: 1, version: 1},
			reason: "unreachable",
			other:  item{reason: "unreachable", failing: true, since: t0, failures: 2, notified: true, lastNotified: at(m15), version: 2},
		},
		{
			name:   "winner claimed the resolution",
			stored: item{reason: "backup_stale", failing: true, since: t0, failures: 1, notified: true, lastNotified: t0, version: 1},
			reason: Healthy,
			other:  item{reason: "backup_stale", version: 2},
		},
		{
			name:   "winner counted a failure, this run still alerts",
			stored: item{reason: "unreachable", failing: true, since: t0, failures: 1, notified: true, lastNotified: t0, version: 1},
			reason: "bad_response",
			other:  item{reason: "bad_response", failing: true, since: t0, failures: 1, version: 1},
			want:   []Notice{{Kind: Alert, Portal: "p", Reason: "bad_response", Since: t0, Failures: 2}, {Kind: Resolved, Portal: "p", Reason: "unreachable", Since: t0, Failures: 1, LastNotified: t0}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			if tt.stored.reason != "" {
				f.set("p", tt.stored, t0)
			}
			f.beforePut = func(n int, _ *dynamodb.PutItemInput) error {
				if n == 1 {
					f.set("p", tt.other, at(m15))
				}
				return nil
			}
			s, _ := NewStore(f, "alerts", DefaultPolicy())
			s.backoff = func(int) time.Duration { return 0 }
			got, err := s.Record(context.Background(), "p", judged(tt.reason), at(m15))
			if err != nil || !noticesEqual(got, tt.want) {
				t.Errorf("Record(%q) = %+v, %v, want %+v", tt.reason, got, err, tt.want)
			}
		})
	}
}

func TestRecordConflict(t *testing.T) {
	f := newFake()
	f.beforePut = func(int, *dynamodb.PutItemInput) error { return &types.ConditionalCheckFailedException{} }
	s, _ := NewStore(f, "alerts", DefaultPolicy())
	s.backoff = func(int) time.Duration { return 0 }
	got, err := s.Record(context.Background(), "p", judged("backup_failed"), t0)
	if !errors.Is(err, ErrConflict) || errors.Is(err, ErrUnavailable) || len(got) != 0 {
		t.Errorf("Record() = %v, %v, want no notice and ErrConflict", got, err)
	}
	if f.puts != defaultAttempts || !strings.Contains(err.Error(), "giving up after 3 attempt(s)") {
		t.Errorf("puts = %d, error = %v, want %d attempts", f.puts, err, defaultAttempts)
	}
}

func TestRecordUnavailable(t *testing.T) {
	down := errors.New("connection refused")
	tests := []struct {
		name    string
		setup   func(*fakeAPI)
		want    []Notice
		wantErr string
	}{
		{name: "query fails", setup: func(f *fakeAPI) { f.queryErr = down }, wantErr: "connection refused"},
		{name: "put fails", setup: func(f *fakeAPI) {
			f.beforePut = func(int, *dynamodb.PutItemInput) error { return down }
		}, wantErr: "connection refused"},
		{name: "second put fails after a claimed alert", setup: func(f *fakeAPI) {
			f.set("p", item{reason: "unreachable", failing: true, since: t0, failures: 1, notified: true, lastNotified: t0, version: 1}, t0)
			f.beforePut = func(n int, _ *dynamodb.PutItemInput) error {
				if n == 2 {
					return down
				}
				return nil
			}
		}, want: []Notice{{Kind: Alert, Portal: "p", Reason: "backup_failed", Since: t0, Failures: 1}}, wantErr: "p/unreachable"},
		{name: "undecodable item", setup: func(f *fakeAPI) {
			f.items[[2]string{"p", "x"}] = map[string]types.AttributeValue{ReasonKey: &types.AttributeValueMemberS{Value: "x"}, "failures": &types.AttributeValueMemberS{Value: "many"}}
		}, wantErr: "attribute failures is not a number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			tt.setup(f)
			s, _ := NewStore(f, "alerts", DefaultPolicy())
			got, err := s.Record(context.Background(), "p", judged("backup_failed"), t0)
			if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), tt.wantErr) || !noticesEqual(got, tt.want) {
				t.Errorf("Record() = %+v, %v, want %+v and ErrUnavailable mentioning %q", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestRecordInvalidInput(t *testing.T) {
	s, _ := NewStore(newFake(), "alerts", DefaultPolicy())
	for _, in := range [][2]string{{"", "unreachable"}, {"p", ""}} {
		if _, err := s.Record(context.Background(), in[0], judged(in[1]), t0); err == nil || errors.Is(err, ErrUnavailable) {
			t.Errorf("Record(%q, %q) error = %v, want an input error", in[0], in[1], err)
		}
	}
}

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*Policy)
		wantErr string
	}{
		{name: "default", change: func(*Policy) {}},
		{name: "no reminders", change: func(p *Policy) { p.RemindEvery = 0 }},
		{name: "nil FailAfter", change: func(p *Policy) { p.FailAfter = nil }},
		{name: "zero policy", change: func(p *Policy) { *p = Policy{} }, wantErr: "DefaultFailAfter 0 is below 1"},
		{name: "FailAfter 0", change: func(p *Policy) { p.FailAfter["unreachable"] = 0 }, wantErr: `FailAfter["unreachable"] 0 is below 1`},
		{name: "FailAfter healthy", change: func(p *Policy) { p.FailAfter[Healthy] = 1 }, wantErr: `FailAfter names "healthy"`},
		{name: "ResolveAfter 0", change: func(p *Policy) { p.ResolveAfter = 0 }, wantErr: "ResolveAfter 0 is below 1"},
		{name: "negative RemindEvery", change: func(p *Policy) { p.RemindEvery = -time.Hour }, wantErr: "RemindEvery -1h0m0s is negative"},
		{name: "zero TTL", change: func(p *Policy) { p.TTL = 0 }, wantErr: "TTL 0s is not positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultPolicy()
			tt.change(&p)
			err := p.Validate()
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Validate() = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewStore(t *testing.T) {
	if _, err := NewStore(nil, "t", DefaultPolicy()); err == nil {
		t.Error("NewStore(nil) error = nil, want one")
	}
	if _, err := NewStore(newFake(), "", DefaultPolicy()); err == nil {
		t.Error(`NewStore(table "") error = nil, want one`)
	}
	if _, err := NewStore(newFake(), "t", Policy{}); err == nil {
		t.Error("NewStore(Policy{}) error = nil, want one")
	}
	p := DefaultPolicy()
	s, err := NewStore(newFake(), "t", p)
	if err != nil {
		t.Fatalf("NewStore() error = %v", err)
	}
	p.FailAfter["unreachable"] = 0
	if got := s.policy.failAfter("unreachable"); got != 2 {
		t.Errorf("failAfter(unreachable) after the caller changed its map = %d, want 2", got)
	}
}

// TestDeliveredOutlastsOverlappingWrites: the run that claimed an alert
// clears it after the overlapping runs' writes, each of which makes its
// conditional write fail. A claim left behind is sent again after the
// lease: a duplicate alert (seen against a serialized moto as 2 alerts
// from 2 rounds of 8 overlapping runs).
func TestDeliveredOutlastsOverlappingWrites(t *testing.T) {
	for _, tt := range []struct {
		name        string
		otherWrites int
		wantErr     error
	}{
		{"as many as a Record's attempts", defaultAttempts, nil},
		{"twice as many", 2 * defaultAttempts, nil},
		{"without end", 1000, ErrConflict},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			s, _ := NewStore(f, "alerts", DefaultPolicy())
			var waits []int
			s.backoff = func(n int) time.Duration { waits = append(waits, n); return 0 }
			got, err := s.Record(context.Background(), "p", judged("backup_failed"), t0)
			if err != nil || len(got) != 1 || got[0].Kind != Alert {
				t.Fatalf("Record() = %v, %v, want an Alert", got, err)
			}
			// Before each of Delivered's writes, another run writes the item.
			written := 0
			f.beforePut = func(_ int, in *dynamodb.PutItemInput) error {
				if written == tt.otherWrites {
					return nil
				}
				written++
				f.mu.Lock()
				k := [2]string{"p", "backup_failed"}
				other := maps.Clone(f.items[k])
				v, _ := strconv.Atoi(sval(other["version"]))
				other["version"] = &types.AttributeValueMemberN{Value: strconv.Itoa(v + 1)}
				f.items[k] = other
				f.mu.Unlock()
				return nil
			}
			err = s.Delivered(context.Background(), got[0])
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Delivered() after %d overlapping writes = %v, want %v", tt.otherWrites, err, tt.wantErr)
			}
			if tt.wantErr == nil {
				f.beforePut = nil
				items, _ := s.read(context.Background(), "p", "backup_failed")
				if it := items["backup_failed"]; it.pending != None {
					t.Errorf("after Delivered() the item still holds a pending %s", it.pending)
				}
				if len(waits) != tt.otherWrites {
					t.Errorf("Delivered() waited %d time(s) between attempts, want %d", len(waits), tt.otherWrites)
				}
			}
		})
	}
}
