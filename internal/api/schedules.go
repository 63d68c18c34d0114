package api

import (
	"encoding/json"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/auth"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/cron"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/schedules"
	"github.com/firstmate-oss/firstmate/internal/store"
	"github.com/firstmate-oss/firstmate/internal/validate"
)

// scheduleRoutes are schedule mode's routes (contract §5 and §6).
//
// The reference's POST /schedules/{uid}/{action} is served as three literal
// routes, so an action word other than pause, resume or cancel names no route
// and is a 404. The early-v4 aliases are /api/schedules/list (GET),
// /api/schedules/get?uid= (GET) and /api/schedules/manage (POST
// {"uid": ..., "action": "pause"|"resume"|"cancel"}).
func (s *Server) scheduleRoutes() []*Route {
	rts := []*Route{
		{Method: "POST", Path: "/actions/{slug}/run/schedule", Perm: auth.Operate, Group: groupActions, Tag: "actions", MaxBody: liveBody,
			Summary:  "Schedule an action: the async body plus cron and/or schedule_at, in a time zone; each firing is an async run",
			Response: scheduleCreatedDoc, handle: s.runSchedule},
		{Method: "POST", Path: "/actions/{slug}/schedule", Perm: auth.Operate, Group: groupActions, Tag: "legacy", MaxBody: liveBody,
			Summary: "Edges alias of POST /actions/{slug}/run/schedule", Response: scheduleCreatedDoc, handle: s.runSchedule},
		{Method: "GET", Path: "/schedules", Perm: auth.Read, Group: groupRuns, Tag: "schedules", Query: scheduleListQuery,
			Summary: "List schedules (bare array)", Response: arrayOf(scheduleDoc), handle: s.listSchedules},
		{Method: "GET", Path: "/schedules/{uid}", Perm: auth.Read, Group: groupRuns, Tag: "schedules", Summary: "Get a schedule",
			Response: scheduleDoc, handle: s.getSchedule},
		{Method: "PATCH", Path: "/schedules/{uid}", Perm: auth.Operate, Group: groupRuns, Tag: "schedules", MaxBody: liveBody,
			Body: schedulePatchBody, Summary: "Change a schedule's name, timing, inputs, parameters, identities or callback; " +
				"next_execution_at is recomputed", Response: scheduleDoc, handle: s.patchSchedule},
		{Method: "DELETE", Path: "/schedules/{uid}", Perm: auth.Operate, Group: groupRuns, Tag: "schedules",
			Summary: "Delete a schedule; its runs are kept", Response: scheduleDoc, handle: s.deleteSchedule},
		{Method: "GET", Path: "/api/schedules/list", Perm: auth.Read, Group: groupRuns, Tag: "legacy", Query: scheduleListQuery,
			Summary: "Early v4 alias of GET /schedules", Response: arrayOf(scheduleDoc), handle: s.listSchedules},
		{Method: "GET", Path: "/api/schedules/get", Perm: auth.Read, Group: groupRuns, Tag: "legacy", Query: []Param{{"uid", str()}},
			Summary: "Early v4 alias of GET /schedules/{uid}", Response: scheduleDoc, handle: s.getSchedule},
		{Method: "POST", Path: "/api/schedules/manage", Perm: auth.Operate, Group: groupRuns, Tag: "legacy", MaxBody: smallBody,
			Body:    object(obj{"uid": strLen(1, 64), "action": enum(schedules.ActionPause, schedules.ActionResume, schedules.ActionCancel)}, "uid", "action"),
			Summary: "Early v4 alias of POST /schedules/{uid}/{action}", Response: scheduleDoc, handle: s.manageScheduleLegacy},
	}
	for _, act := range []struct{ name, summary string }{
		{schedules.ActionPause, "Pause an ACTIVE schedule"},
		{schedules.ActionResume, "Resume a PAUSED schedule; the next firing is computed from now"},
		{schedules.ActionCancel, "Cancel an ACTIVE or PAUSED schedule for good"},
	} {
		rts = append(rts, &Route{Method: "POST", Path: "/schedules/{uid}/" + act.name, Perm: auth.Operate, Group: groupRuns,
			Tag: "schedules", Summary: act.summary, Response: scheduleDoc, handle: s.manageSchedule(act.name)})
	}
	return rts
}

