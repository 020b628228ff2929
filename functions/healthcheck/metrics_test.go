package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestPortalMetricsChoice: per-portal EMF lines only for the portals
// PORTAL_METRICS names (or all), and the fleet lines, without a portal
// dimension, once per invocation whatever the choice.
func TestPortalMetricsChoice(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want []string // per-portal lines, by scenario
	}{
		{"", nil},
		{"none", nil},
		{"all", []string{"healthy", "stale"}},
		{"PORTAL", []string{"stale"}},
	} {
		t.Run(tc.env, func(t *testing.T) {
			f := newFixture(t, nil)
			env := strings.ReplaceAll(tc.env, "PORTAL", f.url+"/p/stale")
			sel, err := loadConfig(func(name string) string {
				return map[string]string{"PORTAL_URL": f.url, "SECRET_ID": "s", "TOPIC_ARN": "arn:aws:sns:us-east-1:1:t", "ALLOW_INSECURE_HTTP": "true", "PORTAL_METRICS": env}[name]
			})
			if err != nil {
				t.Fatal(err)
			}
			f.h.cfg.PortalMetrics = sel.PortalMetrics
			if _, err := f.h.Handle(t.Context(), f.input("healthy", "stale")); err != nil {
				t.Fatal(err)
			}
			var perPortal []string
			fleet := 0
			for _, l := range strings.Split(strings.TrimSpace(f.emf.String()), "\n") {
				var m map[string]any
				if err := json.Unmarshal([]byte(l), &m); err != nil {
					t.Fatal(err)
				}
				if p, ok := m["Portal"]; ok {
					perPortal = append(perPortal, fmt.Sprint(p)[strings.LastIndex(fmt.Sprint(p), "/")+1:])
				}
				if m["PortalsChecked"] != nil {
					fleet++
					if m["PortalsChecked"] != float64(2) || m["UnhealthyPortals"] != float64(1) {
						t.Errorf("fleet line %s, want 2 checked, 1 unhealthy", l)
					}
				}
			}
			slices.Sort(perPortal)
			if !slices.Equal(perPortal, tc.want) || fleet != 1 {
				t.Errorf("PORTAL_METRICS=%q: per-portal lines for %v and %d fleet line(s), want %v and 1", env, perPortal, fleet, tc.want)
			}
		})
	}
	if _, err := loadConfig(func(name string) string {
		return map[string]string{"PORTAL_URL": "https://a.example.com", "SECRET_ID": "s", "TOPIC_ARN": "arn:aws:sns:us-east-1:1:t", "PORTAL_METRICS": "https://a.example.com?x"}[name]
	}); err == nil || !strings.Contains(err.Error(), "PORTAL_METRICS") {
		t.Errorf("loadConfig(bad PORTAL_METRICS) error = %v, want one naming it", err)
	}
}

// TestPortalMetricsNormalized: PORTAL_METRICS entries are read as portal
// names (docspace.PortalName) at config load, so another spelling of a
// portal's URL still selects it, and an entry that is not a portal is a
// configuration error naming it.
func TestPortalMetricsNormalized(t *testing.T) {
	load := func(v string) (config, error) {
		return loadConfig(func(name string) string {
			return map[string]string{"PORTAL_URL": "https://a.example.com", "SECRET_ID": "s", "TOPIC_ARN": "arn:aws:sns:us-east-1:1:t", "PORTAL_METRICS": v}[name]
		})
	}
	c, err := load(" A.Example.COM , https://b.example.com:443/docspace/ ,c.example.com/")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"a.example.com", "b.example.com/docspace", "c.example.com"} {
		if !c.PortalMetrics.Wants(p) {
			t.Errorf("PORTAL_METRICS selection %s: Wants(%q) = false, want true", c.PortalMetrics, p)
		}
	}
	for _, bad := range []string{"ftp://a.example.com", "https://a.example.com/?x=1", "https://user@a.example.com"} {
		if _, err := load(bad); err == nil || !strings.Contains(err.Error(), "PORTAL_METRICS") || !strings.Contains(err.Error(), shortText(bad)) {
			t.Errorf("PORTAL_METRICS=%q: loadConfig error = %v, want one naming the variable and the entry", bad, err)
		}
	}
}

// TestFleetMetricsSwitch: FLEET_METRICS=false (the template's default,
// from its Dashboard parameter) writes no fleet lines, and the per-portal
// lines PORTAL_METRICS asks for still; unset, the fleet lines are written.
func TestFleetMetricsSwitch(t *testing.T) {
	for _, tc := range []struct {
		env                string
		wantFleet, wantOne int
	}{
		{"false", 0, 2},
		{"true", 1, 2},
		{"", 1, 2},
	} {
		t.Run(tc.env, func(t *testing.T) {
			f := newFixture(t, nil)
			cfg, err := loadConfig(func(name string) string {
				return map[string]string{"PORTAL_URL": f.url, "SECRET_ID": "s", "TOPIC_ARN": "arn:aws:sns:us-east-1:1:t", "ALLOW_INSECURE_HTTP": "true", "PORTAL_METRICS": "all", "FLEET_METRICS": tc.env}[name]
			})
			if err != nil {
				t.Fatal(err)
			}
			f.h.cfg.FleetMetrics, f.h.cfg.PortalMetrics = cfg.FleetMetrics, cfg.PortalMetrics
			if _, err := f.h.Handle(t.Context(), f.input("healthy", "stale")); err != nil {
				t.Fatal(err)
			}
			fleet, perPortal := strings.Count(f.emf.String(), `"PortalsChecked":`), strings.Count(f.emf.String(), `"Portal":`)
			if fleet != tc.wantFleet || perPortal != tc.wantOne {
				t.Errorf("FLEET_METRICS=%q: %d fleet and %d per-portal lines, want %d and %d:\n%s", tc.env, fleet, perPortal, tc.wantFleet, tc.wantOne, f.emf.String())
			}
		})
	}
	if _, err := loadConfig(func(name string) string {
		return map[string]string{"PORTAL_URL": "https://a.example.com", "SECRET_ID": "s", "TOPIC_ARN": "arn:aws:sns:us-east-1:1:t", "FLEET_METRICS": "sometimes"}[name]
	}); err == nil || !strings.Contains(err.Error(), "FLEET_METRICS") {
		t.Errorf("loadConfig(FLEET_METRICS=sometimes) error = %v, want one naming it", err)
	}
}
