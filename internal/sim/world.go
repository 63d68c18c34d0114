package sim

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// refTime anchors every generated date, so the world is the same whatever the
// wall clock says. Only overlay writes carry real timestamps.
var refTime = time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)

// Entity kinds, used to key generator streams and id codecs.
const (
	kPerson uint64 = iota + 1
	kPersonFull
	kCompany
	kSchool
	kPost
	kComment
	kEvent
	kGroup
	kJob
	kPlace
	kReview
	kHotel
	kRestaurant
	kFork
	kAccountRel
	kList
	kThread
	kCert
)

const (
	postsPerPersonMax = 8
	commentsPerPost   = 1024 // comment index space per post
	maxSearchResults  = 1000 // LinkedIn stops a search after 1,000 results
	maxPlaceResults   = 120  // Google Maps stops a search after 120 places
)

// World is the generated universe. Only small indexes live in memory (company
// blocks and handles); every person, post or place is rebuilt from (seed, index)
// on demand.
type World struct {
	seed int64

	NPeople, NCompanies, NSchools, NGroups, NEvents, NJobs int
	NPlaces, NHotels, NRestaurants, NForks                 int

	compStart    []int32 // employees of company c are people [compStart[c], compStart[c+1])
	companies    []companyCore
	compByHandle map[string]int
	compByID     map[int64]int
	schools      []schoolCore
	schoolByHdl  map[string]int
	schoolByID   map[int64]int

	// guestPeople and guestCompanies hold the guests asked for (guests.go).
	guestPeople    *registry
	guestCompanies *registry
}

type companyCore struct {
	ID     int64
	Handle string
	Name   string
}

type schoolCore struct {
	ID     int64
	Handle string
	Name   string
	City   int
}

// WorldSize sets the entity counts; zero values take the defaults.
type WorldSize struct {
	People, Companies, Groups, Events, Jobs, Hotels, Restaurants, Forks int
}

func newWorld(seed int64, sz WorldSize) *World {
	def := func(v, d int) int {
		if v <= 0 {
			return d
		}
		return v
	}
	w := &World{
		seed:         seed,
		NPeople:      def(sz.People, 120_000),
		NCompanies:   def(sz.Companies, 3_000),
		NSchools:     len(schoolPrefixes) * len(cities),
		NGroups:      def(sz.Groups, 2_000),
		NEvents:      def(sz.Events, 5_000),
		NJobs:        def(sz.Jobs, 20_000),
		NHotels:      def(sz.Hotels, 4_800),
		NRestaurants: def(sz.Restaurants, 7_200),
		NForks:       def(sz.Forks, 4_800),
	}
	w.NPlaces = len(cities) * len(placeCategories) * 70
	if w.NCompanies > w.NPeople {
		w.NCompanies = w.NPeople
	}
	w.buildCompanies()
	w.buildSchools()
	w.guestPeople, w.guestCompanies = newRegistry(w.NPeople), newRegistry(w.NCompanies)
	return w
}

// buildCompanies lays people out in contiguous blocks, one per company, with
// heavy-tailed sizes: many small firms, a few with thousands of employees.
func (w *World) buildCompanies() {
	n := w.NCompanies
	weights := make([]float64, n)
	total := 0.0
	for c := 0; c < n; c++ {
		r := newRNG(w.seed, kCompany, uint64(c)+1<<32)
		// log-normal-ish weight
		u1, u2 := r.float()+1e-12, r.float()
		z := math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
		weights[c] = math.Exp(1.4 * z)
		total += weights[c]
	}
	w.compStart = make([]int32, n+1)
	remaining := w.NPeople - n // every company has at least one employee
	acc := 0.0
	pos := 0
	for c := 0; c < n; c++ {
		w.compStart[c] = int32(pos)
		acc += weights[c]
		target := int(acc / total * float64(remaining))
		pos = target + c + 1
	}
	w.compStart[n] = int32(w.NPeople)

	w.companies = make([]companyCore, n)
	w.compByHandle = make(map[string]int, n)
	w.compByID = make(map[int64]int, n)
	for c := 0; c < n; c++ {
		r := newRNG(w.seed, kCompany, uint64(c))
		name := pick(r, companyWordsA) + " " + pick(r, companyWordsB)
		suffix := pick(r, companySuffixes)
		handle := slugify(name)
		if _, dup := w.compByHandle[handle]; dup {
			name = fmt.Sprintf("%s %s", name, pick(r, cities).Name)
			handle = slugify(name)
			for i := 2; ; i++ {
				if _, dup := w.compByHandle[handle]; !dup {
					break
				}
				handle = fmt.Sprintf("%s-%d", slugify(name), i)
			}
		}
		id := int64(1000 + scramble32(uint32(c)^uint32(w.seed))%90_000_000)
		for {
			if _, dup := w.compByID[id]; !dup {
				break
			}
			id++
		}
		w.companies[c] = companyCore{ID: id, Handle: handle, Name: name + suffix}
		w.compByHandle[handle] = c
		w.compByID[id] = c
	}
}

func (w *World) buildSchools() {
	w.schools = make([]schoolCore, w.NSchools)
	w.schoolByHdl = make(map[string]int, w.NSchools)
	w.schoolByID = make(map[int64]int, w.NSchools)
	for s := 0; s < w.NSchools; s++ {
		pre := schoolPrefixes[s/len(cities)]
		ci := s % len(cities)
		name := pre + " " + cities[ci].Name
		handle := slugify(name)
		id := int64(10000 + scramble32(uint32(s)^uint32(w.seed)^0x5c00)%9_000_000)
		for {
			if _, dup := w.schoolByID[id]; !dup {
				break
			}
			id++
		}
		w.schools[s] = schoolCore{ID: id, Handle: handle, Name: name, City: ci}
		w.schoolByHdl[handle] = s
		w.schoolByID[id] = s
	}
}

// companyOf finds a person's current employer by binary search over the blocks.
func (w *World) companyOf(p int) int {
	return sort.Search(w.NCompanies, func(c int) bool { return int(w.compStart[c+1]) > p })
}

func (w *World) companySize(c int) int {
	from, to := w.compBlock(c)
	return to - from
}

// schoolOf is the person's main school; alumni of school s are s, s+NSchools, ...
func (w *World) schoolOf(p int) int { return p % w.NSchools }

// ---- id codecs -------------------------------------------------------------

func (w *World) salt(kind uint64) uint32 {
	return uint32(mix64(uint64(w.seed) ^ kind*0x2545f4914f6cdd1d))
}

func (w *World) enc(kind uint64, idx int) uint32 { return scramble32(uint32(idx) ^ w.salt(kind)) }

