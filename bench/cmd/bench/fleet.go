package main

// The fleet measurements (issue 10): one check's time against a portal
// with a 200 ms latency, its routes one after another and at once; the
// dispatcher queuing 1,000 and 10,000 portals; the queue consumer's time
// per batch; the fleet's time at a stated concurrency; peak memory of each
// side against N; and the fleet's inputs of the bill (COST.md).

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/docspace-backup-watch/docspace-backup-watch/internal/localrun"
	"github.com/docspace-backup-watch/docspace-backup-watch/internal/motoserver"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/backupcheck"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/fakeportal"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/fleet"
)

// Sizes of the fleet measurements.
const (
	fleetLatency    = 200 * time.Millisecond // the portal's delay before each answer
	checkRepeats    = 5                      // sequential/concurrent pairs, interleaved
	consumerBatches = 20                     // queue batches the consumer takes
	fleetPortals    = 10000                  // the fleet of the time estimate
)

// dispatchSizes are the fleets the dispatcher queues.
var dispatchSizes = []int{1000, fleetPortals}

// largerConcurrency is the event source mapping's maximum concurrency of
// the fleet time estimate besides the template's default.
const largerConcurrency = 50

// fleetResults holds the fleet figures.
type fleetResults struct {
	// The template's defaults in fleet mode: portals per queue batch
	// (QueueBatchSize), checked at once (MaxConcurrency), the mapping's
	// maximum concurrency (QueueMaxConcurrency).
	Batch, Parallel, QueueConcurrency int

	Sequential, Concurrent []time.Duration
	RoutesPerCheck         int

	Dispatch []dispatchRow

	// BatchMs are the consumer's REPORT durations, one per batch.
	BatchMs []float64
	// ConsumerPeakKB is the consumer's VmHWM after its 2nd batch and after
	// its last.
	ConsumerPeakKB [2]int
	// Per check, from the consumer's batches with the alert state table.
	SMGetPerCheck, DDBQueryPerCheck, DDBPutPerCheck float64
	LogBytesPerCheck                                float64
	ConsumerFailures                                int
	Note                                            string
}

type dispatchRow struct {
	N               int
	DurationMs      float64
	Wall            time.Duration
	Messages, Calls int
	PeakKB          int
	Note            string
}

// measureFleet runs every fleet measurement; a failure is noted in the
// results rather than ending the bench.
func measureFleet(ctx context.Context, e *env) fleetResults {
	f := fleetResults{Batch: e.fleet.BatchSize, Parallel: e.fleet.MaxConcurrency, QueueConcurrency: e.fleet.QueueConcurrency}
	defer func() { _ = e.portal.SetConfig(fakeportal.Config{Scenario: fakeportal.Healthy}) }()
	if err := measureCheckTime(ctx, e, &f); err != nil {
		f.Note = "check time: " + err.Error()
		return f
	}
	queue, err := localrun.CreateCheckQueue(ctx, motoserver.AWSConfig(e.moto.Endpoint), "bench-checks", 3)
	if err != nil {
		f.Note = err.Error()
		return f
	}
	for _, n := range dispatchSizes {
		row := dispatchRow{N: n}
		if err := measureDispatch(ctx, e, queue, &row); err != nil {
			row.Note = err.Error()
		}
		f.Dispatch = append(f.Dispatch, row)
	}
	if err := measureConsumer(ctx, e, queue, &f); err != nil {
		f.Note = "consumer: " + err.Error()
	}
	return f
}

