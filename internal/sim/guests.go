package sim

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Guests. A key the generated world does not hold (a vanity name nobody in
// the world has, an id outside its ranges) is answered for as asked: the
// entity's URL, id and name come from the key (/in/ada-lovelace is Ada
// Lovelace at that URL), and everything else is borrowed from the world
// entity the key hashes to, so the same key always gives the same answer.
//
// People and companies are guests through and through: they get an index
// past the world's (recorded in a registry, so that the ids derived from it
// lead back to them), their posts and writes to them (invitations,
// messages, follows) are theirs, and a guest company's employees are
// guests too, one per employee of the company it borrows from, named like
// them and working at the guest company (handle <their handle>-at-<company>).
// An id derived from a guest's index (member id, post id) leads back to it
// once the simulator has seen the guest (asked for it, or written to it,
// which the data file keeps); the Sales Navigator id and the URLs always do. Other entities (schools,
// posts, events, groups, jobs, places, hotels, restaurants) answer with the
// asked identity when extracted, around a borrowed body.

// guestSpan bounds the guest indexes of a kind: [n, n+guestSpan) after the
// world's n entities. Indexes stay within 32 bits for the id codecs.
const guestSpan = 1 << 30

// registry maps guest indexes to their keys. An index is the key's hash in
// the guest range (the next free one on a collision), so a key's index does
// not depend on history except for colliding keys.
type registry struct {
	mu    sync.RWMutex
	base  int
	byIdx map[int]string
	byKey map[string]int
}

func newRegistry(base int) *registry {
	return &registry{base: base, byIdx: map[int]string{}, byKey: map[string]int{}}
}

// index returns the key's guest index, registering it.
func (g *registry) index(key string) int {
	g.mu.RLock()
	idx, ok := g.byKey[key]
	g.mu.RUnlock()
	if ok {
		return idx
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if idx, ok := g.byKey[key]; ok {
		return idx
	}
	start := int(hashString("guest:"+key) % guestSpan)
	for i := 0; ; i++ {
		idx := g.base + (start+i)%guestSpan
		if _, taken := g.byIdx[idx]; !taken {
			g.byIdx[idx], g.byKey[key] = key, idx
			return idx
		}
	}
}

// key returns the key of a guest index, when it was registered.
func (g *registry) key(idx int) (string, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	k, ok := g.byIdx[idx]
	return k, ok
}

// force records an index replayed from the data file.
func (g *registry) force(idx int, key string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.byIdx[idx], g.byKey[key] = key, idx
}

// titleWords turns a vanity name into words: "ada-lovelace" -> [Ada
// Lovelace]. Parts that look like ids (digits, or hexadecimal with a
// digit, as LinkedIn appends to taken names) are dropped.
func titleWords(key string) []string {
	var out []string
	for _, part := range strings.FieldsFunc(key, func(r rune) bool { return r == '-' || r == '_' || r == '.' || r == ' ' || r == '+' }) {
		if looksLikeID(part) {
			continue
		}
		r, n := utf8.DecodeRuneInString(part)
		out = append(out, string(unicode.ToUpper(r))+strings.ToLower(part[n:]))
	}
	return out
}

func looksLikeID(s string) bool {
	digits, hex := 0, true
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case (r >= 'a' && r <= 'f') || (r >= 'A' && r <= 'F'):
		default:
			hex = false
		}
	}
	return digits == len(s) || (hex && digits > 0 && len(s) >= 6)
}

// guestKey normalises a vanity name: platforms compare them without case.
func guestKey(id string) string { return strings.ToLower(cleanKey(id)) }

// ---- people ------------------------------------------------------------------

// guestPerson is what a guest person's handle says.
type guestPerson struct {
	handle      string
	base        int // the world person whose attributes it borrows
	first, last string
	company     int // its company: a guest company for employees of one, else base's
}

const employeeOf = "-at-"

// parseGuestPerson reads a guest handle. "<world handle>-at-<company>" is an
// employee of the guest company <company> when the world person works at
// the company it borrows from.
func (w *World) parseGuestPerson(handle string) guestPerson {
	for i := strings.Index(handle, employeeOf); i > 0; {
		if b, ok := w.personByHandle(handle[:i]); ok {
			if c := w.guestCompanyIndex(handle[i+len(employeeOf):]); c >= 0 && w.compBase(c) == w.companyOf(b) {
				lite := w.personLite(b)
				return guestPerson{handle: handle, base: b, first: lite.FirstName, last: lite.LastName, company: c}
			}
		}
		j := strings.Index(handle[i+1:], employeeOf)
		if j < 0 {
			break
		}
		i += 1 + j
	}
	g := guestPerson{handle: handle, base: alias("person:"+handle, w.NPeople)}
	g.company = w.companyOf(g.base)
	if words := titleWords(handle); len(words) > 0 {
		g.first, g.last = words[0], strings.Join(words[1:], " ")
	} else {
		lite := w.personLite(g.base)
		g.first, g.last = lite.FirstName, lite.LastName
	}
	return g
}

