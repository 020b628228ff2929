package alertstate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// OwnerItem is the sort key of the item that names the entry (a
// registered secret's or parameter's ARN, or SECRET_ID) a portal is
// checked with when two entries are bound to it and no run can tell
// before reading their keys; it is not a reason.
const OwnerItem = "#owner"

// Attributes of the OwnerItem.
const (
	ownerAttr = "owner"
	// ownedAtSeconds holds when the owner last claimed the portal, as
	// epoch seconds, for the claim's condition.
	ownedAtSeconds = "ownedAtEpoch"
)

// ownerAttempts bounds the claims of one call that find the item gone
// (expired) between the write and the read.
const ownerAttempts = 3

// ClaimOwner makes entry the owner of portal at now, unless another entry
// owns it: one whose name sorts before entry and that claimed the portal
// less than lease ago. The write is conditional (DynamoDB compares the
// strings), so of overlapping claims the entry that sorts first wins,
// whatever their order. It returns the owner after the call: entry when
// the claim held (an owner claiming again renews it), else the other
// entry. Errors wrap ErrUnavailable; an empty portal or entry, or a
// non-positive lease, is an error.
func (s *Store) ClaimOwner(ctx context.Context, portal, entry string, now time.Time, lease time.Duration) (string, error) {
	if portal == "" || entry == "" || lease <= 0 {
		return "", fmt.Errorf("claim owner: empty portal %q or entry %q, or lease %v not positive", portal, entry, lease)
	}
	cond := "attribute_not_exists(#p) OR attribute_not_exists(#o) OR #o >= :e OR attribute_not_exists(#t) OR #t <= :cutoff"
	names := map[string]string{"#p": PortalKey, "#o": ownerAttr, "#t": ownedAtSeconds}
	vals := map[string]types.AttributeValue{":e": &types.AttributeValueMemberS{Value: entry}, ":cutoff": number(now.Add(-lease).Unix())}
	return s.putOwner(ctx, portal, entry, now, cond, names, vals)
}

// TakeOwner makes entry the owner of portal at now on the condition that
// from still owns it: a caller that knows from to be gone (no longer
// registered) hands the portal over. It returns the owner after the call
// (entry, or whoever took it first). Errors wrap ErrUnavailable.
func (s *Store) TakeOwner(ctx context.Context, portal, entry, from string, now time.Time) (string, error) {
	if portal == "" || entry == "" || from == "" {
		return "", fmt.Errorf("take owner: empty portal %q, entry %q or previous owner %q", portal, entry, from)
	}
	vals := map[string]types.AttributeValue{":from": &types.AttributeValueMemberS{Value: from}}
	return s.putOwner(ctx, portal, entry, now, "#o = :from", map[string]string{"#o": ownerAttr}, vals)
}

// putOwner writes entry as portal's owner on cond (with its attribute
// names and values) and returns the owner after it.
func (s *Store) putOwner(ctx context.Context, portal, entry string, now time.Time, cond string, names map[string]string, vals map[string]types.AttributeValue) (string, error) {
	now = now.UTC()
	in := &dynamodb.PutItemInput{
		TableName: aws.String(s.table),
		Item: map[string]types.AttributeValue{
			PortalKey:      &types.AttributeValueMemberS{Value: portal},
			ReasonKey:      &types.AttributeValueMemberS{Value: OwnerItem},
			ownerAttr:      &types.AttributeValueMemberS{Value: entry},
			ownedAtSeconds: number(now.Unix()),
			TTLAttribute:   number(now.Add(s.policy.TTL).Unix()),
		},
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: vals,
	}
	for range ownerAttempts {
		_, err := s.api.PutItem(ctx, in)
		var ccf *types.ConditionalCheckFailedException
		switch {
		case err == nil:
			return entry, nil
		case !errors.As(err, &ccf):
			return "", fmt.Errorf("claim owner of %s: %w: %w", portal, ErrUnavailable, err)
		}
		items, err := s.read(ctx, portal, OwnerItem)
		if err != nil {
			return "", err
		}
		if owner := items[OwnerItem].owner; owner != "" {
			return owner, nil
		}
		// The item expired in between: claim again.
	}
	return "", fmt.Errorf("claim owner of %s: %w: the owner item kept changing", portal, ErrUnavailable)
}
