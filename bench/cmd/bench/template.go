package main

// The stack the cost tables price is read from template.yaml itself: its
// parameters' defaults (or the options a row asks for), its conditions,
// and the resources and function variables that they leave in the stack.
// So the tables follow the template as it changes.

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// parseTemplate is run by python3 with the template's path: it parses the
// YAML with samtranslator's parser (which cfn-lint brings, and which reads
// the short forms !Ref, !If, ... as their long forms) and prints JSON.
const parseTemplate = `
import json, sys
from samtranslator.yaml_helper import yaml_parse
print(json.dumps(yaml_parse(open(sys.argv[1]).read())))
`

// cfnTemplate is the part of a CloudFormation template the cost model
// reads.
type cfnTemplate struct {
	Parameters map[string]struct {
		Default any
	}
	Conditions map[string]any
	Resources  map[string]struct {
		Type       string
		Condition  string
		Properties map[string]any
	}
}

// readTemplate parses root/template.yaml.
func readTemplate(ctx context.Context, root string) (*cfnTemplate, error) {
	out, err := exec.CommandContext(ctx, "python3", "-c", parseTemplate, filepath.Join(root, "template.yaml")).Output()
	if err != nil {
		msg := err.Error()
		if ee, ok := err.(*exec.ExitError); ok {
			msg = strings.TrimSpace(string(ee.Stderr))
		}
		return nil, fmt.Errorf("read template.yaml (python3 with samtranslator, which cfn-lint installs): %s", msg)
	}
	var t cfnTemplate
	if err := json.Unmarshal(out, &t); err != nil {
		return nil, fmt.Errorf("read template.yaml: %w", err)
	}
	return &t, nil
}

// stackShape is what a stack made from the template with some parameter
// values contains, as far as its price goes.
type stackShape struct {
	// Options are the parameter values given instead of the defaults.
	Options map[string]string
	// KMSKeys counts the customer-managed keys; RotatingKeys those with
	// yearly rotation (each rotation adds a key version's price).
	KMSKeys, RotatingKeys int
	Dashboards            int
	// AlarmMetrics counts the metrics of all alarms (an alarm is billed
	// per metric it reads; an expression is free).
	AlarmMetrics int
	// Mappings counts the SQS event source mappings, which poll all month.
	Mappings int
	// Function variables, resolved.
	FleetMetrics  bool   // FLEET_METRICS is true
	PortalMetrics string // PORTAL_METRICS
	Queue         bool   // QUEUE_URL is set: runs over DispatchAbove portals are queued
	StateTable    bool   // STATE_TABLE is set
	// Parameters, resolved.
	RunsPerMonth                  float64
	DispatchAbove, MaxConcurrency int
	BatchSize, QueueConcurrency   int
}

// shape evaluates the template with the parameter values in options (the
// others at their defaults).
func (t *cfnTemplate) shape(options map[string]string) (stackShape, error) {
	s := stackShape{Options: maps.Clone(options)}
	e := &evaluator{t: t, params: map[string]string{}, conds: map[string]bool{}}
	for name, p := range t.Parameters {
		e.params[name] = scalar(p.Default)
	}
	for name, v := range options {
		if _, ok := t.Parameters[name]; !ok {
			return s, fmt.Errorf("template.yaml has no parameter %s", name)
		}
		e.params[name] = v
	}
	for name, r := range t.Resources {
		if !e.present(name) {
			continue
		}
		switch r.Type {
		case "AWS::KMS::Key":
			s.KMSKeys++
			if e.value(r.Properties["EnableKeyRotation"]) == "true" {
				s.RotatingKeys++
			}
		case "AWS::CloudWatch::Dashboard":
			s.Dashboards++
		case "AWS::CloudWatch::Alarm":
			s.AlarmMetrics += alarmMetrics(r.Properties)
		case "AWS::Lambda::EventSourceMapping":
			if t.Resources[getAttTarget(r.Properties["EventSourceArn"])].Type == "AWS::SQS::Queue" {
				s.Mappings++
			}
		case "AWS::Serverless::Function":
			vars, _ := dig(r.Properties, "Environment", "Variables").(map[string]any)
			if vars == nil {
				continue
			}
			// The function sends the fleet metrics unless told not to.
			fm, set := vars["FLEET_METRICS"]
			s.FleetMetrics = !set || e.value(fm) == "true"
			s.PortalMetrics = e.value(vars["PORTAL_METRICS"])
			s.Queue = e.value(vars["QUEUE_URL"]) != ""
			s.StateTable = e.value(vars["STATE_TABLE"]) != ""
		}
	}
	var err error
	if s.RunsPerMonth, err = runsPerMonth(e.params["ScheduleExpression"]); err != nil {
		return s, err
	}
	for name, dst := range map[string]*int{"DispatchAbove": &s.DispatchAbove, "MaxConcurrency": &s.MaxConcurrency, "QueueBatchSize": &s.BatchSize, "QueueMaxConcurrency": &s.QueueConcurrency} {
		if *dst, err = strconv.Atoi(e.params[name]); err != nil {
			return s, fmt.Errorf("template.yaml parameter %s = %q: %w", name, e.params[name], err)
		}
	}
	return s, e.err
}

