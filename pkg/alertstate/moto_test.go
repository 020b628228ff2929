package alertstate

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/docspace-backup-watch/docspace-backup-watch/internal/localrun"
	"github.com/docspace-backup-watch/docspace-backup-watch/internal/motoserver"
)

// motoTable starts moto_server and creates the table as template.yaml
// does: on-demand, portal/reason keys, TTL on expiresAt. moto is behind a
// serializing proxy: its conditional writes are not atomic under
// concurrent requests, and the overlapping-runs tests rely on them.
func motoTable(t *testing.T) (*dynamodb.Client, string) {
	t.Helper()
	client := dynamodb.NewFromConfig(motoserver.AWSConfig(motoserver.StartSerialized(t)))
	ctx := context.Background()
	// moto is shared by the package's tests (and -count runs): a table of
	// the test's own.
	table := fmt.Sprintf("alert-state-%d", tableSeq.Add(1))
	if err := localrun.CreateStateTable(ctx, client, table); err != nil {
		t.Fatal(err)
	}
	return client, table
}

var tableSeq atomic.Int64

func getItem(t *testing.T, client *dynamodb.Client, table, portal, reason string) map[string]types.AttributeValue {
	t.Helper()
	out, err := client.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName:      aws.String(table),
		ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{
			PortalKey: &types.AttributeValueMemberS{Value: portal},
			ReasonKey: &types.AttributeValueMemberS{Value: reason},
		},
	})
	if err != nil {
		t.Fatalf("GetItem(%s, %s) error = %v", portal, reason, err)
	}
	return out.Item
}

func TestRecordMoto(t *testing.T) {
	client, table := motoTable(t)

	t.Run("scenarios", func(t *testing.T) { runScenarios(t, client, table) })

	t.Run("TTL and item attributes", func(t *testing.T) {
		s, err := NewStore(client, table, DefaultPolicy())
		if err != nil {
			t.Fatal(err)
		}
		const portal = "https://ttl.example.com"
		for i := range 2 {
			if _, err := s.Record(context.Background(), portal, judged("unreachable"), at(time.Duration(i)*m15)); err != nil {
				t.Fatalf("Record() error = %v", err)
			}
		}
		got := getItem(t, client, table, portal, "unreachable")
		want := map[string]string{
			TTLAttribute:   strconv.FormatInt(at(m15+30*24*time.Hour).Unix(), 10),
			"version":      "2",
			"failures":     "2",
			"successes":    "0",
			"since":        "2026-11-29T00:00:00Z",
			"lastSeen":     "2026-11-29T00:15:00Z",
			"lastNotified": "2026-11-29T00:15:00Z",
		}
		for name, w := range want {
			if v := sval(got[name]); v != w {
				t.Errorf("item[%s] = %q, want %q", name, v, w)
			}
		}
		for _, name := range []string{"failing", "notified"} {
			if v, ok := got[name].(*types.AttributeValueMemberBOOL); !ok || !v.Value {
				t.Errorf("item[%s] = %#v, want true", name, got[name])
			}
		}
	})

	t.Run("overlapping runs alert once", func(t *testing.T) {
		c := &countingAPI{API: client}
		s, err := NewStore(c, table, DefaultPolicy())
		if err != nil {
			t.Fatal(err)
		}
		const portal, runs = "https://race.example.com", 8
		// Each Record counts as a run, so overlapping runs count several
		// failures: unreachable alerts within the first round too.
		for _, reason := range []string{"service_inactive", "unreachable"} {
			alerts, ok := 0, 0
			for round := range 2 {
				kinds, errs := raceRecord(s, portal, reason, at(time.Duration(round)*m15), runs)
				for i, k := range kinds {
					if errs[i] == nil {
						ok++
					} else if !errors.Is(errs[i], ErrConflict) {
						t.Errorf("Record(%s) run %d error = %v, want nil or ErrConflict", reason, i, errs[i])
					}
					if k == Alert {
						alerts++
					}
				}
			}
			if alerts != 1 {
				t.Errorf("2 rounds of %d overlapping Record(%s) = %d Alert(s) in total, want 1", runs, reason, alerts)
			}
			got := getItem(t, client, table, portal, reason)
			if f := sval(got["failures"]); f != strconv.Itoa(ok) {
				t.Errorf("failures after %d successful Record(%s) = %s, want %d", ok, reason, f, ok)
			}
		}
		if c.conflicts.Load() == 0 {
			t.Error("overlapping runs had no conditional check failure, so the race was not exercised")
		}
	})

	t.Run("overlapping healthy runs resolve once", func(t *testing.T) {
		s, err := NewStore(client, table, DefaultPolicy())
		if err != nil {
			t.Fatal(err)
		}
		const portal, runs = "https://race-resolve.example.com", 8
		got, err := s.Record(context.Background(), portal, judged("backup_failed"), t0)
		if err != nil || len(got) != 1 {
			t.Fatalf("Record(backup_failed) = %v, %v, want an Alert", got, err)
		}
		if err := s.Delivered(context.Background(), got[0]); err != nil {
			t.Fatal(err)
		}
		kinds, errs := raceRecord(s, portal, Healthy, at(m15), runs)
		resolved := 0
		for i, k := range kinds {
			if errs[i] != nil && !errors.Is(errs[i], ErrConflict) {
				t.Errorf("Record(healthy) run %d error = %v, want nil or ErrConflict", i, errs[i])
			}
			if k == Resolved {
				resolved++
			}
		}
		if resolved != 1 {
			t.Errorf("%d overlapping Record(healthy) = %d Resolved in total, want 1", runs, resolved)
		}
	})

	t.Run("missing table is unavailable", func(t *testing.T) {
		s, err := NewStore(client, "no-such-table", DefaultPolicy())
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Record(context.Background(), "https://p.example.com", judged("backup_failed"), t0)
		if !errors.Is(err, ErrUnavailable) || len(got) != 0 {
			t.Errorf("Record() = %v, %v, want ErrUnavailable", got, err)
		}
	})
}

