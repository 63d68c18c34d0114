package sim

import (
	"net/http"
	"strconv"
	"strings"
)

// Google Maps, TripAdvisor and TheFork need no session. Keys starting with
// "error-503" or "error-429" make these platforms fail on purpose, and keys
// starting with "missing" are not found.

func (s *Server) publicRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /maps/place/{id}", s.hPlace)
	m.HandleFunc("GET /maps/place/{id}/reviews", s.hPlaceReviews)
	m.HandleFunc("GET /maps/search", s.hPlaceSearch)
	m.HandleFunc("GET /tripadvisor/{kind}/{id}", s.hProperty)
	m.HandleFunc("GET /tripadvisor/{kind}/{id}/reviews", s.hPropertyReviews)
	m.HandleFunc("GET /tripadvisor/search", s.hPropertySearch)
	m.HandleFunc("GET /thefork/restaurants/{id}", s.hFork)
	m.HandleFunc("GET /thefork/restaurants/{id}/reviews", s.hForkReviews)
}

func magicFail(w http.ResponseWriter, key string) bool {
	k := strings.ToLower(cleanKey(key))
	switch {
	case strings.HasPrefix(k, "error-503"):
		writeErr(w, http.StatusServiceUnavailable, "UNAVAILABLE", "backend unavailable")
		return true
	case strings.HasPrefix(k, "error-429"):
		w.Header().Set("Retry-After", "2")
		writeErr(w, http.StatusTooManyRequests, "RATE_LIMITED", "too many requests")
		return true
	case isMissing(k):
		notFound(w, "resource")
		return true
	}
	return false
}

// resolvePlace returns the place and the place as asked: a key the world
// does not hold is a guest place, named by the key (a name from a Maps
// URL) or keeping it as its id (guests.go).
func (s *Server) resolvePlace(id string) (int, Place) {
	key := cleanKey(id)
	if p, ok := s.w.placeByID(key); ok {
		return p, s.w.place(p)
	}
	p := alias("place:"+key, s.w.NPlaces)
	return p, s.w.placeAs(p, key)
}

func (s *Server) hPlace(w http.ResponseWriter, r *http.Request) {
	if magicFail(w, r.PathValue("id")) {
		return
	}
	_, pl := s.resolvePlace(r.PathValue("id"))
	writeJSON(w, 200, map[string]any{"result": pl, "status": "OK"})
}

func (s *Server) hPlaceReviews(w http.ResponseWriter, r *http.Request) {
	if magicFail(w, r.PathValue("id")) {
		return
	}
	p, pl := s.resolvePlace(r.PathValue("id"))
	s.page(w, r, 10, pl.Reviews, func(i int) any {
		rv := s.w.review(kPlace, p, i)
		rv.URL = pl.URL + "&review=" + rv.ID
		return map[string]any{"review": rv, "placeName": pl.Name, "placeUrl": pl.URL, "city": pl.City}
	})
}

func (s *Server) hPlaceSearch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("query")
	if magicFail(w, q) {
		return
	}
	n, at := s.w.placesMatching(q)
	s.page(w, r, 20, n, func(i int) any { return s.w.place(at(i)) })
}

// resolveProperty returns a hotel or restaurant as asked. One the world does
// not hold keeps the asked id and, given the page's URL (?url=), its name,
// city and URL (guests.go).
func (s *Server) resolveProperty(kind, id, pageURL string) (Property, int, bool) {
	v, _ := strconv.ParseInt(cleanKey(id), 10, 64)
	switch kind {
	case "hotels":
		if h, ok := s.w.hotelByID(v); ok {
			return s.w.hotel(h), h, true
		}
		h := s.w.guestProperty(alias("hotel:"+id, s.w.NHotels), pageURL, s.w.NHotels)
		return s.w.propertyAs(s.w.hotel(h), v, pageURL), h, true
	case "restaurants":
		if h, ok := s.w.restaurantByID(v); ok {
			return s.w.resto(h), h, true
		}
		h := s.w.guestProperty(alias("restaurant:"+id, s.w.NRestaurants), pageURL, s.w.NRestaurants)
		return s.w.propertyAs(s.w.resto(h), v, pageURL), h, true
	}
	return Property{}, 0, false
}

