package runs

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"strconv"

	"github.com/google/uuid"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// callbackRun is the payload's "run" object.
type callbackRun struct {
	RunUID   string `json:"run_uid"`
	BatchUID string `json:"batch_uid"`
	Status   string `json:"status"`
}

// callbackBody is the contract's callback payload (§7).
type callbackBody struct {
	CallbackRefUID string            `json:"callback_ref_uid"`
	Run            callbackRun       `json:"run"`
	Input          json.RawMessage   `json:"input"`
	CustomData     json.RawMessage   `json:"custom_data"`
	Error          *callbackError    `json:"error"`
	ResultsCount   int               `json:"results_count"`
	Results        []json.RawMessage `json:"results"`
}

// callbackError is the reference's APIError object, the shape of the API's
// error bodies.
type callbackError struct {
	ErrorLabel string            `json:"error_label"`
	ErrorScope *string           `json:"error_scope"`
	ErrorRef   string            `json:"error_ref"`
	Message    string            `json:"message"`
	StatusCode *int              `json:"status_code"`
	Params     map[string]string `json:"params"`
}

// newCallbackError renders an error for a callback. Its reference derives
// from the callback's ref uid, so the callback stored keeps one; scopes the
// reference does not list (auth, server) and unknown statuses are null.
func newCallbackError(ref, label, scope, message string, status int, params map[string]string) *callbackError {
	e := &callbackError{ErrorLabel: label, ErrorRef: errorRef(ref), Message: message, Params: map[string]string{}}
	switch scope {
	case apperr.ScopeInput, apperr.ScopeInteg, apperr.ScopeParam, apperr.ScopeConfig:
		e.ErrorScope = &scope
	}
	if status != 0 {
		e.StatusCode = &status
	}
	for k, v := range params {
		e.Params[k] = v
	}
	return e
}

func rawOrNull(s string) json.RawMessage {
	if s == "" {
		return json.RawMessage("null")
	}
	return json.RawMessage(s)
}

// callbackRef is the callback_ref_uid of a run's callback, derived from the
// run and the input index (or "final") so that a re-run of a chunk finds the
// same row.
func callbackRef(runUID, what string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("firstmate:callback:"+runUID+":"+what)).String()
}

// batchDelivery builds the callback of one input's batch, to be stored with
// the chunk. A failed input's error carries an error_ref, which is also
// logged (see logInputErrors).
func batchDelivery(run model.Run, r inputResult, results []json.RawMessage, batch string) (model.Delivery, error) {
	ref := callbackRef(run.UID, itoa(r.in.Idx))
	body := callbackBody{CallbackRefUID: ref, Run: callbackRun{RunUID: run.UID, BatchUID: batch, Status: model.RunRunning},
		Input: rawOrNull(r.in.Input), CustomData: rawOrNull(r.in.CustomData.String), ResultsCount: len(results),
		Results: results}
	if body.Results == nil {
		body.Results = []json.RawMessage{}
	}
	if r.err != nil {
		body.Error = newCallbackError(ref, r.err.Label, r.err.Scope, r.err.Message, r.err.Status, r.err.Params)
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return model.Delivery{}, err
	}
	return model.Delivery{UID: uuid.NewString(), Kind: model.DeliveryCallback, WorkspaceID: run.WorkspaceID, RunID: run.ID,
		BatchUID: batch, RefUID: ref, URL: run.CallbackURL, Payload: string(payload)}, nil
}

// errorRef is the error_ref of the error in the callback whose ref uid is
// callbackRef.
func errorRef(callbackRef string) string {
	sum := sha256.Sum256([]byte("firstmate:error:" + callbackRef))
	return apperr.RefFrom(sum[:])
}

// logInputErrors logs the inputs of a chunk that failed for good, each with
// the error_ref its callback carries, so that a user quoting it finds the
// line.
func (s *Service) logInputErrors(run model.Run, failed []inputResult) {
	if s.Log == nil {
		return
	}
	for _, r := range failed {
		attrs := []any{"error_ref", errorRef(callbackRef(run.UID, itoa(r.in.Idx))), "workspace_uid", run.WorkspaceUID,
			"run_uid", run.UID, "input_idx", r.in.Idx, "status", r.err.Status, "label", r.err.Label, "message", r.err.Message}
		if r.err.Cause != nil {
			attrs = append(attrs, "cause", r.err.Cause.Error())
		}
		s.Log.Info("async input failed", attrs...)
	}
}

// finalCallback stores the run's last callback: the terminal status, no
// results (results_count 0: receivers that add results_count up count each
// result once), a batch_uid of its own, and as error the run's last error
// when some inputs failed (null for a run that SUCCEEDED): the
// failureSummary, in the APIError shape, whose error_ref is the first
// failed input's (the one logged with its cause).
func (s *Service) finalCallback(ctx context.Context, tx *store.Tx, r model.Run) (int64, error) {
	ref := callbackRef(r.UID, "final")
	batch := uuid.NewSHA1(uuid.NameSpaceURL, []byte("firstmate:batch:"+r.UID+":final")).String()
	body := callbackBody{CallbackRefUID: ref, Run: callbackRun{RunUID: r.UID, BatchUID: batch, Status: r.Status},
		Input: rawOrNull(""), CustomData: rawOrNull(""), Results: []json.RawMessage{}}
	if e := r.LastError; r.Status != model.RunSucceeded && e != nil {
		errRef := ref
		if idx, err := strconv.Atoi(e.Params["input_index"]); err == nil {
			errRef = callbackRef(r.UID, itoa(idx))
		}
		body.Error = newCallbackError(errRef, e.Label, e.Scope, e.Message, e.Status, e.Params)
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	return store.InsertDelivery(ctx, tx, model.Delivery{UID: uuid.NewString(), Kind: model.DeliveryCallback,
		WorkspaceID: r.WorkspaceID, RunID: r.ID, BatchUID: batch, RefUID: ref, Event: "final", URL: r.CallbackURL,
		Payload: string(payload)})
}

func itoa(n int) string { return strconv.Itoa(n) }

// logCommitErr logs a commit that failed where the pass goes on (a resumed
// chunk's early commit: its input is recorded by the pass's own commit).
func (s *Service) logCommitErr(run model.Run, err error) {
	if s.Log == nil {
		return
	}
	s.Log.Warn("runs: early commit of a resumed chunk failed; the pass records its input", "run_uid", run.UID, "error", err.Error())
}
