package api

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/runs"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// runView is the run object (contract §6); callback headers never appear.
type runView struct {
	ID              int64           `json:"id"`
	UID             string          `json:"uid"`
	ActionID        *int64          `json:"action_id"`
	ActionName      string          `json:"action_name"`
	Status          string          `json:"status"`
	ExecutionMode   string          `json:"execution_mode"`
	UserUID         string          `json:"user_uid"`
	WorkspaceUID    string          `json:"workspace_uid"`
	RetryCount      int             `json:"retry_count"`
	PostponedUntil  *time.Time      `json:"postponed_until"`
	OutputCount     int             `json:"output_count"`
	InputCount      int             `json:"input_count"`
	LastError       *runErrorView   `json:"last_error"`
	Parameters      json.RawMessage `json:"parameters"`
	Callback        *callbackView   `json:"callback"`
	ScheduledRunUID *string         `json:"scheduled_run_uid"`
	StartedAt       *time.Time      `json:"started_at"`
	FinishedAt      *time.Time      `json:"finished_at"`
	SyncedAt        *time.Time      `json:"synced_at"`
	CreatedAt       time.Time       `json:"created_at"`
	UpdatedAt       time.Time       `json:"updated_at"`
}

type callbackView struct {
	URL string `json:"url"`
	On  string `json:"on"`
}

// runErrorView is a run's last_error: params is always an object.
type runErrorView struct {
	Label   string            `json:"label"`
	Message string            `json:"message"`
	Params  map[string]string `json:"params"`
}

func viewRunError(e *model.RunError) *runErrorView {
	if e == nil {
		return nil
	}
	v := &runErrorView{Label: e.Label, Message: e.Message, Params: e.Params}
	if v.Params == nil {
		v.Params = map[string]string{}
	}
	return v
}

// actionID is the catalogue number of an action (null for a slug the
// catalogue no longer has).
func actionID(slug string) *int64 {
	if a, ok := catalog.Get(slug); ok {
		return &a.ID
	}
	return nil
}

