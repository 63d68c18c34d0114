package smartlimits_test

import (
	"context"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/smartlimits"
)

// RemainingOf ranks auto and managed candidates from the limiter's copies
// and, for identities it holds none of, from one read: both give the share
// the contract's windows leave (§8, Classic: 25 connection requests a day,
// 100 a week).
func TestRemainingOfCopiesAndDatabase(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		db, used := open(t, dialect)
		unused := used + 1000 // no events at all
		ctx := context.Background()
		now := time.Now()
		need := []smartlimits.Need{{Key: smartlimits.ConnectionRequests, N: 1}}
		acc := smartlimits.Account{IdentityID: used, Level: "Classic"}
		other := smartlimits.Account{IdentityID: unused, Level: "Classic"}
		holder := &smartlimits.Limiter{DB: db}
		for i := range 15 {
			at := now.Add(-3 * smartlimits.Day) // in the week, not the day
			if i >= 10 {
				at = now.Add(-time.Minute)
			}
			if _, err := holder.Consume(ctx, acc, need, at); err != nil {
				t.Fatal(i, err)
			}
		}
		// 5 of 25 today, 15 of 100 this week: the day's 20/25 is the least.
		want := []float64{20.0 / 25, 1}
		keys := []string{smartlimits.ConnectionRequests}
		for _, c := range []struct {
			what string
			l    *smartlimits.Limiter
		}{{"from the copy", holder}, {"from the database", &smartlimits.Limiter{DB: db}}} {
			got, err := c.l.RemainingOf(ctx, []smartlimits.Account{acc, other}, keys, now)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
				t.Fatalf("%s: %v, want %v", c.what, got, want)
			}
		}
		// An override that turns the key off leaves nothing.
		off := acc
		off.Identity = smartlimits.ParseOverridesShared(`{"connection_requests": 0}`)
		got, err := holder.RemainingOf(ctx, []smartlimits.Account{off}, keys, now)
		if err != nil || got[0] != 0 {
			t.Fatalf("key turned off: %v %v, want 0", got, err)
		}
	})
}
