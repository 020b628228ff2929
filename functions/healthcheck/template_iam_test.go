package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

// samTransform is run by python3 with the template's path: it applies the
// SAM transform (samtranslator, which cfn-lint brings) offline and prints
// the CloudFormation template as JSON.
const samTransform = `
import json, os, sys
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse
class NoManagedPolicies:
    def load(self):
        return {}
t = yaml_parse(open(sys.argv[1]).read())
for r in t["Resources"].values():
    if r["Type"] == "AWS::Serverless::Function":
        r["Properties"]["CodeUri"] = "s3://bucket/key"
print(json.dumps(transform(t, {}, NoManagedPolicies())))
`

// samOutput is the SAM transform's output, run once per test binary: the
// template tests share it (each decodes its own copy), instead of paying
// for a Python process with samtranslator each.
var samOutput struct {
	once sync.Once
	out  []byte
	err  error
}

// transformedTemplate returns template.yaml after the SAM transform.
// Without python3 and samtranslator it skips, but fails in CI.
func transformedTemplate(t *testing.T) map[string]any {
	t.Helper()
	samOutput.once.Do(func() {
		samOutput.out, samOutput.err = exec.Command("python3", "-c", samTransform, "../../template.yaml").Output()
	})
	if err := samOutput.err; err != nil {
		msg := err.Error()
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		if os.Getenv("CI") == "" && (strings.Contains(msg, "No module named") || strings.Contains(msg, "executable file not found")) {
			t.Skipf("the SAM transform needs python3 with samtranslator (pip install cfn-lint): %s", msg)
		}
		t.Fatalf("SAM transform of template.yaml: %s", msg)
	}
	var tmpl map[string]any
	if err := json.Unmarshal(samOutput.out, &tmpl); err != nil {
		t.Fatal(err)
	}
	return tmpl
}

// statement is one IAM policy statement of the transformed template.
type statement struct {
	Effect    string
	Action    any
	Resource  any
	Condition map[string]map[string]any
}

func (s statement) actions() []string {
	switch a := s.Action.(type) {
	case string:
		return []string{a}
	case []any:
		var out []string
		for _, x := range a {
			out = append(out, x.(string))
		}
		return out
	}
	return nil
}

