// Package logthrottle keeps a failure that repeats many times a second to
// one log line a second. When the disk fills up or the database goes away,
// every background loop (River's job fetchers poll ten times a second, the
// schedule firing loop, the deliveries) fails on each pass with the same
// error, and the log would say so a dozen times a second and bury the rest.
package logthrottle

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Handler passes records to the next handler, except that a warning or
// error with the same level, message and error attribute ("err", "error"
// or "cause") as one passed less than Every ago is dropped; the next one
// passed carries "repeated": how many were dropped since. Records with an
// "error_ref" or "error_refs" attribute always pass: a user may quote the
// reference, and it must be in the log.
type Handler struct {
	next  slog.Handler
	every time.Duration
	st    *state
}

type state struct {
	mu   sync.Mutex
	seen map[key]*entry
}

type key struct {
	level    slog.Level
	msg, err string
}

type entry struct {
	last    time.Time
	dropped int
}

// New wraps next.
func New(next slog.Handler, every time.Duration) *Handler {
	return &Handler{next: next, every: every, st: &state{seen: map[key]*entry{}}}
}

func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &Handler{next: h.next.WithAttrs(attrs), every: h.every, st: h.st}
}

func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name), every: h.every, st: h.st}
}

func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn {
		return h.next.Handle(ctx, r)
	}
	k := key{level: r.Level, msg: r.Message}
	exempt := false
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "error_ref", "error_refs":
			exempt = true
			return false
		case "err", "error", "cause":
			k.err = a.Value.String()
		}
		return true
	})
	if exempt {
		return h.next.Handle(ctx, r)
	}
	now := time.Now()
	h.st.mu.Lock()
	e := h.st.seen[k]
	if e != nil && now.Sub(e.last) < h.every {
		e.dropped++
		h.st.mu.Unlock()
		return nil
	}
	dropped := 0
	if e != nil {
		dropped = e.dropped
	}
	if len(h.st.seen) >= 1000 {
		for k, e := range h.st.seen {
			if now.Sub(e.last) >= h.every {
				delete(h.st.seen, k)
			}
		}
	}
	h.st.seen[k] = &entry{last: now}
	h.st.mu.Unlock()
	if dropped > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("repeated", dropped))
	}
	return h.next.Handle(ctx, r)
}
