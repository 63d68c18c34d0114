package tripadvisortest

import (
	"fmt"
	"strings"
)

// IDs of the world's notable locations.
const (
	GeoParis    = "187147"
	GeoLyon     = "187265"
	GeoLasVegas = "45963"
	GeoFrance   = "187070"

	// Hotel Lumière, Paris: every field; 8 English and 2 French reviews.
	HotelLumiere = "1234"
	// Hôtel Discret, Paris: a rating and little else.
	HotelDiscret = "1240"
	// Paris Las Vegas: a hotel named Paris, in Las Vegas.
	ParisLasVegas = "91703"
	// Chez Marcel, Paris: every field, opening hours.
	ChezMarcel = "555"
	// Louvre Museum, Paris: an attraction with reviews.
	Louvre = "188757"
)

// ParisHotels and ParisRestaurants are how many of each Paris has.
const (
	ParisHotels      = 6
	ParisRestaurants = 14
)

func ancestors(ids ...string) []any {
	names := map[string][2]string{
		GeoParis: {"City", "Paris"}, "187144": {"Region", "Ile-de-France"}, GeoFrance: {"Country", "France"},
		GeoLyon: {"City", "Lyon"}, "187261": {"Region", "Auvergne-Rhone-Alpes"},
		GeoLasVegas: {"City", "Las Vegas"}, "28949": {"State", "Nevada"}, "191": {"Country", "United States"},
	}
	out := make([]any, 0, len(ids))
	for _, id := range ids {
		n := names[id]
		out = append(out, map[string]any{"level": n[0], "name": n[1], "location_id": id})
	}
	return out
}

func address(street, city, postal, country string) map[string]any {
	return map[string]any{"street1": street, "street2": "", "city": city, "country": country, "postalcode": postal,
		"address_string": fmt.Sprintf("%s, %s %s %s", street, postal, city, country)}
}

func slug(s string) string {
	return strings.NewReplacer(" ", "_", "'", "", "è", "e", "ô", "o").Replace(s)
}

func subrating(name, label, value string) map[string]any {
	return map[string]any{"name": name, "localized_name": label, "value": value,
		"rating_image_url": "https://www.tripadvisor.com/img/cdsi/img2/ratings/traveler/ss" + value + ".svg"}
}

func geo(id, name string, lat, lng string, anc ...string) *Location {
	return &Location{Category: "geos", Details: map[string]any{
		"location_id": id, "name": name, "latitude": lat, "longitude": lng,
		"web_url":   fmt.Sprintf("https://www.tripadvisor.com/Tourism-g%s-%s-Vacations.html?m=66827", id, slug(name)),
		"ancestors": ancestors(anc...), "timezone": "Europe/Paris",
		"address_obj": map[string]any{"address_string": name},
	}}
}

func hotel(id, geoID, name, city string, lat, lng float64, rating, reviews string) map[string]any {
	return map[string]any{
		"location_id": id, "name": name,
		"web_url":  fmt.Sprintf("https://www.tripadvisor.com/Hotel_Review-g%s-d%s-Reviews-%s-%s.html?m=66827", geoID, id, slug(name), slug(city)),
		"latitude": fmt.Sprint(lat), "longitude": fmt.Sprint(lng),
		"rating": rating, "num_reviews": reviews,
		"category": map[string]any{"name": "hotel", "localized_name": "Hotel"},
	}
}

func restaurant(id, geoID, name, city string, lat, lng float64, rating, reviews string) map[string]any {
	m := hotel(id, geoID, name, city, lat, lng, rating, reviews)
	m["web_url"] = strings.Replace(m["web_url"].(string), "Hotel_Review", "Restaurant_Review", 1)
	m["category"] = map[string]any{"name": "restaurant", "localized_name": "Restaurant"}
	return m
}

