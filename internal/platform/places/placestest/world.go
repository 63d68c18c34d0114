package placestest

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
)

// IDs of the world's notable places.
var (
	// Café Lumière, Paris: every field, seven reviews (five are served),
	// names in French and English.
	IDCafeLumiere = placeID("cafe-lumiere-paris")
	// Café Lumière, Lyon: same name, another city.
	IDCafeLumiereLyon = placeID("cafe-lumiere-lyon")
	// Le Petit Zinc, Paris: temporarily closed, no phone, website, summary,
	// hours, service options or reviews.
	IDPetitZinc = placeID("petit-zinc-paris")
	// Hôtel du Vieux Port, Marseille: permanently closed.
	IDVieuxPort = placeID("vieux-port-marseille")
)

// Coordinates of the notable places.
var (
	ParisLat, ParisLng = 48.8606, 2.3376
	LyonLat, LyonLng   = 45.7640, 4.8357
)

// LyonBakeries is how many places "bakery lyon" matches.
const LyonBakeries = 45

// placeID makes a stable ID in Google's shape (ChIJ + 23 URL-safe
// characters).
func placeID(seed string) string {
	h := sha256.Sum256([]byte(seed))
	return "ChIJ" + base64.RawURLEncoding.EncodeToString(h[:])[:23]
}

func text(s, lang string) map[string]any { return map[string]any{"text": s, "languageCode": lang} }

func component(long, short string, types ...string) map[string]any {
	ts := make([]any, len(types))
	for i, t := range types {
		ts[i] = t
	}
	return map[string]any{"longText": long, "shortText": short, "types": ts, "languageCode": "fr"}
}

