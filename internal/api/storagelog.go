package api

import (
	"log/slog"
	"sync"
	"time"
)

// storageLog reports requests refused because the storage failed. A full
// disk or a dead database fails every request at once; one log line per
// request would bury everything else. So a line is written at most once a
// second: the first failure at once, the next ones a second after the last
// line, and each line lists the error_ref of every request it stands for
// (a user quoting one finds it) with the latest cause.
type storageLog struct {
	log *slog.Logger

	mu      sync.Mutex
	last    time.Time // when the last line was written
	pending []string  // error_refs not logged yet
	dropped int       // error_refs beyond maxRefsPerLine, counted only
	cause   string
	timer   *time.Timer
}

// maxRefsPerLine bounds a line's error_refs.
const maxRefsPerLine = 500

// storageLogEvery is the least time between two lines.
const storageLogEvery = time.Second

func (l *storageLog) add(ref, cause string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.pending) < maxRefsPerLine {
		l.pending = append(l.pending, ref)
	} else {
		l.dropped++
	}
	l.cause = cause
	if wait := storageLogEvery - time.Since(l.last); wait > 0 {
		if l.timer == nil {
			l.timer = time.AfterFunc(wait, l.flush)
		}
		return
	}
	l.writeLocked()
}

func (l *storageLog) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.timer = nil
	l.writeLocked()
}

func (l *storageLog) writeLocked() {
	if len(l.pending) == 0 {
		return
	}
	attrs := []any{"error_refs", l.pending, "requests", len(l.pending) + l.dropped, "cause", l.cause}
	l.log.Error("requests refused: storage unavailable", attrs...)
	l.last, l.pending, l.dropped = time.Now(), nil, 0
}
