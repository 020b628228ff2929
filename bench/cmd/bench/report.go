package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// results holds every figure of a bench run.
type results struct {
	Date                string
	Prebuilt            string // the -bootstrap flag's binary, "" for the build
	ArmSize, NativeSize int64

	Cold        []coldRun
	TimedCold   []coldRun // through the bootstrap wrapper that notes the process start
	ColdSMCalls int
	WarmSMCalls int
	WarmChecks  int
	WarmPeakKB  int

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

func (r *results) reportInitMs() float64 {
	return median(collect(r.Cold, func(c coldRun) float64 { return c.ReportInitMs }))
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

func mb(kb int64) string           { return fmt.Sprintf("%.1f MB", float64(kb)/1024) }
func msStr(d time.Duration) string { return fmt.Sprintf("%.1f ms", ms(d)) }
func bytesMB(b int64) string       { return fmt.Sprintf("%.2f MB (%d bytes)", float64(b)/(1<<20), b) }

func ratio(a, b float64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1fx", a/b)
}

// overheadMs is what a warm invocation adds to the portal's own latency.
func (r *results) overheadMs() float64 {
	return median(r.WarmDurationMs) - ms(median(r.PortalDirect))
}

func renderResults(r *results) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	cold := r.coldInvokeWall()
	py, node := wall(r.Python), wall(r.Node)
	pyRSS, nodeRSS := maxRSS(r.Python), maxRSS(r.Node)
	peak := max(r.coldPeakKB(), int64(r.WarmPeakKB))

	p("# Bench results\n\n")
	p("Measured by `bench/run` on %s, on this machine (%s), against the fake portal on loopback and moto_server. ", r.Date, machine())
	p("Cold starts and reference runs are interleaved: each of %d rounds (after one discarded warm-up round) runs a cold start of ours (a fresh emulator), one through the timing wrapper, the Python reference and the Node reference, so that the machine's other load lands on all of them alike; medians over the rounds and over %d warm invokes. ", len(r.Cold), len(r.WarmDurationMs))
	p("The Python reference runs on the interpreter itself (`%s`, Python's sys.executable), not through a pyenv shim. ", r.PythonPath)
	p("The references read their secret through the same counting proxy in front of moto as ours. ")
	if r.Prebuilt != "" {
		p("**The function measured is the prebuilt %s, not the build of ./functions/healthcheck.** ", r.Prebuilt)
	}
	p("Real Lambda at 128 MB gets a fraction of a vCPU and a network hop to the portal, so real durations are longer; the ratios are the point.\n\n")

	p("| Measure | Ours (Go `bootstrap`) | Python reference (boto3) | Node reference (AWS SDK v3) | Ours vs Python | Ours vs Node | Target | |\n")
	p("| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	p("| Cold check, wall: ours = first invoke request to response under the emulator (bootstrap exec + init + one full check of %.0f portal requests); references = process start to exit (%s and %s portal request(s) per run: less work) | %s | %s | %s | %s faster | %s faster | ours at least 5x faster than Python | %s |\n",
		r.PortalCallsPerCheck, perRun(r.Python, portalCalls), perRun(r.Node, portalCalls),
		msStr(cold), msStr(py), msStr(node), ratio(ms(py), ms(cold)), ratio(ms(node), ms(cold)), passFail(ms(py) >= 5*ms(cold)))
	p("| Bootstrap process start to first response, wall (through a bash wrapper that notes the time and execs bootstrap; %d more cold starts) | %s | %s | %s | %s faster | %s faster | (the same comparison, from the function process's start) | |\n",
		len(r.TimedCold), msStr(r.processWall()), msStr(py), msStr(node), ratio(ms(py), ms(r.processWall())), ratio(ms(node), ms(r.processWall())))
	p("| Init Duration from the emulator's REPORT line: NOT a measurement of init, the emulator starts the runtime asynchronously and times only the dispatch, so the real init falls into the Duration below | %.2f ms | - | - | | | | |\n", r.reportInitMs())
	p("| Duration of the cold invoke from the REPORT line (bootstrap start-up, init and the check, given the line above) | %.1f ms | - | - | | | | |\n", r.reportColdDurationMs())
	p("| Emulator process start to first response, wall (adds the emulator's own start and up to 50 ms of readiness polling) | %s | - | - | | | | |\n", msStr(r.coldStartWall()))
	p("| Peak memory: ours = VmHWM of the bootstrap process (the emulator's child), max over cold starts and after %d invokes; references = peak RSS of the process (rusage) | %s | %s | %s | %s less | %s less | under 40 MB | %s |\n",
		1+r.WarmChecks+len(r.WarmDurationMs), mb(peak), mb(pyRSS), mb(nodeRSS), ratio(float64(pyRSS), float64(peak)), ratio(float64(nodeRSS), float64(peak)), passFail(peak < 40*1024))
	p("| Binary size, linux/arm64 Lambda build (`-tags lambda.norpc -trimpath -ldflags=\"-s -w\"`, CGO off) | %s | - | - | | | under 15 MB | %s |\n", bytesMB(r.ArmSize), passFail(r.ArmSize < 15<<20))
	p("| Binary size, native build (linux/%s, same flags) | %s | - | - | | | | |\n", goarch(), bytesMB(r.NativeSize))
	p("| Warm invoke Duration (REPORT), portal delay 0 | %.2f ms | | | | | | |\n", median(r.WarmDurationMs))
	p("| Portal's own latency per check: the same %d route(s), direct GETs on a kept-alive connection | %.2f ms | | | | | | |\n", r.PortalDirectRoutes, ms(median(r.PortalDirect)))
	p("| Warm invocation overhead beyond the portal's latency (the two lines above) | %.2f ms | | | | | under 5 ms | %s |\n", r.overheadMs(), passFail(r.overheadMs() < 5))
	p("| Secrets Manager GetSecretValue calls (counted at a proxy in front of moto): ours on the cold invoke; references per run (each run is a cold process) | %d | %s per run | %s per run | | | 1 | %s |\n", r.ColdSMCalls, perRun(r.Python, smCalls), perRun(r.Node, smCalls), passFail(r.ColdSMCalls == 1))
	p("| Secrets Manager GetSecretValue calls: ours on the next %d warm invokes, within the cache TTL; references: %d runs (no cache) | %d | %d | %d | | | 0 | %s |\n", r.WarmChecks, r.WarmChecks, r.WarmSMCalls, r.WarmChecks*medianInt(collect(r.Python, smCalls)), r.WarmChecks*medianInt(collect(r.Node, smCalls)), passFail(r.WarmSMCalls == 0))
	p("| HTTP requests to the portal per check (fake portal's Stats): ours reads 4 signals, the references only the state route | %s | %s | %s | | | 1 with the state signal only; 2-4 with the health signals | %s |\n",
		routesText(r), perRun(r.Python, portalCalls), perRun(r.Node, portalCalls), passFail(r.PortalCallsPerCheck >= 1 && r.PortalCallsPerCheck <= 4))
	p("| Log bytes per warm invocation: the function's JSON lines + the platform's START/END/REPORT lines | %d + %d bytes | | | | | | |\n",
		median(r.LogBytesFunction), median(r.LogBytesPlatform))

	p("\n## One run over many portals\n\n")
	p("Input `{\"portals\":[{\"portalUrl\":\".../p/healthy-1\",\"secretId\":\"bench/api-key\"}, ...]}` (one secret, bound to the fake portal's base URL, for all), `MAX_CONCURRENCY=%d`, every portal answering after %s. ", maxConcurrent, scaleDelay)
	p("Each N runs in a fresh emulator after one single-portal warm-up invoke, so Duration is the multi-portal invoke alone and the peak memory is that process's VmHWM. ")
	p("Ideal = N/%d x %s x calls per portal (calls to one portal run one after another).\n\n", maxConcurrent, scaleDelay)
	p("| Portals | Duration (REPORT) | Wall | Ideal | Duration / ideal | Calls per portal | Secrets Manager calls (the warm-up cached the key) | Peak memory (VmHWM) |\n")
	p("| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, s := range r.Scale {
		if !s.Supported {
			note := s.Note
			if note == "" {
				note = "not supported yet"
			}
			p("| %d | %s | | | | | | |\n", s.N, note)
			continue
		}
		ideal := float64(s.N) / maxConcurrent * ms(scaleDelay) * s.CallsPerPortal
		p("| %d | %.0f ms | %s | %.0f ms | %.2f | %.2f | %d | %s |\n", s.N, s.DurationMs, msStr(s.Wall), ideal, s.DurationMs/ideal, s.CallsPerPortal, s.SMCalls, mb(int64(s.PeakKB)))
	}
	p("\n## What these figures are not\n\n")
	p("- The emulator's REPORT line prints `Max Memory Used` equal to the memory size; it is not a measurement, so peak memory comes from /proc/<pid>/status (VmHWM) of the bootstrap process instead.\n")
	p("- The emulator's Init Duration is not usable: the emulator hands the init to its sandbox asynchronously and reports the hand-off (well under a millisecond), so the process start, Go runtime init and the AWS config load land in the first invoke's Duration. The wall times above are measured by this driver and are the figures compared with the references; the 5x target is checked on the first-invoke wall time (bootstrap exec + init + the check).\n")
	p("- The references make one portal request per run (the state route, counted above) and run without any cache; ours makes four (the health signals), so they do less work than ours and the comparison is, if anything, unfavourable to ours.\n")
	p("- Real Lambda cold starts add the sandbox and the code download (not measured here); real latencies to a portal over the internet dwarf the local figures.\n")
	return b.String()
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

// Prices assumed for COST.md: us-east-1, list prices as known on the date.
const (
	priceDate            = "2026-11-29"
	lambdaPerRequest     = 0.20 / 1e6
	lambdaArmPerGBs      = 0.0000133334
	lambdaMemoryGB       = 0.125
	schedulerPerInvoke   = 1.00 / 1e6
	secretPerMonth       = 0.40
	secretPerAPICall     = 0.05 / 1e4
	snsEmailPerMessage   = 2.00 / 1e5
	snsPublishPerRequest = 0.50 / 1e6
	snsSMSUS             = 0.00883 // base price + carrier fee, assumed
	ddbPerRead           = 0.125 / 1e6
	ddbPerWrite          = 0.625 / 1e6
	logsPerGB            = 0.50
	metricPerMonth       = 0.30
	metricsPerPortal     = 3
	alarmPerMonth        = 0.10
	alertsPerMonth       = 4 // two incidents: a failure and a recovery each
)

func renderCost(r *results) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	// The emulator's Init Duration is not a measurement (see RESULTS.md);
	// the cold invoke's Duration holds the real init, the wall time of the
	// first invoke bounds both from above.
	coldMs := math.Ceil(ms(r.coldInvokeWall()))
	warmMs := math.Ceil(median(r.WarmDurationMs))
	logBytes := float64(median(r.LogBytesFunction) + median(r.LogBytesPlatform))

	p("# Monthly AWS cost per portal\n\n")
	p("Prices: us-east-1 list prices as assumed on %s (check the pricing pages before relying on them); a month is 30 days. ", priceDate)
	p("Per-invocation figures come from the bench run of %s (`bench/run`, which rewrites this file): ", r.Date)
	p("a cold invocation bills init + duration, taken as the first invoke's wall time = %.0f ms (Lambda bills the init phase since August 2025), a warm one %.0f ms; one check logs %.0f bytes (function JSON + START/END/REPORT). ", coldMs, warmMs, logBytes)
	p("Local durations are shorter than on a 128 MB function, which gets about 1/14 of a vCPU; the last column multiplies the Lambda duration by 10 to show that it still does not matter.\n\n")
	p("One portal per schedule, one check per invocation, free tiers ignored (they are per account and are shared with everything else in it).\n\n")

	p("| Item | Assumption | Every 5 min (8,640 checks) | Every 15 min (2,880 checks) | 5 min, Lambda duration x10 |\n")
	p("| --- | --- | --- | --- | --- |\n")
	type item struct {
		name, assumption string
		cost             func(checks float64, durMul float64) float64
	}
	lambdaCompute := func(checks, mul float64) float64 {
		return checks * lambdaMemoryGB * coldMs * mul / 1000 * lambdaArmPerGBs
	}
	items := []item{
		{"Lambda requests", "$0.20 per million", func(n, _ float64) float64 { return n * lambdaPerRequest }},
		{"Lambda compute (arm64, 128 MB)", fmt.Sprintf("$0.0000133334 per GB-s; every invocation cold: %.0f ms billed", coldMs), lambdaCompute},
		{"EventBridge Scheduler", "$1.00 per million invocations (the first 14 million a month are free: up to 1,620 portals at 5 min cost $0)", func(n, _ float64) float64 { return n * schedulerPerInvoke }},
		{"Secrets Manager, the secret", "$0.40 per secret-month, one secret per portal", func(float64, float64) float64 { return secretPerMonth }},
		{"Secrets Manager, API calls", "$0.05 per 10,000; one GetSecretValue per check, cache or not (see below)", func(n, _ float64) float64 { return n * secretPerAPICall }},
		{"SNS email", fmt.Sprintf("$2 per 100,000 notifications, $0.50 per million publishes; %d alerts a month", alertsPerMonth), func(float64, float64) float64 { return alertsPerMonth * (snsEmailPerMessage + snsPublishPerRequest) }},
		{"DynamoDB on-demand (alert state)", "a read and a write per check: $0.125 per million RRU, $0.625 per million WRU (the prices since the November 2024 cut; $0.25/$1.25 before)", func(n, _ float64) float64 { return n * (ddbPerRead + ddbPerWrite) }},
		{"CloudWatch Logs ingestion", fmt.Sprintf("$0.50 per GB; %.0f bytes per check (storage at $0.03 per GB-month is less still)", logBytes), func(n, _ float64) float64 { return n * logBytes / 1e9 * logsPerGB }},
		{"CloudWatch custom metrics (EMF)", "$0.30 per metric-month, 3 metrics with a portal dimension (PortalMetrics=all; the default, fleet metrics only, is in FLEET.md)", func(float64, float64) float64 { return metricsPerPortal * metricPerMonth }},
		{"CloudWatch alarm", "$0.10 per standard-resolution alarm-month, one per portal", func(float64, float64) float64 { return alarmPerMonth }},
		{"KMS key of the SNS topics", "$1.00 per key-month, one per stack, all of it on a stack of one portal (shared by the portals of a larger one; its yearly rotation adds $1 a month for each of the first two rotations); requests ($0.03 per 10,000, about 2 per notice) round to $0", func(float64, float64) float64 {
			return kmsKeyPerMonth + alertsPerMonth*kmsRequestsPerNotice*kmsPerRequest
		}},
	}
	var t5, t15, t5x float64
	for _, it := range items {
		c5, c15, c5x := it.cost(8640, 1), it.cost(2880, 1), it.cost(8640, 10)
		t5, t15, t5x = t5+c5, t15+c15, t5x+c5x
		p("| %s | %s | $%.4f | $%.4f | $%.4f |\n", it.name, it.assumption, c5, c15, c5x)
	}
	p("| **Total per portal** | | **$%.4f** | **$%.4f** | **$%.4f** |\n", t5, t15, t5x)
	p("| SMS instead of email (not in the total) | US: about $0.00883 per message (base $0.00581 + carrier fee, assumed; other countries differ widely; 10DLC or toll-free registration fees extra) | $%.4f | $%.4f | |\n",
		alertsPerMonth*snsSMSUS, alertsPerMonth*snsSMSUS)

	p("\nThe fixed monthly items (the secret $0.40, three metrics $0.90, the alarm $0.10, the stack's KMS key $1.00) are %.0f%% of the 5-minute total: ", 100*(secretPerMonth+metricsPerPortal*metricPerMonth+alarmPerMonth+kmsKeyPerMonth)/t5)
	p("sharing one secret between portals of one owner, publishing the metrics without a per-portal dimension, one alarm for all portals, or one stack (one key) for many portals cuts the cost far more than any change to the function.\n\n")

	p("## The Secrets Manager cache, honestly\n\n")
	p("The function keeps the key for SECRET_CACHE_TTL (5 minutes) in memory, and the bench counted %d GetSecretValue on the cold invoke and %d on %d warm invokes within the TTL. ", r.ColdSMCalls, r.WarmSMCalls, r.WarmChecks)
	p("But a cache lives in one execution environment, and Lambda reclaims idle environments after minutes (not documented, often 5 to 15): at a 15-minute schedule nearly every invocation is a cold start, and at a 5-minute schedule the cached key is 5 minutes old, so it has just expired even in a warm environment. ")
	p("So at these schedules the cache saves nearly nothing for one portal per invocation: the table counts one call per check. ")
	p("It pays off when an environment runs more than one check within the TTL: retries, manual invokes, schedules under 5 minutes, and above all one run over many portals sharing one secret, which makes one call per run instead of one per portal. ")
	p("Without any cache a check would still make one call, so the figure is the same $%.4f (5 min) and $%.4f (15 min) a month.\n\n", 8640*secretPerAPICall, 2880*secretPerAPICall)

	p("## One run for many portals, or one schedule per group\n\n")
	p("A single scheduled run over many portals amortises the request, the init and the secret read, and the bench shows its duration stays close to N/MAX_CONCURRENCY x the portal latency. ")
	p("Its limit is the worst case, not the typical one: a portal that times out holds a slot for up to HTTP_TIMEOUT x attempts per call (10 s x 3 plus backoff, for each of up to 4 calls: about 2 minutes), so N portals need up to ceil(N / MAX_CONCURRENCY) such waves, and that must stay well inside the function's timeout (at most 15 minutes; with 50 slots and a 2-minute worst case, about 300 portals at half the timeout). ")
	p("Switch to one schedule per group of portals when the worst case no longer fits in half the timeout at the concurrency the portals and the memory allow; ")
	p("when one group's slowness or outage must not delay the alerts of others (in one run, alerts wait for nothing else only if they are published as each portal finishes, and a run that times out or crashes loses every portal's check at once); ")
	p("when groups need different schedules, secrets, alert topics or owners (separate IAM and billing); or when a portal's check must be retried on its own by Lambda's retry without re-checking all the others.\n")
	return b.String()
}

func medianInt(xs []int) int {
	return int(median(collect(xs, func(x int) int64 { return int64(x) })))
}
