package main

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

// testTemplate is a template in the parsed form readTemplate returns,
// with every construct the cost model reads.
const testTemplate = `{
  "Parameters": {
    "Fleet": {"Default": "false"}, "Dashboard": {"Default": "false"}, "EncryptTopics": {"Default": "false"},
    "PortalMetrics": {"Default": "none"}, "ScheduleExpression": {"Default": "rate(15 minutes)"},
    "DispatchAbove": {"Default": 50}, "MaxConcurrency": {"Default": 10}, "QueueBatchSize": {"Default": 10}, "QueueMaxConcurrency": {"Default": 5}
  },
  "Conditions": {
    "IsFleet": {"Fn::Equals": [{"Ref": "Fleet"}, "true"]},
    "HasDashboard": {"Fn::Equals": [{"Ref": "Dashboard"}, "true"]},
    "HasTopicKey": {"Fn::Not": [{"Fn::Equals": [{"Ref": "EncryptTopics"}, "false"]}]},
    "FleetOrDashboard": {"Fn::Or": [{"Condition": "IsFleet"}, {"Condition": "HasDashboard"}]},
    "FleetAndDashboard": {"Fn::And": [{"Condition": "IsFleet"}, {"Condition": "HasDashboard"}]}
  },
  "Resources": {
    "TopicKey": {"Type": "AWS::KMS::Key", "Condition": "HasTopicKey", "Properties": {"EnableKeyRotation": true}},
    "Queue": {"Type": "AWS::SQS::Queue", "Condition": "IsFleet"},
    "Mapping": {"Type": "AWS::Lambda::EventSourceMapping", "Condition": "IsFleet", "Properties": {"EventSourceArn": {"Fn::GetAtt": ["Queue", "Arn"]}}},
    "Board": {"Type": "AWS::CloudWatch::Dashboard", "Condition": "HasDashboard"},
    "MonitorAlarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"Metrics": [
      {"Id": "a", "MetricStat": {}}, {"Id": "b", "MetricStat": {}}, {"Id": "e", "Expression": "IF(b > 0, a, 1)"}]}},
    "QueueAlarm": {"Type": "AWS::CloudWatch::Alarm", "Condition": "FleetOrDashboard", "Properties": {"MetricName": "Depth"}},
    "BothAlarm": {"Type": "AWS::CloudWatch::Alarm", "Condition": "FleetAndDashboard", "Properties": {"MetricName": "X"}},
    "Fn": {"Type": "AWS::Serverless::Function", "Properties": {"Environment": {"Variables": {
      "FLEET_METRICS": {"Ref": "Dashboard"}, "PORTAL_METRICS": {"Ref": "PortalMetrics"},
      "QUEUE_URL": {"Fn::If": ["IsFleet", {"Ref": "Queue"}, ""]}, "STATE_TABLE": {"Ref": "Table"}}}}},
    "Table": {"Type": "AWS::DynamoDB::Table"}
  }
}`

func parsedTestTemplate(t *testing.T) *cfnTemplate {
	t.Helper()
	var tmpl cfnTemplate
	if err := json.Unmarshal([]byte(testTemplate), &tmpl); err != nil {
		t.Fatal(err)
	}
	return &tmpl
}