func taReview(loc string, id int, lang, published, travel, title, text string, rating int, owner string) map[string]any {
	r := map[string]any{
		"id": id, "lang": lang, "location_id": loc, "published_date": published, "rating": rating,
		"helpful_votes": 1, "url": fmt.Sprintf("https://www.tripadvisor.com/ShowUserReviews-g%s-d%s-r%d-Reviews.html?m=66827", GeoParis, loc, id),
		"trip_type": "Couples", "travel_date": travel, "text": text, "title": title, "is_machine_translated": false,
		"user": map[string]any{"username": fmt.Sprintf("traveller%d", id), "user_location": map[string]any{"name": "London, United Kingdom", "id": "186338"},
			"review_count": 12, "reviewer_badge": "Contributor",
			"avatar": map[string]any{"thumbnail": fmt.Sprintf("https://media-cdn.tripadvisor.com/media/photo-t/avatar%d.jpg", id),
				"small": fmt.Sprintf("https://media-cdn.tripadvisor.com/media/photo-l/avatar%d.jpg", id),
				"large": fmt.Sprintf("https://media-cdn.tripadvisor.com/media/photo-s/avatar%d.jpg", id)}},
		"subratings": map[string]any{"0": subrating("RATE_VALUE", "Value", "4")},
	}
	if owner != "" {
		r["owner_response"] = map[string]any{"id": id + 1, "lang": lang, "text": owner, "title": "Owner response",
			"author": "Front Office Manager", "published_date": published}
	}
	return r
}