func viewRun(r model.Run) runView {
	v := runView{ID: r.ID, UID: r.UID, ActionID: actionID(r.ActionName), ActionName: r.ActionName, Status: r.Status,
		ExecutionMode: r.ExecutionMode, UserUID: r.MemberUID, WorkspaceUID: r.WorkspaceUID, RetryCount: r.RetryCount,
		PostponedUntil: r.PostponedUntil, OutputCount: r.OutputCount, InputCount: r.InputCount, LastError: viewRunError(r.LastError),
		Parameters: json.RawMessage(r.Parameters), StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, SyncedAt: r.SyncedAt,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if len(v.Parameters) == 0 {
		v.Parameters = json.RawMessage("{}")
	}
	if r.CallbackURL != "" {
		v.Callback = &callbackView{URL: r.CallbackURL, On: r.CallbackOn}
	}
	if r.ScheduledRunUID != "" {
		v.ScheduledRunUID = &r.ScheduledRunUID
	}
	return v
}

func (s *Server) runAsync(c *rctx) error {
	a, err := action(c)
	if err != nil {
		return err
	}
	if err := s.Engine.Unavailable(a); err != nil {
		return err // refused at submission, never failed later
	}
	key := c.r.Header.Get("Idempotency-Key")
	if len(key) > 255 {
		return apperr.BadInput("the Idempotency-Key header must NOT be longer than 255 characters")
	}
	if c.r.ContentLength < 0 || c.r.ContentLength > liveBody {
		release, err := s.bulk.acquire(c.ctx(), s.BulkWait)
		if err != nil {
			return err
		}
		defer release()
	}
	r, err := s.Runs.SubmitStream(c.ctx(), runs.BulkSubmission{Principal: c.P(), Action: a, Body: c.bodyReader,
		IdempotencyKey: key})
	if err != nil {
		return err
	}
	return c.ok(obj{"run_uid": r.UID, "run_id": r.ID, "workspace_uid": r.WorkspaceUID, "user_uid": r.MemberUID,
		"action_name": r.ActionName, "status": r.Status, "postponed_until": r.PostponedUntil, "created_at": r.CreatedAt,
		"synced_at": r.SyncedAt, "updated_at": r.UpdatedAt})
}

// listQuery reads repeated filters: status[]=A&status[]=B, status=A,B or status=A&status=B.
func (c *rctx) listQuery(name string) []string {
	q := c.r.URL.Query()
	var out []string
	for _, key := range []string{name, name + "[]"} {
		for _, v := range q[key] {
			for _, part := range strings.Split(v, ",") {
				if part = strings.TrimSpace(part); part != "" {
					out = append(out, part)
				}
			}
		}
	}
	return out
}

func (c *rctx) sortQuery(allowed map[string]string) (string, error) {
	s := c.r.URL.Query().Get("sort")
	if s == "" {
		return "", nil
	}
	if _, ok := allowed[strings.TrimPrefix(s, "-")]; !ok {
		return "", apperr.BadParameters("querystring/sort must be one of %s, optionally prefixed with -", sortNames(allowed))
	}
	return s, nil
}

var runStatuses = []string{"CREATED", "INVALID", "QUEUED", "SCHEDULED", "BLOCKED", "STOPPED", "RUNNING", "FAILED",
	"PARTIAL_SUCCEEDED", "SUCCEEDED"}

func checkEnum(name string, vals, allowed []string) error {
	for _, v := range vals {
		if !contains(allowed, v) {
			return apperr.BadParameters("querystring/%s must be equal to one of the allowed values: %s", name, strings.Join(allowed, ", "))
		}
	}
	return nil
}

func (s *Server) listRuns(c *rctx) error {
	limit, offset, err := c.page(10, 100)
	if err != nil {
		return err
	}
	sort, err := c.sortKeys(store.RunSortColumns)
	if err != nil {
		return err
	}
	f := store.RunFilter{Status: c.listQuery("status"), ActionName: c.listQuery("action_name"),
		ExecutionMode: c.listQuery("execution_mode"), UID: c.listQuery("uid"), UserUID: c.listQuery("user_uid"),
		ScheduledRunUID: c.listQuery("scheduled_run_uid"), Limit: limit, Offset: offset, Sort: strings.Join(sort, ",")}
	for name, dst := range map[string]*int64{"created_after": &f.CreatedFrom, "created_before": &f.CreatedTo} {
		if raw := c.r.URL.Query().Get(name); raw != "" {
			t, err := time.Parse(time.RFC3339, raw)
			if err != nil {
				return c.badQuery(name, "must be an RFC 3339 date-time")
			}
			*dst = store.Millis(t)
		}
	}
	f.IdentityUID = c.r.URL.Query().Get("identity_uid")
	if err := checkEnum("status", f.Status, runStatuses); err != nil {
		return err
	}
	if err := checkEnum("execution_mode", f.ExecutionMode, []string{"LIVE", "ASYNC"}); err != nil {
		return err
	}
	if ws := c.listQuery("workspace_uid"); len(ws) > 0 && !(len(ws) == 1 && ws[0] == c.P().WorkspaceUID) {
		return c.ok([]runView{}) // another workspace's runs are never visible
	}
	rs, err := s.Runs.List(c.ctx(), c.P().WorkspaceID, f)
	if err != nil {
		return err
	}
	out := make([]runView, 0, len(rs))
	for _, r := range rs {
		out = append(out, viewRun(r))
	}
	return c.ok(out)
}

func (s *Server) getRun(c *rctx) error {
	r, err := s.Runs.Get(c.ctx(), c.P().WorkspaceID, c.uid())
	if err != nil {
		return err
	}
	return c.ok(viewRun(r))
}

func (s *Server) runStatus(c *rctx) error {
	r, err := s.Runs.Get(c.ctx(), c.P().WorkspaceID, c.path("uid"))
	if err != nil {
		return err
	}
	return c.ok(obj{"uid": r.UID, "status": r.Status, "postponed_until": r.PostponedUntil, "input_count": r.InputCount,
		"output_count": r.OutputCount, "last_error": viewRunError(r.LastError), "synced_at": r.SyncedAt, "updated_at": r.UpdatedAt})
}

func (s *Server) runOutputs(c *rctx) error {
	limit, offset, err := c.page(100, 100)
	if err != nil {
		return err
	}
	rows, err := s.Runs.Outputs(c.ctx(), c.P().WorkspaceID, c.path("uid"), limit, offset)
	if err != nil {
		return err
	}
	out := make([]json.RawMessage, len(rows))
	for i, r := range rows {
		out[i] = json.RawMessage(r)
	}
	return c.ok(out)
}

func (s *Server) cancelRun(c *rctx) error {
	r, err := s.Runs.Cancel(c.ctx(), c.P().WorkspaceID, c.path("uid"))
	if err != nil {
		return err
	}
	return c.ok(viewRun(r))
}

func (s *Server) resumeRun(c *rctx) error {
	r, err := s.Runs.Resume(c.ctx(), c.P().WorkspaceID, c.path("uid"))
	if err != nil {
		return err
	}
	return c.ok(viewRun(r))
}

// Deliveries.

type deliveryView struct {
	UID          string     `json:"uid"`
	ParentUID    *string    `json:"parent_uid"`
	RunUID       *string    `json:"run_uid,omitempty"`
	BatchUID     *string    `json:"batch_uid,omitempty"`
	RefUID       string     `json:"callback_ref_uid,omitempty"`
	WebhookID    string     `json:"webhook_id,omitempty"`
	Event        string     `json:"event,omitempty"`
	WorkspaceUID string     `json:"workspace_uid"`
	Status       string     `json:"status"`
	URL          string     `json:"callback_url,omitempty"`
	WebhookURL   string     `json:"url,omitempty"`
	HTTPStatus   *int       `json:"http_status"`
	RetryCount   int        `json:"retry_count"`
	NextAttempt  *time.Time `json:"next_attempt_at"`
	LastError    *string    `json:"last_error"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
}

func viewDelivery(d model.Delivery) deliveryView {
	v := deliveryView{UID: d.UID, WorkspaceUID: d.WorkspaceUID, Status: d.Status, HTTPStatus: d.HTTPStatus,
		RetryCount: d.RetryCount, NextAttempt: d.NextAttemptAt, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
	if d.ParentUID != "" {
		v.ParentUID = &d.ParentUID
	}
	if d.LastError != "" {
		v.LastError = &d.LastError
	}
	if d.Kind == model.DeliveryCallback {
		v.RunUID, v.BatchUID, v.RefUID, v.URL = &d.RunUID, &d.BatchUID, d.RefUID, d.URL
		if d.BatchUID == "" {
			v.BatchUID = nil
		}
	} else {
		v.WebhookID, v.Event, v.WebhookURL = d.RefUID, d.Event, d.URL
	}
	return v
}

var deliveryStatuses = []string{"PENDING", "RUNNING", "FAILED", "SUCCESS"}

// maxSortKeys bounds sort as the reference does (10 items of 128 characters).
const maxSortKeys = 10

// sortKeys reads sort in every form the reference shows: repeated (sort=a&sort=b,
// sort[]=a&sort[]=b) or one comma-separated value ("-created_at, status"). Each key
// is a column of allowed, "-" first for descending order; a column given twice is
// an error, since only its first mention could count.
func (c *rctx) sortKeys(allowed map[string]string) ([]string, error) {
	q := c.r.URL.Query()
	var keys []string
	seen := map[string]bool{}
	for _, name := range []string{"sort", "sort[]"} {
		for _, v := range q[name] {
			if len(v) > 128 {
				return nil, apperr.BadParameters("querystring/%s must NOT have more than 128 characters", name)
			}
			for part := range strings.SplitSeq(v, ",") {
				part = strings.TrimSpace(part)
				if part == "" {
					continue
				}
				col := strings.TrimPrefix(part, "-")
				if _, ok := allowed[col]; !ok {
					return nil, apperr.BadParameters("querystring/sort: %q is not one of %s, optionally prefixed with -",
						part, sortNames(allowed))
				}
				if seen[col] {
					return nil, apperr.BadParameters("querystring/sort names %s twice", col)
				}
				seen[col] = true
				keys = append(keys, part)
			}
		}
	}
	if len(keys) > maxSortKeys {
		return nil, apperr.BadParameters("querystring/sort must NOT have more than %d items", maxSortKeys)
	}
	return keys, nil
}

func (s *Server) listDeliveries(kind string, maxLimit int) func(*rctx) error {
	return func(c *rctx) error {
		limit, offset, err := c.page(10, maxLimit)
		if err != nil {
			return err
		}
		sort, err := c.sortKeys(store.DeliverySortColumns)
		if err != nil {
			return err
		}
		f := store.DeliveryFilter{Kind: kind, Status: c.listQuery("status"), RunUID: c.listQuery("run_uid"), Limit: limit,
			Offset: offset, Sort: sort}
		if err := checkEnum("status", f.Status, deliveryStatuses); err != nil {
			return err
		}
		ds, err := s.Dispatch.Deliveries(c.ctx(), c.P().WorkspaceID, f)
		if err != nil {
			return err
		}
		out := make([]deliveryView, 0, len(ds))
		for _, d := range ds {
			out = append(out, viewDelivery(d))
		}
		return c.ok(out)
	}
}

func (s *Server) getDelivery(kind string) func(*rctx) error {
	return func(c *rctx) error {
		d, err := s.Dispatch.Delivery(c.ctx(), c.P().WorkspaceID, kind, c.path("uid"))
		if err != nil {
			return err
		}
		return c.ok(viewDelivery(d))
	}
}

func (s *Server) replayDelivery(kind string) func(*rctx) error {
	return func(c *rctx) error {
		d, err := s.Dispatch.Replay(c.ctx(), c.P().WorkspaceID, kind, c.path("uid"))
		if err != nil {
			return err
		}
		return c.ok(viewDelivery(d))
	}
}
