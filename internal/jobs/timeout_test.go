package jobs

import (
	"testing"
	"time"
)

// A delivery job starts an attempt only while a whole one fits in what is
// left of it: whatever the sender's timeout (FIRSTMATE_CALLBACK_TIMEOUT),
// the job must leave room for one attempt and its recording, or every
// attempt would be put off for ever.
func TestDeliverTimeoutFitsAnAttempt(t *testing.T) {
	for _, send := range []time.Duration{time.Second, 15 * time.Second, 30 * time.Second, 2 * time.Minute} {
		if got := deliverTimeout(send); got < send+5*time.Second {
			t.Errorf("sender timeout %s: the delivery job gets %s", send, got)
		}
	}
}
