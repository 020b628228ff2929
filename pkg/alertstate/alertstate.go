// Package alertstate decides, with state kept in DynamoDB, whether a backup
// health check run must notify, so alerts neither spam nor go silent.
//
// Each run records its verdict for a portal with [Store.Record]: the reason
// string "healthy" ([Healthy]) or a failing reason such as "unreachable".
// The store keeps one item per (portal, failing reason) and answers with the
// notices the run must send: an [Alert] once a reason has failed
// [Policy.FailAfter] runs in a row, a [Reminder] every [Policy.RemindEvery]
// while it keeps failing, and [Resolved] once it has not failed for
// [Policy.ResolveAfter] runs in a row.
//
// # Table
//
// The table has partition key "portal" (S) and sort key "reason" (S); its
// TTL attribute is "expiresAt" (N, epoch seconds). An item holds:
//
//	failing       BOOL  whether the reason is in a failing streak
//	since         S     RFC 3339 time the streak began (absent when not failing)
//	failures      N     consecutive runs that failed with this reason
//	successes     N     consecutive runs without this reason while failing
//	notified      BOOL  whether the streak's alert went out
//	lastNotified  S     RFC 3339 time of the last alert or reminder
//	lastSeen      S     RFC 3339 time of the last run that wrote the item
//	version       N     optimistic-locking counter, 1 on creation
//	expiresAt     N     epoch seconds, now + Policy.TTL on every write
//
// # Overlapping runs
//
// Every write is conditional on the version read, so of two overlapping runs
// only the one whose write lands first claims a notice; the other re-reads
// the item, recomputes and finds the notice already claimed. Each Record
// counts as one run, so overlapping runs both count.
//
// The function needs dynamodb:Query and dynamodb:PutItem on the table.
package alertstate

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Healthy is the reason of a verdict that found nothing wrong.
const Healthy = "healthy"

// Table attribute names, for templates and tests.
const (
	// PortalKey is the partition key (S).
	PortalKey = "portal"
	// ReasonKey is the sort key (S).
	ReasonKey = "reason"
	// TTLAttribute is the attribute to enable DynamoDB TTL on (N, epoch
	// seconds).
	TTLAttribute = "expiresAt"
)

// Errors callers branch on with errors.Is.
var (
	// ErrUnavailable is DynamoDB failing to read or write the state, or
	// an item it cannot decode. The caller cannot know whether a notice is
	// due and should send the alert for a failing verdict anyway: a
	// duplicate alert is better than silence.
	ErrUnavailable = errors.New("alert state unavailable")
	// ErrConflict is an item that overlapping runs kept changing while
	// this run tried to write it. Those runs recorded the reason and own
	// its notices, so the caller should not fall back to alerting.
	ErrConflict = errors.New("alert state changed by overlapping runs")
)

// Kind says what a notice announces.
type Kind string

// Kinds of notice.
const (
	// None is no notice; Record never returns it.
	None Kind = ""
	// Alert is the first notice of a failing streak, sent when the reason
	// reaches its FailAfter threshold.
	Alert Kind = "alert"
	// Reminder repeats the alert while the reason keeps failing, every
	// RemindEvery since the last notice.
	Reminder Kind = "reminder"
	// Resolved says a notified reason has not failed for ResolveAfter runs
	// in a row.
	Resolved Kind = "resolved"
)

// Notice is one thing to send.
type Notice struct {
	Kind   Kind
	Portal string
	Reason string
	// Since is when the failing streak began.
	Since time.Time
	// Failures is the number of consecutive failing runs in the streak.
	Failures int
	// LastNotified is the time of the streak's previous alert or reminder;
	// it is zero for an Alert.
	LastNotified time.Time
	// ClaimedAt is the time of the run that claimed the notice in the
	// table; Release uses it to give back only that claim.
	ClaimedAt time.Time
}

// Policy sets when a reason alerts, reminds and resolves.
type Policy struct {
	// FailAfter is the number of consecutive failing runs after which a
	// reason alerts, per reason; reasons not in it use DefaultFailAfter.
	FailAfter map[string]int
	// DefaultFailAfter is the threshold of reasons not in FailAfter.
	DefaultFailAfter int
	// RemindEvery is the time from one notice of a failing reason to its
	// reminder; 0 never reminds.
	RemindEvery time.Duration
	// ResolveAfter is the number of consecutive runs without the reason
	// after which a failing reason resolves.
	ResolveAfter int
	// TTL is how long an item lives after its last write; keep it well
	// above the check interval and RemindEvery.
	TTL time.Duration
}

