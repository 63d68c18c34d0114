// Package send is the wire half of webhooks: it makes one signed HTTP
// request to a customer's server (a run callback or an integration webhook,
// contract §4 and §7) and says how it went. It holds no database code and
// knows nothing of jobs; package webhook stores deliveries and attempts,
// runs them from River jobs and calls in here. Executors' requests
// (internal/executor) are signed with the same Standard Webhooks scheme.
//
// Like Convoy, it is split by concern:
//   - signature.go: Standard Webhooks signing (NewSecret, Sign, Verify);
//   - policy.go: where deliveries may connect (Policy, checked when a URL is
//     submitted and again on every dial, so DNS rebinding gets nowhere);
//   - sender.go: one attempt (Sender.Send returns a Result);
//   - retry.go: the retry strategy (Schedule.NextAttempt);
//   - limiter.go: per-receiver isolation (HostLimiter).
//
// # How package webhook uses it
//
// One Sender and one HostLimiter per process (internal/app builds them from
// the FIRSTMATE_CALLBACK_* settings). A delivery job carries a batch of
// delivery ids; webhook.Dispatcher sends the due ones in parallel, each:
//
//	key := workspaceID + "|" + send.HostKey(url)
//	release, ok := hosts.Acquire(ctx, key, 250*time.Millisecond)
//	if !ok {
//		// This receiver already has its share of workers: do not wait
//		// for it; the delivery goes to a new job a second later, with no
//		// attempt counted.
//	}
//	res := sender.Send(ctx, send.Request{...}) // at most Timeout (15 s)
//	release()
//	// then, in one transaction for the batch: the attempt is recorded;
//	// if at, retry := schedule.NextAttempt(n, res, now); retry, the
//	// delivery is FAILED with next_attempt_at = at and a job is enqueued
//	// for at; otherwise it is SUCCESS, or FAILED for good.
//
// Why this keeps one slow or dead receiver from delaying other workspaces'
// deliveries (contract §7):
//   - an attempt holds a worker for at most the sender's timeout;
//   - a receiver, per workspace, holds at most maxPerKey workers at once
//     (FIRSTMATE_CALLBACK_PER_HOST); its other deliveries are deferred to
//     a later job instead of queueing behind it, so workers stay free for
//     everybody else. Keying by workspace and host means two workspaces
//     that share a receiver (a popular automation service) do not share its
//     limit either; keying by host alone would also cap the load Firstmate
//     puts on one receiver;
//   - retries wait in the job queue (scheduled jobs), not in a worker.
//
// Deliveries run in their own River queue (jobs.QueueDeliveries, with
// FIRSTMATE_DELIVERY_WORKERS workers), so that callbacks never compete with
// chunk work. The limiter is per process: with N nodes a receiver may see
// N*maxPerKey concurrent requests, which is fine for isolation, whose point
// is that workers are never all stuck on one receiver.
//
// Result.Err kinds (errors.Is): ErrTimeout, ErrConnection, ErrRedirect,
// ErrForbiddenAddress, ErrInvalidRequest, ErrCanceled. ErrCanceled means
// the worker's own context ended (shutdown): the attempt should not count.
package send
