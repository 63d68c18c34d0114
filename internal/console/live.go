package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Live updates. A page's live parts (elements with data-live) are fed by a
// server-sent event stream (data-sse) and, where EventSource is missing or
// the stream cannot be opened, by polling the JSON twin of the same view
// (data-poll) with back-off. Without JavaScript the page refreshes itself
// (page.Refresh). Each view is computed by one function, so the three ways
// show the same figures.

// liveView computes a page's live state; done says the state is final
// (the stream ends and the page stops listening).
type liveView func(q *req) (v map[string]any, done bool, err error)

// Stream pacing: how often the server recomputes a view, how long one
// stream lasts before the browser reconnects (EventSource does that by
// itself), and the keep-alive comment that holds idle proxies open.
const (
	streamMaxAge    = 5 * time.Minute
	streamKeepAlive = 15 * time.Second
	streamRetryMS   = 2000
)

// serveJSON answers a view once, as JSON (the polling fallback).
func serveJSON(view liveView) func(*req) error {
	return func(q *req) error {
		v, done, err := view(q)
		if err != nil {
			return err
		}
		v["terminal"] = done
		return q.json(v)
	}
}

// serveEvents streams a view as server-sent events: an event whenever it
// changes, checked every interval, and a final "done" event when it is
// final. Errors of the view (a run of another workspace: 404) are answered
// before the stream starts, as a status, so EventSource gives up.
func serveEvents(interval time.Duration, view liveView) func(*req) error {
	return func(q *req) error {
		v, done, err := view(q)
		if err != nil {
			return err
		}
		rc := http.NewResponseController(q.w)
		h := q.w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
		q.w.WriteHeader(http.StatusOK)
		var last []byte
		send := func(v map[string]any, done bool) error {
			v["terminal"] = done
			b, err := json.Marshal(v)
			if err != nil {
				return err
			}
			if bytes.Equal(b, last) {
				return nil
			}
			last = b
			if _, err := fmt.Fprintf(q.w, "data: %s\n\n", b); err != nil {
				return err
			}
			return rc.Flush()
		}
		if _, err := fmt.Fprintf(q.w, "retry: %d\n\n", streamRetryMS); err != nil {
			return nil
		}
		if err := send(v, done); err != nil {
			return nil // the browser went away
		}
		tick := time.NewTicker(interval)
		defer tick.Stop()
		keep := time.NewTicker(streamKeepAlive)
		defer keep.Stop()
		end := time.NewTimer(streamMaxAge)
		defer end.Stop()
		for !done {
			select {
			case <-q.r.Context().Done():
				return nil
			case <-q.c.done:
				return nil
			case <-end.C:
				return nil // EventSource reconnects after retry ms
			case <-keep.C:
				if _, err := fmt.Fprint(q.w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
					return nil
				}
			case <-tick.C:
				v, done, err = view(q)
				if err != nil {
					q.c.Log.Warn("console: live view failed", "path", q.r.URL.Path, "error", err)
					return nil
				}
				if err := send(v, done); err != nil {
					return nil
				}
			}
		}
		_, _ = fmt.Fprint(q.w, "event: done\ndata: {}\n\n")
		_ = rc.Flush()
		return nil
	}
}

// runView is a run's status and counts, numbers formatted as the page
// shows them.
func runView(q *req) (map[string]any, bool, error) {
	r, err := q.get("/runs/" + url.PathEscape(q.r.PathValue("uid")))
	if err != nil {
		return nil, false, err
	}
	st := str(r["status"])
	v := map[string]any{"status": st, "input_count": fmtn(r["input_count"]), "output_count": fmtn(r["output_count"]),
		"finished_at": str(r["finished_at"]), "last_error": ""}
	if le := r["last_error"]; le != nil && str(le) != "" {
		v["last_error"] = str(le)
	}
	return v, terminal[st], nil
}

var integrationPlatforms = []string{"linkedin", "salesnavigator", "recruiterlite", "hubspot"}

// identityView is each integration's status and checkpoint; final when
// none is PENDING.
func identityView(q *req) (map[string]any, bool, error) {
	base := "/identities/" + url.PathEscape(q.r.PathValue("uid"))
	if _, err := q.get(base); err != nil {
		return nil, false, err // another workspace's identity: 404 before anything
	}
	out, pending := map[string]any{}, false
	for _, p := range integrationPlatforms {
		if g, err := q.get(base + "/integrations/" + p); err == nil {
			out[p] = map[string]any{"status": g["status"], "checkpoint": g["checkpoint"], "error": g["error"]}
			if str(g["status"]) == "PENDING" {
				pending = true
			}
		}
	}
	out["pending"] = pending
	return out, !pending, nil
}

// overviewView is the overview's headline figures: credits and today's
// runs. It never ends (the page listens while open).
func overviewView(q *req) (map[string]any, bool, error) {
	ws, err := q.get("/workspaces")
	if err != nil {
		return nil, false, err
	}
	v := map[string]any{"credits_left": fmtn(ws["credits_left"]), "credits_used": fmtn(ws["credits_used"]),
		"identities": fmtn(ws["users_synced"]) + " / " + fmtn(ws["users_included"])}
	return v, false, nil
}