func strs(ss ...string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func hours(open, close int) map[string]any {
	var periods, desc []any
	days := []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	for d := 0; d < 7; d++ {
		if d == 0 {
			continue // closed on Sunday
		}
		periods = append(periods, map[string]any{
			"open":  map[string]any{"day": d, "hour": open, "minute": 0},
			"close": map[string]any{"day": d, "hour": close, "minute": 30},
		})
	}
	for d := 1; d <= 7; d++ {
		day := days[d%7]
		if d%7 == 0 {
			desc = append(desc, day+": Closed")
			continue
		}
		desc = append(desc, fmt.Sprintf("%s: %d:00 AM – %d:30 PM", day, open, close-12))
	}
	return map[string]any{"openNow": false, "periods": periods, "weekdayDescriptions": desc}
}

func review(placeID string, n int, rating float64, author, body, lang string, translated string, visit bool) map[string]any {
	r := map[string]any{
		"name":                           fmt.Sprintf("places/%s/reviews/%s", placeID, placeID[4:12]+fmt.Sprintf("R%02d", n)),
		"relativePublishTimeDescription": fmt.Sprintf("%d months ago", n+1),
		"rating":                         rating,
		"originalText":                   text(body, lang),
		"text":                           text(body, lang),
		"authorAttribution": map[string]any{
			"displayName": author,
			"uri":         fmt.Sprintf("https://www.google.com/maps/contrib/1000000000000000%05d/reviews", n),
			"photoUri":    fmt.Sprintf("https://lh3.googleusercontent.com/a/author-%d=s128-c0x00000000-cc-rp-mo", n),
		},
		"publishTime":    fmt.Sprintf("2025-%02d-%02dT09:%02d:17.123456789Z", 1+n%12, 1+n*3%28, n),
		"flagContentUri": "https://www.google.com/local/review/rap/report?postId=" + placeID[4:12],
		"googleMapsUri":  fmt.Sprintf("https://www.google.com/maps/reviews/data=!4m6!14m5!1m4!2m3!1s%s!2m1!1s%s", placeID[4:14], placeID[4:12]),
	}
	if translated != "" {
		r["text"] = text(translated, "en")
	}
	if visit {
		r["visitDate"] = map[string]any{"year": 2024, "month": 1 + n%12}
	}
	return r
}

// World is the default world: a fresh copy each call.
func World() []*Place {
	cafe := map[string]any{
		"name": "places/" + IDCafeLumiere, "id": IDCafeLumiere,
		"displayName":      text("Café Lumière", "fr"),
		"formattedAddress": "12 Rue de Rivoli, 75001 Paris, France", "shortFormattedAddress": "12 Rue de Rivoli, Paris",
		"addressComponents": []any{component("12", "12", "street_number"), component("Rue de Rivoli", "Rue de Rivoli", "route"),
			component("Paris", "Paris", "locality", "political"), component("France", "FR", "country", "political"),
			component("75001", "75001", "postal_code")},
		"plusCode":                 map[string]any{"globalCode": "8FW4V86Q+6W", "compoundCode": "V86Q+6W Paris, France"},
		"location":                 map[string]any{"latitude": ParisLat, "longitude": ParisLng},
		"rating":                   4.6,
		"userRatingCount":          1287,
		"googleMapsUri":            "https://maps.google.com/?cid=1234567890123456789",
		"websiteUri":               "https://cafe-lumiere.example.fr/",
		"nationalPhoneNumber":      "01 42 60 00 00",
		"internationalPhoneNumber": "+33 1 42 60 00 00",
		"regularOpeningHours":      hours(8, 19),
		"businessStatus":           "OPERATIONAL",
		"priceLevel":               "PRICE_LEVEL_MODERATE",
		"types":                    strs("cafe", "coffee_shop", "food", "point_of_interest", "establishment"),
		"primaryType":              "cafe",
		"primaryTypeDisplayName":   text("Café", "fr"),
		"editorialSummary":         text("Bright corner café known for its pastries and terrace.", "en"),
		"dineIn":                   true, "takeout": true, "delivery": false, "reservable": true, "servesCoffee": true,
		"utcOffsetMinutes": 60,
		"photos": []any{map[string]any{"name": "places/" + IDCafeLumiere + "/photos/AUc7tXfake1", "widthPx": 4032, "heightPx": 3024,
			"authorAttributions": []any{map[string]any{"displayName": "Ada L.", "uri": "https://maps.google.com/maps/contrib/1", "photoUri": "https://lh3.googleusercontent.com/a/ada"}}}},
		"reviews": []any{
			review(IDCafeLumiere, 0, 5, "Ada Lovelace", "Le meilleur croissant du quartier.", "fr", "The best croissant in the neighbourhood.", true),
			review(IDCafeLumiere, 1, 4, "Charles Babbage", "Lovely terrace, slow service.", "en", "", true),
			review(IDCafeLumiere, 2, 5, "Grace Hopper", "Great coffee.", "en", "", false),
			review(IDCafeLumiere, 3, 3, "Alan Turing", "Un peu cher.", "fr", "A bit expensive.", false),
			review(IDCafeLumiere, 4, 4, "Katherine Johnson", "Friendly staff.", "en", "", true),
			review(IDCafeLumiere, 5, 2, "Edsger Dijkstra", "Too crowded.", "en", "", false),
			review(IDCafeLumiere, 6, 5, "Barbara Liskov", "Parfait.", "fr", "Perfect.", false),
		},
	}
	lyon := map[string]any{
		"name": "places/" + IDCafeLumiereLyon, "id": IDCafeLumiereLyon,
		"displayName":       text("Café Lumière", "fr"),
		"formattedAddress":  "3 Place Bellecour, 69002 Lyon, France",
		"addressComponents": []any{component("Lyon", "Lyon", "locality", "political"), component("France", "FR", "country", "political")},
		"location":          map[string]any{"latitude": LyonLat, "longitude": LyonLng},
		"rating":            4.1, "userRatingCount": 88,
		"types": strs("cafe", "food", "point_of_interest", "establishment"), "primaryType": "cafe",
		"businessStatus": "OPERATIONAL",
		"reviews":        []any{review(IDCafeLumiereLyon, 0, 4, "Marie Curie", "Bon café.", "fr", "Good coffee.", false)},
	}
	zinc := map[string]any{
		"name": "places/" + IDPetitZinc, "id": IDPetitZinc,
		"displayName":      text("Le Petit Zinc", "fr"),
		"formattedAddress": "40 Rue Saint-Denis, 75001 Paris, France",
		"location":         map[string]any{"latitude": 48.8610, "longitude": 2.3490},
		"types":            strs("bar", "point_of_interest", "establishment"), "primaryType": "bar",
		"businessStatus": "CLOSED_TEMPORARILY",
	}
	port := map[string]any{
		"name": "places/" + IDVieuxPort, "id": IDVieuxPort,
		"displayName":      text("Hôtel du Vieux Port", "fr"),
		"formattedAddress": "1 Quai du Port, 13002 Marseille, France",
		"location":         map[string]any{"latitude": 43.2965, "longitude": 5.3698},
		"rating":           3.9, "userRatingCount": 412,
		"types": strs("lodging", "point_of_interest", "establishment"), "primaryType": "hotel",
		"businessStatus": "CLOSED_PERMANENTLY",
	}
	world := []*Place{
		{Resource: cafe, Names: map[string]string{"en": "Cafe Lumiere", "fr": "Café Lumière"}, Keywords: []string{"cafe lumiere"}},
		{Resource: lyon, Names: map[string]string{"en": "Cafe Lumiere", "fr": "Café Lumière"}, Keywords: []string{"cafe lumiere"}},
		{Resource: zinc},
		{Resource: port, Keywords: []string{"hotel"}},
	}
	for i := 0; i < LyonBakeries; i++ {
		id := placeID(fmt.Sprintf("lyon-bakery-%d", i))
		b := map[string]any{
			"name": "places/" + id, "id": id,
			"displayName":      text(fmt.Sprintf("Boulangerie Saint-Jean n°%d", i+1), "fr"),
			"formattedAddress": fmt.Sprintf("%d Rue Saint-Jean, 69005 Lyon, France", i+1),
			"location":         map[string]any{"latitude": LyonLat + float64(i)*0.001, "longitude": LyonLng - float64(i)*0.0007},
			"rating":           3.5 + float64(i%15)/10, "userRatingCount": 20 + i*7,
			"types": strs("bakery", "food", "store", "point_of_interest", "establishment"), "primaryType": "bakery",
			"businessStatus": "OPERATIONAL",
		}
		world = append(world, &Place{Resource: b, Keywords: []string{"bakery", "boulangerie"}})
	}
	return world
}
