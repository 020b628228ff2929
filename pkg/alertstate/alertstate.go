// Package alertstate decides, with state kept in DynamoDB, whether a backup
// health check run must notify, so alerts neither spam nor go silent, and
// nothing is announced that the run did not see.
//
// Each run records what it found for a portal with [Store.Record]: the
// failing reasons, and the reasons it could judge at all ([Run]). The store
// keeps one item per (portal, reason) and answers with the notices the run
// must send: an [Alert] once a reason has failed [Policy.FailAfter] runs in
// a row, a [Reminder] every [Policy.RemindEvery] (per reason, see
// [Policy.Remind]) while it keeps failing, and [Resolved] once a judged run
// found it fine [Policy.ResolveAfter] times in a row, but only when its
// alert was delivered (an alert that never left is dropped with its
// streak: nobody needs the all-clear). A reason the run could not judge
// keeps its state: no false all-clear.
//
// # Pending notices
//
// A notice is claimed in the item (pending) before it is sent and cleared
// with [Store.Delivered] once it is sent. A notice whose sending failed, or
// whose run ended before it was sent, stays pending, and the next run that
// records the portal after [Policy.Lease] claims and returns it again,
// marked late: notices are delivered at least once, without waiting for a
// reminder.
//
// # Quiet when planned
//
// A portal's [Mute] ([Store.Mute], [Store.Unmute]) is its own item,
// "#mute", which Record reads with the portal's items and passes into
// the pure step: while it lasts, runs count as always but claim no notice;
// an alert or reminder held back goes out with the first run after the
// mute ends, if the problem still stands, carrying [Notice.MutedSince].
// An acknowledgement ([Store.Ack]) belongs to the failing streak: it stops
// the streak's reminders and ends with its resolve, whose notice still
// goes out.
//
// # Table
//
// The table has partition key "portal" (S) and sort key "reason" (S); its
// TTL attribute is "expiresAt" (N, epoch seconds). An item holds:
//
//	failing          BOOL  whether the reason is in a failing streak
//	since            S     RFC 3339 time the streak began (absent when not failing)
//	failures         N     consecutive runs that failed with this reason
//	successes        N     consecutive judged runs without this reason while failing
//	notified         BOOL  whether the streak's alert was claimed
//	lastNotified     S     RFC 3339 time of the last alert or reminder
//	lastSeen         S     RFC 3339 time of the last run that wrote the item
//	pending          S     kind of the notice claimed and not yet delivered ("" none)
//	pendingAt        S     when that notice first became due
//	claimedAt        S     when a run last claimed it
//	pendingSince, pendingFailures, pendingLastNotified: the notice's own fields
//	firstSeen        S     on the item "#schedule": when the schedule was first seen
//	lastRun          S     ID of the last run that counted ([Run.ID])
//	lastRunAt        S     RFC 3339 time that run began ([Run.At])
//	ackedAt          S     when the failing streak was acknowledged (no reminders)
//	mutedSince       S     start of the mute that held the streak's alert back
//	pendingMutedSince S    the pending notice's MutedSince
//	muteSince, muteUntil, muteReason: on the item "#mute", the portal's [Mute]
//	readAt, newest   S     on the item "#history": the last history read and the newest backup it found
//	owner            S     on the item "#owner": the entry a portal bound to two is checked with ([Store.ClaimOwner])
//	ownedAtEpoch     N     on the item "#owner": when the owner last claimed it, epoch seconds
//	version          N     optimistic-locking counter, 1 on creation
//	expiresAt        N     epoch seconds, now + Policy.TTL on every write
//
// # Overlapping runs
//
// Every write is conditional on the version read, so of two overlapping runs
// only the one whose write lands first claims a notice; the other re-reads
// the item, recomputes and finds the notice claimed (and its lease not yet
// over).
//
// # One run counts once
//
// A run names itself ([Run.ID], [Run.At]); an item remembers the last run
// that counted. A Record of that same run (a queue message delivered
// twice, a portal reached twice in one run) or of a run that began before
// it (a backlogged message overtaken by a later run) counts nothing, so
// neither redelivery nor overlapping runs reach a threshold sooner. A Run
// without an ID counts every Record.
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

