package platform

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/apperr"
)

func TestFromStatus(t *testing.T) {
	cases := []struct {
		family     string
		status     int
		code, ra   string
		label      string
		transient  bool
		expired    bool
		retryAfter int
	}{
		{FamilyLinkedIn, 401, "SESSION_EXPIRED", "", LabelNotConnected, false, true, 0},
		{FamilyLinkedIn, 403, "ACCOUNT_RESTRICTED", "", Label403, false, false, 0},
		{FamilyLinkedIn, 403, "SALES_NAVIGATOR_REQUIRED", "", LabelSNUpgrade, false, false, 0},
		{FamilyLinkedIn, 404, "", "", Label404, false, false, 0},
		{FamilyLinkedIn, 429, "", "7", Label429, true, false, 7},
		{FamilyOther, 429, "", "soon", Label429, true, false, 60},
		{FamilyLinkedIn, 503, "", "", LabelLKError, true, false, 0},
		{FamilyOther, 500, "", "", LabelGeneric, true, false, 0},
		{FamilyLinkedIn, 400, "", "", LabelLKError, false, false, 0},
		{FamilyLinkedIn, 504, "", "", LabelLK524, true, false, 0},
		{FamilyLinkedIn, 407, "", "", LabelProxy, true, false, 0},
	}
	for _, c := range cases {
		err := FromStatus(c.family, c.status, c.code, "msg", c.ra)
		if err.Label != c.label || err.Status != 424 || Transient(err) != c.transient || IsSessionExpired(err) != c.expired || RetryAfter(err) != c.retryAfter {
			t.Errorf("%s %d %s: got %s transient=%v expired=%v retry=%d", c.family, c.status, c.code, err.Label, Transient(err), IsSessionExpired(err), RetryAfter(err))
		}
		for k, v := range err.Params {
			if k == "" || v == "" {
				t.Errorf("empty param %q=%q", k, v)
			}
		}
	}
}

func TestFromTransport(t *testing.T) {
	proxy := &url.Error{Op: "Get", URL: "http://x", Err: &net.OpError{Op: "proxyconnect", Net: "tcp", Err: errors.New("connection refused")}}
	if e, _ := apperr.As(FromTransport(FamilyLinkedIn, proxy)); e == nil || e.Label != LabelProxy || !Transient(e) {
		t.Fatalf("proxy: %v", e)
	}
	dl := &url.Error{Op: "Get", URL: "http://x", Err: context.DeadlineExceeded}
	if e, _ := apperr.As(FromTransport(FamilyOther, dl)); e == nil || e.Label != LabelLK524 {
		t.Fatalf("deadline: %v", e)
	}
	refused := &url.Error{Op: "Get", URL: "http://x", Err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}}
	if e, _ := apperr.As(FromTransport(FamilyOther, refused)); e == nil || e.Label != LabelGeneric || !Transient(e) {
		t.Fatalf("refused: %v", e)
	}
	if err := FromTransport(FamilyOther, fmt.Errorf("wrapped: %w", context.Canceled)); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
	if Transient(errors.New("plain")) || Transient(NoResult("nothing")) || Transient(apperr.BadInput("x")) {
		t.Fatal("permanent errors reported transient")
	}
	if Family("salesnavigator") != FamilyLinkedIn || Family("thefork") != FamilyOther {
		t.Fatal("family")
	}
}