// DefaultPolicy returns the policy for a check every 15 minutes: transient
// "unreachable" and "bad_response" alert after 2 failing runs, every other
// reason after 1; reminders every 24h; resolved after 1 healthy run; items
// live 30 days after their last write.
func DefaultPolicy() Policy {
	return Policy{
		FailAfter:        map[string]int{"unreachable": 2, "bad_response": 2},
		DefaultFailAfter: 1,
		RemindEvery:      24 * time.Hour,
		ResolveAfter:     1,
		TTL:              30 * 24 * time.Hour,
	}
}

// Validate returns an error when a threshold is below 1, RemindEvery is
// negative, TTL is not positive, or FailAfter names the healthy reason.
func (p Policy) Validate() error {
	var errs []error
	if p.DefaultFailAfter < 1 {
		errs = append(errs, fmt.Errorf("DefaultFailAfter %d is below 1", p.DefaultFailAfter))
	}
	for _, r := range slices.Sorted(maps.Keys(p.FailAfter)) {
		switch n := p.FailAfter[r]; {
		case r == "" || r == Healthy:
			errs = append(errs, fmt.Errorf("FailAfter names %q, which is not a failing reason", r))
		case n < 1:
			errs = append(errs, fmt.Errorf("FailAfter[%q] %d is below 1", r, n))
		}
	}
	if p.ResolveAfter < 1 {
		errs = append(errs, fmt.Errorf("ResolveAfter %d is below 1", p.ResolveAfter))
	}
	if p.RemindEvery < 0 {
		errs = append(errs, fmt.Errorf("RemindEvery %v is negative (0 never reminds)", p.RemindEvery))
	}
	if p.TTL <= 0 {
		errs = append(errs, fmt.Errorf("TTL %v is not positive", p.TTL))
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid alert policy: %w", errors.Join(errs...))
	}
	return nil
}

func (p Policy) failAfter(reason string) int {
	if n, ok := p.FailAfter[reason]; ok {
		return n
	}
	return p.DefaultFailAfter
}