// measureCheckTime times one portal's check against a portal that waits
// 200 ms before each answer: the four routes one after another (as the
// check did before its routes ran at once) and backupcheck.Check, which
// asks them at once. The pairs are interleaved so that machine noise lands
// on both.
func measureCheckTime(ctx context.Context, e *env, f *fleetResults) error {
	if err := e.portal.SetConfig(fakeportal.Config{Scenario: fakeportal.Healthy, Delay: fakeportal.Duration(fleetLatency)}); err != nil {
		return err
	}
	client, err := docspace.NewClient(e.portalURL+"/p/healthy-latency", benchKey, docspace.WithInsecureHTTP())
	if err != nil {
		return err
	}
	sequential := func() error {
		if _, _, err := client.GetBackupServiceState(ctx); err != nil {
			return err
		}
		if _, _, err := client.GetBackupSchedule(ctx); err != nil {
			return err
		}
		if _, _, err := client.GetBackupHistory(ctx); err != nil {
			return err
		}
		_, _, err := client.GetBackupProgress(ctx)
		return err
	}
	concurrent := func() error {
		v := backupcheck.Check(ctx, "healthy-latency", client, backupcheck.Options{Signals: backupcheck.AllSignals()}, time.Now())
		if !v.Healthy() {
			return fmt.Errorf("concurrent check: %s: %s", v.Reason, v.Detail)
		}
		f.RoutesPerCheck = v.Calls
		return nil
	}
	// One of each first: the connections are opened and kept.
	if err := sequential(); err != nil {
		return err
	}
	if err := concurrent(); err != nil {
		return err
	}
	for range checkRepeats {
		t := time.Now()
		if err := sequential(); err != nil {
			return err
		}
		f.Sequential = append(f.Sequential, time.Since(t))
		t = time.Now()
		if err := concurrent(); err != nil {
			return err
		}
		f.Concurrent = append(f.Concurrent, time.Since(t))
	}
	return nil
}

// queueSink answers SendMessageBatch as SQS does (every entry taken, with
// the MD5 of its body, which the SDK checks) and counts the messages;
// every other request goes to next. moto's queue slows down with its
// length (1,000 messages took 35 s to send, 10,000 would take an hour), so
// the dispatcher is measured against the sink: its figures are the
// function's own work plus a loopback round trip per call.
type queueSink struct {
	next     http.Handler
	messages atomic.Int64
	calls    atomic.Int64
}

func (s *queueSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Amz-Target") != "AmazonSQS.SendMessageBatch" {
		s.next.ServeHTTP(w, r)
		return
	}
	var in struct {
		Entries []struct{ Id, MessageBody string }
	}
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	type ok struct{ Id, MessageId, MD5OfMessageBody string }
	out := struct{ Successful []ok }{Successful: []ok{}}
	for _, e := range in.Entries {
		sum := md5.Sum([]byte(e.MessageBody))
		out.Successful = append(out.Successful, ok{Id: e.Id, MessageId: fmt.Sprintf("sink-%d", s.messages.Add(1)), MD5OfMessageBody: hex.EncodeToString(sum[:])})
	}
	s.calls.Add(1)
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_ = json.NewEncoder(w).Encode(out)
}

// fleetEnv is the function's environment for the fleet runs: moto behind
// the counting proxy, the check queue, lists up to 10,000 portals.
func (e *env) fleetEnv(queueURL string) (map[string]string, error) {
	fenv, err := e.functionEnv()
	if err != nil {
		return nil, err
	}
	fenv["QUEUE_URL"] = queueURL
	fenv["DISPATCH_ABOVE"] = "50"
	fenv["MAX_PORTALS"] = fmt.Sprint(fleetPortals)
	fenv["MAX_CONCURRENCY"] = fmt.Sprint(e.fleet.MaxConcurrency)
	return fenv, nil
}

// measureDispatch invokes a fresh function (after a warm-up invoke) with a
// list of row.N portals, which it queues; then empties the queue.
func measureDispatch(ctx context.Context, e *env, queue *localrun.CheckQueue, row *dispatchRow) error {
	if err := e.portal.SetConfig(fakeportal.Config{Scenario: fakeportal.Healthy}); err != nil {
		return err
	}
	fenv, err := e.fleetEnv(queue.URL)
	if err != nil {
		return err
	}
	sink := &queueSink{next: e.proxy}
	sinkURL, closeSink, err := localrun.Serve(sink)
	if err != nil {
		return err
	}
	defer closeSink()
	fenv["AWS_ENDPOINT_URL"] = sinkURL
	fn, err := localrun.StartFunction(ctx, e.rie, e.bootstrap, fenv, nil)
	if err != nil {
		return err
	}
	defer fn.Close()
	if inv, err := fn.Invoke(ctx, []byte(`{}`)); err != nil || inv.Failed {
		return fmt.Errorf("warm-up invoke: %v %s", err, truncate(string(inv.Response), 200))
	}
	portals := make([]map[string]string, row.N)
	for i := range portals {
		portals[i] = map[string]string{"portalUrl": fmt.Sprintf("%s/p/healthy-d%d", e.portalURL, i), "secretId": e.stack.SecretARN}
	}
	payload, _ := json.Marshal(map[string]any{"portals": portals})
	ictx, cancel := context.WithTimeout(ctx, 100*time.Second)
	defer cancel()
	t := time.Now()
	inv, err := fn.Invoke(ictx, payload)
	row.Wall = time.Since(t)
	if err != nil {
		return err
	}
	row.DurationMs = inv.Report.DurationMs
	if pid := bootstrapPID(fn.PID()); pid != 0 {
		row.PeakKB, _ = statusKB(pid, "VmHWM")
	}
	var out struct {
		Dispatched *fleet.Sent `json:"dispatched"`
	}
	if err := json.Unmarshal(inv.Response, &out); err != nil || inv.Failed || out.Dispatched == nil {
		return fmt.Errorf("not dispatched: %s", truncate(string(inv.Response), 200))
	}
	row.Messages, row.Calls = out.Dispatched.Messages, out.Dispatched.Calls
	if got := int(sink.messages.Load()); got != row.N || got != row.Messages {
		return fmt.Errorf("the sink took %d messages, the function says %d, for %d portals", got, row.Messages, row.N)
	}
	return nil
}

