package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/model"
)

var noPrincipal = model.Principal{}

func itoa(n int) string { return strconv.Itoa(n) }

func pathEscape(s string) string { return url.PathEscape(s) }

func asAppErr(err error) *apperr.Error {
	if pe, ok := err.(*apperr.Error); ok {
		return pe
	}
	return nil
}

func (c *Console) routes() {
	m := c.mux
	m.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		c.static.ServeHTTP(w, r)
	}))
	m.Handle("GET /login", c.public(c.loginPage))
	m.Handle("POST /login", c.public(c.loginPage))
	m.Handle("POST /logout", c.handler(c.logout))
	m.Handle("GET /set-password/{token}", c.public(c.setPassword))
	m.Handle("POST /set-password/{token}", c.public(c.setPassword))
	m.Handle("GET /invite/{token}", c.public(c.invitation))
	m.Handle("POST /invite/{token}", c.public(c.invitation))

	m.Handle("GET /{$}", c.handler(c.overview))
	m.Handle("GET /overview.json", c.handler(serveJSON(overviewView)))
	m.Handle("GET /overview/events", c.handler(serveEvents(3*time.Second, overviewView)))
	m.Handle("GET /agents", c.handler(c.agentsPage))
	m.Handle("POST /agents", c.handler(c.agentsPage))
	m.Handle("GET /agents/approvals/{uid}", c.handler(c.approval))
	m.Handle("POST /agents/approvals/{uid}", c.handler(c.approval))
	m.Handle("GET /identities", c.handler(c.identities))
	m.Handle("POST /identities", c.handler(c.identities))
	m.Handle("GET /identities/{uid}", c.handler(c.identity))
	m.Handle("POST /identities/{uid}", c.handler(c.identity))
	m.Handle("GET /identities/{uid}/status.json", c.handler(serveJSON(identityView)))
	m.Handle("GET /identities/{uid}/events", c.handler(serveEvents(2*time.Second, identityView)))
	m.Handle("GET /runs", c.handler(c.runs))
	m.Handle("GET /runs/{uid}", c.handler(c.run))
	m.Handle("POST /runs/{uid}", c.handler(c.run))
	m.Handle("GET /runs/{uid}/live.json", c.handler(serveJSON(runView)))
	m.Handle("GET /runs/{uid}/events", c.handler(serveEvents(time.Second, runView)))
	m.Handle("GET /runs/{uid}/outputs.csv", c.handler(c.outputs("csv")))
	m.Handle("GET /runs/{uid}/outputs.json", c.handler(c.outputs("json")))
	m.Handle("GET /schedules", c.handler(c.schedules))
	m.Handle("GET /schedules/{uid}", c.handler(c.schedule))
	m.Handle("POST /schedules/{uid}", c.handler(c.schedule))
	m.Handle("GET /actions", c.handler(c.actions))
	m.Handle("GET /actions/{slug}", c.handler(c.action))
	m.Handle("POST /actions/{slug}", c.handler(c.action))
	m.Handle("GET /members", c.handler(c.members))
	m.Handle("POST /members", c.handler(c.members))
	m.Handle("GET /settings", c.handler(c.settings))
	m.Handle("POST /settings", c.handler(c.settings))
	m.Handle("GET /api-reference", c.handler(c.reference))
}

// ---- Overview

func (c *Console) overview(q *req) error {
	ws, err := q.get("/workspaces")
	if err != nil {
		return err
	}
	act, err := q.get("/workspaces/activity?days=14")
	if err != nil {
		return err
	}
	failing, err := q.list("/runs/callbacks?status[]=FAILED&limit=20&sort=-created_at")
	if err != nil {
		return err
	}
	days := strs(act["days"])
	credits := seriesOf(act["credits_by_action"], 6)
	runs := seriesOf(act["runs_by_status"], 0)
	health, _ := act["identities_by_integration_status"].(map[string]any)
	var hs []series
	for k, v := range health {
		hs = append(hs, series{Name: k, Total: num(v)})
	}
	sort.Slice(hs, func(i, j int) bool {
		return hs[i].Total > hs[j].Total || hs[i].Total == hs[j].Total && hs[i].Name < hs[j].Name
	})
	return q.render(200, "overview", "Overview", map[string]any{"_refresh": 60,
		"Workspace": ws, "Days": days, "Credits": credits, "Runs": runs, "Health": hs,
		"CreditsChart": barChart(days, credits), "RunsChart": barChart(days, runs), "HealthChart": hbarChart(hs),
		"Failing": failing,
	})
}

