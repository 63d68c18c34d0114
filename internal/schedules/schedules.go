// Package schedules is schedule mode: a stored async request that fires on
// a cron expression and/or at a start time, in an IANA time zone. Each firing
// submits an ASYNC run (runs.Service) that carries the schedule's uid.
//
// The lifecycle is ACTIVE ⇄ PAUSED, either → CANCELLED, and ACTIVE →
// COMPLETED once a one-shot (start time, no cron) has fired. Only ACTIVE
// schedules have a next_execution_at.
//
// When the wall-clock times are is package cron's business (pure logic,
// DST rules in its doc); this package stores, edits and fires. See fire.go
// for the firing loop and its exactly-once argument.
package schedules

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/cron"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/runs"
	"github.com/firstmate-oss/firstmate/internal/secret"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// headersAD is the additional data callback headers are sealed with; the
// same as runs uses, so a schedule's sealed headers go to its runs as they are.
var headersAD = []byte("callback-headers")

type Service struct {
	DB   *store.Store
	Keys *secret.Keyring
	Runs *runs.Service
	Log  *slog.Logger
	// PollInterval is how often the firing loop looks for due schedules
	// (DefaultPollInterval when zero).
	PollInterval time.Duration
	// Parallel is how many firings one node runs at once (1 on SQLite, whose
	// writes are serial anyway; DefaultParallel on PostgreSQL when zero).
	Parallel int
	// PrepareLead is how long before a due time the loop prepares the
	// firings due then, in transactions it commits at that time (Prepare;
	// PostgreSQL only): DefaultPrepareLead when zero, never when negative.
	PrepareLead time.Duration

	clock atomic.Pointer[func() time.Time]
	specs sync.Map // cron + "\x00" + zone -> cron.Spec
	nspec atomic.Int64

	mu   sync.Mutex
	stop context.CancelFunc
	done chan struct{}

	// toPromote: workspaces whose fired runs wait QUEUED without having
	// taken the slot lock, promoted at the end of the firing round.
	promoteMu sync.Mutex
	toPromote map[int64]bool

	// onPrepared, when set (tests), is called by each transaction of a
	// preparation once it has built its firings, before it waits for the
	// due time, with the number of rows it locked.
	onPrepared func(locked int)
}

// SetClock replaces the clock (tests). Safe while the firing loop runs.
func (s *Service) SetClock(now func() time.Time) { s.clock.Store(&now) }

