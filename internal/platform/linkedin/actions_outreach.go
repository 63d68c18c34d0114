package linkedin

import (
	"crypto/rand"
	"fmt"
	"strings"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/platform"
)

// ---- outreach ------------------------------------------------------------------------------------

// maxNote is LinkedIn's limit on an invitation note.
const maxNote = 300

func connectProfile(c *callCtx) (platform.Page, error) {
	note := strings.TrimSpace(c.paramS("message"))
	if n := len([]rune(note)); n > maxNote {
		return platform.Page{}, apperr.BadParameters("message: LinkedIn takes invitation notes of at most %d characters (this one has %d)", maxNote, n)
	}
	handle, err := profileHandle("linkedin_profile_url", c.in("linkedin_profile_url"))
	if err != nil {
		return platform.Page{}, err
	}
	pi, err := c.s.profile(handle)
	if err != nil {
		return platform.Page{}, err
	}
	ni, err := c.s.networkInfo(handle)
	if err != nil {
		return platform.Page{}, err
	}
	if c.dry {
		return platform.Page{Results: []map[string]any{}}, nil
	}
	out := map[string]any{"sales_navigator_profile_id": pi.id, "connected": false, "pending": false, "recently_declined": false}
	switch ni.S("distance.value") {
	case "SELF":
		return platform.Page{}, apperr.BadInput("linkedin_profile_url: this is the account's own profile")
	case "DISTANCE_1":
		out["connected"] = true
		return one(out), nil
	}
	body := map[string]any{"invitee": map[string]any{"inviteeUnion": map[string]any{"memberProfile": "urn:li:fsd_profile:" + pi.id}}}
	if note != "" {
		body["customMessage"] = note
	}
	if _, err := c.s.call("connect", nil, body); err != nil {
		e, ok := apperr.As(err)
		if !ok || e.Params[platform.ParamUpstreamCode] != "CANT_RESEND_YET" {
			return platform.Page{}, err
		}
		// An invitation went out recently: still pending, or withdrawn or
		// declined (LinkedIn refuses a new one for some weeks either way).
		pending, err := c.s.invitationPending(pi.id)
		if err != nil {
			return platform.Page{}, err
		}
		out["pending"], out["recently_declined"] = pending, !pending
		return one(out), nil
	}
	out["pending"] = true
	if note != "" {
		out["message"] = note
	}
	return one(out), nil
}

// invitationPending looks for a pending sent invitation to a profile (the
// first pages of the sent invitations, newest first).
func (s *session) invitationPending(profileID string) (bool, error) {
	for start := 0; start < 500; start += 100 {
		n, els, _, err := s.sentInvitations(start, 100)
		if err != nil {
			return false, err
		}
		for _, inv := range els {
			if to := n.ref(inv, "*toMember"); to != nil && urnID(to.S("entityUrn")) == profileID {
				return true, nil
			}
		}
		if len(els) < 100 {
			break
		}
	}
	return false, nil
}

func uuid4() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func messageProfile(c *callCtx) (platform.Page, error) {
	if f, ok := c.param("files").([]any); ok && len(f) > 0 {
		return platform.Page{}, apperr.BadParameters("files: the LinkedIn session driver does not send attachments; send the message without files")
	}
	text := strings.TrimSpace(c.paramS("message"))
	if text == "" {
		return platform.Page{}, apperr.BadParameters("message: a message needs a text")
	}
	pi, err := c.profile()
	if err != nil {
		return platform.Page{}, err
	}
	if c.dry {
		return platform.Page{Results: []map[string]any{}}, nil
	}
	body := map[string]any{"keyVersion": "LEGACY_INBOX", "conversationCreate": map[string]any{
		"eventCreate": map[string]any{"originToken": uuid4(), "value": map[string]any{
			"com.linkedin.voyager.messaging.create.MessageCreate": map[string]any{
				"attributedBody": map[string]any{"text": text, "attributes": []any{}}, "attachments": []any{}}}},
		"recipients": []string{pi.id}, "subtype": "MEMBER_TO_MEMBER"}}
	a, err := c.s.call("message", nil, body)
	if err != nil {
		return platform.Page{}, err
	}
	for _, p := range []string{"data.value.conversationUrn", "data.value.eventUrn"} {
		if !a.body.Has(p) {
			return platform.Page{}, brokenShape("message", p)
		}
	}
	v := a.body.O("data.value")
	tid := urnID(v.S("conversationUrn"))
	at, ok := v.I("createdAt")
	return one(map[string]any{"message": text, "sales_navigator_profile_id": pi.id, "linkedin_thread_id": tid,
		"linkedin_thread_url": threadURL(tid), "is_sent": true, "delivered_at": ms(at, ok),
		"linkedin_message_id": urnID(v.S("eventUrn")), "attachments": []any{}}), nil
}