func (w *World) dec(kind uint64, v uint64, n int) (int, bool) {
	if v > math.MaxUint32 {
		return 0, false
	}
	idx := int(unscramble32(uint32(v)) ^ w.salt(kind))
	return idx, idx >= 0 && idx < n
}

const (
	memberIDBase   = 10_000_000
	activityBase   = 7_100_000_000_000_000_000
	commentIDBase  = 7_200_000_000_000_000_000
	eventIDBase    = 7_300_000_000_000_000_000
	listIDBase     = 7_400_000_000_000_000_000
	jobIDBase      = 3_900_000_000
	groupIDBase    = 1_000_000
	hotelIDBase    = 100_000
	restoIDBase    = 700_000
	forkIDBase     = 10_000
	invitationBase = 7_100_000_000_000_000 // integer-typed ids stay below 2^53
)

func (w *World) memberID(p int) int64 { return memberIDBase + int64(w.enc(kPerson, p)) }

func (w *World) personByMemberID(id int64) (int, bool) {
	if id < memberIDBase {
		return 0, false
	}
	p, ok := w.dec(kPerson, uint64(id-memberIDBase), w.NPeople+guestSpan)
	if ok && w.isGuestPerson(p) {
		_, ok = w.guestPeople.key(p) // a guest this simulator has seen
	}
	return p, ok
}

func (w *World) handle(p int) string {
	r := newRNG(w.seed, kPerson, uint64(p))
	first, last := pick(r, firstNames), pick(r, lastNames)
	return fmt.Sprintf("%s-%s-%08x", slugify(first), slugify(last), w.enc(kPerson, p))
}

func (w *World) salesNavID(p int) string {
	e := w.enc(kPerson, p)
	return "ACwAA" + base62(uint64(e), 6) + base62(hashOf(w.seed, uint64(e), 77)%uint64(math.Pow(62, 10)), 10) + base62(hashOf(w.seed, uint64(e), 78)%uint64(math.Pow(62, 10)), 10)
}

func (w *World) personBySalesNavID(s string) (int, bool) {
	if len(s) < 11 || !strings.HasPrefix(s, "ACwAA") {
		return 0, false
	}
	v, ok := unbase62(s[5:11])
	if !ok {
		return 0, false
	}
	p, ok := w.dec(kPerson, v, w.NPeople)
	if !ok || w.salesNavID(p) != s {
		return 0, false
	}
	return p, true
}

func (w *World) personByHandle(h string) (int, bool) {
	i := strings.LastIndexByte(h, '-')
	if i < 0 || len(h)-i-1 != 8 {
		return 0, false
	}
	var v uint64
	if _, err := fmt.Sscanf(h[i+1:], "%08x", &v); err != nil {
		return 0, false
	}
	p, ok := w.dec(kPerson, v, w.NPeople)
	if !ok || w.handle(p) != h {
		return 0, false
	}
	return p, true
}

// Guests' posts and comments (guests.go) have ids of their own, past the
// world's: their slots do not fit the 32-bit codec.
const (
	guestActivityBase = 7_150_000_000_000_000_000
	guestCommentBase  = 7_250_000_000_000_000_000
)

func (w *World) activityID(slot int) int64 {
	if g := slot - w.NPeople*postsPerPersonMax; g >= 0 {
		return guestActivityBase + int64(g)
	}
	return activityBase + int64(w.enc(kPost, slot))
}

func (w *World) postSlot(id int64) (int, bool) {
	if id >= guestActivityBase && id < guestActivityBase+int64(guestSpan)*postsPerPersonMax {
		s := w.NPeople*postsPerPersonMax + int(id-guestActivityBase)
		return s, w.postExists(s)
	}
	s, ok := w.dec(kPost, uint64(id-activityBase), w.NPeople*postsPerPersonMax)
	return s, ok && w.postExists(s)
}

// Comment ids pack (post slot, comment index); the index space fits 32 bits
// for worlds up to half a million people.
func (w *World) commentID(slot, k int) int64 {
	if g := slot - w.NPeople*postsPerPersonMax; g >= 0 {
		return guestCommentBase + int64(g)*commentsPerPost + int64(k)
	}
	return commentIDBase + int64(w.enc(kComment, slot*commentsPerPost+k))
}
func (w *World) commentByID(id int64) (slot, k int, ok bool) {
	if id >= guestCommentBase && id < guestCommentBase+int64(guestSpan)*postsPerPersonMax*commentsPerPost {
		x := id - guestCommentBase
		slot = w.NPeople*postsPerPersonMax + int(x/commentsPerPost)
		return slot, int(x % commentsPerPost), w.postExists(slot)
	}
	x, ok := w.dec(kComment, uint64(id-commentIDBase), w.NPeople*postsPerPersonMax*commentsPerPost)
	if !ok {
		return 0, 0, false
	}
	slot, k = x/commentsPerPost, x%commentsPerPost
	return slot, k, w.postExists(slot)
}
func (w *World) eventID(e int) int64 { return eventIDBase + int64(w.enc(kEvent, e)) }
func (w *World) eventByID(id int64) (int, bool) {
	return w.dec(kEvent, uint64(id-eventIDBase), w.NEvents)
}
func (w *World) groupID(g int) int64 { return groupIDBase + int64(w.enc(kGroup, g)) }
func (w *World) groupByID(id int64) (int, bool) {
	return w.dec(kGroup, uint64(id-groupIDBase), w.NGroups)
}
func (w *World) jobID(j int) int64            { return jobIDBase + int64(w.enc(kJob, j)) }
func (w *World) jobByID(id int64) (int, bool) { return w.dec(kJob, uint64(id-jobIDBase), w.NJobs) }
func (w *World) hotelID(h int) int64          { return hotelIDBase + int64(w.enc(kHotel, h)) }
func (w *World) hotelByID(id int64) (int, bool) {
	return w.dec(kHotel, uint64(id-hotelIDBase), w.NHotels)
}
func (w *World) restaurantID(h int) int64 { return restoIDBase + int64(w.enc(kRestaurant, h)) }
func (w *World) restaurantByID(id int64) (int, bool) {
	return w.dec(kRestaurant, uint64(id-restoIDBase), w.NRestaurants)
}
func (w *World) forkID(h int) int64 { return forkIDBase + int64(w.enc(kFork, h)) }
func (w *World) forkByID(id int64) (int, bool) {
	return w.dec(kFork, uint64(id-forkIDBase), w.NForks)
}
func (w *World) placeID(p int) string {
	e := w.enc(kPlace, p)
	return "ChIJ" + base62(uint64(e), 6) + base62(hashOf(w.seed, uint64(e), 91)%uint64(math.Pow(62, 10)), 10) + "Q"
}
func (w *World) placeByID(s string) (int, bool) {
	if len(s) < 10 || !strings.HasPrefix(s, "ChIJ") {
		return 0, false
	}
	v, ok := unbase62(s[4:10])
	if !ok {
		return 0, false
	}
	p, ok := w.dec(kPlace, v, w.NPlaces)
	return p, ok && w.placeID(p) == s
}

