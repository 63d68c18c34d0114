package console

import (
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/firstmate-oss/firstmate/internal/model"
)

// ---- MCP: the endpoint, the tools a key sees, the rails, approvals

// keyRow is an API key the MCP page can select.
type keyRow struct {
	UID, Name, Prefix, MemberEmail, Role string
}

// mcpKeys are the keys the member may look at: every live key of the
// workspace for owner and ops (they set each key's rails), their own for
// a user (GET /api-keys).
func (q *req) mcpKeys() ([]keyRow, error) {
	var out []keyRow
	if q.can("operate") {
		ks, err := q.c.Workspaces.WorkspaceKeys(q.r.Context(), q.p().WorkspaceID)
		if err != nil {
			return nil, err
		}
		for _, k := range ks {
			if k.RevokedAt == nil {
				out = append(out, keyRow{UID: k.UID, Name: k.Name, Prefix: k.Prefix, MemberEmail: k.MemberEmail, Role: k.MemberRole})
			}
		}
		return out, nil
	}
	ks, err := q.list("/api-keys")
	if err != nil {
		return nil, err
	}
	for _, k := range ks {
		km, _ := k.(map[string]any)
		if km["revoked_at"] == nil {
			out = append(out, keyRow{UID: str(km["uid"]), Name: str(km["name"]), Prefix: str(km["prefix"]), MemberEmail: q.sess.Email,
				Role: q.p().Role})
		}
	}
	return out, nil
}

func (c *Console) agentsPage(q *req) error {
	data := map[string]any{}
	keys, err := q.mcpKeys()
	if err != nil {
		return err
	}
	sel := q.r.URL.Query().Get("key")
	if q.r.Method == http.MethodPost {
		f := q.r.PostForm
		switch f.Get("op") {
		case "rails":
			body := map[string]any{"outreach_enabled": f.Get("outreach_enabled") == "on",
				"approval_required": f.Get("approval_required") == "on"}
			if ttl := atoi(f.Get("approval_ttl_minutes")); ttl > 0 {
				body["approval_ttl_seconds"] = ttl * 60
			}
			if _, err := q.call("PUT", "/workspaces/mcp", body); err != nil {
				return err
			}
			return q.back("/agents?key="+url.QueryEscape(f.Get("key")), "MCP rails saved")
		case "key-rails":
			tri := func(v string) any {
				switch v {
				case "on":
					return true
				case "off":
					return false
				}
				return nil // inherit the workspace's
			}
			k := f.Get("key")
			if _, err := q.call("PUT", "/api-keys/"+url.PathEscape(k)+"/mcp", map[string]any{
				"outreach_enabled": tri(f.Get("outreach")), "approval_required": tri(f.Get("approval"))}); err != nil {
				return err
			}
			return q.back("/agents?key="+url.QueryEscape(k), "The key's rails were saved")
		case "decide":
			return c.decide(q)
		default:
			return &apiError{Status: 400, Message: "unknown operation"}
		}
	}
	if sel == "" && len(keys) > 0 {
		sel = keys[0].UID
	}
	var key *keyRow
	for i := range keys {
		if keys[i].UID == sel {
			key = &keys[i]
		}
	}
	if sel != "" && key == nil {
		return &apiError{Status: 404, Message: "API key " + sel + " not found"}
	}
	data["Keys"], data["Key"] = keys, key
	data["Endpoint"] = c.PublicURL() + "/mcp"
	if q.can("operate") {
		rails, err := q.get("/workspaces/mcp")
		if err != nil {
			return err
		}
		data["Rails"], data["Endpoint"] = rails, str(rails["endpoint"])
		data["TTLMinutes"] = int(num(rails["approval_ttl_seconds"]) / 60)
		if key != nil {
			kr, err := q.get("/api-keys/" + url.PathEscape(key.UID) + "/mcp")
			if err != nil {
				return err
			}
			data["KeyRails"] = kr
		}
		pending, err := q.list("/approvals?status=pending&limit=50")
		if err != nil {
			return err
		}
		all, err := q.list("/approvals?status=all&limit=20")
		if err != nil {
			return err
		}
		var decided []any
		for _, a := range all {
			if str(a.(map[string]any)["status"]) != "PENDING" {
				decided = append(decided, a)
			}
		}
		data["Pending"], data["Decided"] = pending, decided
		data["KeyNames"] = keyNames(keys)
	}
	if key != nil && c.Agents != nil {
		// The key's own principal: its member's role and its uid, as /mcp
		// would authenticate it.
		tools, err := c.Agents.VisibleTools(q.r.Context(), model.Principal{WorkspaceID: q.p().WorkspaceID,
			WorkspaceUID: q.p().WorkspaceUID, Role: key.Role, KeyUID: key.UID})
		if err != nil {
			return err
		}
		data["Tools"] = tools
	}
	cfg, _ := json.MarshalIndent(map[string]any{"mcpServers": map[string]any{"firstmate": map[string]any{
		"type": "http", "url": data["Endpoint"], "headers": map[string]any{"Authorization": "Bearer fm_..."}}}}, "", "  ")
	data["Config"] = string(cfg)
	return q.render(200, "agents", "MCP", data)
}

// decide confirms or rejects an approval through the API (POST
// /approvals/{uid}): the permission table, tenancy and audit are the API's.
func (c *Console) decide(q *req) error {
	uid := q.r.PostForm.Get("approval")
	if uid == "" {
		uid = q.r.PathValue("uid")
	}
	decision := q.r.PostForm.Get("decision")
	if decision != "confirm" && decision != "reject" {
		return &apiError{Status: 400, Message: "decision must be confirm or reject"}
	}
	res, err := q.call("POST", "/approvals/"+url.PathEscape(uid), map[string]any{"decision": decision})
	if err != nil {
		return err
	}
	var a map[string]any
	if err := decode(res.Body, &a); err != nil {
		return err
	}
	return q.back("/agents/approvals/"+url.PathEscape(uid), "Approval "+map[string]string{"confirm": "approved", "reject": "denied"}[decision]+": "+str(a["status"]))
}

// approval is one approval's page: the call asked for, its decision and
// result.
func (c *Console) approval(q *req) error {
	uid := q.r.PathValue("uid")
	if q.r.Method == http.MethodPost {
		return c.decide(q)
	}
	a, err := q.get("/approvals/" + url.PathEscape(uid))
	if err != nil {
		return err
	}
	req, _ := json.MarshalIndent(a["request"], "", "  ")
	data := map[string]any{"Approval": a, "Request": string(req)}
	keys, err := q.mcpKeys()
	if err != nil {
		return err
	}
	data["KeyNames"] = keyNames(keys)
	if ms, err := q.list("/members"); err == nil {
		emails := map[string]string{}
		for _, m := range ms {
			mm, _ := m.(map[string]any)
			emails[str(mm["uid"])] = str(mm["email"])
		}
		data["Emails"] = emails
	}
	if a["result"] != nil {
		b, _ := json.MarshalIndent(a["result"], "", "  ")
		data["Result"] = string(b)
	}
	if str(a["status"]) == "PENDING" {
		data["_refresh"] = 30
	}
	return q.render(200, "approval", "Approval "+uid, data)
}

// keyNames names keys as people know them: "name (fm_abcdefgh…) · email".
func keyNames(keys []keyRow) map[string]string {
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		out[k.UID] = k.Name + " (" + k.Prefix + "…) · " + k.MemberEmail
	}
	return out
}
