package tripadvisor

import (
	"bytes"
	"encoding/json"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // opening hours need the location's zone on any host
)

// flexString reads a JSON string or number as text: the documentation types
// IDs, ratings and counts as numbers, the API sends them as strings.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*f = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(strings.TrimSpace(s))
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			// Neither a string nor a number (an object, a boolean): no value.
			*f = ""
			return nil
		}
		*f = flexString(n.String())
	}
	return nil
}

func (f flexString) String() string { return string(f) }

func (f flexString) float() (float64, bool) {
	v, err := strconv.ParseFloat(strings.ReplaceAll(string(f), ",", ""), 64)
	return v, err == nil
}

func (f flexString) int() (int64, bool) {
	v, ok := f.float()
	if !ok || v != float64(int64(v)) {
		return 0, false
	}
	return int64(v), true
}

// location is a Location Details answer, as far as the driver reads it.
type location struct {
	ID          flexString `json:"location_id"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	WebURL      string     `json:"web_url"`
	AddressObj  *struct {
		AddressString string `json:"address_string"`
	} `json:"address_obj"`
	Ancestors []struct {
		ID flexString `json:"location_id"`
	} `json:"ancestors"`
	Latitude    flexString `json:"latitude"`
	Longitude   flexString `json:"longitude"`
	Timezone    string     `json:"timezone"`
	Email       string     `json:"email"`
	Phone       string     `json:"phone"`
	Website     string     `json:"website"`
	RankingData *struct {
		GeoLocationID flexString `json:"geo_location_id"`
		Ranking       flexString `json:"ranking"`
	} `json:"ranking_data"`
	Rating     flexString `json:"rating"`
	NumReviews flexString `json:"num_reviews"`
	Subratings map[string]struct {
		Name          string     `json:"name"`
		LocalizedName string     `json:"localized_name"`
		Value         flexString `json:"value"`
	} `json:"subratings"`
	PriceLevel string `json:"price_level"`
	Hours      *struct {
		Periods []struct {
			Open  *hoursPoint `json:"open"`
			Close *hoursPoint `json:"close"`
		} `json:"periods"`
	} `json:"hours"`
	Amenities []string `json:"amenities"`
	Features  []string `json:"features"`
	Cuisine   []struct {
		Name          string `json:"name"`
		LocalizedName string `json:"localized_name"`
	} `json:"cuisine"`
	Awards []struct {
		AwardType   string     `json:"award_type"`
		Year        flexString `json:"year"`
		DisplayName string     `json:"display_name"`
	} `json:"awards"`
}

type hoursPoint struct {
	Day  flexString `json:"day"`
	Time string     `json:"time"`
}

// inGeo reports whether the location lies in the geo: one of its ancestors,
// or the geo of its ranking.
func (l location) inGeo(geo string) bool {
	for _, a := range l.Ancestors {
		if a.ID.String() == geo {
			return true
		}
	}
	return l.RankingData != nil && l.RankingData.GeoLocationID.String() == geo
}

func set(m map[string]any, k, v string) {
	if v = strings.TrimSpace(v); v != "" {
		m[k] = v
	}
}

func strList(ss []string) []any {
	out := make([]any, 0, len(ss))
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// common are the fields hotels and restaurants share.
func common(l location) map[string]any {
	m := map[string]any{}
	set(m, "name", l.Name)
	set(m, "description", l.Description)
	set(m, "phone", l.Phone)
	set(m, "price_range", l.PriceLevel)
	if l.AddressObj != nil {
		set(m, "address", l.AddressObj.AddressString)
	}
	if u := cleanURL(l.WebURL); u != "" {
		m["property_url"] = u
	}
	if u := absURL(l.Website); u != "" {
		m["website"] = u
	}
	if a, err := mail.ParseAddress(strings.TrimSpace(l.Email)); err == nil && a.Name == "" && a.Address == strings.TrimSpace(l.Email) {
		m["email"] = a.Address
	}
	if v, ok := l.Rating.float(); ok {
		m["grade"] = v
	}
	if n, ok := l.NumReviews.int(); ok {
		m["number_reviews"] = n
	}
	if l.Awards != nil {
		awards := make([]any, 0, len(l.Awards))
		for _, a := range l.Awards {
			name := strings.TrimSpace(a.DisplayName)
			if name == "" {
				name = strings.TrimSpace(a.AwardType + " " + a.Year.String())
			}
			if name != "" {
				awards = append(awards, name)
			}
		}
		m["awards"] = awards
	}
	return m
}

// absURL keeps an absolute http(s) URL, query included.
func absURL(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ""
	}
	return u.String()
}

// Sub-rating names of the API, and the reference's keys for them.
var hotelSubratings = map[string]string{"rate_cleanliness": "cleanliness", "rate_location": "location", "rate_room": "rooms",
	"rate_service": "service", "rate_sleep": "sleep_quality", "rate_value": "value"}
var restaurantSubratings = map[string]string{"rate_atmosphere": "atmosphere", "rate_food": "food", "rate_service": "service", "rate_value": "value"}

// subratings maps the API's sub-ratings onto the reference's keys (by the
// API's name, else its English label); asNumber follows the reference's
// type for the action.
func subratings(l location, names map[string]string, asNumber bool) (map[string]any, bool) {
	if l.Subratings == nil {
		return nil, false
	}
	known := map[string]bool{}
	for _, k := range names {
		known[k] = true
	}
	out := map[string]any{}
	for _, s := range l.Subratings {
		key, ok := names[s.Name]
		if !ok {
			key = strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s.LocalizedName)), " ", "_")
			if !known[key] {
				continue
			}
		}
		v, isNum := s.Value.float()
		switch {
		case !isNum:
		case asNumber:
			out[key] = v
		default:
			out[key] = s.Value.String()
		}
	}
	return out, true
}

func hotelOutput(l location) map[string]any {
	m := common(l)
	if l.RankingData != nil {
		if v, ok := l.RankingData.Ranking.float(); ok {
			m["ranking"] = v
		}
	}
	if l.Amenities != nil {
		m["amenities"] = strList(l.Amenities)
	}
	if b, ok := subratings(l, hotelSubratings, false); ok {
		m["breakdown_grade"] = b
	}
	return m
}

func restaurantOutput(l location, now time.Time) map[string]any {
	m := common(l)
	if l.Cuisine != nil {
		cats := make([]any, 0, len(l.Cuisine))
		for _, c := range l.Cuisine {
			if n := strings.TrimSpace(firstNonEmpty(c.LocalizedName, c.Name)); n != "" {
				cats = append(cats, n)
			}
		}
		m["categories"] = cats
	}
	if l.Features != nil {
		m["details"] = strList(l.Features)
	}
	if b, ok := subratings(l, restaurantSubratings, true); ok {
		m["breakdown_grade"] = b
	}
	if h, ok := mondayHours(l, now); ok {
		m["open_hours"] = map[string]any{"mon": h}
	}
	return m
}

var hhmmRe = regexp.MustCompile(`^([01][0-9]|2[0-3]):?([0-5][0-9])$`)

// mondayHours are the restaurant's Monday periods as RFC 3339 times at its
// UTC offset on the coming Monday (the reference's "time" format needs an
// offset; TripAdvisor gives local times and a time zone).
func mondayHours(l location, now time.Time) ([]any, bool) {
	if l.Hours == nil || l.Hours.Periods == nil || l.Timezone == "" {
		return nil, false
	}
	zone, err := time.LoadLocation(l.Timezone)
	if err != nil {
		return nil, false
	}
	local := now.In(zone)
	monday := time.Date(local.Year(), local.Month(), local.Day()+(int(time.Monday)-int(local.Weekday())+7)%7, 0, 0, 0, 0, zone)
	at := func(p *hoursPoint) (string, bool) {
		if p == nil {
			return "", false
		}
		d, ok := p.Day.int()
		m := hhmmRe.FindStringSubmatch(strings.TrimSpace(p.Time))
		if !ok || d < 0 || d > 6 || m == nil {
			return "", false
		}
		h, _ := strconv.Atoi(m[1])
		mi, _ := strconv.Atoi(m[2])
		days := (int(d) - int(time.Monday) + 7) % 7
		t := time.Date(monday.Year(), monday.Month(), monday.Day()+days, h, mi, 0, 0, zone)
		return t.Format("15:04:05Z07:00"), true
	}
	out := []any{}
	for _, p := range l.Hours.Periods {
		if p.Open == nil || p.Open.Day.String() != "1" {
			continue
		}
		open, ok1 := at(p.Open)
		close, ok2 := at(p.Close)
		if !ok1 || !ok2 {
			continue
		}
		out = append(out, map[string]any{"open_time": open, "close_time": close})
	}
	return out, true
}

func searchOutput(l location, urlField string) map[string]any {
	m := map[string]any{"property_id": l.ID.String()}
	set(m, "name", l.Name)
	if u := cleanURL(l.WebURL); u != "" {
		m[urlField] = u
	}
	if v, ok := l.Rating.float(); ok {
		m["rating"] = v
	}
	if n, ok := l.NumReviews.int(); ok {
		m["review_count"] = n
	}
	return m
}

// review is one Location Reviews item.
type review struct {
	ID            flexString `json:"id"`
	Lang          string     `json:"lang"`
	PublishedDate string     `json:"published_date"`
	Rating        flexString `json:"rating"`
	URL           string     `json:"url"`
	Text          string     `json:"text"`
	Title         string     `json:"title"`
	TravelDate    string     `json:"travel_date"`
	OwnerResponse *struct {
		Text string `json:"text"`
	} `json:"owner_response"`
	User *struct {
		Username string         `json:"username"`
		Avatar   map[string]any `json:"avatar"`
	} `json:"user"`
}

var dateRe = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)

// day reads a published date in the forms TripAdvisor uses.
func day(s string) string {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05-0700", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Format("2006-01-02")
		}
	}
	return ""
}

func reviewOutput(r review, property, propertyURL string) map[string]any {
	m := map[string]any{}
	set(m, "property", property)
	if u := cleanURL(propertyURL); u != "" {
		m["tripadvisor_reviews_url"] = u
	}
	if id := r.ID.String(); id != "" {
		m["tripadvisor_reviews_id"] = id
		if n, ok := r.ID.int(); ok {
			m["tripadvisor_review_id"] = n
		}
	}
	if u := cleanURL(r.URL); u != "" {
		m["tripadvisor_review_url"] = u
	}
	set(m, "review_title", r.Title)
	set(m, "review_comment", r.Text)
	if v, ok := r.Rating.float(); ok {
		m["review_rating"] = v
	}
	set(m, "review_date", day(r.PublishedDate))
	if d := strings.TrimSpace(r.TravelDate); dateRe.MatchString(d) && day(d) == d {
		m["experience_date"] = d
	}
	if r.OwnerResponse != nil {
		set(m, "review_response", r.OwnerResponse.Text)
	}
	if u := r.User; u != nil {
		set(m, "reviewer_name", u.Username)
		for _, size := range []string{"large", "original", "medium", "small", "thumbnail"} {
			if s, _ := u.Avatar[size].(string); absURL(s) != "" {
				m["reviewer_picture"] = absURL(s)
				break
			}
		}
	}
	return m
}
