package main

import (
	"slices"
	"strings"
	"testing"
)

// TestTemplateChat reads the optional chat channels in the SAM transform's
// output: a Slack and a Microsoft Teams channel configuration, each made
// only when all of its IDs are given, subscribed to the alert topic and
// the monitor topic, with a role that Amazon Q Developer alone assumes and
// a guardrail as narrow as the role: reading the alarm a notification
// shows, nothing else.
func TestTemplateChat(t *testing.T) {
	tmpl := transformedTemplate(t)
	params := tmpl["Parameters"].(map[string]any)
	for _, p := range []string{"SlackWorkspaceId", "SlackChannelId", "TeamsTeamId", "TeamsChannelId", "TeamsTenantId"} {
		param, ok := params[p].(map[string]any)
		if !ok || param["Default"] != "" || param["AllowedPattern"] == nil {
			t.Errorf("parameter %s = %s, want optional (default empty) with an AllowedPattern", p, jsonOf(params[p]))
		}
	}
	conds := jsonOf(tmpl["Conditions"])
	for _, want := range []string{
		`"HasSlack":{"Fn::And":[{"Fn::Not":[{"Fn::Equals":[{"Ref":"SlackWorkspaceId"},""]}]},{"Fn::Not":[{"Fn::Equals":[{"Ref":"SlackChannelId"},""]}]}]}`,
		`"HasTeams":{"Fn::And":[{"Fn::Not":[{"Fn::Equals":[{"Ref":"TeamsTeamId"},""]}]},{"Fn::Not":[{"Fn::Equals":[{"Ref":"TeamsChannelId"},""]}]},{"Fn::Not":[{"Fn::Equals":[{"Ref":"TeamsTenantId"},""]}]}]}`,
		`"HasChat":{"Fn::Or":[{"Condition":"HasSlack"},{"Condition":"HasTeams"}]}`,
	} {
		if !strings.Contains(conds, want) {
			t.Errorf("conditions = %s, want %s", conds, want)
		}
	}

	channels := map[string]struct{ typ, cond, ids string }{
		"SlackChannel": {"AWS::Chatbot::SlackChannelConfiguration", "HasSlack", `"SlackChannelId":{"Ref":"SlackChannelId"},"SlackWorkspaceId":{"Ref":"SlackWorkspaceId"}`},
		"TeamsChannel": {"AWS::Chatbot::MicrosoftTeamsChannelConfiguration", "HasTeams", `"TeamId":{"Ref":"TeamsTeamId"},"TeamsChannelId":{"Ref":"TeamsChannelId"},"TeamsTenantId":{"Ref":"TeamsTenantId"}`},
	}
	for id, want := range channels {
		r := resource(t, tmpl, id)
		props := r["Properties"].(map[string]any)
		if r["Type"] != want.typ || r["Condition"] != want.cond || !strings.Contains(jsonOf(props), want.ids) {
			t.Errorf("%s = %s, want a %s under %s with %s", id, jsonOf(r), want.typ, want.cond, want.ids)
		}
		for field, w := range map[string]string{
			"SnsTopicArns":      `[{"Ref":"AlertTopic"},{"Ref":"MonitorTopic"}]`,
			"IamRoleArn":        `{"Fn::GetAtt":["ChatRole","Arn"]}`,
			"GuardrailPolicies": `[{"Ref":"ChatNotificationsPolicy"}]`,
			"UserRoleRequired":  `false`,
		} {
			if got := jsonOf(props[field]); got != w {
				t.Errorf("%s %s = %s, want %s", id, field, got, w)
			}
		}
	}

	role := resource(t, tmpl, "ChatRole")
	rp := role["Properties"].(map[string]any)
	if role["Condition"] != "HasChat" || jsonOf(rp["ManagedPolicyArns"]) != `[{"Ref":"ChatNotificationsPolicy"}]` || rp["Policies"] != nil ||
		jsonOf(rp["AssumeRolePolicyDocument"]) != `{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"Service":"chatbot.amazonaws.com"}}],"Version":"2012-10-17"}` {
		t.Errorf("ChatRole = %s, want one only Amazon Q Developer assumes, with the notifications policy alone", jsonOf(role))
	}
	policy := resource(t, tmpl, "ChatNotificationsPolicy")
	var actions []string
	for _, st := range policy["Properties"].(map[string]any)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
		st := st.(map[string]any)
		if st["Effect"] != "Allow" {
			t.Errorf("ChatNotificationsPolicy statement %s, want Allow statements", jsonOf(st))
		}
		for _, a := range st["Action"].([]any) {
			actions = append(actions, a.(string))
		}
	}
	slices.Sort(actions)
	if policy["Condition"] != "HasChat" || !slices.Equal(actions, []string{"cloudwatch:DescribeAlarms", "cloudwatch:GetMetricWidgetImage"}) {
		t.Errorf("ChatNotificationsPolicy actions = %v, want only reading the alarm and its chart", actions)
	}
}
