package dataplane

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/executor"
)

// An executor's capabilities say which actions it serves. They are asked at
// start (Start waits a bounded time, then lets the server start whatever
// the answer), asked again every few seconds until one answer arrives, then
// every refresh period. Until the first answer the executor's families'
// actions are unavailable (executor_not_reached); afterwards the last answer
// is kept through failed refreshes: an executor that is down for a moment
// fails its calls (retried as any upstream failure), it does not make its
// actions vanish from the catalogue.

// capsTimeout bounds one capabilities request.
const capsTimeout = 10 * time.Second

// execState is one executor, shared by the families routed to it.
type execState struct {
	base     string
	client   *executor.Client
	families []string

	mu      sync.Mutex
	caps    *executor.Capabilities
	lastErr error
	logged  string // the last outcome logged, so that a repeated one is not
}

// state returns the last known capabilities (nil, false before the first
// answer) and the last error.
func (x *execState) state() (*executor.Capabilities, bool, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.caps, x.caps != nil, x.lastErr
}

// fetch asks the executor for its capabilities once.
func (pl *Plane) fetch(ctx context.Context, x *execState) {
	ctx, cancel := context.WithTimeout(ctx, capsTimeout)
	defer cancel()
	caps, err := x.client.Capabilities(ctx)
	if err == nil && caps.Protocol != executor.Version {
		err = apperr.Config(424, "INTEGRATION_ERROR", "it speaks protocol %d, this Firstmate protocol %d", caps.Protocol, executor.Version).
			With(executor.ParamExecutorFault, "protocol")
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if err != nil {
		x.lastErr = err
		msg := "executor capabilities: " + notReachedWhy(err)
		if x.logged != msg {
			x.logged = msg
			if x.caps == nil {
				pl.log.Error("the executor cannot be reached: its families' actions are unavailable until it answers",
					"executor", x.base, "families", strings.Join(x.families, ","), "error", notReachedWhy(err))
			} else {
				pl.log.Warn("the executor did not answer a capabilities refresh: its last known capabilities are kept",
					"executor", x.base, "error", notReachedWhy(err))
			}
		}
		return
	}
	first := x.caps == nil
	x.caps, x.lastErr = &caps, nil
	summary := pl.summarize(x, caps)
	if first || x.logged != summary {
		x.logged = summary
		pl.log.Info("executor capabilities", "executor", x.base, "name", caps.Executor, "serves", summary)
		for _, p := range caps.Check() {
			pl.log.Warn("the executor's capabilities list something this Firstmate ignores", "executor", x.base, "problem", p)
		}
		for _, fam := range x.families {
			if _, ok := caps.Family(fam); !ok {
				pl.log.Warn("a family routed to the executor is not in its capabilities: its actions are unavailable",
					"executor", x.base, "family", fam, "setting", Setting(fam))
			}
		}
	}
}

// summarize says how many of each routed family's actions an executor
// serves, e.g. "linkedin 49/49, thefork 1/1".
func (pl *Plane) summarize(x *execState, caps executor.Capabilities) string {
	var parts []string
	for _, fam := range x.families {
		all := executor.ActionsOf(fam)
		n := 0
		for _, s := range all {
			if caps.Serves(s) {
				n++
			}
		}
		parts = append(parts, fmt.Sprintf("%s %d/%d", fam, n, len(all)))
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

// Refresh asks every executor for its capabilities now, concurrently, and
// returns when all have answered or failed (each within capsTimeout).
func (pl *Plane) Refresh(ctx context.Context) {
	var wg sync.WaitGroup
	for _, x := range pl.execs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pl.fetch(ctx, x)
		}()
	}
	wg.Wait()
}

// Start asks the executors for their capabilities, waiting at most wait for
// their answers (the server starts either way), then keeps them fresh in
// the background until Close.
func (pl *Plane) Start(wait time.Duration) {
	if len(pl.execs) == 0 {
		return
	}
	for _, x := range pl.execs {
		pl.wg.Add(1)
		go func() {
			defer pl.wg.Done()
			pl.loop(x)
		}()
	}
	// Wait for the first round of answers, bounded.
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		all := true
		for _, x := range pl.execs {
			x.mu.Lock()
			tried := x.caps != nil || x.lastErr != nil
			x.mu.Unlock()
			all = all && tried
		}
		if all {
			return
		}
		select {
		case <-deadline.C:
			return
		case <-tick.C:
		}
	}
}

// loop fetches one executor's capabilities: every few seconds (doubling,
// up to 30 s) until a first answer, then every refresh period.
func (pl *Plane) loop(x *execState) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-pl.stop
		cancel()
	}()
	retry := time.Second
	for {
		pl.fetch(ctx, x)
		wait := pl.refresh
		if _, known, _ := x.state(); !known {
			wait, retry = retry, min(2*retry, 30*time.Second)
		}
		select {
		case <-pl.stop:
			return
		case <-time.After(wait):
		}
	}
}

// Close stops the background refreshes.
func (pl *Plane) Close() {
	pl.stopOnce.Do(func() { close(pl.stop) })
	pl.wg.Wait()
}

// ExecutorStatus describes an executor for operators: its URL, the families
// routed to it, its name and what it serves, or why it is not known.
type ExecutorStatus struct {
	URL      string   `json:"url"`
	Families []string `json:"families"`
	Reached  bool     `json:"reached"`
	Name     string   `json:"name,omitempty"`
	// Error is the last failure to read the capabilities ("" after a
	// success).
	Error string `json:"error,omitempty"`
}

// Executors lists the executors' status.
func (pl *Plane) Executors() []ExecutorStatus {
	var out []ExecutorStatus
	for _, x := range pl.execs {
		caps, known, err := x.state()
		s := ExecutorStatus{URL: x.base, Families: slices.Clone(x.families), Reached: known}
		if known {
			s.Name = caps.Executor
		}
		if err != nil {
			s.Error = notReachedWhy(err)
		}
		out = append(out, s)
	}
	return out
}
