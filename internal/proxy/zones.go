package proxy

import (
	"sort"
	"strings"
	"time"

	"github.com/firstmate-oss/firstmate/internal/cron"
)

//go:generate sh gen_countries.sh

// countryZones is zoneCountry inverted: the zones of each country.
var countryZones = func() map[string][]string {
	m := map[string][]string{}
	for z, c := range zoneCountry {
		m[c] = append(m[c], z)
	}
	for _, zs := range m {
		sort.Strings(zs)
	}
	return m
}()

// CountryOf returns the ISO 3166-1 country of a geographic IANA zone
// ("Europe/Paris" → "FR"), or "" for zones of no country (UTC, Etc/GMT+5).
func CountryOf(zone string) string { return zoneCountry[zone] }

// area is the first part of a zone name: Europe, America, Asia, Africa,
// Australia, Pacific, Atlantic, Indian, Antarctica, Arctic (Etc for UTC).
func area(zone string) string {
	if a, _, ok := strings.Cut(zone, "/"); ok {
		return a
	}
	return "Etc"
}

// Match tells how well a proxy's country fits an identity's time zone.
type Match int

// The fallback order, best first.
const (
	// MatchCountry: the proxy is in the zone's country.
	MatchCountry Match = iota
	// MatchRegion: the proxy's country has a zone in the same IANA area
	// (Europe, America, Asia, ...), e.g. a DE proxy for Europe/Paris.
	MatchRegion
	// MatchAny: any other proxy.
	MatchAny
)

func (m Match) String() string {
	switch m {
	case MatchCountry:
		return "country"
	case MatchRegion:
		return "region"
	}
	return "any"
}

// fit ranks a proxy country for an identity zone: the match tier, then the
// distance in minutes between the zone's UTC offset and the nearest offset
// of the country's zones. Lower is better on both. Within a tier the nearest
// time zone wins, so an Asia/Tokyo identity falls back to a KR proxy before
// an IN one, and a UTC identity to a GB proxy before a US one.
func fit(zone, country string, now time.Time) (Match, int) {
	if country == CountryOf(zone) && country != "" {
		return MatchCountry, 0
	}
	zs := countryZones[country]
	m := MatchAny
	a := area(zone)
	for _, z := range zs {
		if area(z) == a {
			m = MatchRegion
			break
		}
	}
	off := offset(zone, now)
	best := 24 * 60
	for _, z := range zs {
		if m == MatchRegion && area(z) != a {
			continue
		}
		d := offset(z, now) - off
		if d < 0 {
			d = -d
		}
		best = min(best, d)
	}
	return m, best
}

// offset is a zone's UTC offset in minutes at now (0 for unknown zones).
func offset(zone string, now time.Time) int {
	loc, ok := cron.LoadZone(zone)
	if !ok {
		return 0
	}
	_, secs := now.In(loc).Zone()
	return secs / 60
}
