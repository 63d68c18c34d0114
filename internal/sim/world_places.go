package sim

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Places are laid out so that "category X in city Y" is a closed form:
// place = city + NCities*(category + NCategories*k).

type Place struct {
	PlaceID     string   `json:"place_id"`
	CID         string   `json:"cid"`
	Name        string   `json:"name"`
	URL         string   `json:"url"`
	Address     string   `json:"formatted_address"`
	Website     string   `json:"website"`
	Phone       string   `json:"international_phone_number"`
	Rating      float64  `json:"rating"`
	Reviews     int      `json:"user_ratings_total"`
	Category    string   `json:"primary_type"`
	Hours       []string `json:"weekday_text"`
	Description string   `json:"editorial_summary"`
	Services    []string `json:"service_options"`
	Extra       string   `json:"about"`
	Lat         float64  `json:"lat"`
	Lng         float64  `json:"lng"`
	Status      string   `json:"business_status"`
	City        string   `json:"city"`
	CountryCode string   `json:"country_code"`
}

func placeURL(name, id string) string {
	return fmt.Sprintf("https://www.google.com/maps/place/%s/data=!4m2!3m1!1s%s", url.PathEscape(strings.ReplaceAll(name, " ", "+")), id)
}

func (w *World) placeCityCat(p int) (int, int) {
	return p % len(cities), (p / len(cities)) % len(placeCategories)
}

func (w *World) place(p int) Place {
	r := newRNG(w.seed, kPlace, uint64(p))
	ci, cat := w.placeCityCat(p)
	c := cities[ci]
	name := pick(r, placeWordsA) + " " + pick(r, placeWordsB)
	if r.chance(50) {
		name += " " + placeCategories[cat]
	}
	id := w.placeID(p)
	pl := Place{PlaceID: id, CID: fmt.Sprintf("0x%x", hashOf(w.seed, kPlace, uint64(p))), Name: name, URL: placeURL(name, id),
		Address: fmt.Sprintf("%d %s, %s%02d %s, %s", 1+r.intn(150), pick(r, streets), c.PostalPrefix, r.intn(100), c.Name, c.Country),
		Phone:   fmt.Sprintf("+%d %d %02d %02d %02d %02d", 1+r.intn(49), 1+r.intn(9), r.intn(100), r.intn(100), r.intn(100), r.intn(100)),
		Rating:  float64(r.between(28, 50)) / 10, Reviews: r.intn(1200), Category: placeCategories[cat],
		Lat: c.Lat + (r.float()-0.5)/20, Lng: c.Lng + (r.float()-0.5)/20, Status: "OPERATIONAL", City: c.Name, CountryCode: c.CountryCode}
	if r.chance(70) {
		pl.Website = fmt.Sprintf("https://www.%s.example.com/", slugify(name))
	}
	open, close := r.between(7, 11), r.between(17, 23)
	for _, d := range []string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"} {
		if d == "Sunday" && r.chance(50) {
			pl.Hours = append(pl.Hours, d+": Closed")
			continue
		}
		pl.Hours = append(pl.Hours, fmt.Sprintf("%s: %d:00 AM – %d:00 PM", d, open, close-12))
	}
	pl.Description = fmt.Sprintf("%s in %s, known for its %s.", placeCategories[cat], c.Name, pick(r, []string{"friendly staff", "cosy atmosphere", "great value", "central location", "quality service"}))
	pl.Services = []string{pick(r, []string{"Dine-in", "In-store shopping", "On-site services"})}
	if r.chance(50) {
		pl.Services = append(pl.Services, pick(r, []string{"Takeaway", "Delivery", "Online appointments", "Curbside pickup"}))
	}
	pl.Extra = pick(r, []string{"Wheelchair accessible entrance", "Accepts credit cards", "Free Wi-Fi", "Good for kids", "LGBTQ+ friendly"})
	switch {
	case r.chance(2):
		pl.Status = "CLOSED_PERMANENTLY"
	case r.chance(3):
		pl.Status = "CLOSED_TEMPORARILY"
	}
	return pl
}

