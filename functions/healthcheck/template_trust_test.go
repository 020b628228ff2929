package main

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestTemplateMonitorAndRetries reads the SAM transform's output: the
// monitor's alarm goes to its own topic, which the email and the phone
// subscribe to without a filter (an alarm's message has no severity
// attribute, so the alert topic's SMS filter would drop it); and a failed
// asynchronous invoke is not retried (the schedule is the retry, so each
// scheduled run counts once).
func TestTemplateMonitorAndRetries(t *testing.T) {
	res := transformedTemplate(t)["Resources"].(map[string]any)
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	resource := func(name string) map[string]any {
		t.Helper()
		r, ok := res[name].(map[string]any)
		if !ok {
			t.Fatalf("no resource %s", name)
		}
		return r
	}
	alarm := resource("MonitorAlarm")["Properties"].(map[string]any)
	if js(alarm["AlarmActions"]) != `[{"Ref":"MonitorTopic"}]` || js(alarm["OKActions"]) != `[{"Ref":"MonitorTopic"}]` {
		t.Errorf("MonitorAlarm actions = %s / %s, want the monitor topic", js(alarm["AlarmActions"]), js(alarm["OKActions"]))
	}
	for name, protocol := range map[string]string{"MonitorEmailSubscription": "email", "MonitorSmsSubscription": "sms"} {
		p := resource(name)["Properties"].(map[string]any)
		if js(p["TopicArn"]) != `{"Ref":"MonitorTopic"}` || p["Protocol"] != protocol || p["FilterPolicy"] != nil {
			t.Errorf("%s = %s, want %s on the monitor topic without a filter", name, js(p), protocol)
		}
	}
	// The SAM transform resolves the parameter in EventInvokeConfig (to
	// its default here, to the stack's value at deploy).
	var invokeConfig map[string]any
	for _, r := range res {
		if r := r.(map[string]any); r["Type"] == "AWS::Lambda::EventInvokeConfig" {
			invokeConfig = r["Properties"].(map[string]any)
		}
	}
	if invokeConfig == nil || invokeConfig["MaximumRetryAttempts"] != float64(0) || js(invokeConfig["FunctionName"]) != `{"Ref":"HealthCheckFunction"}` ||
		!slices.Contains([]string{`{"Ref":"ScheduleIntervalSeconds"}`, "900"}, js(invokeConfig["MaximumEventAgeInSeconds"])) {
		t.Errorf("EventInvokeConfig = %s, want MaximumRetryAttempts 0 and MaximumEventAgeInSeconds the schedule's interval for the function", js(invokeConfig))
	}
	// A scheduled run is not delivered later than one interval, and a
	// dropped one reaches the monitor's alarm, whether Lambda dropped it
	// (AsyncEventsDropped) or the Scheduler did (InvocationDroppedCount of
	// the stack's own schedule group).
	for _, r := range res {
		if r := r.(map[string]any); r["Type"] == "AWS::Scheduler::Schedule" {
			props := r["Properties"].(map[string]any)
			retry := js(props["Target"].(map[string]any)["RetryPolicy"])
			if retry != `{"MaximumEventAgeInSeconds":{"Ref":"ScheduleIntervalSeconds"},"MaximumRetryAttempts":0}` {
				t.Errorf("schedule RetryPolicy = %s, want no retry and the schedule's interval as the most age", retry)
			}
			if g := js(props["GroupName"]); g != `{"Ref":"ScheduleGroup"}` {
				t.Errorf("schedule GroupName = %s, want the stack's ScheduleGroup", g)
			}
		}
	}
	if g, _ := res["ScheduleGroup"].(map[string]any); g["Type"] != "AWS::Scheduler::ScheduleGroup" {
		t.Errorf("ScheduleGroup = %s, want an AWS::Scheduler::ScheduleGroup", js(g))
	}
	m := js(alarm["Metrics"])
	if !strings.Contains(m, `"MetricName":"AsyncEventsDropped"`) || !strings.Contains(m, "FILL(dropped, 0)") {
		t.Errorf("MonitorAlarm metrics = %s, want dropped scheduled runs (AsyncEventsDropped) counted", m)
	}
	if !strings.Contains(m, `{"Dimensions":[{"Name":"ScheduleGroup","Value":{"Ref":"ScheduleGroup"}}],"MetricName":"InvocationDroppedCount","Namespace":"AWS/Scheduler"}`) ||
		!strings.Contains(m, "FILL(schedulerdropped, 0)") {
		t.Errorf("MonitorAlarm metrics = %s, want the Scheduler's dropped invocations of the stack's group (InvocationDroppedCount) counted", m)
	}
	vars := resource("HealthCheckFunction")["Properties"].(map[string]any)["Environment"].(map[string]any)["Variables"].(map[string]any)
	if vars["PORTAL_TIMEOUT"] != "40s" || js(vars["DUMP"]) != `{"Ref":"Dump"}` || js(vars["SELF_HOSTED"]) != `{"Ref":"SelfHosted"}` {
		t.Errorf("variables = %s, want PORTAL_TIMEOUT, DUMP and SELF_HOSTED", js(vars))
	}
}

// TestReadmeListsEveryAlarm: each alarm of the template has its row in the
// README's table of alarms (what fires it, where it goes, what to do).
func TestReadmeListsEveryAlarm(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	alarms := 0
	for name, r := range transformedTemplate(t)["Resources"].(map[string]any) {
		if r.(map[string]any)["Type"] != "AWS::CloudWatch::Alarm" {
			continue
		}
		alarms++
		if !strings.Contains(string(readme), "| `"+name+"` (") {
			t.Errorf("README's table of alarms has no row for %s", name)
		}
	}
	if alarms == 0 {
		t.Error("the template has no alarm")
	}
}