// API is the part of *dynamodb.Client the store needs.
type API interface {
	Query(ctx context.Context, params *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	PutItem(ctx context.Context, params *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
}

var _ API = (*dynamodb.Client)(nil)

// defaultAttempts bounds the writes of one item when overlapping runs
// change it.
const defaultAttempts = 3

// Store records verdicts in a DynamoDB table and decides what to send. It
// is safe for concurrent use, also from several processes.
type Store struct {
	api      API
	table    string
	policy   Policy
	attempts int
	// backoff is the pause before write attempt n+1.
	backoff func(n int) time.Duration
}

// NewStore returns a store on table through api. It returns an error when
// api is nil, table is empty or p is not valid (see [Policy.Validate]); use
// [DefaultPolicy] for the defaults.
func NewStore(api API, table string, p Policy) (*Store, error) {
	if api == nil {
		return nil, errors.New("new alert state store: nil DynamoDB API")
	}
	if table == "" {
		return nil, errors.New("new alert state store: empty table name")
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("new alert state store: %w", err)
	}
	p.FailAfter = maps.Clone(p.FailAfter)
	return &Store{api: api, table: table, policy: p, attempts: defaultAttempts, backoff: jitter}, nil
}

// jitter waits 10 to 50 ms times the attempt number, so overlapping runs
// that lost a write do not collide again at once.
func jitter(n int) time.Duration {
	return time.Duration(n) * (10*time.Millisecond + rand.N(40*time.Millisecond))
}

// Record records the verdict of one run for portal at now and returns the
// notices the run must send: the verdict's failing reason first, then the
// portal's other reasons in lexical order.
//
// The item of a failing reason counts one more failure; every other failing
// item of the portal counts one more success, whether the verdict is
// [Healthy] or another failing reason.
//
// A returned notice has been claimed in the table, so no other run returns
// it: send it. Record returns the notices claimed so far also when it
// returns an error. The error wraps [ErrUnavailable] when DynamoDB fails
// (the caller should then alert on a failing verdict anyway, preferring a
// duplicate to silence) and [ErrConflict] when overlapping runs kept
// changing an item. An empty portal or reason is an error.
func (s *Store) Record(ctx context.Context, portal, reason string, now time.Time) ([]Notice, error) {
	if portal == "" || reason == "" {
		return nil, fmt.Errorf("record alert state: empty portal %q or reason %q", portal, reason)
	}
	now = now.UTC()
	items, err := s.read(ctx, portal, "")
	if err != nil {
		return nil, err
	}
	var others []string
	for r, it := range items {
		if r != reason && it.failing {
			others = append(others, r)
		}
	}
	slices.Sort(others)
	order := others
	if reason != Healthy {
		order = append([]string{reason}, others...)
	}
	var notices []Notice
	var errs []error
	for _, r := range order {
		cur, ok := items[r]
		if !ok {
			cur = item{reason: r}
		}
		n, err := s.apply(ctx, portal, cur, r == reason, now)
		if err != nil {
			errs = append(errs, err)
			if errors.Is(err, ErrUnavailable) {
				break
			}
			continue
		}
		if n.Kind != None {
			notices = append(notices, n)
		}
	}
	return notices, errors.Join(errs...)
}

// apply writes one run to one item, re-reading and recomputing when an
// overlapping run wrote it first.
func (s *Store) apply(ctx context.Context, portal string, cur item, failing bool, now time.Time) (Notice, error) {
	for attempt := 1; ; attempt++ {
		next, n := s.policy.step(cur, failing, now)
		n.Portal, n.ClaimedAt = portal, now
		err := s.write(ctx, portal, cur, next, now)
		if err == nil {
			return n, nil
		}
		var ccf *types.ConditionalCheckFailedException
		if !errors.As(err, &ccf) {
			return Notice{}, fmt.Errorf("write alert state %s/%s: %w: %w", portal, cur.reason, ErrUnavailable, err)
		}
		if attempt >= s.attempts {
			return Notice{}, fmt.Errorf("write alert state %s/%s: %w: giving up after %d attempt(s)", portal, cur.reason, ErrConflict, attempt)
		}
		if err := sleep(ctx, s.backoff(attempt)); err != nil {
			return Notice{}, fmt.Errorf("write alert state %s/%s: %w: %w", portal, cur.reason, ErrUnavailable, err)
		}
		items, err := s.read(ctx, portal, cur.reason)
		if err != nil {
			return Notice{}, err
		}
		var ok bool
		if cur, ok = items[cur.reason]; !ok {
			cur = item{reason: cur.reason}
		}
		if !failing && !cur.failing {
			// An overlapping run resolved it: nothing left to count.
			return Notice{}, nil
		}
	}
}

// Release gives back the claim of a notice that Record returned but the
// caller could not deliver, so that the next run sends it again instead of
// taking it as sent: an Alert becomes due again, a Reminder is due again,
// and a Resolved item is failing again, one healthy run short of
// resolving. It changes nothing when another run has changed the item
// since the claim (that run's state wins). Errors wrap ErrUnavailable.
func (s *Store) Release(ctx context.Context, n Notice) error {
	items, err := s.read(ctx, n.Portal, n.Reason)
	if err != nil {
		return err
	}
	cur, ok := items[n.Reason]
	if !ok {
		return nil
	}
	next := cur
	switch n.Kind {
	case Alert, Reminder:
		if !cur.failing || !cur.notified || !cur.lastNotified.Equal(n.ClaimedAt) {
			return nil
		}
		if n.Kind == Alert {
			next.notified = false
		}
		next.lastNotified = n.LastNotified
	case Resolved:
		if cur.failing || !cur.lastSeen.Equal(n.ClaimedAt) {
			return nil
		}
		next.failing, next.notified, next.since, next.failures = true, true, n.Since, n.Failures
		next.successes, next.lastNotified = s.policy.ResolveAfter-1, n.LastNotified
	default:
		return nil
	}
	err = s.write(ctx, n.Portal, cur, next, n.ClaimedAt)
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil // another run changed the item since: its state wins
	}
	if err != nil {
		return fmt.Errorf("release %s of %s/%s: %w: %w", n.Kind, n.Portal, n.Reason, ErrUnavailable, err)
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// item is one (portal, reason) state as read from the table.
type item struct {
	reason       string
	exists       bool
	failing      bool
	since        time.Time
	failures     int
	successes    int
	notified     bool
	lastNotified time.Time
	lastSeen     time.Time
	version      int64
}

// step is the pure transition of one item for one run: failing says the
// run's verdict is this item's reason. It returns the item to write and
// the notice, of Kind None when there is nothing to send.
func (p Policy) step(cur item, failing bool, now time.Time) (item, Notice) {
	next := cur
	next.lastSeen = now
	if failing {
		if !cur.failing {
			next = item{reason: cur.reason, exists: cur.exists, version: cur.version, lastNotified: cur.lastNotified, lastSeen: now, failing: true, since: now}
		}
		next.failures++
		next.successes = 0
		n := Notice{Reason: cur.reason, Since: next.since, Failures: next.failures}
		switch {
		case !next.notified && next.failures >= p.failAfter(cur.reason):
			n.Kind = Alert
			next.notified, next.lastNotified = true, now
		case next.notified && p.RemindEvery > 0 && now.Sub(next.lastNotified) >= p.RemindEvery:
			n.Kind, n.LastNotified = Reminder, next.lastNotified
			next.lastNotified = now
		}
		return next, n
	}
	if !cur.failing {
		return next, Notice{}
	}
	next.successes++
	if next.successes < p.ResolveAfter {
		return next, Notice{}
	}
	var n Notice
	if cur.notified {
		n = Notice{Kind: Resolved, Reason: cur.reason, Since: cur.since, Failures: cur.failures, LastNotified: cur.lastNotified}
	}
	next.failing, next.since, next.failures, next.successes, next.notified = false, time.Time{}, 0, 0, false
	return next, n
}

// read returns the portal's items by reason: all of them, or the one of
// reason when it is not empty.
func (s *Store) read(ctx context.Context, portal, reason string) (map[string]item, error) {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		ConsistentRead:            aws.Bool(true),
		KeyConditionExpression:    aws.String("#p = :p"),
		ExpressionAttributeNames:  map[string]string{"#p": PortalKey},
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: portal}},
	}
	if reason != "" {
		in.KeyConditionExpression = aws.String("#p = :p AND #r = :r")
		in.ExpressionAttributeNames["#r"] = ReasonKey
		in.ExpressionAttributeValues[":r"] = &types.AttributeValueMemberS{Value: reason}
	}
	items := map[string]item{}
	for {
		out, err := s.api.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("read alert state of %s: %w: %w", portal, ErrUnavailable, err)
		}
		for _, av := range out.Items {
			it, err := decode(av)
			if err != nil {
				return nil, fmt.Errorf("read alert state of %s: %w: %w", portal, ErrUnavailable, err)
			}
			items[it.reason] = it
		}
		if len(out.LastEvaluatedKey) == 0 {
			return items, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// write puts next, on the condition that the stored item is still cur.
func (s *Store) write(ctx context.Context, portal string, cur, next item, now time.Time) error {
	av := map[string]types.AttributeValue{
		PortalKey:    &types.AttributeValueMemberS{Value: portal},
		ReasonKey:    &types.AttributeValueMemberS{Value: next.reason},
		"failing":    &types.AttributeValueMemberBOOL{Value: next.failing},
		"failures":   number(int64(next.failures)),
		"successes":  number(int64(next.successes)),
		"notified":   &types.AttributeValueMemberBOOL{Value: next.notified},
		"lastSeen":   timestamp(next.lastSeen),
		"version":    number(cur.version + 1),
		TTLAttribute: number(now.Add(s.policy.TTL).Unix()),
	}
	if !next.since.IsZero() {
		av["since"] = timestamp(next.since)
	}
	if !next.lastNotified.IsZero() {
		av["lastNotified"] = timestamp(next.lastNotified)
	}
	in := &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: av}
	if cur.exists {
		in.ConditionExpression = aws.String("#v = :v")
		in.ExpressionAttributeNames = map[string]string{"#v": "version"}
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":v": number(cur.version)}
	} else {
		in.ConditionExpression = aws.String("attribute_not_exists(#p)")
		in.ExpressionAttributeNames = map[string]string{"#p": PortalKey}
	}
	_, err := s.api.PutItem(ctx, in)
	return err
}