// guestPersonIndex registers a guest handle and returns its index.
func (w *World) guestPersonIndex(handle string) int { return w.guestPeople.index(handle) }

func (w *World) isGuestPerson(p int) bool { return p >= w.NPeople }

// guestHandle is the handle of a guest person ("" for a world person).
func (w *World) guestHandle(p int) string {
	if !w.isGuestPerson(p) {
		return ""
	}
	h, _ := w.guestPeople.key(p)
	return h
}

// guestSalesPrefix starts the Sales Navigator id of a guest: the id carries
// the handle, so it leads back to the guest whatever the simulator saw.
const guestSalesPrefix = "ACoAA"

func guestSalesNavID(handle string) string {
	return guestSalesPrefix + base64.RawURLEncoding.EncodeToString([]byte(handle))
}

func handleFromSalesNavID(s string) (string, bool) {
	if !strings.HasPrefix(s, guestSalesPrefix) {
		return "", false
	}
	h, err := base64.RawURLEncoding.DecodeString(s[len(guestSalesPrefix):])
	if err != nil || len(h) == 0 || !utf8.Valid(h) {
		return "", false
	}
	return string(h), true
}

// guestLite is personLite for a guest: the borrowed person with the
// guest's identity.
func (w *World) guestLite(p int) Person {
	h := w.guestHandle(p)
	g := w.parseGuestPerson(h)
	ps := w.personLite(g.base)
	w.asGuest(&ps, p, g)
	return ps
}

// asGuest gives a borrowed profile the guest's identity.
func (w *World) asGuest(ps *Person, p int, g guestPerson) {
	from := w.compCore(ps.company)
	ps.idx = p
	ps.posts = 1 + int(hashOf(w.seed, kPost, uint64(p))%postsPerPersonMax) // its own, as a world person's
	ps.MemberID = w.memberID(p)
	ps.SalesNavID = guestSalesNavID(g.handle)
	ps.EntityURN = "urn:li:fsd_profile:" + ps.SalesNavID
	ps.ObjectURN = fmt.Sprintf("urn:li:member:%d", ps.MemberID)
	ps.PublicIdentifier = g.handle
	ps.ProfileURL = personURL(url.PathEscape(g.handle))
	ps.FirstName, ps.LastName = g.first, g.last
	ps.ProfilePicture = imageURL("profile-displayphoto-shrink_400_400", hashOf(w.seed, kPerson, uint64(p)))
	if g.company != ps.company {
		to := w.compCore(g.company)
		ps.Headline = strings.ReplaceAll(ps.Headline, from.Name, to.Name)
		ps.company = g.company
	}
}

// ---- companies ---------------------------------------------------------------

// guestCompanyIndex is the index of a guest company key (-1 for a key the
// world holds, or none).
func (w *World) guestCompanyIndex(key string) int {
	key = guestKey(key)
	if key == "" || isMissing(key) {
		return -1
	}
	if _, ok := w.compByHandle[key]; ok {
		return -1
	}
	if n, err := strconv.ParseInt(key, 10, 64); err == nil {
		if _, ok := w.compByID[n]; ok {
			return -1
		}
		if c, ok := w.companyByGuestID(n); ok {
			return c
		}
	}
	return w.guestCompanies.index(key)
}

func (w *World) isGuestCompany(c int) bool { return c >= w.NCompanies }

// compBase is the world company whose attributes and employees a company
// has: itself, or the one a guest borrows from.
func (w *World) compBase(c int) int {
	if !w.isGuestCompany(c) {
		return c
	}
	k, _ := w.guestCompanies.key(c)
	return alias("company:"+k, w.NCompanies)
}

// Guest company ids sit above the world's, and decode back to the index.
const guestCompanyIDBase = 1_000_000_000

func (w *World) guestCompanyID(c int) int64 {
	k, _ := w.guestCompanies.key(c)
	if n, err := strconv.ParseInt(k, 10, 64); err == nil && n > 0 {
		return n // asked for by its id
	}
	return guestCompanyIDBase + int64(w.enc(kCompany, c))
}