func TestShape(t *testing.T) {
	tmpl := parsedTestTemplate(t)
	tests := []struct {
		name    string
		options map[string]string
		want    stackShape
	}{
		{name: "defaults", want: stackShape{AlarmMetrics: 2, PortalMetrics: "none", StateTable: true}},
		{name: "fleet", options: map[string]string{"Fleet": "true"},
			want: stackShape{AlarmMetrics: 3, Mappings: 1, Queue: true, PortalMetrics: "none", StateTable: true}},
		{name: "dashboard", options: map[string]string{"Dashboard": "true"},
			want: stackShape{AlarmMetrics: 3, Dashboards: 1, FleetMetrics: true, PortalMetrics: "none", StateTable: true}},
		{name: "fleet and dashboard", options: map[string]string{"Fleet": "true", "Dashboard": "true"},
			want: stackShape{AlarmMetrics: 4, Dashboards: 1, Mappings: 1, Queue: true, FleetMetrics: true, PortalMetrics: "none", StateTable: true}},
		{name: "encrypted topics", options: map[string]string{"EncryptTopics": "true"},
			want: stackShape{AlarmMetrics: 2, KMSKeys: 1, RotatingKeys: 1, PortalMetrics: "none", StateTable: true}},
		{name: "per-portal metrics", options: map[string]string{"PortalMetrics": "all"},
			want: stackShape{AlarmMetrics: 2, PortalMetrics: "all", StateTable: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tmpl.shape(tt.options)
			if err != nil {
				t.Fatalf("shape(%v) error = %v", tt.options, err)
			}
			got.Options = nil
			tt.want.RunsPerMonth, tt.want.DispatchAbove, tt.want.MaxConcurrency, tt.want.BatchSize, tt.want.QueueConcurrency = 2880, 50, 10, 10, 5
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("shape(%v) = %+v, want %+v", tt.options, got, tt.want)
			}
		})
	}
	if _, err := tmpl.shape(map[string]string{"NoSuchParameter": "x"}); err == nil {
		t.Error("shape(NoSuchParameter) error = nil, want an error")
	}
}

func TestRunsPerMonth(t *testing.T) {
	for expr, want := range map[string]float64{"rate(15 minutes)": 2880, "rate(5 minutes)": 8640, "rate(1 hour)": 720, "rate(1 day)": 30} {
		if got, err := runsPerMonth(expr); err != nil || got != want {
			t.Errorf("runsPerMonth(%q) = %v, %v, want %v", expr, got, err, want)
		}
	}
	for _, expr := range []string{"cron(0 * * * ? *)", "rate(0 minutes)", ""} {
		if _, err := runsPerMonth(expr); err == nil {
			t.Errorf("runsPerMonth(%q) error = nil, want an error", expr)
		}
	}
}

// testMeasured are figures of the size the bench measures.
var testMeasured = measured{InitMs: 8, CheckMs: 210, BatchMs: 240, Dispatch: func(n int) float64 { return float64(n) / 20 },
	KeyReads: 1, DDBQueries: 2, LogBytes: 600, LogBytesRun: 350}

func lineCost(lines []costLine, name string) (float64, bool) {
	for _, l := range lines {
		if l.Name == name {
			return l.Cost, true
		}
	}
	return 0, false
}

