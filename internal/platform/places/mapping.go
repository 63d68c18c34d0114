package places

import (
	"fmt"
	"strings"
	"time"
)

// The Place resource, as far as the driver reads it. Pointers tell "Google
// sent nothing" from a zero value: a field Google does not send is left out
// of the output, never filled with a made-up value.
type localized struct {
	Text         string `json:"text"`
	LanguageCode string `json:"languageCode"`
}

type gPlace struct {
	ID               string     `json:"id"`
	DisplayName      *localized `json:"displayName"`
	FormattedAddress string     `json:"formattedAddress"`
	Location         *struct {
		Latitude  float64 `json:"latitude"`
		Longitude float64 `json:"longitude"`
	} `json:"location"`
	Rating                   *float64   `json:"rating"`
	UserRatingCount          *int64     `json:"userRatingCount"`
	WebsiteURI               string     `json:"websiteUri"`
	InternationalPhoneNumber string     `json:"internationalPhoneNumber"`
	NationalPhoneNumber      string     `json:"nationalPhoneNumber"`
	PrimaryType              string     `json:"primaryType"`
	PrimaryTypeDisplayName   *localized `json:"primaryTypeDisplayName"`
	RegularOpeningHours      *struct {
		WeekdayDescriptions []string `json:"weekdayDescriptions"`
	} `json:"regularOpeningHours"`
	BusinessStatus    string     `json:"businessStatus"`
	EditorialSummary  *localized `json:"editorialSummary"`
	DineIn            *bool      `json:"dineIn"`
	Takeout           *bool      `json:"takeout"`
	Delivery          *bool      `json:"delivery"`
	CurbsidePickup    *bool      `json:"curbsidePickup"`
	Reservable        *bool      `json:"reservable"`
	AddressComponents []struct {
		LongText string   `json:"longText"`
		Types    []string `json:"types"`
	} `json:"addressComponents"`
	Reviews []gReview `json:"reviews"`
}

type gReview struct {
	Name              string     `json:"name"`
	Text              *localized `json:"text"`
	OriginalText      *localized `json:"originalText"`
	Rating            *float64   `json:"rating"`
	AuthorAttribution *struct {
		DisplayName string `json:"displayName"`
		URI         string `json:"uri"`
		PhotoURI    string `json:"photoUri"`
	} `json:"authorAttribution"`
	PublishTime   string `json:"publishTime"`
	GoogleMapsURI string `json:"googleMapsUri"`
	VisitDate     *struct {
		Year  int `json:"year"`
		Month int `json:"month"`
	} `json:"visitDate"`
}

// set puts v under k unless it is empty.
func set(m map[string]any, k, v string) {
	if v = strings.TrimSpace(v); v != "" {
		m[k] = v
	}
}

func (l *localized) text() string {
	if l == nil {
		return ""
	}
	return l.Text
}

// serviceLabels name the service options in the words Google Maps shows.
var serviceLabels = []struct {
	label string
	get   func(p gPlace) *bool
}{
	{"Dine-in", func(p gPlace) *bool { return p.DineIn }},
	{"Takeout", func(p gPlace) *bool { return p.Takeout }},
	{"Delivery", func(p gPlace) *bool { return p.Delivery }},
	{"Curbside pickup", func(p gPlace) *bool { return p.CurbsidePickup }},
	{"Reservations", func(p gPlace) *bool { return p.Reservable }},
}