// ---- Identities

func (c *Console) identities(q *req) error {
	if q.r.Method == http.MethodPost {
		body := map[string]any{"name": strings.TrimSpace(q.r.PostForm.Get("name"))}
		if tz := strings.TrimSpace(q.r.PostForm.Get("timezone")); tz != "" {
			body["timezone"] = tz
		}
		if t := q.r.PostForm.Get("type"); t != "" {
			body["type"] = t
		}
		res, err := q.call("POST", "/identities", body)
		if err != nil {
			return err
		}
		var id map[string]any
		if err := decode(res.Body, &id); err != nil {
			return err
		}
		return q.back("/identities/"+url.PathEscape(str(id["uid"])), "Identity created")
	}
	page := max(atoi(q.r.URL.Query().Get("page")), 1)
	query := q.r.URL.Query().Get("query")
	v := url.Values{"retrieve_accounts": {"true"}, "page": {itoa(page)}}
	if query != "" {
		v.Set("query", query)
	}
	list, err := q.list("/identities?" + v.Encode())
	if err != nil {
		return err
	}
	return q.render(200, "identities", "Identities", map[string]any{"Identities": list, "Page": page, "Query": query,
		"Next": len(list) == 50, "Prev": page - 1})
}

// limitSlugs picks, for every Smart Limit key, one action that consumes it:
// the identity page asks the API for those actions' windows.
func (q *req) limitSlugs() ([]string, error) {
	acts, err := q.catalogue()
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var slugs []string
	for _, a := range acts {
		am, _ := a.(map[string]any)
		added := false
		for _, k := range strs(am["limit_keys"]) {
			if !seen[k] {
				seen[k] = true
				if !added {
					slugs = append(slugs, str(am["slug"]))
					added = true
				}
			}
		}
	}
	return slugs, nil
}

