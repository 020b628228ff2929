package fleet

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// fakeQueue takes batches; refuse decides, per body and attempt, whether
// an entry fails (and whether as the sender's fault).
type fakeQueue struct {
	mu       sync.Mutex
	bodies   []string
	calls    int
	inFlight atomic.Int32
	peak     atomic.Int32
	tries    map[string]int
	refuse   func(body string, try int) (fail, senderFault bool)
	err      error
}

func (q *fakeQueue) SendMessageBatch(_ context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	n := q.inFlight.Add(1)
	defer q.inFlight.Add(-1)
	for p := q.peak.Load(); n > p && !q.peak.CompareAndSwap(p, n); p = q.peak.Load() {
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.calls++
	if q.err != nil {
		return nil, q.err
	}
	if len(in.Entries) > MaxBatchEntries {
		return nil, fmt.Errorf("%d entries in one batch", len(in.Entries))
	}
	if q.tries == nil {
		q.tries = map[string]int{}
	}
	out := &sqs.SendMessageBatchOutput{}
	for _, e := range in.Entries {
		body := aws.ToString(e.MessageBody)
		q.tries[body]++
		if q.refuse != nil {
			if fail, sender := q.refuse(body, q.tries[body]); fail {
				out.Failed = append(out.Failed, sqstypes.BatchResultErrorEntry{Id: e.Id, Code: aws.String("InternalError"), SenderFault: sender})
				continue
			}
		}
		q.bodies = append(q.bodies, body)
		out.Successful = append(out.Successful, sqstypes.SendMessageBatchResultEntry{Id: e.Id, MessageId: aws.String("m-" + aws.ToString(e.Id))})
	}
	return out, nil
}

func jobs(n int) []Job {
	out := make([]Job, n)
	for i := range out {
		out[i] = Job{SecretID: fmt.Sprintf("arn:aws:secretsmanager:us-east-1:1:secret:p%03d", i), Registered: true}
	}
	return out
}

const queueURL = "https://sqs.us-east-1.amazonaws.com/123456789012/checks"

func TestDispatch(t *testing.T) {
	q := &fakeQueue{}
	d, err := NewDispatcher(q, queueURL, WithConcurrency(3))
	if err != nil {
		t.Fatal(err)
	}
	in := jobs(95)
	sent, err := d.Dispatch(context.Background(), in)
	if err != nil || sent.Messages != 95 || sent.Calls != 10 || q.calls != 10 {
		t.Fatalf("Dispatch(95 jobs) = %+v, %v after %d calls, want 95 messages in 10 calls", sent, err, q.calls)
	}
	if p := q.peak.Load(); p > 3 {
		t.Errorf("%d calls in flight, want at most 3", p)
	}
	var got []Job
	for _, b := range q.bodies {
		j, err := DecodeJob(b)
		if err != nil {
			t.Fatalf("DecodeJob(%s) error = %v", b, err)
		}
		got = append(got, j)
	}
	slices.SortFunc(got, func(a, b Job) int { return strings.Compare(a.SecretID, b.SecretID) })
	if !slices.Equal(got, in) {
		t.Errorf("queued %d jobs, not the 95 given once each", len(got))
	}
}

func TestDispatchRetriesRefusedEntries(t *testing.T) {
	in := jobs(12)
	flaky, _ := in[3].Encode()
	bad, _ := in[11].Encode()
	gone, _ := in[5].Encode()
	q := &fakeQueue{refuse: func(body string, try int) (bool, bool) {
		switch body {
		case flaky:
			return try < 3, false // queued on the third attempt
		case bad:
			return true, true // the request's fault: not sent again
		case gone:
			return true, false // refused every time
		}
		return false, false
	}}
	d, _ := NewDispatcher(q, queueURL)
	sent, err := d.Dispatch(context.Background(), in)
	if sent.Messages != 10 || err == nil || !strings.Contains(err.Error(), "2 of 12 portal(s) not queued") {
		t.Errorf("Dispatch() = %+v, %v, want 10 queued and an error for 2", sent, err)
	}
	if q.tries[flaky] != 3 || q.tries[bad] != 1 || q.tries[gone] != DefaultAttempts {
		t.Errorf("tries = flaky %d, sender fault %d, always refused %d; want 3, 1, %d", q.tries[flaky], q.tries[bad], q.tries[gone], DefaultAttempts)
	}
}

func TestDispatchCallFails(t *testing.T) {
	q := &fakeQueue{err: errors.New("throttled")}
	d, _ := NewDispatcher(q, queueURL)
	if sent, err := d.Dispatch(context.Background(), jobs(25)); sent.Messages != 0 || err == nil || !strings.Contains(err.Error(), "25 of 25") {
		t.Errorf("Dispatch() = %+v, %v, want nothing queued and an error for 25", sent, err)
	}
	if _, err := d.Dispatch(context.Background(), []Job{{}}); !errors.Is(err, ErrBadJob) {
		t.Errorf("Dispatch(empty job) error = %v, want ErrBadJob", err)
	}
}

func TestDecodeJob(t *testing.T) {
	for _, tc := range []struct {
		body string
		want Job
		ok   bool
	}{
		{`{"secretId":"arn:x","registered":true}`, Job{SecretID: "arn:x", Registered: true}, true},
		{`{"portalUrl":"https://a.example.com","secretId":"s"}`, Job{PortalURL: "https://a.example.com", SecretID: "s"}, true},
		{`{"portalUrl":"https://a.example.com"}`, Job{PortalURL: "https://a.example.com"}, true},
		{`{}`, Job{}, false},
		{`{"secretId":"s","extra":1}`, Job{}, false},
		{`{"portalUrl":"https://a.example.com","secretId":"s","registered":true}`, Job{}, false},
		{`{"registered":true}`, Job{}, false},
		{`{"secretId":"s"} {"secretId":"t"}`, Job{}, false},
		{`not json`, Job{}, false},
		{`"arn:x"`, Job{}, false},
		{`{"secretId":"` + strings.Repeat("x", maxJobBytes) + `"}`, Job{}, false},
	} {
		got, err := DecodeJob(tc.body)
		if tc.ok && (err != nil || got != tc.want) {
			t.Errorf("DecodeJob(%.40q) = %+v, %v, want %+v", tc.body, got, err, tc.want)
		}
		if !tc.ok && !errors.Is(err, ErrBadJob) {
			t.Errorf("DecodeJob(%.40q) error = %v, want ErrBadJob", tc.body, err)
		}
	}
}

func TestNewDispatcherValidates(t *testing.T) {
	if _, err := NewDispatcher(&fakeQueue{}, "checks"); err == nil {
		t.Error("NewDispatcher(queue name) error = nil, want one: it takes the URL")
	}
	if _, err := NewDispatcher(&fakeQueue{}, queueURL, WithConcurrency(0)); err == nil {
		t.Error("NewDispatcher(concurrency 0) error = nil")
	}
}

// TestJobCarriesItsRun: a message names the run that queued it, and a
// consumer reads it back; a message of an earlier release, without one,
// is still a job, of a run of unknown age.
func TestJobCarriesItsRun(t *testing.T) {
	began := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	j := Job{SecretID: "arn:aws:secretsmanager:us-east-1:1:secret:p", Registered: true, Run: Run{ID: "req-1", At: began}}
	body, err := j.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body, `"run":{"id":"req-1","at":"2026-11-29T09:00:00Z"}`) {
		t.Errorf("Encode() = %s, want the run's id and time", body)
	}
	got, err := DecodeJob(body)
	if err != nil || got.Run.ID != "req-1" || !got.Run.At.Equal(began) {
		t.Fatalf("DecodeJob(%s) = %+v, %v, want run req-1 at %v", body, got, err, began)
	}
	if age, ok := got.Run.Age(began.Add(20 * time.Minute)); !ok || age != 20*time.Minute {
		t.Errorf("Run.Age() = %v, %v, want 20m, true", age, ok)
	}
	old, err := DecodeJob(`{"secretId":"arn:aws:secretsmanager:us-east-1:1:secret:p","registered":true}`)
	if err != nil {
		t.Fatalf("DecodeJob(no run) error = %v", err)
	}
	if _, ok := old.Run.Age(began); ok {
		t.Errorf("Run.Age() of a message without a run = ok, want unknown")
	}
}
