package runs

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// failureSummary is the last_error of a finished run some of whose inputs
// failed (PARTIAL_SUCCEEDED or FAILED): how many failed, and the first
// failure's label, message, params (saying which input it was), scope and
// status. nil when no input failed.
func failureSummary(ctx context.Context, q store.Querier, r model.Run) (*model.RunError, error) {
	idx, raw, ok, err := store.FirstFailedInput(ctx, q, r.ID)
	if err != nil || !ok {
		return nil, err
	}
	var first model.RunError
	if err := json.Unmarshal([]byte(raw), &first); err != nil || first.Label == "" {
		first = model.RunError{Label: "GENERIC_ERROR", Message: "the input failed"}
	}
	params := make(map[string]string, len(first.Params)+3)
	for k, v := range first.Params {
		params[k] = v
	}
	params["failed_count"] = strconv.Itoa(r.FailedCount)
	params["input_count"] = strconv.Itoa(r.InputCount)
	params["input_index"] = strconv.Itoa(idx)
	return &model.RunError{Label: first.Label, Params: params, Scope: first.Scope, Status: first.Status,
		Message: fmt.Sprintf("%d of %d inputs failed; the first (input %d): %s", r.FailedCount, r.InputCount, idx, first.Message)}, nil
}
