package webhook

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/secret"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// A run's callback headers that cannot be read because the database or the
// job's context failed are not "unreadable": the delivery job fails and is
// retried, where it used to fail the deliveries for good ("the run's
// callback headers cannot be decrypted: context canceled", 11 to 25
// callbacks of a run lost in the chaos suite). Headers sealed under a key
// the keyring no longer holds are (no retry can send them).
func TestRunHeadersTransientIsNotUnreadable(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	keys, err := secret.Parse("k1:" + strings.Repeat("A", 43) + "=")
	if err != nil {
		t.Fatal(err)
	}
	other, err := secret.Parse("k2:" + strings.Repeat("B", 43) + "=")
	if err != nil {
		t.Fatal(err)
	}
	wsKID, wsSecret := keys.Seal([]byte("whsec_x"), nil)
	wsID, err := db.InsertWorkspace(ctx, store.NewWorkspace{UID: "ws-1", Name: "W", Plan: "unlimited", SecretKID: wsKID, Secret: wsSecret})
	if err != nil {
		t.Fatal(err)
	}
	insert := func(uid string, kr *secret.Keyring) int64 {
		kid, sealed := kr.Seal([]byte(`{"X-Token":"t"}`), []byte("callback-headers"))
		r, err := store.InsertRun(ctx, db.Handles().Write, store.NewRun{Run: model.Run{UID: uid, WorkspaceID: wsID, ActionName: "googlemaps-extract-place",
			ExecutionMode: "ASYNC", Status: "RUNNING", CallbackURL: "https://hooks.example.com/cb", CallbackOn: "all"},
			CallbackHeadersKID: kid, CallbackHeaders: sealed})
		if err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	good, lost := insert("run-good", keys), insert("run-lost", other)
	d := &Dispatcher{DB: db, Keys: keys}

	if h, err := d.runHeaders(ctx, good); err != nil || h["X-Token"] != "t" {
		t.Fatalf("readable headers: %v %v", h, err)
	}
	var bad *unreadableHeaders
	if _, err := d.runHeaders(ctx, lost); !errors.As(err, &bad) {
		t.Errorf("headers sealed under a key not in the keyring: %v, want an *unreadableHeaders", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := d.runHeaders(cancelled, good); err == nil || errors.As(err, &bad) {
		t.Errorf("a cancelled read: %v, want an error that is not *unreadableHeaders (the job retries)", err)
	}
	db.Close()
	if _, err := d.runHeaders(ctx, good); err == nil || errors.As(err, &bad) {
		t.Errorf("a closed database: %v, want an error that is not *unreadableHeaders (the job retries)", err)
	}
}
