package main

import (
	"encoding/json"
	"testing"
)

// TestTemplateFanOut reads the fan-out in the SAM transform's output: the
// event source mapping reports batch item failures with a maximum
// concurrency, the queue sends to its dead-letter queue, a message stays
// invisible six times the function's timeout, and the dead-letter queue's
// depth alarms to the alert topic.
func TestTemplateFanOut(t *testing.T) {
	res := transformedTemplate(t)["Resources"].(map[string]any)
	props := func(name string) map[string]any {
		t.Helper()
		r, ok := res[name].(map[string]any)
		if !ok {
			t.Fatalf("no resource %s", name)
		}
		return r["Properties"].(map[string]any)
	}
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }

	var esm map[string]any
	for _, r := range res {
		if r := r.(map[string]any); r["Type"] == "AWS::Lambda::EventSourceMapping" {
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
	if got := js(queue["RedrivePolicy"]); got != `{"deadLetterTargetArn":{"Fn::GetAtt":["CheckDeadLetterQueue","Arn"]},"maxReceiveCount":3}` {
		t.Errorf("CheckQueue RedrivePolicy = %s, want the dead-letter queue after 3 receives", got)
	}
	timeout := props("HealthCheckFunction")["Timeout"].(float64)
	if vt := queue["VisibilityTimeout"].(float64); vt < 6*timeout {
		t.Errorf("CheckQueue VisibilityTimeout = %v s, want at least 6 x the function's %v s", vt, timeout)
	}
	alarm := props("DeadLetterAlarm")
	if js(alarm["Dimensions"]) != `[{"Name":"QueueName","Value":{"Fn::GetAtt":["CheckDeadLetterQueue","QueueName"]}}]` ||
		alarm["MetricName"] != "ApproximateNumberOfMessagesVisible" || js(alarm["AlarmActions"]) != `[{"Ref":"AlertTopic"}]` ||
		alarm["ComparisonOperator"] != "GreaterThanThreshold" || alarm["Threshold"] != float64(0) {
		t.Errorf("DeadLetterAlarm = %s, want depth > 0 of the dead-letter queue to the alert topic", js(alarm))
	}
	vars := props("HealthCheckFunction")["Environment"].(map[string]any)["Variables"].(map[string]any)
	if js(vars["QUEUE_URL"]) != `{"Ref":"CheckQueue"}` || js(vars["DISPATCH_ABOVE"]) != `{"Ref":"DispatchAbove"}` {
		t.Errorf("QUEUE_URL = %s, DISPATCH_ABOVE = %s, want the check queue and the parameter", js(vars["QUEUE_URL"]), js(vars["DISPATCH_ABOVE"]))
	}
}
