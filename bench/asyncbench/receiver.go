package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/firstmate-oss/firstmate/internal/webhook/send"
)

// receiver is the customer's callback endpoint: a plain net/http server in
// this process that counts distinct deliveries (by webhook-id, which is the
// callback_ref_uid and stays the same across retries), notes the first and
// last arrival, and verifies the Standard Webhooks signature of a sample.
type receiver struct {
	srv *http.Server
	url string

	mu          sync.Mutex
	secret      string
	verifyEvery int
	want        int // distinct deliveries expected (inputs + the final one)
	ids         map[string]struct{}
	received    int // requests, duplicates included
	first, last time.Time
	finalAt     time.Time
	finalStatus string
	verified    int
	badSig      int
	firstBadSig string
	done        chan struct{}
}

func startReceiver() (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rc := &receiver{url: "http://" + ln.Addr().String() + "/callbacks"}
	rc.reset("", 1, 0)
	rc.srv = &http.Server{Handler: rc, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() { _ = rc.srv.Serve(ln) }()
	return rc, nil
}

func (rc *receiver) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = rc.srv.Shutdown(ctx)
}

// reset starts counting for a new run.
func (rc *receiver) reset(secret string, verifyEvery, want int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.secret, rc.verifyEvery, rc.want = secret, max(verifyEvery, 1), want
	rc.ids = make(map[string]struct{}, want)
	rc.received, rc.verified, rc.badSig, rc.firstBadSig = 0, 0, 0, ""
	rc.first, rc.last, rc.finalAt, rc.finalStatus = time.Time{}, time.Time{}, time.Time{}, ""
	rc.done = make(chan struct{})
}

var finalMarker = []byte(`"batch_uid":null`)

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	now := time.Now()
	id := r.Header.Get(send.HeaderID)
	rc.mu.Lock()
	rc.received++
	_, dup := rc.ids[id]
	n := len(rc.ids)
	secret, verify := rc.secret, false
	if !dup {
		rc.ids[id] = struct{}{}
		n++
		if rc.first.IsZero() {
			rc.first = now
		}
		rc.last = now
		verify = n%rc.verifyEvery == 1 || rc.verifyEvery == 1
		if n == rc.want {
			close(rc.done)
		}
	}
	final := bytes.Contains(body, finalMarker)
	rc.mu.Unlock()

	if verify || final {
		err := errors.New("no signing secret")
		if secret != "" {
			err = send.Verify(secret, r.Header, body, 5*time.Minute)
		}
		var status string
		if final {
			var p struct {
				Run struct{ Status string } `json:"run"`
			}
			_ = json.Unmarshal(body, &p)
			status = p.Run.Status
		}
		rc.mu.Lock()
		if err != nil {
			rc.badSig++
			if rc.firstBadSig == "" {
				rc.firstBadSig = err.Error()
			}
		} else {
			rc.verified++
		}
		if final && rc.finalAt.IsZero() {
			rc.finalAt, rc.finalStatus = now, status
		}
		rc.mu.Unlock()
	}
	w.WriteHeader(http.StatusOK)
}

// callbackStats is a snapshot of what arrived.
type callbackStats struct {
	distinct, received  int
	first, last         time.Time
	finalAt             time.Time
	finalStatus         string
	verified, badSig    int
	firstBadSig         string
	afterRunEnd         int // distinct deliveries that arrived after the run finished
	afterRunEndDuration time.Duration
}

func (s callbackStats) perSec() float64 {
	if s.distinct < 2 || !s.last.After(s.first) {
		return 0
	}
	return float64(s.distinct-1) / s.last.Sub(s.first).Seconds()
}

func (rc *receiver) snapshot() callbackStats {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return callbackStats{distinct: len(rc.ids), received: rc.received, first: rc.first, last: rc.last, finalAt: rc.finalAt,
		finalStatus: rc.finalStatus, verified: rc.verified, badSig: rc.badSig, firstBadSig: rc.firstBadSig}
}

func (rc *receiver) doneChan() <-chan struct{} {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.done
}