// alarmMetrics counts the metrics an alarm reads: one for a plain alarm,
// each MetricStat of a metric math alarm.
func alarmMetrics(props map[string]any) int {
	list, ok := props["Metrics"].([]any)
	if !ok {
		return 1
	}
	n := 0
	for _, m := range list {
		if mm, ok := m.(map[string]any); ok && mm["MetricStat"] != nil {
			n++
		}
	}
	return n
}

var rateExpr = regexp.MustCompile(`^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$`)

// runsPerMonth is a rate() schedule's runs in 30 days.
func runsPerMonth(expr string) (float64, error) {
	m := rateExpr.FindStringSubmatch(strings.TrimSpace(expr))
	if m == nil {
		return 0, fmt.Errorf("schedule %q: the cost model takes rate(N minutes|hours|days) only", expr)
	}
	n, _ := strconv.Atoi(m[1])
	if n <= 0 {
		return 0, fmt.Errorf("schedule %q: a rate of 0", expr)
	}
	minutes := map[string]int{"minute": 1, "minutes": 1, "hour": 60, "hours": 60, "day": 1440, "days": 1440}[m[2]]
	return 30 * 24 * 60 / float64(n*minutes), nil
}

// evaluator resolves conditions and values with the parameters' values.
type evaluator struct {
	t      *cfnTemplate
	params map[string]string
	conds  map[string]bool
	err    error
}

// present reports whether a resource exists in the stack.
func (e *evaluator) present(name string) bool {
	r, ok := e.t.Resources[name]
	return ok && (r.Condition == "" || e.condition(r.Condition))
}

func (e *evaluator) condition(name string) bool {
	if v, ok := e.conds[name]; ok {
		return v
	}
	def, ok := e.t.Conditions[name]
	if !ok {
		e.fail(fmt.Errorf("template.yaml has no condition %s", name))
		return false
	}
	v := e.truth(def)
	e.conds[name] = v
	return v
}

// truth evaluates a condition function.
func (e *evaluator) truth(v any) bool {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		e.fail(fmt.Errorf("template.yaml: a condition the cost model cannot read: %v", v))
		return false
	}
	for fn, arg := range m {
		args, _ := arg.([]any)
		switch fn {
		case "Condition":
			return e.condition(fmt.Sprint(arg))
		case "Fn::Equals":
			if len(args) == 2 {
				return e.value(args[0]) == e.value(args[1])
			}
		case "Fn::Not":
			if len(args) == 1 {
				return !e.truth(args[0])
			}
		case "Fn::And", "Fn::Or":
			want := fn == "Fn::Or"
			for _, a := range args {
				if e.truth(a) == want {
					return want
				}
			}
			return !want
		}
	}
	e.fail(fmt.Errorf("template.yaml: a condition the cost model cannot read: %v", v))
	return false
}

// value resolves a property to a string: a parameter's value, a present
// resource's reference as "ref:Name" (absent: ""), Fn::If's branch,
// AWS::NoValue as "", anything else (Fn::Sub, Fn::GetAtt, ...) as a
// non-empty placeholder.
func (e *evaluator) value(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return scalar(v)
	}
	if ref, ok := m["Ref"].(string); ok {
		if p, ok := e.params[ref]; ok {
			return p
		}
		if ref == "AWS::NoValue" {
			return ""
		}
		if strings.HasPrefix(ref, "AWS::") || e.present(ref) {
			return "ref:" + ref
		}
		return ""
	}
	if args, ok := m["Fn::If"].([]any); ok && len(args) == 3 {
		if e.condition(fmt.Sprint(args[0])) {
			return e.value(args[1])
		}
		return e.value(args[2])
	}
	keys := slices.Sorted(maps.Keys(m))
	return "fn:" + strings.Join(keys, ",")
}

func (e *evaluator) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

// scalar is a YAML scalar as the template means it: numbers without a
// trailing ".0", booleans as true/false, null as "".
func scalar(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return fmt.Sprint(x)
	}
}

// getAttTarget is the resource that Fn::GetAtt names ("" for anything
// else), in its list and its "Name.Attribute" forms.
func getAttTarget(v any) string {
	switch a := dig(v, "Fn::GetAtt").(type) {
	case []any:
		if len(a) > 0 {
			return fmt.Sprint(a[0])
		}
	case string:
		name, _, _ := strings.Cut(a, ".")
		return name
	}
	return ""
}

// dig follows keys into nested maps.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