func (c *Console) identity(q *req) error {
	uid := q.r.PathValue("uid")
	base := "/identities/" + url.PathEscape(uid)
	data := map[string]any{}
	if q.r.Method == http.MethodPost {
		f := q.r.PostForm
		integ := f.Get("integration")
		if integ == "" {
			integ = "linkedin"
		}
		ipath := base + "/integrations/" + url.PathEscape(integ)
		switch f.Get("op") {
		case "edit":
			if _, err := q.call("PUT", base, map[string]any{"name": f.Get("name"), "timezone": f.Get("timezone")}); err != nil {
				return err
			}
			return q.back(base, "Identity saved")
		case "delete":
			if _, err := q.call("DELETE", base, nil); err != nil {
				return err
			}
			return q.back("/identities", "Identity deleted")
		case "cookie":
			cookies := map[string]any{"li_at": f.Get("li_at")}
			if a := f.Get("li_a"); a != "" {
				cookies["li_a"] = a
			}
			if _, err := q.call("POST", ipath, map[string]any{"auth_data": map[string]any{"cookies": cookies}}); err != nil {
				return err
			}
			return q.back(base, "Account connected")
		case "basic":
			if _, err := q.call("POST", ipath, map[string]any{"auth_data": map[string]any{"basic": map[string]any{
				"username": f.Get("username"), "password": f.Get("password")}}}); err != nil {
				return err
			}
			return q.back(base, "Login sent")
		case "token":
			if _, err := q.call("POST", ipath, map[string]any{"auth_data": map[string]any{"token": f.Get("token")}}); err != nil {
				return err
			}
			return q.back(base, "Account connected")
		case "checkpoint":
			body := map[string]any{}
			if code := f.Get("code"); code != "" {
				body["code"] = code
			}
			if _, err := q.call("POST", ipath+"/checkpoint", body); err != nil {
				return err
			}
			return q.back(base, "Checkpoint answered")
		case "disconnect":
			if _, err := q.call("DELETE", ipath, nil); err != nil {
				return err
			}
			return q.back(base, "Account disconnected")
		case "link":
			res, err := q.call("POST", base+"/generate-login-links", nil)
			if err != nil {
				return err
			}
			var links map[string]any
			if err := decode(res.Body, &links); err != nil {
				return err
			}
			data["Links"] = links
		case "limits":
			raw := strings.TrimSpace(f.Get("overrides"))
			if raw == "" {
				raw = "{}"
			}
			var ov map[string]any
			if err := json.Unmarshal([]byte(raw), &ov); err != nil {
				return &apiError{Status: 400, Message: "Smart Limit overrides must be a JSON object: " + err.Error()}
			}
			if _, err := q.call("PUT", base+"/limits", ov); err != nil {
				return err
			}
			return q.back(base, "Smart Limit overrides saved")
		case "rent":
			days := atoi(f.Get("days"))
			if _, err := q.call("POST", base+"/rent", map[string]any{"platform": "linkedin", "days": max(days, 1)}); err != nil {
				return err
			}
			return q.back(base, "Pool account rented")
		default:
			return &apiError{Status: 400, Message: "unknown operation"}
		}
	}
	id, err := q.get(base)
	if err != nil {
		return err
	}
	data["Identity"] = id
	integs := []any{}
	for _, p := range []string{"linkedin", "salesnavigator", "recruiterlite", "hubspot"} {
		if g, err := q.get(base + "/integrations/" + p); err == nil {
			g["fm_platform"] = p // the key of the status poll's answer
			integs = append(integs, g)
		}
	}
	data["Integrations"] = integs
	for _, g := range integs {
		if str(g.(map[string]any)["status"]) == "PENDING" {
			data["Pending"], data["_refresh"] = true, 5
		}
	}
	ov, err := q.get(base + "/limits")
	if err != nil {
		return err
	}
	ovJSON, _ := json.MarshalIndent(ov, "", "  ")
	data["Overrides"], data["OverridesJSON"] = ov, string(ovJSON)
	slugs, err := q.limitSlugs()
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	var limits []any
	for _, s := range slugs {
		ls, err := q.list(base + "/actions/" + url.PathEscape(s) + "/limits")
		if err != nil {
			continue // not an action of this identity's platforms
		}
		for _, l := range ls {
			lm, _ := l.(map[string]any)
			k := str(lm["key"]) + "/" + str(lm["window"])
			if !seen[k] {
				seen[k] = true
				limits = append(limits, lm)
			}
		}
	}
	data["Limits"] = limits
	return q.render(200, "identity", str(id["name"]), data)
}

func (q *req) json(v any) error {
	q.w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(q.w).Encode(v)
}

// ---- Runs

var runStatuses = []string{"CREATED", "INVALID", "QUEUED", "SCHEDULED", "BLOCKED", "STOPPED", "RUNNING", "FAILED",
	"PARTIAL_SUCCEEDED", "SUCCEEDED"}

var terminal = map[string]bool{"SUCCEEDED": true, "PARTIAL_SUCCEEDED": true, "FAILED": true, "STOPPED": true, "INVALID": true}

