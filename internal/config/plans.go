package config

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
)

// Plan is what a workspace pays for. Plans are configuration: the defaults
// below can be replaced or extended from a JSON file (FIRSTMATE_PLANS_FILE).
type Plan struct {
	Name string `json:"name"`
	// CreditsPerPeriod is granted at the start of every monthly period.
	CreditsPerPeriod int64 `json:"credits_per_period"`
	// Identities is the number of identity licences.
	Identities int `json:"identities"`
	// RatePerSecond and RatePerMinute bound each API route group of a
	// workspace. Zero means no API rate limit.
	RatePerSecond int `json:"rate_per_second"`
	RatePerMinute int `json:"rate_per_minute"`
	// ConcurrentRuns caps async runs executing at once; more wait QUEUED.
	ConcurrentRuns int `json:"concurrent_runs"`
}

// Unlimited reports whether the plan skips the API rate limit.
func (p Plan) Unlimited() bool { return p.RatePerSecond == 0 && p.RatePerMinute == 0 }

// DefaultPlans follow the vendor's public tiers, plus `developer` (generous,
// for local use) and `unlimited` (no API rate limit, for operators).
func DefaultPlans() map[string]Plan {
	plans := []Plan{
		{Name: "trial", CreditsPerPeriod: 1_000, Identities: 5, RatePerSecond: 1, RatePerMinute: 60, ConcurrentRuns: 2},
		{Name: "starter", CreditsPerPeriod: 10_000, Identities: 10, RatePerSecond: 5, RatePerMinute: 300, ConcurrentRuns: 5},
		{Name: "growth", CreditsPerPeriod: 50_000, Identities: 50, RatePerSecond: 10, RatePerMinute: 600, ConcurrentRuns: 10},
		{Name: "scale", CreditsPerPeriod: 200_000, Identities: 250, RatePerSecond: 25, RatePerMinute: 1_500, ConcurrentRuns: 25},
		{Name: "enterprise", CreditsPerPeriod: 1_000_000, Identities: 1_000, RatePerSecond: 50, RatePerMinute: 3_000, ConcurrentRuns: 50},
		{Name: "developer", CreditsPerPeriod: 1_000_000, Identities: 1_000, RatePerSecond: 200, RatePerMinute: 12_000, ConcurrentRuns: 10},
		{Name: "unlimited", CreditsPerPeriod: 1_000_000_000, Identities: 1_000_000, ConcurrentRuns: 1_000},
	}
	m := make(map[string]Plan, len(plans))
	for _, p := range plans {
		m[p.Name] = p
	}
	return m
}

// LoadPlans returns the default plans, overlaid with the plans of a JSON file
// (an array of Plan objects) when path is not empty.
func LoadPlans(path string) (map[string]Plan, error) {
	plans := DefaultPlans()
	if path == "" {
		return plans, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("plans file: %w", err)
	}
	var extra []Plan
	if err := json.Unmarshal(data, &extra); err != nil {
		return nil, fmt.Errorf("plans file %s: %w", path, err)
	}
	for _, p := range extra {
		if p.Name == "" || p.CreditsPerPeriod < 0 || p.Identities < 0 || p.ConcurrentRuns < 1 {
			return nil, fmt.Errorf("plans file %s: plan %q is incomplete", path, p.Name)
		}
		plans[p.Name] = p
	}
	return plans, nil
}

// PlanNames lists plan names, sorted.
func PlanNames(plans map[string]Plan) []string {
	names := make([]string, 0, len(plans))
	for n := range plans {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