// placesMatching answers a free-text Maps query: a known category and/or city
// narrow the candidates, anything else gets a stable pseudo-random selection.
func (w *World) placesMatching(q string) (count int, at func(int) int) {
	ql := strings.ToLower(q)
	ci, cat := -1, -1
	for i, c := range cities {
		if strings.Contains(ql, strings.ToLower(c.Name)) {
			ci = i
		}
	}
	for i, c := range placeCategories {
		lc := strings.ToLower(c)
		if strings.Contains(ql, lc) || strings.Contains(ql, strings.TrimSuffix(lc, "e")+"s") || (lc == "café" && strings.Contains(ql, "cafe")) {
			cat = i
		}
	}
	nc, nk := len(cities), len(placeCategories)
	perCell := w.NPlaces / (nc * nk)
	switch {
	case ci >= 0 && cat >= 0:
		return min(perCell, maxPlaceResults), func(k int) int { return ci + nc*(cat+nk*k) }
	case ci >= 0:
		return maxPlaceResults, func(k int) int { return ci + nc*(k%nk+nk*(k/nk)) }
	case cat >= 0:
		return maxPlaceResults, func(k int) int { return k%nc + nc*(cat+nk*(k/nc)) }
	}
	if strings.Contains(ql, "nowhere") || strings.TrimSpace(ql) == "" {
		return 0, nil
	}
	pm := newPerm(hashString(ql), w.NPlaces)
	return maxPlaceResults, pm.at
}

type Review struct {
	ID             string  `json:"review_id"`
	URL            string  `json:"review_url"`
	AuthorName     string  `json:"author_name"`
	AuthorPhoto    string  `json:"author_photo"`
	AuthorReviews  int     `json:"author_review_count"`
	Rating         float64 `json:"rating"`
	Text           string  `json:"text"`
	TranslatedText string  `json:"translated_text"`
	Time           int64   `json:"time"`
	RelativeTime   string  `json:"relative_time_description"`
	VisitedIn      string  `json:"visited_in"`
	OwnerAnswer    string  `json:"owner_answer"`
	OwnerAnswerAt  int64   `json:"owner_answer_time"`
	Language       string  `json:"language"`
	Title          string  `json:"title"`
	Photo          string  `json:"photo"`
	AuthorCity     string  `json:"author_city"`
	AuthorURL      string  `json:"author_url"`
}

// review k of any reviewed thing (kind, idx).
func (w *World) review(kind uint64, idx, k int) Review {
	r := newRNG(w.seed, kReview, (kind<<40)^uint64(idx)<<12^uint64(k))
	first, last := pick(r, firstNames), pick(r, lastNames)
	ci := pick(r, cities)
	at := refTime.Add(-time.Duration(k*61+r.intn(60)) * time.Hour)
	rv := Review{
		ID:            fmt.Sprintf("R%s", base62(hashOf(w.seed, kind, uint64(idx), uint64(k))%1e17, 12)),
		AuthorName:    first + " " + string([]rune(last)[0]) + ".",
		AuthorPhoto:   fmt.Sprintf("https://lh3.googleusercontent.com/a/%s=s120-c", base62(hashOf(w.seed, uint64(k), kind)%1e17, 11)),
		AuthorReviews: 1 + r.intn(300),
		Rating:        float64(r.between(1, 5)),
		Text:          pick(r, reviewBodies),
		Time:          at.Unix(),
		RelativeTime:  relTime(at),
		VisitedIn:     at.AddDate(0, 0, -r.intn(20)).Format("2006-01-02"),
		Language:      ci.Lang,
		Title:         pick(r, reviewTitles),
		AuthorCity:    ci.Name + ", " + ci.Country,
	}
	rv.TranslatedText = rv.Text
	if rv.Rating >= 4 && r.chance(30) {
		rv.Rating -= 0.5
	}
	if r.chance(35) {
		rv.OwnerAnswer = pick(r, ownerAnswers)
		rv.OwnerAnswerAt = at.Add(time.Duration(1+r.intn(96)) * time.Hour).Unix()
	}
	if r.chance(20) {
		rv.Photo = fmt.Sprintf("https://media-cdn.tripadvisor.com/media/photo-o/%s.jpg", base62(hashOf(w.seed, uint64(k), kind, 9)%1e15, 9))
	}
	rv.AuthorURL = fmt.Sprintf("https://www.tripadvisor.com/Profile/%s%s", slugify(first), base62(hashOf(w.seed, uint64(k), kind, 3)%1e9, 4))
	return rv
}

