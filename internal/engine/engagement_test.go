package engine

import (
	"testing"

	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
)

func TestPriceEngagement(t *testing.T) {
	get := func(slug string) *catalog.Action {
		a, ok := catalog.Get(slug)
		if !ok {
			t.Fatal(slug)
		}
		return a
	}
	eng := &store.Account{Identity: model.Identity{Type: model.IdentityEngagement}}
	std := &store.Account{Identity: model.Identity{Type: model.IdentityStandard}}
	msg, people, contact, hs := get("linkedin-message-profile"), get("linkedin-extract-people"), get("linkedin-extract-contact"),
		get("hubspot-upsert-contact")
	for _, c := range []struct {
		a    *catalog.Action
		mode string
		acc  *store.Account
		want int64
	}{
		{msg, ModeDirect, eng, 0},
		{msg, ModeAuto, eng, 0},
		{msg, ModeDirect, std, 1000},
		{msg, ModeDirect, nil, 1000},
		{people, ModeDirect, eng, 1000}, // extraction is not covered by the seat
		{contact, ModeDirect, eng, 2000},
		{people, ModeManaged, std, 1500},
		{hs, ModeDirect, eng, 0},
	} {
		if got := Price(c.a, c.mode, c.acc); got != c.want {
			t.Errorf("%s %s %v: %d, want %d", c.a.Slug, c.mode, c.acc, got, c.want)
		}
	}
	if p := maxPrice(msg, ModeAuto, []store.Account{*eng, *eng}); p != 0 {
		t.Errorf("all engagement: %d", p)
	}
	if p := maxPrice(msg, ModeAuto, []store.Account{*eng, *std}); p != 1000 {
		t.Errorf("mixed: %d", p)
	}
	if p := maxPrice(msg, ModeAuto, nil); p != 1000 {
		t.Errorf("none: %d", p)
	}
}
