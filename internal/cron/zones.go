package cron

import (
	"sync"
	"time"

	// The allow-list below names zones that must load on every host, including
	// minimal images without /usr/share/zoneinfo. Go still prefers the host's
	// (usually newer) database when one is installed.
	_ "time/tzdata"
)

//go:generate sh gen_zones.sh

// CanonicalZone reports whether name is a canonical IANA time zone name that
// this build can load.
//
// Canonical means: a geographic zone listed in the IANA tables zone1970.tab or
// zone.tab (so the per-country names that phones and browsers send, such as
// Europe/Amsterdam or Europe/Oslo, are accepted even where IANA has since
// merged their rules into another zone), an Etc/ zone that is a Zone and not a
// Link (Etc/UTC, Etc/GMT+5, ...), or "UTC", the contract's default.
//
// Everything else is refused even when Go would load it:
//   - backward-compatibility links: Europe/Kiev (now Europe/Kyiv), US/Eastern,
//     Asia/Calcutta, GMT, GMT+0, UCT, Zulu, ...;
//   - the legacy POSIX-style names that became links in tzdata 2024b: CET,
//     EET, EST, EST5EDT, MST7MDT, ...;
//   - file names that are not zones at all but that LoadLocation would accept
//     on some hosts: "Local", "localtime", "posixrules", "Factory", and the
//     "posix/..." and "right/..." trees.
//
// The list is an allow-list embedded in the binary (zones_list.go, generated
// by gen_zones.sh) rather than a deny-list of links, so a host's odd zoneinfo
// directory cannot widen what is accepted. The cost is that a zone IANA adds
// after the list was generated is refused until the list is regenerated; new
// zones are rare (about one a year) and the generator is one command.
// Matching is exact and case-sensitive, as IANA names are.
func CanonicalZone(name string) bool {
	_, ok := LoadZone(name)
	return ok
}

// LoadZone returns the location of a canonical zone (see CanonicalZone), or
// false. Locations are cached: time.LoadLocation reads and parses a file on
// every call.
func LoadZone(name string) (*time.Location, bool) {
	if _, ok := canonicalZones[name]; !ok {
		return nil, false
	}
	if loc, ok := zoneCache.Load(name); ok {
		return loc.(*time.Location), true
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, false
	}
	zoneCache.Store(name, loc)
	return loc, true
}

var zoneCache sync.Map // name -> *time.Location
