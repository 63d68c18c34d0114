package proxy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/cron"
)

func TestLoadSpecAndFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "pool.txt")
	if err := os.WriteFile(file, []byte(`# exits
FR http://fr:s3cret@10.1.2.3:3128

us	socks5://10.1.2.4
  DE=https://de%40corp:p%2Cw@Proxy.Example:8443/
`), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := Load("GB=http://gb:pw@10.0.0.1:3128, JP=http://10.0.0.2:8080\nIS=http://10.0.0.3", file)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range p.Entries() {
		got = append(got, e.Country+" "+e.Redacted())
	}
	want := []string{"GB http://***@10.0.0.1:3128", "JP http://10.0.0.2:8080", "IS http://10.0.0.3:80",
		"FR http://***@10.1.2.3:3128", "US socks5://10.1.2.4:1080", "DE https://***@proxy.example:8443"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("entries\n got %q\nwant %q", got, want)
	}
	de := p.Entries()[5]
	if pw, _ := de.URL.User.Password(); de.URL.User.Username() != "de@corp" || pw != "p,w" {
		t.Fatalf("percent-encoded credentials: %v", de.URL.User)
	}
	if n := p.Countries()["FR"]; n != 1 || p.Len() != 6 {
		t.Fatalf("countries %v len %d", p.Countries(), p.Len())
	}
}

func TestLoadEmpty(t *testing.T) {
	p, err := Load("  ", "")
	if err != nil || p.Len() != 0 {
		t.Fatalf("%v %d", err, p.Len())
	}
	var nilPool *Pool
	if nilPool.Len() != 0 || nilPool.Entries() != nil {
		t.Fatal("nil pool")
	}
}

// Configuration errors must say what is wrong without echoing credentials.
func TestLoadErrorsNeverShowCredentials(t *testing.T) {
	cases := map[string]string{
		"FR=ftp://u:hunter2@10.0.0.1:21":              "scheme",
		"UK=http://u:hunter2@10.0.0.1:3128":           "GB",
		"ZZ=http://u:hunter2@10.0.0.1:3128":           "ISO 3166",
		"FR=http://u:hun ter2@10.0.0.1:3128":          "not a valid URL",
		"FR=http://u:hunter2@:3128":                   "no host",
		"FR=http://u:hunter2@10.0.0.1:3128/x?hunter2": "no path",
		"FR": "want COUNTRY URL",
		"FR=http://u:hunter2@10.0.0.1:3128,DE=http://u:other@10.0.0.1:3128": "configured twice",
	}
	for spec, want := range cases {
		_, err := Load(spec, "")
		if err == nil {
			t.Errorf("%s: accepted", spec)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %q does not say %q", spec, err, want)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: error leaks the password: %q", spec, err)
		}
	}
}

// The fingerprint leaves the password out (rotating it keeps assignments)
// but tells apart user names on one gateway (one exit IP each).
func TestFingerprint(t *testing.T) {
	p, err := Load("FR=http://a:one@gw:1,FR=http://b:one@gw:1,FR=http://c@gw:1", "")
	if err != nil {
		t.Fatal(err)
	}
	q, err := Load("FR=http://a:two@GW:1", "")
	if err != nil {
		t.Fatal(err)
	}
	es := p.Entries()
	if es[0].Fingerprint == es[1].Fingerprint || es[1].Fingerprint == es[2].Fingerprint {
		t.Fatal("distinct users share a fingerprint")
	}
	if es[0].Fingerprint != q.Entries()[0].Fingerprint {
		t.Fatal("a new password changed the fingerprint")
	}
	if strings.Contains(es[0].Fingerprint, "one") || len(es[0].Fingerprint) != 64 {
		t.Fatalf("fingerprint %q", es[0].Fingerprint)
	}
}

func TestCountryOf(t *testing.T) {
	for zone, want := range map[string]string{
		"Europe/Paris": "FR", "America/New_York": "US", "Asia/Tokyo": "JP", "Europe/London": "GB",
		"Europe/Kyiv": "UA", "Europe/Amsterdam": "NL", "Atlantic/Canary": "ES", "Pacific/Honolulu": "US",
		"UTC": "", "Etc/GMT+5": "",
	} {
		if got := CountryOf(zone); got != want {
			t.Errorf("CountryOf(%s) = %q, want %q", zone, got, want)
		}
	}
}

// Every zone of the table is one the API accepts, and every geographic zone
// the API accepts has a country.
func TestZoneTableMatchesCanonicalZones(t *testing.T) {
	for z := range zoneCountry {
		if !cron.CanonicalZone(z) {
			t.Errorf("%s is in the country table but not a canonical zone", z)
		}
	}
	data, err := os.ReadFile("../schedule/zones_list.go")
	if err != nil {
		t.Skip("schedule's zone list is not readable:", err)
	}
	n := 0
	for _, line := range strings.Split(string(data), "\n") {
		name, ok := strings.CutPrefix(strings.TrimSpace(line), `"`)
		if !ok {
			continue
		}
		name, _, _ = strings.Cut(name, `"`)
		if name == "UTC" || strings.HasPrefix(name, "Etc/") {
			continue
		}
		n++
		if CountryOf(name) == "" {
			t.Errorf("canonical zone %s has no country", name)
		}
	}
	if n < 400 {
		t.Fatalf("read only %d zones from the schedule list", n)
	}
}

func TestFitOrder(t *testing.T) {
	winter := time.Date(2025, 1, 15, 12, 0, 0, 0, time.UTC)
	type c struct {
		zone, country string
		m             Match
	}
	for _, tc := range []c{
		{"Europe/Paris", "FR", MatchCountry}, {"Europe/Paris", "DE", MatchRegion}, {"Europe/Paris", "US", MatchAny},
		{"America/Sao_Paulo", "US", MatchRegion}, {"Asia/Tokyo", "RU", MatchRegion}, {"UTC", "GB", MatchAny},
		{"Atlantic/Canary", "ES", MatchCountry},
	} {
		if m, _ := fit(tc.zone, tc.country, winter); m != tc.m {
			t.Errorf("fit(%s, %s) = %s, want %s", tc.zone, tc.country, m, tc.m)
		}
	}
	// Within a tier, the nearest offset wins.
	_, kr := fit("Asia/Tokyo", "KR", winter)
	_, in := fit("Asia/Tokyo", "IN", winter)
	if kr >= in {
		t.Errorf("Tokyo: KR distance %d, IN %d", kr, in)
	}
	_, is := fit("UTC", "IS", winter)
	_, us := fit("UTC", "US", winter)
	if is != 0 || us <= is {
		t.Errorf("UTC: IS distance %d, US %d", is, us)
	}
}
