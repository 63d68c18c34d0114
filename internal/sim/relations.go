package sim

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
	"time"
)

// An account's own social graph (connections, invitations, followers, threads)
// is generated from its owner's person index, then corrected by the overlay.

func (w *World) relPerm(me int, which uint64) perm {
	return newPerm(hashOf(w.seed, kAccountRel, uint64(me), which), w.NPeople)
}

func (w *World) relCount(me int, which uint64, lo, hi int) int {
	return lo + int(hashOf(w.seed, kAccountRel, uint64(me), which, 99)%uint64(hi-lo+1))
}

const (
	relConn = iota + 1
	relRecv
	relSent
	relFollowers
	relViewers
)

func (w *World) nConnections(me int) int { return w.relCount(me, relConn, 150, 500) }

// connAt is the k-th generated connection (most recent first), never the owner.
func (w *World) connAt(me, k int) int {
	pm := w.relPerm(me, relConn)
	v := pm.at(k)
	if v == me {
		v = pm.at(w.nConnections(me))
	}
	return v
}

// genConnected reports whether p is a generated connection of me, and its rank.
func (w *World) genConnected(me, p int) (int, bool) {
	if p == me || w.isGuestPerson(p) { // guests are in no generated graph
		return 0, false
	}
	n := w.nConnections(me)
	pm := w.relPerm(me, relConn)
	k := pm.index(p)
	if k < n {
		return k, true
	}
	if k == n {
		if j := pm.index(me); j < n {
			return j, true
		}
	}
	return 0, false
}

func (w *World) connectedAtGen(me, k int) int64 {
	return refTime.Add(-time.Duration(k*37+int(hashOf(w.seed, uint64(me), uint64(k))%30)) * time.Hour).UnixMilli()
}

// distance is the platform's degree of p as seen from me.
func (s *Server) distance(name string, me, p int) (string, *int64) {
	if p == me {
		return "SELF", nil
	}
	var at *int64
	s.ov.view(name, func(a *acctState) {
		if t, ok := a.connections[p]; ok {
			at = &t
		}
	})
	if at != nil {
		return "DISTANCE_1", at
	}
	if k, ok := s.w.genConnected(me, p); ok {
		t := s.w.connectedAtGen(me, k)
		return "DISTANCE_1", &t
	}
	if hashOf(s.w.seed, uint64(me), uint64(p), 3)%3 != 0 {
		return "DISTANCE_2", nil
	}
	return "DISTANCE_3", nil
}

func (w *World) sharedConnections(me, p int) int {
	return int(hashOf(w.seed, uint64(me), uint64(p), 4) % 40)
}

// ---- invitations --------------------------------------------------------------

type Invitation struct {
	ID        int64  `json:"invitationId"`
	URN       string `json:"entityUrn"`
	Secret    string `json:"sharedSecret"`
	Message   string `json:"message"`
	SentAt    int64  `json:"sentTime"`
	Direction string `json:"direction"`
	Person    Mini   `json:"profile"`

	p int
}

func (w *World) invitationID(me int, dir string, p int) int64 {
	return invitationBase + int64(hashOf(w.seed, uint64(me), hashString(dir), uint64(p))%1e15)
}

func (s *Server) receivedInvitations(name string, me int) []Invitation {
	w := s.w
	n := w.relCount(me, relRecv, 3, 22)
	pm := w.relPerm(me, relRecv)
	var accepted map[int]int64
	var connected map[int]int64
	s.ov.view(name, func(a *acctState) { accepted, connected = copyMap(a.accepted), copyMap(a.connections) })
	out := make([]Invitation, 0, n)
	for k := 0; k < n; k++ {
		p := pm.at(k)
		if p == me {
			continue
		}
		if _, ok := w.genConnected(me, p); ok {
			continue
		}
		if _, ok := accepted[p]; ok {
			continue
		}
		if _, ok := connected[p]; ok {
			continue
		}
		id := w.invitationID(me, "R", p)
		r := newRNG(w.seed, kAccountRel, uint64(id))
		inv := Invitation{ID: id, URN: fmt.Sprintf("urn:li:fsd_invitation:%d", id), Secret: base62(hashOf(w.seed, uint64(id))%1e15, 9),
			SentAt: refTime.Add(-time.Duration(k*29+r.intn(20)) * time.Hour).UnixMilli(), Direction: "RECEIVED", p: p}
		if r.chance(40) {
			inv.Message = pick(r, messageTexts)
		}
		inv.Person = s.miniFor(name, me, p)
		out = append(out, inv)
	}
	return out
}

