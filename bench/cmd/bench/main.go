// Command bench measures the health check on this machine: the Init of
// bootstrap under the AWS Lambda Runtime Interface Emulator beside a no-op
// aws-lambda-go handler's (bench/cmd/noop), cold starts and peak memory,
// the binary sizes, warm invocations with the alert state table, Secrets
// Manager, DynamoDB and portal calls, one run over many portals, the fleet
// (FLEET.md) and two reference checks (Python with boto3, Node with the AWS
// SDK v3) run as whole processes. It prices the stack that template.yaml
// makes with these figures (COST.md), prints the results and, last, the
// headline: the one-portal bill, a portal's marginal cost at 1,000 portals
// and Init against the no-op handler. With -out it writes RESULTS.md,
// COST.md and FLEET.md. bench/run installs what it needs and runs it.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/internal/localrun"
	"github.com/docspace-backup-watch/docspace-backup-watch/internal/motoserver"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/fakeportal"
)

// benchKey is the fake portal's API key, stored in moto's Secrets Manager.
const benchKey = "sk-bench-0000-not-a-real-key"

// Fixed sizes of the measurement, small enough to keep a run near 2 minutes.
const (
	coldStarts    = 5  // rounds of a cold start of ours and a run of each reference, after a warm-up round
	initRounds    = 15 // rounds of a cold start of ours, the no-op handler and the SDK floor, after a warm-up round
	cacheWarm     = 10 // warm invokes that must not call Secrets Manager
	latencyWarm   = 20 // warm invokes for the overhead median
	maxConcurrent = 50 // MAX_CONCURRENCY of the scale runs
	scaleDelay    = 200 * time.Millisecond
)

var scaleSizes = []int{50, 100, 500}

func main() {
	outDir := flag.String("out", "", "write RESULTS.md, COST.md and FLEET.md into this directory, relative to the module root (-out bench updates the committed ones); empty: print only")
	bootstrap := flag.String("bootstrap", "", "run this prebuilt bootstrap under the emulator instead of building ./functions/healthcheck (binary sizes are still those of the build)")
	fleetOnly := flag.Bool("fleet-only", false, "measure only the fleet (FLEET.md), not the single-portal figures")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *outDir, *bootstrap, *fleetOnly); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// env is what the measurements share.
type env struct {
	root, bootstrap, rie string
	// noop is the no-op handler's bootstrap (bench/cmd/noop), built alike;
	// floor is the no-op handler that builds the function's SDK clients
	// (bench/cmd/sdkfloor).
	noop, floor string
	// fleet is the template's stack in fleet mode: the batch size and the
	// concurrency the fleet measurements use are its defaults.
	fleet stackShape
	// timedBootstrap is a wrapper that writes its start time (see
	// bootstrapWrapper) and then execs bootstrap.
	timedBootstrap string
	moto           *motoserver.Server
	proxy          *countingProxy
	proxyURL       string
	portal         *fakeportal.Portal
	portalURL      string
	stack          *localrun.Stack
}

// functionEnv is the function's environment: the local-run environment
// with moto behind the counting proxy, the alert state table included, as
// deployed (the proxy times moto's share). LOG_LEVEL=INFO keeps the
// emulator's INIT REPORT line, which it logs at INFO.
func (e *env) functionEnv() (map[string]string, error) {
	fnEnv := e.stack.FunctionEnv(e.proxyURL, e.portalURL)
	fnEnv["LOG_LEVEL"] = "INFO"
	fnEnv["HTTP_TIMEOUT"] = "5s"
	fnEnv["MAX_CONCURRENCY"] = fmt.Sprint(maxConcurrent)
	fnEnv["AWS_LAMBDA_FUNCTION_TIMEOUT"] = "120"
	fnEnv["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = "128"
	return fnEnv, nil
}

// startFileVar names the file where the bootstrap wrapper writes its
// start time.
const startFileVar = "BENCH_START_FILE"

// bootstrapWrapper writes a bash script that writes the time it starts
// (bash's EPOCHREALTIME, no fork) to the file in BENCH_START_FILE and then
// execs bootstrap in the same process: the start of the function process,
// to within bash's own start-up.
func bootstrapWrapper(dir, bootstrap string) (string, error) {
	path := filepath.Join(dir, "timed", "bootstrap")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	script := fmt.Sprintf("#!/bin/bash\nprintf '%%s\\n' \"$EPOCHREALTIME\" > \"$%s\"\nexec '%s'\n", startFileVar, bootstrap)
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		return "", fmt.Errorf("write the bootstrap wrapper: %w", err)
	}
	return path, nil
}

