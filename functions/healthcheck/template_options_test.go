package main

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// deployment is the transformed template as CloudFormation would deploy
// it for some parameter values: the resources whose condition holds, with
// every Fn::If resolved and AWS::NoValue dropped.
type deployment struct {
	params    map[string]string
	resources map[string]map[string]any
	outputs   map[string]any
}

// deploy evaluates the SAM transform's output for the parameters given
// (the others keep their defaults).
func deploy(t *testing.T, tmpl map[string]any, params map[string]string) deployment {
	t.Helper()
	d := deployment{params: map[string]string{}, resources: map[string]map[string]any{}, outputs: map[string]any{}}
	for name, p := range tmpl["Parameters"].(map[string]any) {
		if def, ok := p.(map[string]any)["Default"]; ok {
			d.params[name] = fmt.Sprint(def)
		}
	}
	for name, v := range params {
		if _, ok := tmpl["Parameters"].(map[string]any)[name]; !ok {
			t.Fatalf("the template has no parameter %s", name)
		}
		d.params[name] = v
	}
	conditions, _ := tmpl["Conditions"].(map[string]any)
	var cond func(v any) bool
	value := func(v any) string {
		if m, ok := v.(map[string]any); ok {
			if ref, ok := m["Ref"].(string); ok {
				return d.params[ref]
			}
			t.Fatalf("condition operand %s is neither a Ref nor a literal", js(v))
		}
		return fmt.Sprint(v)
	}
	cond = func(v any) bool {
		m := v.(map[string]any)
		switch {
		case m["Condition"] != nil:
			return cond(conditions[m["Condition"].(string)])
		case m["Fn::Equals"] != nil:
			args := m["Fn::Equals"].([]any)
			return value(args[0]) == value(args[1])
		case m["Fn::Not"] != nil:
			return !cond(m["Fn::Not"].([]any)[0])
		case m["Fn::And"] != nil:
			for _, c := range m["Fn::And"].([]any) {
				if !cond(c) {
					return false
				}
			}
			return true
		case m["Fn::Or"] != nil:
			for _, c := range m["Fn::Or"].([]any) {
				if cond(c) {
					return true
				}
			}
			return false
		}
		t.Fatalf("condition %s: unknown function", js(v))
		return false
	}
	holds := func(name string) bool {
		c, ok := conditions[name]
		if !ok {
			t.Fatalf("no condition %s", name)
		}
		return cond(c)
	}
	noValue := func(v any) bool {
		m, ok := v.(map[string]any)
		return ok && len(m) == 1 && m["Ref"] == "AWS::NoValue"
	}
	var resolve func(v any) any
	resolve = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			if args, ok := x["Fn::If"].([]any); ok && len(x) == 1 {
				if holds(args[0].(string)) {
					return resolve(args[1])
				}
				return resolve(args[2])
			}
			out := map[string]any{}
			for k, e := range x {
				if r := resolve(e); !noValue(r) {
					out[k] = r
				}
			}
			return out
		case []any:
			out := []any{}
			for _, e := range x {
				if r := resolve(e); !noValue(r) {
					out = append(out, r)
				}
			}
			return out
		}
		return v
	}
	for id, r := range tmpl["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if c, ok := res["Condition"].(string); ok && !holds(c) {
			continue
		}
		d.resources[id] = resolve(res).(map[string]any)
	}
	outputs, _ := tmpl["Outputs"].(map[string]any)
	for id, o := range outputs {
		if c, ok := o.(map[string]any)["Condition"].(string); ok && !holds(c) {
			continue
		}
		d.outputs[id] = resolve(o)
	}
	return d
}

// subName is a ${Name} or ${Name.Attribute} in an Fn::Sub string.
var subName = regexp.MustCompile(`\$\{([A-Za-z0-9]+)(\.[A-Za-z0-9.]+)?\}`)