var (
	scheduleStatuses = []string{model.ScheduleActive, model.SchedulePaused, model.ScheduleCancelled, model.ScheduleCompleted}

	scheduleDoc = object(obj{
		"uid": str(), "name": nullable(str()), "action_id": nullable(obj{"type": "integer"}), "action_name": str(),
		"user_uid": str(), "workspace_uid": str(), "status": enum(scheduleStatuses...), "postponed_until": nullable(dateTime()),
		"cron": nullable(str()), "timezone": str(), "schedule_at": nullable(dateTime()),
		"next_execution_at": nullable(dateTime()), "last_executed_at": nullable(dateTime()), "created_at": dateTime(),
		"updated_at": dateTime(),
	})
	scheduleCreatedDoc = object(obj{"schedule_uid": str(), "uid": str(), "status": enum(scheduleStatuses...),
		"cron": nullable(str()), "timezone": str(), "next_execution_at": nullable(dateTime()), "created_at": dateTime()})
	scheduleListQuery = []Param{{"uid", str()}, {"status", str()}, {"user_uid", str()}, {"workspace_uid", str()},
		{"action_name", str()}, {"next_execution_at", str()}, {"last_executed_at", str()}, {"created_at", str()},
		{"updated_at", str()}, {"limit", integer(1, 100)}, {"offset", integer(0, 1<<30)}, {"sort", str()}}
	schedulePatchBody = object(obj{
		"name":          strLen(1, 256),
		"cron":          nullable(strLen(1, 256)),
		"schedule_at":   nullable(dateTime()),
		"timezone":      strLen(1, 64),
		"inputs":        obj{"type": "array", "minItems": 1},
		"parameters":    obj{"type": "object"},
		"identity_ids":  arrayOf(strLen(1, 64)),
		"identity_mode": enum("direct", "auto", "managed"),
		"callback":      obj{"type": "object"},

		// The early v4 name of identity_ids.
		catalog.IdentityIDsAlias: arrayOf(strLen(1, 64)),
	})
)