func TestBill(t *testing.T) {
	tmpl := parsedTestTemplate(t)
	one, err := stackFor(tmpl, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	lines := bill(one, 1, secretStore, testMeasured, 2)
	if got, _ := lineCost(lines, "Portal keys, storage"); got != 0.40 {
		t.Errorf("one portal's secret = $%v, want $0.40", got)
	}
	if got, _ := lineCost(lines, "CloudWatch alarms"); math.Abs(got-0.20) > 1e-9 {
		t.Errorf("alarms = $%v, want $0.20 (two metrics)", got)
	}
	for _, absent := range []string{"CloudWatch dashboard", "KMS key of the topics", "SQS (Fleet)", "CloudWatch fleet metrics (EMF)"} {
		if _, ok := lineCost(lines, absent); ok {
			t.Errorf("the default stack bills %q, which it does not create", absent)
		}
	}
	// 2,880 checks, 2 consistent Queries each.
	if got, _ := lineCost(lines, "DynamoDB on-demand (alert state)"); math.Abs(got-2880*2*ddbPerRead) > 1e-12 {
		t.Errorf("DynamoDB = $%v, want $%v", got, 2880*2*ddbPerRead)
	}
	if got := total(bill(one, 1, parameterStore, testMeasured, 2)); got >= total(lines)-0.39 {
		t.Errorf("one portal with a parameter = $%v, want about $0.40 less than with a secret ($%v)", got, total(lines))
	}

	// Encrypted topics: the key, and its first rotation from year 2.
	enc, err := tmpl.shape(map[string]string{"EncryptTopics": "true"})
	if err != nil {
		t.Fatal(err)
	}
	y1, _ := lineCost(bill(enc, 1, secretStore, testMeasured, 1), "KMS key of the topics")
	y2, _ := lineCost(bill(enc, 1, secretStore, testMeasured, 2), "KMS key of the topics")
	y4, _ := lineCost(bill(enc, 1, secretStore, testMeasured, 4), "KMS key of the topics")
	if math.Round(y1) != 1 || math.Round(y2) != 2 || math.Round(y4) != 3 {
		t.Errorf("KMS key by year 1, 2, 4 = $%.2f, $%.2f, $%.2f; want about $1, $2, $3", y1, y2, y4)
	}

	// Above DispatchAbove the stack is a fleet: the dispatcher and a
	// batch per QueueBatchSize portals.
	big, err := stackFor(tmpl, 1000, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !big.Queue || big.Mappings != 1 {
		t.Fatalf("stackFor(1000) = %+v, want the fleet", big)
	}
	req, _ := lineCost(bill(big, 1000, secretStore, testMeasured, 2), "Lambda requests")
	if want := 2880 * (1 + 100) * lambdaPerRequest; math.Abs(req-want) > 1e-12 {
		t.Errorf("1,000 portals' Lambda requests = $%v, want $%v (a dispatcher and 100 batches a run)", req, want)
	}
	// Each queued check also claims its portal: one PutItem.
	ddb, _ := lineCost(bill(big, 1000, secretStore, testMeasured, 2), "DynamoDB on-demand (alert state)")
	if want := 2880 * 1000 * (2*ddbPerRead + ddbPerWrite); math.Abs(ddb-want) > 1e-9 {
		t.Errorf("1,000 queued portals' DynamoDB = $%v, want $%v (2 Queries and the owner claim a check)", ddb, want)
	}
}

// TestCostOfTheTemplate prices template.yaml itself, with figures of the
// size the bench measures: every condition and option of it must be
// readable by the cost model (the bench's targets are the bench's).
func TestCostOfTheTemplate(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil && os.Getenv("CI") == "" {
		t.Skip("reading template.yaml needs python3 with samtranslator (cfn-lint)")
	}
	tmpl, err := readTemplate(context.Background(), "../../..")
	if err != nil {
		if os.Getenv("CI") == "" && strings.Contains(err.Error(), "No module named") {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	c, err := renderCost(tmpl, testMeasured, "test")
	if err != nil {
		t.Fatalf("renderCost() error = %v", err)
	}
	if c.OnePortal[1] <= c.OnePortalParam[1] || c.OnePortalParam[1] <= 0 {
		t.Errorf("the one-portal stack costs $%.2f with a secret, $%.2f with a parameter; want the secret dearer, both above 0", c.OnePortal[1], c.OnePortalParam[1])
	}
	// The storage, and a GetSecretValue instead of a KMS Decrypt a check.
	if d, want := c.MarginalSecret-c.MarginalParam, secretPerMonth+2880*(secretPerAPICall-kmsPerRequest); math.Abs(d-want) > 0.001 {
		t.Errorf("a secret's marginal cost over a parameter's = $%.4f, want $%.4f", d, want)
	}
	for _, o := range costOptions {
		for k, v := range o.params {
			if _, ok := tmpl.Parameters[k]; ok && !strings.Contains(c.Text, "`"+k+"="+v+"`") {
				t.Errorf("COST.md does not price the template's option %s=%s", k, v)
			}
		}
	}
}

func TestScaleIdeal(t *testing.T) {
	for n, want := range map[int]float64{1: 200, 50: 200, 51: 400, 100: 400, 500: 2000} {
		if got := scaleIdealMs(n); got != want {
			t.Errorf("scaleIdealMs(%d) = %v, want %v (routes asked at once)", n, got, want)
		}
	}
}