// alias maps any unknown key onto an entity, the way a platform redirects an old
// vanity name: the same key always lands on the same entity.
func alias(key string, n int) int { return int(hashString(strings.ToLower(key)) % uint64(n)) }

// ---- people ----------------------------------------------------------------

// Person is the platform's full profile document.
type Person struct {
	EntityURN        string       `json:"entityUrn"`
	ObjectURN        string       `json:"objectUrn"`
	MemberID         int64        `json:"memberId"`
	PublicIdentifier string       `json:"publicIdentifier"`
	ProfileURL       string       `json:"profileUrl"`
	SalesNavID       string       `json:"salesNavId"`
	FirstName        string       `json:"firstName"`
	LastName         string       `json:"lastName"`
	Headline         string       `json:"headline"`
	Occupation       string       `json:"occupation"`
	Summary          string       `json:"summary"`
	Location         Location     `json:"location"`
	ProfileLanguage  string       `json:"profileLanguage"`
	ProfilePicture   string       `json:"profilePicture"`
	BirthDate        *MonthDay    `json:"birthDate"`
	Languages        []string     `json:"languages"`
	Skills           []string     `json:"skills"`
	ConnectionsCount int          `json:"connectionsCount"`
	FollowersCount   int          `json:"followersCount"`
	OpenToWork       bool         `json:"openToWork"`
	Premium          bool         `json:"premium"`
	Industry         string       `json:"industry"`
	Function         string       `json:"function"`
	Positions        []Position   `json:"positions"`
	Educations       []Education  `json:"educations"`
	Volunteering     []Volunteer  `json:"volunteering"`
	Certifications   int          `json:"certificationsCount"`
	Distance         string       `json:"memberDistance,omitempty"`
	ConnectedAt      *int64       `json:"connectedAt,omitempty"`
	ThreadID         string       `json:"messagingThreadId,omitempty"`
	Contact          *ContactInfo `json:"contactInfo,omitempty"`

	idx, company, fn int
	posts            int
}

type Location struct {
	City        string `json:"city"`
	Region      string `json:"region"`
	Country     string `json:"country"`
	CountryCode string `json:"countryCode"`
	Display     string `json:"displayName"`
}

type MonthDay struct {
	Month int `json:"month"`
	Day   int `json:"day"`
}

type YearMonth struct {
	Year  int `json:"year"`
	Month int `json:"month"`
}

type Position struct {
	Title              string     `json:"title"`
	CompanyName        string     `json:"companyName"`
	CompanyID          int64      `json:"companyId"`
	CompanyURL         string     `json:"companyUrl"`
	CompanyLogo        string     `json:"companyLogo"`
	CompanyDescription string     `json:"companyDescription"`
	SalesNavCompanyID  int64      `json:"salesNavCompanyId"`
	Location           string     `json:"location"`
	Start              YearMonth  `json:"startDate"`
	End                *YearMonth `json:"endDate"`
}

type Education struct {
	SchoolName string `json:"schoolName"`
	SchoolID   int64  `json:"schoolId"`
	SchoolURL  string `json:"schoolUrl"`
	Degree     string `json:"degreeName"`
	Field      string `json:"fieldOfStudy"`
	StartYear  int    `json:"startYear"`
	EndYear    int    `json:"endYear"`
}

type Volunteer struct {
	Role         string `json:"role"`
	Organization string `json:"organization"`
	Cause        string `json:"cause"`
}

type ContactInfo struct {
	Email    string   `json:"emailAddress"`
	Phones   []string `json:"phoneNumbers"`
	Websites []string `json:"websites"`
	Twitter  []string `json:"twitterHandles"`
}

func personURL(handle string) string { return "https://www.linkedin.com/in/" + handle + "/" }

func imageURL(kind string, h uint64) string {
	return fmt.Sprintf("https://media.licdn.com/dms/image/v2/%s/%s/0/%d?e=1767225600&v=beta&t=%s", base62(h%uint64(math.Pow(62, 10)), 10), kind, 1700000000000+h%90000000000, base62(h>>20%uint64(math.Pow(62, 8)), 8))
}

// personCore holds the searchable text of a person: the cheapest draw.
type personCore struct {
	first, last, title, headline string
	ci, fn, company              int
}

func (w *World) core(p int) personCore {
	r := newRNG(w.seed, kPerson, uint64(p))
	first, last := pick(r, firstNames), pick(r, lastNames)
	ci := r.intn(len(cities))
	fn := r.intn(len(functions))
	title := seniorities[r.intn(len(seniorities))] + pick(r, functions[fn].Titles)
	title = strings.Replace(title, "Senior Senior", "Senior", 1)
	c := w.companyOf(p)
	cc := w.companies[c]
	var headline string
	switch r.intn(4) {
	case 0:
		headline = title + " at " + cc.Name
	case 1:
		headline = title + " @ " + cc.Name + " | " + pick(r, functions[fn].Skills)
	case 2:
		headline = title + " | " + pick(r, functions[fn].Skills) + " & " + pick(r, functions[fn].Skills)
	default:
		headline = title
	}
	return personCore{first: first, last: last, title: title, headline: headline, ci: ci, fn: fn, company: c}
}

// personLite builds the fields lists and searches need. Its draws come first in
// the person's stream, so person() agrees with it.
func (w *World) personLite(p int) Person {
	if w.isGuestPerson(p) {
		return w.guestLite(p)
	}
	pc := w.core(p)
	city := cities[pc.ci]
	handle := fmt.Sprintf("%s-%s-%08x", slugify(pc.first), slugify(pc.last), w.enc(kPerson, p))
	mid := w.memberID(p)
	snid := w.salesNavID(p)
	return Person{
		EntityURN:        "urn:li:fsd_profile:" + snid,
		ObjectURN:        fmt.Sprintf("urn:li:member:%d", mid),
		MemberID:         mid,
		PublicIdentifier: handle,
		ProfileURL:       personURL(handle),
		SalesNavID:       snid,
		FirstName:        pc.first,
		LastName:         pc.last,
		Headline:         pc.headline,
		Occupation:       pc.title,
		Location:         Location{City: city.Name, Region: city.Region, Country: city.Country, CountryCode: city.CountryCode, Display: city.Name + ", " + city.Region + ", " + city.Country},
		ProfileLanguage:  city.Lang,
		ProfilePicture:   imageURL("profile-displayphoto-shrink_400_400", hashOf(w.seed, kPerson, uint64(p))),
		Function:         functions[pc.fn].Name,
		idx:              p,
		company:          pc.company,
		fn:               pc.fn,
		posts:            1 + int(hashOf(w.seed, kPost, uint64(p))%postsPerPersonMax),
	}
}

