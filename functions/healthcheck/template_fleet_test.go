package main

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/backupcheck"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/metrics"
)

// TestTemplateFanOut reads the fan-out in the SAM transform's output, with
// Fleet=true: the event source mapping reports batch item failures with a
// maximum concurrency, the queue sends to its dead-letter queue, a message
// stays invisible six times the function's timeout, and the dead-letter
// queue's depth alarms to the alert topic.
func TestTemplateFanOut(t *testing.T) {
	res := deploy(t, transformedTemplate(t), with(onePortal, "Fleet", "true")).resources
	props := func(name string) map[string]any {
		t.Helper()
		r, ok := res[name]
		if !ok {
			t.Fatalf("no resource %s", name)
		}
		return r["Properties"].(map[string]any)
	}

	var esm map[string]any
	for _, r := range res {
		if r["Type"] == "AWS::Lambda::EventSourceMapping" {
			esm = r["Properties"].(map[string]any)
		}
	}
	if esm == nil {
		t.Fatal("no event source mapping")
	}
	for field, want := range map[string]string{
		"EventSourceArn":        `{"Fn::GetAtt":["CheckQueue","Arn"]}`,
		"FunctionResponseTypes": `["ReportBatchItemFailures"]`,
		"BatchSize":             `{"Ref":"QueueBatchSize"}`,
		"ScalingConfig":         `{"MaximumConcurrency":{"Ref":"QueueMaxConcurrency"}}`,
		"FunctionName":          `{"Ref":"HealthCheckFunction"}`,
	} {
		if got := js(esm[field]); got != want {
			t.Errorf("event source mapping %s = %s, want %s", field, got, want)
		}
	}
	queue := props("CheckQueue")
	if got := js(queue["RedrivePolicy"]); got != `{"deadLetterTargetArn":{"Fn::GetAtt":["CheckDeadLetterQueue","Arn"]},"maxReceiveCount":5}` {
		t.Errorf("CheckQueue RedrivePolicy = %s, want the dead-letter queue after 5 receives", got)
	}
	timeout := props("HealthCheckFunction")["Timeout"].(float64)
	if vt := queue["VisibilityTimeout"].(float64); vt < 6*timeout {
		t.Errorf("CheckQueue VisibilityTimeout = %v s, want at least 6 x the function's %v s", vt, timeout)
	}
	// The dead-letter alarm fires on arrivals (the depth's growth), not
	// once on depth > 0 and then never again while the queue holds one.
	alarm := props("DeadLetterAlarm")
	metricsJS := js(alarm["Metrics"])
	if !strings.Contains(metricsJS, `"Dimensions":[{"Name":"QueueName","Value":{"Fn::GetAtt":["CheckDeadLetterQueue","QueueName"]}}]`) ||
		!strings.Contains(metricsJS, `"MetricName":"ApproximateNumberOfMessagesVisible"`) || !strings.Contains(metricsJS, `"Expression":"DIFF(FILL(depth, 0))"`) ||
		js(alarm["AlarmActions"]) != `[{"Ref":"MonitorTopic"}]` || alarm["ComparisonOperator"] != "GreaterThanThreshold" || alarm["Threshold"] != float64(0) {
		t.Errorf("DeadLetterAlarm = %s, want the growth of the dead-letter queue's depth > 0 to the monitor topic (email and SMS)", js(alarm))
	}
	// PortalsNotChecked alarms with the fleet metrics it reads, and only
	// with them (MonitorAlarm sees such a run in every stack).
	if _, ok := res["PortalsNotCheckedAlarm"]; ok {
		t.Error("PortalsNotCheckedAlarm without Dashboard=true (the fleet metrics), want none")
	}
	pnc, ok := deploy(t, transformedTemplate(t), with(onePortal, "Dashboard", "true")).resources["PortalsNotCheckedAlarm"]
	if !ok {
		t.Fatal("no PortalsNotCheckedAlarm with Dashboard=true")
	}
	if p := pnc["Properties"].(map[string]any); p["MetricName"] != metrics.PortalsNotChecked ||
		!strings.Contains(js(p["Namespace"]), `DocSpaceBackupWatch/`) || js(p["AlarmActions"]) != `[{"Ref":"MonitorTopic"}]` || p["Threshold"] != float64(0) {
		t.Errorf("PortalsNotCheckedAlarm = %s, want %s > 0 in the function's namespace to the monitor topic", js(pnc), metrics.PortalsNotChecked)
	}
	age := props("QueueAgeAlarm")
	if js(age["Dimensions"]) != `[{"Name":"QueueName","Value":{"Fn::GetAtt":["CheckQueue","QueueName"]}}]` || age["MetricName"] != "ApproximateAgeOfOldestMessage" ||
		js(age["Threshold"]) != `{"Ref":"ScheduleIntervalSeconds"}` || age["ComparisonOperator"] != "GreaterThanThreshold" || js(age["AlarmActions"]) != `[{"Ref":"MonitorTopic"}]` {
		t.Errorf("QueueAgeAlarm = %s, want the check queue's oldest message older than the schedule's interval to the monitor topic", js(age))
	}
	vars := props("HealthCheckFunction")["Environment"].(map[string]any)["Variables"].(map[string]any)
	if js(vars["SCHEDULE_INTERVAL"]) != `{"Fn::Sub":"${ScheduleIntervalSeconds}s"}` {
		t.Errorf("SCHEDULE_INTERVAL = %s, want the schedule's interval in seconds", js(vars["SCHEDULE_INTERVAL"]))
	}
	if js(vars["QUEUE_URL"]) != `{"Ref":"CheckQueue"}` || js(vars["DISPATCH_ABOVE"]) != `{"Ref":"DispatchAbove"}` {
		t.Errorf("QUEUE_URL = %s, DISPATCH_ABOVE = %s, want the check queue and the parameter", js(vars["QUEUE_URL"]), js(vars["DISPATCH_ABOVE"]))
	}
}

