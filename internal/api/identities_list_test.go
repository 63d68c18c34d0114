package api_test

import (
	"testing"

	"github.com/firstmate-oss/firstmate/internal/apitest"
)

// TestListIdentitiesShowsIntegrations: GET /identities shows each
// identity's integrations with their status and level, as a user expects
// from a list; retrieve_accounts=true adds each account's details.
func TestListIdentitiesShowsIntegrations(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := apitest.Start(t, dialect)
		key := env.NewWorkspace("Listing", "developer")
		connected := env.Must(200, "POST", "/v4/identities", key, map[string]any{"name": "Connected"}).Obj()["uid"].(string)
		bare := env.Must(200, "POST", "/v4/identities", key, map[string]any{"name": "Not connected"}).Obj()["uid"].(string)
		// The README's sandbox accounts: sim_premium is a Premium account.
		g := env.Must(200, "POST", "/v4/identities/"+connected+"/integrations/linkedin", key,
			map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": "sim_premium"}}}).Obj()

		integrationsOf := func(query string) map[string][]map[string]any {
			t.Helper()
			out := map[string][]map[string]any{}
			for _, it := range env.Must(200, "GET", "/v4/identities"+query, key, nil).Arr() {
				id := it.(map[string]any)
				list, ok := id["integrations"].([]any)
				if !ok {
					t.Fatalf("GET /v4/identities%s: identity %v has no integrations array", query, id["uid"])
				}
				var gs []map[string]any
				for _, x := range list {
					gs = append(gs, x.(map[string]any))
				}
				out[id["uid"].(string)] = gs
			}
			return out
		}

		plain := integrationsOf("")
		if len(plain[bare]) != 0 {
			t.Errorf("an identity with no account lists %v", plain[bare])
		}
		if len(plain[connected]) != 1 {
			t.Fatalf("without retrieve_accounts, the connected identity lists %v, want its integration", plain[connected])
		}
		s := plain[connected][0]
		if s["uid"] != g["uid"] || s["status"] != "VALID" || s["level"] != "Premium" || s["integration_permalink"] != g["integration_permalink"] {
			t.Errorf("the integration's summary: %v", s)
		}
		for _, detail := range []string{"auth_type", "setup_source", "meta", "checkpoint", "created_at"} {
			if _, ok := s[detail]; ok {
				t.Errorf("without retrieve_accounts the summary holds the account detail %s", detail)
			}
		}

		full := integrationsOf("?retrieve_accounts=true")
		if len(full[connected]) != 1 {
			t.Fatalf("retrieve_accounts=true: %v", full[connected])
		}
		d := full[connected][0]
		if d["status"] != "VALID" || d["level"] != "Premium" || d["auth_type"] != "COOKIES" || d["setup_source"] == nil || d["meta"] == nil {
			t.Errorf("retrieve_accounts=true: %v", d)
		}
	})
}