// person builds the full profile.
func (w *World) person(p int) Person {
	if w.isGuestPerson(p) {
		g := w.parseGuestPerson(w.guestHandle(p))
		ps := w.person(g.base)
		w.asGuest(&ps, p, g)
		co := w.company(ps.company)
		ps.Positions[0].CompanyName, ps.Positions[0].CompanyID, ps.Positions[0].CompanyURL = co.Name, co.ID, co.URL
		ps.Positions[0].CompanyLogo, ps.Positions[0].CompanyDescription, ps.Positions[0].SalesNavCompanyID = co.Logo, co.Tagline, co.ID
		ps.Industry = co.Industry
		return ps
	}
	ps := w.personLite(p)
	r := newRNG(w.seed, kPersonFull, uint64(p))
	fn := functions[ps.fn]
	city := cities[indexOfCity(ps.Location.City)]
	comp := w.company(ps.company)
	ps.Industry = comp.Industry
	ps.Summary = fmt.Sprintf("%s with %d years of experience in %s. Passionate about %s and %s.", ps.Occupation, r.between(2, 25), strings.ToLower(fn.Name), pick(r, fn.Skills), pick(r, postTopics))
	if r.chance(80) {
		ps.BirthDate = &MonthDay{Month: r.between(1, 12), Day: r.between(1, 28)}
	}
	ps.Languages = []string{languageNames[city.Lang]}
	for i, n := 0, r.intn(3); i < n; i++ {
		l := pick(r, extraLanguages)
		if !contains(ps.Languages, l) {
			ps.Languages = append(ps.Languages, l)
		}
	}
	for i, n := 0, r.between(3, 8); i < n; i++ {
		s := pick(r, fn.Skills)
		if !contains(ps.Skills, s) {
			ps.Skills = append(ps.Skills, s)
		}
	}
	ps.ConnectionsCount = r.between(30, 500)
	if r.chance(30) {
		ps.ConnectionsCount = 500 + r.intn(4000)
	}
	ps.FollowersCount = ps.ConnectionsCount + r.intn(3000)
	ps.OpenToWork = r.chance(8)
	ps.Premium = r.chance(15)
	startYear := r.between(2012, 2025)
	ps.Positions = []Position{{
		Title: ps.Occupation, CompanyName: comp.Name, CompanyID: comp.ID, CompanyURL: comp.URL, CompanyLogo: comp.Logo,
		CompanyDescription: comp.Tagline, SalesNavCompanyID: comp.ID, Location: ps.Location.Display,
		Start: YearMonth{startYear, r.between(1, 12)},
	}}
	for i, n := 0, r.intn(3); i < n; i++ {
		pc := w.company(int(hashOf(w.seed, uint64(p), uint64(i), 31) % uint64(w.NCompanies)))
		endY := startYear - i*2
		ps.Positions = append(ps.Positions, Position{
			Title: pick(r, fn.Titles), CompanyName: pc.Name, CompanyID: pc.ID, CompanyURL: pc.URL, CompanyLogo: pc.Logo,
			CompanyDescription: pc.Tagline, SalesNavCompanyID: pc.ID, Location: pc.City + ", " + pc.Country,
			Start: YearMonth{endY - r.between(1, 4), r.between(1, 12)}, End: &YearMonth{endY, r.between(1, 12)},
		})
	}
	sc := w.schools[w.schoolOf(p)]
	endY := startYear - r.between(0, 3) - 2*(len(ps.Positions)-1)
	ps.Educations = []Education{{SchoolName: sc.Name, SchoolID: sc.ID, SchoolURL: schoolURL(sc.Handle), Degree: pick(r, degrees), Field: pick(r, fieldsOfStudy), StartYear: endY - r.between(2, 5), EndYear: endY}}
	if r.chance(40) {
		s2 := w.schools[r.intn(w.NSchools)]
		ps.Educations = append(ps.Educations, Education{SchoolName: s2.Name, SchoolID: s2.ID, SchoolURL: schoolURL(s2.Handle), Degree: "Exchange program", Field: pick(r, fieldsOfStudy), StartYear: endY - 3, EndYear: endY - 2})
	}
	if r.chance(25) {
		ps.Volunteering = []Volunteer{{Role: "Volunteer", Organization: pick(r, companyWordsA) + " Foundation", Cause: pick(r, volunteerCauses)}}
	} else {
		ps.Volunteering = []Volunteer{}
	}
	ps.Certifications = r.intn(5)
	return ps
}

func (w *World) contactInfo(p int) *ContactInfo {
	ps := w.personLite(p)
	comp := w.compCore(ps.company)
	r := newRNG(w.seed, kPersonFull, uint64(p)+1<<40)
	ci := &ContactInfo{
		Email:    fmt.Sprintf("%s.%s@%s", slugify(ps.FirstName), strings.ReplaceAll(slugify(ps.LastName), "-", ""), companyDomain(comp.Handle)),
		Phones:   []string{},
		Websites: []string{},
		Twitter:  []string{},
	}
	if r.chance(50) {
		ci.Phones = append(ci.Phones, fmt.Sprintf("+%d %03d %03d %04d", 1+r.intn(49), r.intn(1000), r.intn(1000), r.intn(10000)))
	}
	if r.chance(40) {
		ci.Websites = append(ci.Websites, fmt.Sprintf("https://%s%s.dev", slugify(ps.FirstName), slugify(ps.LastName)))
	}
	if r.chance(35) {
		ci.Twitter = append(ci.Twitter, strings.ReplaceAll(slugify(ps.FirstName+ps.LastName), "-", "")+fmt.Sprint(r.intn(100)))
	}
	return ci
}

