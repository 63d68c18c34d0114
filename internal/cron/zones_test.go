package cron

import (
	"testing"
	"time"
)

func TestCanonicalZone(t *testing.T) {
	cases := []struct {
		name string
		want bool
	}{
		{"Europe/Kyiv", true},
		{"Europe/Paris", true},
		{"America/New_York", true},
		{"Asia/Tokyo", true},
		{"Asia/Kolkata", true},
		{"UTC", true},
		{"Etc/UTC", true},
		{"Etc/GMT+5", true},
		// Per-country names kept in zone.tab although IANA merged their rules.
		{"Europe/Amsterdam", true},
		{"Europe/Oslo", true},
		{"Arctic/Longyearbyen", true},
		// Backward-compatibility links.
		{"Europe/Kiev", false},
		{"US/Eastern", false},
		{"Asia/Calcutta", false},
		{"America/Buenos_Aires", false},
		{"GMT", false},
		{"GMT+0", false},
		{"Etc/GMT+0", false},
		{"UCT", false},
		{"Zulu", false},
		{"Etc/Universal", false},
		// Legacy POSIX-style names.
		{"CET", false},
		{"EST", false},
		{"EST5EDT", false},
		// Not zones, though LoadLocation accepts some of them.
		{"", false},
		{"Local", false},
		{"localtime", false},
		{"posixrules", false},
		{"Factory", false},
		{"posix/Europe/Paris", false},
		{"right/Europe/Paris", false},
		{"europe/paris", false},
		{"Europe/Paris ", false},
		{"../Europe/Paris", false},
		{"Mars/Olympus_Mons", false},
	}
	for _, c := range cases {
		if got := CanonicalZone(c.name); got != c.want {
			t.Errorf("CanonicalZone(%q) = %v, want %v", c.name, got, c.want)
		}
	}
}

// Every name on the allow-list must load, or CanonicalZone would answer
// differently from one host to another.
func TestEveryListedZoneLoads(t *testing.T) {
	if len(canonicalZones) < 400 {
		t.Fatalf("allow-list has only %d names", len(canonicalZones))
	}
	for name := range canonicalZones {
		if _, err := time.LoadLocation(name); err != nil {
			t.Errorf("%s (tzdata %s) does not load: %v", name, tzdataVersion, err)
		}
		if !CanonicalZone(name) {
			t.Errorf("CanonicalZone(%q) = false", name)
		}
	}
}

func TestLoadZoneCaches(t *testing.T) {
	a, ok := LoadZone("Europe/Paris")
	b, ok2 := LoadZone("Europe/Paris")
	if !ok || !ok2 || a != b || a.String() != "Europe/Paris" {
		t.Fatalf("LoadZone: %v %v %v %v", a, b, ok, ok2)
	}
}