// dangling returns the names that v refers to (Ref, Fn::GetAtt, ${...}
// in Fn::Sub) that are neither a deployed resource, a parameter nor a
// pseudo parameter: CloudFormation would refuse such a stack.
func (d deployment) dangling(v any, params map[string]any) []string {
	var out []string
	known := func(name string, local map[string]bool) bool {
		_, res := d.resources[name]
		_, par := params[name]
		return res || par || local[name] || strings.HasPrefix(name, "AWS::")
	}
	var walk func(v any, local map[string]bool)
	walk = func(v any, local map[string]bool) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["Ref"].(string); ok && !known(ref, local) {
				out = append(out, ref)
			}
			if ga, ok := x["Fn::GetAtt"].([]any); ok && !known(ga[0].(string), local) {
				out = append(out, ga[0].(string))
			}
			if sub, ok := x["Fn::Sub"]; ok {
				text, vars := "", map[string]bool{}
				switch s := sub.(type) {
				case string:
					text = s
				case []any:
					text = s[0].(string)
					for k := range s[1].(map[string]any) {
						vars[k] = true
					}
					walk(s[1], local)
				}
				for _, m := range subName.FindAllStringSubmatch(text, -1) {
					if !known(m[1], vars) {
						out = append(out, m[1])
					}
				}
				return
			}
			for _, e := range x {
				walk(e, local)
			}
		case []any:
			for _, e := range x {
				walk(e, local)
			}
		}
	}
	walk(v, nil)
	return out
}

// Fixed monthly list prices in us-east-1 (year 2: the KMS key has rotated
// once), what a resource costs whether the portals are checked or not.
const (
	secretMonth    = 0.40
	kmsKeyYear2    = 2.00 // $1.00 a key-month, $1.00 more after the first yearly rotation
	dashboardMonth = 3.00
	alarmMetric    = 0.10 // per metric of a standard-resolution alarm
	customMetric   = 0.30
	// idlePolling is an SQS event source mapping polling an empty queue:
	// about 5 pollers x 3 ReceiveMessage calls a minute at $0.40 a million.
	idlePolling = 5 * 3 * 60 * 24 * 30 * 0.40 / 1e6
	// fleetMetricsEveryRun are PortalsChecked, UnhealthyPortals and
	// OldestBackupHours, sent every run with FLEET_METRICS.
	fleetMetricsEveryRun = 3
)

// freeTypes are resource types with no fixed monthly price (they cost by
// use: requests, GB, invocations).
var freeTypes = []string{
	"AWS::Lambda::Function", "AWS::Lambda::EventInvokeConfig", "AWS::Lambda::Permission", "AWS::IAM::Role",
	"AWS::Logs::LogGroup", "AWS::Scheduler::Schedule", "AWS::Scheduler::ScheduleGroup", "AWS::SNS::Topic", "AWS::SNS::Subscription",
	"AWS::DynamoDB::Table", "AWS::SQS::Queue",
}

// fixedCost is the monthly cost of d's resources that does not depend on
// use, by resource; it fails the test on a resource type it cannot price.
func (d deployment) fixedCost(t *testing.T) map[string]float64 {
	t.Helper()
	cost := map[string]float64{}
	for id, r := range d.resources {
		props, _ := r["Properties"].(map[string]any)
		switch typ := r["Type"].(string); typ {
		case "AWS::SecretsManager::Secret":
			cost[id] = secretMonth
		case "AWS::KMS::Key":
			cost[id] = kmsKeyYear2
		case "AWS::CloudWatch::Dashboard":
			cost[id] = dashboardMonth
		case "AWS::CloudWatch::Alarm":
			n := 0
			for _, m := range asList(props["Metrics"]) {
				if m.(map[string]any)["MetricStat"] != nil {
					n++
				}
			}
			cost[id] = float64(max(n, 1)) * alarmMetric
		case "AWS::Lambda::EventSourceMapping":
			cost[id] = idlePolling
		case "AWS::Lambda::Function":
			vars, _ := props["Environment"].(map[string]any)["Variables"].(map[string]any)
			// The function writes the fleet metrics unless FLEET_METRICS
			// is false.
			if fleet, set := vars["FLEET_METRICS"]; !set || d.value(fleet) == "true" {
				cost[id+" fleet metrics"] = fleetMetricsEveryRun * customMetric
			}
			if pm := d.value(vars["PORTAL_METRICS"]); pm != "none" && pm != "" {
				t.Errorf("PORTAL_METRICS = %q: price the per-portal metrics", pm)
			}
		default:
			if !slices.Contains(freeTypes, typ) {
				t.Errorf("%s is a %s, which this test cannot price: add it", id, typ)
			}
		}
	}
	return cost
}

