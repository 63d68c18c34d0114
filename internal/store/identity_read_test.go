package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// GetIdentityWithIntegrations answers in one query what GetIdentity and
// IntegrationsOf answer in two: no integration, two (in id order), and
// nothing from another workspace, not even for an identity uid that exists
// there.
func TestIdentityWithIntegrationsInOneQuery(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		db := apitest.NewStore(t, dialect).OpenDB(t)
		ctx := context.Background()
		ws, idID := apitest.SeedIdentity(t, db)
		other, err := store.InsertWorkspace(ctx, db.Handles().W, store.NewWorkspace{UID: "w2", Name: "w2", Plan: "p", Secret: []byte{}})
		if err != nil {
			t.Fatal(err)
		}
		otherID, err := store.InsertIdentity(ctx, db.Handles().W, model.Identity{UID: "j", WorkspaceID: other, Name: "theirs",
			Timezone: "UTC", Type: "standard"})
		if err != nil {
			t.Fatal(err)
		}

		got, err := store.GetIdentityWithIntegrations(ctx, db.Handles().R, ws, "i")
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != idID || got.UID != "i" || got.WorkspaceUID != "w" || got.Name != "ident" || got.Timezone != "UTC" ||
			len(got.Integrations) != 0 {
			t.Fatalf("identity without integrations: %+v", got)
		}

		for _, g := range []model.Integration{
			{UID: "g-li", WorkspaceID: ws, IdentityID: idID, Platform: "linkedin", Name: "Ann", Permalink: "https://l/ann",
				AuthType: "cookie", SetupSource: "api", IsShared: true, Level: "sales_navigator", Status: "VALID",
				Meta: `{"a":1}`, SecretKID: "k1", Secret: []byte{1, 2, 3}},
			{UID: "g-hs", WorkspaceID: ws, IdentityID: idID, Platform: "hubspot", Name: "CRM", AuthType: "token",
				SetupSource: "api", Level: "free", Status: "CHECKPOINT", Checkpoint: "OTP", Error: "code sent",
				Meta: `{}`, SecretKID: "k1", Secret: []byte{4}},
			{UID: "g-other", WorkspaceID: other, IdentityID: otherID.ID, Platform: "linkedin", Name: "Theirs",
				AuthType: "cookie", SetupSource: "api", Level: "free", Status: "VALID", Meta: `{}`, Secret: []byte{9}},
		} {
			if _, err := store.UpsertIntegration(ctx, db.Handles().W, g); err != nil {
				t.Fatal(err)
			}
		}

		got, err = store.GetIdentityWithIntegrations(ctx, db.Handles().R, ws, "i")
		if err != nil {
			t.Fatal(err)
		}
		want, err := store.IntegrationsOf(ctx, db.Handles().R, ws, []int64{idID})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Integrations) != 2 || len(want[idID]) != 2 {
			t.Fatalf("integrations: got %d, the two-query read %d", len(got.Integrations), len(want[idID]))
		}
		for i, g := range got.Integrations {
			w := want[idID][i]
			if g.UID != []string{"g-li", "g-hs"}[i] || g.ID != w.ID || g.UID != w.UID || g.WorkspaceID != ws ||
				g.IdentityID != idID || g.IdentityUID != "i" || g.Platform != w.Platform || g.Name != w.Name ||
				g.Permalink != w.Permalink || g.AuthType != w.AuthType || g.SetupSource != w.SetupSource ||
				g.IsShared != w.IsShared || g.Level != w.Level || g.Status != w.Status || g.Checkpoint != w.Checkpoint ||
				g.Error != w.Error || g.Meta != w.Meta || g.SecretKID != w.SecretKID || string(g.Secret) != string(w.Secret) ||
				!g.CreatedAt.Equal(w.CreatedAt) || !g.UpdatedAt.Equal(w.UpdatedAt) || (g.FirstConnectedAt == nil) != (w.FirstConnectedAt == nil) {
				t.Fatalf("integration %d:\n got  %+v\n want %+v", i, g, w)
			}
		}
		if got.Integrations[0].Permalink != "https://l/ann" || !got.Integrations[0].IsShared ||
			got.Integrations[1].Checkpoint != "OTP" || string(got.Integrations[0].Secret) != "\x01\x02\x03" {
			t.Fatalf("integration fields: %+v", got.Integrations)
		}

		// Tenancy: the other workspace's identity is not found from here,
		// and this one not from there.
		if _, err := store.GetIdentityWithIntegrations(ctx, db.Handles().R, ws, "j"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("another workspace's identity: %v", err)
		}
		if _, err := store.GetIdentityWithIntegrations(ctx, db.Handles().R, other, "i"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("this identity from another workspace: %v", err)
		}
		theirs, err := store.GetIdentityWithIntegrations(ctx, db.Handles().R, other, "j")
		if err != nil || len(theirs.Integrations) != 1 || theirs.Integrations[0].UID != "g-other" {
			t.Fatalf("the other workspace's own identity: %+v, %v", theirs, err)
		}
	})
}