func relTime(t time.Time) string {
	d := refTime.Sub(t)
	switch {
	case d < 7*24*time.Hour:
		return fmt.Sprintf("%d days ago", int(d.Hours()/24)+1)
	case d < 60*24*time.Hour:
		return fmt.Sprintf("%d weeks ago", int(d.Hours()/24/7))
	case d < 365*24*time.Hour:
		return fmt.Sprintf("%d months ago", int(d.Hours()/24/30))
	}
	return fmt.Sprintf("%d years ago", int(d.Hours()/24/365))
}

// ---- TripAdvisor -------------------------------------------------------------

type Property struct {
	ID              int64              `json:"location_id"`
	GeoID           int                `json:"geo_id"`
	Kind            string             `json:"category"`
	Name            string             `json:"name"`
	URL             string             `json:"web_url"`
	Rating          float64            `json:"rating"`
	Ranking         int                `json:"ranking_position"`
	RankingOutOf    int                `json:"ranking_out_of"`
	PriceLevel      string             `json:"price_level"`
	NumReviews      int                `json:"num_reviews"`
	Awards          []string           `json:"awards"`
	Subratings      map[string]float64 `json:"subratings"`
	Email           string             `json:"email"`
	Website         string             `json:"website"`
	Address         string             `json:"address"`
	Description     string             `json:"description"`
	Phone           string             `json:"phone"`
	Amenities       []string           `json:"amenities"`
	MoreAmenities   []string           `json:"more_amenities"`
	Stars           float64            `json:"hotel_class"`
	Cuisine         []string           `json:"cuisine"`
	Features        []string           `json:"features"`
	Hours           map[string][]Slot  `json:"hours"`
	Photos          []string           `json:"photos"`
	City            string             `json:"city"`
	Country         string             `json:"country"`
	ReviewsURL      string             `json:"reviews_url"`
	ReviewsLanguage string             `json:"-"`
}

type Slot struct {
	Open  string `json:"open"`
	Close string `json:"close"`
}

func taPropertyURL(kind string, geo int, id int64, name, city string) string {
	return fmt.Sprintf("https://www.tripadvisor.com/%s_Review-g%d-d%d-Reviews-%s-%s.html", kind, geo, id, strings.ReplaceAll(slugify(name), "-", "_"), strings.ReplaceAll(city, " ", "_"))
}

// Hotels and restaurants of city c are c, c+NCities, c+2*NCities, ...
func (w *World) hotel(h int) Property     { return w.property("Hotel", h) }
func (w *World) resto(h int) Property     { return w.property("Restaurant", h) }
func (w *World) cityOfProperty(h int) int { return h % len(cities) }

