package jobs

import (
	"errors"

	"github.com/firstmate-oss/firstmate/internal/store"
)

// Queue enqueues jobs in the caller's transaction: the chunks of runs
// (runs.Queue, runs.BatchQueue), deliveries (webhook.Queue,
// identity.DeliveryQueue) and re-verifications (identity.ReverifyQueue).
//
// It breaks the one cycle of construction River imposes: the River client
// is built with its workers (runs.Service, webhook.Dispatcher,
// identity.Service), and those services enqueue through the client. So the
// services are built with a Queue (NewQueue), and New, which builds the
// client from the services, makes the Queue enqueue through it. No service
// has a field set after its construction, and River keeps one client per
// process (an insert-only second client would not wake this node's
// producers on SQLite, where there is no LISTEN/NOTIFY).
type Queue struct {
	client *store.JobClient
}

// NewQueue is a Queue for New to connect to its River client; it refuses
// to enqueue until then.
func NewQueue() *Queue { return &Queue{} }

// errNoClient is the refusal of a Queue that New has not connected yet:
// construction enqueued something, a programming error.
var errNoClient = errors.New("jobs: queue used before jobs.New built the River client")
