package main

import (
	"os"
	"regexp"
	"testing"
)

// TestTemplateSetsOnlyKnownVariables keeps template.yaml and loadConfig in
// step: every variable the template sets is one the function reads.
func TestTemplateSetsOnlyKnownVariables(t *testing.T) {
	tmpl, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile(`(?s)Environment:\s*\n\s*Variables:\s*\n(.*?)\n\s{6}Policies:`).FindSubmatch(tmpl)
	if block == nil {
		t.Fatal("template.yaml has no Environment.Variables block before Policies")
	}
	set := regexp.MustCompile(`(?m)^\s+([A-Z_]+):`).FindAllSubmatch(block[1], -1)
	read := map[string]bool{"LOG_LEVEL": true} // read by main
	_, _ = loadConfig(func(name string) string { read[name] = true; return "" })
	if len(set) < 10 {
		t.Fatalf("found %d variables in the template, want the full set", len(set))
	}
	for _, m := range set {
		if name := string(m[1]); !read[name] {
			t.Errorf("template.yaml sets %s, which the function never reads", name)
		}
	}
}