// ScheduleItem is the sort key of the item that remembers when the
// portal's schedule was first seen; it is not a reason.
const ScheduleItem = "#schedule"

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
	// table; Delivered uses it to clear only that claim.
	ClaimedAt time.Time
	// Late is true for a notice that an earlier run claimed and did not
	// deliver; DueAt is when it first became due.
	Late  bool
	DueAt time.Time
	// MutedSince is the start of the mute that held the alert or reminder
	// back; zero when no mute did.
	MutedSince time.Time
}

// Run is what one check run found for a portal.
type Run struct {
	// Failing are the reasons with a problem this run.
	Failing []string
	// Evaluated are the reasons the run judged, failing or fine; a reason
	// not in it (and not failing) keeps its state.
	Evaluated []string
	// Schedule is what the run saw of the portal's backup schedule.
	Schedule ScheduleSeen
	// ID names the run (for a queued portal, the run that queued it). A
	// reason counts a run once: a second Record with the same ID changes
	// no count. "" counts every Record.
	ID string
	// At is when the run began. A Record of a run that began before the
	// last one counted changes no count either; zero puts no order.
	At time.Time
}

// ScheduleSeen is what a run saw of the portal's backup schedule.
type ScheduleSeen int

// What a run can see of the schedule.
const (
	// ScheduleUnknown: the run did not read the schedule.
	ScheduleUnknown ScheduleSeen = iota
	// SchedulePresent: the portal has a schedule.
	SchedulePresent
	// ScheduleAbsent: the portal has no schedule.
	ScheduleAbsent
)

// Memory is what the table remembers of a portal for the check.
type Memory struct {
	// ScheduleFirstSeen is when a run first saw the portal's current
	// schedule; zero when unknown.
	ScheduleFirstSeen time.Time
	// Open holds, for each reason in a failing streak, when it began.
	Open map[string]time.Time
	// Mute is the portal's mute (see [Mute.Active]); zero when none.
	Mute Mute
	// Acked holds, for each open reason acknowledged, when.
	Acked map[string]time.Time
	// HistoryReadAt is when a run last took its turn to read the portal's
	// history (see [Store.ClaimHistoryRead]), and HistoryNewest the newest
	// backup that read found; zero when unknown or none.
	HistoryReadAt, HistoryNewest time.Time
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
	// Remind overrides RemindEvery per reason; 0 never reminds.
	Remind map[string]time.Duration
	// Lease is how long a claimed notice belongs to the run that claimed
	// it; after that a later run claims it again and sends it, late.
	// Keep it above the function's timeout and below the check interval.
	Lease time.Duration
	// ResolveAfter is the number of consecutive runs without the reason
	// after which a failing reason resolves.
	ResolveAfter int
	// TTL is how long an item lives after its last write; keep it well
	// above the check interval and RemindEvery.
	TTL time.Duration
}

