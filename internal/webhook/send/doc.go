// Package send sends HTTP requests to customers' servers: run
// callbacks and integration webhooks (contract §4 and §7). It holds no
// database code; the job layer stores deliveries and attempts and calls in.
//
// Like Convoy, it is split by concern:
//   - signature.go: Standard Webhooks signing (NewSecret, Sign, Verify);
//   - policy.go: where deliveries may connect (Policy, checked when a URL is
//     submitted and again on every dial, so DNS rebinding gets nowhere);
//   - sender.go: one attempt (Sender.Send returns a Result);
//   - retry.go: the retry strategy (Schedule.NextAttempt);
//   - limiter.go: per-receiver isolation (HostLimiter).
//
// # Intended use by the job layer
//
// One Sender and one HostLimiter per process. A delivery job carries the
// delivery's id; its worker does, in order:
//
//	key := workspaceUID + " " + send.HostKey(url)
//	release, ok := limiter.TryAcquire(key)
//	if !ok {
//		// This receiver already has its share of workers: do not wait
//		// for it, give the worker back and come back shortly.
//		return river.JobSnooze(2*time.Second + jitter)
//	}
//	defer release()
//	res := sender.Send(ctx, send.Request{...}) // at most Timeout (15 s)
//	// record the attempt (status, http_status, duration, error)
//	if at, retry := retries.NextAttempt(attempt, res, now); retry { // retries: a send.Schedule
//		return river.JobSnooze(at.Sub(now)) // or schedule a new job at `at`
//	}
//	// otherwise mark the delivery SUCCESS or FAILED
//
// Why this keeps one slow or dead receiver from delaying other workspaces'
// deliveries (contract §7):
//   - an attempt holds a worker for at most the sender's timeout;
//   - a receiver, per workspace, holds at most maxPerKey workers at once;
//     its other deliveries snooze instead of queueing behind it, so workers
//     stay free for everybody else. Keying by workspace and host means two
//     workspaces that share a receiver (a popular automation service) do not
//     share its limit either; keying by host alone would also cap the load
//     Firstmate puts on one receiver;
//   - retries wait in the job queue (snoozed or scheduled), not in a worker.
//
// Run deliveries in their own River queue with a worker count well above
// maxPerKey, so that callbacks never compete with batch execution. The
// limiter is per process: with N nodes a receiver may see N*maxPerKey
// concurrent requests, which is fine for isolation, whose point is that
// workers are never all stuck on one receiver.
//
// Result.Err kinds (errors.Is): ErrTimeout, ErrConnection, ErrRedirect,
// ErrForbiddenAddress, ErrInvalidRequest, ErrCanceled. ErrCanceled means
// the worker's own context ended (shutdown): the attempt should not count.
package send
