package app

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// A node's HTTP side of a graceful shutdown. A client with a keep-alive
// connection to a node that stops can lose a request in one way only: the
// server closes the connection (idle, between two requests) at the moment
// the client sends its next request on it; the client then reads EOF or a
// reset, and Go's client (like most) does not replay a POST. An idle
// HTTP/1.1 connection cannot be told to close; the only safe close is the
// one after a response that said "Connection: close". So a stopping node:
//
//  1. drains: it answers every response, including those of requests that
//     were running when the drain began, with "Connection: close" (so a
//     connection that carries a request is closed by the answer, and the
//     client dials again: another node once the listener is closed);
//  2. closes its listener (new connections are refused: clients go to
//     another node);
//  3. leaves the connections still open, idle in some client's pool, to
//     their clients: the client's next request on one is answered (with
//     "Connection: close"), or the client closes it; only at the end of a
//     grace period does the node close what is still idle (net/http's
//     Shutdown closes idle connections at once, which is the race).

// connTracker counts the server's open connections (http.Server.ConnState).
type connTracker struct {
	mu   sync.Mutex
	open map[net.Conn]http.ConnState
}

func (c *connTracker) state(conn net.Conn, st http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.open == nil {
		c.open = map[net.Conn]http.ConnState{}
	}
	switch st {
	case http.StateClosed, http.StateHijacked:
		delete(c.open, conn)
	default:
		c.open[conn] = st
	}
}

// counts returns the open connections and how many of them are idle.
func (c *connTracker) counts() (open, idle int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.open {
		if st == http.StateIdle {
			idle++
		}
	}
	return len(c.open), idle
}

// closeWhenDraining asks the client to close its connection on every
// response whose header is written once draining reports true, also when
// the request began before (a response written during the drain without
// it would leave the connection idle in the client's pool).
func closeWhenDraining(h http.Handler, draining func() bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if draining() {
			w.Header().Set("Connection", "close")
			h.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(&drainWriter{ResponseWriter: w, draining: draining}, r)
	})
}

// drainWriter checks the drain when the response header goes out.
type drainWriter struct {
	http.ResponseWriter
	draining func() bool
	wrote    bool
}

func (d *drainWriter) header() {
	if !d.wrote {
		d.wrote = true
		if d.draining() {
			d.ResponseWriter.Header().Set("Connection", "close")
		}
	}
}

func (d *drainWriter) WriteHeader(code int) {
	if code >= 200 || code == http.StatusSwitchingProtocols {
		d.header()
	}
	d.ResponseWriter.WriteHeader(code)
}

func (d *drainWriter) Write(b []byte) (int, error) {
	d.header()
	return d.ResponseWriter.Write(b)
}

// Flush sends the header too (live streams).
func (d *drainWriter) Flush() {
	d.header()
	_ = http.NewResponseController(d.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection (deadlines).
func (d *drainWriter) Unwrap() http.ResponseWriter { return d.ResponseWriter }

// waitConns waits, after the listener closed, until the server has no
// connection left, or until done says to stop; it polls, as net/http's
// Shutdown does.
func (c *connTracker) waitConns(done func() bool) {
	for tick := time.Millisecond; ; tick = min(2*tick, 50*time.Millisecond) {
		if open, _ := c.counts(); open == 0 || done() {
			return
		}
		time.Sleep(tick)
	}
}
