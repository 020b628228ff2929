// Package fleet fans a run over many portals out on an Amazon SQS queue:
// the dispatcher puts one message per portal on the queue, ten to a
// SendMessageBatch call and several calls at once; the queue's event source
// mapping hands the messages back to the function in batches, and a
// message whose portal could not be checked is reported as a batch item
// failure, so that only that portal is retried and, after the queue's
// maxReceiveCount, lands in the dead-letter queue.
package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// MaxBatchEntries is the most messages one SendMessageBatch call takes.
const MaxBatchEntries = 10

// Defaults of NewDispatcher.
const (
	// DefaultConcurrency is the SendMessageBatch calls in flight at once.
	DefaultConcurrency = 8
	// DefaultAttempts is how often an entry SQS refused is sent.
	DefaultAttempts = 3
)

// Run names the run a job belongs to: the run that queued it.
type Run struct {
	// ID is the run's own name (its Lambda request ID).
	ID string `json:"id"`
	// At is when the run began.
	At time.Time `json:"at"`
}

// Age returns how long ago the run began, at now; a run without a time is
// of unknown age, reported as ok false.
func (r Run) Age(now time.Time) (time.Duration, bool) {
	if r.At.IsZero() {
		return 0, false
	}
	return now.Sub(r.At), true
}

// Job is one portal to check, the body of one message. Its fields are
// those of the function's input target, plus Registered for a portal of
// the registry (whose URL its secret names) and the Run that queued it.
type Job struct {
	PortalURL  string `json:"portalUrl,omitempty"`
	SecretID   string `json:"secretId,omitempty"`
	Registered bool   `json:"registered,omitempty"`
	// Dump and SelfHosted are the portal's own options from the input;
	// nil means the function's DUMP and SELF_HOSTED.
	Dump       *bool `json:"dump,omitempty"`
	SelfHosted *bool `json:"selfHosted,omitempty"`
	// Run is the run that queued the job; a consumer counts the portal
	// once for that run and drops a job whose run is too old. A message
	// of an earlier release has none.
	Run Run `json:"run,omitzero"`
}

// ErrBadJob is a message body that is not a Job: a poison message.
var ErrBadJob = errors.New("not a portal check message")

// maxJobBytes bounds a message body; a Job is a URL and an ARN.
const maxJobBytes = 8 << 10

// Encode returns j as a message body.
func (j Job) Encode() (string, error) {
	if err := j.validate(); err != nil {
		return "", err
	}
	b, err := json.Marshal(j)
	if err != nil {
		return "", fmt.Errorf("encode job: %w", err)
	}
	return string(b), nil
}

// DecodeJob reads a message body strictly: one JSON object with the Job's
// fields only, naming a secret or a portal. The error wraps ErrBadJob.
func DecodeJob(body string) (Job, error) {
	if len(body) > maxJobBytes {
		return Job{}, fmt.Errorf("%w: body of %d bytes", ErrBadJob, len(body))
	}
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	var j Job
	if err := dec.Decode(&j); err != nil {
		return Job{}, fmt.Errorf("%w: %v", ErrBadJob, err)
	}
	if dec.More() {
		return Job{}, fmt.Errorf("%w: more than one JSON value", ErrBadJob)
	}
	if err := j.validate(); err != nil {
		return Job{}, err
	}
	return j, nil
}

func (j Job) validate() error {
	switch {
	case j.Registered && (j.SecretID == "" || j.PortalURL != ""):
		return fmt.Errorf("%w: a registered portal has a secretId and no portalUrl", ErrBadJob)
	case j.PortalURL == "" && j.SecretID == "":
		return fmt.Errorf("%w: no portalUrl or secretId", ErrBadJob)
	}
	return nil
}

