package main

import (
	"strings"
	"testing"
)

func TestLoadConfigRegistry(t *testing.T) {
	topic := "arn:aws:sns:us-east-1:1:t"
	tests := []struct {
		name    string
		env     map[string]string
		wantErr []string
	}{
		{"registry alone, no PORTAL_URL", map[string]string{"TOPIC_ARN": topic, "REGISTRY_TAG_VALUE": "prod"}, nil},
		{"registry and PORTAL_URL", map[string]string{"TOPIC_ARN": topic, "REGISTRY_TAG_VALUE": "prod", "PORTAL_URL": "https://a.example.com", "SECRET_ID": "s"}, nil},
		{"PORTAL_URL without SECRET_ID", map[string]string{"TOPIC_ARN": topic, "REGISTRY_TAG_VALUE": "prod", "PORTAL_URL": "https://a.example.com"}, []string{"SECRET_ID"}},
		{"reserved tag key", map[string]string{"TOPIC_ARN": topic, "REGISTRY_TAG_VALUE": "prod", "REGISTRY_TAG_KEY": "aws:cloudformation:stack-name"}, []string{"REGISTRY_TAG_KEY", "aws:"}},
		{"page too large", map[string]string{"TOPIC_ARN": topic, "REGISTRY_TAG_VALUE": "prod", "REGISTRY_PAGE_SIZE": "101"}, []string{"REGISTRY_PAGE_SIZE"}},
		{"no registry, no PORTAL_URL", map[string]string{"TOPIC_ARN": topic}, []string{"PORTAL_URL", "SECRET_ID"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadConfig(func(name string) string { return tt.env[name] })
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("loadConfig() error = %v", err)
				}
				if cfg.RegistryTag.Value != "prod" || cfg.RegistryTag.Key != "docspace-backup-watch" || cfg.RegistryPageSize != 100 {
					t.Errorf("loadConfig() registry = %v, page %d", cfg.RegistryTag, cfg.RegistryPageSize)
				}
				return
			}
			for _, want := range tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("loadConfig() error = %v, want it to name %s", err, want)
				}
			}
		})
	}
}

// TestLoadConfigParameterRegistry: REGISTRY_PARAMETER_PATH alone turns the
// registry on (no PORTAL_URL needed); a path Parameter Store would not
// take is a configuration error naming it.
func TestLoadConfigParameterRegistry(t *testing.T) {
	env := map[string]string{"TOPIC_ARN": "arn:aws:sns:us-east-1:1:t", "REGISTRY_PARAMETER_PATH": "/docspace-backup-watch/prod"}
	cfg, err := loadConfig(func(name string) string { return env[name] })
	if err != nil || cfg.RegistryParameterPath != "/docspace-backup-watch/prod" || cfg.registries() != "parameters under /docspace-backup-watch/prod" {
		t.Fatalf("loadConfig() = %q (%s), %v", cfg.RegistryParameterPath, cfg.registries(), err)
	}
	env["REGISTRY_TAG_VALUE"] = "prod"
	if cfg, _ = loadConfig(func(name string) string { return env[name] }); cfg.registries() != "secrets tagged docspace-backup-watch=prod and parameters under /docspace-backup-watch/prod" {
		t.Errorf("registries() = %q, want both", cfg.registries())
	}
	for _, bad := range []string{"docspace-backup-watch/prod", "/docspace-backup-watch/prod/", "/aws/prod", "/a b"} {
		env["REGISTRY_PARAMETER_PATH"] = bad
		if _, err := loadConfig(func(name string) string { return env[name] }); err == nil || !strings.Contains(err.Error(), "REGISTRY_PARAMETER_PATH") {
			t.Errorf("loadConfig(REGISTRY_PARAMETER_PATH=%q) error = %v, want one naming it", bad, err)
		}
	}
}
