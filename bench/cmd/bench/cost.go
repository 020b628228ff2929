package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Prices assumed: us-east-1 list prices as known on priceDate; a month is
// 30 days; free tiers ignored (they are per account and shared with
// everything else in it).
const (
	priceDate            = "2026-12-01"
	lambdaPerRequest     = 0.20 / 1e6
	lambdaArmPerGBs      = 0.0000133334
	lambdaMemoryGB       = 0.125
	schedulerPerInvoke   = 1.00 / 1e6
	secretPerMonth       = 0.40
	secretPerAPICall     = 0.05 / 1e4
	parameterPerMonth    = 0.0 // an SSM standard parameter
	snsEmailPerMessage   = 2.00 / 1e5
	snsPublishPerRequest = 0.50 / 1e6
	ddbPerRead           = 0.125 / 1e6 // on-demand, per read request unit
	ddbPerWrite          = 0.625 / 1e6 // on-demand, per write request unit
	logsPerGB            = 0.50
	metricPerMonth       = 0.30
	metricsPerPortal     = 3 // PortalMetrics: a portal's metrics
	alarmPerMetric       = 0.10
	dashboardPerMonth    = 3.00
	kmsKeyPerMonth       = 1.00 // and as much again for each of a key's first two rotations
	kmsPerRequest        = 0.03 / 1e4
	sqsPerRequest        = 0.40 / 1e6 // standard queue, per 64 KB request
	alertsPerMonth       = 4          // per portal: two incidents, a failure and a recovery each
	kmsRequestsPerNotice = 2          // with EncryptTopics: SNS's GenerateDataKey on publish and a Decrypt for delivery
	// idlePollsPerMonth is the SQS requests of an event source mapping
	// that finds its queue empty: assumed 5 pollers, 3 receives a minute.
	idlePollsPerMonth = 5 * 3 * 60 * 24 * 30
	secretsPerPage    = 100 // ListSecrets page of the registry
	parametersPerPage = 50  // DescribeParameters page (free at standard throughput)
	// The expected cost of the metrics by reason (FLEET_METRICS): each
	// reason fails at each portal for failingHoursPerReason hours a month,
	// independently; a metric is billed for the hours it is sent.
	reasons               = 12
	fleetMetricsFixed     = 3 // PortalsChecked, UnhealthyPortals, OldestBackupHours
	failingHoursPerReason = 10
	hoursPerMonth         = 720
)

// keyStore is where a portal's key is kept.
type keyStore struct {
	name          string
	storage       float64 // per key-month
	readCost      float64 // per read
	listPage      int     // entries per listing call
	listCallPrice float64
	assumption    string
}

var (
	secretStore = keyStore{"a Secrets Manager secret", secretPerMonth, secretPerAPICall, secretsPerPage, secretPerAPICall,
		"$0.40 a secret-month; GetSecretValue and ListSecrets $0.05 per 10,000"}
	parameterStore = keyStore{"an SSM parameter", parameterPerMonth, kmsPerRequest, parametersPerPage, 0,
		"an SSM SecureString standard parameter: no storage charge, no API charge at standard throughput; each read decrypts with the aws/ssm key, $0.03 per 10,000 KMS requests"}
)

// measured are the per-invocation figures the bill takes from this run.
type measured struct {
	InitMs      float64 // the emulator's INIT REPORT, median
	CheckMs     float64 // one check against a portal answering after fleetLatency
	BatchMs     float64 // one queue batch
	Dispatch    func(n int) float64
	KeyReads    float64 // key reads per check (the cache is younger than the schedule's interval)
	DDBQueries  float64 // per steady healthy check
	DDBPuts     float64
	LogBytes    float64 // per check
	LogBytesRun float64 // per run: the run's own lines (START/END/REPORT, metrics)
}

// costLine is one item of a bill.
type costLine struct {
	Name, Assumption string
	Cost             float64
}

