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
// (a user quoting one finds it) with the latest cause. A line is written
// early when it holds maxRefsPerLine refs, so that no ref is ever left out
// while lines stay a size log shippers accept (about 16 KiB): only a node
// refusing more than that many requests a second writes more than one line
// a second.
type storageLog struct {
	log *slog.Logger

	mu      sync.Mutex
	last    time.Time // when the last line was written
	pending []string  // error_refs not logged yet
	cause   string
	timer   *time.Timer
}

// maxRefsPerLine bounds a line's error_refs (each about 15 bytes).
const maxRefsPerLine = 1000

// storageLogEvery is the least time between two lines.
const storageLogEvery = time.Second

func (l *storageLog) add(ref, cause string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending = append(l.pending, ref)
	l.cause = cause
	if len(l.pending) >= maxRefsPerLine {
		l.writeLocked()
		return
	}
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
	attrs := []any{"error_refs", l.pending, "requests", len(l.pending), "cause", l.cause}
	l.log.Error("requests refused: storage unavailable", attrs...)
	l.last, l.pending = time.Now(), nil
}
