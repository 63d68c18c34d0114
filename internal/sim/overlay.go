package sim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
)

// The overlay holds every write made through the simulator, on top of the
// generated world. With a data file each write is first appended as one JSON
// line and fsynced, then applied; on start the file is replayed. A torn last
// line (a crash mid-write) is cut off, so the file is always a clean log.

type event struct {
	Op      string `json:"op"`
	Acct    string `json:"acct"`
	P       int    `json:"p,omitempty"`      // target person
	Handle  string `json:"handle,omitempty"` // the target's handle when it is a guest (guests.go)
	Slot    int    `json:"slot,omitempty"`   // post slot
	E       int    `json:"e,omitempty"`      // event index
	ID      int64  `json:"id,omitempty"`
	Parent  int64  `json:"parent,omitempty"`
	Text    string `json:"text,omitempty"`
	Subject string `json:"subject,omitempty"`
	Kind    string `json:"kind,omitempty"` // reaction type, message kind
	On      bool   `json:"on,omitempty"`
	At      int64  `json:"at"` // unix ms
	Files   []File `json:"files,omitempty"`
}

// File is an attachment as the platform describes it after upload.
type File struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
	Type string `json:"mediaType"`
	URN  string `json:"assetUrn"`
}

type ovInvite struct {
	ID      int64
	Message string
	At      int64
}

type ovMessage struct {
	ID      string
	FromMe  bool
	Text    string
	Subject string
	Kind    string // "" or "INMAIL"
	At      int64
	Files   []File
}

type ovThread struct {
	Messages []ovMessage
	Archived bool
	Read     *bool
}

type ovComment struct {
	ID     int64
	Acct   string
	Text   string
	Parent int64
	At     int64
}

type acctState struct {
	sent         map[int]ovInvite // new invitations, by target person
	withdrawn    map[int]bool     // generated sent invitations withdrawn
	accepted     map[int]int64    // generated received invitations accepted (inviter -> at)
	connections  map[int]int64    // people connected through the overlay
	threads      map[int]*ovThread
	follows      map[int]bool
	eventInvites map[[2]int]int64
}

func newAcctState() *acctState {
	return &acctState{sent: map[int]ovInvite{}, withdrawn: map[int]bool{}, accepted: map[int]int64{}, connections: map[int]int64{},
		threads: map[int]*ovThread{}, follows: map[int]bool{}, eventInvites: map[[2]int]int64{}}
}

type overlay struct {
	mu       sync.Mutex
	f        *os.File
	accts    map[string]*acctState
	likes    map[int]map[string]string // post slot -> account -> reaction
	comments map[int][]ovComment       // post slot -> comments, oldest first
	guests   map[int]string            // guest people written to: index -> handle
	seq      int64
}

func openOverlay(path string) (*overlay, error) {
	o := &overlay{accts: map[string]*acctState{}, likes: map[int]map[string]string{}, comments: map[int][]ovComment{},
		guests: map[int]string{}}
	if path == "" {
		return o, nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sim: open data file: %w", err)
	}
	good, err := o.replay(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Truncate(good); err != nil {
		f.Close()
		return nil, fmt.Errorf("sim: trim data file: %w", err)
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	o.f = f
	return o, nil
}

// replay applies every complete line and returns the offset after the last one.
func (o *overlay) replay(f *os.File) (int64, error) {
	rd := bufio.NewReader(f)
	var good int64
	for {
		line, err := rd.ReadBytes('\n')
		if err == io.EOF {
			return good, nil // a partial last line (no newline) is dropped
		}
		if err != nil {
			return 0, fmt.Errorf("sim: read data file: %w", err)
		}
		var ev event
		if jerr := json.Unmarshal(bytes.TrimSpace(line), &ev); jerr != nil {
			return good, nil // torn or corrupt tail: keep what came before
		}
		o.apply(ev)
		good += int64(len(line))
	}
}

func (o *overlay) close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.f == nil {
		return nil
	}
	err := o.f.Close()
	o.f = nil
	return err
}

// commit persists then applies one write.
func (o *overlay) commit(ev event) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.f != nil {
		b, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		b = append(b, '\n')
		if _, err := o.f.Write(b); err != nil {
			return fmt.Errorf("sim: write data file: %w", err)
		}
		if err := o.f.Sync(); err != nil {
			return fmt.Errorf("sim: sync data file: %w", err)
		}
	}
	o.apply(ev)
	return nil
}

func (o *overlay) acct(name string) *acctState {
	a := o.accts[name]
	if a == nil {
		a = newAcctState()
		o.accts[name] = a
	}
	return a
}

func (o *overlay) thread(a *acctState, p int) *ovThread {
	t := a.threads[p]
	if t == nil {
		t = &ovThread{}
		a.threads[p] = t
	}
	return t
}

func (o *overlay) apply(ev event) {
	o.seq++
	if ev.Handle != "" {
		o.guests[ev.P] = ev.Handle
	}
	a := o.acct(ev.Acct)
	switch ev.Op {
	case "invite":
		a.sent[ev.P] = ovInvite{ID: ev.ID, Message: ev.Text, At: ev.At}
	case "withdraw":
		delete(a.sent, ev.P)
		a.withdrawn[ev.P] = true
	case "accept":
		a.accepted[ev.P] = ev.At
		a.connections[ev.P] = ev.At
	case "message":
		t := o.thread(a, ev.P)
		t.Messages = append(t.Messages, ovMessage{ID: fmt.Sprint(ev.ID), FromMe: true, Text: ev.Text, Subject: ev.Subject, Kind: ev.Kind, At: ev.At, Files: ev.Files})
		t.Archived = false
	case "archive":
		o.thread(a, ev.P).Archived = true
	case "read":
		v := ev.On
		o.thread(a, ev.P).Read = &v
	case "follow":
		a.follows[ev.P] = ev.On
	case "like":
		m := o.likes[ev.Slot]
		if m == nil {
			m = map[string]string{}
			o.likes[ev.Slot] = m
		}
		if ev.Kind == "" {
			delete(m, ev.Acct)
		} else {
			m[ev.Acct] = ev.Kind
		}
	case "comment":
		o.comments[ev.Slot] = append(o.comments[ev.Slot], ovComment{ID: ev.ID, Acct: ev.Acct, Text: ev.Text, Parent: ev.Parent, At: ev.At})
	case "event_invite":
		a.eventInvites[[2]int{ev.E, ev.P}] = ev.At
	}
}

// view runs fn with the account's state under the lock.
func (o *overlay) view(name string, fn func(a *acctState)) {
	o.mu.Lock()
	defer o.mu.Unlock()
	fn(o.acct(name))
}