// TestTemplateSecretAccess reads the function role that the SAM transform
// generates: Secrets Manager access is GetSecretValue on the PORTAL_URL
// secret, GetSecretValue on any secret only with the stack's registry tag,
// and ListSecrets; nothing broader, no wildcard action, no other managed
// policy granting it.
func TestTemplateSecretAccess(t *testing.T) {
	tmpl := transformedTemplate(t)
	resources := tmpl["Resources"].(map[string]any)
	role := resources["HealthCheckFunctionRole"].(map[string]any)["Properties"].(map[string]any)
	// A policy may be conditional ({"Fn::If": [cond, policy, NoValue]}):
	// both branches are read, so a condition can hide nothing.
	var entries []any
	for _, p := range role["Policies"].([]any) {
		if branches, ok := p.(map[string]any)["Fn::If"].([]any); ok {
			entries = append(entries, branches[1:]...)
			continue
		}
		entries = append(entries, p)
	}
	var policies []struct {
		PolicyDocument struct{ Statement []statement }
	}
	for _, e := range entries {
		if m, ok := e.(map[string]any); ok && m["Ref"] == "AWS::NoValue" {
			continue
		}
		raw, _ := json.Marshal(e)
		var p struct {
			PolicyDocument struct{ Statement []statement }
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatal(err)
		}
		policies = append(policies, p)
	}
	var tagged, single, list int
	queueActions, logActions := map[string]bool{}, map[string]bool{}
	for _, p := range policies {
		for _, s := range p.PolicyDocument.Statement {
			res, _ := json.Marshal(s.Resource)
			for _, a := range s.actions() {
				if strings.Contains(a, "*") {
					t.Errorf("statement %+v has the wildcard action %s", s, a)
				}
				if strings.HasPrefix(a, "logs:") {
					logActions[a] = true
					if string(res) != `{"Fn::Sub":"arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${HealthCheckLogGroup}:*"}` {
						t.Errorf("%s on %s, want the function's own log group alone", a, res)
					}
				}
				if strings.HasPrefix(a, "sqs:") {
					if string(res) != `{"Fn::GetAtt":["CheckQueue","Arn"]}` {
						t.Errorf("%s on %s, want the check queue alone", a, res)
					}
					queueActions[a] = true
				}
				if !strings.HasPrefix(a, "secretsmanager:") {
					continue
				}
				if s.Effect != "Allow" || len(s.actions()) != 1 {
					t.Errorf("secret statement %+v: want one Allow action per statement", s)
				}
				switch a {
				case "secretsmanager:ListSecrets":
					list++
				case "secretsmanager:GetSecretValue":
					cond := s.Condition["StringEquals"]["secretsmanager:ResourceTag/docspace-backup-watch"]
					switch {
					case strings.Contains(string(res), "secret:*"):
						if c, _ := json.Marshal(cond); string(c) != `{"Ref":"AWS::StackName"}` || len(s.Condition) != 1 {
							t.Errorf("GetSecretValue on every secret with condition %v, want only StringEquals secretsmanager:ResourceTag/docspace-backup-watch = the stack name", s.Condition)
						}
						tagged++
					case strings.Contains(string(res), "ApiKeySecret") && !strings.Contains(string(res), "*"):
						single++
					default:
						t.Errorf("GetSecretValue on %s: neither the stack's secret nor tagged secrets", res)
					}
				default:
					t.Errorf("secret action %s is more than the function needs", a)
				}
			}
		}
	}
	for _, a := range []string{"sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"} {
		if !queueActions[a] {
			t.Errorf("the role lacks %s on the check queue (the dispatcher or the event source mapping needs it)", a)
		}
	}
	if len(logActions) != 2 || !logActions["logs:CreateLogStream"] || !logActions["logs:PutLogEvents"] {
		t.Errorf("log actions %v, want CreateLogStream and PutLogEvents", logActions)
	}
	if tagged != 1 || single != 1 || list != 1 {
		t.Errorf("found %d tagged GetSecretValue, %d single-secret GetSecretValue and %d ListSecrets statements, want one each", tagged, single, list)
	}
	// No managed policy: AWSLambdaBasicExecutionRole may write to every
	// log group of the account.
	if arns, ok := role["ManagedPolicyArns"]; ok {
		t.Errorf("managed policies %v: want none (the logs grant is on the function's own log group)", arns)
	}
	if fn := resources["HealthCheckFunction"].(map[string]any)["Properties"].(map[string]any); js(fn["Role"]) != `{"Fn::GetAtt":["HealthCheckFunctionRole","Arn"]}` {
		t.Errorf("the function's role = %s, want HealthCheckFunctionRole", js(fn["Role"]))
	}
	// The variable the function lists by is the key the condition names.
	fn := resources["HealthCheckFunction"].(map[string]any)["Properties"].(map[string]any)
	vars := fn["Environment"].(map[string]any)["Variables"].(map[string]any)
	if vars["REGISTRY_TAG_KEY"] != "docspace-backup-watch" {
		t.Errorf("REGISTRY_TAG_KEY = %v, want the condition's tag key docspace-backup-watch", vars["REGISTRY_TAG_KEY"])
	}
	if v, _ := json.Marshal(vars["REGISTRY_TAG_VALUE"]); string(v) != `{"Ref":"AWS::StackName"}` {
		t.Errorf("REGISTRY_TAG_VALUE = %s, want the stack name", v)
	}
}