func (w *World) property(kind string, h int) Property {
	k := kHotel
	id := w.hotelID(h)
	perCity := w.NHotels / len(cities)
	if kind == "Restaurant" {
		k, id, perCity = kRestaurant, w.restaurantID(h), w.NRestaurants/len(cities)
	}
	r := newRNG(w.seed, k, uint64(h))
	c := cities[w.cityOfProperty(h)]
	var name string
	if kind == "Hotel" {
		name = pick(r, []string{"Hotel", "Grand Hotel", "The", "Hôtel", "Residence", "Inn"}) + " " + pick(r, placeWordsB) + " " + c.Name
	} else {
		name = pick(r, placeWordsA) + " " + pick(r, placeWordsB)
	}
	p := Property{ID: id, GeoID: c.GeoID, Kind: strings.ToLower(kind), Name: name, URL: taPropertyURL(kind, c.GeoID, id, name, c.Name),
		Rating: float64(r.between(5, 10)) / 2, Ranking: 1 + h/len(cities), RankingOutOf: perCity, PriceLevel: pick(r, []string{"$", "$$ - $$$", "$$$$"}),
		NumReviews: r.intn(2500), Awards: []string{}, City: c.Name, Country: c.Country,
		Email:       fmt.Sprintf("contact@%s.example.com", strings.ReplaceAll(slugify(name), "-", "")),
		Website:     fmt.Sprintf("https://www.%s.example.com", strings.ReplaceAll(slugify(name), "-", "")),
		Address:     fmt.Sprintf("%d %s, %s %s, %s", 1+r.intn(150), pick(r, streets), c.PostalPrefix+"01", c.Name, c.Country),
		Description: fmt.Sprintf("%s welcomes guests in the heart of %s.", name, c.Name),
		Phone:       fmt.Sprintf("+%d %d %02d %02d %02d %02d", 1+r.intn(49), 1+r.intn(9), r.intn(100), r.intn(100), r.intn(100), r.intn(100)),
		Amenities:   []string{}, MoreAmenities: []string{}, Cuisine: []string{}, Features: []string{}, Hours: map[string][]Slot{}}
	p.ReviewsURL = p.URL
	if r.chance(40) {
		p.Awards = append(p.Awards, pick(r, awards))
	}
	sub := func() float64 { return float64(r.between(6, 10)) / 2 }
	for i := 0; i < 3; i++ {
		p.Photos = append(p.Photos, fmt.Sprintf("https://media-cdn.tripadvisor.com/media/photo-s/%s.jpg", base62(hashOf(w.seed, k, uint64(h), uint64(i))%1e15, 9)))
	}
	if kind == "Hotel" {
		p.Subratings = map[string]float64{"cleanliness": sub(), "location": sub(), "rooms": sub(), "service": sub(), "sleep_quality": sub(), "value": sub()}
		p.Stars = float64(r.between(2, 5))
		for _, a := range hotelAmenities {
			if r.chance(50) {
				p.Amenities = append(p.Amenities, a)
			} else if r.chance(30) {
				p.MoreAmenities = append(p.MoreAmenities, a)
			}
		}
	} else {
		p.Subratings = map[string]float64{"atmosphere": sub(), "food": sub(), "service": sub(), "value": sub()}
		p.Cuisine = []string{pick(r, cuisines)}
		if r.chance(50) {
			p.Cuisine = append(p.Cuisine, pick(r, cuisines))
		}
		p.Features = []string{"Reservations", pick(r, []string{"Outdoor Seating", "Wheelchair Accessible", "Serves Alcohol", "Table Service"})}
		open, close := r.between(11, 12), r.between(21, 23)
		for _, d := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
			p.Hours[d] = []Slot{{Open: fmt.Sprintf("%02d:00:00", open), Close: "14:30:00"}, {Open: "19:00:00", Close: fmt.Sprintf("%02d:00:00", close)}}
		}
	}
	return p
}

// ---- TheFork ------------------------------------------------------------------

type ForkRestaurant struct {
	ID         int64   `json:"id"`
	Name       string  `json:"name"`
	URL        string  `json:"url"`
	City       string  `json:"city"`
	AvgRating  float64 `json:"avgRate"`
	NumReviews int     `json:"reviewCount"`
}

func forkURL(name string, id int64) string {
	return fmt.Sprintf("https://www.thefork.com/restaurant/%s-r%d", slugify(name), id)
}

func (w *World) fork(f int) ForkRestaurant {
	r := newRNG(w.seed, kFork, uint64(f))
	name := pick(r, placeWordsA) + " " + pick(r, placeWordsB)
	id := w.forkID(f)
	return ForkRestaurant{ID: id, Name: name, URL: forkURL(name, id), City: cities[f%len(cities)].Name,
		AvgRating: float64(r.between(60, 98)) / 10, NumReviews: r.intn(900)}
}
