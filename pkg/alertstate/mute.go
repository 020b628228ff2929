package alertstate

// Quiet when planned: a mute silences a portal for a while, an
// acknowledgement silences one open problem's reminders until it resolves.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// MuteItem is the sort key of the item that holds a portal's mute; it is
// not a reason.
const MuteItem = "#mute"

// MaxMute is the longest mute.
const MaxMute = 30 * 24 * time.Hour

// maxMuteReason caps a mute's reason, in bytes.
const maxMuteReason = 500

// Errors of muting and acknowledging, for errors.Is.
var (
	// ErrBadMute is a mute that ends in the past, lasts longer than
	// MaxMute, or has no reason.
	ErrBadMute = errors.New("bad mute")
	// ErrNotMuted is an unmute of a portal without an active mute.
	ErrNotMuted = errors.New("portal is not muted")
	// ErrNotOpen is an acknowledgement of a reason that is not failing.
	ErrNotOpen = errors.New("reason is not open")
)

// Mute is a planned silence of one portal, kept in the item MuteItem:
// while it is active the portal is still checked, logged and counted, but
// no notice is claimed (no alert, reminder, resolved or late notice). An
// alert held back by a mute goes out with the first run after the mute
// ends if the problem still stands, saying since when the portal was muted
// ([Notice.MutedSince]).
type Mute struct {
	// Since is when the mute was set.
	Since time.Time
	// Until is when it ends; zero is no mute.
	Until time.Time
	// Reason says why, for people.
	Reason string
}

// Active reports whether the mute silences notices at now.
func (m Mute) Active(now time.Time) bool { return !m.Until.IsZero() && now.Before(m.Until) }

// Validate returns an error wrapping ErrBadMute when the mute, set at now,
// ends at or before now, lasts longer than MaxMute from now, or has no
// reason.
func (m Mute) Validate(now time.Time) error {
	switch {
	case strings.TrimSpace(m.Reason) == "":
		return fmt.Errorf("%w: give a reason (who muted it and why)", ErrBadMute)
	case len(m.Reason) > maxMuteReason:
		return fmt.Errorf("%w: the reason is over %d bytes", ErrBadMute, maxMuteReason)
	case !m.Until.After(now):
		return fmt.Errorf("%w: its end %s is not in the future", ErrBadMute, m.Until.UTC().Format(time.RFC3339))
	case m.Until.Sub(now) > MaxMute:
		return fmt.Errorf("%w: it would last %s, over the %d days a mute may last", ErrBadMute, m.Until.Sub(now).Round(time.Minute), MaxMute/(24*time.Hour))
	}
	return nil
}

// quietStep is stepRun with a mute and an acknowledgement: the counting
// is stepRun's, then a notice is held back, claimed nowhere, when the portal is
// muted (any notice) or the reason is acknowledged (a reminder). An alert
// or reminder held by a mute remembers the mute's start, and the notice
// that finally goes out carries it as MutedSince. The end of a streak ends
// its acknowledgement and what it remembered of a mute.
func (p Policy) quietStep(cur item, obs observation, run Run, mute Mute, now time.Time) (item, Notice) {
	next, n := p.stepRun(cur, obs, run, now)
	if !next.failing {
		next.ackedAt, next.mutedSince = time.Time{}, time.Time{}
	}
	if next.pending == None {
		next.pendingMutedSince = time.Time{}
	}
	muted := mute.Active(now)
	acked := n.Kind == Reminder && !cur.ackedAt.IsZero() && !n.Late
	if n.Kind == None || (!muted && !acked) {
		if n.Kind == Alert || n.Kind == Reminder {
			if n.MutedSince.IsZero() {
				n.MutedSince = next.mutedSince
			}
			next.pendingMutedSince, next.mutedSince = n.MutedSince, time.Time{}
		}
		return next, n
	}
	// Held: keep the counting, claim nothing, leave any earlier claim as
	// it was (a pending notice waits for the mute's end).
	held := next
	if held.failing {
		held.notified, held.lastNotified = cur.notified, cur.lastNotified
		if !cur.failing {
			held.notified, held.lastNotified = false, time.Time{}
		}
	}
	held.pending, held.pendingAt, held.claimedAt = cur.pending, cur.pendingAt, cur.claimedAt
	held.pendingSince, held.pendingFailures, held.pendingLastNotified = cur.pendingSince, cur.pendingFailures, cur.pendingLastNotified
	held.pendingMutedSince = cur.pendingMutedSince
	if !held.failing && held.pending != Resolved {
		// The streak ended during the mute: its unsent notice is moot.
		held.pending, held.pendingAt, held.claimedAt = None, time.Time{}, time.Time{}
		held.pendingSince, held.pendingFailures, held.pendingLastNotified, held.pendingMutedSince = time.Time{}, 0, time.Time{}, time.Time{}
	}
	if muted && held.failing && held.mutedSince.IsZero() {
		held.mutedSince = mute.Since
	}
	if obs == unknown {
		held.lastSeen = cur.lastSeen
	}
	return held, Notice{}
}