func (w *World) companyByGuestID(id int64) (int, bool) {
	if id < guestCompanyIDBase {
		return 0, false
	}
	c, ok := w.dec(kCompany, uint64(id-guestCompanyIDBase), w.NCompanies+guestSpan)
	if !ok || !w.isGuestCompany(c) {
		return 0, false
	}
	_, known := w.guestCompanies.key(c)
	return c, known
}

// compCore is a company's identity, world or guest.
func (w *World) compCore(c int) companyCore {
	if !w.isGuestCompany(c) {
		return w.companies[c]
	}
	k, _ := w.guestCompanies.key(c)
	name := strings.Join(titleWords(k), " ")
	if name == "" {
		name = w.companies[w.compBase(c)].Name
	}
	return companyCore{ID: w.guestCompanyID(c), Handle: k, Name: name}
}

// compBlock is the range of world people employed by a company's base.
func (w *World) compBlock(c int) (int, int) {
	b := w.compBase(c)
	return int(w.compStart[b]), int(w.compStart[b+1])
}

// employee is the k-th employee of a company as that company lists them: a
// world person, or for a guest company the guest working there in their
// stead.
func (w *World) employee(c, p int) int {
	if !w.isGuestCompany(c) {
		return p
	}
	k, _ := w.guestCompanies.key(c)
	return w.guestPersonIndex(w.handle(p) + employeeOf + k)
}

// guestCompany is company() for a guest: the borrowed company with the
// guest's identity.
func (w *World) guestCompany(c int) Company {
	co := w.company(w.compBase(c))
	from, to := co.Name, w.compCore(c)
	co.idx = c
	co.ID, co.Handle, co.Name = to.ID, to.Handle, to.Name
	co.EntityURN = fmt.Sprintf("urn:li:fsd_company:%d", co.ID)
	co.URL = companyURL(url.PathEscape(to.Handle))
	co.SalesNavURL = fmt.Sprintf("https://www.linkedin.com/sales/company/%d", co.ID)
	domain := companyDomain(slugify(to.Handle))
	co.Website, co.Domain = "https://www."+domain, domain
	co.Description = strings.ReplaceAll(co.Description, from, to.Name)
	co.Logo = imageURL("company-logo_200_200", hashOf(w.seed, kCompany, uint64(c)))
	if co.Funding != nil {
		f := *co.Funding
		f.CrunchbaseURL = "https://www.crunchbase.com/organization/" + slugify(to.Handle)
		co.Funding = &f
	}
	return co
}

// ---- the others: the asked identity around a borrowed body -------------------

// schoolAs is school s, or for a guest key the school of that name.
func (w *World) schoolAs(s int, key string) School {
	sc := w.school(s)
	if key == "" {
		return sc
	}
	from := sc.Name
	if name := strings.Join(titleWords(key), " "); name != "" {
		sc.Name = name
	}
	sc.ID = int64(10_000_000 + hashString("school:"+key)%1_000_000_000)
	if n, err := strconv.ParseInt(key, 10, 64); err == nil && n > 0 {
		sc.ID = n
	}
	sc.Handle = key
	sc.EntityURN = fmt.Sprintf("urn:li:fsd_company:%d", sc.ID)
	sc.URL = schoolURL(url.PathEscape(key))
	sc.Description = strings.ReplaceAll(sc.Description, from, sc.Name)
	sc.Website = "https://www." + strings.ReplaceAll(slugify(key), "-", "") + ".example.edu"
	return sc
}

// eventAs, groupAs and jobAs answer an id the world does not hold (guest
// not 0) with that id.
func (w *World) eventAs(e int, guest int64) Event {
	ev := w.event(e)
	if guest != 0 {
		ev.ID, ev.URN, ev.URL = guest, fmt.Sprintf("urn:li:fsd_professionalEvent:%d", guest), eventURL(guest)
	}
	return ev
}

func (w *World) groupAs(g int, guest int64) Group {
	gr := w.group(g)
	if guest != 0 {
		gr.ID, gr.URN, gr.URL = guest, fmt.Sprintf("urn:li:group:%d", guest), groupURL(guest)
	}
	return gr
}

func (w *World) jobAs(j int, guest int64) Job {
	jb := w.job(j)
	if guest != 0 {
		apply := strings.HasPrefix(jb.ApplyURL, jb.URL)
		jb.ID, jb.URN, jb.URL = guest, fmt.Sprintf("urn:li:fsd_jobPosting:%d", guest), jobURL(guest)
		if apply {
			jb.ApplyURL = jb.URL + "apply/"
		}
	}
	return jb
}