func (s *Server) sentInvitations(name string, me int) []Invitation {
	w := s.w
	n := w.relCount(me, relSent, 2, 12)
	pm := w.relPerm(me, relSent)
	var sent map[int]ovInvite
	var withdrawn map[int]bool
	var connected map[int]int64
	s.ov.view(name, func(a *acctState) {
		sent = make(map[int]ovInvite, len(a.sent))
		for k, v := range a.sent {
			sent[k] = v
		}
		withdrawn = make(map[int]bool, len(a.withdrawn))
		for k, v := range a.withdrawn {
			withdrawn[k] = v
		}
		connected = copyMap(a.connections)
	})
	var fresh []Invitation
	for p, iv := range sent {
		fresh = append(fresh, Invitation{ID: iv.ID, URN: fmt.Sprintf("urn:li:fsd_invitation:%d", iv.ID), Message: iv.Message, SentAt: iv.At, Direction: "SENT", p: p,
			Secret: base62(hashOf(w.seed, uint64(iv.ID))%1e15, 9)})
	}
	sort.Slice(fresh, func(i, j int) bool {
		if fresh[i].SentAt != fresh[j].SentAt {
			return fresh[i].SentAt > fresh[j].SentAt
		}
		return fresh[i].ID > fresh[j].ID
	})
	out := fresh
	for k := 0; k < n; k++ {
		p := pm.at(k)
		if p == me || withdrawn[p] {
			continue
		}
		if _, ok := sent[p]; ok {
			continue
		}
		if _, ok := w.genConnected(me, p); ok {
			continue
		}
		if _, ok := connected[p]; ok {
			continue
		}
		id := w.invitationID(me, "S", p)
		out = append(out, Invitation{ID: id, URN: fmt.Sprintf("urn:li:fsd_invitation:%d", id), Direction: "SENT", p: p,
			SentAt: refTime.Add(-time.Duration(k*41+5) * time.Hour).UnixMilli(), Secret: base62(hashOf(w.seed, uint64(id))%1e15, 9)})
	}
	for i := range out {
		out[i].Person = s.miniFor(name, me, out[i].p)
	}
	return out
}