func (c *Console) runs(q *req) error {
	in := q.r.URL.Query()
	v := url.Values{"limit": {"50"}, "sort": {"-created_at"}}
	offset := max(atoi(in.Get("offset")), 0)
	v.Set("offset", itoa(offset))
	for form, api := range map[string]string{"action": "action_name[]", "status": "status[]", "mode": "execution_mode[]",
		"schedule": "scheduled_run_uid[]", "identity": "identity_uid"} {
		if x := strings.TrimSpace(in.Get(form)); x != "" {
			v.Set(api, x)
		}
	}
	for form, api := range map[string]string{"from": "created_after", "to": "created_before"} {
		if x := in.Get(form); x != "" {
			t, err := time.Parse("2006-01-02", x)
			if err != nil {
				return &apiError{Status: 400, Message: form + " must be a date (YYYY-MM-DD)"}
			}
			if form == "to" {
				t = t.AddDate(0, 0, 1)
			}
			v.Set(api, t.Format(time.RFC3339))
		}
	}
	list, err := q.list("/runs?" + v.Encode())
	if err != nil {
		return err
	}
	acts, err := q.catalogue()
	if err != nil {
		return err
	}
	var slugs []string
	for _, a := range acts {
		slugs = append(slugs, str(a.(map[string]any)["slug"]))
	}
	next := url.Values{}
	for k, vs := range in {
		next[k] = vs
	}
	next.Set("offset", itoa(offset+50))
	prev := url.Values{}
	for k, vs := range in {
		prev[k] = vs
	}
	prev.Set("offset", itoa(max(offset-50, 0)))
	return q.render(200, "runs", "Runs", map[string]any{"Runs": list, "F": in, "Statuses": runStatuses, "Slugs": slugs,
		"Next": "/runs?" + next.Encode(), "Prev": "/runs?" + prev.Encode(), "HasNext": len(list) == 50, "HasPrev": offset > 0})
}

func (c *Console) run(q *req) error {
	uid := q.r.PathValue("uid")
	base := "/runs/" + url.PathEscape(uid)
	if q.r.Method == http.MethodPost {
		switch q.r.PostForm.Get("op") {
		case "cancel":
			if _, err := q.call("POST", base+"/cancel", nil); err != nil {
				return err
			}
			return q.back(base, "Run cancelled")
		case "resume":
			if _, err := q.call("POST", base+"/resume", nil); err != nil {
				return err
			}
			return q.back(base, "Run resumed")
		case "replay":
			if _, err := q.call("POST", "/runs/callbacks/"+url.PathEscape(q.r.PostForm.Get("delivery"))+"/replay", nil); err != nil {
				return err
			}
			return q.back(base, "Callback replayed")
		}
		return &apiError{Status: 400, Message: "unknown operation"}
	}
	run, err := q.get(base)
	if err != nil {
		return err
	}
	data := map[string]any{"Run": run, "Terminal": terminal[str(run["status"])]}
	if !terminal[str(run["status"])] {
		data["_refresh"] = 5 // without JavaScript, the page reloads itself
	}
	if str(run["execution_mode"]) == "ASYNC" {
		outs, err := q.list(base + "/outputs?limit=50")
		if err != nil {
			return err
		}
		data["Outputs"], data["Columns"] = outs, columns(outs)
		cbs, err := q.list("/runs/callbacks?limit=20&sort=-created_at&run_uid[]=" + url.QueryEscape(uid))
		if err != nil {
			return err
		}
		data["Callbacks"] = cbs
	}
	params, _ := json.MarshalIndent(run["parameters"], "", "  ")
	data["Params"] = string(params)
	return q.render(200, "run", "Run "+uid, data)
}

// ---- Schedules

func (c *Console) schedules(q *req) error {
	list, err := q.list("/schedules?limit=100&sort=-created_at")
	if err != nil {
		return err
	}
	return q.render(200, "schedules", "Schedules", map[string]any{"Schedules": list})
}