// measureConsumer queues consumerBatches x f.Batch portals that
// answer after 200 ms and hands them to a fresh function batch by batch,
// as the event source mapping does, with the alert state table in use.
func measureConsumer(ctx context.Context, e *env, queue *localrun.CheckQueue, f *fleetResults) error {
	if err := e.portal.SetConfig(fakeportal.Config{Scenario: fakeportal.Healthy, Delay: fakeportal.Duration(fleetLatency)}); err != nil {
		return err
	}
	d, err := fleet.NewDispatcher(sqs.NewFromConfig(motoserver.AWSConfig(e.moto.Endpoint)), queue.URL)
	if err != nil {
		return err
	}
	jobs := make([]fleet.Job, consumerBatches*f.Batch)
	// One run queued them all, just now, as the dispatcher does: the
	// consumer drops a message of no run, or of a run older than the
	// schedule's interval.
	run := fleet.Run{ID: "bench-run", At: time.Now()}
	for i := range jobs {
		jobs[i] = fleet.Job{PortalURL: fmt.Sprintf("%s/p/healthy-c%d", e.portalURL, i), SecretID: e.stack.SecretARN, Run: run}
	}
	if _, err := d.Dispatch(ctx, jobs); err != nil {
		return err
	}
	fenv, err := e.fleetEnv(queue.URL)
	if err != nil {
		return err
	}
	fenv["STATE_TABLE"] = e.stack.StateTable
	fn, err := localrun.StartFunction(ctx, e.rie, e.bootstrap, fenv, nil)
	if err != nil {
		return err
	}
	defer fn.Close()
	smBefore, qBefore, pBefore := e.proxy.Count(smGet), e.proxy.Count(ddbQuery), e.proxy.Count(ddbPut)
	var logBytes int64
	checks := 0
	for i := 0; ; i++ {
		ev, err := queue.ReceiveBatch(ctx, f.Batch)
		if err != nil {
			return err
		}
		if len(ev.Records) == 0 {
			break
		}
		payload, _ := json.Marshal(ev)
		inv, err := fn.Invoke(ctx, payload)
		if err != nil {
			return err
		}
		var out struct {
			Verdicts          []json.RawMessage
			BatchItemFailures []events.SQSBatchItemFailure `json:"batchItemFailures"`
		}
		if err := json.Unmarshal(inv.Response, &out); err != nil || inv.Failed {
			return fmt.Errorf("batch %d: %s", i, truncate(string(inv.Response), 200))
		}
		f.ConsumerFailures += len(out.BatchItemFailures)
		checks += len(out.Verdicts)
		if i > 0 { // the first batch includes the cold start
			f.BatchMs = append(f.BatchMs, inv.Report.DurationMs)
		}
		for _, l := range inv.Logs {
			logBytes += int64(len(l)) + 1
		}
		pid := bootstrapPID(fn.PID())
		if pid != 0 && i == 1 {
			f.ConsumerPeakKB[0], _ = statusKB(pid, "VmHWM")
		}
		if pid != 0 {
			f.ConsumerPeakKB[1], _ = statusKB(pid, "VmHWM")
		}
		if _, err := queue.Settle(ctx, ev, out.BatchItemFailures, inv.Failed); err != nil {
			return err
		}
	}
	if checks == 0 {
		return fmt.Errorf("no portal checked")
	}
	f.SMGetPerCheck = float64(e.proxy.Count(smGet)-smBefore) / float64(checks)
	f.DDBQueryPerCheck = float64(e.proxy.Count(ddbQuery)-qBefore) / float64(checks)
	f.DDBPutPerCheck = float64(e.proxy.Count(ddbPut)-pBefore) / float64(checks)
	f.LogBytesPerCheck = float64(logBytes) / float64(checks)
	return nil
}