// bill prices a month of stack s checking n portals with their keys in
// store, in the given year of the stack (KMS key rotation adds to the
// key's price from year 2).
func bill(s stackShape, n int, store keyStore, m measured, year int) []costLine {
	runs := s.RunsPerMonth
	queued := s.Queue && n > s.DispatchAbove
	batches := ceilDiv(n, s.BatchSize)
	invocations, runMs := 1.0, 0.0
	runText := fmt.Sprintf("a check %.0f ms at %v portal latency, %d at once", m.CheckMs, fleetLatency, s.MaxConcurrency)
	if queued {
		runText = fmt.Sprintf("the dispatcher, then %d batches of %d, %.0f ms each at %v portal latency, up to %d instances", batches, s.BatchSize, m.BatchMs, fleetLatency, s.QueueConcurrency)
		// The dispatcher, then each batch; each instance starts cold
		// once a run (the schedule's interval outlasts an idle instance).
		invocations += float64(batches)
		runMs = m.InitMs + m.Dispatch(n) + float64(batches)*m.BatchMs + float64(min(s.QueueConcurrency, batches))*m.InitMs
	} else {
		runMs = m.InitMs + float64(ceilDiv(n, s.MaxConcurrency))*m.CheckMs
	}
	checks := runs * float64(n)
	// Over the queue each registered portal's check first claims its
	// portal (the alert state's "#owner" item, one conditional PutItem),
	// so that a portal bound to two entries is checked with one.
	puts, putsText := m.DDBPuts, ""
	if queued {
		puts, putsText = puts+1, ", and 1 PutItem per queued check (the portal's owner claim)"
	}
	lines := []costLine{
		{"Lambda requests", "$0.20 per million", runs * invocations * lambdaPerRequest},
		{"Lambda compute (arm64, 128 MB)", fmt.Sprintf("$0.0000133334 per GB-s; a run bills %.0f ms in all: Init %.1f ms for each instance (cold every run), %s", runMs, m.InitMs, runText),
			runs * math.Ceil(runMs) / 1000 * lambdaMemoryGB * lambdaArmPerGBs},
		{"EventBridge Scheduler", fmt.Sprintf("$1.00 per million invocations; %.0f runs a month", runs), runs * schedulerPerInvoke},
		{"Portal keys, storage", store.name + " per portal: " + store.assumption, float64(n) * store.storage},
		{"Portal keys, reads and listing", fmt.Sprintf("%.2f reads per check, a listing call per %d registered portals a run", m.KeyReads, store.listPage),
			checks*m.KeyReads*store.readCost + runs*float64(ceilDiv(max(n, 1), store.listPage))*store.listCallPrice},
		{"DynamoDB on-demand (alert state)", fmt.Sprintf("%.2f Query and %.2f PutItem per steady healthy check (counted)%s, 1 request unit each: $0.125 per million reads, $0.625 per million writes", m.DDBQueries, m.DDBPuts, putsText),
			checks * (m.DDBQueries*ddbPerRead + puts*ddbPerWrite)},
		{"CloudWatch Logs ingestion", fmt.Sprintf("$0.50 per GB; %.0f bytes per check, %.0f per run", m.LogBytes, m.LogBytesRun),
			(checks*m.LogBytes + runs*invocations*m.LogBytesRun) / 1e9 * logsPerGB},
		{"SNS email", fmt.Sprintf("$2 per 100,000 emails, $0.50 per million publishes; %d notices a portal-month", alertsPerMonth),
			float64(n) * alertsPerMonth * (snsEmailPerMessage + snsPublishPerRequest)},
		{"CloudWatch alarms", fmt.Sprintf("$0.10 per alarm metric-month; %d metric(s) read by the stack's alarms", s.AlarmMetrics), float64(s.AlarmMetrics) * alarmPerMetric},
	}
	if s.FleetMetrics {
		lines = append(lines, costLine{"CloudWatch fleet metrics (EMF)", fmt.Sprintf("$0.30 per metric-month, by the hour sent: %d every run, UnhealthyPortals by reason while some portal has it (each of %d reasons failing %d hours a month at each portal)", fleetMetricsFixed, reasons, failingHoursPerReason),
			fleetMetricsCost(n)})
	}
	if perPortal := portalMetricsPortals(s.PortalMetrics, n); perPortal > 0 {
		lines = append(lines, costLine{"CloudWatch per-portal metrics", fmt.Sprintf("PortalMetrics=%s: %d metrics a portal at $0.30", s.PortalMetrics, metricsPerPortal), float64(perPortal*metricsPerPortal) * metricPerMonth})
	}
	if s.Dashboards > 0 {
		lines = append(lines, costLine{"CloudWatch dashboard", "$3.00 a dashboard-month (an account's first 3 free, ignored)", float64(s.Dashboards) * dashboardPerMonth})
	}
	if s.KMSKeys > 0 {
		versions := float64(s.KMSKeys + s.RotatingKeys*min(year-1, 2))
		lines = append(lines, costLine{"KMS key of the topics", fmt.Sprintf("$1.00 a key-month and as much for each of its first two yearly rotations (year %d); %d requests a notice at $0.03 per 10,000", year, kmsRequestsPerNotice),
			versions*kmsKeyPerMonth + float64(n)*alertsPerMonth*kmsRequestsPerNotice*kmsPerRequest})
	}
	if s.Mappings > 0 || queued {
		req := float64(s.Mappings) * idlePollsPerMonth
		if queued {
			req += runs * 3 * float64(batches) // a send, a receive and a delete per batch
		}
		lines = append(lines, costLine{"SQS (Fleet)", fmt.Sprintf("$0.40 per million requests: the event source mapping's idle polling (assumed 5 pollers x 3 a minute) and, above %d portals, a send, a receive and a delete per batch of %d", s.DispatchAbove, s.BatchSize), req * sqsPerRequest})
	}
	return lines
}