// placeOutput maps a place onto googlemaps-extract-place's output fields.
func placeOutput(p gPlace) map[string]any {
	m := map[string]any{"google_maps_place_id": p.ID, "google_maps_place_url": PlaceURL(p.ID)}
	set(m, "place_name", p.DisplayName.text())
	set(m, "address", p.FormattedAddress)
	set(m, "website", p.WebsiteURI)
	set(m, "phone", firstNonEmpty(p.InternationalPhoneNumber, p.NationalPhoneNumber))
	set(m, "category", firstNonEmpty(p.PrimaryTypeDisplayName.text(), p.PrimaryType))
	set(m, "description", p.EditorialSummary.text())
	if p.Rating != nil {
		// The reference types this rating as a string.
		m["rating"] = fmtFloat(*p.Rating)
	}
	if p.UserRatingCount != nil {
		m["number_reviews"] = *p.UserRatingCount
	}
	if p.Location != nil {
		m["coordinates_latitude"] = fmtFloat(p.Location.Latitude)
		m["coordinates_longitude"] = fmtFloat(p.Location.Longitude)
	}
	if p.RegularOpeningHours != nil && len(p.RegularOpeningHours.WeekdayDescriptions) > 0 {
		hours := make([]any, 0, len(p.RegularOpeningHours.WeekdayDescriptions))
		for _, d := range p.RegularOpeningHours.WeekdayDescriptions {
			hours = append(hours, d)
		}
		m["opening_hours"] = hours
	}
	var services []any
	known := false
	for _, s := range serviceLabels {
		if v := s.get(p); v != nil {
			known = true
			if *v {
				services = append(services, s.label)
			}
		}
	}
	if known {
		if services == nil {
			services = []any{}
		}
		m["services_available"] = services
	}
	if p.BusinessStatus != "" && p.BusinessStatus != "BUSINESS_STATUS_UNSPECIFIED" {
		m["closed_temporarily"] = p.BusinessStatus == "CLOSED_TEMPORARILY"
		m["closed_permanently"] = p.BusinessStatus == "CLOSED_PERMANENTLY"
	}
	return m
}

// city is the locality of a place's address, when Google gives one.
func city(p gPlace) string {
	for _, want := range []string{"locality", "postal_town", "administrative_area_level_3"} {
		for _, c := range p.AddressComponents {
			for _, t := range c.Types {
				if t == want {
					return c.LongText
				}
			}
		}
	}
	return ""
}

// reviewOutputs maps a place's reviews onto googlemaps-extract-reviews'
// output fields.
func reviewOutputs(p gPlace) []map[string]any {
	out := make([]map[string]any, 0, len(p.Reviews))
	place := p.DisplayName.text()
	town := city(p)
	for _, r := range p.Reviews {
		m := map[string]any{"source": "google_maps", "google_maps_place_url": PlaceURL(p.ID)}
		set(m, "place_name", place)
		set(m, "city", town)
		if i := strings.LastIndex(r.Name, "/reviews/"); i >= 0 {
			set(m, "google_maps_review_id", r.Name[i+len("/reviews/"):])
		}
		if strings.HasPrefix(r.GoogleMapsURI, "https://") || strings.HasPrefix(r.GoogleMapsURI, "http://") {
			m["google_maps_review_url"] = r.GoogleMapsURI
		}
		if a := r.AuthorAttribution; a != nil {
			set(m, "author_name", a.DisplayName)
			set(m, "author_img", a.PhotoURI)
		}
		if r.Rating != nil {
			m["grade"] = *r.Rating
		}
		if t, err := time.Parse(time.RFC3339Nano, r.PublishTime); err == nil {
			m["review_date"] = t.UTC().Format(time.RFC3339)
			m["standard_review_date"] = t.UTC().Format(time.RFC3339)
		}
		if v := r.VisitDate; v != nil && v.Year > 0 && v.Month >= 1 && v.Month <= 12 {
			m["experience_date"] = fmt.Sprintf("%04d-%02d", v.Year, v.Month)
		}
		// content is what the author wrote; translated_content is Google's
		// translation, only when it is one.
		orig, shown := r.OriginalText, r.Text
		switch {
		case orig != nil && orig.Text != "":
			set(m, "content", orig.Text)
			set(m, "review_language", orig.LanguageCode)
			if shown != nil && shown.Text != "" && shown.LanguageCode != orig.LanguageCode {
				set(m, "translated_content", shown.Text)
			}
		case shown != nil:
			set(m, "content", shown.Text)
			set(m, "review_language", shown.LanguageCode)
		}
		out = append(out, m)
	}
	return out
}