// DynamoDB operations as the counting proxy names them.
const (
	ddbQuery = "DynamoDB_20120810.Query"
	ddbPut   = "DynamoDB_20120810.PutItem"
)

func (f *fleetResults) batchMs() float64 { return median(f.BatchMs) }

// fleetSeconds is the whole fleet's time at a Lambda concurrency c: the
// dispatcher's time for N portals, then ceil(N / batch) batches, c at a
// time, each taking the measured median batch time.
func (f *fleetResults) fleetSeconds(n, c int) float64 {
	batches := ceilDiv(n, f.Batch)
	waves := (batches + c - 1) / c
	return f.dispatchMs(n)/1000 + float64(waves)*f.batchMs()/1000
}

// dispatchMs is the measured dispatcher Duration for n portals,
// interpolated linearly between (and beyond) the measured sizes.
func (f *fleetResults) dispatchMs(n int) float64 {
	var pts []dispatchRow
	for _, r := range f.Dispatch {
		if r.Note == "" {
			pts = append(pts, r)
		}
	}
	switch len(pts) {
	case 0:
		return 0
	case 1:
		return pts[0].DurationMs * float64(n) / float64(pts[0].N)
	}
	a, b := pts[0], pts[len(pts)-1]
	slope := (b.DurationMs - a.DurationMs) / float64(b.N-a.N)
	return max(0, a.DurationMs+slope*float64(n-a.N))
}

