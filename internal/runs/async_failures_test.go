package runs_test

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestAsyncTransientAndPermanentFailures: an account that answers 429 and
// 503 now and then (sim_flaky) gets its inputs retried until they succeed
// (retry_count counts the retries), while inputs the platform does not know
// (404) fail for good: the run ends PARTIAL_SUCCEEDED, each failed input is
// called back once with its error and custom_data and charged nothing, and
// the final callback carries the terminal status.
func TestAsyncTransientAndPermanentFailures(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := startAsync(t, dialect, asyncOpts{})
		rc := newReceiver(t)
		rc.setSecret(e.secret(e.Key))
		id := e.identity(e.Key, "Flaky identity", "sim_flaky")
		const n = 30
		inputs := profileInputs(n, "flaky")
		missing := map[int]bool{3: true, 17: true, 28: true}
		for i := range missing {
			inputs[i]["linkedin_profile_url"] = "https://www.linkedin.com/in/missing-person-" + string(rune('a'+i))
		}
		sub := e.submit(e.Key, "linkedin-extract-people", map[string]any{"inputs": inputs, "identity_ids": []string{id},
			"callback": map[string]any{"url": rc.URL, "on": "all", "headers": map[string]any{"X-Receiver-Token": "tok-s3cret"}}})
		uid := sub["run_uid"].(string)
		r := e.waitStatus(e.Key, uid, 2*time.Minute, "SUCCEEDED", "PARTIAL_SUCCEEDED", "FAILED", "BLOCKED")
		ok := n - len(missing)
		if r["status"] != "PARTIAL_SUCCEEDED" || r["output_count"] != float64(ok) {
			t.Fatalf("run: %v", r)
		}
		if r["retry_count"].(float64) < 1 {
			t.Errorf("retry_count %v: the flaky account's 429 and 503 answers were not retried", r["retry_count"])
		}
		if got := e.creditsUsed(e.Key); got != float64(ok) {
			t.Errorf("credits_used %v, want %d", got, ok)
		}
		if got := e.count(`SELECT COALESCE(SUM(results), 0) FROM credit_charges WHERE run_uid = $1`, uid); got != ok {
			t.Errorf("%d results charged, want %d", got, ok)
		}
		var runID int64
		if err := e.App.DB.Handles().R.QueryRowContext(context.Background(), `SELECT id FROM runs WHERE uid = $1`, uid).Scan(&runID); err != nil {
			t.Fatal(err)
		}
		if got := e.count(`SELECT COUNT(*) FROM run_inputs WHERE run_id = $1 AND status = 'FAILED'`, runID); got != len(missing) {
			t.Errorf("%d inputs FAILED, want %d", got, len(missing))
		}
		got := rc.waitFor(t, time.Minute, "every callback", func(c []callback) bool { return len(finalOf(c, uid)) > 0 && len(c) >= n+1 })
		byIdx := map[int]int{}
		for _, c := range got {
			if c.SigErr != nil {
				t.Errorf("signature: %v", c.SigErr)
			}
			if c.Header.Get("X-Receiver-Token") != "tok-s3cret" {
				t.Errorf("the callback headers were not sent: %v", c.Header)
			}
			run, _ := c.Body["run"].(map[string]any)
			if isFinal(c, uid) {
				// Its own batch, and no results: results_count counts the
				// results in this callback.
				if run["status"] != "PARTIAL_SUCCEEDED" || c.Body["results_count"] != float64(0) ||
					!isUUID(run["batch_uid"]) || len(c.Body["results"].([]any)) != 0 {
					t.Errorf("final callback: %s", c.Raw)
				}
				// Its error says what failed, as last_error does, in the
				// reference's APIError shape: the first failed input's
				// label, scope and status, with the counts in params, and
				// that input's error_ref, which is in the log.
				errObj, _ := c.Body["error"].(map[string]any)
				if errObj == nil {
					t.Errorf("final callback of a PARTIAL_SUCCEEDED run without an error: %s", c.Raw)
					continue
				}
				checkAPIError(t, errObj, c.Raw)
				params, _ := errObj["params"].(map[string]any)
				if errObj["error_label"] != "STATUS_404" || errObj["error_scope"] != "integ" || errObj["status_code"] != float64(424) ||
					params["failed_count"] != "3" || params["input_count"] != "30" || params["input_index"] != "3" {
					t.Errorf("final callback's error: %s", c.Raw)
				}
				le, _ := r["last_error"].(map[string]any)
				if le == nil || le["label"] != errObj["error_label"] || le["message"] != errObj["message"] {
					t.Errorf("final callback's error %v, last_error %v: want the same failure", errObj, le)
				}
				if ref, _ := errObj["error_ref"].(string); ref == "" || !strings.Contains(e.Logs.String(), `"error_ref":"`+ref+`"`) {
					t.Errorf("the final callback's error_ref %q is not in the log", ref)
				}
				continue
			}
			if !isUUID(run["batch_uid"]) {
				t.Errorf("batch callback without a batch_uid: %s", c.Raw)
			}
			cd, _ := c.Body["custom_data"].(map[string]any)
			idx := int(cd["idx"].(float64))
			byIdx[idx]++
			errObj, _ := c.Body["error"].(map[string]any)
			if missing[idx] {
				// The reference's APIError: the 424 of a profile the
				// platform does not know, scope integ, with a reference.
				if errObj == nil || errObj["error_label"] != "STATUS_404" || errObj["error_scope"] != "integ" ||
					errObj["status_code"] != float64(424) || c.Body["results_count"] != float64(0) {
					t.Errorf("callback of the missing input %d: %s", idx, c.Raw)
				}
				checkAPIError(t, errObj, c.Raw)
				ref, _ := errObj["error_ref"].(string)
				if ref == "" || !strings.Contains(e.Logs.String(), `"error_ref":"`+ref+`"`) {
					t.Errorf("input %d: error_ref %q is not in the log", idx, ref)
				}
			} else if c.Body["error"] != nil || c.Body["results_count"] != float64(1) {
				t.Errorf("callback of input %d: %s", idx, c.Raw)
			}
		}
		if len(byIdx) != n {
			t.Errorf("callbacks for %d inputs, want %d", len(byIdx), n)
		}
		// The callback headers are never echoed back, on any run route.
		for _, path := range []string{"/v4/runs/" + uid, "/v1/runs/" + uid, "/v4/runs/" + uid + "/status", "/v4/runs?limit=100",
			"/v4/api/runs/list", "/v4/api/runs/get?uid=" + uid, "/v4/runs/callbacks?limit=20"} {
			r := e.Must(200, "GET", path, e.Key, nil)
			if strings.Contains(string(r.Body), "tok-s3cret") || strings.Contains(string(r.Body), "X-Receiver-Token") {
				t.Errorf("GET %s echoes the callback headers", path)
			}
		}
		// The legacy routes answer like the canonical ones.
		if legacy := e.Must(200, "GET", "/v4/api/runs/get?uid="+uid, e.Key, nil).Obj(); legacy["uid"] != uid || legacy["status"] != r["status"] {
			t.Errorf("GET /v4/api/runs/get: %v", legacy)
		}
		if list := e.Must(200, "GET", "/v4/api/runs/list?status[]=PARTIAL_SUCCEEDED", e.Key, nil).Arr(); len(list) != 1 ||
			list[0].(map[string]any)["uid"] != uid {
			t.Errorf("GET /v4/api/runs/list: %v", list)
		}
	})
}