// DefaultPolicy returns the policy for a check every 15 minutes: transient
// "unreachable", "bad_response" and "portal_busy" alert after 2 failing
// runs, every other reason after 1; reminders every 24h, but never for
// "service_inactive" (a warning about the future); resolved after 1 run
// that found the reason fine; a claimed notice is sent again, late, by a
// run 5 minutes or more after the claim; items live 30 days after their
// last write.
func DefaultPolicy() Policy {
	return Policy{
		FailAfter:        map[string]int{"unreachable": 2, "bad_response": 2, "portal_busy": 2},
		DefaultFailAfter: 1,
		RemindEvery:      24 * time.Hour,
		Remind:           map[string]time.Duration{"service_inactive": 0},
		ResolveAfter:     1,
		Lease:            5 * time.Minute,
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
	for _, r := range slices.Sorted(maps.Keys(p.Remind)) {
		if d := p.Remind[r]; d < 0 {
			errs = append(errs, fmt.Errorf("policy Remind[%q] %v is negative (0 never reminds)", r, d))
		}
	}
	if p.Lease <= 0 {
		errs = append(errs, fmt.Errorf("policy Lease %v is not positive", p.Lease))
	}
	if p.TTL <= 0 {
		errs = append(errs, fmt.Errorf("TTL %v is not positive", p.TTL))
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid alert policy: %w", errors.Join(errs...))
	}
	return nil
}

func (p Policy) remindEvery(reason string) time.Duration {
	if d, ok := p.Remind[reason]; ok {
		return d
	}
	return p.RemindEvery
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

// deliveredAttempts bounds the writes that clear a delivered notice. It is
// larger than defaultAttempts: the run that clears comes last, after every
// overlapping run's writes of the item (up to defaultAttempts each), and a
// claim it fails to clear is sent again after the lease, a duplicate.
const deliveredAttempts = 10

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
	p.Remind = maps.Clone(p.Remind)
	return &Store{api: api, table: table, policy: p, attempts: defaultAttempts, backoff: jitter}, nil
}

// jitter waits 10 to 50 ms times the attempt number, so overlapping runs
// that lost a write do not collide again at once.
func jitter(n int) time.Duration {
	return time.Duration(n) * (10*time.Millisecond + rand.N(40*time.Millisecond))
}

// observation is what a run says about one reason.
type observation int

const (
	// unknown: the run could not judge the reason.
	unknown observation = iota
	// fine: the run judged the reason and found no problem.
	fine
	// failing: the run found the problem.
	failing
)

// Load returns what the table remembers of portal: when its schedule was
// first seen and the reasons in a failing streak. Errors wrap ErrUnavailable.
func (s *Store) Load(ctx context.Context, portal string) (Memory, error) {
	items, err := s.read(ctx, portal, "")
	if err != nil {
		return Memory{}, err
	}
	m := Memory{Open: map[string]time.Time{}, Acked: map[string]time.Time{}}
	for r, it := range items {
		switch {
		case r == ScheduleItem:
			m.ScheduleFirstSeen = it.firstSeen
		case r == MuteItem:
			m.Mute = it.mute
		case r == HistoryItem:
			m.HistoryReadAt, m.HistoryNewest = it.historyReadAt, it.historyNewest
		case it.failing:
			m.Open[r] = it.since
			if !it.ackedAt.IsZero() {
				m.Acked[r] = it.ackedAt
			}
		}
	}
	return m, nil
}

// Record records what one run found for portal at now and returns the
// notices the run must send, failing reasons first (in the order of
// run.Failing), then the portal's other reasons in lexical order.
//
// A reason in run.Failing counts one more failure; a reason in
// run.Evaluated and not failing counts one more success when it is in a
// failing streak; any other reason keeps its state, but a notice of it
// that an earlier run claimed and did not deliver within Policy.Lease is
// claimed again and returned, marked Late.
//
// A returned notice has been claimed in the table, so no other run returns
// it within the lease: send it, then call Delivered. Record returns the
// notices claimed so far also when it returns an error. The error wraps
// [ErrUnavailable] when DynamoDB fails (the caller should then alert on its
// failing reasons anyway, preferring a duplicate to silence) and
// [ErrConflict] when overlapping runs kept changing an item. An empty
// portal or reason is an error.
func (s *Store) Record(ctx context.Context, portal string, run Run, now time.Time) ([]Notice, error) {
	if portal == "" || slices.Contains(run.Failing, "") || slices.Contains(run.Failing, Healthy) {
		return nil, fmt.Errorf("record alert state: empty portal %q or bad failing reasons %q", portal, run.Failing)
	}
	now = now.UTC()
	items, err := s.read(ctx, portal, "")
	if err != nil {
		return nil, err
	}
	// The mute is the table's, read with the items: a portal muted from
	// the command line is muted for every run that records it after.
	mute := items[MuteItem].mute
	var others []string
	for r := range items {
		if !meta(r) && !slices.Contains(run.Failing, r) {
			others = append(others, r)
		}
	}
	for _, r := range run.Evaluated {
		if r != Healthy && !meta(r) && !slices.Contains(run.Failing, r) && !slices.Contains(others, r) {
			others = append(others, r)
		}
	}
	slices.Sort(others)
	order := append(slices.Clone(run.Failing), others...)
	var notices []Notice
	var errs []error
	for _, r := range order {
		obs := unknown
		switch {
		case slices.Contains(run.Failing, r):
			obs = failing
		case slices.Contains(run.Evaluated, r):
			obs = fine
		}
		cur, ok := items[r]
		if !ok {
			if obs != failing {
				continue
			}
			cur = item{reason: r}
		}
		n, err := s.apply(ctx, portal, cur, obs, run, mute, now)
		if err != nil {
			errs = append(errs, err)
			if errors.Is(err, ErrUnavailable) {
				return notices, errors.Join(errs...)
			}
			continue
		}
		if n.Kind != None {
			notices = append(notices, n)
		}
	}
	if next, write := scheduleStep(items[ScheduleItem], run.Schedule, now, s.policy.TTL); write {
		if err := s.write(ctx, portal, items[ScheduleItem], next, now); err != nil {
			var ccf *types.ConditionalCheckFailedException
			if !errors.As(err, &ccf) { // an overlapping run wrote it: fine
				errs = append(errs, fmt.Errorf("write alert state %s/%s: %w: %w", portal, ScheduleItem, ErrUnavailable, err))
			}
		}
	}
	return notices, errors.Join(errs...)
}

// scheduleStep is the pure transition of the "#schedule" item: the first
// time a run sees a schedule is remembered, a run that sees none forgets
// it, and the item is rewritten when half its TTL has passed so that it
// outlives the longest wait for a first backup.
func scheduleStep(cur item, seen ScheduleSeen, now time.Time, ttl time.Duration) (item, bool) {
	next := cur
	next.reason = ScheduleItem
	switch seen {
	case SchedulePresent:
		if cur.firstSeen.IsZero() {
			next.firstSeen, next.lastSeen = now, now
			return next, true
		}
		if now.Sub(cur.lastSeen) >= ttl/2 {
			next.lastSeen = now
			return next, true
		}
	case ScheduleAbsent:
		if !cur.firstSeen.IsZero() {
			next.firstSeen, next.lastSeen = time.Time{}, now
			return next, true
		}
	}
	return cur, false
}

// apply writes one run to one item, re-reading and recomputing when an
// overlapping run wrote it first.
func (s *Store) apply(ctx context.Context, portal string, cur item, obs observation, run Run, mute Mute, now time.Time) (Notice, error) {
	for attempt := 1; ; attempt++ {
		next, n := s.policy.quietStep(cur, obs, run, mute, now)
		if next == cur {
			return Notice{}, nil // nothing changed: no write
		}
		n.Portal = portal
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
		if obs != failing && !cur.exists {
			return Notice{}, nil
		}
	}
}

// Delivered clears the claim of a notice that Record returned once it has
// been sent, so that no later run sends it again. It changes nothing when
// the item holds another claim by now (a later run claimed the notice again
// or replaced it). Call it with a context that outlives the run's deadline:
// a notice sent and not cleared is sent again, late. Errors wrap
// ErrUnavailable or ErrConflict.
func (s *Store) Delivered(ctx context.Context, n Notice) error {
	for attempt := 1; ; attempt++ {
		items, err := s.read(ctx, n.Portal, n.Reason)
		if err != nil {
			return err
		}
		cur, ok := items[n.Reason]
		if !ok {
			return nil
		}
		next, changed := delivered(cur, n)
		if !changed {
			return nil
		}
		err = s.write(ctx, n.Portal, cur, next, cur.lastSeen)
		if err == nil {
			return nil
		}
		var ccf *types.ConditionalCheckFailedException
		if !errors.As(err, &ccf) {
			return fmt.Errorf("clear %s of %s/%s: %w: %w", n.Kind, n.Portal, n.Reason, ErrUnavailable, err)
		}
		if attempt >= deliveredAttempts {
			return fmt.Errorf("clear %s of %s/%s: %w: giving up after %d attempt(s)", n.Kind, n.Portal, n.Reason, ErrConflict, attempt)
		}
		// Overlapping runs are still writing the item: let them finish.
		if err := sleep(ctx, s.backoff(attempt)); err != nil {
			return fmt.Errorf("clear %s of %s/%s: %w: %w", n.Kind, n.Portal, n.Reason, ErrUnavailable, err)
		}
	}
}

// delivered is the pure transition of an item whose notice n was sent: the
// claim is cleared if it is still n's.
func delivered(cur item, n Notice) (item, bool) {
	if cur.pending != n.Kind || !cur.claimedAt.Equal(n.ClaimedAt) {
		return cur, false
	}
	next := cur
	next.pending, next.pendingAt, next.claimedAt = None, time.Time{}, time.Time{}
	next.pendingSince, next.pendingFailures, next.pendingLastNotified, next.pendingMutedSince = time.Time{}, 0, time.Time{}, time.Time{}
	return next, true
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
	// The notice claimed and not yet delivered.
	pending             Kind
	pendingAt           time.Time
	claimedAt           time.Time
	pendingSince        time.Time
	pendingFailures     int
	pendingLastNotified time.Time
	pendingMutedSince   time.Time
	// ackedAt is when the failing streak was acknowledged (no reminders).
	ackedAt time.Time
	// mutedSince is the start of the mute that held the streak's alert or
	// reminder back, until that notice is claimed.
	mutedSince time.Time
	// firstSeen is set on the ScheduleItem only.
	firstSeen time.Time
	// The last run that counted (Run.ID, Run.At).
	lastRun   string
	lastRunAt time.Time
	// mute is set on the MuteItem only.
	mute Mute
	// historyReadAt and historyNewest are set on the HistoryItem only.
	historyReadAt, historyNewest time.Time
	// owner is set on the OwnerItem only.
	owner   string
	version int64
}

// counted reports whether run has already counted in cur: the same run,
// or one that began before the last run counted.
func counted(cur item, run Run) bool {
	if run.ID == "" {
		return false
	}
	return cur.lastRun == run.ID || (!run.At.IsZero() && run.At.Before(cur.lastRunAt))
}

// stepRun is step for one run: a run that has already counted in cur
// observes nothing (a pending notice may still be claimed again, late),
// and a run that counts is remembered in the item.
func (p Policy) stepRun(cur item, obs observation, run Run, now time.Time) (item, Notice) {
	if counted(cur, run) {
		obs = unknown
	}
	before := cur
	next, n := p.step(cur, obs, now)
	if obs != unknown && run.ID != "" && next != before {
		next.lastRun, next.lastRunAt = run.ID, run.At
	}
	return next, n
}

// step is the pure transition of one item for one run. It returns the item
// to write (equal to cur when nothing changes) and the notice, of Kind
// None when there is nothing to send.
//
// The counting: a failing run counts a failure (a new streak when the item
// was not failing) and may claim an Alert or a Reminder; a fine run counts
// a success while failing and may claim Resolved; an unknown run changes
// nothing. Then the pending notice: a new notice replaces a pending one
// (but a pending Alert stays pending, late, rather than become a
// Reminder); without a new notice, a pending notice whose claim is older
// than the lease is claimed again and returned, late.
func (p Policy) step(cur item, obs observation, now time.Time) (item, Notice) {
	next, n := p.count(cur, obs, now)
	switch {
	case n.Kind == Reminder && cur.pending == Alert:
		// The alert never went out: send it now, late, instead.
		n = cur.pendingNotice()
		n.Late = true
		next.claimedAt = now
	case n.Kind != None:
		next.pending, next.pendingAt, next.claimedAt = n.Kind, now, now
		next.pendingSince, next.pendingFailures, next.pendingLastNotified = n.Since, n.Failures, n.LastNotified
		n.DueAt = now
	case next.pending != None && now.Sub(next.claimedAt) >= p.Lease:
		n = next.pendingNotice()
		n.Late = true
		next.claimedAt = now
		if obs == unknown {
			next.lastSeen = now
		}
	}
	if n.Kind == None {
		return next, Notice{}
	}
	n.ClaimedAt = next.claimedAt
	return next, n
}

// pendingNotice returns the notice the item holds as pending.
func (it item) pendingNotice() Notice {
	return Notice{Kind: it.pending, Reason: it.reason, Since: it.pendingSince, Failures: it.pendingFailures, LastNotified: it.pendingLastNotified, DueAt: it.pendingAt, MutedSince: it.pendingMutedSince}
}

// count is the counting part of step.
func (p Policy) count(cur item, obs observation, now time.Time) (item, Notice) {
	next := cur
	switch obs {
	case unknown:
		return next, Notice{}
	case failing:
		next.lastSeen = now
		if !cur.failing {
			next.failing, next.since, next.failures, next.successes, next.notified = true, now, 0, 0, false
		}
		next.failures++
		next.successes = 0
		n := Notice{Reason: cur.reason, Since: next.since, Failures: next.failures}
		remind := p.remindEvery(cur.reason)
		switch {
		case !next.notified && next.failures >= p.failAfter(cur.reason):
			n.Kind = Alert
			next.notified, next.lastNotified = true, now
		case next.notified && remind > 0 && now.Sub(next.lastNotified) >= remind:
			n.Kind, n.LastNotified = Reminder, next.lastNotified
			next.lastNotified = now
		}
		return next, n
	}
	if !cur.failing {
		return next, Notice{}
	}
	next.lastSeen = now
	next.successes++
	if next.successes < p.ResolveAfter {
		return next, Notice{}
	}
	var n Notice
	switch {
	case cur.notified && cur.pending == Alert:
		// The alert never went out: nobody needs the all-clear, and the
		// alert is moot now.
		next.pending, next.pendingAt, next.claimedAt = None, time.Time{}, time.Time{}
		next.pendingSince, next.pendingFailures, next.pendingLastNotified = time.Time{}, 0, time.Time{}
	case cur.notified:
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
	if next.pending != None {
		av["pending"] = &types.AttributeValueMemberS{Value: string(next.pending)}
		av["pendingAt"] = timestamp(next.pendingAt)
		av["claimedAt"] = timestamp(next.claimedAt)
		av["pendingFailures"] = number(int64(next.pendingFailures))
		if !next.pendingSince.IsZero() {
			av["pendingSince"] = timestamp(next.pendingSince)
		}
		if !next.pendingLastNotified.IsZero() {
			av["pendingLastNotified"] = timestamp(next.pendingLastNotified)
		}
		if !next.pendingMutedSince.IsZero() {
			av["pendingMutedSince"] = timestamp(next.pendingMutedSince)
		}
	}
	if !next.firstSeen.IsZero() {
		av["firstSeen"] = timestamp(next.firstSeen)
	}
	if next.lastRun != "" {
		av["lastRun"] = &types.AttributeValueMemberS{Value: next.lastRun}
	}
	if !next.lastRunAt.IsZero() {
		av["lastRunAt"] = timestamp(next.lastRunAt)
	}
	if !next.ackedAt.IsZero() {
		av["ackedAt"] = timestamp(next.ackedAt)
	}
	if !next.mutedSince.IsZero() {
		av["mutedSince"] = timestamp(next.mutedSince)
	}
	if !next.mute.Until.IsZero() {
		av["muteSince"] = timestamp(next.mute.Since)
		av["muteUntil"] = timestamp(next.mute.Until)
		av["muteReason"] = &types.AttributeValueMemberS{Value: next.mute.Reason}
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
	it.pending = Kind(str("pending"))
	it.pendingAt = when("pendingAt")
	it.claimedAt = when("claimedAt")
	it.pendingSince = when("pendingSince")
	it.pendingFailures = int(num("pendingFailures"))
	it.pendingLastNotified = when("pendingLastNotified")
	it.firstSeen = when("firstSeen")
	it.lastRun = str("lastRun")
	it.lastRunAt = when("lastRunAt")
	it.pendingMutedSince = when("pendingMutedSince")
	it.ackedAt = when("ackedAt")
	it.mutedSince = when("mutedSince")
	it.mute = Mute{Since: when("muteSince"), Until: when("muteUntil"), Reason: str("muteReason")}
	it.historyReadAt = when(historyReadAtAttr)
	it.historyNewest = when(historyNewestAttr)
	it.owner = str(ownerAttr)
	it.version = num("version")
	if it.reason == "" {
		errs = append(errs, errors.New("item has no reason"))
	}
	switch it.pending {
	case None, Alert, Reminder, Resolved:
	default:
		errs = append(errs, fmt.Errorf("attribute pending %q is not a notice kind", it.pending))
	}
	if err := errors.Join(errs...); err != nil {
		return item{}, fmt.Errorf("decode item %q: %w", it.reason, err)
	}
	return it, nil
}