// Mute sets portal's mute m at now, replacing an earlier one (an active
// mute keeps its start). It returns an error wrapping ErrBadMute when m is
// not valid (see [Mute.Validate]), ErrUnavailable when DynamoDB fails, and
// ErrConflict when another writer changed the mute meanwhile.
func (s *Store) Mute(ctx context.Context, portal string, m Mute, now time.Time) (Mute, error) {
	if portal == "" {
		return Mute{}, fmt.Errorf("mute: %w: empty portal", ErrBadMute)
	}
	m.Since, m.Until, m.Reason = now.UTC(), m.Until.UTC(), strings.TrimSpace(m.Reason)
	if err := m.Validate(now); err != nil {
		return Mute{}, fmt.Errorf("mute %s: %w", portal, err)
	}
	cur, err := s.mute(ctx, portal)
	if err != nil {
		return Mute{}, err
	}
	if cur.mute.Active(now) {
		m.Since = cur.mute.Since
	}
	return m, s.writeMute(ctx, portal, cur, m)
}

// Unmute ends portal's active mute at now and returns it. It returns an
// error wrapping ErrNotMuted when the portal has no active mute,
// ErrUnavailable when DynamoDB fails, and ErrConflict when another writer
// changed the mute meanwhile.
func (s *Store) Unmute(ctx context.Context, portal string, now time.Time) (Mute, error) {
	cur, err := s.mute(ctx, portal)
	if err != nil {
		return Mute{}, err
	}
	if !cur.mute.Active(now) {
		return Mute{}, fmt.Errorf("unmute %s: %w", portal, ErrNotMuted)
	}
	m := cur.mute
	m.Until = now.UTC()
	return m, s.writeMute(ctx, portal, cur, m)
}

// Ack acknowledges portal's open problem reason at now: no reminder until
// it resolves; the resolved notice still goes out. It returns an error
// wrapping ErrNotOpen when the reason is not failing, ErrUnavailable when
// DynamoDB fails, and ErrConflict when a run wrote the item meanwhile (try
// again).
func (s *Store) Ack(ctx context.Context, portal, reason string, now time.Time) error {
	if strings.HasPrefix(reason, "#") {
		return fmt.Errorf("acknowledge %s/%s: %w", portal, reason, ErrNotOpen)
	}
	items, err := s.read(ctx, portal, reason)
	if err != nil {
		return err
	}
	cur, ok := items[reason]
	if !ok || !cur.failing {
		return fmt.Errorf("acknowledge %s/%s: %w", portal, reason, ErrNotOpen)
	}
	next := cur
	next.ackedAt = now.UTC()
	return s.putChecked(ctx, portal, cur, next, cur.lastSeen, "acknowledge")
}

// Known reports whether the table holds anything of portal: a run has
// checked it within Policy.TTL (or it has a mute).
func (s *Store) Known(ctx context.Context, portal string) (bool, error) {
	items, err := s.read(ctx, portal, "")
	return len(items) > 0, err
}

// Mutes returns every portal's mute that is active at now, by portal. It
// scans the table (for commands, not for the function); errors wrap
// ErrUnavailable.
func (s *Store) Mutes(ctx context.Context, scan Scanner, now time.Time) (map[string]Mute, error) {
	in := &dynamodb.ScanInput{
		TableName:                 aws.String(s.table),
		ConsistentRead:            aws.Bool(true),
		FilterExpression:          aws.String("#r = :m"),
		ExpressionAttributeNames:  map[string]string{"#r": ReasonKey},
		ExpressionAttributeValues: map[string]types.AttributeValue{":m": &types.AttributeValueMemberS{Value: MuteItem}},
	}
	out := map[string]Mute{}
	for {
		page, err := scan.Scan(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list mutes: %w: %w", ErrUnavailable, err)
		}
		for _, av := range page.Items {
			it, err := decode(av)
			if err != nil {
				return nil, fmt.Errorf("list mutes: %w: %w", ErrUnavailable, err)
			}
			p, _ := av[PortalKey].(*types.AttributeValueMemberS)
			if p != nil && it.mute.Active(now) {
				out[p.Value] = it.mute
			}
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// Scanner is the part of *dynamodb.Client that Mutes needs.
type Scanner interface {
	Scan(ctx context.Context, params *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

var _ Scanner = (*dynamodb.Client)(nil)

// mute reads portal's mute item (zero when there is none).
func (s *Store) mute(ctx context.Context, portal string) (item, error) {
	items, err := s.read(ctx, portal, MuteItem)
	if err != nil {
		return item{}, err
	}
	if it, ok := items[MuteItem]; ok {
		return it, nil
	}
	return item{reason: MuteItem}, nil
}

// writeMute writes m as portal's mute item, kept Policy.TTL past its end
// so that a held alert can still say since when the portal was muted.
func (s *Store) writeMute(ctx context.Context, portal string, cur item, m Mute) error {
	next := cur
	next.reason, next.mute, next.lastSeen = MuteItem, m, m.Until
	return s.putChecked(ctx, portal, cur, next, m.Until, "mute")
}

// putChecked writes next over cur (see write), with TTL counted from
// base, and names a lost race ErrConflict.
func (s *Store) putChecked(ctx context.Context, portal string, cur, next item, base time.Time, what string) error {
	err := s.write(ctx, portal, cur, next, base)
	var ccf *types.ConditionalCheckFailedException
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ccf):
		return fmt.Errorf("%s %s/%s: %w: written meanwhile, try again", what, portal, cur.reason, ErrConflict)
	default:
		return fmt.Errorf("%s %s/%s: %w: %w", what, portal, cur.reason, ErrUnavailable, err)
	}
}