// World is the default world: a fresh copy each call.
func World() []*Location {
	w := []*Location{
		geo(GeoParis, "Paris", "48.856613", "2.352222", "187144", GeoFrance),
		geo(GeoLyon, "Lyon", "45.764043", "4.835659", "187261", GeoFrance),
		geo(GeoLasVegas, "Las Vegas", "36.171563", "-115.139101", "28949", "191"),
	}

	lum := hotel(HotelLumiere, GeoParis, "Hotel Lumiere", "Paris", 48.8606, 2.3376, "4.5", "1,098")
	lum["num_reviews"] = "1098"
	lum["description"] = "A quiet hotel by the Louvre, with a garden courtyard."
	lum["address_obj"] = address("12 Rue de Rivoli", "Paris", "75001", "France")
	lum["ancestors"] = ancestors(GeoParis, "187144", GeoFrance)
	lum["timezone"] = "Europe/Paris"
	lum["email"] = "contact@hotel-lumiere.example.fr"
	lum["phone"] = "+33 1 42 60 00 00"
	lum["website"] = "https://hotel-lumiere.example.fr/?utm_source=tripadvisor"
	lum["write_review"] = "https://www.tripadvisor.com/UserReview-g187147-d1234-Hotel_Lumiere-Paris.html"
	lum["ranking_data"] = map[string]any{"geo_location_id": GeoParis, "ranking_string": "#84 of 1,800 hotels in Paris",
		"geo_location_name": "Paris", "ranking_out_of": "1800", "ranking": "84"}
	lum["rating_image_url"] = "https://www.tripadvisor.com/img/cdsi/img2/ratings/traveler/4.5-66827-5.svg"
	lum["review_rating_count"] = map[string]any{"1": "20", "2": "38", "3": "100", "4": "340", "5": "600"}
	lum["subratings"] = map[string]any{
		"0": subrating("rate_location", "Location", "5.0"), "1": subrating("rate_sleep", "Sleep Quality", "4.5"),
		"2": subrating("rate_room", "Rooms", "4.5"), "3": subrating("rate_service", "Service", "4.0"),
		"4": subrating("rate_value", "Value", "3.5"), "5": subrating("rate_cleanliness", "Cleanliness", "4.5"),
	}
	lum["photo_count"] = "412"
	lum["see_all_photos"] = "https://www.tripadvisor.com/Hotel_Review-g187147-d1234-m66827-Reviews-Hotel_Lumiere-Paris.html#photos"
	lum["price_level"] = "$$$"
	lum["amenities"] = []any{"Free Wifi", "Bar/Lounge", "Room service", "Air conditioning", "Non-smoking hotel"}
	lum["parent_brand"] = "Lumiere Group"
	lum["brand"] = "Lumiere"
	lum["subcategory"] = []any{map[string]any{"name": "hotel", "localized_name": "Hotel"}}
	lum["styles"] = []any{"Boutique", "Romantic"}
	lum["neighborhood_info"] = []any{map[string]any{"location_id": "15620425", "name": "1st Arr. - Louvre"}}
	lum["trip_types"] = []any{map[string]any{"name": "couples", "localized_name": "Couples", "value": "420"}}
	lum["awards"] = []any{
		map[string]any{"award_type": "Travelers Choice", "year": "2024", "images": map[string]any{"tiny": "https://static.tacdn.com/img2/travelers_choice/2024/TC_2024_S.png"},
			"categories": []any{}, "display_name": "Travelers Choice"},
		map[string]any{"award_type": "Certificate of Excellence", "year": "2019", "images": map[string]any{}, "categories": []any{}, "display_name": ""},
	}
	var lumReviews []map[string]any
	for i := 0; i < 8; i++ {
		travel := fmt.Sprintf("2024-%02d", 12-i)
		if i == 1 {
			travel = "2024-10-03" // some reviews carry a full date
		}
		owner := ""
		if i == 0 {
			owner = "Thank you for staying with us!"
		}
		lumReviews = append(lumReviews, taReview(HotelLumiere, 900000+i, "en", fmt.Sprintf("2025-%02d-14T10:01:20Z", 12-i), travel,
			fmt.Sprintf("Stay %d", i+1), fmt.Sprintf("Review number %d of Hotel Lumiere.", i+1), 5-i%3, owner))
	}
	lumReviews = append(lumReviews, taReview(HotelLumiere, 910000, "fr", "2025-06-01T08:00:00Z", "2025-05", "Très bien", "Séjour parfait.", 5, ""),
		taReview(HotelLumiere, 910001, "fr", "2025-05-01T08:00:00Z", "2025-04", "Bien", "Bon séjour.", 4, ""))
	w = append(w, &Location{Category: "hotels", Details: lum, Reviews: lumReviews,
		Photos: []map[string]any{{"id": 1, "caption": "Courtyard", "images": map[string]any{"large": map[string]any{"url": "https://media-cdn.tripadvisor.com/media/photo-s/lumiere.jpg", "width": 550, "height": 412}}}}})

	disc := hotel(HotelDiscret, GeoParis, "Hotel Discret", "Paris", 48.8700, 2.3500, "3.5", "12")
	disc["ancestors"] = ancestors(GeoParis, "187144", GeoFrance)
	disc["address_obj"] = address("3 Rue Cachee", "Paris", "75010", "France")
	w = append(w, &Location{Category: "hotels", Details: disc})

	for i := 0; i < ParisHotels-2; i++ {
		id := fmt.Sprint(1250 + i)
		h := hotel(id, GeoParis, fmt.Sprintf("Hotel Seine %d", i+1), "Paris", 48.85+float64(i)*0.002, 2.34+float64(i)*0.002, "4.0", fmt.Sprint(100+i))
		h["ancestors"] = ancestors(GeoParis, "187144", GeoFrance)
		h["ranking_data"] = map[string]any{"geo_location_id": GeoParis, "ranking": fmt.Sprint(200 + i)}
		h["address_obj"] = address(fmt.Sprintf("%d Quai de la Seine", i+1), "Paris", "75004", "France")
		w = append(w, &Location{Category: "hotels", Details: h})
	}
	vegas := hotel(ParisLasVegas, GeoLasVegas, "Paris Las Vegas", "Las Vegas", 36.1125, -115.1707, "4.0", "50000")
	vegas["ancestors"] = ancestors(GeoLasVegas, "28949", "191")
	vegas["ranking_data"] = map[string]any{"geo_location_id": GeoLasVegas, "ranking": "90"}
	vegas["address_obj"] = address("3655 Las Vegas Blvd S", "Las Vegas", "NV 89109", "United States")
	w = append(w, &Location{Category: "hotels", Details: vegas})

	marcel := restaurant(ChezMarcel, GeoParis, "Chez Marcel", "Paris", 48.8530, 2.3499, "4.5", "2,310")
	marcel["ancestors"] = ancestors(GeoParis, "187144", GeoFrance)
	marcel["address_obj"] = address("7 Rue Cloche Perce", "Paris", "75004", "France")
	marcel["timezone"] = "Europe/Paris"
	marcel["phone"] = "+33 1 40 00 00 00"
	marcel["email"] = "Chez Marcel <bonjour@chezmarcel.example.fr>" // not a bare address: left out
	marcel["website"] = "http://chezmarcel.example.fr"
	marcel["price_level"] = "$$ - $$$"
	marcel["description"] = "Bistro cooking since 1952."
	marcel["ranking_data"] = map[string]any{"geo_location_id": GeoParis, "ranking": "12"}
	marcel["subratings"] = map[string]any{
		"0": subrating("rate_food", "Food", "4.5"), "1": subrating("rate_service", "Service", "4.0"),
		"2": subrating("rate_value", "Value", "4.0"), "3": subrating("rate_atmosphere", "Atmosphere", "5.0"),
		"4": subrating("rate_noise", "Noise", "2.0"),
	}
	var periods []any
	for d := 1; d <= 6; d++ {
		periods = append(periods,
			map[string]any{"open": map[string]any{"day": d, "time": "1130"}, "close": map[string]any{"day": d, "time": "1430"}},
			map[string]any{"open": map[string]any{"day": d, "time": "1900"}, "close": map[string]any{"day": d, "time": "2230"}})
	}
	marcel["hours"] = map[string]any{"periods": periods, "weekday_text": []any{"Monday: 11:30 AM - 2:30 PM, 7:00 PM - 10:30 PM"}}
	marcel["cuisine"] = []any{map[string]any{"name": "french", "localized_name": "French"}, map[string]any{"name": "european", "localized_name": "European"}}
	marcel["features"] = []any{"Reservations", "Outdoor Seating", "Table Service"}
	marcel["awards"] = []any{}
	w = append(w, &Location{Category: "restaurants", Details: marcel})
	for i := 0; i < ParisRestaurants-1; i++ {
		id := fmt.Sprint(560 + i)
		r := restaurant(id, GeoParis, fmt.Sprintf("Bistrot %d", i+1), "Paris", 48.86-float64(i)*0.001, 2.35, "4.0", fmt.Sprint(30+i))
		r["ancestors"] = ancestors(GeoParis, "187144", GeoFrance)
		r["address_obj"] = address(fmt.Sprintf("%d Rue du Bac", i+1), "Paris", "75007", "France")
		w = append(w, &Location{Category: "restaurants", Details: r})
	}
	bouchon := restaurant("700", GeoLyon, "Bouchon des Filles", "Lyon", 45.767, 4.832, "4.5", "800")
	bouchon["ancestors"] = ancestors(GeoLyon, "187261", GeoFrance)
	bouchon["address_obj"] = address("20 Rue Sergent Blandan", "Lyon", "69001", "France")
	w = append(w, &Location{Category: "restaurants", Details: bouchon})

	louvre := map[string]any{"location_id": Louvre, "name": "Louvre Museum",
		"web_url":   "https://www.tripadvisor.com/Attraction_Review-g187147-d188757-Reviews-Louvre_Museum-Paris_Ile_de_France.html",
		"ancestors": ancestors(GeoParis, "187144", GeoFrance), "latitude": "48.861", "longitude": "2.3358",
		"address_obj": address("Rue de Rivoli", "Paris", "75001", "France"), "rating": "4.5", "num_reviews": "180000"}
	w = append(w, &Location{Category: "attractions", Details: louvre,
		Reviews: []map[string]any{taReview(Louvre, 950000, "en", "2025-09-09T09:09:09Z", "2025-09", "Huge", "Go early.", 5, "")}})
	return w
}
