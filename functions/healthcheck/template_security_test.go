package main

import (
	"encoding/json"
	"log/slog"
	"regexp"
	"strings"
	"testing"
)

// nameProperties are the properties that give a resource a fixed
// physical name, which two stacks in one account and region would share.
var nameProperties = []string{"Name", "LogGroupName", "DashboardName", "TopicName", "QueueName", "TableName", "FunctionName", "AlarmName", "RoleName", "ScheduleGroupName", "GroupName"}

// TestTemplateDeploysSideBySide: in the SAM transform's output, no
// resource has a literal physical name (the schedule's default name is the
// same in every stack), so staging and prod deploy in one account and
// region.
func TestTemplateDeploysSideBySide(t *testing.T) {
	tmpl := transformedTemplate(t)
	schedules := 0
	for id, r := range tmpl["Resources"].(map[string]any) {
		res := r.(map[string]any)
		props, _ := res["Properties"].(map[string]any)
		if res["Type"] == "AWS::Scheduler::Schedule" {
			schedules++
		}
		for _, p := range nameProperties {
			v, ok := props[p]
			if !ok {
				continue
			}
			b, _ := json.Marshal(v)
			// A name from the stack or from another resource's generated
			// name is unique; a literal is the same in every stack.
			if _, literal := v.(string); literal || !(strings.Contains(string(b), `"Ref"`) || strings.Contains(string(b), "Fn::GetAtt") || strings.Contains(string(b), "${")) {
				t.Errorf("%s (%s) has %s %s, which does not come from the stack: a second stack would collide", id, res["Type"], p, b)
			}
		}
	}
	if schedules == 0 {
		t.Error("the transform made no AWS::Scheduler::Schedule")
	}
}

// resource returns a resource of the transformed template.
func resource(t *testing.T, tmpl map[string]any, id string) map[string]any {
	t.Helper()
	r, ok := tmpl["Resources"].(map[string]any)[id].(map[string]any)
	if !ok {
		t.Fatalf("no resource %s", id)
	}
	return r
}

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }

// TestTemplateHardening checks the template's protections in the SAM
// transform's output.
func TestTemplateHardening(t *testing.T) {
	tmpl := transformedTemplate(t)
	fn := resource(t, tmpl, "HealthCheckFunction")["Properties"].(map[string]any)
	logging := jsonOf(fn["LoggingConfig"])
	if !strings.Contains(logging, `"ApplicationLogLevel":{"Ref":"LogLevel"}`) || !strings.Contains(logging, `"LogGroup":{"Ref":"HealthCheckLogGroup"}`) {
		t.Errorf("LoggingConfig = %s, want ApplicationLogLevel from LogLevel and the stack's log group", logging)
	}
	if strings.Contains(jsonOf(fn["Environment"]), "LOG_LEVEL") {
		t.Error("the template sets LOG_LEVEL: Lambda's ApplicationLogLevel (AWS_LAMBDA_LOG_LEVEL) is the one setting")
	}
	lg := resource(t, tmpl, "HealthCheckLogGroup")
	if jsonOf(lg["Properties"].(map[string]any)["RetentionInDays"]) != `{"Ref":"LogRetentionDays"}` || lg["DeletionPolicy"] != "Delete" {
		t.Errorf("log group = %s, want retention LogRetentionDays, deleted with the stack", jsonOf(lg))
	}
	params := tmpl["Parameters"].(map[string]any)
	if d := jsonOf(params["LogRetentionDays"].(map[string]any)["Default"]); d != "30" {
		t.Errorf("LogRetentionDays default = %s, want 30", d)
	}
	secret := resource(t, tmpl, "ApiKeySecret")
	if secret["DeletionPolicy"] != "Retain" || secret["UpdateReplacePolicy"] != "Retain" {
		t.Errorf("ApiKeySecret policies = %v/%v, want Retain", secret["DeletionPolicy"], secret["UpdateReplacePolicy"])
	}
	pattern := regexp.MustCompile(params["ApiKeySecretArn"].(map[string]any)["AllowedPattern"].(string))
	for arn, want := range map[string]bool{
		"": true, "arn:aws:secretsmanager:eu-central-1:123456789012:secret:docspace/a-AbCdEf": true,
		"arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:x-AbCdEf": true,
		"docspace/a": false, "arn:aws:s3:::bucket": false, "arn:aws:secretsmanager:eu-central-1:123:secret:x": false,
		// A partial ARN (no random suffix) would only fail at every run.
		"arn:aws:secretsmanager:eu-central-1:123456789012:secret:docspace/a":      false,
		"arn:aws:secretsmanager:eu-central-1:123456789012:secret:docspace/a-AbCd": false,
	} {
		if pattern.MatchString(arn) != want {
			t.Errorf("ApiKeySecretArn pattern on %q = %v, want %v", arn, !want, want)
		}
	}
	role := jsonOf(resource(t, tmpl, "HealthCheckFunctionRole"))
	if !strings.Contains(role, `"Fn::If":["HasSecretKmsKey"`) || !strings.Contains(role, `"kms:ViaService":{"Fn::Sub":"secretsmanager.${AWS::Region}.amazonaws.com"}`) {
		t.Errorf("the role has no kms:Decrypt through Secrets Manager under SecretKmsKeyArn:\n%s", role)
	}
	// With EncryptTopics=true (TestTemplateOptions: the topics use it).
	key := jsonOf(resource(t, tmpl, "TopicKey"))
	if !strings.Contains(key, `"Service":"cloudwatch.amazonaws.com"`) || !strings.Contains(key, "kms:GenerateDataKey") {
		t.Errorf("TopicKey's policy does not let CloudWatch alarms publish:\n%s", key)
	}
}

func TestLogLevelFromLambda(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want slog.Level
	}{
		{map[string]string{}, slog.LevelInfo},
		{map[string]string{"LOG_LEVEL": "DEBUG"}, slog.LevelDebug},
		{map[string]string{"AWS_LAMBDA_LOG_LEVEL": "WARN", "LOG_LEVEL": "DEBUG"}, slog.LevelWarn},
		{map[string]string{"AWS_LAMBDA_LOG_LEVEL": "TRACE"}, slog.LevelDebug - 4},
		{map[string]string{"AWS_LAMBDA_LOG_LEVEL": "FATAL"}, slog.LevelError + 4},
		{map[string]string{"AWS_LAMBDA_LOG_LEVEL": "error"}, slog.LevelError},
		{map[string]string{"AWS_LAMBDA_LOG_LEVEL": "loud"}, slog.LevelInfo},
	}
	for _, tt := range tests {
		if got := logLevel(func(n string) string { return tt.env[n] }); got != tt.want {
			t.Errorf("logLevel(%v) = %v, want %v", tt.env, got, tt.want)
		}
	}
}