func copyMap[K comparable, V any](m map[K]V) map[K]V {
	c := make(map[K]V, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// ---- messaging ----------------------------------------------------------------

func (w *World) threadID(me, p int) string {
	var b [8]byte
	binary.BigEndian.PutUint32(b[:4], w.enc(kThread, me))
	binary.BigEndian.PutUint32(b[4:], w.enc(kThread, p))
	return "2-" + base64.RawURLEncoding.EncodeToString(b[:]) + "=="
}

func threadURL(id string) string { return "https://www.linkedin.com/messaging/thread/" + id + "/" }

func (w *World) parseThreadID(id string) (me, p int, ok bool) {
	id = strings.TrimSuffix(strings.TrimPrefix(id, "2-"), "==")
	b, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil || len(b) != 8 {
		return 0, 0, false
	}
	me, ok1 := w.dec(kThread, uint64(binary.BigEndian.Uint32(b[:4])), w.NPeople)
	p, ok2 := w.dec(kThread, uint64(binary.BigEndian.Uint32(b[4:])), w.NPeople+guestSpan)
	if ok2 && w.isGuestPerson(p) {
		_, ok2 = w.guestPeople.key(p)
	}
	return me, p, ok1 && ok2
}

func (w *World) nThreads(me int) int { return w.relCount(me, kThread, 12, 40) }

type Message struct {
	ID          string `json:"messageId"`
	URN         string `json:"entityUrn"`
	ThreadID    string `json:"threadId"`
	Sender      Mini   `json:"sender"`
	Text        string `json:"body"`
	Subject     string `json:"subject,omitempty"`
	Kind        string `json:"messageType"`
	CreatedAt   int64  `json:"createdAt"`
	DeliveredAt int64  `json:"deliveredAt"`
	Attachments []any  `json:"attachments"`
	Position    int    `json:"position"`
	fromMe      bool
}

type Conversation struct {
	ThreadID     string  `json:"threadId"`
	URL          string  `json:"threadUrl"`
	Participants []Mini  `json:"participants"`
	Read         bool    `json:"read"`
	UnreadCount  int     `json:"unreadCount"`
	Received     int     `json:"receivedCount"`
	CreatedAt    int64   `json:"createdAt"`
	LastActivity int64   `json:"lastActivityAt"`
	LastMessage  Message `json:"lastMessage"`
	Sponsored    bool    `json:"sponsored"`
	Archived     bool    `json:"archived"`

	p int
}

// genThread reports whether me has a generated conversation with p, and its rank.
func (w *World) genThread(me, p int) (int, bool) {
	k, ok := w.genConnected(me, p)
	return k, ok && k < w.nThreads(me)
}

// messages returns the whole thread, oldest first.
func (s *Server) messages(name string, me, p int) []Message {
	w := s.w
	tid := w.threadID(me, p)
	meMini := w.mini(w.personLite(me))
	other := w.mini(w.personLite(p))
	var out []Message
	if k, ok := w.genThread(me, p); ok {
		r := newRNG(w.seed, kThread, uint64(me)<<20^uint64(p))
		m := 1 + r.intn(8)
		last := refTime.Add(-time.Duration(k*19) * time.Hour)
		fromMe := r.chance(50)
		for i := 0; i < m; i++ {
			at := last.Add(-time.Duration((m-1-i)*(3+r.intn(20))) * time.Hour).UnixMilli()
			msg := Message{ID: fmt.Sprintf("2-%s", base62(hashOf(w.seed, uint64(me), uint64(p), uint64(i))%1e17, 12)), ThreadID: tid,
				Text: pick(r, messageTexts), Kind: "MEMBER_TO_MEMBER", CreatedAt: at, DeliveredAt: at + 800, fromMe: fromMe, Attachments: []any{}}
			if r.chance(10) {
				msg.Attachments = append(msg.Attachments, map[string]any{"type": "FILE", "assetUrn": fmt.Sprintf("urn:li:digitalmediaAsset:%s", base62(hashOf(w.seed, uint64(i), uint64(p))%1e15, 9)),
					"byteSize": 20000 + r.intn(900000), "mediaType": "application/pdf", "name": "document.pdf"})
			}
			out = append(out, msg)
			fromMe = !fromMe
		}
	}
	s.ov.view(name, func(a *acctState) {
		if t := a.threads[p]; t != nil {
			for _, m := range t.Messages {
				kind := "MEMBER_TO_MEMBER"
				if m.Kind != "" {
					kind = m.Kind
				}
				var att []any
				for _, f := range m.Files {
					att = append(att, map[string]any{"type": "FILE", "assetUrn": f.URN, "byteSize": f.Size, "mediaType": f.Type, "name": f.Name})
				}
				if att == nil {
					att = []any{}
				}
				out = append(out, Message{ID: m.ID, ThreadID: tid, Text: m.Text, Subject: m.Subject, Kind: kind, CreatedAt: m.At, DeliveredAt: m.At, fromMe: m.FromMe, Attachments: att})
			}
		}
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt < out[j].CreatedAt })
	for i := range out {
		out[i].Position = i
		out[i].URN = fmt.Sprintf("urn:li:msg_message:(urn:li:fsd_profile:%s,%s)", w.salesNavID(me), out[i].ID)
		if out[i].fromMe {
			out[i].Sender = meMini
		} else {
			out[i].Sender = other
		}
	}
	return out
}

// conversations lists the inbox, most recent activity first.
func (s *Server) conversations(name string, me int) []Conversation {
	w := s.w
	n := w.nThreads(me)
	peers := map[int]bool{}
	for k := 0; k < n; k++ {
		peers[w.connAt(me, k)] = true
	}
	states := map[int]ovThread{}
	s.ov.view(name, func(a *acctState) {
		for p, t := range a.threads {
			peers[p] = true
			states[p] = *t
		}
	})
	var out []Conversation
	for p := range peers {
		st := states[p]
		if st.Archived {
			continue
		}
		msgs := s.messages(name, me, p)
		if len(msgs) == 0 {
			continue
		}
		last := msgs[len(msgs)-1]
		c := Conversation{ThreadID: w.threadID(me, p), URL: threadURL(w.threadID(me, p)), Participants: []Mini{s.miniFor(name, me, p)},
			CreatedAt: msgs[0].CreatedAt, LastActivity: last.CreatedAt, LastMessage: last, p: p}
		for _, m := range msgs {
			if !m.fromMe {
				c.Received++
			}
		}
		unread := !last.fromMe && hashOf(w.seed, uint64(me), uint64(p), 8)%3 == 0
		if st.Read != nil {
			unread = !*st.Read
		}
		c.Read = !unread
		if unread {
			c.UnreadCount = 1
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].LastActivity != out[j].LastActivity {
			return out[i].LastActivity > out[j].LastActivity
		}
		return out[i].p < out[j].p
	})
	return out
}

// ---- per-viewer decorations ----------------------------------------------------

func (s *Server) miniFor(name string, me, p int) Mini {
	m := s.w.mini(s.w.personLite(p))
	m.Distance, _ = s.distance(name, me, p)
	sc := s.w.sharedConnections(me, p)
	m.SharedCount = &sc
	if m.Distance != "DISTANCE_1" && m.Distance != "SELF" {
		// a few of the shared connections, taken from the viewer's own
		n := s.w.nConnections(me)
		for i := 0; i < min(sc, 3); i++ {
			k := int(hashOf(s.w.seed, uint64(me), uint64(p), uint64(i), 0x5c) % uint64(n))
			m.SharedURLs = append(m.SharedURLs, personURL(s.w.handle(s.w.connAt(me, k))))
		}
	}
	return m
}