func (c *Console) schedule(q *req) error {
	uid := q.r.PathValue("uid")
	base := "/schedules/" + url.PathEscape(uid)
	data := map[string]any{}
	if q.r.Method == http.MethodPost {
		f := q.r.PostForm
		switch op := f.Get("op"); op {
		case "pause", "resume", "cancel":
			if _, err := q.call("POST", base+"/"+op, nil); err != nil {
				return err
			}
			return q.back(base, "Schedule "+map[string]string{"pause": "paused", "resume": "resumed", "cancel": "cancelled"}[op])
		case "delete":
			if _, err := q.call("DELETE", base, nil); err != nil {
				return err
			}
			return q.back("/schedules", "Schedule deleted")
		case "edit":
			body := map[string]any{"cron": strings.TrimSpace(f.Get("cron")), "timezone": strings.TrimSpace(f.Get("timezone"))}
			if n := f.Get("name"); n != "" {
				body["name"] = n
			}
			if _, err := q.call("PATCH", base, body); err != nil {
				var ae *apiError
				if asAPI(err, &ae) && ae.Status < 500 {
					data["_error"] = ae.Message
					break
				}
				return err
			}
			return q.back(base, "Schedule saved")
		case "preview":
			// falls through to the page, which previews the posted cron
		default:
			return &apiError{Status: 400, Message: "unknown operation"}
		}
	}
	s, err := q.get(base)
	if err != nil {
		return err
	}
	cron, tz := str(s["cron"]), str(s["timezone"])
	if q.r.Method == http.MethodPost {
		cron, tz = strings.TrimSpace(q.r.PostForm.Get("cron")), strings.TrimSpace(q.r.PostForm.Get("timezone"))
	}
	data["Schedule"], data["Cron"], data["TZ"] = s, cron, tz
	if cron != "" {
		next, describe, err := nextFirings(cron, tz, c.Now(), 5)
		if err != nil {
			data["PreviewError"] = err.Error()
		} else {
			data["Next"], data["Describe"] = next, describe
		}
	}
	runs, err := q.list("/runs?limit=10&sort=-created_at&scheduled_run_uid[]=" + url.QueryEscape(uid))
	if err != nil {
		return err
	}
	data["Runs"] = runs
	return q.render(200, "schedule", "Schedule "+str(s["name"]), data)
}

func asAPI(err error, ae **apiError) bool {
	e, ok := err.(*apiError)
	if ok {
		*ae = e
	}
	return ok
}

// ---- Actions

func (c *Console) actions(q *req) error {
	acts, err := q.catalogue()
	if err != nil {
		return err
	}
	filter := strings.ToLower(q.r.URL.Query().Get("q"))
	byPlatform := map[string][]any{}
	var platforms []string
	for _, a := range acts {
		am := a.(map[string]any)
		if filter != "" && !strings.Contains(strings.ToLower(str(am["slug"])), filter) {
			continue
		}
		p := str(am["platform"])
		if byPlatform[p] == nil {
			platforms = append(platforms, p)
		}
		byPlatform[p] = append(byPlatform[p], am)
	}
	sort.Strings(platforms)
	return q.render(200, "actions", "Actions", map[string]any{"Platforms": platforms, "By": byPlatform, "Q": filter,
		"Count": len(acts)})
}

func (c *Console) action(q *req) error {
	slug := q.r.PathValue("slug")
	a, err := q.get("/actions/" + url.PathEscape(slug))
	if err != nil {
		return err
	}
	ids, err := q.list("/identities?retrieve_accounts=true")
	if err != nil {
		return err
	}
	data := map[string]any{"Action": a, "Identities": ids, "Input": exampleInput(a), "Params": "{}", "Mode": "live",
		"IdentityMode": "direct", "IdentityUID": "", "Callback": ""}
	in, _ := json.MarshalIndent(a["input_schema"], "", "  ")
	out, _ := json.MarshalIndent(a["output_schema"], "", "  ")
	ps, _ := json.MarshalIndent(a["parameters_schema"], "", "  ")
	data["InputSchema"], data["OutputSchema"], data["ParamsSchema"] = string(in), string(out), string(ps)
	if q.r.Method == http.MethodPost {
		f := q.r.PostForm
		data["Input"], data["Params"], data["Mode"] = f.Get("input"), f.Get("parameters"), f.Get("mode")
		data["IdentityMode"], data["IdentityUID"], data["Callback"] = f.Get("identity_mode"), f.Get("identity_uid"), f.Get("callback")
		if err := c.tryIt(q, slug, data); err != nil {
			return err
		}
	}
	return q.render(200, "action", slug, data)
}

