package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/firstmate-oss/firstmate/internal/identity"
)

// Rentals of managed pool accounts end by a periodic job (issue 5 §6): the
// leader runs RentalExpiryArgs every RentalTick; it ends the rentals whose
// period is over (identity.Service.ExpireRentals), so the pool accounts go
// back to managed mode.

// RentalTick is how often expired rentals are ended.
const RentalTick = time.Minute

// RentalExpiryArgs ends the rentals due now.
type RentalExpiryArgs struct{}

func (RentalExpiryArgs) Kind() string { return "rental_expiry" }

func (RentalExpiryArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueHealth, MaxAttempts: periodicAttempts}
}

type rentalExpiryWorker struct {
	river.WorkerDefaults[RentalExpiryArgs]
	ids *identity.Service
}

func (w *rentalExpiryWorker) Work(ctx context.Context, job *river.Job[RentalExpiryArgs]) error {
	_, err := w.ids.ExpireRentals(ctx, time.Now())
	return err
}

// addRentals registers the expiry worker and its periodic job (after
// addHealth, which creates the queue).
func addRentals(workers *river.Workers, rc *river.Config, ids *identity.Service) {
	if ids == nil {
		return
	}
	river.AddWorker(workers, &rentalExpiryWorker{ids: ids})
	addTick(rc, RentalTick, RentalExpiryArgs{})
}
