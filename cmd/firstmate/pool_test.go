package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/app"
	"github.com/firstmate-oss/firstmate/internal/identity"
	"github.com/firstmate-oss/firstmate/internal/model"
)

// TestPoolOperator: firstmate pool add/list/check/rent/expire against one
// store. check validates every pool account now: a session the platform
// refuses becomes INVALID. rent gives a workspace's identity a SHARED copy
// of a free account, shown as rented in list.
func TestPoolOperator(t *testing.T) {
	for _, d := range apitest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			st := apitest.NewStore(t, d)
			t.Setenv("FIRSTMATE_SECRET_KEY", st.SecretKey)
			base := []string{"--data-dir", st.DataDir}
			if st.DatabaseURL != "" {
				base = append(base, "--database-url", st.DatabaseURL)
			}
			pool := func(args ...string) string {
				t.Helper()
				var out, errb bytes.Buffer
				if err := run(append(append([]string{"pool"}, args...), base...), &out, &errb); err != nil {
					t.Fatalf("pool %v: %v\n%s", args, err, errb.String())
				}
				return out.String()
			}
			for _, c := range []struct{ name, cookie string }{{"Pool classic", "sim_classic"}, {"Pool premium", "sim_premium"}} {
				if out := pool("add", "--name", c.name, "--li-at", c.cookie); !strings.Contains(out, "status VALID") {
					t.Fatalf("add %s: %s", c.name, out)
				}
			}

			cfg := st.Config()
			cfg.Operator = true
			a, err := app.Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			ctx := context.Background()
			pp, err := a.Identities.PoolPrincipal(ctx, func() []byte { return []byte("whsec_pool") })
			if err != nil {
				t.Fatal(err)
			}
			accs, err := a.Identities.PoolAccounts(ctx, pp)
			if err != nil || len(accs) != 2 {
				t.Fatalf("pool accounts: %d %v", len(accs), err)
			}
			// The premium account's session is now one the platform refuses.
			bad := accs[1].Integration
			plain, _ := json.Marshal(identity.Credentials{AuthType: "COOKIES", Cookies: map[string]string{"li_at": "sim_revoked_session"}})
			kid, sealed := a.Keys.Seal(plain, []byte(bad.UID))
			if _, err := a.DB.Handles().Write.ExecContext(ctx, `UPDATE integrations SET secret_kid = $1, secret = $2 WHERE id = $3`, kid, sealed, bad.ID); err != nil {
				t.Fatal(err)
			}
			a.DB.Invalidate() // written behind the store's back
			out := pool("check")
			if !strings.Contains(out, "1 of 2 pool accounts are not VALID") || !strings.Contains(out, "INVALID") {
				t.Fatalf("check: %s", out)
			}
			accs, _ = a.Identities.PoolAccounts(ctx, pp)
			if accs[0].Integration.Status != model.StatusValid || accs[1].Integration.Status != model.StatusInvalid {
				t.Fatalf("after check: %s %s", accs[0].Integration.Status, accs[1].Integration.Status)
			}

			// Rent the one VALID account to a workspace's identity.
			w, err := a.Workspaces.Create(ctx, "Operator renter", "unlimited", "renter@example.com", "")
			if err != nil {
				t.Fatal(err)
			}
			p, err := a.Workspaces.Authenticate(ctx, w.APIKey)
			if err != nil {
				t.Fatal(err)
			}
			id, _, err := a.Identities.Create(ctx, p, identity.New{Name: "Rented by operator"})
			if err != nil {
				t.Fatal(err)
			}
			if out := pool("rent", "--workspace", p.WorkspaceUID, "--identity", id.UID, "--days", "3"); !strings.Contains(out, "rented") {
				t.Fatalf("rent: %s", out)
			}
			g, err := a.Identities.Integration(ctx, p.WorkspaceID, id.UID, "linkedin")
			if err != nil || g.SetupSource != "SHARED" || !g.IsShared || g.Status != model.StatusValid {
				t.Fatalf("rented integration: %+v %v", g, err)
			}
			var list []map[string]any
			if err := json.Unmarshal([]byte(pool("list", "--json")), &list); err != nil {
				t.Fatal(err)
			}
			if list[0]["rented_until"] == nil || list[1]["rented_until"] != nil {
				t.Errorf("list: %v", list)
			}
			var errb bytes.Buffer
			if err := run(append([]string{"pool", "rent", "--workspace", p.WorkspaceUID, "--identity", id.UID}, base...), io.Discard, &errb); err == nil {
				t.Errorf("renting twice succeeded")
			}
			if out := pool("expire"); !strings.Contains(out, "ended 0 rental(s)") {
				t.Errorf("expire now: %s", out)
			}
		})
	}
}