func indexOfCity(name string) int {
	for i, c := range cities {
		if c.Name == name {
			return i
		}
	}
	return 0
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// ---- companies and schools ---------------------------------------------------

type Company struct {
	EntityURN       string          `json:"entityUrn"`
	ID              int64           `json:"companyId"`
	Handle          string          `json:"universalName"`
	URL             string          `json:"url"`
	SalesNavURL     string          `json:"salesNavigatorUrl"`
	Name            string          `json:"name"`
	Tagline         string          `json:"tagline"`
	Description     string          `json:"description"`
	Type            string          `json:"companyType"`
	Founded         int             `json:"foundedYear"`
	Website         string          `json:"websiteUrl"`
	Domain          string          `json:"domain"`
	Phone           string          `json:"phone"`
	Industry        string          `json:"industry"`
	Industries      []string        `json:"industries"`
	Specialties     []string        `json:"specialities"`
	FollowersCount  int             `json:"followerCount"`
	StaffCount      int             `json:"staffCount"`
	StaffRange      string          `json:"staffCountRange"`
	City            string          `json:"city"`
	Region          string          `json:"region"`
	Country         string          `json:"country"`
	CountryCode     string          `json:"countryCode"`
	PostalCode      string          `json:"postalCode"`
	Street          string          `json:"street"`
	Locations       []CompanyOffice `json:"locations"`
	Logo            string          `json:"logoUrl"`
	Claimed         bool            `json:"claimed"`
	Funding         *Funding        `json:"funding"`
	UpdatedAt       string          `json:"updatedAt"`
	AffiliatedCount int             `json:"affiliatedCount"`

	idx int
}

type CompanyOffice struct {
	Street     string `json:"line1"`
	City       string `json:"city"`
	Region     string `json:"geographicArea"`
	PostalCode string `json:"postalCode"`
	Country    string `json:"country"`
	HQ         bool   `json:"headquarter"`
}

type Funding struct {
	RoundType      string     `json:"lastRoundType"`
	RoundDate      string     `json:"lastRoundDate"`
	MoneyRaised    int64      `json:"lastRoundAmount"`
	Currency       string     `json:"lastRoundCurrency"`
	Investors      []Investor `json:"leadInvestors"`
	CrunchbaseURL  string     `json:"crunchbaseUrl"`
	NumberOfRounds int        `json:"numberOfRounds"`
}

type Investor struct {
	Name          string `json:"name"`
	CrunchbaseURL string `json:"crunchbaseUrl"`
}

func companyURL(handle string) string { return "https://www.linkedin.com/company/" + handle + "/" }
func schoolURL(handle string) string  { return "https://www.linkedin.com/school/" + handle + "/" }
func companyDomain(handle string) string {
	return strings.ReplaceAll(handle, "-", "") + ".example.com"
}

func staffRange(n int) string {
	switch {
	case n <= 10:
		return "2-10"
	case n <= 50:
		return "11-50"
	case n <= 200:
		return "51-200"
	case n <= 500:
		return "201-500"
	case n <= 1000:
		return "501-1000"
	case n <= 5000:
		return "1001-5000"
	default:
		return "5001-10000"
	}
}

func (w *World) company(c int) Company {
	if w.isGuestCompany(c) {
		return w.guestCompany(c)
	}
	cc := w.companies[c]
	r := newRNG(w.seed, kCompany, uint64(c))
	pick(r, companyWordsA)
	pick(r, companyWordsB)
	pick(r, companySuffixes)
	ci := cities[r.intn(len(cities))]
	ind := r.intn(len(industries))
	size := w.companySize(c)
	co := Company{
		EntityURN:   fmt.Sprintf("urn:li:fsd_company:%d", cc.ID),
		ID:          cc.ID,
		Handle:      cc.Handle,
		URL:         companyURL(cc.Handle),
		SalesNavURL: fmt.Sprintf("https://www.linkedin.com/sales/company/%d", cc.ID),
		Name:        cc.Name,
		Industry:    industries[ind],
		Industries:  []string{industries[ind]},
		Type:        pick(r, companyTypes),
		Founded:     r.between(1950, 2023),
		Website:     "https://www." + companyDomain(cc.Handle),
		Domain:      companyDomain(cc.Handle),
		Phone:       fmt.Sprintf("+%d %d %03d %04d", 1+r.intn(49), 1+r.intn(9), r.intn(1000), r.intn(10000)),
		StaffCount:  size,
		StaffRange:  staffRange(size),
		City:        ci.Name,
		Region:      ci.Region,
		Country:     ci.Country,
		CountryCode: ci.CountryCode,
		PostalCode:  fmt.Sprintf("%s%02d", ci.PostalPrefix, r.intn(100)),
		Street:      fmt.Sprintf("%d %s", 1+r.intn(200), pick(r, streets)),
		Logo:        imageURL("company-logo_200_200", hashOf(w.seed, kCompany, uint64(c))),
		Claimed:     r.chance(85),
		UpdatedAt:   refTime.Add(-time.Duration(r.intn(90*24)) * time.Hour).Format(time.RFC3339),
		idx:         c,
	}
	co.Tagline = fmt.Sprintf("%s for the %s industry", pick(r, []string{"Smarter tools", "Trusted partner", "Reliable services", "Modern platform", "Human expertise"}), strings.ToLower(co.Industry))
	co.Description = fmt.Sprintf("%s is a %s company founded in %d and based in %s. %s. We are %d people working on %s.", co.Name, strings.ToLower(co.Industry), co.Founded, ci.Name, co.Tagline, size, pick(r, postTopics))
	if r.chance(30) {
		ind2 := industries[r.intn(len(industries))]
		if ind2 != co.Industry {
			co.Industries = append(co.Industries, ind2)
		}
	}
	fn := functions[r.intn(len(functions))]
	for i, n := 0, r.between(2, 6); i < n; i++ {
		s := pick(r, fn.Skills)
		if !contains(co.Specialties, s) {
			co.Specialties = append(co.Specialties, s)
		}
	}
	co.FollowersCount = size*r.between(5, 60) + r.intn(500)
	co.Locations = []CompanyOffice{{Street: co.Street, City: ci.Name, Region: ci.Region, PostalCode: co.PostalCode, Country: ci.CountryCode, HQ: true}}
	for i, n := 0, r.intn(3); i < n; i++ {
		c2 := pick(r, cities)
		co.Locations = append(co.Locations, CompanyOffice{Street: fmt.Sprintf("%d %s", 1+r.intn(200), pick(r, streets)), City: c2.Name, Region: c2.Region, PostalCode: c2.PostalPrefix + "10", Country: c2.CountryCode})
	}
	if r.chance(45) {
		f := &Funding{RoundType: pick(r, fundingTypes), Currency: "USD", NumberOfRounds: r.between(1, 6),
			RoundDate:     refTime.AddDate(0, -r.intn(48), -r.intn(28)).Format("2006-01-02"),
			MoneyRaised:   int64(r.between(1, 200)) * 500_000,
			CrunchbaseURL: "https://www.crunchbase.com/organization/" + cc.Handle}
		for i, n := 0, r.between(1, 3); i < n; i++ {
			inv := pick(r, investorNames)
			f.Investors = append(f.Investors, Investor{Name: inv, CrunchbaseURL: "https://www.crunchbase.com/organization/" + slugify(inv)})
		}
		co.Funding = f
	}
	co.AffiliatedCount = int(hashOf(w.seed, kCompany, uint64(c), 5) % 4)
	return co
}

// affiliates and similar companies are other companies picked by hash.
func (w *World) affiliates(c int) []int {
	n := int(hashOf(w.seed, kCompany, uint64(c), 5) % 4)
	out := make([]int, 0, n)
	for i := 0; i < n; i++ {
		o := int(hashOf(w.seed, kCompany, uint64(c), 6, uint64(i)) % uint64(w.NCompanies))
		if o != c {
			out = append(out, o)
		}
	}
	return out
}

func (w *World) similar(c int) []int {
	out := make([]int, 0, 10)
	for i := 0; len(out) < 10 && i < 20; i++ {
		o := int(hashOf(w.seed, kCompany, uint64(c), 7, uint64(i)) % uint64(w.NCompanies))
		if o != c {
			out = append(out, o)
		}
	}
	return out
}

type School struct {
	ID          int64  `json:"schoolId"`
	EntityURN   string `json:"entityUrn"`
	Handle      string `json:"universalName"`
	URL         string `json:"url"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Location    string `json:"location"`
	Alumni      int    `json:"alumniCount"`
	Followers   int    `json:"followerCount"`
	Logo        string `json:"logoUrl"`
	Website     string `json:"websiteUrl"`
}

func (w *World) school(s int) School {
	sc := w.schools[s]
	ci := cities[sc.City]
	alumni := (w.NPeople - s + w.NSchools - 1) / w.NSchools
	return School{ID: sc.ID, EntityURN: fmt.Sprintf("urn:li:fsd_company:%d", sc.ID), Handle: sc.Handle, URL: schoolURL(sc.Handle), Name: sc.Name,
		Description: fmt.Sprintf("%s welcomes students from all over the world in %s.", sc.Name, ci.Name),
		Location:    ci.Name + ", " + ci.Country, Alumni: alumni, Followers: alumni * 12,
		Logo: imageURL("company-logo_200_200", hashOf(w.seed, kSchool, uint64(s))), Website: "https://www." + strings.ReplaceAll(sc.Handle, "-", "") + ".example.edu"}
}

// ---- posts, comments, reactions ----------------------------------------------

type Post struct {
	ActivityID    int64    `json:"activityId"`
	URN           string   `json:"urn"`
	URL           string   `json:"url"`
	Author        Mini     `json:"author"`
	Text          string   `json:"commentary"`
	PublishedAt   int64    `json:"publishedAt"`
	Type          string   `json:"contentType"`
	Media         []string `json:"mediaUrls"`
	Links         []string `json:"links"`
	Reactions     int      `json:"numLikes"`
	Comments      int      `json:"numComments"`
	Reposts       int      `json:"numShares"`
	OriginalURL   string   `json:"resharedPostUrl"`
	JobURL        string   `json:"jobUrl"`
	ImageURL      string   `json:"imageUrl"`
	CompanyID     int64    `json:"authorCompanyId"`
	ViewerReacted string   `json:"viewerReaction,omitempty"`

	slot int
}

func postURL(handle string, act int64) string {
	return fmt.Sprintf("https://www.linkedin.com/posts/%s_activity-%d-%s/", handle, act, base62(uint64(act)%238327, 4))
}

func (w *World) postExists(slot int) bool {
	p := slot / postsPerPersonMax
	if p < 0 || p >= w.NPeople+guestSpan {
		return false
	}
	if w.isGuestPerson(p) && w.guestHandle(p) == "" {
		return false // a guest this simulator has not seen
	}
	return slot%postsPerPersonMax < 1+int(hashOf(w.seed, kPost, uint64(p))%postsPerPersonMax)
}

func (w *World) post(slot int) Post {
	p := slot / postsPerPersonMax
	j := slot % postsPerPersonMax
	r := newRNG(w.seed, kPost, uint64(slot))
	author := w.personLite(p)
	act := w.activityID(slot)
	po := Post{
		ActivityID:  act,
		URN:         fmt.Sprintf("urn:li:activity:%d", act),
		URL:         postURL(author.PublicIdentifier, act),
		Author:      w.mini(author),
		PublishedAt: refTime.Add(-time.Duration(j*9*24+r.intn(8*24)) * time.Hour).UnixMilli(),
		Links:       []string{},
		Media:       []string{},
		CompanyID:   w.compCore(author.company).ID,
		slot:        slot,
	}
	topic := pick(r, postTopics)
	po.Text = fmt.Sprintf("%s %s. #%s #%s", pick(r, postOpeners), topic, strings.ReplaceAll(topic, " ", ""), strings.ToLower(strings.ReplaceAll(functions[author.fn].Name, " ", "")))
	switch r.intn(6) {
	case 0, 1:
		po.Type = "text"
	case 2:
		po.Type = "image"
		po.ImageURL = imageURL("feedshare-shrink_800", hashOf(w.seed, kPost, uint64(slot), 1))
		po.Media = []string{po.ImageURL}
	case 3:
		po.Type = "video"
		po.Media = []string{fmt.Sprintf("https://dms.licdn.com/playlist/vid/v2/%s/mp4-720p/0/%d", base62(hashOf(w.seed, uint64(slot))%1e15, 9), act)}
	case 4:
		po.Type = "article"
		po.Links = []string{fmt.Sprintf("https://blog.%s/%s", companyDomain(slugify(w.compCore(author.company).Handle)), slugify(topic))}
	default:
		po.Type = "repost"
		orig := int(hashOf(w.seed, kPost, uint64(slot), 2) % uint64(w.NPeople))
		po.OriginalURL = postURL(w.handle(orig), w.activityID(orig*postsPerPersonMax))
	}
	if j == 0 && r.chance(20) {
		po.Type = "job"
		jb := w.jobsOfCompany(w.compBase(author.company), 1)
		if len(jb) > 0 {
			po.JobURL = jobURL(w.jobID(jb[0]))
		}
	}
	po.Reactions = r.intn(60)
	if r.chance(15) {
		po.Reactions = 60 + r.intn(900)
	}
	po.Comments = r.intn(po.Reactions/4 + 3)
	if po.Comments > commentsPerPost-100 {
		po.Comments = commentsPerPost - 100
	}
	po.Reposts = r.intn(po.Reactions/10 + 2)
	return po
}

// likers of a post are the first Reactions values of a per-post permutation.
func (w *World) likerPerm(slot int) perm {
	return newPerm(hashOf(w.seed, kPost, uint64(slot), 11), w.NPeople)
}
func (w *World) commenterPerm(slot int) perm {
	return newPerm(hashOf(w.seed, kPost, uint64(slot), 12), w.NPeople)
}

type Comment struct {
	ID        int64  `json:"commentId"`
	URN       string `json:"urn"`
	URL       string `json:"permalink"`
	PostURL   string `json:"postUrl"`
	PostID    int64  `json:"postActivityId"`
	Commenter Mini   `json:"commenter"`
	Text      string `json:"text"`
	CreatedAt int64  `json:"createdAt"`
	Likes     int    `json:"numLikes"`
	Replies   int    `json:"numReplies"`
	LastReply string `json:"lastReplyText"`
	ParentID  int64  `json:"parentCommentId,omitempty"`
	ByAuthor  bool   `json:"byPostAuthor"`
}

func commentURL(act, cid int64) string {
	return fmt.Sprintf("https://www.linkedin.com/feed/update/urn:li:activity:%d?commentUrn=urn%%3Ali%%3Acomment%%3A%%28activity%%3A%d%%2C%d%%29", act, act, cid)
}

func (w *World) comment(slot, k int, commenter int) Comment {
	po := w.post(slot)
	r := newRNG(w.seed, kComment, uint64(slot)*commentsPerPost+uint64(k))
	cid := w.commentID(slot, k)
	c := Comment{ID: cid, URN: fmt.Sprintf("urn:li:comment:(activity:%d,%d)", po.ActivityID, cid), URL: commentURL(po.ActivityID, cid),
		PostURL: po.URL, PostID: po.ActivityID, Commenter: w.mini(w.personLite(commenter)), Text: pick(r, commentTexts),
		CreatedAt: po.PublishedAt + int64(1+r.intn(72*60))*60_000, Likes: r.intn(12), Replies: 0}
	if r.chance(20) {
		c.Replies = 1 + r.intn(4)
		c.LastReply = pick(r, commentTexts)
	}
	c.ByAuthor = commenter == slot/postsPerPersonMax
	return c
}

// ---- mini profile for lists --------------------------------------------------

// Mini is the compact profile card that lists and searches carry.
type Mini struct {
	EntityURN        string   `json:"entityUrn"`
	MemberID         int64    `json:"memberId"`
	PublicIdentifier string   `json:"publicIdentifier"`
	ProfileURL       string   `json:"profileUrl"`
	SalesNavID       string   `json:"salesNavId"`
	FirstName        string   `json:"firstName"`
	LastName         string   `json:"lastName"`
	Headline         string   `json:"headline"`
	Occupation       string   `json:"occupation"`
	CompanyName      string   `json:"companyName"`
	CompanyID        int64    `json:"companyId"`
	CompanyURL       string   `json:"companyUrl"`
	Location         string   `json:"location"`
	ProfilePicture   string   `json:"profilePicture"`
	Distance         string   `json:"memberDistance,omitempty"`
	SharedCount      *int     `json:"sharedConnectionsCount,omitempty"`
	SharedURLs       []string `json:"sharedConnectionUrls,omitempty"`
	Industry         string   `json:"industry,omitempty"`
}

func (w *World) mini(p Person) Mini {
	cc := w.compCore(p.company)
	return Mini{EntityURN: p.EntityURN, MemberID: p.MemberID, PublicIdentifier: p.PublicIdentifier, ProfileURL: p.ProfileURL,
		SalesNavID: p.SalesNavID, FirstName: p.FirstName, LastName: p.LastName, Headline: p.Headline, Occupation: p.Occupation,
		CompanyName: cc.Name, CompanyID: cc.ID, CompanyURL: companyURL(cc.Handle), Location: p.Location.Display, ProfilePicture: p.ProfilePicture}
}

// ---- events, groups, jobs ------------------------------------------------------

type Event struct {
	ID           int64   `json:"eventId"`
	URN          string  `json:"urn"`
	URL          string  `json:"url"`
	Name         string  `json:"name"`
	Description  string  `json:"description"`
	ExternalURL  string  `json:"externalUrl"`
	CreatedAt    int64   `json:"createdAt"`
	StartAt      int64   `json:"startsAt"`
	EndAt        int64   `json:"endsAt"`
	Location     string  `json:"location"`
	Attendees    int     `json:"attendeeCount"`
	Organizer    Mini    `json:"organizer"`
	OrgCompany   Company `json:"-"`
	OrgName      string  `json:"organizerCompanyName"`
	OrgCompanyID int64   `json:"organizerCompanyId"`
	OrgURL       string  `json:"organizerCompanyUrl"`
	Speakers     []Mini  `json:"speakers"`
}

func eventURL(id int64) string { return fmt.Sprintf("https://www.linkedin.com/events/%d/", id) }

func (w *World) event(e int) Event {
	r := newRNG(w.seed, kEvent, uint64(e))
	c := r.intn(w.NCompanies)
	cc := w.companies[c]
	org := int(w.compStart[c]) + r.intn(w.companySize(c))
	topic := pick(r, postTopics)
	id := w.eventID(e)
	start := refTime.Add(time.Duration(r.between(-120, 120)*24+r.intn(10)) * time.Hour).Truncate(time.Hour)
	ev := Event{ID: id, URN: fmt.Sprintf("urn:li:fsd_professionalEvent:%d", id), URL: eventURL(id),
		Name:        fmt.Sprintf("%s %s %s", cc.Name, strings.Title(topic), pick(r, eventWords)), //nolint:staticcheck
		Description: fmt.Sprintf("Join %s for a session on %s with practitioners and Q&A.", cc.Name, topic),
		CreatedAt:   start.AddDate(0, -1, -r.intn(20)).UnixMilli(), StartAt: start.UnixMilli(), EndAt: start.Add(time.Duration(1+r.intn(8)) * time.Hour).UnixMilli(),
		Attendees: r.between(5, 1500), Organizer: w.mini(w.personLite(org)), OrgName: cc.Name, OrgCompanyID: cc.ID, OrgURL: companyURL(cc.Handle)}
	if r.chance(50) {
		ev.Location = "Online"
		ev.ExternalURL = fmt.Sprintf("https://meet.%s/%s", companyDomain(cc.Handle), base62(uint64(id)%1e10, 6))
	} else {
		ci := pick(r, cities)
		ev.Location = ci.Name + ", " + ci.Country
		ev.ExternalURL = fmt.Sprintf("https://www.%s/events/%d", companyDomain(cc.Handle), e)
	}
	for i, n := 0, r.between(1, 4); i < n; i++ {
		ev.Speakers = append(ev.Speakers, w.mini(w.personLite(int(w.compStart[c])+r.intn(w.companySize(c)))))
	}
	return ev
}

func (w *World) attendeePerm(e int) perm {
	return newPerm(hashOf(w.seed, kEvent, uint64(e), 3), w.NPeople)
}

type Group struct {
	ID          int64  `json:"groupId"`
	URN         string `json:"urn"`
	URL         string `json:"url"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Members     int    `json:"memberCount"`
	CreatedAt   int64  `json:"createdAt"`
}

func groupURL(id int64) string { return fmt.Sprintf("https://www.linkedin.com/groups/%d/", id) }

func (w *World) group(g int) Group {
	r := newRNG(w.seed, kGroup, uint64(g))
	ind := pick(r, industries)
	id := w.groupID(g)
	return Group{ID: id, URN: fmt.Sprintf("urn:li:group:%d", id), URL: groupURL(id),
		Name:        fmt.Sprintf("%s %s", ind, pick(r, groupWords)),
		Description: fmt.Sprintf("A place for people working in %s to share news, jobs and advice.", strings.ToLower(ind)),
		Members:     r.between(20, 20000), CreatedAt: refTime.AddDate(-r.between(1, 15), 0, 0).UnixMilli()}
}

func (w *World) memberPerm(g int) perm {
	return newPerm(hashOf(w.seed, kGroup, uint64(g), 3), w.NPeople)
}

type Job struct {
	ID            int64    `json:"jobId"`
	URN           string   `json:"urn"`
	URL           string   `json:"url"`
	Title         string   `json:"title"`
	Description   string   `json:"description"`
	Location      string   `json:"formattedLocation"`
	Remote        bool     `json:"workRemoteAllowed"`
	EmploymentTyp string   `json:"employmentType"`
	Field         string   `json:"jobFunction"`
	Skills        []string `json:"skills"`
	CompanyID     int64    `json:"companyId"`
	CompanyName   string   `json:"companyName"`
	CompanyURL    string   `json:"companyUrl"`
	ApplyURL      string   `json:"applyUrl"`
	Poster        Mini     `json:"poster"`
	ListedAt      int64    `json:"listedAt"`
	RepostedAt    int64    `json:"repostedAt"`
	ExpireAt      int64    `json:"expireAt"`
	Applicants    int      `json:"applies"`
	Sponsored     bool     `json:"sponsored"`
	SourceDomain  string   `json:"sourceDomain"`

	company int
}

func jobURL(id int64) string { return fmt.Sprintf("https://www.linkedin.com/jobs/view/%d/", id) }

// jobsOfCompany: job j belongs to company j % NCompanies.
func (w *World) jobsOfCompany(c, max int) []int {
	var out []int
	for j := c; j < w.NJobs && len(out) < max; j += w.NCompanies {
		out = append(out, j)
	}
	return out
}

func (w *World) job(j int) Job {
	r := newRNG(w.seed, kJob, uint64(j))
	c := j % w.NCompanies
	cc := w.companies[c]
	fn := functions[r.intn(len(functions))]
	id := w.jobID(j)
	ci := pick(r, cities)
	listed := refTime.Add(-time.Duration(r.intn(40*24)) * time.Hour)
	jb := Job{ID: id, URN: fmt.Sprintf("urn:li:fsd_jobPosting:%d", id), URL: jobURL(id), Title: pick(r, fn.Titles),
		Location: ci.Name + ", " + ci.Region + ", " + ci.Country, Remote: r.chance(35), EmploymentTyp: pick(r, jobTypes), Field: fn.Name,
		CompanyID: cc.ID, CompanyName: cc.Name, CompanyURL: companyURL(cc.Handle),
		ListedAt: listed.UnixMilli(), ExpireAt: listed.AddDate(0, 0, 30).UnixMilli(), Applicants: r.intn(400), Sponsored: r.chance(20), company: c}
	jb.Description = fmt.Sprintf("%s is hiring a %s in %s. You will work with a friendly team on %s.", cc.Name, jb.Title, ci.Name, pick(r, postTopics))
	for i, n := 0, r.between(2, 5); i < n; i++ {
		s := pick(r, fn.Skills)
		if !contains(jb.Skills, s) {
			jb.Skills = append(jb.Skills, s)
		}
	}
	if r.chance(50) {
		jb.ApplyURL = fmt.Sprintf("https://careers.%s/jobs/%d", companyDomain(cc.Handle), j)
		jb.SourceDomain = "careers." + companyDomain(cc.Handle)
	} else {
		jb.ApplyURL = jb.URL + "apply/"
		jb.SourceDomain = "www.linkedin.com"
	}
	if r.chance(30) {
		jb.RepostedAt = listed.Add(time.Duration(1+r.intn(72)) * time.Hour).UnixMilli()
	}
	jb.Poster = w.mini(w.personLite(int(w.compStart[c]) + r.intn(w.companySize(c))))
	return jb
}

// ---- certifications ---------------------------------------------------------

type Certification struct {
	Name          string `json:"name"`
	Authority     string `json:"authority"`
	AuthorityURL  string `json:"companyUrl"`
	LicenseNumber string `json:"licenseNumber"`
	URL           string `json:"url"`
	Issued        string `json:"issuedOn"`
	Expires       string `json:"expiresOn"`
}

func (w *World) certifications(p int) []Certification {
	n := w.person(p).Certifications
	out := make([]Certification, 0, n)
	for i := 0; i < n; i++ {
		r := newRNG(w.seed, kCert, uint64(p)*8+uint64(i))
		k := r.intn(len(certNames))
		c := w.companies[r.intn(w.NCompanies)]
		issued := refTime.AddDate(-r.between(0, 8), -r.intn(12), 0)
		cert := Certification{Name: certNames[k], Authority: certIssuers[k], AuthorityURL: companyURL(c.Handle),
			LicenseNumber: strings.ToUpper(base62(hashOf(w.seed, uint64(p), uint64(i))%1e12, 8)),
			URL:           fmt.Sprintf("https://credentials.example.org/verify/%s", base62(hashOf(w.seed, uint64(p), uint64(i), 2)%1e12, 10)),
			Issued:        issued.Format("2006-01-02")}
		if r.chance(50) {
			cert.Expires = issued.AddDate(3, 0, 0).Format("2006-01-02")
		}
		out = append(out, cert)
	}
	return out
}