func run(ctx context.Context, outDir, prebuilt string, fleetOnly bool) error {
	var r results
	r.Date = time.Now().UTC().Format("2006-01-02 15:04 UTC")
	r.LoadStart = loadAverage()
	e := &env{}
	var err error
	if e.root, err = localrun.ModuleRoot(ctx); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "docspace-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	step("building bootstrap (native and linux/arm64)")
	if e.bootstrap, err = localrun.BuildBootstrap(ctx, e.root, dir); err != nil {
		return err
	}
	if r.NativeSize, err = fileSize(e.bootstrap); err != nil {
		return err
	}
	arm, err := localrun.BuildBootstrapFor(ctx, e.root, filepath.Join(dir, "arm64"), "arm64")
	if err != nil {
		return err
	}
	if r.ArmSize, err = fileSize(arm); err != nil {
		return err
	}
	if e.noop, err = buildHandler(ctx, e.root, filepath.Join(dir, "noop"), "./bench/cmd/noop"); err != nil {
		return err
	}
	if r.NoopSize, err = fileSize(e.noop); err != nil {
		return err
	}
	if e.floor, err = buildHandler(ctx, e.root, filepath.Join(dir, "sdkfloor"), "./bench/cmd/sdkfloor"); err != nil {
		return err
	}
	if r.FloorSize, err = fileSize(e.floor); err != nil {
		return err
	}
	tmpl, err := readTemplate(ctx, e.root)
	if err != nil {
		return err
	}
	if e.fleet, err = tmpl.shape(tmpl.fleetOptions()); err != nil {
		return err
	}
	if prebuilt != "" {
		if e.bootstrap, err = filepath.Abs(prebuilt); err != nil {
			return err
		}
		r.Prebuilt = e.bootstrap
	}
	if e.timedBootstrap, err = bootstrapWrapper(dir, e.bootstrap); err != nil {
		return err
	}
	if e.rie, err = localrun.RIEPath(ctx, e.root); err != nil {
		return err
	}

	step("starting moto_server, the counting proxy and the fake portal")
	if e.moto, err = motoserver.Run(ctx, nil); err != nil {
		return err
	}
	defer e.moto.Close()
	if e.proxy, err = newCountingProxy(e.moto.Endpoint); err != nil {
		return err
	}
	url, closeProxy, err := localrun.Serve(e.proxy)
	if err != nil {
		return err
	}
	defer closeProxy()
	e.proxyURL = url
	if e.portal, err = fakeportal.New(benchKey, fakeportal.Config{}, nil); err != nil {
		return err
	}
	url, closePortal, err := localrun.Serve(e.portal)
	if err != nil {
		return err
	}
	defer closePortal()
	e.portalURL = url
	if e.stack, err = localrun.CreateStack(ctx, motoserver.AWSConfig(e.moto.Endpoint), "bench", benchKey, localrun.BoundTo(url)); err != nil {
		return err
	}

	step("fleet: one check at 200 ms latency, the dispatcher, the queue consumer")
	fleetRes := measureFleet(ctx, e)
	fleetText := renderFleet(&fleetRes, r.Date)
	if fleetOnly {
		fmt.Print("\n" + fleetText)
		return writeResults(e.root, outDir, map[string]string{"FLEET.md": fleetText})
	}

	step("cold start, Secrets Manager cache and warm invocations")
	if err := measureFunction(ctx, e, &r); err != nil {
		return err
	}
	step("portal latency by direct GETs")
	if err := measurePortal(ctx, e, &r); err != nil {
		return err
	}
	step("Init: cold starts of ours and of the no-op handler, alternating")
	if err := measureInit(ctx, e, &r); err != nil {
		return err
	}
	step("cold starts of ours interleaved with the reference checks (Python boto3, Node AWS SDK v3)")
	if err := measureColdPairs(ctx, e, &r); err != nil {
		return err
	}
	step("scale: one run over many portals")
	measureScale(ctx, e, &r)
	r.LoadEnd = loadAverage()

	cost, err := renderCost(tmpl, r.measured(&fleetRes), r.Date)
	if err != nil {
		return err
	}
	results := renderResults(&r)
	fmt.Print("\n" + results + "\n" + headline(&r, &cost))
	return writeResults(e.root, outDir, map[string]string{"RESULTS.md": results, "COST.md": cost.Text, "FLEET.md": fleetText})
}

