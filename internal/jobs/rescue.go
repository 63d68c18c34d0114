package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"
)

// Job timeouts and rescue.
//
// A worker killed mid-job (kill -9, a lost node) leaves its job "running" in
// River's table; another worker takes it over once it is rescued. The
// chunks of runs and the deliveries are rescued RescueAfter after they
// started, where both kinds are certainly over: a chunk stops fetching
// before its deadline (RescueAfter - rescueMargin) and its commit ends by
// that deadline; a delivery job ends by deliverTimeout and records its
// last attempts within a couple of seconds of it. A job is thus never
// rescued while its worker still works it, which would call the platform or
// a receiver twice for the same input.
//
// River's own rescuer covers every kind, the health checks' long timeout
// included, but it looks only every 30 s and after the longest timeout; the
// sweep here looks every few seconds, so that a crash delays a run by about
// RescueAfter and no more.
//
// deliverTimeout is a delivery job's timeout for a sender whose attempts
// take up to sendTimeout.
func deliverTimeout(sendTimeout time.Duration) time.Duration {
	return max(minDeliverTimeout, sendTimeout+deliverSlack)
}

const (
	// DefaultRescueAfter is RescueAfter's default.
	DefaultRescueAfter = 30 * time.Second
	// minDeliverTimeout bounds a delivery job, or the sender's timeout (15 s
	// by default) and 10 s more when that is longer: an attempt starts only
	// while a whole one fits in what is left of the job.
	minDeliverTimeout = 25 * time.Second
	deliverSlack      = 10 * time.Second
	// rescueMargin separates a job's deadline from its rescue: time for its
	// last writes and for River to record its completion.
	rescueMargin = 5 * time.Second
	// MinRescueAfter is the shortest RescueAfter, with the default sender
	// timeout: it leaves a delivery job its whole time.
	MinRescueAfter = minDeliverTimeout + rescueMargin
	// otherTimeout bounds the jobs of other kinds (limit pruning, rentals,
	// health ticks), which River's own rescuer rescues.
	otherTimeout = 55 * time.Second
	// healthCheckTimeout covers one health check's "me" call (the upstream
	// client gives up at 45 s).
	healthCheckTimeout = 50 * time.Second
)

// rescuedKinds are the kinds the sweep rescues.
var rescuedKinds = map[string]bool{ChunkArgs{}.Kind(): true, DeliverArgs{}.Kind(): true}

// rescueTick is how often the sweep looks for stuck jobs.
func rescueTick(after time.Duration) time.Duration {
	return min(max(after/10, time.Second), 5*time.Second)
}

// rescueLoop runs the sweep until ctx ends.
func (j *Jobs) rescueLoop(ctx context.Context, log *slog.Logger) {
	t := time.NewTicker(rescueTick(j.rescueAfter))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := j.RescueStuck(ctx)
		switch {
		case err != nil && ctx.Err() == nil && log != nil:
			log.Warn("jobs: rescuing stuck jobs failed", "error", err.Error())
		case n > 0 && log != nil:
			log.Info("jobs: rescued the jobs of a worker that is gone", "jobs", n)
		}
	}
}

// RescueStuck makes the chunk and delivery jobs that started more than
// RescueAfter ago and are still running available again (discarded when
// they used up their attempts). It returns how many it changed.
func (j *Jobs) RescueStuck(ctx context.Context) (int, error) {
	n, _, err := j.rescue(ctx, j.driver.GetExecutor(), time.Now().UTC().Add(-j.rescueAfter), func(job *rivertype.JobRow) bool {
		return rescuedKinds[job.Kind] // others: River's rescuer, after the kind's own timeout
	}, "worker gone: rescued after "+j.rescueAfter.String())
	return n, err
}

// rescue makes the running jobs attempted before horizon that pick chooses
// available again (discarded when they used up their attempts). It returns
// how many it changed, and the ids of the chunk jobs of queue QueueRuns it
// made available.
func (j *Jobs) rescue(ctx context.Context, exec riverdriver.Executor, horizon time.Time, pick func(*rivertype.JobRow) bool,
	reason string) (n int, chunks []int64, err error) {
	now := time.Now().UTC()
	for after := int64(0); ; {
		const page = 500
		stuck, err := exec.JobGetStuck(ctx, &riverdriver.JobGetStuckParams{AfterID: after, Max: page, StuckHorizon: horizon})
		if err != nil {
			return n, chunks, fmt.Errorf("jobs: unable to list stuck jobs: %w", err)
		}
		p := &riverdriver.JobRescueManyParams{StuckHorizon: horizon}
		for _, job := range stuck {
			after = job.ID
			if !pick(job) {
				continue
			}
			e, err := json.Marshal(rivertype.AttemptError{At: now, Attempt: max(job.Attempt, 0), Error: reason})
			if err != nil {
				return n, chunks, err
			}
			state, finalized := string(rivertype.JobStateAvailable), (*time.Time)(nil)
			if job.Attempt >= job.MaxAttempts {
				state, finalized = string(rivertype.JobStateDiscarded), &now
			}
			p.ID = append(p.ID, job.ID)
			p.Error = append(p.Error, e)
			p.FinalizedAt = append(p.FinalizedAt, finalized)
			// The job keeps its place in the queue (River works the
			// earliest scheduled first): a run's interrupted chunks resume
			// before the chunks that never started, not after them.
			at := now
			if job.ScheduledAt.Before(now) {
				at = job.ScheduledAt
			}
			p.ScheduledAt = append(p.ScheduledAt, at)
			p.State = append(p.State, state)
			if state == string(rivertype.JobStateAvailable) && job.Kind == (ChunkArgs{}).Kind() && job.Queue == QueueRuns {
				chunks = append(chunks, job.ID)
			}
		}
		if len(p.ID) > 0 {
			// Only jobs still running and started before the horizon change:
			// one that finished meanwhile keeps its state.
			if _, err := exec.JobRescueMany(ctx, p); err != nil {
				return n, chunks, fmt.Errorf("jobs: unable to rescue stuck jobs: %w", err)
			}
			n += len(p.ID)
		}
		if len(stuck) < page {
			return n, chunks, nil
		}
	}
}
