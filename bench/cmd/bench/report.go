package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// results holds every figure of a bench run.
type results struct {
	Date                string
	LoadStart, LoadEnd  string // the 1-minute load average at the start and the end
	Prebuilt            string // the -bootstrap flag's binary, "" for the build
	ArmSize, NativeSize int64
	NoopSize            int64 // the no-op handler, native
	FloorSize           int64 // the no-op handler with the function's SDK clients, native

	Cold      []coldRun
	TimedCold []coldRun // through the bootstrap wrapper that notes the process start
	// Init, NoopInit and FloorInit are the INIT REPORTs of ours, the no-op
	// handler and the SDK floor in turns; the peaks are their VmHWM after
	// the cold invoke, max over the rounds.
	Init, NoopInit, FloorInit           []float64
	InitPeakKB, NoopPeakKB, FloorPeakKB int
	ColdSMCalls                         int
	WarmSMCalls                         int
	WarmChecks                          int
	WarmPeakKB                          int
	// The alert state of a healthy portal checked again, per check.
	DDBQueryPerCheck, DDBPutPerCheck float64
	// WarmMotoMs is, per warm invoke, the wall time with a request to moto
	// in flight (Secrets Manager within the cache: none; DynamoDB).
	WarmMotoMs []float64

	PortalRoutes        map[string]float64
	PortalCallsPerCheck float64
	PortalDirect        []time.Duration
	PortalDirectRoutes  int

	WarmDurationMs   []float64
	WarmWall         []time.Duration
	LogBytesFunction []int64
	LogBytesPlatform []int64

	Python, Node []procRun
	PythonPath   string // the interpreter the Python reference ran on
	Scale        []scaleRow
}

func (r *results) coldInvokeWall() time.Duration {
	return median(collect(r.Cold, func(c coldRun) time.Duration { return c.InvokeWall }))
}

func (r *results) coldStartWall() time.Duration {
	return median(collect(r.Cold, func(c coldRun) time.Duration { return c.StartWall }))
}

func (r *results) processWall() time.Duration {
	return median(collect(r.TimedCold, func(c coldRun) time.Duration { return c.ProcessWall }))
}

// initMs and noopInitMs are the medians of the emulator's INIT REPORT.
func (r *results) initMs() float64     { return median(r.Init) }
func (r *results) noopInitMs() float64 { return median(r.NoopInit) }

// floorInitMs is the SDK floor's median INIT REPORT, and floorRatio its
// Init over the no-op handler's (0 without figures): what linking the
// function's SDK clients costs before any of its own code runs.
func (r *results) floorInitMs() float64 { return median(r.FloorInit) }
func (r *results) floorRatio() float64 {
	if r.noopInitMs() == 0 {
		return 0
	}
	return r.floorInitMs() / r.noopInitMs()
}

// initRatio is our Init over the no-op handler's, 0 without figures.
func (r *results) initRatio() float64 {
	if r.noopInitMs() == 0 {
		return 0
	}
	return r.initMs() / r.noopInitMs()
}

// initTarget is issue 18's target: Init at most 1.5 times the no-op's.
const initTarget = 1.5

// msRange is the smallest, the quartiles and the largest of xs.
func msRange(xs []float64) string {
	if len(xs) == 0 {
		return "-"
	}
	s := slices.Sorted(slices.Values(xs))
	q := func(f float64) float64 { return s[int(f*float64(len(s)-1)+0.5)] }
	return fmt.Sprintf("%.1f / %.1f / %.1f / %.1f ms", s[0], q(0.25), q(0.75), s[len(s)-1])
}

func (r *results) reportColdDurationMs() float64 {
	return median(collect(r.Cold, func(c coldRun) float64 { return c.ReportDurationMs }))
}

func (r *results) coldPeakKB() int64 {
	return slices.Max(collect(r.Cold, func(c coldRun) int64 { return int64(c.PeakKB) }))
}

func wall(runs []procRun) time.Duration {
	return median(collect(runs, func(p procRun) time.Duration { return p.Wall }))
}