// Sender is the part of *sqs.Client the dispatcher needs.
type Sender interface {
	SendMessageBatch(ctx context.Context, params *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

var _ Sender = (*sqs.Client)(nil)

// Dispatcher puts jobs on a queue. It is safe for concurrent use.
type Dispatcher struct {
	client      Sender
	queueURL    string
	concurrency int
	attempts    int
}

// Option configures a Dispatcher.
type Option func(*Dispatcher) error

// WithConcurrency sets the SendMessageBatch calls in flight at once
// (default DefaultConcurrency).
func WithConcurrency(n int) Option {
	return func(d *Dispatcher) error {
		if n < 1 {
			return fmt.Errorf("concurrency %d is not positive", n)
		}
		d.concurrency = n
		return nil
	}
}

// NewDispatcher returns a dispatcher to the queue at queueURL.
func NewDispatcher(client Sender, queueURL string, opts ...Option) (*Dispatcher, error) {
	if client == nil {
		return nil, errors.New("fleet: client is nil")
	}
	if !strings.HasPrefix(queueURL, "https://") && !strings.HasPrefix(queueURL, "http://") {
		return nil, fmt.Errorf("fleet: queue URL %q is not a URL", queueURL)
	}
	d := &Dispatcher{client: client, queueURL: queueURL, concurrency: DefaultConcurrency, attempts: DefaultAttempts}
	for _, opt := range opts {
		if err := opt(d); err != nil {
			return nil, fmt.Errorf("fleet: %w", err)
		}
	}
	return d, nil
}

// Sent is what Dispatch did.
type Sent struct {
	// Messages is the messages the queue took, one per job.
	Messages int `json:"messages"`
	// Calls is the SendMessageBatch calls made, retries included.
	Calls int `json:"calls"`
}

// Dispatch puts one message per job on the queue, MaxBatchEntries to a
// call, with up to the dispatcher's concurrency calls at once. An entry
// SQS refused for its own reasons (not a fault of the request) is sent
// again, up to DefaultAttempts times in all. The error says how many jobs
// were not queued; the others are queued whatever the error.
func (d *Dispatcher) Dispatch(ctx context.Context, jobs []Job) (Sent, error) {
	for i, j := range jobs {
		if err := j.validate(); err != nil {
			return Sent{}, fmt.Errorf("fleet: job %d: %w", i, err)
		}
	}
	var (
		mu    sync.Mutex
		sent  Sent
		errs  []error
		wg    sync.WaitGroup
		slots = make(chan struct{}, d.concurrency)
	)
	for start := 0; start < len(jobs); start += MaxBatchEntries {
		batch := jobs[start:min(start+MaxBatchEntries, len(jobs))]
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			// Each batch encodes its own bodies: the memory in use stays
			// that of the batches in flight, not of every message.
			bodies := make([]string, len(batch))
			for i, j := range batch {
				bodies[i], _ = j.Encode() // validated above
			}
			ok, calls, err := d.send(ctx, start, bodies)
			mu.Lock()
			defer mu.Unlock()
			sent.Messages += ok
			sent.Calls += calls
			if err != nil {
				errs = append(errs, err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return sent, fmt.Errorf("fleet: %d of %d portal(s) not queued: %w", len(jobs)-sent.Messages, len(jobs), err)
	}
	return sent, nil
}

// send sends one batch; entry ids are the jobs' indexes. It returns the
// messages queued and the calls made.
func (d *Dispatcher) send(ctx context.Context, first int, bodies []string) (int, int, error) {
	pending := map[string]string{}
	for i, b := range bodies {
		pending[strconv.Itoa(first+i)] = b
	}
	queued, calls := 0, 0
	var (
		last    error
		refused []error
	)
	for attempt := 0; attempt < d.attempts && len(pending) > 0 && ctx.Err() == nil; attempt++ {
		in := &sqs.SendMessageBatchInput{QueueUrl: aws.String(d.queueURL)}
		for i := range bodies {
			id := strconv.Itoa(first + i)
			if b, ok := pending[id]; ok {
				in.Entries = append(in.Entries, sqstypes.SendMessageBatchRequestEntry{Id: aws.String(id), MessageBody: aws.String(b)})
			}
		}
		calls++
		out, err := d.client.SendMessageBatch(ctx, in)
		if err != nil {
			// The SDK has retried what it could; the whole batch failed.
			return queued, calls, fmt.Errorf("send messages %d-%d: %w", first, first+len(bodies)-1, err)
		}
		for _, s := range out.Successful {
			if _, ok := pending[aws.ToString(s.Id)]; ok {
				delete(pending, aws.ToString(s.Id))
				queued++
			}
		}
		for _, f := range out.Failed {
			err := fmt.Errorf("message %s: %s %s", aws.ToString(f.Id), aws.ToString(f.Code), aws.ToString(f.Message))
			if f.SenderFault {
				// A fault of the request: sending it again changes nothing.
				delete(pending, aws.ToString(f.Id))
				refused = append(refused, err)
				continue
			}
			last = err
		}
	}
	if len(pending) > 0 {
		if last == nil {
			last = ctx.Err()
		}
		refused = append(refused, fmt.Errorf("%d message(s) not queued after %d attempt(s): %w", len(pending), calls, last))
	}
	return queued, calls, errors.Join(refused...)
}