func total(lines []costLine) float64 {
	t := 0.0
	for _, l := range lines {
		t += l.Cost
	}
	return t
}

// reasonHours is the expected hours in a month that some portal of n has
// a given reason failing, each independently for failingHoursPerReason.
func reasonHours(n int) float64 {
	return hoursPerMonth * (1 - math.Pow(1-failingHoursPerReason/float64(hoursPerMonth), float64(n)))
}

func fleetMetricsCost(n int) float64 {
	return (fleetMetricsFixed + reasons*reasonHours(n)/hoursPerMonth) * metricPerMonth
}

// portalMetricsPortals is how many of n portals PortalMetrics names: none,
// all, or a list.
func portalMetricsPortals(v string, n int) int {
	switch strings.TrimSpace(v) {
	case "", "none":
		return 0
	case "all":
		return n
	}
	return min(n, len(strings.Split(v, ",")))
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// stackFor is the template's stack for n portals: the defaults, and fleet
// mode above DispatchAbove, as the template's parameters advise.
func stackFor(t *cfnTemplate, n int, extra map[string]string) (stackShape, error) {
	s, err := t.shape(extra)
	if err != nil || n <= s.DispatchAbove {
		return s, err
	}
	opts := t.fleetOptions()
	for k, v := range extra {
		opts[k] = v
	}
	return t.shape(opts)
}

// fleetOptions are the parameter values of fleet mode: Fleet=true, where
// the template has that switch (without it the queue is always there).
func (t *cfnTemplate) fleetOptions() map[string]string {
	if _, ok := t.Parameters["Fleet"]; ok {
		return map[string]string{"Fleet": "true"}
	}
	return map[string]string{}
}

// hasParameters reports whether the template has every parameter of opts.
func (t *cfnTemplate) hasParameters(opts map[string]string) bool {
	for k := range opts {
		if _, ok := t.Parameters[k]; !ok {
			return false
		}
	}
	return true
}

// costTables are the bill's figures that make bench prints and COST.md
// holds.
type costTables struct {
	OnePortal      [2]float64 // the default stack of one portal, its key a secret: year 1, year 2
	OnePortalParam [2]float64 // the same with an SSM parameter
	MarginalParam  float64    // per portal at 1,000, an SSM parameter each
	MarginalSecret float64    // the same with a secret each
	Text           string     // COST.md
}

// costSizes are the bill's columns.
var costSizes = []int{1, 100, 1000}

// options are the template's cost options, each priced alone on the
// one-portal stack.
var costOptions = []struct {
	params map[string]string
	what   string
}{
	{map[string]string{"Dashboard": "true"}, "the fleet metrics and their dashboard"},
	{map[string]string{"EncryptTopics": "true"}, "the topics under a customer-managed KMS key"},
	{map[string]string{"Fleet": "true"}, "the check queue, its mapping, the dead-letter queue and their alarms"},
	{map[string]string{"PortalMetrics": "all"}, "per-portal metrics for every portal"},
}

// renderCost prices the template's stacks with this run's figures.
func renderCost(t *cfnTemplate, m measured, date string) (costTables, error) {
	var c costTables
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	one, err := stackFor(t, 1, nil)
	if err != nil {
		return c, err
	}
	for y := range 2 {
		c.OnePortal[y] = total(bill(one, 1, secretStore, m, y+1))
		c.OnePortalParam[y] = total(bill(one, 1, parameterStore, m, y+1))
	}
	big, err := stackFor(t, 1000, nil)
	if err != nil {
		return c, err
	}
	bigger, err := stackFor(t, 2000, nil)
	if err != nil {
		return c, err
	}
	// The slope from 1,000 to 2,000 portals: one portal more would hit the
	// steps of a new batch or listing page.
	c.MarginalParam = (total(bill(bigger, 2000, parameterStore, m, 2)) - total(bill(big, 1000, parameterStore, m, 2))) / 1000
	c.MarginalSecret = (total(bill(bigger, 2000, secretStore, m, 2)) - total(bill(big, 1000, secretStore, m, 2))) / 1000

	p("# Monthly AWS cost\n\n")
	p("Computed by `bench/run` on %s from template.yaml as it is (its parameters' defaults, its conditions, the resources and function variables they leave) and this run's measurements (RESULTS.md, FLEET.md). ", date)
	p("us-east-1 list prices as assumed on %s (check the pricing pages before relying on them), a month of 30 days, free tiers ignored (they are per account). ", priceDate)
	p("A stack of up to %d portals has the template's defaults; a larger one fleet mode (`Fleet=true`), as the template advises. Each portal's key is %s or %s (`portals add --store`).\n\n", one.DispatchAbove, parameterStore.name, secretStore.name)

	p("## Targets\n\n| Measure | Value | Target | |\n| --- | --- | --- | --- |\n")
	p("| The default stack of one portal, fixed and usage, year 2, its key a secret (an SSM parameter) | $%.2f ($%.2f) a month | at most $1.00 | %s |\n", c.OnePortal[1], c.OnePortalParam[1], passFail(c.OnePortal[1] <= 1))
	p("| A portal's marginal cost at 1,000 portals (the slope to 2,000), its key's storage included: an SSM parameter / a secret | $%.4f / $%.4f a month | at most $0.05 | %s |\n\n", c.MarginalParam, c.MarginalSecret, passFail(c.MarginalParam <= 0.05))

	p("## The bill for 1, 100 and 1,000 portals\n\nYear 2, a stack's month divided by its portals.\n\n")
	p("| Item |")
	for _, n := range costSizes {
		p(" %s, parameters | %s, secrets |", commas(n), commas(n))
	}
	p("\n| --- |%s\n", strings.Repeat(" --- | --- |", len(costSizes)))
	type cell struct{ lines []costLine }
	var cols []cell
	for _, n := range costSizes {
		s, err := stackFor(t, n, nil)
		if err != nil {
			return c, err
		}
		for _, st := range []keyStore{parameterStore, secretStore} {
			cols = append(cols, cell{bill(s, n, st, m, 2)})
		}
	}
	var names []string
	for _, col := range cols {
		for _, l := range col.lines {
			if !slices.Contains(names, l.Name) {
				names = append(names, l.Name)
			}
		}
	}
	for _, name := range names {
		p("| %s |", name)
		for i, col := range cols {
			n := costSizes[i/2]
			v, ok := 0.0, false
			for _, l := range col.lines {
				if l.Name == name {
					v, ok = l.Cost, true
				}
			}
			if ok {
				p(" $%.4f |", v/float64(n))
			} else {
				p(" - |")
			}
		}
		p("\n")
	}
	p("| **Per portal, year 2** |")
	for i, col := range cols {
		p(" **$%.4f** |", total(col.lines)/float64(costSizes[i/2]))
	}
	p("\n| **The stack, year 2** |")
	for _, col := range cols {
		p(" $%.2f |", total(col.lines))
	}
	p("\n\nWhat each line assumes (the 1,000-portal stack, secrets):\n\n")
	for _, l := range cols[len(cols)-1].lines {
		p("- %s: %s.\n", l.Name, l.Assumption)
	}

	p("\n## What each option adds to one portal's stack\n\n| Option | What it creates | Year 1 | Year 2 |\n| --- | --- | --- | --- |\n")
	p("| (the defaults) | | $%.2f | $%.2f |\n", c.OnePortal[0], c.OnePortal[1])
	for _, o := range costOptions {
		if !t.hasParameters(o.params) {
			continue // an option of a newer template
		}
		s, err := t.shape(o.params)
		if err != nil {
			return c, err
		}
		var add [2]float64
		for y := range 2 {
			add[y] = total(bill(s, 1, secretStore, m, y+1)) - c.OnePortal[y]
		}
		var kv []string
		for k, v := range o.params {
			kv = append(kv, k+"="+v)
		}
		slices.Sort(kv)
		p("| `%s` | %s | +$%.2f | +$%.2f |\n", strings.Join(kv, " "), o.what, add[0], add[1])
	}
	p("\nThe one-portal stack's bill, item by item (year 2, its key a secret):\n\n| Item | Monthly |\n| --- | --- |\n")
	for _, l := range bill(one, 1, secretStore, m, 2) {
		p("| %s | $%.4f |\n", l.Name, l.Cost)
	}
	c.Text = b.String()
	return c, nil
}

func commas(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