func maxRSS(runs []procRun) int64 {
	return slices.Max(collect(runs, func(p procRun) int64 { return p.MaxRSSKB }))
}

func collect[T, U any](xs []T, f func(T) U) []U {
	out := make([]U, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

func passFail(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

func mib(kb int64) string          { return fmt.Sprintf("%.1f MiB", float64(kb)/1024) }
func msStr(d time.Duration) string { return fmt.Sprintf("%.1f ms", ms(d)) }
func bytesMiB(b int64) string      { return fmt.Sprintf("%.2f MiB (%d bytes)", float64(b)/(1<<20), b) }

func ratio(a, b float64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1fx", a/b)
}

// overheadMs is what a warm invocation adds to the portal's own latency
// and moto's answers.
func (r *results) overheadMs() float64 {
	own := make([]float64, len(r.WarmDurationMs))
	for i, d := range r.WarmDurationMs {
		own[i] = d - r.WarmMotoMs[i]
	}
	return median(own) - ms(median(r.PortalDirect))
}

func renderResults(r *results) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	cold := r.coldInvokeWall()
	py, node := wall(r.Python), wall(r.Node)
	pyRSS, nodeRSS := maxRSS(r.Python), maxRSS(r.Node)
	peak := max(r.coldPeakKB(), int64(r.WarmPeakKB))

	p("# Bench results\n\n")
	p("Measured by `bench/run` on %s, on this machine (%s, 1-minute load average %s at the start, %s at the end: the machine is shared, and load lengthens every figure), against the fake portal on loopback and moto_server. ", r.Date, machine(), r.LoadStart, r.LoadEnd)
	p("Cold starts and reference runs are interleaved: each of %d rounds (after one discarded warm-up round) runs a cold start of ours (a fresh emulator), one of ours through the timing wrapper, the Python reference and the Node reference, so that the machine's other load lands on all of them alike; medians over the rounds and over %d warm invokes. ", len(r.Cold), len(r.WarmDurationMs))
	p("Wall times end when the result arrives (the REPORT line that follows is awaited apart). ")
	p("The function runs with the alert state table, as deployed; moto's share of a figure is shown where it matters (real DynamoDB and Secrets Manager answer in a few milliseconds over the network instead). ")
	p("The Python reference runs on the interpreter itself (`%s`, Python's sys.executable), not through a pyenv shim. ", r.PythonPath)
	p("The references read their secret through the same counting proxy in front of moto as ours. ")
	if r.Prebuilt != "" {
		p("**The function measured is the prebuilt %s, not the build of ./functions/healthcheck.** ", r.Prebuilt)
	}
	p("Real Lambda at 128 MB gets a fraction of a vCPU and a network hop to the portal, so real durations are longer; the ratios are the point.\n\n")

	p("## Init against a no-op handler\n\n")
	p("Init is the emulator's own `INIT REPORT(durationMs)`: from the start of the runtime process to its first request for an event, as Lambda reports (and, since August 2025, bills) the Init phase. ")
	p("The three binaries are built with the Lambda build's flags for this machine and started by fresh emulators one after the other, %d rounds after a discarded warm-up round, the order turned every round, so that the machine's load lands on all alike. ", len(r.Init))
	p("The SDK floor (`bench/cmd/sdkfloor`) is the no-op handler building the five SDK service clients the function builds (Secrets Manager, SSM, SNS, DynamoDB, SQS) and nothing of its own: Go initialises every linked package before `main`, so its Init is what those clients cost before the function's first line, and no function that uses them can start faster.\n\n")
	p("| Measure | Ours (`bootstrap`) | No-op aws-lambda-go handler | SDK floor | Ours / no-op | SDK floor / no-op | Target | |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	p("| Init, INIT REPORT, median of %d | %.2f ms | %.2f ms | %.2f ms | %.2fx | %.2fx | at most %.1fx | %s |\n", len(r.Init), r.initMs(), r.noopInitMs(), r.floorInitMs(), r.initRatio(), r.floorRatio(), initTarget, passFail(r.initRatio() > 0 && r.initRatio() <= initTarget))
	p("| Init: smallest / first quartile / third quartile / largest | %s | %s | %s | | | | |\n", msRange(r.Init), msRange(r.NoopInit), msRange(r.FloorInit))
	p("| Binary size, native build | %s | %s | %s | | | | |\n", bytesMiB(r.NativeSize), bytesMiB(r.NoopSize), bytesMiB(r.FloorSize))
	p("| Peak memory (VmHWM) after the cold invoke (ours: with one check), max over the rounds | %s | %s | %s | | | | |\n\n", mib(int64(r.InitPeakKB)), mib(int64(r.NoopPeakKB)), mib(int64(r.FloorPeakKB)))

	p("## Against the references\n\n")
	p("| Measure | Ours (Go `bootstrap`) | Python reference (boto3) | Node reference (AWS SDK v3) | Ours vs Python | Ours vs Node | Target | |\n")
	p("| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	p("| Cold check, wall: ours = first invoke request to response under the emulator (bootstrap exec + init + one full check of %.0f portal requests and its alert state); references = process start to exit (%s and %s portal request(s) per run, no alert state: less work) | %s | %s | %s | %s faster | %s faster | ours at least 5x faster than Python | %s |\n",
		r.PortalCallsPerCheck, perRun(r.Python, portalCalls), perRun(r.Node, portalCalls),
		msStr(cold), msStr(py), msStr(node), ratio(ms(py), ms(cold)), ratio(ms(node), ms(cold)), passFail(ms(py) >= 5*ms(cold)))
	p("| Bootstrap process start to first response, wall (through a bash wrapper that notes the time and execs bootstrap; %d more cold starts) | %s | %s | %s | %s faster | %s faster | (the same comparison, from the function process's start) | |\n",
		len(r.TimedCold), msStr(r.processWall()), msStr(py), msStr(node), ratio(ms(py), ms(r.processWall())), ratio(ms(node), ms(r.processWall())))
	p("| Duration of the cold invoke from the REPORT line (the check after Init) | %.1f ms | - | - | | | | |\n", r.reportColdDurationMs())
	p("| Emulator process start to first response, wall (adds the emulator's own start and up to 50 ms of its readiness polling) | %s | - | - | | | | |\n", msStr(r.coldStartWall()))
	p("| Peak memory: ours = VmHWM of the bootstrap process (the emulator's child), max over cold starts and after %d invokes; references = peak RSS of the process (rusage) | %s | %s | %s | %s less | %s less | under 40 MiB | %s |\n",
		1+r.WarmChecks+len(r.WarmDurationMs), mib(peak), mib(pyRSS), mib(nodeRSS), ratio(float64(pyRSS), float64(peak)), ratio(float64(nodeRSS), float64(peak)), passFail(peak < 40*1024))
	p("| Binary size, linux/arm64 Lambda build (`-tags lambda.norpc -trimpath -ldflags=\"-s -w\"`, CGO off) | %s | - | - | | | under 15 MiB | %s |\n", bytesMiB(r.ArmSize), passFail(r.ArmSize < 15<<20))
	p("| Binary size, native build (linux/%s, same flags) | %s | - | - | | | | |\n", goarch(), bytesMiB(r.NativeSize))
	p("| Warm invoke Duration (REPORT), portal delay 0 | %.2f ms | | | | | | |\n", median(r.WarmDurationMs))
	p("| of which moto (wall time with an alert state request in flight, timed at the proxy) | %.2f ms | | | | | | |\n", median(r.WarmMotoMs))
	p("| Portal's own latency per check: the same %d route(s), direct GETs on a kept-alive connection | %.2f ms | | | | | | |\n", r.PortalDirectRoutes, ms(median(r.PortalDirect)))
	p("| Warm invocation overhead beyond the portal's latency and moto's share (median of Duration less moto, less the portal's latency) | %.2f ms | | | | | under 5 ms | %s |\n", r.overheadMs(), passFail(r.overheadMs() < 5))
	p("| Secrets Manager GetSecretValue calls (counted at a proxy in front of moto): ours on the cold invoke; references per run (each run is a cold process) | %d | %s per run | %s per run | | | 1 | %s |\n", r.ColdSMCalls, perRun(r.Python, smCalls), perRun(r.Node, smCalls), passFail(r.ColdSMCalls == 1))
	p("| Secrets Manager GetSecretValue calls: ours on the next %d warm invokes, within the cache TTL; references: %d runs (no cache) | %d | %d | %d | | | 0 | %s |\n", r.WarmChecks, r.WarmChecks, r.WarmSMCalls, r.WarmChecks*medianInt(collect(r.Python, smCalls)), r.WarmChecks*medianInt(collect(r.Node, smCalls)), passFail(r.WarmSMCalls == 0))
	p("| DynamoDB calls per check of a healthy portal checked before (the alert state's steady state; counted at the proxy): Query / PutItem | %.2f / %.2f | - | - | | | | |\n", r.DDBQueryPerCheck, r.DDBPutPerCheck)
	p("| HTTP requests to the portal per check (fake portal's Stats): ours reads 4 signals, the backups' count for both `paid` values (it counts one value a request), the references only the state route | %s | %s | %s | | | 1 with the state signal only; 2-5 with the health signals (2-4 before the count route, which takes two) | %s |\n",
		routesText(r), perRun(r.Python, portalCalls), perRun(r.Node, portalCalls), passFail(r.PortalCallsPerCheck >= 1 && r.PortalCallsPerCheck <= 5))
	p("| Log bytes per warm invocation: the function's JSON lines + the platform's START/END/REPORT lines | %d + %d bytes | | | | | | |\n",
		median(r.LogBytesFunction), median(r.LogBytesPlatform))

	p("\n## One run over many portals\n\n")
	p("Input `{\"portals\":[{\"portalUrl\":\".../p/healthy-1\",\"secretId\":\"bench/api-key\"}, ...]}` (one secret, bound to the fake portal's base URL, for all), `MAX_CONCURRENCY=%d`, every portal answering after %s; without the alert state table (the function's own pace), then with it. ", maxConcurrent, scaleDelay)
	p("Each N runs in a fresh emulator after one single-portal warm-up invoke, so Duration is the multi-portal invoke alone and the peak memory is that process's VmHWM. ")
	p("Ideal = ceil(N / %d) x %s: a healthy check asks its routes at once, so it takes one portal latency, and %d portals are checked at once. ", maxConcurrent, scaleDelay, maxConcurrent)
	p("Moto busy is the wall time during which some request to moto (the alert state's, two Queries a portal) was in flight: moto answers one portal's reads after another on this machine, so where it is close to the Duration, moto, not the function, set the pace.\n\n")
	p("| Portals | Alert state | Duration (REPORT) | Wall | Ideal | Duration / ideal | Calls per portal | Secrets Manager calls (the warm-up cached the key) | Moto busy | Peak memory (VmHWM) |\n")
	p("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, s := range r.Scale {
		if !s.Supported {
			note := s.Note
			if note == "" {
				note = "not supported yet"
			}
			p("| %d | %s | %s | | | | | | | |\n", s.N, yesNo(s.State), note)
			continue
		}
		ideal := scaleIdealMs(s.N)
		p("| %d | %s | %.0f ms | %s | %.0f ms | %.2f | %.2f | %d | %.0f ms | %s |\n", s.N, yesNo(s.State), s.DurationMs, msStr(s.Wall), ideal, s.DurationMs/ideal, s.CallsPerPortal, s.SMCalls, s.MotoMs, mib(int64(s.PeakKB)))
	}
	p("\n## What these figures are not\n\n")
	p("- The emulator's REPORT line prints `Max Memory Used` equal to the memory size; it is not a measurement, so peak memory comes from /proc/<pid>/status (VmHWM) of the bootstrap process instead.\n")
	p("- The REPORT line's `Init Duration` times only the emulator's hand-off to its sandbox (well under a millisecond); the Init above is the emulator's separate INIT REPORT line, which times the runtime's start.\n")
	p("- The references make one portal request per run (the state route, counted above), keep no alert state and run without any cache; ours makes four (the health signals) and reads its alert state, so they do less work than ours and the comparison is, if anything, unfavourable to ours.\n")
	p("- Real Lambda cold starts add the sandbox and the code download (not measured here); real latencies to a portal over the internet dwarf the local figures.\n")
	return b.String()
}

// scaleIdealMs is the shortest a run over n healthy portals can take:
// ceil(n / MAX_CONCURRENCY) waves of one portal latency each, as a healthy
// check asks its routes at once.
func scaleIdealMs(n int) float64 {
	return float64(ceilDiv(n, maxConcurrent)) * ms(scaleDelay)
}

// measured gathers this run's figures for the bill.
func (r *results) measured(f *fleetResults) measured {
	m := measured{
		InitMs:     r.initMs(),
		CheckMs:    ms(median(f.Concurrent)),
		BatchMs:    f.batchMs(),
		Dispatch:   f.dispatchMs,
		KeyReads:   1, // the 5-minute cache is older than the 15-minute interval
		DDBQueries: r.DDBQueryPerCheck,
		DDBPuts:    r.DDBPutPerCheck,
		LogBytes:   float64(median(r.LogBytesFunction)),
		// START, END and REPORT: one set per invocation.
		LogBytesRun: float64(median(r.LogBytesPlatform)),
	}
	if f.LogBytesPerCheck > 0 {
		m.LogBytes = max(m.LogBytes, f.LogBytesPerCheck)
	}
	return m
}

// headline is what make bench prints last: the figures issue 18 asks for
// in one run.
func headline(r *results, c *costTables) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("## Headline (%s, 1-minute load %s -> %s)\n\n", r.Date, r.LoadStart, r.LoadEnd)
	p("- One portal, the template's defaults, a month (year 1 / year 2): $%.2f / $%.2f with its key in a Secrets Manager secret, $%.2f / $%.2f in an SSM parameter; target at most $1.00: %s\n",
		c.OnePortal[0], c.OnePortal[1], c.OnePortalParam[0], c.OnePortalParam[1], passFail(c.OnePortal[1] <= 1))
	p("- A portal's marginal cost at 1,000 portals, a month, its key's storage included: $%.4f with an SSM parameter ($0 storage), $%.4f with a secret ($0.40 storage); target at most $0.05: %s with a parameter, %s with a secret\n",
		c.MarginalParam, c.MarginalSecret, passFail(c.MarginalParam <= 0.05), passFail(c.MarginalSecret <= 0.05))
	p("- Init (the emulator's INIT REPORT, median of %d cold starts each, in turns): ours %.2f ms, a no-op aws-lambda-go handler %.2f ms: %.2fx; target at most %.1fx: %s. The SDK floor (the no-op handler with the function's five SDK clients) %.2f ms: %.2fx\n",
		len(r.Init), r.initMs(), r.noopInitMs(), r.initRatio(), initTarget, passFail(r.initRatio() > 0 && r.initRatio() <= initTarget), r.floorInitMs(), r.floorRatio())
	return b.String()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func smCalls(p procRun) int     { return p.SMCalls }
func portalCalls(p procRun) int { return p.PortalCalls }

// perRun prints the median of f over runs, and the range when the runs
// differ.
func perRun(runs []procRun, f func(procRun) int) string {
	if len(runs) == 0 {
		return "-"
	}
	xs := collect(runs, f)
	lo, hi := slices.Min(xs), slices.Max(xs)
	if lo == hi {
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d (%d-%d)", medianInt(xs), lo, hi)
}

func routesText(r *results) string {
	routes := make([]string, 0, len(r.PortalRoutes))
	for route := range r.PortalRoutes {
		routes = append(routes, route)
	}
	slices.Sort(routes)
	for i, route := range routes {
		routes[i] = fmt.Sprintf("%s x%.0f", strings.TrimPrefix(route, "/api/2.0/backup/"), r.PortalRoutes[route])
	}
	return fmt.Sprintf("%.0f (%s)", r.PortalCallsPerCheck, strings.Join(routes, ", "))
}

func medianInt(xs []int) int {
	return int(median(collect(xs, func(x int) int64 { return int64(x) })))
}