// Now is the service's clock.
func (s *Service) Now() time.Time {
	if f := s.clock.Load(); f != nil {
		return (*f)()
	}
	return time.Now()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// stored is the async request a firing submits, kept as JSON in
// schedules.request. Inputs are already normalized (aliases rewritten) with
// their custom_data folded back in, so the stored form is also a valid wire
// body, which PATCH re-validates after merging a change into it.
type stored struct {
	Inputs       []map[string]any `json:"inputs"`
	Parameters   map[string]any   `json:"parameters"`
	IdentityIDs  []string         `json:"identity_ids,omitempty"`
	IdentityMode string           `json:"identity_mode,omitempty"`
	Callback     storedCallback   `json:"callback"`
}

type storedCallback struct {
	URL string `json:"url"`
	On  string `json:"on"`
}

func encodeRequest(r *catalog.AsyncRequest) (string, error) {
	st := stored{Inputs: make([]map[string]any, len(r.Inputs)), Parameters: r.Parameters, IdentityIDs: r.IdentityIDs,
		IdentityMode: r.IdentityMode, Callback: storedCallback{URL: r.Callback.URL, On: r.Callback.On}}
	for i, in := range r.Inputs {
		m := make(map[string]any, len(in.Values)+1)
		for k, v := range in.Values {
			m[k] = v
		}
		if in.CustomData != nil {
			m["custom_data"] = in.CustomData
		}
		st.Inputs[i] = m
	}
	if st.Parameters == nil {
		st.Parameters = map[string]any{}
	}
	b, err := json.Marshal(st)
	return string(b), err
}

func decodeStored(raw string) (stored, error) {
	var st stored
	d := json.NewDecoder(strings.NewReader(raw))
	d.UseNumber() // large integers survive the round trip
	err := d.Decode(&st)
	return st, err
}

// asyncRequest rebuilds what runs.Submit takes, without re-validating: the
// stored request was validated when it was written.
func (st stored) asyncRequest() *catalog.AsyncRequest {
	r := &catalog.AsyncRequest{Inputs: make([]catalog.Input, len(st.Inputs)), Parameters: st.Parameters,
		IdentityIDs: st.IdentityIDs, IdentityMode: st.IdentityMode,
		Callback: catalog.Callback{URL: st.Callback.URL, On: st.Callback.On}}
	for i, m := range st.Inputs {
		in := catalog.Input{Values: make(map[string]any, len(m))}
		for k, v := range m {
			if k == "custom_data" {
				in.CustomData, _ = v.(map[string]any)
				continue
			}
			in.Values[k] = v
		}
		r.Inputs[i] = in
	}
	return r
}

// wire renders the stored request as a schedule body for the catalog to
// validate again, with the schedule's timing fields.
func (st stored) wire(a *catalog.Action, sc model.Schedule) map[string]any {
	var cb map[string]any
	if st.Callback.URL != "" {
		cb = map[string]any{"url": st.Callback.URL, "on": st.Callback.On}
	} else {
		cb = map[string]any{"url": nil, "on": st.Callback.On}
	}
	if st.Callback.On == "" {
		delete(cb, "on")
	}
	w := map[string]any{"inputs": st.Inputs, "parameters": st.Parameters, "callback": cb}
	id := a.AcceptsIdentityIn("schedule")
	if id.IDs && len(st.IdentityIDs) > 0 {
		w["identity_ids"] = st.IdentityIDs
	}
	if id.Mode && st.IdentityMode != "" {
		w["identity_mode"] = st.IdentityMode
	}
	setTiming(w, sc)
	return w
}

func setTiming(w map[string]any, sc model.Schedule) {
	delete(w, "cron")
	delete(w, "schedule_at")
	if sc.Cron != "" {
		w["cron"] = sc.Cron
	}
	if sc.ScheduleAt != nil {
		w["schedule_at"] = sc.ScheduleAt.UTC().Format(time.RFC3339Nano)
	}
	w["timezone"] = sc.Timezone
	if sc.Name != "" {
		w["name"] = sc.Name
	}
}

// PastGrace is how late a schedule_at may be when it is sent: a client's
// "now" that took a few seconds to arrive is accepted (and fires at once),
// a date further in the past is refused.
const PastGrace = 60 * time.Second

// checkNotPast refuses a schedule_at sent further than PastGrace in the past.
func checkNotPast(at *time.Time, now time.Time) error {
	if at != nil && at.Before(now.Add(-PastGrace)) {
		return apperr.BadInput("body/schedule_at must not be in the past (%s is before %s; up to %d s late is accepted)",
			at.UTC().Format(time.RFC3339Nano), now.UTC().Truncate(time.Second).Format(time.RFC3339), int(PastGrace/time.Second)).
			With("path", "body/schedule_at")
	}
	return nil
}

// parse turns a schedule's timing fields into a Spec.
func (s *Service) parse(expr string, at *time.Time, tz string) (cron.Spec, error) {
	if at != nil && !cron.Representable(*at) {
		return cron.Spec{}, apperr.BadInput("body/schedule_at must be between %s and %s (UTC)",
			cron.Earliest.Format(time.RFC3339), cron.Latest.Truncate(time.Second).Format(time.RFC3339)).
			With("path", "body/schedule_at")
	}
	if expr == "" {
		atText := "" // none: Parse answers the "cron or schedule_at" error
		if at != nil {
			atText = at.Format(time.RFC3339Nano)
		}
		spec, aerr := cron.Parse("", atText, tz)
		if aerr != nil { // not returned directly: a nil *apperr.Error is a non-nil error
			return spec, aerr
		}
		return spec, nil
	}
	key := expr + "\x00" + tz
	var spec cron.Spec
	if v, ok := s.specs.Load(key); ok {
		spec = v.(cron.Spec)
	} else {
		sp, aerr := cron.Parse(expr, "", tz)
		if aerr != nil {
			return cron.Spec{}, aerr
		}
		if s.nspec.Add(1) > 100_000 { // a bound, not an LRU: distinct expressions are few
			s.specs.Clear()
			s.nspec.Store(0)
		}
		s.specs.Store(key, sp)
		spec = sp
	}
	if at != nil {
		t := at.In(spec.Location)
		spec.At = &t
	}
	return spec, nil
}

// firstFiring is when a schedule that becomes ACTIVE at now fires first. A
// one-shot whose start time has passed fires at once: it was asked for and
// has not run ("after downtime, one missed firing is run").
func firstFiring(spec cron.Spec, now time.Time) (*time.Time, error) {
	if spec.OneShot() {
		t := now
		if spec.At.After(now) {
			t = *spec.At
		}
		t = t.Truncate(time.Millisecond)
		return &t, nil
	}
	t, ok := spec.Next(now)
	if !ok && spec.At != nil {
		return nil, apperr.BadInput("body/schedule_at leaves no firing of the cron before %s",
			cron.Latest.Truncate(time.Second).Format(time.RFC3339)).With("path", "body/schedule_at")
	}
	if !ok {
		return nil, apperr.BadInput("body/cron never matches a date after now").With("path", "body/cron")
	}
	return &t, nil
}

func notFound(uid string) error { return apperr.NotFound("schedule %s not found", uid) }

// Create stores a schedule from a validated POST /actions/{slug}/run/schedule
// body. The callback and identities are checked as an async submission
// checks them, so a schedule that could never fire is refused now.
func (s *Service) Create(ctx context.Context, p model.Principal, a *catalog.Action, req *catalog.ScheduleRequest) (model.Schedule, error) {
	var at *time.Time
	if req.ScheduleAt != nil {
		t := req.ScheduleAt.Truncate(time.Millisecond) // the stored unit
		at = &t
	}
	spec, err := s.parse(strings.Join(strings.Fields(req.Cron), " "), at, req.Timezone)
	if err != nil {
		return model.Schedule{}, err
	}
	now := s.Now()
	if err := checkNotPast(at, now); err != nil {
		return model.Schedule{}, err
	}
	if err := s.Runs.CheckSubmission(ctx, runs.Submission{Principal: p, Action: a, Request: &req.AsyncRequest}); err != nil {
		return model.Schedule{}, err
	}
	body, err := encodeRequest(&req.AsyncRequest)
	if err != nil {
		return model.Schedule{}, err
	}
	next, err := firstFiring(spec, now)
	if err != nil {
		return model.Schedule{}, err
	}
	tz := req.Timezone
	if tz == "" {
		tz = "UTC"
	}
	sc := model.Schedule{UID: uuid.NewString(), WorkspaceID: p.WorkspaceID, WorkspaceUID: p.WorkspaceUID, MemberUID: p.MemberUID,
		Name: req.Name, ActionName: a.Slug, Status: model.ScheduleActive, Cron: spec.Cron, Timezone: tz, ScheduleAt: at,
		NextExecutionAt: next, Request: body, CreatedAt: now.Truncate(time.Millisecond)}
	sc.UpdatedAt = sc.CreatedAt
	if len(req.Callback.Headers) > 0 {
		h, _ := json.Marshal(req.Callback.Headers)
		sc.CallbackHeadersKID, sc.CallbackHeaders = s.Keys.Seal(h, headersAD)
	}
	err = s.DB.Tx(ctx, func(tx *store.Tx) error {
		var err error
		sc.ID, err = store.InsertSchedule(ctx, tx, sc)
		return err
	})
	return sc, err
}

// Get returns a schedule of the workspace; another workspace's is NOT_FOUND.
func (s *Service) Get(ctx context.Context, workspaceID int64, uid string) (model.Schedule, error) {
	sc, err := s.DB.GetSchedule(ctx, workspaceID, uid)
	if errors.Is(err, store.ErrNotFound) {
		return sc, notFound(uid)
	}
	return sc, err
}

func (s *Service) List(ctx context.Context, workspaceID int64, f store.ScheduleFilter) ([]model.Schedule, error) {
	return s.DB.ListSchedules(ctx, workspaceID, f)
}

// Manage actions (POST /schedules/{uid}/{action}).
const (
	ActionPause  = "pause"
	ActionResume = "resume"
	ActionCancel = "cancel"
)

// edit runs fn on the locked schedule and writes the result.
func (s *Service) edit(ctx context.Context, workspaceID int64, uid string, fn func(sc *model.Schedule, now time.Time) error) (model.Schedule, error) {
	var out model.Schedule
	err := s.DB.Tx(ctx, func(tx *store.Tx) error {
		sc, err := s.DB.LockSchedule(ctx, tx, workspaceID, uid)
		if errors.Is(err, store.ErrNotFound) {
			return notFound(uid)
		}
		if err != nil {
			return err
		}
		now := s.Now()
		if err := fn(&sc, now); err != nil {
			return err
		}
		sc.UpdatedAt = now.Truncate(time.Millisecond) // the stored unit, so the answer matches a later GET
		out = sc
		return store.UpdateSchedule(ctx, tx, sc)
	})
	return out, err
}

// Manage pauses, resumes or cancels a schedule. Illegal transitions are
// CONFLICT; an unknown action is NOT_FOUND (it names no route).
func (s *Service) Manage(ctx context.Context, workspaceID int64, uid, action string) (model.Schedule, error) {
	switch action {
	case ActionPause, ActionResume, ActionCancel:
	default:
		return model.Schedule{}, apperr.NotFound("unknown schedule action %q: use pause, resume or cancel", action)
	}
	return s.edit(ctx, workspaceID, uid, func(sc *model.Schedule, now time.Time) error {
		switch action {
		case ActionPause:
			if sc.Status != model.ScheduleActive {
				return apperr.Conflict("schedule %s is %s; only ACTIVE schedules can be paused", sc.UID, sc.Status)
			}
			sc.Status, sc.NextExecutionAt = model.SchedulePaused, nil
		case ActionResume:
			if sc.Status != model.SchedulePaused {
				return apperr.Conflict("schedule %s is %s; only PAUSED schedules can be resumed", sc.UID, sc.Status)
			}
			// Firings missed while paused are not caught up: the next one
			// is computed from now.
			spec, err := s.parse(sc.Cron, sc.ScheduleAt, sc.Timezone)
			if err != nil {
				return err
			}
			next, err := firstFiring(spec, now)
			if err != nil {
				return err
			}
			sc.Status, sc.NextExecutionAt = model.ScheduleActive, next
		case ActionCancel:
			if sc.Status != model.ScheduleActive && sc.Status != model.SchedulePaused {
				return apperr.Conflict("schedule %s is %s and cannot be cancelled", sc.UID, sc.Status)
			}
			sc.Status, sc.NextExecutionAt = model.ScheduleCancelled, nil
		}
		return nil
	})
}

// Patch is a PATCH /schedules/{uid} body; nil fields are left as they are.
type Patch struct {
	Name *string
	// Cron and ScheduleAt: "" removes (JSON null); at least one must remain.
	Cron       *string
	ScheduleAt *string
	Timezone   *string
	// Request holds the action fields sent (inputs, parameters,
	// identity_ids, identity_mode, callback) as raw JSON. callback replaces
	// the whole callback, headers included.
	Request map[string]json.RawMessage
}

// Update applies a PATCH. The merged request is validated by the catalog
// as a new schedule body would be, and next_execution_at is recomputed
// from now when the timing changed on an ACTIVE schedule. CANCELLED and
// COMPLETED schedules are CONFLICT.
func (s *Service) Update(ctx context.Context, p model.Principal, uid string, pt Patch) (model.Schedule, error) {
	return s.edit(ctx, p.WorkspaceID, uid, func(sc *model.Schedule, now time.Time) error {
		if sc.Status != model.ScheduleActive && sc.Status != model.SchedulePaused {
			return apperr.Conflict("schedule %s is %s and can no longer be changed", sc.UID, sc.Status)
		}
		old := *sc
		if pt.Name != nil {
			sc.Name = *pt.Name
		}
		if pt.Cron != nil {
			sc.Cron = strings.Join(strings.Fields(*pt.Cron), " ")
		}
		if pt.ScheduleAt != nil {
			sc.ScheduleAt = nil
			if *pt.ScheduleAt != "" {
				t, err := time.Parse(time.RFC3339Nano, strings.ToUpper(*pt.ScheduleAt))
				if err != nil {
					return apperr.BadInput(`body/schedule_at must match format "date-time"`).With("path", "body/schedule_at")
				}
				t = t.Truncate(time.Millisecond)
				sc.ScheduleAt = &t
			}
		}
		if pt.Timezone != nil {
			sc.Timezone = *pt.Timezone
		}
		spec, err := s.parse(sc.Cron, sc.ScheduleAt, sc.Timezone)
		if err != nil {
			return err
		}
		if !sameTime(sc.ScheduleAt, old.ScheduleAt) {
			// A new start time must not be past; the one already stored may
			// be (it is the start of a cron schedule that has been running).
			if err := checkNotPast(sc.ScheduleAt, now); err != nil {
				return err
			}
		}
		sc.Cron = spec.Cron
		if len(pt.Request) > 0 {
			if err := s.patchRequest(ctx, p, sc, pt.Request); err != nil {
				return err
			}
		}
		timing := sc.Cron != old.Cron || sc.Timezone != old.Timezone || !sameTime(sc.ScheduleAt, old.ScheduleAt)
		if timing && sc.Status == model.ScheduleActive {
			if sc.NextExecutionAt, err = firstFiring(spec, now); err != nil {
				return err
			}
		}
		return nil
	})
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// patchRequest merges the sent action fields into the stored request and
// validates the result as a whole schedule body.
func (s *Service) patchRequest(ctx context.Context, p model.Principal, sc *model.Schedule, fields map[string]json.RawMessage) error {
	a, ok := catalog.Get(sc.ActionName)
	if !ok {
		return apperr.Conflict("action %s of schedule %s is no longer in the catalogue", sc.ActionName, sc.UID)
	}
	st, err := decodeStored(sc.Request)
	if err != nil {
		return err
	}
	w := st.wire(a, *sc)
	for k, v := range fields {
		w[k] = v
	}
	body, err := json.Marshal(w)
	if err != nil {
		return err
	}
	req, err := a.DecodeSchedule(body)
	if err != nil {
		return err
	}
	if err := s.Runs.CheckSubmission(ctx, runs.Submission{Principal: p, Action: a, Request: &req.AsyncRequest}); err != nil {
		return err
	}
	if sc.Request, err = encodeRequest(&req.AsyncRequest); err != nil {
		return err
	}
	if _, ok := fields["callback"]; ok {
		sc.CallbackHeadersKID, sc.CallbackHeaders = "", nil
		if len(req.Callback.Headers) > 0 {
			h, _ := json.Marshal(req.Callback.Headers)
			sc.CallbackHeadersKID, sc.CallbackHeaders = s.Keys.Seal(h, headersAD)
		}
	}
	return nil
}

// Delete removes a schedule (extension). Its runs are kept.
func (s *Service) Delete(ctx context.Context, workspaceID int64, uid string) (model.Schedule, error) {
	var out model.Schedule
	err := s.DB.Tx(ctx, func(tx *store.Tx) error {
		sc, err := s.DB.LockSchedule(ctx, tx, workspaceID, uid)
		if errors.Is(err, store.ErrNotFound) {
			return notFound(uid)
		}
		if err != nil {
			return err
		}
		out = sc
		return store.DeleteSchedule(ctx, tx, sc.ID)
	})
	return out, err
}

// OpenHeaders returns a schedule's callback headers in clear (tests and
// support tooling; the API never shows them).
func (s *Service) OpenHeaders(sc model.Schedule) (map[string]string, error) {
	if len(sc.CallbackHeaders) == 0 {
		return nil, nil
	}
	b, err := s.Keys.Open(sc.CallbackHeadersKID, sc.CallbackHeaders, headersAD)
	if err != nil {
		return nil, err
	}
	var h map[string]string
	err = json.NewDecoder(bytes.NewReader(b)).Decode(&h)
	return h, err
}

// PostponedUntil is, for each of the runs named, the time it continues when
// it waits on a Smart Limit (a schedule's postponed_until).
func (s *Service) PostponedUntil(ctx context.Context, workspaceID int64, runUIDs []string) (map[string]time.Time, error) {
	return s.DB.PostponedUntil(ctx, workspaceID, runUIDs)
}