// value is a literal, or the value of the parameter a Ref names.
func (d deployment) value(v any) string {
	if m, ok := v.(map[string]any); ok {
		if p, ok := d.params[fmt.Sprint(m["Ref"])]; ok {
			return p
		}
		return js(v)
	}
	return fmt.Sprint(v)
}

func asList(v any) []any { l, _ := v.([]any); return l }

func sum(m map[string]float64) float64 {
	total := 0.0
	for _, v := range m {
		total += v
	}
	return total
}

// onePortal is the stack of the README's quick deploy: one portal, an
// e-mail address, every other parameter at its default.
var onePortal = map[string]string{"PortalUrl": "https://portal.example.com", "AlertEmail": "ops@example.com"}

func with(base map[string]string, kv ...string) map[string]string {
	out := maps.Clone(base)
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// TestTemplateDefaultStackCosts: the default one-portal stack costs at most
// $1.00 a month, fixed (us-east-1 list prices, year 2, free tiers
// ignored); the fleet parts, the dashboard with the fleet metrics, and the
// topics' key cost only when asked for.
func TestTemplateDefaultStackCosts(t *testing.T) {
	tmpl := transformedTemplate(t)
	base := deploy(t, tmpl, onePortal).fixedCost(t)
	if total := sum(base); total > 1.00 {
		t.Errorf("the default one-portal stack costs $%.2f a month fixed, want at most $1.00: %v", total, base)
	}
	for _, tc := range []struct {
		option string
		params map[string]string
		adds   []string // the resources the option adds to the bill
	}{
		{"Fleet", with(onePortal, "Fleet", "true"), []string{"CheckQueueBatches", "DeadLetterAlarm", "QueueAgeAlarm"}},
		{"Dashboard", with(onePortal, "Dashboard", "true"), []string{"FleetDashboard", "HealthCheckFunction fleet metrics", "PortalsNotCheckedAlarm"}},
		{"EncryptTopics", with(onePortal, "EncryptTopics", "true"), []string{"TopicKey"}},
	} {
		cost := deploy(t, tmpl, tc.params).fixedCost(t)
		var added []string
		for id := range cost {
			if _, ok := base[id]; !ok {
				added = append(added, id)
			}
		}
		slices.Sort(added)
		if slices.Sort(tc.adds); !slices.Equal(added, tc.adds) {
			t.Errorf("%s=true adds %v to the bill, want %v", tc.option, added, tc.adds)
		}
		t.Logf("%s=true adds $%.2f a month", tc.option, sum(cost)-sum(base))
	}
}

// TestTemplateOptions deploys the template (after the SAM transform) with
// each option, and all of them: no resource or output refers to one that
// is not there, and each option brings exactly its own parts.
func TestTemplateOptions(t *testing.T) {
	tmpl := transformedTemplate(t)
	params := tmpl["Parameters"].(map[string]any)
	fleetParts := []string{"CheckQueue", "CheckDeadLetterQueue", "DeadLetterAlarm", "QueueAgeAlarm", "CheckQueueBatches"}
	for _, tc := range []struct {
		name                       string
		params                     map[string]string
		fleet, dashboard, topicKey bool
	}{
		{"defaults", map[string]string{}, false, false, false},
		{"one portal", onePortal, false, false, false},
		{"Fleet", with(onePortal, "Fleet", "true"), true, false, false},
		{"Dashboard", with(onePortal, "Dashboard", "true"), false, true, false},
		{"Dashboard without Fleet", with(onePortal, "Dashboard", "true", "Fleet", "false"), false, true, false},
		{"EncryptTopics", with(onePortal, "EncryptTopics", "true"), false, false, true},
		{"all", with(onePortal, "Fleet", "true", "Dashboard", "true", "EncryptTopics", "true", "AlertPhoneNumber", "+15551234567"), true, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := deploy(t, tmpl, tc.params)
			for id, r := range d.resources {
				if bad := d.dangling(r, params); len(bad) > 0 {
					t.Errorf("resource %s refers to %v, which this deployment does not have", id, bad)
				}
			}
			for id, o := range d.outputs {
				if bad := d.dangling(o, params); len(bad) > 0 {
					t.Errorf("output %s refers to %v, which this deployment does not have", id, bad)
				}
			}
			for _, id := range fleetParts {
				if _, ok := d.resources[id]; ok != tc.fleet {
					t.Errorf("%s deployed = %v, want %v (fleet mode only)", id, ok, tc.fleet)
				}
			}
			fn := d.resources["HealthCheckFunction"]["Properties"].(map[string]any)
			vars := fn["Environment"].(map[string]any)["Variables"].(map[string]any)
			if q := js(vars["QUEUE_URL"]); (q == `""`) == tc.fleet {
				t.Errorf("QUEUE_URL = %s, want the check queue in fleet mode alone", q)
			}
			if _, ok := d.outputs["CheckQueueUrl"]; ok != tc.fleet {
				t.Errorf("output CheckQueueUrl = %v, want %v", ok, tc.fleet)
			}
			role := js(d.resources["HealthCheckFunctionRole"])
			if strings.Contains(role, "sqs:") != tc.fleet {
				t.Errorf("the role's SQS access = %v, want %v (fleet mode only)", strings.Contains(role, "sqs:"), tc.fleet)
			}

			_, dash := d.resources["FleetDashboard"]
			if dash != tc.dashboard || fmt.Sprint(js(vars["FLEET_METRICS"])) != `{"Ref":"Dashboard"}` {
				t.Errorf("FleetDashboard deployed = %v, FLEET_METRICS = %s; want %v and the Dashboard parameter (one switch)", dash, js(vars["FLEET_METRICS"]), tc.dashboard)
			}
			if dash {
				body := js(d.resources["FleetDashboard"]["Properties"])
				if strings.Contains(body, "CheckQueue") != tc.fleet {
					t.Errorf("the dashboard's queue widget = %v, want %v (fleet mode only)", strings.Contains(body, "CheckQueue"), tc.fleet)
				}
			}

			_, key := d.resources["TopicKey"]
			for _, topic := range []string{"AlertTopic", "MonitorTopic"} {
				k := js(d.resources[topic]["Properties"].(map[string]any)["KmsMasterKeyId"])
				if want := map[bool]string{true: `{"Ref":"TopicKey"}`, false: "null"}[tc.topicKey]; k != want || key != tc.topicKey {
					t.Errorf("%s KmsMasterKeyId = %s (TopicKey deployed %v), want %s", topic, k, key, want)
				}
			}
			if strings.Contains(role, "TopicKey") != tc.topicKey {
				t.Errorf("the role's use of TopicKey = %v, want %v", strings.Contains(role, "TopicKey"), tc.topicKey)
			}
			sse := js(d.resources["AlertStateTable"]["Properties"].(map[string]any)["SSESpecification"])
			if sse != `{"SSEEnabled":false}` {
				t.Errorf("AlertStateTable SSESpecification = %s, want the free AWS-owned key (SSEEnabled false)", sse)
			}
		})
	}
}
