package alertstate

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

// HistoryItem is the sort key of the item that remembers the portal's last
// history read (reading a DocSpace history asks the storage about every
// record and may remove records, so runs take turns); it is not a reason.
const HistoryItem = "#history"

// Attributes of the HistoryItem.
const (
	historyReadAtAttr = "readAt"
	historyNewestAttr = "newest"
	// historyReadAtSeconds holds readAt as epoch seconds, for the
	// claim's condition.
	historyReadAtSeconds = "readAtEpoch"
)

// meta reports whether r is the sort key of an item that is not a reason
// ("#schedule", "#history", "#mute").
func meta(r string) bool { return strings.HasPrefix(r, "#") }

// ClaimHistoryRead takes portal's turn to read its history at now, unless
// a run took one less than every ago: it writes the "#history" item on
// that condition, so that of overlapping runs, also in other processes,
// only one reads. newest is the newest backup the previous read found,
// kept until RecordHistoryNewest replaces it. It reports false when
// another run's turn is less than every old. Errors wrap ErrUnavailable;
// a non-positive every is an error.
func (s *Store) ClaimHistoryRead(ctx context.Context, portal string, now time.Time, every time.Duration, newest time.Time) (bool, error) {
	if portal == "" || every <= 0 {
		return false, fmt.Errorf("claim history read: empty portal %q or interval %v not positive", portal, every)
	}
	now = now.UTC()
	in := s.historyPut(portal, now, newest)
	in.ConditionExpression = aws.String("attribute_not_exists(#p) OR #t <= :cutoff OR attribute_not_exists(#t)")
	in.ExpressionAttributeNames = map[string]string{"#p": PortalKey, "#t": historyReadAtSeconds}
	in.ExpressionAttributeValues = map[string]types.AttributeValue{":cutoff": number(now.Add(-every).Unix())}
	_, err := s.api.PutItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &ccf):
		return false, nil
	}
	return false, fmt.Errorf("claim history read of %s: %w: %w", portal, ErrUnavailable, err)
}

// RecordHistoryNewest records the newest backup (zero: none) that the
// read claimed at readAt found, unless a later run has claimed a read
// since. Errors wrap ErrUnavailable.
func (s *Store) RecordHistoryNewest(ctx context.Context, portal string, readAt, newest time.Time) error {
	in := s.historyPut(portal, readAt.UTC(), newest)
	in.ConditionExpression = aws.String("#t = :t")
	in.ExpressionAttributeNames = map[string]string{"#t": historyReadAtSeconds}
	in.ExpressionAttributeValues = map[string]types.AttributeValue{":t": number(readAt.UTC().Unix())}
	_, err := s.api.PutItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	if err == nil || errors.As(err, &ccf) {
		return nil
	}
	return fmt.Errorf("record history read of %s: %w: %w", portal, ErrUnavailable, err)
}

func (s *Store) historyPut(portal string, readAt, newest time.Time) *dynamodb.PutItemInput {
	av := map[string]types.AttributeValue{
		PortalKey:            &types.AttributeValueMemberS{Value: portal},
		ReasonKey:            &types.AttributeValueMemberS{Value: HistoryItem},
		historyReadAtAttr:    timestamp(readAt),
		historyReadAtSeconds: number(readAt.Unix()),
		TTLAttribute:         number(readAt.Add(s.policy.TTL).Unix()),
	}
	if !newest.IsZero() {
		av[historyNewestAttr] = timestamp(newest)
	}
	return &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: av}
}