func number(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

func timestamp(t time.Time) types.AttributeValue {
	return &types.AttributeValueMemberS{Value: t.UTC().Format(time.RFC3339Nano)}
}

// decode reads an item; absent attributes are zero.
func decode(av map[string]types.AttributeValue) (item, error) {
	it := item{exists: true}
	var errs []error
	str := func(name string) string {
		switch v := av[name].(type) {
		case nil:
		case *types.AttributeValueMemberS:
			return v.Value
		default:
			errs = append(errs, fmt.Errorf("attribute %s is not a string", name))
		}
		return ""
	}
	boolean := func(name string) bool {
		switch v := av[name].(type) {
		case nil:
		case *types.AttributeValueMemberBOOL:
			return v.Value
		default:
			errs = append(errs, fmt.Errorf("attribute %s is not a boolean", name))
		}
		return false
	}
	num := func(name string) int64 {
		switch v := av[name].(type) {
		case nil:
		case *types.AttributeValueMemberN:
			n, err := strconv.ParseInt(v.Value, 10, 64)
			if err != nil {
				errs = append(errs, fmt.Errorf("attribute %s: %w", name, err))
			}
			return n
		default:
			errs = append(errs, fmt.Errorf("attribute %s is not a number", name))
		}
		return 0
	}
	when := func(name string) time.Time {
		s := str(name)
		if s == "" {
			return time.Time{}
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			errs = append(errs, fmt.Errorf("attribute %s: %w", name, err))
		}
		return t
	}
	it.reason = str(ReasonKey)
	it.failing = boolean("failing")
	it.since = when("since")
	it.failures = int(num("failures"))
	it.successes = int(num("successes"))
	it.notified = boolean("notified")
	it.lastNotified = when("lastNotified")
	it.lastSeen = when("lastSeen")
	it.version = num("version")
	if it.reason == "" {
		errs = append(errs, errors.New("item has no reason"))
	}
	if err := errors.Join(errs...); err != nil {
		return item{}, fmt.Errorf("decode item %q: %w", it.reason, err)
	}
	return it, nil
}
