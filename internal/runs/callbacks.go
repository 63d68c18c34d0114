package runs

import (
	"context"
	"database/sql"
	"encoding/json"
	"strconv"

	"github.com/google/uuid"

	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// callbackRun is the payload's "run" object.
type callbackRun struct {
	RunUID   string  `json:"run_uid"`
	BatchUID *string `json:"batch_uid"`
	Status   string  `json:"status"`
}

// callbackBody is the contract's callback payload (§7).
type callbackBody struct {
	CallbackRefUID string            `json:"callback_ref_uid"`
	Run            callbackRun       `json:"run"`
	Input          json.RawMessage   `json:"input"`
	CustomData     json.RawMessage   `json:"custom_data"`
	Error          *model.RunError   `json:"error"`
	ResultsCount   int               `json:"results_count"`
	Results        []json.RawMessage `json:"results"`
}

func rawOrNull(s string) json.RawMessage {
	if s == "" {
		return json.RawMessage("null")
	}
	return json.RawMessage(s)
}

// batchDelivery builds the callback of one input's batch, to be stored with
// the chunk. Its ref uid is derived from (run, input) so that a re-run of
// the chunk finds the same row.
func batchDelivery(run model.Run, r inputResult, results []json.RawMessage, batch string) (model.Delivery, error) {
	ref := uuid.NewSHA1(uuid.NameSpaceURL, []byte("firstmate:callback:"+run.UID+":"+itoa(r.in.Idx))).String()
	body := callbackBody{CallbackRefUID: ref, Run: callbackRun{RunUID: run.UID, BatchUID: &batch, Status: model.RunRunning},
		Input: rawOrNull(r.in.Input), CustomData: rawOrNull(r.in.CustomData.String), ResultsCount: len(r.results),
		Results: results}
	if body.Results == nil {
		body.Results = []json.RawMessage{}
	}
	if r.err != nil {
		body.Error = &model.RunError{Label: r.err.Label, Message: r.err.Message, Params: r.err.Params}
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return model.Delivery{}, err
	}
	return model.Delivery{UID: uuid.NewString(), Kind: model.DeliveryCallback, WorkspaceID: run.WorkspaceID, RunID: run.ID,
		BatchUID: batch, RefUID: ref, URL: run.CallbackURL, Payload: string(payload)}, nil
}

// finalCallback stores the run's last callback, carrying its terminal status.
func (s *Service) finalCallback(ctx context.Context, tx *sql.Tx, r model.Run) (int64, error) {
	ref := uuid.NewSHA1(uuid.NameSpaceURL, []byte("firstmate:callback:"+r.UID+":final")).String()
	body := callbackBody{CallbackRefUID: ref, Run: callbackRun{RunUID: r.UID, Status: r.Status},
		Input: rawOrNull(""), CustomData: rawOrNull(""), Error: r.LastError, ResultsCount: r.OutputCount,
		Results: []json.RawMessage{}}
	payload, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	return store.InsertDelivery(ctx, tx, model.Delivery{UID: uuid.NewString(), Kind: model.DeliveryCallback,
		WorkspaceID: r.WorkspaceID, RunID: r.ID, RefUID: ref, Event: "final", URL: r.CallbackURL, Payload: string(payload)})
}

func itoa(n int) string { return strconv.Itoa(n) }