// guestPlacePrefix starts the id of a place asked for by name: the id
// carries the name, so that the place's own URL leads back to it.
const guestPlacePrefix = "ChIJ_"

// placeAs is a guest place: key is a place id the world does not hold, or
// a name (from /maps/place/<name>/).
func (w *World) placeAs(p int, key string) Place {
	pl := w.place(p)
	from := pl.Name
	switch {
	case strings.HasPrefix(key, guestPlacePrefix):
		if name, err := base64.RawURLEncoding.DecodeString(key[len(guestPlacePrefix):]); err == nil && utf8.Valid(name) && len(name) > 0 {
			pl.Name = string(name)
		}
		pl.PlaceID = key
	case strings.HasPrefix(key, "ChIJ"):
		pl.PlaceID = key
	case key != "":
		pl.Name = strings.Join(strings.Fields(strings.ReplaceAll(key, "+", " ")), " ")
		pl.PlaceID = guestPlacePrefix + base64.RawURLEncoding.EncodeToString([]byte(pl.Name))
	}
	pl.URL = placeURL(pl.Name, pl.PlaceID)
	pl.CID = fmt.Sprintf("0x%x", hashString("place:"+pl.PlaceID))
	if pl.Website != "" {
		pl.Website = fmt.Sprintf("https://www.%s.example.com/", slugify(pl.Name))
	}
	pl.Description = strings.ReplaceAll(pl.Description, from, pl.Name)
	return pl
}

// The page URL of a guest property or restaurant, when the caller gave it:
// TripAdvisor's Hotel_Review-g<geo>-d<id>-Reviews-<Name>-<Place>.html and
// TheFork's /restaurant/<name>-r<id>.
var (
	taPageRE   = regexp.MustCompile(`^https?://(?:[\w-]+\.)*tripadvisor\.[a-z.]+/(?:Hotel|Restaurant)_Review-g(\d+)-d(\d+)-Reviews-([^-/?#]+)`)
	forkPageRE = regexp.MustCompile(`^https?://(?:[\w-]+\.)*thefork\.[a-z.]+/restaurant/([^/?#]+)-r(\d+)`)
)

func pageURLWithoutQuery(raw string) string {
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		return raw[:i]
	}
	return raw
}

// guestProperty picks the borrowed property of a guest: one in the city of
// the page's geo, when the world has that city.
func (w *World) guestProperty(h int, pageURL string, n int) int {
	m := taPageRE.FindStringSubmatch(pageURL)
	if m == nil {
		return h
	}
	geo, _ := strconv.Atoi(m[1])
	for ci, c := range cities {
		if c.GeoID == geo {
			perCity := (n - ci + len(cities) - 1) / len(cities)
			return ci + len(cities)*(h%perCity)
		}
	}
	return h
}

// propertyAs is a guest TripAdvisor property: the asked id (when numeric)
// and, from its page URL, its name and URL; a borrowed body.
func (w *World) propertyAs(p Property, id int64, pageURL string) Property {
	if id <= 0 {
		return p
	}
	kind := "Hotel"
	if p.Kind == "restaurant" {
		kind = "Restaurant"
	}
	from := p.Name
	p.ID = id
	p.URL = taPropertyURL(kind, p.GeoID, id, p.Name, p.City)
	if m := taPageRE.FindStringSubmatch(pageURL); m != nil && m[2] == strconv.FormatInt(id, 10) {
		if name := strings.Join(titleWords(strings.ReplaceAll(m[3], "_", " ")), " "); name != "" {
			p.Name = name
		}
		p.URL = pageURLWithoutQuery(pageURL)
	}
	p.ReviewsURL = p.URL
	if p.Name != from {
		compact := strings.ReplaceAll(slugify(p.Name), "-", "")
		p.Email = "contact@" + compact + ".example.com"
		p.Website = "https://www." + compact + ".example.com"
		p.Description = strings.ReplaceAll(p.Description, from, p.Name)
	}
	return p
}

// forkAs is a guest TheFork restaurant: the asked id and, from its page
// URL, its name and URL.
func (w *World) forkAs(fr ForkRestaurant, id int64, pageURL string) ForkRestaurant {
	if id <= 0 {
		return fr
	}
	fr.ID, fr.URL = id, forkURL(fr.Name, id)
	if m := forkPageRE.FindStringSubmatch(pageURL); m != nil && m[2] == strconv.FormatInt(id, 10) {
		if name := strings.Join(titleWords(m[1]), " "); name != "" {
			fr.Name = name
		}
		fr.URL = pageURLWithoutQuery(pageURL)
	}
	return fr
}