// TestTemplateParameterAccess reads the role of the SAM transform's output,
// deployed with and without ParameterKmsKeyArn: the function lists the
// parameters' metadata (ssm:DescribeParameters, which takes no resource)
// and reads only the parameters under its stack's path (ssm:GetParameter
// and GetParameters under it), nothing else of Parameter Store; it decrypts through the aws/ssm key's own
// policy, and with ParameterKmsKeyArn may use that key, only through
// Parameter Store.
// REGISTRY_PARAMETER_PATH is the same path.
func TestTemplateParameterAccess(t *testing.T) {
	tmpl := transformedTemplate(t)
	const path = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/docspace-backup-watch/${AWS::StackName}"
	for _, customer := range []bool{false, true} {
		params := with(onePortal)
		if customer {
			params["ParameterKmsKeyArn"] = "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-0000-4000-8000-000000000000"
		}
		d := deploy(t, tmpl, params)
		var ssmGrants, kmsGrants []string
		for _, p := range asList(d.resources["HealthCheckFunctionRole"]["Properties"].(map[string]any)["Policies"]) {
			for _, st := range asList(p.(map[string]any)["PolicyDocument"].(map[string]any)["Statement"]) {
				s := st.(map[string]any)
				var actions []string
				switch a := s["Action"].(type) {
				case string:
					actions = []string{a}
				case []any:
					for _, x := range a {
						actions = append(actions, x.(string))
					}
				}
				resources, ok := s["Resource"].([]any)
				if !ok {
					resources = []any{s["Resource"]}
				}
				for _, a := range actions {
					for _, res := range resources {
						grant := a + " " + js(res) + " " + js(s["Condition"])
						switch {
						case strings.HasPrefix(a, "ssm:"):
							ssmGrants = append(ssmGrants, grant)
						case strings.HasPrefix(a, "kms:") && strings.Contains(grant, "ParameterKmsKeyArn"):
							kmsGrants = append(kmsGrants, grant)
						}
					}
				}
			}
		}
		slices.Sort(ssmGrants)
		wantSSM := []string{
			// Lists names and metadata, never a value; AWS allows
			// only "*" for it.
			`ssm:DescribeParameters "*" null`,
			`ssm:GetParameter {"Fn::Sub":"` + path + `/*"} null`,
			`ssm:GetParameters {"Fn::Sub":"` + path + `/*"} null`,
		}
		if !slices.Equal(ssmGrants, wantSSM) {
			t.Errorf("ParameterKmsKeyArn set %v: Parameter Store grants\n%s\nwant\n%s", customer, strings.Join(ssmGrants, "\n"), strings.Join(wantSSM, "\n"))
		}
		wantKMS := []string(nil)
		if customer {
			wantKMS = []string{`kms:Decrypt {"Ref":"ParameterKmsKeyArn"} {"StringEquals":{"kms:ViaService":{"Fn::Sub":"ssm.${AWS::Region}.amazonaws.com"}}}`}
		}
		if !slices.Equal(kmsGrants, wantKMS) {
			t.Errorf("ParameterKmsKeyArn set %v: its KMS grants %v, want %v", customer, kmsGrants, wantKMS)
		}
		vars := d.resources["HealthCheckFunction"]["Properties"].(map[string]any)["Environment"].(map[string]any)["Variables"].(map[string]any)
		if v := js(vars["REGISTRY_PARAMETER_PATH"]); v != `{"Fn::Sub":"/docspace-backup-watch/${AWS::StackName}"}` {
			t.Errorf("REGISTRY_PARAMETER_PATH = %s, want the path the role may read", v)
		}
	}
	pattern := regexp.MustCompile(tmpl["Parameters"].(map[string]any)["ParameterKmsKeyArn"].(map[string]any)["AllowedPattern"].(string))
	for arn, want := range map[string]bool{"": true, "arn:aws:kms:eu-central-1:123456789012:key/0a1b2c3d-0000-4000-8000-000000000000": true, "alias/aws/ssm": false, "arn:aws:kms:eu-central-1:123456789012:alias/x": false} {
		if pattern.MatchString(arn) != want {
			t.Errorf("ParameterKmsKeyArn pattern on %q = %v, want %v", arn, !want, want)
		}
	}
}