// tryIt runs the action through the API as the member and puts the answer
// and the equivalent curl command in data.
func (c *Console) tryIt(q *req, slug string, data map[string]any) error {
	f := q.r.PostForm
	var input, params any
	if err := json.Unmarshal([]byte(f.Get("input")), &input); err != nil {
		data["_error"] = "The input is not valid JSON: " + err.Error()
		return nil
	}
	if p := strings.TrimSpace(f.Get("parameters")); p != "" {
		if err := json.Unmarshal([]byte(p), &params); err != nil {
			data["_error"] = "The parameters are not valid JSON: " + err.Error()
			return nil
		}
	}
	body := map[string]any{}
	if params != nil {
		body["parameters"] = params
	}
	a, _ := data["Action"].(map[string]any)
	if m := f.Get("identity_mode"); m != "" && a["needs_identity"] == true {
		body["identity_mode"] = m
		if m == "direct" && f.Get("identity_uid") != "" {
			body["identity_ids"] = []string{f.Get("identity_uid")}
		}
		if m == "managed" {
			body["identity_ids"] = []string{}
		}
	}
	path := "/actions/" + url.PathEscape(slug) + "/run/live"
	if f.Get("mode") == "async" {
		path = "/actions/" + url.PathEscape(slug) + "/run/async"
		if arr, ok := input.([]any); ok {
			body["inputs"] = arr
		} else {
			body["inputs"] = []any{input}
		}
		body["callback"] = map[string]any{"url": f.Get("callback")}
	} else {
		body["input"] = input
	}
	raw, _ := json.MarshalIndent(body, "", "  ")
	data["Curl"] = "curl -s -X POST " + shellQuote(c.PublicURL()+"/v4"+path) + " \\\n  -H \"X-API-Key: $KEY\" \\\n" +
		"  -H 'Content-Type: application/json' \\\n  -d " + shellQuote(string(raw))
	res, err := q.call("POST", path, body)
	data["ResultStatus"] = res.Status
	var pretty any
	if json.Unmarshal(res.Body, &pretty) == nil {
		b, _ := json.MarshalIndent(pretty, "", "  ")
		data["Result"] = string(b)
	} else {
		data["Result"] = string(res.Body)
	}
	if err == nil {
		if pm, ok := pretty.(map[string]any); ok && pm["run_uid"] != nil {
			data["RunUID"] = pm["run_uid"]
		} else if id := res.Header.Get("X-Run-Uid"); id != "" {
			data["RunUID"] = id
		}
	}
	return nil
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// exampleInput fills the input schema's required fields with their
// examples (or empty strings) as a starting point.
func exampleInput(a map[string]any) string {
	sch, _ := a["input_schema"].(map[string]any)
	ex := map[string]any{}
	props, _ := sch["properties"].(map[string]any)
	for _, r := range strs(sch["required"]) {
		p, _ := props[r].(map[string]any)
		if e, ok := p["examples"].([]any); ok && len(e) > 0 {
			ex[r] = e[0]
		} else if e, ok := p["example"]; ok {
			ex[r] = e
		} else {
			ex[r] = ""
		}
	}
	if len(ex) == 0 {
		if alts, ok := a["required_alternatives"].([]any); ok && len(alts) > 0 {
			for _, r := range strs(alts[0]) {
				ex[r] = ""
			}
		}
	}
	b, _ := json.MarshalIndent(ex, "", "  ")
	return string(b)
}

// ---- Members, invitations and keys

func (c *Console) members(q *req) error {
	data := map[string]any{}
	if q.r.Method == http.MethodPost {
		f := q.r.PostForm
		switch f.Get("op") {
		case "invite":
			res, err := q.call("POST", "/members", map[string]any{"email": f.Get("email"), "role": f.Get("role")})
			if err != nil {
				return err
			}
			var inv map[string]any
			if err := decode(res.Body, &inv); err != nil {
				return err
			}
			tok := str(inv["token"])
			if tok == "" {
				if in, ok := inv["invitation"].(map[string]any); ok {
					tok = str(in["token"])
				}
			}
			data["InviteURL"] = c.PublicURL() + "/invite/" + url.PathEscape(tok)
			data["InviteEmail"] = f.Get("email")
		case "invite-revoke":
			if _, err := q.call("DELETE", "/invitations/"+url.PathEscape(f.Get("invitation")), nil); err != nil {
				return err
			}
			return q.back("/members", "Invitation revoked")
		case "invite-reissue":
			res, err := q.call("POST", "/invitations/"+url.PathEscape(f.Get("invitation"))+"/reissue", nil)
			if err != nil {
				return err
			}
			var inv map[string]any
			if err := decode(res.Body, &inv); err != nil {
				return err
			}
			data["InviteURL"] = c.PublicURL() + "/invite/" + url.PathEscape(str(inv["token"]))
			data["InviteEmail"] = str(inv["email"])
		case "role":
			if _, err := q.call("PATCH", "/members/"+url.PathEscape(f.Get("member")), map[string]any{"role": f.Get("role")}); err != nil {
				return err
			}
			return q.back("/members", "Role changed")
		case "remove":
			if _, err := q.call("DELETE", "/members/"+url.PathEscape(f.Get("member")), nil); err != nil {
				return err
			}
			return q.back("/members", "Member removed")
		case "password-link":
			res, err := q.call("POST", "/members/"+url.PathEscape(f.Get("member"))+"/password-link", nil)
			if err != nil {
				return err
			}
			var l map[string]any
			if err := decode(res.Body, &l); err != nil {
				return err
			}
			data["PasswordLink"] = l["url"]
		case "key-create":
			res, err := q.call("POST", "/api-keys", map[string]any{"name": f.Get("name")})
			if err != nil {
				return err
			}
			var k map[string]any
			if err := decode(res.Body, &k); err != nil {
				return err
			}
			data["NewKey"] = k["key"]
		case "key-revoke":
			if _, err := q.call("DELETE", "/api-keys/"+url.PathEscape(f.Get("key")), nil); err != nil {
				return err
			}
			return q.back("/members", "Key revoked")
		default:
			return &apiError{Status: 400, Message: "unknown operation"}
		}
	}
	ms, err := q.list("/members")
	if err != nil {
		return err
	}
	owners := 0
	for _, m := range ms {
		if str(m.(map[string]any)["role"]) == "owner" {
			owners++
		}
	}
	keys, err := q.list("/api-keys")
	if err != nil {
		return err
	}
	data["Members"], data["Owners"], data["Keys"] = ms, owners, keys
	if q.can("own") {
		invs, err := q.list("/invitations")
		if err != nil {
			return err
		}
		data["Invitations"] = invs
	}
	return q.render(200, "members", "Members", data)
}

// ---- Settings

func (c *Console) settings(q *req) error {
	data := map[string]any{}
	if q.r.Method == http.MethodPost {
		f := q.r.PostForm
		switch f.Get("op") {
		case "save":
			body := map[string]any{"webhook_url": f.Get("webhook_url"), "logo_url": f.Get("logo_url"),
				"auto_resume_on_reconnect": f.Get("auto_resume") == "on"}
			if o := strings.TrimSpace(f.Get("overrides")); o != "" {
				var ov any
				if err := json.Unmarshal([]byte(o), &ov); err != nil {
					return &apiError{Status: 400, Message: "Smart Limit overrides must be a JSON object: " + err.Error()}
				}
				body["smart_limit_overrides"] = ov
			}
			if _, err := q.call("PUT", "/workspaces/settings", body); err != nil {
				return err
			}
			return q.back("/settings", "Settings saved")
		case "rotate":
			res, err := q.call("PUT", "/workspaces/settings", map[string]any{"rotate_callback_secret": true})
			if err != nil {
				return err
			}
			var s map[string]any
			if err := decode(res.Body, &s); err != nil {
				return err
			}
			data["Secret"] = s["callback_signing_secret"]
			data["Rotated"] = true
		case "reveal":
			data["Reveal"] = true
		case "replay":
			if _, err := q.call("POST", "/webhooks/deliveries/"+url.PathEscape(f.Get("delivery"))+"/replay", nil); err != nil {
				return err
			}
			return q.back("/settings", "Webhook replayed")
		default:
			return &apiError{Status: 400, Message: "unknown operation"}
		}
	}
	ws, err := q.get("/workspaces")
	if err != nil {
		return err
	}
	data["Workspace"] = ws
	if q.can("operate") {
		s, err := q.get("/workspaces/settings")
		if err != nil {
			return err
		}
		if data["Reveal"] == true {
			data["Secret"] = s["callback_signing_secret"]
		}
		delete(s, "callback_signing_secret") // never in the page until revealed
		data["Settings"] = s
		ov, _ := json.MarshalIndent(s["smart_limit_overrides"], "", "  ")
		data["Overrides"] = string(ov)
	}
	dl, err := q.list("/webhooks/deliveries?limit=20&sort=-created_at")
	if err != nil {
		return err
	}
	data["Deliveries"] = dl
	if q.can("own") {
		ev, err := q.list("/audit-events?limit=30")
		if err != nil {
			return err
		}
		data["Audit"] = ev
		ms, err := q.list("/members")
		if err != nil {
			return err
		}
		emails := map[string]string{}
		for _, m := range ms {
			mm, _ := m.(map[string]any)
			emails[str(mm["uid"])] = str(mm["email"])
		}
		data["Emails"] = emails
	}
	return q.render(200, "settings", "Settings", data)
}

func (q *req) can(what string) bool {
	switch what {
	case "operate":
		return q.p().Role == model.RoleOwner || q.p().Role == model.RoleOps
	case "own":
		return q.p().Role == model.RoleOwner
	}
	return false
}

// ---- API reference

func (c *Console) reference(q *req) error {
	c.cacheMu.Lock()
	data, at := c.refCache, c.refAt
	c.cacheMu.Unlock()
	if data == nil || time.Since(at) > time.Minute {
		var err error
		if data, err = c.buildReference(q); err != nil {
			return err
		}
		c.cacheMu.Lock()
		c.refCache, c.refAt = data, time.Now()
		c.cacheMu.Unlock()
	}
	return q.render(200, "reference", "API reference", data)
}

// buildReference reads the served OpenAPI document into the page's list.
func (c *Console) buildReference(q *req) (map[string]any, error) {
	doc, err := q.get("/openapi.json")
	if err != nil {
		return nil, err
	}
	type op struct {
		Method, Path, Summary, Tag, Params, Body string
	}
	var ops []op
	paths, _ := doc["paths"].(map[string]any)
	for p, v := range paths {
		if !strings.HasPrefix(p, "/v4") && strings.HasPrefix(p, "/v1") {
			continue
		}
		ms, _ := v.(map[string]any)
		for m, d := range ms {
			dm, _ := d.(map[string]any)
			o := op{Method: strings.ToUpper(m), Path: p, Summary: str(dm["summary"])}
			if tags := strs(dm["tags"]); len(tags) > 0 {
				o.Tag = tags[0]
			}
			var ps []string
			for _, x := range asList(dm["parameters"]) {
				xm, _ := x.(map[string]any)
				ps = append(ps, str(xm["name"])+" ("+str(xm["in"])+")")
			}
			o.Params = strings.Join(ps, ", ")
			if rb, ok := dm["requestBody"].(map[string]any); ok {
				if ct, ok := rb["content"].(map[string]any); ok {
					if js, ok := ct["application/json"].(map[string]any); ok {
						b, _ := json.MarshalIndent(js["schema"], "", "  ")
						if len(b) < 4000 {
							o.Body = string(b)
						} else {
							o.Body = string(b[:4000]) + "\n…"
						}
					}
				}
			}
			ops = append(ops, o)
		}
	}
	sort.Slice(ops, func(i, j int) bool {
		if ops[i].Tag != ops[j].Tag {
			return ops[i].Tag < ops[j].Tag
		}
		if ops[i].Path != ops[j].Path {
			return ops[i].Path < ops[j].Path
		}
		return ops[i].Method < ops[j].Method
	})
	info, _ := doc["info"].(map[string]any)
	return map[string]any{"Ops": ops, "Info": info}, nil
}

// catalogue is GET /actions, kept a minute: it is the same for every
// member (any role may read it) and costs a few milliseconds to build.
func (q *req) catalogue() ([]any, error) {
	c := q.c
	c.cacheMu.Lock()
	v, at := c.actionsCache, c.actionsAt
	c.cacheMu.Unlock()
	if v != nil && time.Since(at) < time.Minute {
		return v, nil
	}
	v, err := q.list("/actions")
	if err != nil {
		return nil, err
	}
	c.cacheMu.Lock()
	c.actionsCache, c.actionsAt = v, time.Now()
	c.cacheMu.Unlock()
	return v, nil
}
