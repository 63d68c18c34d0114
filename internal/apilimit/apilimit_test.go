package apilimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apilimit"
	"github.com/firstmate-oss/firstmate/internal/apitest"
)

// A request whose clock reading is older than the window already open (it
// waited for the row lock, or was descheduled after reading the clock) must
// count in the open window, not reopen an old one: otherwise requests
// arriving out of order around a second boundary keep resetting the count
// and the limit lets through more than it allows.
func testLateRequest(t *testing.T, l apilimit.Limiter) {
	ctx := context.Background()
	tier := apilimit.Tier{PerSecond: 2}
	base := time.Date(2026, 11, 28, 12, 0, 10, 0, time.UTC)
	next := base.Add(time.Second)
	for i, c := range []struct {
		now  time.Time
		want bool
	}{
		{next, true},                             // opens the window of second 11
		{base.Add(900 * time.Millisecond), true}, // late: read the clock in second 10
		{next.Add(time.Millisecond), false},      // third request of second 11
		{base.Add(950 * time.Millisecond), false},
		{next.Add(time.Second), true}, // second 12: a fresh window
	} {
		d, err := l.Allow(ctx, 1, "identities", tier, c.now)
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed != c.want {
			t.Fatalf("request %d at %s: allowed=%v, want %v", i, c.now.Format("15:04:05.000"), d.Allowed, c.want)
		}
	}
}

func TestMemoryLateRequest(t *testing.T) { testLateRequest(t, apilimit.NewMemory()) }

func TestSQLLateRequest(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		e := apitest.Start(t, dialect)
		testLateRequest(t, apilimit.SQL{DB: e.App.DB})
	})
}
