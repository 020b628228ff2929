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