// countingAPI counts the conditional check failures of the API it wraps.
type countingAPI struct {
	API
	conflicts atomic.Int64
}

func (c *countingAPI) PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	out, err := c.API.PutItem(ctx, in, optFns...)
	if _, ok := errors.AsType[*types.ConditionalCheckFailedException](err); ok {
		c.conflicts.Add(1)
	}
	return out, err
}

// raceRecord releases n goroutines together to Record the same verdict and
// returns the kind of notice each got (None for none) and its error.
func raceRecord(s *Store, portal, reason string, now time.Time, n int) ([]Kind, []error) {
	return raceRecordRun(s, portal, judged(reason), now, n)
}

// raceRecordRun is raceRecord of one run.
func raceRecordRun(s *Store, portal string, run Run, now time.Time, n int) ([]Kind, []error) {
	kinds, errs := make([]Kind, n), make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			got, err := s.Record(context.Background(), portal, run, now)
			errs[i] = err
			for _, x := range got {
				// As the handler does once the notice is sent.
				if derr := s.Delivered(context.Background(), x); derr != nil {
					errs[i] = errors.Join(errs[i], derr)
				}
				if kinds[i] != None {
					errs[i] = errors.Join(errs[i], fmt.Errorf("more than one notice: %v", got))
				}
				kinds[i] = x.Kind
			}
		})
	}
	close(start)
	wg.Wait()
	return kinds, errs
}

// TestOneRunCountsOnceMoto: deliveries of one run's portal, overlapping
// (the same message to two consumers) and again later (a redelivery), and
// a backlogged message of an older run count once toward a threshold:
// unreachable, which alerts after 2 failing runs, alerts only on the
// second run, exactly once.
func TestOneRunCountsOnceMoto(t *testing.T) {
	client, table := motoTable(t)
	c := &countingAPI{API: client}
	s, err := NewStore(c, table, DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	const portal, deliveries = "https://once.example.com", 6
	run := func(id string, began time.Time) Run {
		r := judged("unreachable")
		r.ID, r.At = id, began
		return r
	}
	failures := func() string { return sval(getItem(t, client, table, portal, "unreachable")["failures"]) }
	alerts := 0
	record := func(step string, r Run, now time.Time, n int) {
		t.Helper()
		kinds, errs := raceRecordRun(s, portal, r, now, n)
		for i, k := range kinds {
			if errs[i] != nil && !errors.Is(errs[i], ErrConflict) {
				t.Errorf("%s: Record error = %v, want nil or ErrConflict", step, errs[i])
			}
			if k == Alert {
				alerts++
			}
		}
	}
	record("run 1, overlapping deliveries", run("run-1", t0), at(time.Minute), deliveries)
	record("run 1, redelivered", run("run-1", t0), at(10*time.Minute), 1)
	record("run 0, backlogged", run("run-0", t0.Add(-m15)), at(11*time.Minute), 1)
	if f := failures(); f != "1" || alerts != 0 {
		t.Fatalf("after one run delivered %d times, failures = %s and %d alert(s), want 1 and none", deliveries+2, f, alerts)
	}
	record("run 2, overlapping deliveries", run("run-2", at(m15)), at(m15+time.Minute), deliveries)
	record("run 2, redelivered", run("run-2", at(m15)), at(m15+10*time.Minute), 1)
	if f := failures(); f != "2" || alerts != 1 {
		t.Errorf("after the second run, failures = %s and %d alert(s), want 2 and exactly 1", f, alerts)
	}
}

func TestMain(m *testing.M) { motoserver.Main(m) }
