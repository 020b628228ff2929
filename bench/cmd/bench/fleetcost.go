package main

import (
	"fmt"
	"math"
	"strings"
)

// Prices the fleet cost table assumes besides those of renderCost
// (us-east-1, priceDate).
const (
	sqsPerRequest     = 0.40 / 1e6 // standard queue, per 64 KB request
	dashboardPerMonth = 3.00       // per dashboard-month (the first 3 of an account are free: ignored)
	idlePollsPerMonth = 5 * 3 * 60 * 24 * 30
	fleetRunsPerMonth = 2880 // the template's default rate(15 minutes)
	dispatchAbove     = 50   // the template's DispatchAbove
	portalsPerOwner   = 10   // the shared-key case: one secret per owner of 10 portals
	reasons           = 12   // backupcheck's failing reasons: an UnhealthyPortals metric each
	fleetMetricsFixed = 3    // PortalsChecked, UnhealthyPortals, OldestBackupHours: sent every run
	hoursPerMonth     = 720  // 30 days
	// failingHoursPerReason is the assumption behind the expected cost of
	// the metrics by reason: each reason fails at each portal for this
	// many hours a month, independently (about 5 days a month of some
	// problem per portal in all). A custom metric is billed prorated by
	// the hour it is sent, and UnhealthyPortals by Reason is sent only
	// while some portal has that reason.
	failingHoursPerReason = 10
	kmsKeyPerMonth        = 1.00       // per customer-managed key-month (first year; see kmsAssumption)
	kmsPerRequest         = 0.03 / 1e4 // symmetric key requests
	kmsRequestsPerNotice  = 2          // assumed: SNS's GenerateDataKey on publish and a Decrypt for delivery
	alarmMetrics          = 3          // MonitorAlarm (2 metrics) + DeadLetterAlarm (1)
	defaultConcurrency    = 5          // the template's QueueMaxConcurrency
)

// reasonHours is the expected number of hours in a month that some
// portal of n has a given reason failing: each portal independently for
// failingHoursPerReason hours.
func reasonHours(n int) float64 {
	return hoursPerMonth * (1 - math.Pow(1-failingHoursPerReason/float64(hoursPerMonth), float64(n)))
}

// fleetMetricsCost is the stack's monthly cost of the fleet metrics: the
// three sent every run, and UnhealthyPortals by Reason for the hours some
// portal has that reason (reasonHours; all month in the worst case).
func fleetMetricsCost(n int, worst bool) float64 {
	hours := reasonHours(n)
	if worst {
		hours = hoursPerMonth
	}
	return (fleetMetricsFixed + reasons*hours/hoursPerMonth) * metricPerMonth
}

const kmsAssumption = "$1.00 per key-month for the key of the SNS topics (one per stack; its yearly rotation adds $1 a month for each of the first two rotations, so up to $3 from the third year), $0.03 per 10,000 requests, assumed 2 per notice"