func (s *Server) hProperty(w http.ResponseWriter, r *http.Request) {
	if magicFail(w, r.PathValue("id")) {
		return
	}
	p, _, ok := s.resolveProperty(r.PathValue("kind"), r.PathValue("id"), r.URL.Query().Get("url"))
	if !ok {
		notFound(w, "location")
		return
	}
	writeJSON(w, 200, p)
}

func (s *Server) hPropertyReviews(w http.ResponseWriter, r *http.Request) {
	if magicFail(w, r.PathValue("id")) {
		return
	}
	p, idx, ok := s.resolveProperty(r.PathValue("kind"), r.PathValue("id"), r.URL.Query().Get("url"))
	if !ok {
		notFound(w, "location")
		return
	}
	kind := kHotel
	if p.Kind == "restaurant" {
		kind = kRestaurant
	}
	s.page(w, r, 15, p.NumReviews, func(i int) any {
		rv := s.w.review(kind, idx, i)
		rv.URL = strings.Replace(strings.Replace(p.URL, "_Review-", "_Review-", 1), "-Reviews-", "-r"+strconv.FormatInt(int64(hashOf(s.w.seed, kind, uint64(idx), uint64(i))%1e9), 10)+"-", 1)
		return map[string]any{"review": rv, "property": p.Name, "propertyUrl": p.URL, "reviewId": int64(hashOf(s.w.seed, kind, uint64(idx), uint64(i)) % 1e9)}
	})
}

// hPropertySearch lists the hotels or restaurants of a TripAdvisor geo.
func (s *Server) hPropertySearch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if magicFail(w, q.Get("geo")) {
		return
	}
	geo, _ := strconv.Atoi(q.Get("geo"))
	ci := -1
	for i, c := range cities {
		if c.GeoID == geo {
			ci = i
		}
	}
	if ci < 0 {
		ci = alias("geo:"+q.Get("geo"), len(cities))
	}
	kind := q.Get("category")
	total := s.w.NHotels
	get := s.w.hotel
	if kind == "restaurants" {
		total, get = s.w.NRestaurants, s.w.resto
	}
	n := (total - ci + len(cities) - 1) / len(cities)
	s.page(w, r, 30, n, func(i int) any { return get(ci + i*len(cities)) })
}

// resolveFork returns the restaurant and the restaurant as asked (an id the
// world does not hold is kept as the guest's id).
func (s *Server) resolveFork(id, pageURL string) (int, ForkRestaurant) {
	v, _ := strconv.ParseInt(cleanKey(id), 10, 64)
	if f, ok := s.w.forkByID(v); ok {
		return f, s.w.fork(f)
	}
	f := alias("fork:"+cleanKey(id), s.w.NForks)
	return f, s.w.forkAs(s.w.fork(f), v, pageURL)
}

func (s *Server) hFork(w http.ResponseWriter, r *http.Request) {
	if magicFail(w, r.PathValue("id")) {
		return
	}
	_, fr := s.resolveFork(r.PathValue("id"), r.URL.Query().Get("url"))
	writeJSON(w, 200, fr)
}

func (s *Server) hForkReviews(w http.ResponseWriter, r *http.Request) {
	if magicFail(w, r.PathValue("id")) {
		return
	}
	f, fr := s.resolveFork(r.PathValue("id"), r.URL.Query().Get("url"))
	s.page(w, r, 40, fr.NumReviews, func(i int) any {
		rv := s.w.review(kFork, f, i)
		rv.Rating = rv.Rating * 2
		status := "NONE"
		if rv.OwnerAnswer != "" {
			status = "PUBLISHED"
		}
		return map[string]any{"review": rv, "restaurantId": fr.ID, "restaurantUrl": fr.URL, "answerStatus": status, "mealDate": rv.VisitedIn}
	})
}