// TestTemplateDashboard reads the dashboard's body as CloudWatch will
// (after Fn::Sub), with Fleet=true: valid JSON whose widgets name the
// metrics pkg/metrics writes, in the namespace the function writes them
// to, every reason pkg/backupcheck can give, the function's own metrics
// and the dead-letter queue's depth. (TestTemplateOptions reads it
// without Fleet.)
func TestTemplateDashboard(t *testing.T) {
	tmpl := transformedTemplate(t)
	dash, ok := tmpl["Resources"].(map[string]any)["FleetDashboard"].(map[string]any)
	if !ok {
		t.Fatal("no FleetDashboard")
	}
	// The dashboard costs $3 a month and the fleet metrics it shows $0.90
	// and more: off by default, on (the URL output with it) by
	// Dashboard=true.
	param, _ := tmpl["Parameters"].(map[string]any)["Dashboard"].(map[string]any)
	cond := js(tmpl["Conditions"].(map[string]any)["HasDashboard"])
	url, _ := tmpl["Outputs"].(map[string]any)["DashboardUrl"].(map[string]any)
	if param["Default"] != "false" || js(param["AllowedValues"]) != `["true","false"]` || cond != `{"Fn::Equals":[{"Ref":"Dashboard"},"true"]}` ||
		dash["Condition"] != "HasDashboard" || url["Condition"] != "HasDashboard" {
		t.Errorf("Dashboard parameter %s, HasDashboard %s, dashboard's condition %v, DashboardUrl's %v; want false by default, true adding both", js(param), cond, dash["Condition"], url["Condition"])
	}
	res := deploy(t, tmpl, with(onePortal, "Fleet", "true", "Dashboard", "true")).resources
	sub := res["FleetDashboard"]["Properties"].(map[string]any)["DashboardBody"].(map[string]any)["Fn::Sub"].([]any)
	vars := sub[1].(map[string]any)
	text := strings.Replace(sub[0].(string), "${QueueWidget}", vars["QueueWidget"].(map[string]any)["Fn::Sub"].(string), 1)
	body := regexp.MustCompile(`\$\{[A-Za-z0-9:.]+\}`).ReplaceAllStringFunc(text, func(v string) string {
		if strings.Contains(v, "Period") {
			return "900"
		}
		return "X" + strings.Trim(v, "${}")
	})
	var d struct {
		Widgets []struct {
			Properties struct {
				Title   string
				Metrics [][]any
			}
		}
	}
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		t.Fatalf("dashboard body is not JSON once substituted: %v\n%s", err, body)
	}
	var names, reasons []string
	expressions := ""
	for _, w := range d.Widgets {
		for _, m := range w.Properties.Metrics {
			if len(m) == 1 {
				expressions += m[0].(map[string]any)["expression"].(string)
				continue
			}
			names = append(names, m[0].(string)+" "+m[1].(string))
			if m[1] == metrics.UnhealthyPortals && len(m) > 3 && m[2] == metrics.ReasonDimension {
				reasons = append(reasons, m[3].(string))
			}
		}
	}
	ns := "XMetricsNamespace"
	for _, want := range []string{ns + " " + metrics.PortalsChecked, ns + " " + metrics.UnhealthyPortals, ns + " " + metrics.OldestBackupHours,
		"AWS/Lambda Invocations", "AWS/Lambda Errors", "AWS/SQS ApproximateNumberOfMessagesVisible"} {
		if !slices.Contains(names, want) {
			t.Errorf("dashboard has no metric %s (has %v)", want, names)
		}
	}
	var wantReasons []string
	for _, r := range backupcheck.Priority {
		wantReasons = append(wantReasons, string(r))
	}
	if !slices.Equal(reasons, wantReasons) {
		t.Errorf("dashboard reasons = %v, want every failing reason %v", reasons, wantReasons)
	}
	if !strings.Contains(expressions, metrics.HoursSinceLastBackup) || !strings.Contains(expressions, "Portal}") {
		t.Errorf("dashboard expressions %q: want the per-portal %s", expressions, metrics.HoursSinceLastBackup)
	}
	if ns := js(vars["MetricsNamespace"]); ns != `{"Fn::Sub":"DocSpaceBackupWatch/${AWS::StackName}"}` {
		t.Errorf("dashboard namespace = %s", ns)
	}
	env := res["HealthCheckFunction"]["Properties"].(map[string]any)["Environment"].(map[string]any)["Variables"].(map[string]any)
	if js(env["METRICS_NAMESPACE"]) != `{"Fn::Sub":"DocSpaceBackupWatch/${AWS::StackName}"}` {
		t.Errorf("METRICS_NAMESPACE = %s, want the dashboard's namespace", js(env["METRICS_NAMESPACE"]))
	}
}

func js(v any) string { b, _ := json.Marshal(v); return string(b) }