// buildHandler builds the handler pkg (bench/cmd/noop, bench/cmd/sdkfloor)
// into dir/bootstrap for this machine with the Lambda build's flags (the
// Makefile's build-HealthCheckFunction), so that the Inits compare like
// with like.
func buildHandler(ctx context.Context, root, dir, pkg string) (string, error) {
	out := filepath.Join(dir, "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %w\n%s", pkg, err, b)
	}
	return out, nil
}

// loadAverage is the machine's 1-minute load average, as /proc/loadavg
// has it ("" when unreadable): the bench shares the machine.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// writeResults writes files (name to content) into outDir, relative to
// root; an empty outDir writes nothing, so that a plain run leaves the
// checkout as it was.
func writeResults(root, outDir string, files map[string]string) error {
	if outDir == "" {
		return nil
	}
	if !filepath.IsAbs(outDir) {
		outDir = filepath.Join(root, outDir)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	for name, content := range files {
		path := filepath.Join(outDir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "bench: wrote %s\n", path)
	}
	return nil
}

func step(s string) { fmt.Fprintf(os.Stderr, "bench: %s...\n", s) }

// coldRun is one fresh emulator's first invoke.
type coldRun struct {
	// InitMs is the emulator's INIT REPORT: bootstrap's start to its first
	// request for an event.
	InitMs           float64
	ReportDurationMs float64
	// InvokeWall is the first invoke's request to response (not to the
	// REPORT line after it): the emulator starts bootstrap then (init),
	// then runs the check.
	InvokeWall time.Duration
	// StartWall is the emulator's process start to the first response; it
	// includes the emulator's own start and up to 50 ms of readiness polling.
	StartWall time.Duration
	// ProcessWall is bootstrap's process start to the first response, when
	// it ran through the timing wrapper.
	ProcessWall time.Duration
	PeakKB      int
}

// What a cold start runs.
type binary int

const (
	ours  binary = iota // bootstrap
	timed               // bootstrap through the wrapper that notes its start
	noop                // the no-op handler
	floor               // the no-op handler with the function's SDK clients
)

// startAndInvoke starts a fresh emulator with bin and invokes it once with
// payload. Each edit changes the function's environment first.
func startAndInvoke(ctx context.Context, e *env, bin binary, payload string, edits ...func(map[string]string)) (*localrun.Function, localrun.Invocation, coldRun, error) {
	var c coldRun
	fenv, err := e.functionEnv()
	if err != nil {
		return nil, localrun.Invocation{}, c, err
	}
	for _, edit := range edits {
		edit(fenv)
	}
	bootstrap := e.bootstrap
	startFile := filepath.Join(filepath.Dir(e.timedBootstrap), "started")
	switch bin {
	case timed:
		bootstrap, fenv[startFileVar] = e.timedBootstrap, startFile
		_ = os.Remove(startFile)
	case noop:
		bootstrap = e.noop
	case floor:
		bootstrap = e.floor
	}
	t0 := time.Now()
	fn, err := localrun.StartFunction(ctx, e.rie, bootstrap, fenv, nil)
	if err != nil {
		return nil, localrun.Invocation{}, c, err
	}
	t1 := time.Now()
	inv, err := fn.Invoke(ctx, []byte(payload))
	if err != nil {
		fn.Close()
		return nil, inv, c, err
	}
	t2 := inv.Responded
	c = coldRun{InitMs: inv.InitReportMs, ReportDurationMs: inv.Report.DurationMs, InvokeWall: t2.Sub(t1), StartWall: t2.Sub(t0)}
	if c.InitMs == 0 {
		fn.Close()
		return nil, inv, c, fmt.Errorf("no INIT REPORT line from the emulator on a cold invoke:\n%s", strings.Join(inv.Logs, "\n"))
	}
	if bin == timed {
		b, err := os.ReadFile(startFile)
		if err != nil {
			fn.Close()
			return nil, inv, c, fmt.Errorf("the bootstrap wrapper left no start time: %w", err)
		}
		sec, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
		if err != nil {
			fn.Close()
			return nil, inv, c, fmt.Errorf("bootstrap start time %q: %w", b, err)
		}
		c.ProcessWall = t2.Sub(time.Unix(0, int64(sec*1e9)))
	}
	if pid := bootstrapPID(fn.PID()); pid != 0 {
		c.PeakKB, _ = statusKB(pid, "VmHWM")
	}
	return fn, inv, c, nil
}

// checkHealthy accepts a healthy verdict, or a result with a list of
// verdicts that are all healthy (the multi-portal result shape).
func checkHealthy(inv localrun.Invocation) error {
	if inv.Failed {
		return fmt.Errorf("the invocation failed: %s\n%s", inv.Response, strings.Join(inv.Logs, "\n"))
	}
	type verdict struct {
		Reason string `json:"reason"`
	}
	var out struct {
		verdict
		Verdicts []verdict `json:"verdicts"`
	}
	if err := json.Unmarshal(inv.Response, &out); err != nil {
		return fmt.Errorf("the result is not JSON: %w: %s", err, truncate(string(inv.Response), 300))
	}
	verdicts := out.Verdicts
	if len(verdicts) == 0 {
		verdicts = []verdict{out.verdict}
	}
	for _, v := range verdicts {
		if v.Reason != "healthy" {
			return fmt.Errorf("want a healthy verdict, got %s", truncate(string(inv.Response), 300))
		}
	}
	return nil
}

const smGet = "secretsmanager.GetSecretValue"

func measureFunction(ctx context.Context, e *env, r *results) error {
	if err := e.portal.SetConfig(fakeportal.Config{Scenario: fakeportal.Healthy}); err != nil {
		return err
	}
	before := e.proxy.Count(smGet)
	fn, inv, _, err := startAndInvoke(ctx, e, ours, `{}`)
	if err != nil {
		return err
	}
	defer fn.Close()
	if err := checkHealthy(inv); err != nil {
		return err
	}
	// This first cold start counts the Secrets Manager calls; its peak
	// memory is in WarmPeakKB below. The cold start figures come from
	// measureColdPairs.
	r.ColdSMCalls = e.proxy.Count(smGet) - before

	before = e.proxy.Count(smGet)
	queries, puts := e.proxy.Count(ddbQuery), e.proxy.Count(ddbPut)
	e.portal.ResetStats()
	for range cacheWarm {
		inv, err := fn.Invoke(ctx, []byte(`{}`))
		if err != nil {
			return err
		}
		if err := checkHealthy(inv); err != nil {
			return err
		}
	}
	r.WarmSMCalls = e.proxy.Count(smGet) - before
	r.WarmChecks = cacheWarm
	// A healthy portal checked again: the steady state of the alert state.
	r.DDBQueryPerCheck = float64(e.proxy.Count(ddbQuery)-queries) / cacheWarm
	r.DDBPutPerCheck = float64(e.proxy.Count(ddbPut)-puts) / cacheWarm
	st := e.portal.Stats()
	r.PortalRoutes = map[string]float64{}
	for route, n := range st.Requests {
		r.PortalRoutes[route] = float64(n) / cacheWarm
		r.PortalCallsPerCheck += float64(n) / cacheWarm
	}

	for range latencyWarm {
		t, busy := time.Now(), e.proxy.Busy()
		inv, err := fn.Invoke(ctx, []byte(`{}`))
		if err != nil {
			return err
		}
		wall := inv.Responded.Sub(t)
		r.WarmMotoMs = append(r.WarmMotoMs, ms(e.proxy.Busy()-busy))
		if err := checkHealthy(inv); err != nil {
			return err
		}
		r.WarmDurationMs = append(r.WarmDurationMs, inv.Report.DurationMs)
		r.WarmWall = append(r.WarmWall, wall)
		fnBytes, platformBytes := 0, 0
		for _, l := range inv.Logs {
			switch {
			case strings.HasPrefix(l, "{"):
				fnBytes += len(l) + 1
			case strings.HasPrefix(l, "START RequestId:"), strings.HasPrefix(l, "END RequestId:"), strings.HasPrefix(l, "REPORT RequestId:"):
				platformBytes += len(l) + 1
			}
		}
		r.LogBytesFunction = append(r.LogBytesFunction, int64(fnBytes))
		r.LogBytesPlatform = append(r.LogBytesPlatform, int64(platformBytes))
	}
	if pid := bootstrapPID(fn.PID()); pid != 0 {
		r.WarmPeakKB, _ = statusKB(pid, "VmHWM")
	}
	fn.Close()
	return nil
}

// measurePortal times the routes one check calls, GET after GET on a
// kept-alive connection, as the function's client does: the portal's own
// latency per check.
func measurePortal(ctx context.Context, e *env, r *results) error {
	routes := []string{fakeportal.StatePath}
	for route := range r.PortalRoutes {
		if route != fakeportal.StatePath {
			routes = append(routes, route)
		}
	}
	client := &http.Client{Timeout: 5 * time.Second}
	for i := range latencyWarm + 2 {
		t := time.Now()
		for _, route := range routes {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.portalURL+route, nil)
			if err != nil {
				return err
			}
			req.Header.Set("Authorization", "Bearer "+benchKey)
			resp, err := client.Do(req)
			if err != nil {
				return fmt.Errorf("direct GET %s: %w", route, err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("direct GET %s: %s", route, resp.Status)
			}
		}
		if i >= 2 { // the first two open the connection and warm up
			r.PortalDirect = append(r.PortalDirect, time.Since(t))
		}
	}
	r.PortalDirectRoutes = len(routes)
	return nil
}

// measureInit starts ours, the no-op handler and the SDK floor in fresh
// emulators, one after the other, initRounds times after a discarded
// warm-up round, the order turned every round, so that the machine's load
// lands on all alike: their Init from the emulator's INIT REPORT, and their
// peak memory.
func measureInit(ctx context.Context, e *env, r *results) error {
	bins := []binary{ours, noop, floor}
	for round := range initRounds + 1 {
		for i := range bins {
			bin := bins[(i+round)%len(bins)]
			fn, inv, c, err := startAndInvoke(ctx, e, bin, `{}`)
			if err != nil {
				return err
			}
			kb := 0
			if pid := bootstrapPID(fn.PID()); pid != 0 {
				kb, _ = statusKB(pid, "VmHWM")
			}
			fn.Close()
			if bin == ours {
				if err := checkHealthy(inv); err != nil {
					return err
				}
			}
			if round == 0 {
				continue
			}
			switch bin {
			case noop:
				r.NoopInit, r.NoopPeakKB = append(r.NoopInit, c.InitMs), max(r.NoopPeakKB, kb)
			case floor:
				r.FloorInit, r.FloorPeakKB = append(r.FloorInit, c.InitMs), max(r.FloorPeakKB, kb)
			default:
				r.Init, r.InitPeakKB = append(r.Init, c.InitMs), max(r.InitPeakKB, kb)
			}
		}
	}
	return nil
}

// measureColdPairs runs, round after round, one cold start of ours (a
// fresh emulator, the first invoke's wall time), one of ours through the
// timing wrapper, the Python reference and the Node reference, so that
// whatever else the machine does lands on all of them alike. The first round warms
// the page cache and is discarded. The references talk to moto through the
// counting proxy, as ours does, and the fake portal counts their requests.
func measureColdPairs(ctx context.Context, e *env, r *results) error {
	python, err := pythonInterpreter(ctx)
	if err != nil {
		return err
	}
	env := append(os.Environ(),
		"PORTAL_URL="+e.portalURL, "SECRET_ID="+e.stack.SecretARN, "TOPIC_ARN="+e.stack.TopicARN,
		"AWS_ENDPOINT_URL="+e.proxyURL, "AWS_REGION=us-east-1", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test")
	refs := []struct {
		runs *[]procRun
		args []string
	}{
		{&r.Python, []string{python, filepath.Join(e.root, "bench", "reference", "python", "check.py")}},
		{&r.Node, []string{"node", filepath.Join(e.root, "bench", "reference", "node", "check.mjs")}},
	}
	r.PythonPath = python
	for round := range coldStarts + 1 {
		for _, bin := range []binary{ours, timed} {
			fn, inv, c, err := startAndInvoke(ctx, e, bin, `{}`)
			if err != nil {
				return err
			}
			fn.Close()
			if err := checkHealthy(inv); err != nil {
				return err
			}
			switch {
			case round == 0:
			case bin == timed:
				r.TimedCold = append(r.TimedCold, c)
			default:
				r.Cold = append(r.Cold, c)
			}
		}
		for _, ref := range refs {
			cmd := exec.CommandContext(ctx, ref.args[0], ref.args[1:]...)
			cmd.Env = env
			sm := e.proxy.Count(smGet)
			e.portal.ResetStats()
			p, err := runProcess(cmd)
			if err != nil {
				return err
			}
			p.SMCalls = e.proxy.Count(smGet) - sm
			for _, n := range e.portal.Stats().Requests {
				p.PortalCalls += n
			}
			if !strings.Contains(p.Output, `"healthy": true`) && !strings.Contains(p.Output, `"healthy":true`) {
				return fmt.Errorf("%s did not report a healthy portal:\n%s", ref.args[1], p.Output)
			}
			if round > 0 {
				*ref.runs = append(*ref.runs, p)
			}
		}
	}
	return nil
}

// pythonInterpreter returns the interpreter python3 runs: on machines
// with pyenv, python3 on PATH is a shell script (a shim) that adds a few
// hundred milliseconds to every start, which is not the reference's cost.
func pythonInterpreter(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		return "", fmt.Errorf("find the python3 interpreter: %w", err)
	}
	path := strings.TrimSpace(string(out))
	if path == "" {
		return "", errors.New("python3 did not name its interpreter (sys.executable is empty)")
	}
	return path, nil
}

// scaleRow is one run over n portals.
type scaleRow struct {
	N              int
	State          bool // with the alert state table
	Supported      bool
	Note           string
	DurationMs     float64
	Wall           time.Duration
	PeakKB         int
	CallsPerPortal float64
	SMCalls        int
	// MotoMs is the wall time with a request to moto in flight (the alert
	// state's Queries, 2 a portal).
	MotoMs float64
}

// measureScale runs each size without the alert state table (the
// function's own pace) and with it (moto's too).
func measureScale(ctx context.Context, e *env, r *results) {
	for _, state := range []bool{false, true} {
		for _, n := range scaleSizes {
			row := scaleRow{N: n, State: state}
			if err := scaleRun(ctx, e, &row); err != nil {
				row.Note = err.Error()
			}
			r.Scale = append(r.Scale, row)
		}
	}
	_ = e.portal.SetConfig(fakeportal.Config{Scenario: fakeportal.Healthy})
}

func scaleRun(ctx context.Context, e *env, row *scaleRow) error {
	if err := e.portal.SetConfig(fakeportal.Config{Scenario: fakeportal.Healthy}); err != nil {
		return err
	}
	// A first, single-portal invoke takes the cold start out of the figure.
	fn, inv, _, err := startAndInvoke(ctx, e, ours, `{}`, func(env map[string]string) {
		if !row.State {
			delete(env, "STATE_TABLE")
		}
		// Lambda's longest timeout: a direct run takes only the portals
		// whose worst case (waves of PORTAL_TIMEOUT) fits in it.
		env["AWS_LAMBDA_FUNCTION_TIMEOUT"] = "900"
	})
	if err != nil {
		return err
	}
	defer fn.Close()
	if err := checkHealthy(inv); err != nil {
		return err
	}
	portals := make([]map[string]string, row.N)
	for i := range portals {
		portals[i] = map[string]string{"portalUrl": fmt.Sprintf("%s/p/healthy-%d", e.portalURL, i+1), "secretId": "bench/api-key"}
	}
	payload, _ := json.Marshal(map[string]any{"portals": portals})
	if err := e.portal.SetConfig(fakeportal.Config{Scenario: fakeportal.Healthy, Delay: fakeportal.Duration(scaleDelay)}); err != nil {
		return err
	}
	e.portal.ResetStats()
	smBefore, busy := e.proxy.Count(smGet), e.proxy.Busy()
	ictx, cancel := context.WithTimeout(ctx, 100*time.Second)
	defer cancel()
	t := time.Now()
	inv, err = fn.Invoke(ictx, payload)
	if err != nil {
		return err
	}
	row.Wall = inv.Responded.Sub(t)
	row.MotoMs = ms(e.proxy.Busy() - busy)
	row.DurationMs = inv.Report.DurationMs
	row.SMCalls = e.proxy.Count(smGet) - smBefore
	if pid := bootstrapPID(fn.PID()); pid != 0 {
		row.PeakKB, _ = statusKB(pid, "VmHWM")
	}
	var out struct {
		Verdicts []json.RawMessage `json:"verdicts"`
	}
	_ = json.Unmarshal(inv.Response, &out)
	if inv.Failed || len(out.Verdicts) != row.N {
		row.Note = fmt.Sprintf("not supported yet (the result has %d verdicts for %d portals)", len(out.Verdicts), row.N)
		if inv.Failed {
			row.Note = "not supported yet (the invocation failed: " + truncate(string(inv.Response), 160) + ")"
		}
		return nil
	}
	row.Supported = true
	total := 0
	for name, c := range e.portal.Stats().Portals {
		if strings.HasPrefix(name, "healthy-") {
			total += c
		}
	}
	row.CallsPerPortal = float64(total) / float64(row.N)
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