// renderFleet writes the fleet section of FLEET.md.
func renderFleet(f *fleetResults, date string) string {
	consumerBatch := f.Batch
	var b strings.Builder
	fmt.Fprintf(&b, "# Fleet bench\n\nMeasured by `bench/run` on %s, on this machine (%s), against the fake portal on loopback answering after %v, and moto_server. Written by `bench/cmd/bench/fleet.go`; the batch size, the concurrency and the mapping's maximum concurrency are template.yaml's defaults in fleet mode; COST.md prices the fleet with these figures.\n\n", date, machine(), fleetLatency)
	if f.Note != "" {
		fmt.Fprintf(&b, "**Not complete:** %s\n\n", f.Note)
	}
	seq, con := median(f.Sequential), median(f.Concurrent)
	b.WriteString("## One check against a portal with 200 ms latency\n\n")
	b.WriteString("| Check | Median of 5 (interleaved) | Latency multiples | Target | |\n| --- | --- | --- | --- | --- |\n")
	fmt.Fprintf(&b, "| Before: the four routes one after another (docspace.Client calls in sequence) | %s | %.2fx | | |\n", msStr(seq), ms(seq)/ms(fleetLatency))
	fmt.Fprintf(&b, "| After: `backupcheck.Check`, routes at once (%d requests) | %s | %.2fx | under 1.5x | %s |\n", f.RoutesPerCheck, msStr(con), ms(con)/ms(fleetLatency), passFail(con > 0 && ms(con) < 1.5*ms(fleetLatency)))
	fmt.Fprintf(&b, "| Before / after | %s | | | |\n\n", ratio(ms(seq), ms(con)))

	b.WriteString("## The dispatcher: a run over N portals queues them\n\n")
	b.WriteString("The built bootstrap under the emulator, after a warm-up invoke, given `{\"portals\":[...N...]}` with `DISPATCH_ABOVE=50` and `MAX_PORTALS=10000`; one message per portal, `SendMessageBatch` ten at a time, eight calls in flight. The batches go to a sink in front of moto_server that takes them as SQS does and counts the messages (moto's queue slows down with its length: 1,000 messages took 35 s to send there), so the figures are the function's own work plus a loopback round trip per call; a real SendMessageBatch takes longer (tens of milliseconds), eight at a time.\n\n")
	b.WriteString("| Portals | Duration (REPORT) | Wall | Messages sent | SendMessageBatch calls | Peak memory (VmHWM) | |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range f.Dispatch {
		fmt.Fprintf(&b, "| %d | %.0f ms | %s | %d | %d | %s | %s |\n", r.N, r.DurationMs, msStr(r.Wall), r.Messages, r.Calls, mib(int64(r.PeakKB)), r.Note)
	}
	if n := len(f.Dispatch); n >= 2 && f.Dispatch[0].Note == "" && f.Dispatch[n-1].Note == "" {
		a, z := f.Dispatch[0], f.Dispatch[n-1]
		fmt.Fprintf(&b, "\nThe dispatcher's peak memory grows by %.1f KiB per portal listed: the event itself holds the list (about %d bytes an entry here), and the function parses and de-duplicates it before queuing; the messages are encoded batch by batch, so the queuing adds only the calls in flight. A registered fleet lists secret ARNs instead (ListSecrets pages of 100, cached).\n", float64(z.PeakKB-a.PeakKB)/float64(z.N-a.N), len(fmt.Sprintf(`{"portalUrl":"http://127.0.0.1:40000/p/healthy-d%d","secretId":"arn:aws:secretsmanager:us-east-1:123456789012:secret:bench/api-key-AbCdEf"},`, z.N)))
	}
	b.WriteString("\n## The consumer: batches from the queue\n\n")
	fmt.Fprintf(&b, "%d portals queued, handed to a fresh function %d at a time as the event source mapping's SQS events (`MAX_CONCURRENCY=%d`, alert state table in use; the template's QueueBatchSize and MaxConcurrency defaults); each portal answers after %v. The first batch (cold start) is left out of the median.\n\n", consumerBatches*consumerBatch, consumerBatch, f.Parallel, fleetLatency)
	b.WriteString("| Measure | Value |\n| --- | --- |\n")
	fmt.Fprintf(&b, "| Duration per batch of %d (REPORT, median of %d) | %.0f ms |\n", consumerBatch, len(f.BatchMs), f.batchMs())
	if f.batchMs() > 0 {
		fmt.Fprintf(&b, "| Throughput of one consumer instance | %.1f portals/s |\n", float64(consumerBatch)/(f.batchMs()/1000))
	}
	fmt.Fprintf(&b, "| Peak memory (VmHWM) after batch 2 / after batch %d | %s / %s |\n", consumerBatches, mib(int64(f.ConsumerPeakKB[0])), mib(int64(f.ConsumerPeakKB[1])))
	fmt.Fprintf(&b, "| Batch item failures | %d |\n", f.ConsumerFailures)
	fmt.Fprintf(&b, "| Per check, each portal's first (a new portal's state is written once; RESULTS.md has a steady check's): Secrets Manager GetSecretValue (one secret for all) / DynamoDB Query / PutItem (counted at the proxy) | %.2f / %.2f / %.2f |\n", f.SMGetPerCheck, f.DDBQueryPerCheck, f.DDBPutPerCheck)
	fmt.Fprintf(&b, "| Log bytes per check (function lines, fleet EMF lines and START/END/REPORT, shared by the batch) | %.0f |\n\n", f.LogBytesPerCheck)

	b.WriteString("## The whole fleet\n\n")
	fmt.Fprintf(&b, "Time = dispatcher(N) + ceil(ceil(N / %d) / C) x t_batch, with C the event source mapping's maximum concurrency (`QueueMaxConcurrency`), t_batch = %.0f ms measured above and dispatcher(N) interpolated from the table above. Real Lambda adds the mapping's polling and scaling (it adds instances gradually), so read these as lower bounds.\n\n", consumerBatch, f.batchMs())
	b.WriteString("| Portals | C | Batches | Time |\n| --- | --- | --- | --- |\n")
	for _, n := range []int{1000, fleetPortals} {
		for _, c := range []int{f.QueueConcurrency, largerConcurrency} {
			fmt.Fprintf(&b, "| %d | %d | %d | %.1f s |\n", n, c, (n+consumerBatch-1)/consumerBatch, f.fleetSeconds(n, c))
		}
	}
	b.WriteString("\n")
	return b.String()
}