// costItem is one line of the fleet cost table: the month's cost of the
// whole stack for n portals.
type costItem struct {
	name, assumption string
	secret           bool // the secret's own price, shown apart from the marginal cost
	total            func(n int, shared bool) float64
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// fleetCostItems models a stack checking n portals every 15 minutes, from
// the figures in f.
func fleetCostItems(f *fleetResults) []costItem {
	runs := float64(fleetRunsPerMonth)
	checkMs := ms(median(f.Concurrent))
	dispatched := func(n int) bool { return n > dispatchAbove }
	invocations := func(n int) float64 {
		if dispatched(n) {
			return runs * float64(1+ceilDiv(n, consumerBatch))
		}
		return runs
	}
	runMs := func(n int) float64 {
		if dispatched(n) {
			return math.Ceil(f.dispatchMs(n)) + float64(ceilDiv(n, consumerBatch))*math.Ceil(f.batchMs())
		}
		return math.Ceil(float64(ceilDiv(n, consumerParallel))*checkMs + 2)
	}
	secrets := func(n int, shared bool) float64 {
		if shared {
			return float64(ceilDiv(n, portalsPerOwner))
		}
		return float64(n)
	}
	secretReads := func(n int, shared bool) float64 {
		switch {
		case !shared:
			return float64(n) // the 5-minute cache is older than the 15-minute interval
		case dispatched(n):
			return secrets(n, true) * min(defaultConcurrency, portalsPerOwner)
		}
		return secrets(n, true)
	}
	return []costItem{
		{"Lambda requests", fmt.Sprintf("$0.20 per million; one invocation a run up to %d portals, above that the dispatcher plus one per batch of %d", dispatchAbove, consumerBatch),
			false, func(n int, _ bool) float64 { return invocations(n) * lambdaPerRequest }},
		{"Lambda compute (arm64, 128 MB)", fmt.Sprintf("$0.0000133334 per GB-s; a direct run %.0f ms per %d portals (one check at once, measured), a dispatched run the dispatcher plus %.0f ms a batch (measured)", checkMs, consumerParallel, f.batchMs()),
			false, func(n int, _ bool) float64 { return runs * runMs(n) / 1000 * lambdaMemoryGB * lambdaArmPerGBs }},
		{"EventBridge Scheduler", "$1.00 per million invocations, one schedule (free tier ignored)",
			false, func(int, bool) float64 { return runs * schedulerPerInvoke }},
		{"SQS", fmt.Sprintf("$0.40 per million requests; above %d portals a send, a receive and a delete per batch of %d; and the event source mapping's idle long polling, assumed 5 pollers x 3 a minute (%d a month)", dispatchAbove, consumerBatch, idlePollsPerMonth),
			false, func(n int, _ bool) float64 {
				req := float64(idlePollsPerMonth)
				if dispatched(n) {
					req += runs * 3 * float64(ceilDiv(n, consumerBatch))
				}
				return req * sqsPerRequest
			}},
		{"Secrets Manager, the secrets", fmt.Sprintf("$0.40 per secret-month: one per portal, or shared: one per owner of %d portals", portalsPerOwner),
			true, func(n int, shared bool) float64 { return secrets(n, shared) * secretPerMonth }},
		{"Secrets Manager, API calls", fmt.Sprintf("$0.05 per 10,000: a GetSecretValue per secret per instance per run (per portal; shared: once per run, or up to %d instances when dispatched), a ListSecrets per 100 registered per run", defaultConcurrency),
			false, func(n int, shared bool) float64 {
				return runs * (secretReads(n, shared) + float64(ceilDiv(n, 100))) * secretPerAPICall
			}},
		{"DynamoDB on-demand (alert state)", fmt.Sprintf("per check %.2f Query and %.2f PutItem (counted), 1 RRU/WRU each: $0.125 per million RRU, $0.625 per million WRU", f.DDBQueryPerCheck, f.DDBPutPerCheck),
			false, func(n int, _ bool) float64 {
				return runs * float64(n) * (f.DDBQueryPerCheck*ddbPerRead + f.DDBPutPerCheck*ddbPerWrite)
			}},
		{"CloudWatch Logs ingestion", fmt.Sprintf("$0.50 per GB; %.0f bytes per check (measured in the consumer)", f.LogBytesPerCheck),
			false, func(n int, _ bool) float64 { return runs * float64(n) * f.LogBytesPerCheck / 1e9 * logsPerGB }},
		{"CloudWatch metrics, fleet (EMF)", fmt.Sprintf("$0.30 per metric-month, prorated by the hour a metric is sent: %d without a dimension, sent every run, + UnhealthyPortals by Reason for %d reasons, each sent only while some portal has it: expected, each reason failing %d hours a month at each portal (worst case, every reason all month: below); per-portal metrics off (PortalMetrics=none)", fleetMetricsFixed, reasons, failingHoursPerReason),
			false, func(n int, _ bool) float64 { return fleetMetricsCost(n, false) }},
		{"CloudWatch alarms", fmt.Sprintf("$0.10 per alarm metric-month: the monitor's (2 metrics) and the dead-letter queue's (%d in all)", alarmMetrics),
			false, func(int, bool) float64 { return alarmMetrics * alarmPerMonth }},
		{"CloudWatch dashboard", "$3.00 per dashboard-month (Dashboard=true, the default; Dashboard=false saves it; an account's first 3 dashboards are free, ignored here)",
			false, func(int, bool) float64 { return dashboardPerMonth }},
		{"KMS", kmsAssumption,
			false, func(n int, _ bool) float64 {
				return kmsKeyPerMonth + float64(n)*alertsPerMonth*kmsRequestsPerNotice*kmsPerRequest
			}},
		{"SNS email", fmt.Sprintf("$2 per 100,000 notifications, $0.50 per million publishes; %d alerts a month per portal", alertsPerMonth),
			false, func(n int, _ bool) float64 {
				return float64(n) * alertsPerMonth * (snsEmailPerMessage + snsPublishPerRequest)
			}},
	}
}

// fleetSizes are the cost table's columns.
var fleetSizes = []int{1, 100, 1000}

// renderFleetCost writes the fleet cost table: the monthly cost per
// portal of a stack checking 1, 100 and 1,000 portals every 15 minutes.
func renderFleetCost(f *fleetResults) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	items := fleetCostItems(f)
	p("## Monthly cost per portal of a fleet\n\n")
	p("One stack, the template's defaults: a run every 15 minutes (%d a month), registered portals, above %d portals the check queue (batches of %d), fleet metrics only, the dashboard, the KMS key of the alert topics. us-east-1 list prices as assumed on %s, free tiers ignored; each cell is the stack's monthly cost divided by its portals. Per-invocation figures are this run's measurements above (portals answering after %v); the cost of a portal that never answers (a longer billed duration) is not in it.\n\n", fleetRunsPerMonth, dispatchAbove, consumerBatch, priceDate, fleetLatency)
	p("| Item | Assumption |")
	for _, n := range fleetSizes {
		p(" %s portal(s), a secret each | %s, shared key |", commas(n), commas(n))
	}
	p("\n| --- | --- |%s\n", strings.Repeat(" --- | --- |", len(fleetSizes)))
	totals := make([]float64, 2*len(fleetSizes))
	for _, it := range items {
		p("| %s | %s |", it.name, it.assumption)
		for i, n := range fleetSizes {
			for j, shared := range []bool{false, true} {
				c := it.total(n, shared) / float64(n)
				totals[2*i+j] += c
				p(" $%.4f |", c)
			}
		}
		p("\n")
	}
	p("| **Total per portal** | |")
	for _, t := range totals {
		p(" **$%.4f** |", t)
	}
	p("\n\n")

	// The marginal cost of a portal at 1,000, without the secret: the
	// slope from 1,000 to 2,000 portals (one more portal alone would hit
	// the steps of a new batch or a new ListSecrets page).
	marginal := 0.0
	for _, it := range items {
		if !it.secret {
			marginal += (it.total(2000, false) - it.total(1000, false)) / 1000
		}
	}
	p("| Measure at 1,000 portals | Value | Target | |\n| --- | --- | --- | --- |\n")
	p("| Marginal cost of a portal (the slope from 1,000 to 2,000 portals), fleet metrics only, without its secret | $%.4f a month | under $0.05 | %s |\n", marginal, passFail(marginal > 0 && marginal < 0.05))
	p("| The secret's share: a secret per portal / shared by %d portals | $%.4f / $%.4f a month | | |\n", portalsPerOwner, secretPerMonth, secretPerMonth/portalsPerOwner)
	p("| Per-portal metrics for a portal (PortalMetrics), if asked | $%.4f a month | | |\n", metricsPerPortal*metricPerMonth)
	p("| The stack's fleet metrics at 1 / 100 / 1,000 portals: expected (each reason failing %d hours a month at each portal) / worst case (every reason failing all month) | $%.2f / $%.2f / $%.2f; worst $%.2f | | |\n\n", failingHoursPerReason, fleetMetricsCost(1, false), fleetMetricsCost(100, false), fleetMetricsCost(1000, false), fleetMetricsCost(1, true))

	one := 0.0
	for _, it := range items {
		one += it.total(1, false)
	}
	p("### One portal alone\n\n")
	p("| Stack of one portal, a secret, a run every 15 minutes | Monthly cost |\n| --- | --- |\n")
	p("| The template's defaults (the table above) | $%.2f |\n", one)
	p("| The same, worst case of the fleet metrics (every reason failing all month) | $%.2f |\n", one-fleetMetricsCost(1, false)+fleetMetricsCost(1, true))
	p("| `Dashboard=false` (saves $%.2f) | $%.2f |\n\n", dashboardPerMonth, one-dashboardPerMonth)
	p("The fixed items (fleet metrics, alarms, dashboard, the KMS key, the queue's idle polling, the schedule) are about $%.2f a month for the whole stack, so a single portal costs more than it did with one schedule and per-portal metrics (see COST.md), and the cost per portal falls as the fleet grows. ", fixedCost(items))
	p("A bound secret names one portal (origin and base path), so a shared key serves only the portals under one origin; most fleets pay a secret per portal, the largest item at every size.\n")
	return b.String()
}

// fixedCost is the part of the stack's cost that does not depend on the
// number of portals (the items' cost at 1 portal minus one portal's share).
func fixedCost(items []costItem) float64 {
	fixed := 0.0
	for _, it := range items {
		if !it.secret {
			fixed += 2*it.total(1, false) - it.total(2, false)
		}
	}
	return fixed
}

func commas(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