// scheduleView is the schedule object (contract §6). Times are UTC.
type scheduleView struct {
	UID             string     `json:"uid"`
	Name            *string    `json:"name"`
	ActionID        *int64     `json:"action_id"`
	ActionName      string     `json:"action_name"`
	UserUID         string     `json:"user_uid"`
	WorkspaceUID    string     `json:"workspace_uid"`
	Status          string     `json:"status"`
	PostponedUntil  *time.Time `json:"postponed_until"`
	Cron            *string    `json:"cron"`
	Timezone        string     `json:"timezone"`
	ScheduleAt      *time.Time `json:"schedule_at"`
	NextExecutionAt *time.Time `json:"next_execution_at"`
	LastExecutedAt  *time.Time `json:"last_executed_at"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
}

// utc is a stored time as shown, or null. A time JSON cannot write (a
// year past 9999, left by an older version that accepted one) shows as
// null rather than failing the whole answer: one bad row must not break
// a workspace's schedule list.
func utc(t *time.Time) *time.Time {
	if t == nil || !cron.Representable(*t) {
		return nil
	}
	u := t.UTC()
	return &u
}

// utcAlways is utc for the times that are never null, clamped to what JSON
// can write.
func utcAlways(t time.Time) time.Time {
	switch {
	case t.Before(cron.Earliest):
		return cron.Earliest
	case t.After(cron.Latest):
		return cron.Latest
	}
	return t.UTC()
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func viewSchedule(sc model.Schedule) scheduleView {
	return scheduleView{UID: sc.UID, Name: optional(sc.Name), ActionID: actionID(sc.ActionName), ActionName: sc.ActionName,
		UserUID: sc.MemberUID, WorkspaceUID: sc.WorkspaceUID, Status: sc.Status, Cron: optional(sc.Cron), Timezone: sc.Timezone,
		ScheduleAt: utc(sc.ScheduleAt), NextExecutionAt: utc(sc.NextExecutionAt), LastExecutedAt: utc(sc.LastExecutedAt),
		CreatedAt: utcAlways(sc.CreatedAt), UpdatedAt: utcAlways(sc.UpdatedAt)}
}

// viewSchedules renders schedules with their postponed_until: when the last
// run a schedule created waits on a Smart Limit, the time it continues.
func (s *Server) viewSchedules(c *rctx, list ...model.Schedule) ([]scheduleView, error) {
	var uids []string
	for _, sc := range list {
		if sc.LastRunUID != "" {
			uids = append(uids, sc.LastRunUID)
		}
	}
	until, err := s.Schedules.PostponedUntil(c.ctx(), c.P().WorkspaceID, uids)
	if err != nil {
		return nil, err
	}
	out := make([]scheduleView, len(list))
	for i, sc := range list {
		out[i] = viewSchedule(sc)
		if t, ok := until[sc.LastRunUID]; ok && sc.LastRunUID != "" {
			out[i].PostponedUntil = utc(&t)
		}
	}
	return out, nil
}

// okSchedule answers one schedule.
func (s *Server) okSchedule(c *rctx, sc model.Schedule) error {
	v, err := s.viewSchedules(c, sc)
	if err != nil {
		return err
	}
	return c.ok(v[0])
}

// checkText refuses what a database text column cannot hold: invalid UTF-8
// and NUL characters, anywhere in the body.
func checkText(body []byte) error {
	if !utf8.Valid(body) {
		return apperr.BadInput("body must be valid UTF-8").With("reason", "encoding")
	}
	v, aerr := validate.DecodeJSON(body)
	if aerr != nil {
		return aerr
	}
	if path, ok := findNUL(v, "body"); ok {
		return apperr.BadInput("%s must NOT contain NUL characters", path).With("path", path)
	}
	return nil
}

func (s *Server) runSchedule(c *rctx) error {
	a, err := action(c)
	if err != nil {
		return err
	}
	if err := s.Engine.Unavailable(a); err != nil {
		return err // refused at creation, not at its first firing
	}
	if err := checkText(c.body); err != nil {
		return err
	}
	req, err := a.DecodeSchedule(c.body)
	if err != nil {
		return err
	}
	sc, err := s.Schedules.Create(c.ctx(), c.P(), a, req)
	if err != nil {
		return err
	}
	return c.ok(obj{"schedule_uid": sc.UID, "uid": sc.UID, "status": sc.Status, "cron": optional(sc.Cron),
		"timezone": sc.Timezone, "next_execution_at": utc(sc.NextExecutionAt), "created_at": sc.CreatedAt.UTC()})
}

// timeFilter reads a date-time filter. A plain value matches exactly (to
// the millisecond); the extension prefixes gt:, gte:, lt: and lte: make a
// range, e.g. next_execution_at=gte:2030-01-01T00:00:00Z.
func (c *rctx) timeFilter(name string) ([]store.TimeCond, error) {
	var out []store.TimeCond
	for _, v := range c.listQuery(name) {
		op := "="
		for _, p := range []struct{ prefix, op string }{{"gte:", ">="}, {"lte:", "<="}, {"gt:", ">"}, {"lt:", "<"}, {"eq:", "="}} {
			if strings.HasPrefix(v, p.prefix) {
				op, v = p.op, strings.TrimPrefix(v, p.prefix)
				break
			}
		}
		t, err := time.Parse(time.RFC3339Nano, strings.ToUpper(v))
		if err != nil {
			return nil, apperr.BadParameters(`querystring/%s must match format "date-time" (optionally prefixed with gt:, gte:, lt: or lte:)`, name)
		}
		out = append(out, store.TimeCond{Op: op, At: t})
	}
	return out, nil
}

func (s *Server) listSchedules(c *rctx) error {
	limit, offset, err := c.page(10, 100)
	if err != nil {
		return err
	}
	f := store.ScheduleFilter{UID: c.listQuery("uid"), Status: c.listQuery("status"), UserUID: c.listQuery("user_uid"),
		ActionName: c.listQuery("action_name"), Times: map[string][]store.TimeCond{}, Limit: limit, Offset: offset,
		Sort: c.listQuery("sort")}
	if err := checkEnum("status", f.Status, scheduleStatuses); err != nil {
		return err
	}
	if len(f.Sort) > 10 {
		return apperr.BadParameters("querystring/sort must NOT have more than 10 items")
	}
	for _, k := range f.Sort {
		if _, ok := store.ScheduleSortColumns[strings.TrimPrefix(k, "-")]; !ok {
			return apperr.BadParameters("querystring/sort must be one of %s, optionally prefixed with -", sortNames(store.ScheduleSortColumns))
		}
	}
	for _, name := range store.ScheduleTimeColumns {
		if f.Times[name], err = c.timeFilter(name); err != nil {
			return err
		}
	}
	if ws := c.listQuery("workspace_uid"); len(ws) > 0 && !contains(ws, c.P().WorkspaceUID) {
		return c.ok([]scheduleView{}) // another workspace's schedules are never visible
	}
	list, err := s.Schedules.List(c.ctx(), c.P().WorkspaceID, f)
	if err != nil {
		return err
	}
	out, err := s.viewSchedules(c, list...)
	if err != nil {
		return err
	}
	return c.ok(out)
}

func (s *Server) getSchedule(c *rctx) error {
	sc, err := s.Schedules.Get(c.ctx(), c.P().WorkspaceID, c.uid())
	if err != nil {
		return err
	}
	return s.okSchedule(c, sc)
}

func (s *Server) manageSchedule(action string) func(*rctx) error {
	return func(c *rctx) error {
		sc, err := s.Schedules.Manage(c.ctx(), c.P().WorkspaceID, c.path("uid"), action)
		if err != nil {
			return err
		}
		return s.okSchedule(c, sc)
	}
}

func (s *Server) manageScheduleLegacy(c *rctx) error {
	var body struct {
		UID    string `json:"uid"`
		Action string `json:"action"`
	}
	if err := c.decode(&body); err != nil {
		return err
	}
	sc, err := s.Schedules.Manage(c.ctx(), c.P().WorkspaceID, body.UID, body.Action)
	if err != nil {
		return err
	}
	return s.okSchedule(c, sc)
}

func (s *Server) patchSchedule(c *rctx) error {
	var raw map[string]json.RawMessage
	if err := c.decode(&raw); err != nil {
		return err
	}
	var p schedules.Patch
	str := func(k string, nullable bool) (*string, error) {
		v, ok := raw[k]
		if !ok {
			return nil, nil
		}
		delete(raw, k)
		var out string
		if nullable && string(v) == "null" {
			return &out, nil
		}
		if err := json.Unmarshal(v, &out); err != nil {
			return nil, apperr.BadInput("body/%s must be string", k)
		}
		return &out, nil
	}
	var err error
	if p.Name, err = str("name", false); err != nil {
		return err
	}
	if p.Cron, err = str("cron", true); err != nil {
		return err
	}
	if p.ScheduleAt, err = str("schedule_at", true); err != nil {
		return err
	}
	if p.Timezone, err = str("timezone", false); err != nil {
		return err
	}
	if ids, ok := raw[catalog.IdentityIDsAlias]; ok {
		// The early v4 name replaces the stored identity_ids, as
		// identity_ids would.
		if cur, both := raw["identity_ids"]; both && !jsonEqual(cur, ids) {
			return apperr.BadInput("body must NOT have both identity_ids and %s (its early name) with different values",
				catalog.IdentityIDsAlias).With("path", "body/"+catalog.IdentityIDsAlias)
		}
		raw["identity_ids"] = ids
		delete(raw, catalog.IdentityIDsAlias)
	}
	if len(raw) > 0 {
		p.Request = raw // the action fields; the route schema allowed no others
	}
	sc, err := s.Schedules.Update(c.ctx(), c.P(), c.path("uid"), p)
	if err != nil {
		return err
	}
	return s.okSchedule(c, sc)
}

// jsonEqual compares two JSON values by what they decode to.
func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func (s *Server) deleteSchedule(c *rctx) error {
	sc, err := s.Schedules.Delete(c.ctx(), c.P().WorkspaceID, c.path("uid"))
	if err != nil {
		return err
	}
	return s.okSchedule(c, sc)
}
